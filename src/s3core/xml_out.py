"""Response bodies: one small lxml builder per S3 response shape, each returning bytes.

This module owns the XML S3 sends back: element names, their order, which are always
present and which only sometimes, the ``2006-03-01`` namespace, and which listing
fields ``encoding-type=url`` applies to (the encoding itself lives in ``xml_text``).
It builds trees with lxml and never formats XML by string templates. It must not
decide anything about a request (which keys a page holds, whether a precondition
holds): callers hand it finished values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs
from lxml import etree
from lxml.builder import ElementMaker

from s3core import errors
from s3core.models import BucketInfo, ObjectInfo
from s3core.timefmt import iso8601
from s3core.xml_text import text_element as _text
from s3core.xml_text import url_encode

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
    "list_object_versions",
    "list_objects_v1",
    "list_objects_v2",
    "location_constraint",
]

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_S3 = ElementMaker(namespace=S3_NAMESPACE, nsmap={None: S3_NAMESPACE})
# S3's <Error> document carries no namespace.
_BARE = ElementMaker()


@attrs.frozen
class Owner:
    """The canonical user that owns a bucket or object, as listings show it."""

    id: str
    display_name: str


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


def _document(root: etree._Element) -> bytes:
    """Serialise with S3's declaration (double quotes, which lxml's own lacks)."""
    return _DECLARATION + etree.tostring(root, encoding="UTF-8")


def _optional(tag: str, value: str | None) -> list[etree._Element]:
    """``<tag>`` when ``value`` is given, else nothing."""
    return [] if value is None else [_text(_S3, tag, value)]


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _quoted(etag: str) -> str:
    """The ETag as S3 sends it in XML: inside double quotes."""
    return f'"{etag.strip(chr(34))}"'


def error_body(
    err: errors.S3Error, *, resource: str, request_id: str, host_id: str = ""
) -> bytes:
    """The ``<Error>`` document for ``err``: Code, Message, its extras, then ids."""
    root = _BARE.Error(
        _text(_BARE, "Code", err.code),
        _text(_BARE, "Message", err.message),
        *(_text(_BARE, name, value) for name, value in err.extra.items()),
        _text(_BARE, "Resource", resource),
        _text(_BARE, "RequestId", request_id),
        _text(_BARE, "HostId", host_id),
    )
    return _document(root)


def _owner(owner: Owner) -> etree._Element:
    return _S3.Owner(
        _text(_S3, "ID", owner.id), _text(_S3, "DisplayName", owner.display_name)
    )


def list_buckets(buckets: Sequence[BucketInfo], owner: Owner) -> bytes:
    """ListBuckets: ``ListAllMyBucketsResult`` with the owner and every bucket."""
    root = _S3.ListAllMyBucketsResult(
        _owner(owner),
        _S3.Buckets(
            *(
                _S3.Bucket(
                    _text(_S3, "Name", bucket.name),
                    _S3.CreationDate(iso8601(bucket.created)),
                )
                for bucket in buckets
            )
        ),
    )
    return _document(root)


def location_constraint(region: str) -> bytes:
    """GetBucketLocation: the region, or an empty element for ``us-east-1``.

    "Buckets in Region us-east-1 have a LocationConstraint of null."
    """
    value = "" if region in ("", "us-east-1") else region
    return _document(_text(_S3, "LocationConstraint", value))


class _Encoder:
    """Applies ``encoding-type`` to the fields S3 encodes under it."""

    def __init__(self, encoding_type: str | None) -> None:
        # S3 accepts only "url" ("Invalid Encoding Method specified in Request").
        if encoding_type not in (None, "url"):
            raise errors.InvalidArgument(
                "Invalid Encoding Method specified in Request",
                extra={
                    "ArgumentName": "encoding-type",
                    "ArgumentValue": encoding_type,
                },
            )
        self.encoding_type = encoding_type

    def __call__(self, value: str) -> str:
        return url_encode(value) if self.encoding_type == "url" else value

    def element(self) -> list[etree._Element]:
        """``<EncodingType>`` when one was asked for."""
        return _optional("EncodingType", self.encoding_type)


def _object_fields(info: ObjectInfo) -> list[etree._Element]:
    """LastModified, ETag, checksum algorithms and Size of a listed object."""
    return [
        _S3.LastModified(iso8601(info.last_modified)),
        _S3.ETag(_quoted(info.etag)),
        *(_S3.ChecksumAlgorithm(name) for name, _ in info.meta.checksums),
        _S3.Size(str(info.size)),
    ]


def _contents(
    contents: Sequence[ObjectInfo], encode: _Encoder, owner: Owner | None
) -> list[etree._Element]:
    """One ``<Contents>`` per object, with ``<Owner>`` when ``owner`` is given."""
    # A fresh <Owner> per entry: an lxml element has one parent, so a shared one
    # would end up in the last <Contents> only.
    return [
        _S3.Contents(
            _text(_S3, "Key", encode(info.key)),
            *_object_fields(info),
            *([] if owner is None else [_owner(owner)]),
            _S3.StorageClass("STANDARD"),
        )
        for info in contents
    ]


def _common_prefixes(prefixes: Sequence[str], encode: _Encoder) -> list[etree._Element]:
    return [
        _S3.CommonPrefixes(_text(_S3, "Prefix", encode(prefix))) for prefix in prefixes
    ]


def _delimiter(delimiter: str | None, encode: _Encoder) -> list[etree._Element]:
    """``<Delimiter>`` only when the request had a non-empty one, as S3 does."""
    return _optional("Delimiter", encode(delimiter) if delimiter else None)


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
    encode = _Encoder(encoding_type)
    if key_count is None:
        key_count = len(contents) + len(common_prefixes)
    root = _S3.ListBucketResult(
        _text(_S3, "Name", bucket),
        _text(_S3, "Prefix", encode(prefix)),
        *_optional("ContinuationToken", continuation_token),
        *_optional("NextContinuationToken", next_continuation_token),
        _S3.KeyCount(str(key_count)),
        _S3.MaxKeys(str(max_keys)),
        *_delimiter(delimiter, encode),
        _S3.IsTruncated(_bool(is_truncated)),
        *_optional("StartAfter", None if start_after is None else encode(start_after)),
        *encode.element(),
        *_contents(contents, encode, owner),
        *_common_prefixes(common_prefixes, encode),
    )
    return _document(root)


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
    encode = _Encoder(encoding_type)
    root = _S3.ListBucketResult(
        _text(_S3, "Name", bucket),
        _text(_S3, "Prefix", encode(prefix)),
        _text(_S3, "Marker", encode(marker)),
        *_optional("NextMarker", None if next_marker is None else encode(next_marker)),
        _S3.MaxKeys(str(max_keys)),
        *_delimiter(delimiter, encode),
        _S3.IsTruncated(_bool(is_truncated)),
        *encode.element(),
        *_contents(contents, encode, owner),
        *_common_prefixes(common_prefixes, encode),
    )
    return _document(root)


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
    encode = _Encoder(encoding_type)
    next_key = None if next_key_marker is None else encode(next_key_marker)
    versions = [
        _S3.Version(
            _text(_S3, "Key", encode(info.key)),
            _S3.VersionId("null"),
            _S3.IsLatest("true"),
            *_object_fields(info),
            _S3.StorageClass("STANDARD"),
            _owner(owner),
        )
        for info in contents
    ]
    root = _S3.ListVersionsResult(
        _text(_S3, "Name", bucket),
        _text(_S3, "Prefix", encode(prefix)),
        _text(_S3, "KeyMarker", encode(key_marker)),
        _text(_S3, "VersionIdMarker", version_id_marker),
        *_optional("NextKeyMarker", next_key),
        *_optional("NextVersionIdMarker", next_version_id_marker),
        _S3.MaxKeys(str(max_keys)),
        *_delimiter(delimiter, encode),
        _S3.IsTruncated(_bool(is_truncated)),
        *encode.element(),
        *versions,
        *_common_prefixes(common_prefixes, encode),
    )
    return _document(root)


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
    root = _S3.DeleteResult(
        *(
            _S3.Deleted(_text(_S3, "Key", key), *_optional("VersionId", version_id))
            for key, version_id in done
        ),
        *(
            _S3.Error(
                _text(_S3, "Key", failure.key),
                *_optional("VersionId", failure.version_id),
                _text(_S3, "Code", failure.code),
                _text(_S3, "Message", failure.message),
            )
            for failure in errors
        ),
    )
    return _document(root)


def copy_object_result(etag: str, last_modified: dt.datetime) -> bytes:
    """CopyObject's ``CopyObjectResult``: the new object's ETag and LastModified."""
    root = _S3.CopyObjectResult(
        _S3.LastModified(iso8601(last_modified)), _S3.ETag(_quoted(etag))
    )
    return _document(root)


def copy_part_result(etag: str, last_modified: dt.datetime) -> bytes:
    """UploadPartCopy's ``CopyPartResult``: the new part's ETag and LastModified."""
    root = _S3.CopyPartResult(
        _S3.LastModified(iso8601(last_modified)), _S3.ETag(_quoted(etag))
    )
    return _document(root)


def initiate_multipart_upload(bucket: str, key: str, upload_id: str) -> bytes:
    """CreateMultipartUpload's ``InitiateMultipartUploadResult``."""
    root = _S3.InitiateMultipartUploadResult(
        _text(_S3, "Bucket", bucket),
        _text(_S3, "Key", key),
        _text(_S3, "UploadId", upload_id),
    )
    return _document(root)


def complete_multipart_upload(location: str, bucket: str, key: str, etag: str) -> bytes:
    """CompleteMultipartUpload's ``CompleteMultipartUploadResult``."""
    root = _S3.CompleteMultipartUploadResult(
        _text(_S3, "Location", location),
        _text(_S3, "Bucket", bucket),
        _text(_S3, "Key", key),
        _S3.ETag(_quoted(etag)),
    )
    return _document(root)
