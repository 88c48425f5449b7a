"""Large request bodies reach the application while they arrive (no spool file).

The server is the real one over HTTP; requests are written by hand on a raw socket
so a test controls when each byte is sent, which is what streaming is about. The
URLs are presigned with boto3 (SigV4), so every request here is really verified.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from s3server.streaming import DRAIN_LIMIT, PIPE_LIMIT

MIB = 1024 * 1024


def _presigned_put(client: Any, bucket: str, key: str) -> str:
    url: str = client.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300
    )
    return url


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    return sock


def _head(url: str, length: int, extra: str = "") -> bytes:
    parts = urlsplit(url)
    return (
        f"PUT {parts.path}?{parts.query} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\nContent-Length: {length}\r\n{extra}\r\n"
    ).encode()


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    """One HTTP response (status, body); bodies here always have a length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return status, body[:length]


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closes the connection within 10 s."""
    sock.settimeout(10)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def test_an_early_error_arrives_before_the_body_is_sent(
    client: Any, bucket: str
) -> None:
    """A 64 MiB PUT with a bad signature is refused after its headers and 64 KiB.

    With the body spooled first, no answer could come before all 64 MiB arrived.
    """
    url = _presigned_put(client, bucket, "k").replace("Signature=", "Signature=0")
    with _connect(url) as sock:
        sock.sendall(_head(url, 64 * MIB) + b"x" * 65536)
        status, body = _read_response(sock)
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in body
    assert client.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_a_streamed_put_round_trips_and_the_connection_is_reused(
    client: Any, bucket: str
) -> None:
    """Bodies over the streaming threshold, sent slowly, store exactly their bytes."""
    data = os.urandom(3 * PIPE_LIMIT + 12345)
    url = _presigned_put(client, bucket, "slow")
    with _connect(url) as sock:
        sock.sendall(_head(url, len(data)))
        for start in range(0, len(data), MIB):
            sock.sendall(data[start : start + MIB])
            time.sleep(0.01)
        status, _ = _read_response(sock)
        assert status == 200
        # The same connection carries the next request.
        second = data[: 2 * MIB]
        url2 = _presigned_put(client, bucket, "next")
        sock.sendall(_head(url2, len(second)) + second)
        assert _read_response(sock)[0] == 200
    got = client.get_object(Bucket=bucket, Key="slow")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    assert client.head_object(Bucket=bucket, Key="next")["ContentLength"] == 2 * MIB


def test_expect_100_continue_is_answered_before_the_body(
    client: Any, bucket: str
) -> None:
    """A client waiting for "100 Continue" gets it at once, then sends its body."""
    data = os.urandom(2 * MIB)
    url = _presigned_put(client, bucket, "expect")
    with _connect(url) as sock:
        sock.sendall(_head(url, len(data), "Expect: 100-continue\r\n"))
        interim = sock.recv(64)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(data)
        status, _ = _read_response(sock)
    assert status == 200
    assert client.get_object(Bucket=bucket, Key="expect")["Body"].read() == data


def test_a_client_that_goes_away_midway_stores_nothing(
    client: Any, bucket: str
) -> None:
    """Half a body, then a closed socket: no object, and the server serves on."""
    client.put_object(Bucket=bucket, Key="k", Body=b"previous")
    url = _presigned_put(client, bucket, "k")
    sock = _connect(url)
    sock.sendall(_head(url, 8 * MIB) + b"y" * (4 * MIB))
    sock.close()
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"previous"
    client.put_object(Bucket=bucket, Key="after", Body=b"ok")
    assert client.get_object(Bucket=bucket, Key="after")["Body"].read() == b"ok"


def test_a_short_abandoned_body_is_drained_and_the_connection_reused(
    client: Any, bucket: str
) -> None:
    """After an early error, a rest under DRAIN_LIMIT is read and dropped."""
    url = _presigned_put(client, bucket, "k").replace("Signature=", "Signature=0")
    # Over the streaming threshold (512 KiB), within DRAIN_LIMIT in all.
    total = DRAIN_LIMIT - 1024
    first = 64 * 1024
    with _connect(url) as sock:
        sock.sendall(_head(url, total) + b"z" * first)
        assert _read_response(sock)[0] == 403
        sock.sendall(b"z" * (total - first))
        url2 = _presigned_put(client, bucket, "reused")
        sock.sendall(_head(url2, 2) + b"ok")
        assert _read_response(sock)[0] == 200
    assert client.head_object(Bucket=bucket, Key="reused")["ContentLength"] == 2
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == [
        "reused"
    ]


def test_a_long_abandoned_body_closes_the_connection(client: Any, bucket: str) -> None:
    """After an early error with much of the body to come, the server hangs up."""
    url = _presigned_put(client, bucket, "k").replace("Signature=", "Signature=0")
    with _connect(url) as sock:
        sock.sendall(_head(url, 8 * DRAIN_LIMIT))
        assert _read_response(sock)[0] == 403
        assert _closed_by_server(sock)
    assert client.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
