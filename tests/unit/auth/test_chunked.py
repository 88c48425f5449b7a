"""The aws-chunked decoder gives back exactly what an independent encoder framed,
refuses every damaged or truncated stream, and never stores a bad upload."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from s3core import errors
from s3core.auth import sigv4
from s3core.auth.chunked import (
    NEED_DATA,
    ChunkedDecoder,
    ChunkedReader,
    ChunkSigner,
    Data,
    EndOfMessage,
)
from s3core.backends.memory import MemoryBackend
from s3core.http import Headers, Request
from s3core.service import S3Service
from s3server.server import make_user
from tests.strategies import chunked as sc
from tests.unit.signing import signed

ALICE = make_user("ALICE", "alice-secret", display_name="alice")
DOC_SEED = sc.SEED
DOC_CHUNK_SIGNATURES = (
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)


def _decoder(encoded: sc.Encoded, **overrides: object) -> ChunkedDecoder:
    signer = (
        ChunkSigner(
            key=sc.signing_key(),
            amz_date=sc.AMZ_DATE,
            scope=sc.SCOPE,
            seed_signature=sc.SEED,
        )
        if encoded.signed
        else None
    )
    kwargs: dict[str, object] = {
        "signer": signer,
        "trailer": encoded.mode.endswith("-TRAILER"),
        "trailer_names": encoded.trailer_names,
        "decoded_length": len(encoded.payload),
        "min_chunk_size": 1,
        **overrides,
    }
    return ChunkedDecoder(**kwargs)  # type: ignore[arg-type]


def _decode(
    decoder: ChunkedDecoder, wire: bytes, steps: list[int] | None = None
) -> tuple[bytes, dict[str, str]]:
    """Feed ``wire`` in pieces of ``steps`` then end of stream; collect the events."""
    out = bytearray()
    pieces = _pieces(wire, steps or [len(wire) or 1])
    while True:
        event = decoder.next_event()
        if isinstance(event, Data):
            out += event.data
        elif isinstance(event, EndOfMessage):
            return bytes(out), dict(event.trailers)
        else:
            decoder.receive_data(next(pieces, b""))


def _pieces(wire: bytes, steps: list[int]) -> Iterator[bytes]:
    offset = 0
    for step in steps:
        if offset >= len(wire):
            break
        yield wire[offset : offset + step]
        offset += step
    if offset < len(wire):
        yield wire[offset:]


class _Pieces:
    """An inner stream that answers each read with the next piece (at most n)."""

    def __init__(self, wire: bytes, steps: list[int]) -> None:
        self._wire = wire
        self._steps = list(steps)
        self._offset = 0

    def read(self, n: int = -1, /) -> bytes:
        step = self._steps.pop(0) if self._steps else len(self._wire)
        step = min(step, n) if n >= 0 else step
        out = self._wire[self._offset : self._offset + step]
        self._offset += len(out)
        return out


@given(data=st.data(), encoded=sc.encoded_streams())
def test_round_trip_for_any_payload_chunking_and_feed(
    data: st.DataObject, encoded: sc.Encoded
) -> None:
    """Whatever the chunk sizes and however the bytes arrive, the payload comes back."""
    steps = data.draw(sc.splits(len(encoded.wire)))
    payload, trailers = _decode(_decoder(encoded), encoded.wire, steps)
    assert payload == encoded.payload
    assert trailers == dict(encoded.trailers)


@given(data=st.data(), encoded=sc.encoded_streams())
def test_reader_round_trip_with_any_read_sizes(
    data: st.DataObject, encoded: sc.Encoded
) -> None:
    """ChunkedReader hands back the payload for any inner splits and read sizes."""
    steps = data.draw(sc.splits(len(encoded.wire)))
    reader = ChunkedReader(_Pieces(encoded.wire, steps), _decoder(encoded))
    out = bytearray()
    while chunk := reader.read(data.draw(st.integers(1, 700))):
        out += chunk
    assert bytes(out) == encoded.payload
    assert dict(reader.trailers) == dict(encoded.trailers)
    assert reader.read(10) == b""


@given(
    data=st.data(),
    encoded=sc.encoded_streams(modes=sc.MODES[:2], max_size=300),
)
def test_any_flipped_byte_of_a_signed_stream_is_refused(
    data: st.DataObject, encoded: sc.Encoded
) -> None:
    """A changed byte in framing, data, a signature or a trailer is an S3 error."""
    wire = encoded.wire
    index = data.draw(st.sampled_from(range(len(wire))))
    # Half the time a hex digit, so a changed signature often still parses as one.
    new = data.draw(
        st.one_of(st.sampled_from(b"0123456789abcdef"), st.integers(0, 255)).filter(
            lambda b: b != wire[index]
        )
    )
    # Hex digits of a chunk size and the trailer signature's name ignore case
    # (RFC 9112 7.1, RFC 9110 5.1): that one change keeps the stream's meaning.
    assume(
        not (
            index in encoded.case_insensitive
            and chr(new).lower() == chr(wire[index]).lower()
        )
    )
    damaged = wire[:index] + bytes([new]) + wire[index + 1 :]
    with pytest.raises(errors.S3Error):
        _decode(_decoder(encoded), damaged, data.draw(sc.splits(len(damaged))))


@given(data=st.data(), encoded=sc.encoded_streams(max_size=300))
def test_truncation_at_any_point_is_refused(
    data: st.DataObject, encoded: sc.Encoded
) -> None:
    """A body cut short anywhere is IncompleteBody, also without a declared length."""
    cut = data.draw(st.integers(0, len(encoded.wire) - 1))
    decoder = _decoder(encoded, decoded_length=None)
    with pytest.raises(errors.IncompleteBody):
        _decode(decoder, encoded.wire[:cut])


def _doc_wire() -> bytes:
    """The AWS docs' example body: 65536 + 1024 bytes of 'a', signatures as printed."""
    sizes = (65536, 1024, 0)
    out = b""
    for size, signature in zip(sizes, DOC_CHUNK_SIGNATURES, strict=True):
        out += f"{size:x};chunk-signature={signature}\r\n".encode()
        out += b"a" * size + b"\r\n"
    return out


def test_aws_documented_example_decodes() -> None:
    """The published 66560-byte example (Content-Length 66824) decodes and verifies."""
    wire = _doc_wire()
    assert len(wire) == 66824
    signer = ChunkSigner(
        key=sigv4.signing_key(sc.SECRET, "20130524", "us-east-1"),
        amz_date=sc.AMZ_DATE,
        scope=sc.SCOPE,
        seed_signature=DOC_SEED,
    )
    decoder = ChunkedDecoder(signer=signer, decoded_length=66560)
    assert _decode(decoder, wire, [1000] * 67) == (b"a" * 66560, {})


def test_aws_documented_request_is_stored_end_to_end() -> None:
    """The docs' whole signed request, as printed, is accepted and stores 66560 'a's."""
    user = make_user("AKIAIOSFODNN7EXAMPLE", sc.SECRET)
    service = S3Service(MemoryBackend(), [user], clock=lambda: DOC_TIME)
    create = signed(user, "PUT", "/examplebucket", now=DOC_TIME)
    assert service.handle(create).status == 200
    headers = (
        ("Host", "s3.amazonaws.com"),
        ("x-amz-date", sc.AMZ_DATE),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("Authorization", _DOC_AUTHORIZATION),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        ("Content-Length", "66824"),
    )
    request = Request(
        method="PUT",
        path="/examplebucket/chunkObject.txt",
        headers=Headers.of(headers),
        body=io.BytesIO(_doc_wire()),
    )
    response = service.handle(request)
    assert response.status == 200, b"".join(response.body)
    get = signed(user, "GET", "/examplebucket/chunkObject.txt", now=DOC_TIME)
    got = service.handle(get)
    assert b"".join(got.body) == b"a" * 66560
    assert got.header("Content-Encoding") is None  # aws-chunked is not stored


_DOC_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
    "aws4_request,SignedHeaders=content-encoding;content-length;host;"
    "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
    f"x-amz-storage-class,Signature={DOC_SEED}"
)


DOC_TIME = dt.datetime(2013, 5, 24, tzinfo=dt.timezone.utc)

SIGNED = sc.MODES[0]
SIGNED_TRAILER = sc.MODES[1]
UNSIGNED_TRAILER = sc.MODES[2]
UNSIGNED = "UNSIGNED-PAYLOAD"
CRC = ("x-amz-checksum-crc32", "AAAAAA==")


def _refused(
    encoded: sc.Encoded, wire: bytes | None = None, **overrides: object
) -> errors.S3Error:
    with pytest.raises(errors.S3Error) as info:
        _decode(_decoder(encoded, **overrides), encoded.wire if wire is None else wire)
    return info.value


def test_wrong_chunk_signature_is_signature_does_not_match() -> None:
    """A chunk signed with another key is 403 SignatureDoesNotMatch."""
    other = sc.encode(b"x" * 100, [], SIGNED, key=sc.signing_key("other"))
    err = _refused(attrs.evolve(other, wire=other.wire))
    assert (err.code, err.status) == ("SignatureDoesNotMatch", 403)


def test_reordered_chunks_break_the_chain() -> None:
    """Chunks swapped in order fail: each signature chains from the previous one."""
    encoded = sc.encode(b"a" * 10 + b"b" * 10, [10], SIGNED)
    # header 1, data 1, header 2, data 2, the final header, then the blank line.
    lines = encoded.wire.split(b"\r\n")
    swapped = b"\r\n".join([*lines[2:4], *lines[0:2], *lines[4:]])
    err = _refused(encoded, swapped)
    assert err.code == "SignatureDoesNotMatch"


def test_signed_chunk_is_released_only_once_verified() -> None:
    """No byte of a signed chunk comes out before its last byte has been checked."""
    encoded = sc.encode(b"z" * 5000, [], SIGNED)
    decoder = _decoder(encoded)
    decoder.receive_data(encoded.wire[: encoded.wire.index(b"z") + 4999])
    assert decoder.next_event() is NEED_DATA
    decoder.receive_data(encoded.wire[encoded.wire.index(b"z") + 4999 :])
    assert decoder.next_event() == Data(b"z" * 5000)


def test_unsigned_chunk_passes_through_as_it_arrives() -> None:
    """An unsigned chunk's bytes are handed on before the chunk is complete."""
    encoded = sc.encode(b"u" * 5000, [], UNSIGNED_TRAILER)
    decoder = _decoder(encoded)
    head = encoded.wire.index(b"u")
    decoder.receive_data(encoded.wire[: head + 10])
    assert decoder.next_event() == Data(b"u" * 10)
    assert decoder.next_event() is NEED_DATA


@pytest.mark.parametrize("declared", [99, 101, 0])
def test_decoded_length_mismatch_is_incomplete_body(declared: int) -> None:
    """x-amz-decoded-content-length must equal the decoded total, or IncompleteBody."""
    encoded = sc.encode(b"d" * 100, [40], SIGNED)
    err = _refused(encoded, decoded_length=declared)
    assert (err.code, err.status) == ("IncompleteBody", 400)


def test_short_chunk_before_the_last_is_invalid_chunk_size() -> None:
    """Only the last data chunk may be under 8192 bytes (InvalidChunkSizeError)."""
    encoded = sc.encode(b"s" * 9000, [8191], SIGNED)
    err = _refused(encoded, min_chunk_size=8192)
    assert (err.code, err.status) == ("InvalidChunkSizeError", 400)
    fine = sc.encode(b"s" * 9000, [8192], SIGNED)
    assert _decode(_decoder(fine, min_chunk_size=8192), fine.wire)[0] == fine.payload


def test_signed_chunk_over_the_cap_is_refused_before_its_data() -> None:
    """A signed chunk over max_chunk_size is InvalidRequest when its header arrives."""
    encoded = sc.encode(b"b" * 2000, [], SIGNED)
    decoder = _decoder(encoded, max_chunk_size=1999)
    decoder.receive_data(encoded.wire[: encoded.wire.index(b"\r\n") + 2])
    with pytest.raises(errors.InvalidRequest):
        decoder.next_event()


@pytest.mark.parametrize(
    ("mode", "names", "trailers", "code"),
    [
        (UNSIGNED_TRAILER, frozenset(), (CRC,), "MalformedTrailerError"),
        (UNSIGNED_TRAILER, frozenset({CRC[0]}), (), "MalformedTrailerError"),
        (UNSIGNED_TRAILER, frozenset({CRC[0]}), (CRC, CRC), "MalformedTrailerError"),
        (SIGNED_TRAILER, frozenset({CRC[0]}), (CRC, CRC), "MalformedTrailerError"),
        (
            UNSIGNED_TRAILER,
            frozenset({"x-amz-trailer-signature"}),
            (("x-amz-trailer-signature", "0" * 64),),
            "MalformedTrailerError",
        ),
    ],
)
def test_trailer_section_errors(
    mode: str,
    names: frozenset[str],
    trailers: tuple[tuple[str, str], ...],
    code: str,
) -> None:
    """Undeclared, missing or repeated trailers are MalformedTrailerError."""
    encoded = sc.encode(b"t" * 50, [], mode, trailers=trailers)
    err = _refused(encoded, trailer_names=names)
    assert (err.code, err.status) == (code, 400)


@pytest.mark.parametrize(
    "line", [b"no colon here", b"bad name:v", b"x-amz-checksum-crc32:\xff"]
)
def test_unreadable_trailer_line_is_malformed_trailer(line: bytes) -> None:
    """A trailer line that is not ASCII name:value is MalformedTrailerError."""
    encoded = sc.encode(b"q" * 10, [], UNSIGNED_TRAILER)
    wire = encoded.wire[:-2] + line + b"\r\n\r\n"
    err = _refused(encoded, wire, trailer_names=frozenset({CRC[0]}))
    assert err.code == "MalformedTrailerError"


def test_signed_trailer_without_its_signature_is_refused() -> None:
    """STREAMING-...-PAYLOAD-TRAILER needs x-amz-trailer-signature."""
    encoded = sc.encode(b"w" * 10, [], SIGNED_TRAILER, trailers=(CRC,))
    wire = encoded.wire[: encoded.wire.index(b"x-amz-trailer-signature")] + b"\r\n"
    assert _refused(encoded, wire).code == "MalformedTrailerError"


def test_wrong_trailer_signature_is_signature_does_not_match() -> None:
    """A trailer value changed after signing fails the trailer signature."""
    encoded = sc.encode(b"w" * 10, [], SIGNED_TRAILER, trailers=(CRC,))
    wire = encoded.wire.replace(b"AAAAAA==", b"AAAAAQ==")
    err = _refused(encoded, wire)
    assert (err.code, err.status) == ("SignatureDoesNotMatch", 403)


def test_trailers_after_the_trailer_signature_are_refused() -> None:
    """Nothing may follow x-amz-trailer-signature but the blank line."""
    encoded = sc.encode(b"w" * 10, [], SIGNED_TRAILER, trailers=(CRC,))
    wire = encoded.wire[:-2] + b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    assert _refused(encoded, wire).code == "MalformedTrailerError"


@pytest.mark.parametrize(
    ("mode", "wire"),
    [
        (UNSIGNED_TRAILER, b"5;ext=1\r\nhello\r\n0\r\n\r\n"),  # no extensions
        (UNSIGNED_TRAILER, b"5\r\nhello!\r\n0\r\n\r\n"),  # data longer than size
        (UNSIGNED_TRAILER, b"5\nhello\r\n0\r\n\r\n"),  # bare LF
        (UNSIGNED_TRAILER, b"g\r\n"),  # not hex
        (UNSIGNED_TRAILER, b"0\r\n\r\nextra"),  # bytes past the end
        (UNSIGNED_TRAILER, b"1" * 5000),  # a header line without end
        (SIGNED, b"5\r\nhello\r\n0\r\n\r\n"),  # signed mode without signatures
    ],
)
def test_malformed_framing_is_incomplete_body(mode: str, wire: bytes) -> None:
    """Framing that is not aws-chunked is IncompleteBody (400)."""
    encoded = sc.encode(b"hello", [], mode)
    err = _refused(encoded, wire, trailer_names=frozenset(), decoded_length=None)
    assert (err.code, err.status) == ("IncompleteBody", 400)


def test_trailer_lines_in_a_mode_without_trailer_are_refused() -> None:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD ends with CRLF right after the 0 chunk."""
    encoded = sc.encode(b"n" * 10, [], SIGNED)
    wire = encoded.wire[:-2] + b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    assert _refused(encoded, wire).code == "IncompleteBody"


def test_reader_refuses_bytes_after_the_end_within_content_length() -> None:
    """ChunkedReader reports trailing garbage before it reports end of body."""
    encoded = sc.encode(b"r" * 10, [], UNSIGNED_TRAILER)
    reader = ChunkedReader(io.BytesIO(encoded.wire + b"junk"), _decoder(encoded))
    assert reader.read(100) == b"r" * 10
    with pytest.raises(errors.IncompleteBody):
        reader.read(100)


def test_reader_read_all() -> None:
    """read() with no size returns the whole decoded body."""
    encoded = sc.encode(b"0123456789" * 50, [7, 100], UNSIGNED_TRAILER)
    reader = ChunkedReader(io.BytesIO(encoded.wire), _decoder(encoded), read_size=64)
    assert reader.read() == encoded.payload
