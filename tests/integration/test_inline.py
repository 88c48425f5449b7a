"""Quick requests run on waitress's event loop thread, and never hold it.

``s3server.inline``: a HEAD, or a GET that names an object, runs on the loop thread
instead of being handed to a worker; everything else goes to the workers. These
tests check the choice over real HTTP (which thread ran what), and that a GET run
on the loop cannot stall it: a client that stops reading a big body leaves every
other connection served, for both backends.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from s3server.inline import quick_request_predicate
from s3server.server import ServerThread, create_waitress_server
from tests.integration.signing import presigned_target

MIB = 1 << 20


class _ThreadRecorder:
    """A WSGI app answering 200 and noting which thread ran each request."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.threads.append(threading.current_thread().name)
        environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Length", "2")])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [b"ok"]


@pytest.fixture
def recorder() -> Iterator[tuple[_ThreadRecorder, int]]:
    app = _ThreadRecorder()
    server = create_waitress_server(
        app, threads=2, run_inline=quick_request_predicate("localhost")
    )
    loop = threading.Thread(target=server.run, name="the-loop", daemon=True)
    loop.start()
    yield app, server.effective_port
    server.close()
    loop.join(5)


@pytest.mark.parametrize(
    ("method", "target", "host", "on_loop"),
    [
        ("GET", "/bucket/key", "127.0.0.1", True),
        ("GET", "/bucket/a/b?versionId=x", "127.0.0.1", True),
        ("HEAD", "/bucket/key", "127.0.0.1", True),
        ("HEAD", "/bucket", "127.0.0.1", True),
        ("GET", "/key", "bucket.localhost", True),  # virtual-hosted object
        ("GET", "/bucket/key?uploadId=abc", "127.0.0.1", False),  # ListParts
        ("GET", "/bucket", "127.0.0.1", False),  # a listing
        ("GET", "/bucket/?list-type=2", "127.0.0.1", False),
        ("GET", "/", "bucket.localhost", False),  # virtual-hosted listing
        ("GET", "/", "127.0.0.1", False),  # ListBuckets
        ("PUT", "/bucket/key", "127.0.0.1", False),
        ("DELETE", "/bucket/key", "127.0.0.1", False),
        ("POST", "/bucket/key?uploads", "127.0.0.1", False),
    ],
)
def test_which_requests_run_on_the_loop(
    recorder: tuple[_ThreadRecorder, int],
    method: str,
    target: str,
    host: str,
    on_loop: bool,
) -> None:
    app, port = recorder
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, target, skip_host=True)
        conn.putheader("Host", host)
        conn.putheader("Content-Length", "3" if method in ("PUT", "POST") else "0")
        conn.endheaders(b"abc" if method in ("PUT", "POST") else None)
        response = conn.getresponse()
        assert response.status == 200
        response.read()
        # A second request on the same connection is chosen the same way.
        conn.request(method, target, headers={"Host": host})
        conn.getresponse().read()
    finally:
        conn.close()
    assert len(app.threads) == 2
    assert all((name == "the-loop") == on_loop for name in app.threads), app.threads


def _pattern(size: int) -> bytes:
    block = hashlib.sha256(b"inline").digest() * (MIB // 32)
    return b"".join(i.to_bytes(4, "big") + block[4:] for i in range(size // MIB))


@pytest.fixture(params=["memory", "filesystem"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerThread]:
    data_dir = tmp_path / "data" if request.param == "filesystem" else None
    with ServerThread(data_dir=data_dir, fsync=False, threads=2) as srv:
        srv.client().create_bucket(Bucket="bkt")
        yield srv


def test_a_stalled_big_get_leaves_the_loop_serving(
    server: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    """A client stops reading a 16 MiB GET (run on the loop) after 1 MiB; other
    connections are still answered, and the body completes once it reads again."""
    data = _pattern(16 * MIB)
    # A stalled loop shows as a timeout here, not as a test that hangs.
    client = server.client(
        config=Config(read_timeout=5, connect_timeout=5, retries={"max_attempts": 1})
    )
    client.put_object(Bucket="bkt", Key="big", Body=data)
    client.put_object(Bucket="bkt", Key="small", Body=b"hello")
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    try:
        target = presigned_target(server, "GET", "bkt", "big")
        slow.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
        )
        received = bytearray()
        while len(received) < MIB:
            received += slow.recv(64 * 1024)
        with caplog.at_level(logging.INFO, logger="s3server.access"):
            # The server now waits on this client's socket; others go on.
            started = time.monotonic()
            for _ in range(3):
                assert (
                    client.head_object(Bucket="bkt", Key="small")["ContentLength"] == 5
                )
                got = client.get_object(Bucket="bkt", Key="small")["Body"].read()
                assert got == b"hello"
                assert client.list_objects_v2(Bucket="bkt")["KeyCount"] == 2
            assert time.monotonic() - started < 10
            head_end = bytes(received).index(b"\r\n\r\n") + 4
            while len(received) - head_end < len(data):
                chunk = slow.recv(MIB)
                if not chunk:
                    break
                received += chunk
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(
                "/bkt/big" in record.getMessage() for record in caplog.records
            ):
                time.sleep(0.01)  # logged when the server closes the body
    finally:
        slow.close()
    assert received.startswith(b"HTTP/1.1 200 ")
    assert received[head_end:] == data
    line = next(r.getMessage() for r in caplog.records if "/bkt/big" in r.getMessage())
    assert line.split()[3] == str(len(data))  # bytes sent, as the access log says
