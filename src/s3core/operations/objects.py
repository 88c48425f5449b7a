"""Object operations: PutObject, GetObject, HeadObject, DeleteObject.

This module owns the S3 semantics of single-object requests: what is stored from the
request headers, which digests are checked, which conditions and ranges (or, with
``partNumber``, which part of a multipart object) apply, and which headers go back.
Bytes stream from the request into a backend writer and from a backend reader into
the response; nothing here holds a whole object.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from s3core import errors
from s3core.backends.base import ObjectReader
from s3core.bodies import CHUNK_SIZE
from s3core.conditional import ByteRange, evaluate_read_conditions, parse_range
from s3core.http import Headers, Response
from s3core.models import ObjectInfo, WriteCondition
from s3core.names import validate_key
from s3core.operations.common import (
    apply_overrides,
    checksum_headers,
    meta_from_headers,
    object_headers,
    object_length,
    quote_etag,
)
from s3core.operations.context import Call
from s3core.operations.ingest import ingest
from s3core.operations.multipart import parse_part_number
from s3core.timefmt import http_date

__all__ = [
    "ReaderBody",
    "delete_object",
    "get_object",
    "head_object",
    "put_object",
    "write_condition",
]


def put_object(call: Call) -> Response:
    """PutObject: stream the body into a staged object, verify it, then publish.

    Raises:
        KeyTooLongError, MissingContentLength, EntityTooLarge, InvalidDigest,
        BadDigest, MetadataTooLarge, PreconditionFailed, NoSuchKey (If-Match on a
        missing key), NoSuchBucket, IncompleteBody, XAmzContentSHA256Mismatch.
    """
    headers = call.headers
    validate_key(call.key)
    length = object_length(headers)
    if length > call.config.max_put_size:
        raise errors.EntityTooLarge(
            extra={
                "ProposedSize": str(length),
                "MaxSizeAllowed": str(call.config.max_put_size),
            }
        )
    meta = meta_from_headers(headers)
    condition = write_condition(headers)
    writer = call.backend.open_writer(call.bucket, call.key)
    try:
        got = ingest(headers, call.body, writer, call.config.digest_executor)
        meta = attrs.evolve(meta, checksums=(got.checksum,))
        info = writer.commit(meta, etag=got.md5_hex, condition=condition)
    finally:
        writer.abort()
    out = [("ETag", quote_etag(info.etag))]
    if got.client_checksum:
        out.extend(checksum_headers(info.meta.checksums))
    return Response(status=200, headers=tuple(out))


def write_condition(headers: Headers) -> WriteCondition | None:
    """The conditional-write headers of PutObject (and CompleteMultipartUpload),
    decided atomically by the backend.

    Raises:
        NotImplementedOperation: If-None-Match with anything but ``*``.
    """
    if_match = headers.get("if-match")
    if_none_match = headers.get("if-none-match")
    if if_match is None and if_none_match is None:
        return None
    # "If-None-Match ... Expects the '*' (asterisk) character" (PutObject).
    if if_none_match is not None and if_none_match.strip() != "*":
        raise errors.NotImplementedOperation(
            "A header you provided implies functionality that is not implemented",
            extra={"Header": "If-None-Match"},
        )
    return WriteCondition(
        if_match=if_match.strip().strip('"') if if_match is not None else None,
        if_none_match=if_none_match is not None,
    )


def get_object(call: Call) -> Response:
    """GetObject: conditions, a single range, ``response-*`` overrides, streamed body.

    Raises:
        NoSuchBucket, NoSuchKey, PreconditionFailed, InvalidRange.
    """
    validate_key(call.key)
    reader = call.backend.open_object(call.bucket, call.key)
    try:
        return _get_response(call, reader)
    except BaseException:
        reader.close()
        raise


def _get_response(call: Call, reader: ObjectReader) -> Response:
    info = reader.info
    not_modified = _conditions(call, info)
    if not_modified is not None:
        reader.close()
        return not_modified
    headers = _headers(call, info)
    byte_range = _selected_range(call, info)
    if byte_range is None:
        return Response(
            status=200,
            headers=tuple(headers),
            body=ReaderBody(reader, info.size),
            content_length=info.size,
        )
    reader.seek(byte_range.start)
    # A checksum covers the whole object, never a range of it.
    headers = [(k, v) for k, v in headers if not k.startswith("x-amz-checksum-")]
    headers.append(("Content-Range", byte_range.content_range(info.size)))
    return Response(
        status=206,
        headers=tuple(headers),
        body=ReaderBody(reader, byte_range.length, byte_range.start),
        content_length=byte_range.length,
    )


def head_object(call: Call) -> Response:
    """HeadObject: GetObject's headers and conditions, no body.

    Raises:
        NoSuchBucket, NoSuchKey, PreconditionFailed, InvalidRange.
    """
    validate_key(call.key)
    info = call.backend.head_object(call.bucket, call.key)
    not_modified = _conditions(call, info)
    if not_modified is not None:
        return not_modified
    headers = _headers(call, info)
    byte_range = _selected_range(call, info)
    if byte_range is None:
        return Response(status=200, headers=tuple(headers), content_length=info.size)
    headers = [(k, v) for k, v in headers if not k.startswith("x-amz-checksum-")]
    headers.append(("Content-Range", byte_range.content_range(info.size)))
    return Response(
        status=206, headers=tuple(headers), content_length=byte_range.length
    )


def _headers(call: Call, info: ObjectInfo) -> list[tuple[str, str]]:
    headers = object_headers(info, with_checksums=_checksum_mode(call.headers))
    if any("-" in value for _, value in info.meta.checksums):
        # A checksum of the parts' checksums ("...-N") is COMPOSITE, not the
        # FULL_OBJECT type ``object_headers`` names for every other one.
        headers = [
            (k, "COMPOSITE" if k == "x-amz-checksum-type" else v) for k, v in headers
        ]
    return apply_overrides(headers, call.query)


def _selected_range(call: Call, info: ObjectInfo) -> ByteRange | None:
    """The bytes to send: the ``Range``, or part ``partNumber``; ``None``: all.

    Raises:
        InvalidArgument: a part number that is not an integer from 1 to 10000.
        InvalidRequest: both a Range and a part number.
        InvalidPartNumber: a part the object does not have (416).
        InvalidRange: an unsatisfiable Range.
    """
    number = parse_part_number(call.query)
    if number is None:
        return parse_range(call.headers.get("range"), info.size)
    if call.headers.get("range") is not None:
        raise errors.InvalidRequest(
            "Cannot specify both Range header and partNumber query parameter."
        )
    # An object not uploaded in parts is its own only part.
    sizes = info.part_sizes or (info.size,)
    if info.parts_count is not None and len(sizes) != info.parts_count:
        raise errors.InternalError("The object's part boundaries are not recorded.")
    if number > len(sizes):
        raise errors.InvalidPartNumber(
            extra={
                "PartNumberRequested": str(number),
                "ActualPartCount": str(len(sizes)),
            }
        )
    start = sum(sizes[: number - 1])
    if sizes[number - 1] == 0:
        return None  # an empty part has no byte range: the (empty) body, 200
    return ByteRange(start, start + sizes[number - 1] - 1)


def _conditions(call: Call, info: ObjectInfo) -> Response | None:
    """The 304 response if a read condition says so; raises 412 ones."""
    etag = info.etag
    status = evaluate_read_conditions(
        call.headers, etag=etag, last_modified=info.last_modified
    )
    if status is None:
        return None
    # RFC 7232 4.1: a 304 carries the validators the 200 would have carried.
    return Response(
        status=status,
        headers=(
            ("ETag", quote_etag(etag)),
            ("Last-Modified", http_date(info.last_modified)),
        ),
        content_length=None,
    )


def _checksum_mode(headers: Headers) -> bool:
    return (headers.get("x-amz-checksum-mode") or "").upper() == "ENABLED"


def delete_object(call: Call) -> Response:
    """DeleteObject: 204 whether or not the key existed.

    Raises:
        NoSuchBucket.
    """
    validate_key(call.key)
    call.backend.delete_object(call.bucket, call.key)
    return Response(status=204)


class ReaderBody:
    """A response body streaming ``length`` bytes from an open object reader,
    which is positioned at byte ``start`` of the object.

    The adapter iterates it (or reads the reader from ``start`` itself) and calls
    ``close``; the reader (an open file for the filesystem backend) is released
    there, also when the client goes away midway.
    """

    def __init__(self, reader: ObjectReader, length: int, start: int = 0) -> None:
        self.reader = reader
        self.length = length
        self.start = start

    def __iter__(self) -> Iterator[bytes]:
        remaining = self.length
        while remaining > 0:
            chunk = self.reader.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                # The snapshot is shorter than its record said: never pad, never
                # send a wrong body silently.
                raise errors.InternalError("object shorter than its recorded size")
            remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.reader.close()
