"""Filesystem GETs sent with sendfile(2): whole, in ranges, logged, and released.

The standalone server sends a stored file's bytes from the page cache to the socket
(``s3server.sendfile``). These tests drive it with raw HTTP where boto3 would hide
what matters: a client that stops reading or goes away, a file cut short while it
is being sent, and the access log's byte count.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import threading
import time
import wsgiref.simple_server
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from s3server import create_app, make_user
from s3server.server import ServerThread
from tests.integration.signing import presigned_target

MIB = 1 << 20
SIZE = 64 * MIB  # well over the socket buffers: the sending waits on the client


@pytest.fixture
def connections() -> Iterator[list[http.client.HTTPConnection]]:
    opened: list[http.client.HTTPConnection] = []
    yield opened
    for conn in opened:
        conn.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    with ServerThread(data_dir=tmp_path / "data", fsync=False) as srv:
        srv.client().create_bucket(Bucket="bkt")
        yield srv


def _body(size: int) -> bytes:
    block = hashlib.sha256(b"sendfile").digest() * (MIB // 32)
    return (
        b"".join(i.to_bytes(8, "big") + block[8:] for i in range(size // MIB))
        + block[: size % MIB]
    )


def _get(
    server: ServerThread,
    opened: list[http.client.HTTPConnection],
    key: str,
    **headers: str,
) -> http.client.HTTPResponse:
    target = presigned_target(server, "GET", "bkt", key)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    opened.append(conn)
    conn.request("GET", target, headers=headers)
    return conn.getresponse()


def _open_fds_on(path: Path) -> int:
    fd_dir = Path("/proc/self/fd")
    count = 0
    for entry in fd_dir.iterdir():
        try:
            if os.readlink(entry) == str(path):
                count += 1
        except OSError:
            continue  # closed meanwhile
    return count


def test_whole_and_ranged_gets_are_exact(
    server: ServerThread,
    connections: list[http.client.HTTPConnection],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent_by_kernel: list[int] = []
    real_sendfile = os.sendfile

    def counting(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        sent = real_sendfile(out_fd, in_fd, offset, count)
        sent_by_kernel.append(sent)
        return sent

    # Wrapped, not replaced: the bytes still go through the real system call.
    monkeypatch.setattr(os, "sendfile", counting)
    data = _body(SIZE + 12345)
    server.client().put_object(Bucket="bkt", Key="big", Body=data)
    with caplog.at_level(logging.INFO, logger="s3server.access"):
        response = _get(server, connections, "big")
        assert response.status == 200
        assert response.read() == data
        ranged = _get(
            server, connections, "big", Range=f"bytes={MIB - 3}-{3 * MIB + 4}"
        )
        assert ranged.status == 206
        assert ranged.read() == data[MIB - 3 : 3 * MIB + 5]
        tail = _get(server, connections, "big", Range="bytes=-7")
        assert tail.read() == data[-7:]
        deadline = time.monotonic() + 10
        while len(caplog.records) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)  # the line is logged when the server closes the body
    sizes = [record.getMessage().split()[3] for record in caplog.records]
    assert sizes == [str(len(data)), str(2 * MIB + 8), "7"]
    # Every body byte went out through sendfile, none through Python buffers.
    assert sum(sent_by_kernel) == len(data) + 2 * MIB + 8 + 7


def test_client_gone_midway_releases_the_file(
    server: ServerThread, connections: list[http.client.HTTPConnection], tmp_path: Path
) -> None:
    server.client().put_object(Bucket="bkt", Key="gone", Body=_body(SIZE))
    path = tmp_path / "data" / "bkt" / "gone"
    response = _get(server, connections, "gone")
    assert response.read(MIB) == _body(MIB)
    assert _open_fds_on(path) == 1  # the server's, while it sends
    connections[-1].close()  # the client goes away with most of the body unsent
    deadline = time.monotonic() + 10
    while _open_fds_on(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _open_fds_on(path) == 0


def test_file_cut_short_while_sent_ends_the_response(
    server: ServerThread, connections: list[http.client.HTTPConnection], tmp_path: Path
) -> None:
    """Cut by hand mid-send, the file cannot fill the promised Content-Length: the
    server closes the connection instead of waiting forever for the rest."""
    server.client().put_object(Bucket="bkt", Key="cut", Body=_body(SIZE))
    response = _get(server, connections, "cut")
    assert response.read(MIB) == _body(MIB)
    os.truncate(tmp_path / "data" / "bkt" / "cut", 2 * MIB)
    started = time.monotonic()
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    assert time.monotonic() - started < 20


def test_other_wsgi_servers_get_plain_bytes(tmp_path: Path) -> None:
    """create_app mounted in another WSGI server (wsgiref, which has a
    wsgi.file_wrapper of its own) sends filesystem objects as ordinary chunks."""
    user = make_user()
    app: Any = create_app(data_dir=tmp_path / "data", users=[user])
    httpd = wsgiref.simple_server.make_server(
        "127.0.0.1", 0, app, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{httpd.server_port}",
            aws_access_key_id=user.access_key,
            aws_secret_access_key=user.secret_key,
            region_name="us-east-1",
        )
        data = _body(3 * MIB + 5)
        client.create_bucket(Bucket="bkt")
        client.put_object(Bucket="bkt", Key="k", Body=data)
        assert client.get_object(Bucket="bkt", Key="k")["Body"].read() == data
        ranged = client.get_object(Bucket="bkt", Key="k", Range="bytes=5-9")
        assert ranged["Body"].read() == data[5:10]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass
