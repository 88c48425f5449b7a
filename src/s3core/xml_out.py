"""Response bodies: one small lxml builder per S3 response shape, each returning bytes.

This module owns the XML S3 sends back for errors, buckets, object listings and
deletes: element names, their order, which are always present and which only
sometimes, and which listing fields ``encoding-type=url`` applies to (the encoding
itself lives in ``xml_text``, the shared building blocks in ``xml_build``). It also
re-exports the copy and multipart builders of ``xml_uploads``, so that callers import
one module. It builds trees with lxml and never formats XML by string templates. It
must not decide anything about a request (which keys a page holds, whether a
precondition holds): callers hand it finished values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs
from lxml import etree

from s3core import errors
from s3core.models import BucketInfo, ObjectInfo
from s3core.timefmt import iso8601
from s3core.xml_build import (
    BARE,
    S3,
    S3_NAMESPACE,
    Encoder,
    Owner,
    boolean,
    common_prefix_elements,
    delimiter_element,
    document,
    optional,
    owner_element,
    quoted,
)
from s3core.xml_text import text_element as _text
from s3core.xml_uploads import (
    complete_multipart_upload,
    copy_object_result,
    copy_part_result,
    initiate_multipart_upload,
    list_multipart_uploads,
    list_parts,
)

__all__ = [
    "S3_NAMESPACE",
    "DeleteError",
    "Owner",
    "complete_multipart_upload",
    "copy_object_result",
    "copy_part_result",
    "delete_result",
    "error_body",
    "initiate_multipart_upload",
    "list_buckets",
    "list_multipart_uploads",
    "list_object_versions",
    "list_objects_v1",
    "list_objects_v2",
    "list_parts",
    "location_constraint",
    "versioning_configuration",
]


@attrs.frozen(kw_only=True)
class DeleteError:
    """One key DeleteObjects could not delete, with the S3 error code and message."""

    key: str
    code: str
    message: str
    version_id: str | None = None

    @classmethod
    def of(
        cls, key: str, error: errors.S3Error, version_id: str | None = None
    ) -> DeleteError:
        """The entry for ``key`` failing with ``error``."""
        return cls(
            key=key, code=error.code, message=error.message, version_id=version_id
        )


# XML 1.0 section 2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
# [#x10000-#x10FFFF]. Lone surrogates (bytes a decoder escaped) are outside it too.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _percent_encoded(match: re.Match[str]) -> str:
    """``%XX`` for each UTF-8 byte of the character (its own byte if escaped)."""
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte that did not decode
        data = bytes([code - 0xDC00])
    else:
        data = match.group().encode("utf-8", "surrogatepass")
    return "".join([f"%{byte:02X}" for byte in data])


def _error_text(value: str) -> str:
    """``value`` with every character XML 1.0 cannot hold percent-encoded."""
    # A listing may carry such characters as character references (xml_text), for
    # "you can add this parameter [encoding-type] to request that Amazon S3 encode
    # the keys in the response" (ListObjectsV2). An error has no such parameter, and
    # a reference like &#1; makes the whole document ill-formed: botocore then shows
    # only the HTTP status, not the code. Percent-encoding (the form encoding-type
    # uses) keeps Code and Message readable; a literal "%01" in a key reads the
    # same, which a diagnostic can afford.
    return _NOT_XML_CHAR.sub(_percent_encoded, value)


def error_body(
    err: errors.S3Error, *, resource: str, request_id: str, host_id: str = ""
) -> bytes:
    """The ``<Error>`` document for ``err``: Code, Message, its extras, then ids.

    Always well-formed XML 1.0: characters it cannot hold (a key with U+0001 in
    ``Key`` or ``Resource``) are sent percent-encoded as UTF-8 (``%01``).
    """
    fields = [
        ("Code", err.code),
        ("Message", err.message),
        *err.extra.items(),
        ("Resource", resource),
        ("RequestId", request_id),
        ("HostId", host_id),
    ]
    root = BARE.Error(*(_text(BARE, name, _error_text(v)) for name, v in fields))
    return document(root)


def list_buckets(buckets: Sequence[BucketInfo], owner: Owner) -> bytes:
    """ListBuckets: ``ListAllMyBucketsResult`` with the owner and every bucket."""
    root = S3.ListAllMyBucketsResult(
        owner_element(owner),
        S3.Buckets(
            *(
                S3.Bucket(
                    _text(S3, "Name", bucket.name),
                    S3.CreationDate(iso8601(bucket.created)),
                )
                for bucket in buckets
            )
        ),
    )
    return document(root)


def location_constraint(region: str) -> bytes:
    """GetBucketLocation: the region, or an empty element for ``us-east-1``.

    "Buckets in Region us-east-1 have a LocationConstraint of null."
    """
    value = "" if region in ("", "us-east-1") else region
    return document(_text(S3, "LocationConstraint", value))


def versioning_configuration() -> bytes:
    """GetBucketVersioning for a bucket that has never been versioned.

    "If the versioning state has never been set on a bucket, it has never been
    enabled or suspended, so the request does not return a versioning state
    value" (S3 API Reference, GetBucketVersioning): an empty element, no Status.
    """
    return document(S3.VersioningConfiguration())


def _object_fields(info: ObjectInfo) -> list[etree._Element]:
    """LastModified, ETag, checksum algorithms and Size of a listed object."""
    return [
        S3.LastModified(iso8601(info.last_modified)),
        S3.ETag(quoted(info.etag)),
        *(S3.ChecksumAlgorithm(name) for name, _ in info.meta.checksums),
        S3.Size(str(info.size)),
    ]


def _contents(
    contents: Sequence[ObjectInfo], encode: Encoder, owner: Owner | None
) -> list[etree._Element]:
    """One ``<Contents>`` per object, with ``<Owner>`` when ``owner`` is given."""
    # A fresh <Owner> per entry: an lxml element has one parent, so a shared one
    # would end up in the last <Contents> only.
    return [
        S3.Contents(
            _text(S3, "Key", encode(info.key)),
            *_object_fields(info),
            *([] if owner is None else [owner_element(owner)]),
            S3.StorageClass("STANDARD"),
        )
        for info in contents
    ]


def list_objects_v2(
    *,
    bucket: str,
    prefix: str,
    delimiter: str | None,
    max_keys: int,
    is_truncated: bool,
    contents: Sequence[ObjectInfo],
    common_prefixes: Sequence[str],
    key_count: int | None = None,
    continuation_token: str | None = None,
    next_continuation_token: str | None = None,
    start_after: str | None = None,
    encoding_type: str | None = None,
    owner: Owner | None = None,
) -> bytes:
    """ListObjectsV2's ``ListBucketResult``.

    ``key_count`` defaults to the number of keys and common prefixes on the page.
    ``owner`` is given only when the request had ``fetch-owner=true``. Under
    ``encoding_type="url"`` Key, Prefix, Delimiter and StartAfter are URL-encoded
    ("Delimiter, Prefix, Key, and StartAfter").

    Raises:
        InvalidArgument: ``encoding_type`` is neither ``None`` nor ``"url"``.
    """
    encode = Encoder(encoding_type)
    if key_count is None:
        key_count = len(contents) + len(common_prefixes)
    root = S3.ListBucketResult(
        _text(S3, "Name", bucket),
        _text(S3, "Prefix", encode(prefix)),
        *optional("ContinuationToken", continuation_token),
        *optional("NextContinuationToken", next_continuation_token),
        S3.KeyCount(str(key_count)),
        S3.MaxKeys(str(max_keys)),
        *delimiter_element(delimiter, encode),
        S3.IsTruncated(boolean(is_truncated)),
        *optional("StartAfter", None if start_after is None else encode(start_after)),
        *encode.element(),
        *_contents(contents, encode, owner),
        *common_prefix_elements(common_prefixes, encode),
    )
    return document(root)


def list_objects_v1(
    *,
    bucket: str,
    prefix: str,
    delimiter: str | None,
    marker: str,
    max_keys: int,
    is_truncated: bool,
    contents: Sequence[ObjectInfo],
    common_prefixes: Sequence[str],
    owner: Owner,
    next_marker: str | None = None,
    encoding_type: str | None = None,
) -> bytes:
    """ListObjects' (version 1) ``ListBucketResult``.

    ``next_marker`` is sent only when given; S3 sends it when a page with a delimiter
    is truncated. Under ``encoding_type="url"`` Key, Prefix, Delimiter, Marker and
    NextMarker are URL-encoded.

    Raises:
        InvalidArgument: ``encoding_type`` is neither ``None`` nor ``"url"``.
    """
    encode = Encoder(encoding_type)
    root = S3.ListBucketResult(
        _text(S3, "Name", bucket),
        _text(S3, "Prefix", encode(prefix)),
        _text(S3, "Marker", encode(marker)),
        *optional("NextMarker", None if next_marker is None else encode(next_marker)),
        S3.MaxKeys(str(max_keys)),
        *delimiter_element(delimiter, encode),
        S3.IsTruncated(boolean(is_truncated)),
        *encode.element(),
        *_contents(contents, encode, owner),
        *common_prefix_elements(common_prefixes, encode),
    )
    return document(root)


def list_object_versions(
    *,
    bucket: str,
    prefix: str,
    delimiter: str | None,
    key_marker: str,
    version_id_marker: str,
    max_keys: int,
    is_truncated: bool,
    contents: Sequence[ObjectInfo],
    common_prefixes: Sequence[str],
    owner: Owner,
    next_key_marker: str | None = None,
    next_version_id_marker: str | None = None,
    encoding_type: str | None = None,
) -> bytes:
    """ListObjectVersions' ``ListVersionsResult`` for an unversioned bucket.

    Every object is its own only version: ``<Version>`` with VersionId ``null`` and
    IsLatest ``true``. Pass ``next_version_id_marker="null"`` with a
    ``next_key_marker`` on a truncated page. Under ``encoding_type="url"`` Key,
    Prefix, Delimiter, KeyMarker and NextKeyMarker are URL-encoded.

    Raises:
        InvalidArgument: ``encoding_type`` is neither ``None`` nor ``"url"``.
    """
    encode = Encoder(encoding_type)
    next_key = None if next_key_marker is None else encode(next_key_marker)
    versions = [
        S3.Version(
            _text(S3, "Key", encode(info.key)),
            S3.VersionId("null"),
            S3.IsLatest("true"),
            *_object_fields(info),
            S3.StorageClass("STANDARD"),
            owner_element(owner),
        )
        for info in contents
    ]
    root = S3.ListVersionsResult(
        _text(S3, "Name", bucket),
        _text(S3, "Prefix", encode(prefix)),
        _text(S3, "KeyMarker", encode(key_marker)),
        _text(S3, "VersionIdMarker", version_id_marker),
        *optional("NextKeyMarker", next_key),
        *optional("NextVersionIdMarker", next_version_id_marker),
        S3.MaxKeys(str(max_keys)),
        *delimiter_element(delimiter, encode),
        S3.IsTruncated(boolean(is_truncated)),
        *encode.element(),
        *versions,
        *common_prefix_elements(common_prefixes, encode),
    )
    return document(root)


def delete_result(
    deleted: Sequence[tuple[str, str | None]],
    errors: Sequence[DeleteError],
    quiet: bool,
) -> bytes:
    """DeleteObjects' ``DeleteResult``.

    ``deleted`` holds (key, version id or ``None``) pairs. "In quiet mode the
    response includes only keys where the delete action encountered an error."
    """
    done = [] if quiet else deleted
    root = S3.DeleteResult(
        *(
            S3.Deleted(_text(S3, "Key", key), *optional("VersionId", version_id))
            for key, version_id in done
        ),
        *(
            S3.Error(
                _text(S3, "Key", failure.key),
                *optional("VersionId", failure.version_id),
                _text(S3, "Code", failure.code),
                _text(S3, "Message", failure.message),
            )
            for failure in errors
        ),
    )
    return document(root)
