"""Decoding ``aws-chunked`` request bodies incrementally, verifying as bytes arrive.

This module owns the aws-chunked framing of streaming uploads (``x-amz-content-sha256:
STREAMING-...``): chunk headers, the chain of chunk signatures from the seed
signature, the final zero-length chunk, the trailing headers and their signature,
and the decoded length. ``ChunkedDecoder`` has h11's sans-I/O shape: hand it bytes as
they come (``receive_data``) and ask for events (``next_event``): decoded ``Data``,
``NEED_DATA``, or ``EndOfMessage`` with the trailers. ``ChunkedReader`` turns it into
a ``Readable`` the service stacks on a body. Memory is bounded: the decoder keeps at
most the bytes handed to it and, for a signed chunk, that chunk (capped at
``MAX_CHUNK_SIZE``), because a chunk's signature covers the whole chunk and its bytes
are released only once verified. Unsigned chunks pass through as they arrive. It
must not pick the mode from request headers (``s3core.payload`` does) nor judge
trailer checksums (``s3core.operations.ingest`` does); it raises S3 errors at the
point of detection, always before end of stream is reported, so an operation that
streams a body into a writer can never commit a bad one.

Reference: "Signature Calculations for the Authorization Header: Transferring Payload
in Multiple Chunks (Chunked Upload)" and "... Including Trailing Headers" (Amazon S3
API Reference).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

import attrs

from s3core import errors
from s3core.auth import sigv4
from s3core.http import Readable

__all__ = [
    "MAX_CHUNK_SIZE",
    "MIN_CHUNK_SIZE",
    "NEED_DATA",
    "TRAILER_SIGNATURE",
    "ChunkSigner",
    "ChunkedDecoder",
    "ChunkedReader",
    "Data",
    "EndOfMessage",
    "Event",
    "TrailerSource",
]

# The largest signed chunk held for verification. Clients that sign chunks use 64
# KiB (minio-go) or 128 KiB (the AWS Java SDK), some up to 8 MiB; MinIO caps chunks at
# 16 MiB too. Our own limit: S3 documents none, so its error is a plain InvalidRequest.
# Unsigned chunks are never held, so they have no cap.
MAX_CHUNK_SIZE = 16 << 20
# "Only the last chunk is allowed to have a size less than 8192 bytes"
# (InvalidChunkSizeError). The zero-length terminator does not count: a short last
# data chunk is followed by it, as in the AWS docs' example (65536, 1024, 0).
MIN_CHUNK_SIZE = 8192
TRAILER_SIGNATURE = "x-amz-trailer-signature"

# A chunk header is "hex-size[;chunk-signature=64-hex]"; a trailer section a few
# short lines. Anything longer is not aws-chunked, and refusing it bounds memory.
_MAX_LINE = 4096
_MAX_TRAILER_BYTES = 16 << 10
_CRLF = b"\r\n"
# RFC 9112 7.1: chunk-size = 1*HEXDIG. 16 digits cover any size a client can mean.
_UNSIGNED_HEADER = re.compile(rb"([0-9a-fA-F]{1,16})")
_SIGNED_HEADER = re.compile(rb"([0-9a-fA-F]{1,16});chunk-signature=([0-9a-f]{64})")
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 5.6.2
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


def _framing(detail: str) -> errors.S3Error:
    # S3 answers a body that is not the aws-chunked framing it announced with
    # IncompleteBody "The request body terminated unexpectedly" (best knowledge:
    # it is what S3 sends for a STREAMING-... request whose body is not chunked).
    return errors.IncompleteBody(f"The request body terminated unexpectedly: {detail}")


def _bad_trailer(detail: str) -> errors.S3Error:
    return errors.MalformedTrailerError(
        errors.MalformedTrailerError.default_message + f" ({detail})"
    )


@attrs.frozen(kw_only=True)
class ChunkSigner:
    """How the chunks of a signed stream are signed: the request's key and scope.

    Attributes:
        key: the SigV4 signing key of the request; never shown.
        amz_date: the request's ``x-amz-date``.
        scope: the request's credential scope.
        seed_signature: the request's own signature, the first link of the chain.
    """

    key: bytes = attrs.field(repr=False)
    amz_date: str
    scope: str
    seed_signature: str

    def chunk_signature(self, previous: str, data_hash: str) -> str:
        """The signature of a chunk whose data hashes to ``data_hash``."""
        to_sign = sigv4.chunk_string_to_sign(
            self.amz_date, self.scope, previous, data_hash
        )
        return sigv4.signature(self.key, to_sign)

    def trailer_signature(self, previous: str, trailer_hash: str) -> str:
        """The signature of the trailing headers, chained on the final chunk's."""
        to_sign = sigv4.trailer_string_to_sign(
            self.amz_date, self.scope, previous, trailer_hash
        )
        return sigv4.signature(self.key, to_sign)


@attrs.frozen
class Data:
    """Decoded (and, for a signed stream, verified) payload bytes."""

    data: bytes


@attrs.frozen
class EndOfMessage:
    """The body ended well: every check passed. ``trailers`` are lower-case names."""

    trailers: tuple[tuple[str, str], ...] = ()


class _NeedData:
    """The decoder needs more bytes (or end of stream) before the next event."""

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = _NeedData()
Event = Data | EndOfMessage | _NeedData


class _State(enum.Enum):
    HEADER = "chunk header line"
    DATA = "chunk data"
    DATA_END = "CRLF after chunk data"
    TRAILER = "trailer section"
    DONE = "end of body"


class ChunkedDecoder:
    """An incremental aws-chunked decoder (sans-I/O, in h11's shape).

    Args:
        signer: for ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``: verify each
            chunk signature (and the trailer signature); ``None`` for unsigned
            chunks (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``).
        trailer: whether the mode carries trailing headers (``...-TRAILER``).
        trailer_names: the lower-case names ``x-amz-trailer`` announced.
        decoded_length: ``x-amz-decoded-content-length``, when given.
        min_chunk_size: the smallest size of a data chunk that is not the last.
        max_chunk_size: the largest signed chunk accepted.

    ``next_event`` raises (at the point of detection, never after end of stream):
        SignatureDoesNotMatch: a chunk or trailer signature is wrong.
        IncompleteBody: malformed framing, a truncated body, or a decoded length
            other than ``x-amz-decoded-content-length``.
        InvalidChunkSizeError: a data chunk under ``min_chunk_size`` not last.
        InvalidRequest: a signed chunk over ``max_chunk_size``.
        MalformedTrailerError: unreadable, undeclared, repeated or missing trailers.
    """

    def __init__(
        self,
        *,
        signer: ChunkSigner | None = None,
        trailer: bool = False,
        trailer_names: frozenset[str] = frozenset(),
        decoded_length: int | None = None,
        min_chunk_size: int = MIN_CHUNK_SIZE,
        max_chunk_size: int = MAX_CHUNK_SIZE,
    ) -> None:
        self._signer = signer
        self._trailer = trailer
        self._trailer_names = trailer_names
        self._decoded_length = decoded_length
        self._min = min_chunk_size
        self._max = max_chunk_size
        self._buf = bytearray()
        self._eof = False
        self._state = _State.HEADER
        self._previous = signer.seed_signature if signer is not None else ""
        self._decoded = 0
        self._short_seen = False
        self._remaining = 0
        self._chunk_signature = ""
        self._chunk_hash = hashlib.sha256()
        self._held: list[bytes] = []
        self._trailers: dict[str, str] = {}
        self._trailer_hash = hashlib.sha256()
        self._trailer_bytes = 0
        self._trailer_signature: str | None = None
        self._handlers: dict[_State, Callable[[], Event | None]] = {
            _State.HEADER: self._on_header,
            _State.DATA: self._on_data,
            _State.DATA_END: self._on_data_end,
            _State.TRAILER: self._on_trailer,
            _State.DONE: self._on_done,
        }

    def receive_data(self, data: bytes) -> None:
        """Hand over the next bytes of the body; ``b""`` means end of stream."""
        if not data:
            self._eof = True
        else:
            self._buf += data

    def next_event(self) -> Event:
        """The next event; ``NEED_DATA`` until more bytes (or the end) arrive."""
        while True:
            event = self._handlers[self._state]()
            if event is not None:
                return event

    def _need(self) -> Event:
        if self._eof:
            # "...a truncated or malformed stream is an error": the body ended
            # before the framing it announced did.
            raise _framing(f"the body ended inside the {self._state.value}")
        return NEED_DATA

    def _take_line(self) -> bytes | None:
        """One CRLF-terminated line without its CRLF, or None if incomplete."""
        end = self._buf.find(_CRLF, 0, _MAX_LINE + 2)
        if end < 0:
            if len(self._buf) > _MAX_LINE:
                raise _framing(f"a line in the {self._state.value} is too long")
            return None
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    def _on_header(self) -> Event | None:
        line = self._take_line()
        if line is None:
            return self._need()
        pattern = _UNSIGNED_HEADER if self._signer is None else _SIGNED_HEADER
        match = pattern.fullmatch(line)
        if match is None:
            raise _framing("malformed chunk header")
        size = int(match[1], 16)
        if size and self._short_seen:
            raise errors.InvalidChunkSizeError()
        self._short_seen = 0 < size < self._min
        if self._signer is not None:
            if size > self._max:
                raise errors.InvalidRequest(
                    f"aws-chunked chunks over {self._max} bytes are not accepted"
                )
            self._chunk_signature = match[2].decode("ascii")
            self._chunk_hash = hashlib.sha256()
        self._decoded += size
        if self._decoded_length is not None and self._decoded > self._decoded_length:
            raise _length_mismatch()
        self._remaining = size
        if size:
            self._state = _State.DATA
            return None
        # The zero-length chunk ends the data; it is signed like any other.
        self._verify_chunk()
        if self._decoded_length is not None and self._decoded != self._decoded_length:
            raise _length_mismatch()
        self._state = _State.TRAILER
        return None

    def _on_data(self) -> Event | None:
        if not self._buf:
            return self._need()
        take = min(self._remaining, len(self._buf))
        piece = bytes(self._buf[:take])
        del self._buf[:take]
        self._remaining -= take
        if self._remaining == 0:
            self._state = _State.DATA_END
        if self._signer is None:
            return Data(piece)
        # A signed chunk is released only once its signature has been verified.
        self._chunk_hash.update(piece)
        self._held.append(piece)
        if self._remaining:
            return None
        self._verify_chunk()
        data = b"".join(self._held)
        self._held = []
        return Data(data)

    def _verify_chunk(self) -> None:
        signer = self._signer
        if signer is None:
            return
        expected = signer.chunk_signature(self._previous, self._chunk_hash.hexdigest())
        if not hmac.compare_digest(expected, self._chunk_signature):
            raise _signature_mismatch()
        self._previous = expected

    def _on_data_end(self) -> Event | None:
        if not _CRLF.startswith(self._buf[:2]):
            raise _framing("chunk data is longer than its size")
        if len(self._buf) < 2:
            return self._need()
            raise _framing("chunk data is longer than its size")
        del self._buf[:2]
        self._state = _State.HEADER
        return None

    def _on_trailer(self) -> Event | None:
        line = self._take_line()
        if line is None:
            return self._need()
        if line:
            if not self._trailer:
                # Without a trailer the zero-length chunk is followed by CRLF only.
                raise _framing("data after the final chunk")
            self._trailer_line(line)
            return None
        self._finish_trailers()
        self._state = _State.DONE
        return self._on_done()

    def _trailer_line(self, line: bytes) -> None:
        self._trailer_bytes += len(line) + 2
        if self._trailer_bytes > _MAX_TRAILER_BYTES:
            raise _bad_trailer("the trailer section is too long")
        raw_name, colon, raw_value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(raw_name):
            raise _bad_trailer("a trailer line is not name:value")
        try:
            value = raw_value.strip(b" \t").decode("ascii")
        except UnicodeDecodeError:
            raise _bad_trailer("a trailer value is not ASCII") from None
        name_as_sent = raw_name.decode("ascii")
        name = name_as_sent.lower()
        if self._trailer_signature is not None:
            raise _bad_trailer("trailers after x-amz-trailer-signature")
        if name == TRAILER_SIGNATURE:
            if self._signer is None:
                raise _bad_trailer("a trailer signature in an unsigned body")
            if not _SIGNATURE.fullmatch(value):
                raise _signature_mismatch()
            self._trailer_signature = value
            return
        if name not in self._trailer_names:
            raise _bad_trailer(f"{name} was not announced in x-amz-trailer")
        if name in self._trailers:
            raise _bad_trailer(f"{name} was sent twice")
        self._trailers[name] = value
        # The trailing headers signed are "name:value\n" lines, as sent.
        self._trailer_hash.update(f"{name_as_sent}:{value}\n".encode("ascii"))

    def _finish_trailers(self) -> None:
        missing = self._trailer_names - self._trailers.keys()
        if missing:
            raise _bad_trailer(f"{min(missing)} was announced but not sent")
        signer = self._signer
        if signer is None or not self._trailer:
            return
        if self._trailer_signature is None:
            raise _bad_trailer("x-amz-trailer-signature is missing")
        expected = signer.trailer_signature(
            self._previous, self._trailer_hash.hexdigest()
        )
        if not hmac.compare_digest(expected, self._trailer_signature):
            raise _signature_mismatch()

    def _on_done(self) -> Event | None:
        if self._buf:
            raise _framing("data after the end of the aws-chunked body")
        return EndOfMessage(tuple(self._trailers.items()))


def _signature_mismatch() -> errors.S3Error:
    # A chunk whose signature does not chain from the seed is refused like a bad
    # request signature: 403 SignatureDoesNotMatch.
    return errors.SignatureDoesNotMatch()


def _length_mismatch() -> errors.S3Error:
    return errors.IncompleteBody(
        "The decoded body length differs from x-amz-decoded-content-length"
    )


@runtime_checkable
class TrailerSource(Protocol):
    """A body that ends with trailing headers (lower-case name -> value)."""

    @property
    def trailers(self) -> Mapping[str, str]: ...


class ChunkedReader:
    """A ``Readable`` of the decoded bytes of an aws-chunked ``inner`` stream.

    Every check of the decoder runs before ``read`` returns ``b""``; once it has,
    ``trailers`` holds the trailing headers (lower-case names).

    Args:
        inner: the encoded body.
        decoder: the decoder configured for the request's mode.
        read_size: how many encoded bytes to ask ``inner`` for at a time.
    """

    def __init__(
        self, inner: Readable, decoder: ChunkedDecoder, *, read_size: int = 1 << 20
    ) -> None:
        self._inner = inner
        self._decoder = decoder
        self._read_size = read_size
        self._pending = memoryview(b"")
        self._ended = False
        self._trailers: dict[str, str] = {}

    @property
    def trailers(self) -> Mapping[str, str]:
        """The trailing headers; empty until the end of the body has been read."""
        return self._trailers

    def read(self, n: int = -1, /) -> bytes:
        if n is None or n < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        while not self._pending and not self._ended:
            self._pending = memoryview(self._next_data())
        out = bytes(self._pending[:n])
        self._pending = self._pending[len(out) :]
        return out

    def _next_data(self) -> bytes:
        while True:
            event = self._decoder.next_event()
            if isinstance(event, Data):
                return event.data
            if isinstance(event, EndOfMessage):
                # Bytes past the terminator inside the declared Content-Length are
                # not aws-chunked either.
                self._decoder.receive_data(self._inner.read(1))
                self._decoder.next_event()
                self._trailers = dict(event.trailers)
                self._ended = True
                return b""
            self._decoder.receive_data(self._inner.read(self._read_size))
