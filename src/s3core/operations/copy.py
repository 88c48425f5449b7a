"""CopyObject, and the copy source that CopyObject and UploadPartCopy read.

This module owns ``x-amz-copy-source``: decoding it (a URL-encoded ``bucket/key``,
optionally ``?versionId=null``), the rule that the caller must own the source bucket,
the ``x-amz-copy-source-if-*`` conditions (checked against the very snapshot that is
then copied), and CopyObject's ``x-amz-metadata-directive``. The copy itself is the
backend's ``copy_object`` (the filesystem backend lets the kernel copy, or reflink),
unless a digest of the bytes must be computed: then they pass once through ``ingest``,
a chunk at a time. It never holds an object in memory.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

import attrs

from s3core import errors, xml_out
from s3core.backends.base import ObjectReader
from s3core.checksums import new_checksum
from s3core.conditional import evaluate_copy_source_conditions
from s3core.http import Headers, Response
from s3core.models import ObjectInfo, ObjectMeta
from s3core.names import validate_bucket_name, validate_key
from s3core.operations.common import meta_from_headers, xml_response
from s3core.operations.context import Call
from s3core.operations.ingest import DEFAULT_CHECKSUM, ingest
from s3core.routing import COPY_SOURCE

__all__ = [
    "SDK_ALGORITHM",
    "CopySource",
    "copy_object",
    "open_copy_source",
    "parse_copy_source",
]

SDK_ALGORITHM = "x-amz-sdk-checksum-algorithm"
_DIRECTIVES = ("COPY", "REPLACE")


@attrs.frozen
class CopySource:
    """The object an ``x-amz-copy-source`` header names."""

    bucket: str
    key: str


def _bad_source(value: str, message: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(
        message, extra={"ArgumentName": COPY_SOURCE, "ArgumentValue": value}
    )


def parse_copy_source(value: str) -> CopySource:
    """Decode an ``x-amz-copy-source`` value: ``[/]bucket/key[?versionId=...]``.

    Raises:
        InvalidArgument: no bucket or no key, undecodable escapes, or a version id
            other than ``null`` (buckets here are unversioned, so every object's
            only version is ``null``).
        InvalidBucketName, KeyTooLongError: the names break S3's rules.
    """
    raw, _, query = value.partition("?")
    for name, version in parse_qsl(query, keep_blank_values=True):
        if name == "versionId" and version != "null":
            raise _bad_source(value, "Invalid version id specified")
    try:
        # "The value must be URL-encoded" (CopyObject, x-amz-copy-source): it is a
        # path, so '+' stays a plus sign.
        path = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise _bad_source(value, "Invalid copy source encoding") from None
    bucket, _, key = path.removeprefix("/").partition("/")
    if not bucket or not key:
        raise _bad_source(
            value,
            "Copy Source must mention the source bucket and key: "
            "sourcebucket/sourcekey",
        )
    validate_bucket_name(bucket)
    validate_key(key)
    return CopySource(bucket, key)


def open_copy_source(call: Call) -> tuple[CopySource, ObjectReader]:
    """Open the copy source after checking ownership and copy-source conditions.

    The caller closes the reader. Conditions are evaluated on the opened snapshot,
    so the bytes copied are the ones the conditions were true for.

    Raises:
        InvalidArgument, InvalidBucketName, KeyTooLongError (see
        ``parse_copy_source``), NoSuchBucket, AccessDenied (a source bucket the
        caller does not own), NoSuchKey, PreconditionFailed.
    """
    source = parse_copy_source(call.headers.get(COPY_SOURCE) or "")
    if call.backend.get_bucket(source.bucket).owner_id != call.user.id:
        raise errors.AccessDenied()
    reader = call.backend.open_object(source.bucket, source.key)
    try:
        info = reader.info
        evaluate_copy_source_conditions(
            call.headers, etag=info.etag, last_modified=info.last_modified
        )
    except BaseException:
        reader.close()
        raise
    return source, reader


def copy_object(call: Call) -> Response:
    """CopyObject: copy an object (up to 5 GiB) within or across the caller's buckets.

    Raises:
        InvalidArgument, InvalidBucketName, KeyTooLongError, NoSuchBucket,
        AccessDenied, NoSuchKey, PreconditionFailed (copy-source conditions),
        InvalidRequest (copy onto itself without REPLACE, a source over 5 GiB, an
        unknown checksum algorithm), MetadataTooLarge.
    """
    validate_key(call.key)
    directive = _directive(call.headers)
    algorithm = _requested_algorithm(call.headers)
    source, reader = open_copy_source(call)
    try:
        info = reader.info
        if (source.bucket, source.key) == (call.bucket, call.key) and (
            directive == "COPY"
        ):
            raise errors.InvalidRequest(
                "This copy request is illegal because it is trying to copy an object "
                "to itself without changing the object's metadata, storage class, "
                "website redirect location or encryption attributes."
            )
        _check_size(info, call.config.max_put_size)
        meta = meta_from_headers(call.headers) if directive == "REPLACE" else info.meta
        result = _copy(call, reader, meta, algorithm)
    finally:
        reader.close()
    checksum = result.meta.checksums[0] if result.meta.checksums else None
    body = xml_out.copy_object_result(
        result.etag,
        result.last_modified,
        checksum=checksum if algorithm else None,
        checksum_type="FULL_OBJECT",
    )
    return xml_response(body)


def _directive(headers: Headers) -> str:
    value = (headers.get("x-amz-metadata-directive") or "COPY").strip().upper()
    if value not in _DIRECTIVES:
        raise errors.InvalidArgument(
            "Unknown metadata directive.",
            extra={"ArgumentName": "x-amz-metadata-directive", "ArgumentValue": value},
        )
    return value


def _requested_algorithm(headers: Headers) -> str | None:
    value = headers.get("x-amz-checksum-algorithm")
    if value is None:
        return None
    new_checksum(value)  # refuses unknown algorithms with InvalidRequest
    return value.upper()


def _check_size(info: ObjectInfo, limit: int) -> None:
    # "You create a copy of your object up to 5 GB in size in a single atomic action
    # using this API" (CopyObject).
    if info.size > limit:
        raise errors.InvalidRequest(
            "The specified copy source is larger than the maximum allowable size "
            f"for a copy source: {limit}"
        )


def _copy(
    call: Call, reader: ObjectReader, meta: ObjectMeta, algorithm: str | None
) -> ObjectInfo:
    """Publish the copy: by the backend if the source's digests carry over, else
    through one streaming pass that computes them."""
    info = reader.info
    stored = info.meta.checksums[0] if info.meta.checksums else None
    full = stored if stored is not None and "-" not in stored[1] else None
    # "Objects created by ... the Copy operation ... have ETags that are an MD5
    # digest of their object data" (S3 API Reference, Object, ETag): a multipart
    # source's "-N" ETag does not carry over, nor does a composite checksum.
    keep = "-" not in info.etag and (
        algorithm is None or (full is not None and full[0] == algorithm)
    )
    if keep:
        kept = attrs.evolve(meta, checksums=(full,) if full else ())
        return call.backend.copy_object(
            reader, call.bucket, call.key, meta=kept, etag=info.etag
        )
    # The source's algorithm carries over (a composite one becomes a whole-object
    # checksum of the copy, which is a single part).
    wanted = algorithm or (stored[0] if stored else DEFAULT_CHECKSUM)
    writer = call.backend.open_writer(call.bucket, call.key)
    try:
        reader.seek(0)
        got = ingest(
            Headers(((SDK_ALGORITHM, wanted),)),
            reader,
            writer,
            call.config.digest_executor,
        )
        computed = attrs.evolve(meta, checksums=(got.checksum,))
        return writer.commit(computed, etag=got.md5_hex)
    finally:
        writer.abort()
