"""aws-chunked uploads over real HTTP(S): boto3 through TLS, and hand-signed streams.

Over HTTPS botocore sends PutObject as ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` with a
CRC32 trailer, so boto3 talks to the server through ``TLSProxy``. The signed modes
(``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``), which botocore does not send, are
built by hand: signed with ``s3core.auth.sigv4`` (oracle-tested against botocore)
and framed by the independent encoder of ``tests.strategies.chunked``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import socket
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from s3core.auth import sigv4
from s3core.http import Headers
from s3server.server import ServerThread
from tests.integration.tls_proxy import TLSProxy
from tests.strategies import chunked as sc

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
CRC32 = "x-amz-checksum-crc32"


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.fixture
def proxy(server: ServerThread, tmp_path: Path) -> Iterator[TLSProxy]:
    """HTTPS in front of the server, with a CA the clients trust."""
    with TLSProxy(server.host, server.port, tmp_path) as tls:
        yield tls


def _https_client(server: ServerThread, proxy: TLSProxy, **config: Any) -> Any:
    """boto3 with default settings, but HTTPS through the proxy and no retries."""
    return server.client(
        endpoint_url=proxy.url,
        verify=str(proxy.ca_file),
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            **config,
        ),
    )


def _sent_headers(client: Any) -> list[dict[str, str]]:
    """The headers of every PutObject the client sends (observed, not changed)."""
    seen: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        seen.append({k.lower(): _text(v) for k, v in request.headers.items()})

    client.meta.events.register("before-send.s3.PutObject", record)
    return seen


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


@pytest.mark.parametrize("size", [0, 5, 3 * 1024 * 1024 + 7])
def test_boto3_over_https_streams_with_a_crc32_trailer(
    server: ServerThread, proxy: TLSProxy, bucket: str, size: int
) -> None:
    """Default boto3 over HTTPS: aws-chunked + CRC32 trailer, stored and echoed."""
    client = _https_client(server, proxy)
    sent = _sent_headers(client)
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    put = client.put_object(Bucket=bucket, Key="streamed", Body=body)
    assert sent[0]["x-amz-content-sha256"] == UNSIGNED_TRAILER
    assert sent[0]["x-amz-trailer"] == CRC32
    assert put["ChecksumCRC32"] == _crc32(body)
    got = client.get_object(Bucket=bucket, Key="streamed", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got["ChecksumCRC32"] == _crc32(body)
    assert got.get("ContentEncoding") is None  # aws-chunked is not stored
    head = client.head_object(Bucket=bucket, Key="streamed", ChecksumMode="ENABLED")
    assert head["ContentLength"] == size
    assert head["ChecksumCRC32"] == _crc32(body)


def test_boto3_https_keeps_a_content_encoding_of_its_own(
    server: ServerThread, proxy: TLSProxy, bucket: str
) -> None:
    """ContentEncoding=gzip plus aws-chunked on the wire: gzip alone is stored."""
    client = _https_client(server, proxy)
    client.put_object(Bucket=bucket, Key="gz", Body=b"zz" * 100, ContentEncoding="gzip")
    assert client.head_object(Bucket=bucket, Key="gz")["ContentEncoding"] == "gzip"


def test_boto3_https_when_required_sends_no_stream(
    server: ServerThread, proxy: TLSProxy, bucket: str
) -> None:
    """request_checksum_calculation=when_required: a plain body that round-trips."""
    client = _https_client(server, proxy, request_checksum_calculation="when_required")
    sent = _sent_headers(client)
    body = b"when required" * 1000
    client.put_object(Bucket=bucket, Key="plain", Body=body)
    mode = sent[0]["x-amz-content-sha256"]
    assert not mode.startswith("STREAMING-")
    assert mode == "UNSIGNED-PAYLOAD" or len(mode) == 64
    got = client.get_object(Bucket=bucket, Key="plain", ChecksumMode="ENABLED")
    assert got["Body"].read() == body


def test_boto3_https_checksum_algorithm_sha256_trailer(
    server: ServerThread, proxy: TLSProxy, bucket: str
) -> None:
    """ChecksumAlgorithm=SHA256 over HTTPS: a SHA256 trailer, kept and returned."""
    client = _https_client(server, proxy)
    body = b"sha" * 5000
    client.put_object(Bucket=bucket, Key="s", Body=body, ChecksumAlgorithm="SHA256")
    got = client.get_object(Bucket=bucket, Key="s", ChecksumMode="ENABLED")
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert got["ChecksumSHA256"] == digest


# Hand-built streams over plain HTTP -------------------------------------------------


def _signed_stream(
    server: ServerThread,
    path: str,
    payload: bytes,
    mode: str,
    *,
    sizes: list[int] | None = None,
    trailers: tuple[tuple[str, str], ...] = (),
    damage: Callable[[bytes], bytes] | None = None,
    declared: int | None = None,
) -> tuple[dict[str, str], bytes]:
    """The headers and body of an aws-chunked PUT signed by the first user.

    ``damage`` rewrites the framed body after signing; Content-Length is the
    damaged body's.
    """
    user = server.users[0]
    amz_date = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    scope = sigv4.credential_scope(amz_date[:8], server.region)
    sizes = sizes if sizes is not None else [64 * 1024]
    # Content-Length is signed, and signatures have a fixed length: a first framing
    # with a stand-in key gives the length of the real (possibly damaged) body.
    stand_in = sc.encode(payload, sizes, mode, trailers=trailers).wire
    length = len(damage(stand_in) if damage is not None else stand_in)
    decoded = len(payload) if declared is None else declared
    headers = {
        "host": f"{server.host}:{server.port}",
        "x-amz-date": amz_date,
        "x-amz-content-sha256": mode,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(decoded),
        "content-length": str(length),
    }
    if trailers:
        headers["x-amz-trailer"] = ",".join(name for name, _ in trailers)
    names = sorted(headers)
    canonical = sigv4.canonical_request(
        "PUT", path, "", Headers.of(headers), names, mode
    )
    key = sigv4.signing_key(user.secret_key, amz_date[:8], server.region)
    seed = sigv4.signature(key, sigv4.string_to_sign(amz_date, scope, canonical))
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={user.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={seed}"
    )
    wire = sc.encode(
        payload,
        sizes,
        mode,
        trailers=trailers,
        key=key,
        seed=seed,
        amz_date=amz_date,
        scope=scope,
    ).wire
    if damage is not None:
        wire = damage(wire)
    assert len(wire) == length
    return headers, wire


def _stream_put(
    server: ServerThread, path: str, payload: bytes, mode: str, **kwargs: Any
) -> tuple[int, dict[str, str], bytes]:
    """Send a signed aws-chunked PUT; its status, headers and body."""
    headers, wire = _signed_stream(server, path, payload, mode, **kwargs)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request("PUT", path, body=wire, headers=headers)
        response = conn.getresponse()
        headers_out = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers_out, response.read()
    finally:
        conn.close()


def _absent(client: Any, bucket: str, key: str) -> bool:
    return not client.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents")


def test_signed_stream_is_stored(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD in 64 KiB chunks stores the payload."""
    payload = bytes(range(256)) * 1000
    status, _, body = _stream_put(server, f"/{bucket}/signed", payload, SIGNED)
    assert status == 200, body
    assert client.get_object(Bucket=bucket, Key="signed")["Body"].read() == payload


@pytest.mark.parametrize("mode", [SIGNED_TRAILER, UNSIGNED_TRAILER])
def test_stream_with_trailer_is_stored_with_its_crc32(
    server: ServerThread, client: Any, bucket: str, mode: str
) -> None:
    """...-TRAILER modes over plain HTTP: stored, and the trailer's CRC32 is kept."""
    payload = b"trailer" * 30000
    trailers = ((CRC32, _crc32(payload)),)
    status, headers, body = _stream_put(
        server, f"/{bucket}/t", payload, mode, trailers=trailers
    )
    assert status == 200, body
    assert headers.get("x-amz-checksum-crc32") == _crc32(payload)
    got = client.get_object(Bucket=bucket, Key="t", ChecksumMode="ENABLED")
    assert got["Body"].read() == payload
    assert got["ChecksumCRC32"] == _crc32(payload)


def _corrupt_first_signature(wire: bytes) -> bytes:
    at = wire.index(b"chunk-signature=") + len("chunk-signature=")
    flipped = b"0" if wire[at : at + 1] != b"0" else b"1"
    return wire[:at] + flipped + wire[at + 1 :]


def test_corrupted_chunk_signature_is_403_and_stores_nothing(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """One changed signature digit: 403 SignatureDoesNotMatch, no object."""
    status, _, body = _stream_put(
        server,
        f"/{bucket}/bad-sig",
        b"s" * 100_000,
        SIGNED,
        damage=_corrupt_first_signature,
    )
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in body
    assert _absent(client, bucket, "bad-sig")


def test_corrupted_chunk_data_is_403_and_stores_nothing(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """A changed byte in the last chunk's data: 403, nothing stored."""

    def flip_data(wire: bytes) -> bytes:
        at = wire.rindex(b"\r\n0;chunk-signature=") - 1
        return wire[:at] + bytes([wire[at] ^ 1]) + wire[at + 1 :]

    status, _, body = _stream_put(
        server, f"/{bucket}/bad-data", b"d" * 100_000, SIGNED, damage=flip_data
    )
    assert (status, b"<Code>SignatureDoesNotMatch</Code>" in body) == (403, True)
    assert _absent(client, bucket, "bad-data")


@pytest.mark.parametrize("mode", [SIGNED_TRAILER, UNSIGNED_TRAILER])
def test_wrong_trailer_checksum_is_bad_digest_and_stores_nothing(
    server: ServerThread, client: Any, bucket: str, mode: str
) -> None:
    """A (correctly signed) CRC32 trailer that does not match: BadDigest, no object."""
    payload = b"c" * 70_000
    status, _, body = _stream_put(
        server,
        f"/{bucket}/bad-crc",
        payload,
        mode,
        trailers=((CRC32, _crc32(b"something else")),),
    )
    assert status == 400
    assert b"<Code>BadDigest</Code>" in body
    assert _absent(client, bucket, "bad-crc")


def test_truncated_stream_is_incomplete_body_and_stores_nothing(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """A stream cut before its final chunk (Content-Length says so): IncompleteBody."""
    status, _, body = _stream_put(
        server,
        f"/{bucket}/cut",
        b"t" * 100_000,
        SIGNED,
        damage=lambda wire: wire[: len(wire) // 2],
    )
    assert status == 400
    assert b"<Code>IncompleteBody</Code>" in body
    assert _absent(client, bucket, "cut")


def test_decoded_length_mismatch_is_incomplete_body(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """x-amz-decoded-content-length one byte off: IncompleteBody, nothing stored."""
    status, _, body = _stream_put(
        server, f"/{bucket}/len", b"l" * 1000, SIGNED, declared=999
    )
    assert (status, b"<Code>IncompleteBody</Code>" in body) == (400, True)
    assert _absent(client, bucket, "len")


def test_small_chunk_before_the_last_is_invalid_chunk_size(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """A 4 KiB chunk followed by more data: InvalidChunkSizeError, nothing stored."""
    status, _, body = _stream_put(
        server, f"/{bucket}/small", b"m" * 10_000, SIGNED, sizes=[4096]
    )
    assert (status, b"<Code>InvalidChunkSizeError</Code>" in body) == (400, True)
    assert _absent(client, bucket, "small")


def test_connection_dropped_midway_stores_nothing(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """A signed stream whose client hangs up halfway leaves no object behind."""
    path = f"/{bucket}/dropped"
    headers, wire = _signed_stream(server, path, b"h" * 200_000, SIGNED)
    head = f"PUT {path} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(head.encode() + b"\r\n" + wire[: len(wire) // 2])
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(65536) == b""  # no answer: the request never completed
    assert _absent(client, bucket, "dropped")
