"""Streaming a request body into a backend writer while verifying its digests.

This module owns what PutObject and UploadPart share: the MD5 that becomes the ETag,
the ``Content-MD5`` check, and the one additional checksum S3 keeps (given in an
``x-amz-checksum-*`` header or in an aws-chunked trailer announced by ``x-amz-trailer``,
named by ``x-amz-sdk-checksum-algorithm``, or CRC64NVME by default). Every check
happens before the caller commits, so a mismatch publishes nothing. It never commits
or aborts the writer itself, and leaves the decoding of trailers to the body reader.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from typing import Protocol

import attrs

from s3core import errors
from s3core.auth.chunked import TrailerSource
from s3core.backends.base import ObjectWriter
from s3core.bodies import iter_chunks
from s3core.checksums import new_checksum, parse_content_md5, requested_checksums
from s3core.http import Headers, Readable
from s3core.payload import declared_trailers

__all__ = ["DEFAULT_CHECKSUM", "Ingested", "ingest"]

# S3 stores a CRC64NVME checksum of every new object that arrives without one ("default
# data integrity protections", S3 User Guide, "Checking object integrity"), so SDKs
# can validate downloads.
DEFAULT_CHECKSUM = "CRC64NVME"


@attrs.frozen(kw_only=True)
class Ingested:
    """What streaming a body produced.

    Attributes:
        size: bytes written.
        md5_hex: hex MD5 of the bytes (the ETag of a single-part object).
        checksum: (algorithm, base64 value) kept with the object.
        client_checksum: whether the client asked for that checksum (then S3 echoes
            it in the response headers).
    """

    size: int
    md5_hex: str
    checksum: tuple[str, str]
    client_checksum: bool


def ingest(
    headers: Headers,
    body: Readable,
    writer: ObjectWriter,
    executor: Executor | None = None,
) -> Ingested:
    """Copy ``body`` into ``writer``, computing and checking the digests.

    With an ``executor``, the digests of a body of several chunks are computed on
    it, each chunk's while the next one is read and written (``_Digests``).

    Raises:
        InvalidDigest: a malformed ``Content-MD5``.
        BadDigest: the bytes do not match ``Content-MD5`` or the stated checksum
            (header or trailer).
        InvalidRequest: an unknown or repeated checksum algorithm (in headers and
            trailers together), or a malformed checksum value.
        IncompleteBody, XAmzContentSHA256Mismatch, SignatureDoesNotMatch,
            MalformedTrailerError, InvalidChunkSizeError: from the body readers.
    """
    content_md5 = parse_content_md5(headers)
    stated = requested_checksums(headers)
    trailer = _trailer_algorithm(headers, stated)
    requested = trailer or next(iter(stated), None) or _sdk_algorithm(headers)
    algorithm = requested or DEFAULT_CHECKSUM
    checksum = new_checksum(algorithm)
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    with _Digests((md5, checksum), executor) as digests:
        for chunk in iter_chunks(body):
            digests.update(chunk)
            writer.write(chunk)
            size += len(chunk)
    if content_md5 is not None and md5.digest() != content_md5:
        raise errors.BadDigest(
            extra={"ExpectedDigest": base64.b64encode(content_md5).decode()}
        )
    value = base64.b64encode(checksum.digest()).decode()
    if trailer is not None:
        # The body has been read to its end, so its trailers are in.
        stated = _trailer_checksum(body, trailer)
    expected = stated.get(algorithm)
    if expected is not None and expected != value:
        raise errors.BadDigest(
            f"The {algorithm} you specified did not match the calculated checksum."
        )
    return Ingested(
        size=size,
        md5_hex=md5.hexdigest(),
        checksum=(algorithm, value),
        client_checksum=requested is not None,
    )


class _Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...


class _Digests:
    """Hashes fed the body's chunks in order, inline or on an executor.

    Why an executor: MD5 runs at about 700 MiB/s on a core, the largest share of a
    big PUT's CPU. hashlib releases the GIL while it hashes, so on an executor whose
    threads may run on another core (s3server keeps its request threads on one CPU
    and its digest threads off it) the hashing of one chunk overlaps the reading and
    writing of the next. One job at a time keeps the updates in order; the first
    chunk is hashed inline, so a body of one chunk (any small object) never waits
    for a thread.
    """

    def __init__(self, hashes: Sequence[_Hash], executor: Executor | None) -> None:
        self._hashes = hashes
        self._executor = executor
        self._pending: Future[None] | None = None
        self._inline = True  # the first chunk

    def update(self, chunk: bytes) -> None:
        if self._executor is None or self._inline:
            self._inline = False
            self._hash(chunk)
            return
        self._wait()
        self._pending = self._executor.submit(self._hash, chunk)

    def _hash(self, chunk: bytes) -> None:
        for h in self._hashes:
            h.update(chunk)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> _Digests:
        return self

    def __exit__(self, *exc: object) -> None:
        # Also on an error: no job may still be hashing once ingest has returned.
        self._wait()


def _sdk_algorithm(headers: Headers) -> str | None:
    value = headers.get("x-amz-sdk-checksum-algorithm")
    if value is None:
        return None
    new_checksum(value)  # refuses unknown algorithms
    return value.upper()


def _trailer_algorithm(headers: Headers, stated: dict[str, str]) -> str | None:
    """The algorithm of the checksum trailer ``x-amz-trailer`` announces, if any."""
    names = declared_trailers(headers)
    if not names:
        return None
    # "Only one checksum header can be specified" (PutObject, x-amz-checksum-*):
    # a trailer counts as one, as a header does.
    if len(names) + len(stated) > 1:
        raise errors.InvalidRequest(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are "
            "not allowed."
        )
    (name,) = names
    return name.removeprefix("x-amz-checksum-").upper()


def _trailer_checksum(body: Readable, algorithm: str) -> dict[str, str]:
    """The trailer's checksum, checked for shape like an ``x-amz-checksum-*`` header.

    Raises:
        InvalidRequest: the body is not aws-chunked, or the value is malformed.
        MalformedTrailerError: the trailer is missing (the decoder refuses that
            first; this guards other body stacks).
    """
    if not isinstance(body, TrailerSource):
        raise errors.InvalidRequest("x-amz-trailer needs an aws-chunked body")
    name = f"x-amz-checksum-{algorithm.lower()}"
    value = body.trailers.get(name)
    if value is None:
        raise errors.MalformedTrailerError()
    return requested_checksums(Headers(((name, value),)))
