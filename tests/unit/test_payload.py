"""Streaming payloads through S3Service: the modes, x-amz-trailer, nothing stored.

``s3core.payload`` picks the body readers for each ``x-amz-content-sha256`` mode and
``s3core.operations.ingest`` checks a trailer's checksum; these tests drive both end to
end without HTTP, with bodies framed by the independent encoder of
``tests.strategies.chunked``.
"""

from __future__ import annotations

import io

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from s3core.auth import sigv4
from s3core.backends.memory import MemoryBackend
from s3core.http import Request
from s3core.service import S3Service
from s3server.server import make_user
from tests.strategies import chunked as sc
from tests.unit.signing import NOW, signed

ALICE = make_user("ALICE", "alice-secret", display_name="alice")
SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER = sc.MODES
UNSIGNED = "UNSIGNED-PAYLOAD"


def _service() -> S3Service:
    service = S3Service(MemoryBackend(), [ALICE], clock=lambda: NOW)
    assert service.handle(signed(ALICE, "PUT", "/data")).status == 200
    return service


def _streaming_put(
    key: str, wire: bytes, mode: str, headers: dict[str, str]
) -> Request:
    request = signed(
        ALICE,
        "PUT",
        f"/data/{key}",
        headers={"content-encoding": "aws-chunked", **headers},
        declared_length=len(wire),
        payload_hash=mode,
    )
    return attrs.evolve(request, body=io.BytesIO(wire))


@given(data=st.data(), payload=st.binary(min_size=1, max_size=400))
def test_any_flipped_byte_of_an_unsigned_crc32_upload_stores_nothing(
    data: st.DataObject, payload: bytes
) -> None:
    """Unsigned chunks are guarded by the CRC32 trailer: a damaged body is refused."""
    trailer = ("x-amz-checksum-crc32", sc.crc32(payload))
    encoded = sc.encode(payload, [], UNSIGNED_TRAILER, trailers=(trailer,))
    wire = encoded.wire
    index = data.draw(st.sampled_from(range(len(wire))))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != wire[index]))
    assume(
        not (
            index in encoded.case_insensitive
            and chr(new).lower() == chr(wire[index]).lower()
        )
    )
    damaged = wire[:index] + bytes([new]) + wire[index + 1 :]
    service = _service()
    headers = {"x-amz-trailer": trailer[0]}
    response = service.handle(_streaming_put("k", damaged, UNSIGNED_TRAILER, headers))
    assert response.status in (400, 403), response.status
    assert service.handle(signed(ALICE, "HEAD", "/data/k")).status == 404
    # The undamaged body is stored, so the refusal above was the damage's doing.
    ok = service.handle(_streaming_put("k", wire, UNSIGNED_TRAILER, headers))
    assert ok.status == 200


def test_signed_streaming_put_through_the_service() -> None:
    """A signed chunked upload signed by s3core's signer stores the payload."""
    payload = b"p" * 20000
    service = _service()
    headers = {"x-amz-decoded-content-length": str(len(payload))}
    length = len(sc.encode(payload, [9000], SIGNED).wire)
    request = signed(
        ALICE,
        "PUT",
        "/data/s",
        headers={"content-encoding": "aws-chunked", **headers},
        declared_length=length,
        payload_hash=SIGNED,
    )
    seed = request.headers.get("authorization", "").rpartition("Signature=")[2]
    scope = sigv4.credential_scope(NOW.strftime("%Y%m%d"), "us-east-1")
    wire = sc.encode(
        payload,
        [9000],
        SIGNED,
        key=sc.signing_key(ALICE.secret_key, scope),
        seed=seed,
        amz_date=NOW.strftime("%Y%m%dT%H%M%SZ"),
        scope=scope,
    ).wire
    response = service.handle(attrs.evolve(request, body=io.BytesIO(wire)))
    assert response.status == 200, b"".join(response.body)
    got = service.handle(signed(ALICE, "GET", "/data/s"))
    assert b"".join(got.body) == payload


@pytest.mark.parametrize(
    ("mode", "headers", "code"),
    [
        (SIGNED, {"x-amz-trailer": "x-amz-checksum-crc32"}, "InvalidRequest"),
        (
            "UNSIGNED-PAYLOAD",
            {"x-amz-trailer": "x-amz-checksum-crc32"},
            "InvalidRequest",
        ),
        (UNSIGNED_TRAILER, {"x-amz-trailer": "x-amz-meta-colour"}, "InvalidRequest"),
        (UNSIGNED_TRAILER, {"x-amz-trailer": "x-amz-checksum-md5"}, "InvalidRequest"),
        (
            UNSIGNED_TRAILER,
            {"x-amz-trailer": "x-amz-checksum-crc32,x-amz-checksum-sha1"},
            "InvalidRequest",
        ),
        (
            UNSIGNED_TRAILER,
            {
                "x-amz-trailer": "x-amz-checksum-crc32",
                "x-amz-checksum-sha1": "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=",
            },
            "InvalidRequest",
        ),
        (UNSIGNED_TRAILER, {"x-amz-decoded-content-length": "ten"}, "InvalidArgument"),
        ("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", {}, "NotImplemented"),
    ],
)
def test_request_level_streaming_errors_store_nothing(
    mode: str, headers: dict[str, str], code: str
) -> None:
    """Bad x-amz-trailer / decoded-length / mode headers: the S3 error, nothing kept."""
    payload = b"v" * 10
    trailers = (("x-amz-checksum-crc32", sc.crc32(payload)),)
    wire = sc.encode(payload, [], UNSIGNED_TRAILER, trailers=trailers).wire
    service = _service()
    response = service.handle(_streaming_put("e", wire, mode, headers))
    body = b"".join(response.body)
    assert f"<Code>{code}</Code>".encode() in body, body
    assert response.status == (501 if code == "NotImplemented" else 400)
    assert service.handle(signed(ALICE, "HEAD", "/data/e")).status == 404
