"""S3Service end to end without HTTP: requests in, responses out."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from lxml import etree

from s3core.backends.memory import MemoryBackend
from s3core.config import ServiceConfig
from s3core.http import Request, Response
from s3core.models import BucketInfo
from s3core.service import S3Service
from s3server.server import make_user
from tests.unit.signing import NOW, signed

ALICE = make_user("ALICE", "alice-secret", display_name="alice")


def _service(backend: object | None = None, **config: object) -> S3Service:
    return S3Service(
        backend or MemoryBackend(),  # type: ignore[arg-type]
        [ALICE],
        config=ServiceConfig(**config),  # type: ignore[arg-type]
        clock=lambda: NOW,
    )


def _body(response: Response) -> bytes:
    return b"".join(response.body)


def _code(response: Response) -> str:
    return etree.fromstring(_body(response)).findtext("Code") or ""


@pytest.fixture
def service() -> S3Service:
    """A service over a memory backend with one bucket, "data", owned by alice."""
    svc = _service()
    assert svc.handle(signed(ALICE, "PUT", "/data")).status == 200
    return svc


def test_entity_too_large_before_reading(service: S3Service) -> None:
    """A declared length over the limit is EntityTooLarge without reading the body."""
    request = signed(
        ALICE,
        "PUT",
        "/data/big",
        body=b"first bytes",
        declared_length=5 * 1024**3 + 1,
        payload_hash="UNSIGNED-PAYLOAD",
    )
    response = service.handle(request)
    assert (response.status, _code(response)) == (400, "EntityTooLarge")
    assert request.body.read() == b"first bytes"  # refused before reading
    assert service.handle(signed(ALICE, "HEAD", "/data/big")).status == 404


def test_incomplete_body_stores_nothing(service: S3Service) -> None:
    """A body shorter than Content-Length is IncompleteBody and publishes nothing."""
    request = signed(
        ALICE,
        "PUT",
        "/data/short",
        body=b"12345",
        declared_length=10,
        payload_hash="UNSIGNED-PAYLOAD",
    )
    response = service.handle(request)
    assert (response.status, _code(response)) == (400, "IncompleteBody")
    assert service.handle(signed(ALICE, "HEAD", "/data/short")).status == 404


def test_missing_content_length(service: S3Service) -> None:
    """A PUT with no Content-Length is 411 MissingContentLength."""
    response = service.handle(signed(ALICE, "PUT", "/data/k"))
    assert (response.status, _code(response)) == (411, "MissingContentLength")


def test_head_error_has_no_body(service: S3Service) -> None:
    """HEAD errors keep the status and send no body."""
    response = service.handle(signed(ALICE, "HEAD", "/data/missing"))
    assert response.status == 404
    assert _body(response) == b""


def test_method_not_allowed_and_not_implemented(service: S3Service) -> None:
    """POST on a plain key is 405; an unimplemented sub-resource is 501."""
    response = service.handle(signed(ALICE, "POST", "/data/key"))
    assert (response.status, _code(response)) == (405, "MethodNotAllowed")
    response = service.handle(signed(ALICE, "GET", "/data", query="policy"))
    assert (response.status, _code(response)) == (501, "NotImplemented")


class _BrokenBackend(MemoryBackend):
    def get_bucket(self, bucket: str) -> BucketInfo:
        raise RuntimeError("disk on fire")


def test_bug_is_internal_error_with_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected exception is a 500 InternalError, logged with the request id."""
    service = _service(_BrokenBackend())
    with caplog.at_level(logging.ERROR, logger="s3core"):
        response = service.handle(signed(ALICE, "GET", "/data"))
    assert (response.status, _code(response)) == (500, "InternalError")
    request_id = response.header("x-amz-request-id")
    assert request_id
    assert any(request_id in r.getMessage() for r in caplog.records)
    assert b"disk on fire" not in _body(response)


def test_common_headers(service: S3Service) -> None:
    """Every response has a request id, x-amz-id-2 and a Date from the clock."""
    response = service.handle(signed(ALICE, "GET", "/"))
    assert response.header("x-amz-request-id")
    assert response.header("x-amz-id-2")
    assert response.header("date") == "Tue, 24 Nov 2026 12:00:00 GMT"


def test_clock_skew_is_refused() -> None:
    """A request signed 16 minutes off the service clock is RequestTimeTooSkewed."""
    service = _service()
    late = NOW - dt.timedelta(minutes=16)
    response = service.handle(signed(ALICE, "GET", "/", now=late))
    assert (response.status, _code(response)) == (403, "RequestTimeTooSkewed")


def test_mounted_service_signs_full_path_routes_rest(service: S3Service) -> None:
    """Under a mount point, the signature covers /mnt/... and routing ignores /mnt."""
    base = signed(ALICE, "GET", "/mnt/data", query="list-type=2")
    mounted = Request(
        method=base.method,
        path=base.path,
        query=base.query,
        headers=base.headers,
        mount="/mnt",
    )
    response = service.handle(mounted)
    assert response.status == 200
    assert b"<Name>data</Name>" in _body(response)
