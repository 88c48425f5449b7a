"""An independent aws-chunked encoder and Hypothesis strategies for chunked bodies.

The encoder is written from the AWS docs ("Transferring Payload in Multiple Chunks"
and "Including Trailing Headers"), with its own HMAC arithmetic, so the decoder under
test is checked against the spec rather than against its own helpers. It also says
which bytes are case-insensitive (hex letters of chunk sizes and of the trailer
signature's name), the one kind of byte change that leaves a stream meaning the same.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib

import attrs
from hypothesis import strategies as st

__all__ = [
    "AMZ_DATE",
    "MODES",
    "SCOPE",
    "SECRET",
    "SEED",
    "Encoded",
    "crc32",
    "encode",
    "encoded_streams",
    "signing_key",
    "splits",
]

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AMZ_DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
MODES = (
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
)
_EMPTY = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def signing_key(secret: str = SECRET, scope: str = SCOPE) -> bytes:
    """kSigning = HMAC chain over the scope's date, region, service, terminator."""
    key = f"AWS4{secret}".encode()
    for part in scope.split("/"):
        key = _hmac(key, part.encode())
    return key


@attrs.frozen
class Encoded:
    """An encoded body and what went into it."""

    wire: bytes
    payload: bytes
    mode: str
    trailers: tuple[tuple[str, str], ...]
    case_insensitive: frozenset[int]

    @property
    def signed(self) -> bool:
        """Whether chunks carry signatures."""
        return "HMAC" in self.mode

    @property
    def trailer_names(self) -> frozenset[str]:
        """The names x-amz-trailer announces."""
        return frozenset(name for name, _ in self.trailers)


def encode(
    payload: bytes,
    sizes: list[int],
    mode: str,
    *,
    trailers: tuple[tuple[str, str], ...] = (),
    key: bytes | None = None,
    seed: str = SEED,
    amz_date: str = AMZ_DATE,
    scope: str = SCOPE,
) -> Encoded:
    """Frame ``payload`` as aws-chunked, in chunks of ``sizes`` (the rest last).

    Signed chunk: ``hex(size);chunk-signature=sig CRLF data CRLF``, the signature
    HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\\n" date "\\n" scope "\\n" previous "\\n"
    sha256("") "\\n" sha256(data)), chained from ``seed``; the last chunk is empty.
    Trailer modes follow it with ``name:value CRLF`` lines (signed: then
    ``x-amz-trailer-signature:sig CRLF``, HMAC of "AWS4-HMAC-SHA256-TRAILER\\n" date
    "\\n" scope "\\n" previous "\\n" sha256 of the "name:value\\n" lines) and CRLF.
    """
    key = key if key is not None else signing_key(scope=scope)
    signed = "HMAC" in mode
    pieces: list[bytes] = []
    offset = 0
    for size in sizes:
        if size and offset + size <= len(payload):
            pieces.append(payload[offset : offset + size])
            offset += size
    if offset < len(payload):
        pieces.append(payload[offset:])
    pieces.append(b"")
    out = bytearray()
    insensitive: set[int] = set()
    previous = seed
    for data in pieces:
        size_hex = format(len(data), "x").encode()
        insensitive.update(
            len(out) + i for i, c in enumerate(size_hex) if chr(c) in "abcdef"
        )
        out += size_hex
        if signed:
            to_sign = "\n".join(
                (
                    "AWS4-HMAC-SHA256-PAYLOAD",
                    amz_date,
                    scope,
                    previous,
                    _EMPTY,
                    hashlib.sha256(data).hexdigest(),
                )
            )
            previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            out += b";chunk-signature=" + previous.encode()
        out += b"\r\n"
        if data:
            out += data + b"\r\n"
    if mode.endswith("-TRAILER"):
        lines = b"".join(f"{n}:{v}\n".encode() for n, v in trailers)
        for name, value in trailers:
            if not signed:
                # Unsigned, a trailer name is compared ignoring case, as HTTP does.
                insensitive.update(
                    len(out) + i for i, c in enumerate(name) if c.isalpha()
                )
            out += f"{name}:{value}\r\n".encode()
        if signed:
            to_sign = "\n".join(
                (
                    "AWS4-HMAC-SHA256-TRAILER",
                    amz_date,
                    scope,
                    previous,
                    hashlib.sha256(lines).hexdigest(),
                )
            )
            trailer_sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            name = b"x-amz-trailer-signature"
            insensitive.update(
                len(out) + i for i, c in enumerate(name) if chr(c).isalpha()
            )
            out += name + b":" + trailer_sig.encode() + b"\r\n"
    out += b"\r\n"
    return Encoded(
        wire=bytes(out),
        payload=payload,
        mode=mode,
        trailers=trailers if mode.endswith("-TRAILER") else (),
        case_insensitive=frozenset(insensitive),
    )


def crc32(data: bytes) -> str:
    """The base64 CRC32 of ``data``, as x-amz-checksum-crc32 carries it."""
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@st.composite
def encoded_streams(
    draw: st.DrawFn, *, modes: tuple[str, ...] = MODES, max_size: int = 2000
) -> Encoded:
    """Any payload, cut into arbitrary chunk sizes, framed in any streaming mode."""
    payload = draw(st.binary(max_size=max_size))
    sizes = draw(st.lists(st.integers(1, max(1, len(payload))), max_size=8))
    mode = draw(st.sampled_from(modes))
    with_trailer = draw(st.booleans())
    trailers = (("x-amz-checksum-crc32", crc32(payload)),) if with_trailer else ()
    return encode(payload, sizes, mode, trailers=trailers)


@st.composite
def splits(draw: st.DrawFn, total: int) -> list[int]:
    """Sizes of successive reads over ``total`` bytes: 1 at a time, or random cuts.

    Random cuts cover the first bytes; whatever they leave comes in one piece.
    """
    if draw(st.booleans()):
        return [1] * total
    return draw(st.lists(st.integers(1, max(1, min(total, 400))), max_size=24))
