"""Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy, Abort.

This module owns what an upload fixes at creation (the final object's metadata, its
checksum algorithm and type) and how each part is taken in: its number, its size
limit, its checksum (the upload's algorithm, which a part may not contradict), its
ETag (the MD5 of its bytes). Part bodies stream through ``ingest`` into a backend part
writer; a copied part streams from the source's snapshot the same way, since its ETag
needs the MD5 of its bytes. Completion lives in ``multipart_complete``, listings in
``multipart_listing``. Nothing here holds a part in memory.
"""

from __future__ import annotations

import re
from concurrent.futures import Executor
from typing import cast

import attrs

from s3core import errors, xml_out
from s3core.backends.base import ObjectWriter, PartWriter
from s3core.bodies import ExactLengthReader
from s3core.checksums import new_checksum, requested_checksums
from s3core.config import MAX_PUT_SIZE
from s3core.http import Headers, Readable, Response
from s3core.models import Part, Upload
from s3core.names import validate_key
from s3core.operations.common import (
    meta_from_headers,
    object_length,
    quote_etag,
    xml_response,
)
from s3core.operations.context import Call
from s3core.operations.copy import SDK_ALGORITHM, open_copy_source
from s3core.operations.ingest import Ingested, ingest

__all__ = [
    "MAX_PART_NUMBER",
    "MAX_PART_SIZE",
    "abort_multipart_upload",
    "create_multipart_upload",
    "parse_part_number",
    "upload_part",
    "upload_part_copy",
]

# "Part numbers can be any number from 1 to 10,000, inclusive" and "Part size: 5 MiB
# to 5 GiB" (S3 User Guide, "Amazon S3 multipart upload limits").
MAX_PART_NUMBER = 10_000
MAX_PART_SIZE = MAX_PUT_SIZE
_COMPOSITE, _FULL_OBJECT = "COMPOSITE", "FULL_OBJECT"
# Only the CRCs combine into a whole-object value from part values.
_FULL_OBJECT_ALGORITHMS = frozenset({"CRC32", "CRC32C", "CRC64NVME"})
# x-amz-copy-source-range: "bytes=first-last", both zero-based and inclusive.
_COPY_RANGE = re.compile(r"bytes=([0-9]+)-([0-9]+)")


def parse_part_number(query: dict[str, str]) -> int | None:
    """The ``partNumber`` query parameter, or ``None`` when absent.

    Raises:
        InvalidArgument: not an integer from 1 to 10000.
    """
    raw = query.get("partNumber")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_PART_NUMBER):
        raise errors.InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive",
            extra={"ArgumentName": "partNumber", "ArgumentValue": raw},
        )
    return int(raw)


def _required_part_number(call: Call) -> int:
    number = parse_part_number(call.query)
    if number is None:
        raise errors.InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive",
            extra={"ArgumentName": "partNumber", "ArgumentValue": ""},
        )
    return number


def create_multipart_upload(call: Call) -> Response:
    """CreateMultipartUpload: fix the object's metadata and checksum settings.

    Raises:
        KeyTooLongError, MetadataTooLarge, InvalidRequest (an unknown checksum
        algorithm or type, or a type the algorithm cannot have), NoSuchBucket.
    """
    validate_key(call.key)
    meta = meta_from_headers(call.headers)
    algorithm, checksum_type = _checksum_settings(call.headers)
    upload = call.backend.create_upload(
        call.bucket,
        call.key,
        initiated=call.now,
        owner_id=call.user.id,
        meta=meta,
        checksum_algorithm=algorithm,
        checksum_type=checksum_type,
    )
    response = xml_response(
        xml_out.initiate_multipart_upload(call.bucket, call.key, upload.upload_id)
    )
    if algorithm is None:
        return response
    extra = (
        ("x-amz-checksum-algorithm", algorithm),
        ("x-amz-checksum-type", checksum_type or ""),
    )
    return attrs.evolve(response, headers=response.headers + extra)


def _checksum_settings(headers: Headers) -> tuple[str | None, str | None]:
    """(algorithm, type) an upload's parts and object are checksummed with."""
    value = headers.get("x-amz-checksum-algorithm")
    kind = headers.get("x-amz-checksum-type")
    if value is None:
        if kind is not None:
            raise errors.InvalidRequest(
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header."
            )
        return None, None
    new_checksum(value)  # refuses unknown algorithms
    algorithm = value.upper()
    # CRC64NVME exists only as a whole-object checksum; the others default to a
    # checksum of the parts' checksums (S3 User Guide, "Checking object integrity").
    default = _FULL_OBJECT if algorithm == "CRC64NVME" else _COMPOSITE
    checksum_type = (kind or default).upper()
    if checksum_type not in (_COMPOSITE, _FULL_OBJECT):
        raise errors.InvalidRequest("Value for x-amz-checksum-type header is invalid.")
    full_only = algorithm == "CRC64NVME"
    if (checksum_type == _FULL_OBJECT and algorithm not in _FULL_OBJECT_ALGORITHMS) or (
        checksum_type == _COMPOSITE and full_only
    ):
        raise errors.InvalidRequest(
            f"The {checksum_type} checksum type cannot be used with the "
            f"{algorithm.lower()} checksum algorithm."
        )
    return algorithm, checksum_type


def upload_part(call: Call) -> Response:
    """UploadPart: stream one part (up to 5 GiB) into the upload.

    Raises:
        InvalidArgument (part number), MissingContentLength, EntityTooLarge,
        NoSuchBucket, NoSuchUpload, InvalidRequest (a checksum algorithm other than
        the upload's), InvalidDigest, BadDigest, IncompleteBody,
        XAmzContentSHA256Mismatch.
    """
    number = _required_part_number(call)
    length = object_length(call.headers)
    if length > MAX_PART_SIZE:
        raise errors.EntityTooLarge(
            extra={"ProposedSize": str(length), "MaxSizeAllowed": str(MAX_PART_SIZE)}
        )
    upload = call.backend.get_upload(call.bucket, call.key, call.query["uploadId"])
    headers = _part_headers(call.headers, upload)
    writer = call.backend.open_part_writer(
        call.bucket, call.key, upload.upload_id, number
    )
    part, got = _store(writer, headers, call.body, call.config.digest_executor)
    out = [("ETag", quote_etag(part.etag))]
    if (got.client_checksum or upload.checksum_algorithm) and part.checksum:
        algorithm, value = part.checksum
        out.append((f"x-amz-checksum-{algorithm.lower()}", value))
    return Response(status=200, headers=tuple(out))


def _store(
    writer: PartWriter,
    headers: Headers,
    body: Readable,
    executor: Executor | None,
) -> tuple[Part, Ingested]:
    try:
        # ingest only writes ("It never commits or aborts the writer itself"), so a
        # part writer serves although its commit differs from an object writer's.
        got = ingest(headers, body, cast(ObjectWriter, writer), executor)
        return writer.commit(etag=got.md5_hex, checksum=got.checksum), got
    finally:
        writer.abort()


def _declared_algorithm(headers: Headers) -> str | None:
    """The checksum algorithm a part request names, in a header or a trailer."""
    stated = requested_checksums(headers)
    if stated:
        return next(iter(stated))
    trailer = (headers.get("x-amz-trailer") or "").strip().lower()
    if trailer.startswith("x-amz-checksum-"):
        return trailer.removeprefix("x-amz-checksum-").upper()
    sdk = headers.get(SDK_ALGORITHM)
    return sdk.upper() if sdk else None


def _part_headers(headers: Headers, upload: Upload) -> Headers:
    """The request headers, naming the upload's algorithm if the part names none.

    Raises:
        InvalidRequest: the part names an algorithm other than the upload's.
    """
    expected = upload.checksum_algorithm
    declared = _declared_algorithm(headers)
    if expected is None:
        return headers
    if declared is None:
        return Headers((*headers.items, (SDK_ALGORITHM, expected)))
    if declared != expected:
        raise errors.InvalidRequest(
            "Checksum Type mismatch occurred, expected checksum Type: "
            f"{expected.lower()}, actual checksum Type: {declared.lower()}"
        )
    return headers


def upload_part_copy(call: Call) -> Response:
    """UploadPartCopy: a byte range of an existing object becomes a part.

    Raises:
        InvalidArgument (part number, copy source, malformed copy range),
        InvalidRange (a range outside the source), InvalidRequest (a range over
        5 GiB), NoSuchBucket, NoSuchUpload, AccessDenied, NoSuchKey,
        PreconditionFailed.
    """
    number = _required_part_number(call)
    upload = call.backend.get_upload(call.bucket, call.key, call.query["uploadId"])
    _, reader = open_copy_source(call)
    try:
        start, length = _copy_range(call.headers, reader.info.size)
        reader.seek(start)
        body = ExactLengthReader(reader, length)
        algorithm = upload.checksum_algorithm
        headers = Headers(((SDK_ALGORITHM, algorithm),) if algorithm else ())
        writer = call.backend.open_part_writer(
            call.bucket, call.key, upload.upload_id, number
        )
        part, _ = _store(writer, headers, body, call.config.digest_executor)
    finally:
        reader.close()
    body_xml = xml_out.copy_part_result(
        part.etag, part.last_modified, checksum=part.checksum if algorithm else None
    )
    return xml_response(body_xml)


def _copy_range(headers: Headers, size: int) -> tuple[int, int]:
    """(start, length) of ``x-amz-copy-source-range``; the whole source if absent."""
    value = headers.get("x-amz-copy-source-range")
    if value is None:
        length = size
        start = 0
    else:
        match = _COPY_RANGE.fullmatch(value.strip())
        if match is None or int(match[1]) > int(match[2]):
            raise errors.InvalidArgument(
                "The x-amz-copy-source-range value must be of the form bytes=first-last"
                " where first and last are the zero-based offsets of the first and "
                "last bytes to copy",
                extra={
                    "ArgumentName": "x-amz-copy-source-range",
                    "ArgumentValue": value,
                },
            )
        start, last = int(match[1]), int(match[2])
        if last >= size:
            raise errors.InvalidRange(
                extra={"RangeRequested": value, "ActualObjectSize": str(size)}
            )
        length = last - start + 1
    if length > MAX_PART_SIZE:
        raise errors.InvalidRequest(
            "The specified copy range is larger than the maximum allowable size "
            f"for a part: {MAX_PART_SIZE}"
        )
    return start, length


def abort_multipart_upload(call: Call) -> Response:
    """AbortMultipartUpload: discard the upload and its parts (204).

    Raises:
        NoSuchBucket, NoSuchUpload.
    """
    validate_key(call.key)
    call.backend.abort_upload(call.bucket, call.key, call.query["uploadId"])
    return Response(status=204)
