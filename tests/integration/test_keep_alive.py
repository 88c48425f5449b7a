"""Responses without a body (204, 304) keep the client's connection open, as S3's do.

waitress closed the connection after any response without Content-Length, so each
DeleteObject cost the client a new TCP connection (s3server.response_head).
"""

from __future__ import annotations

import http.client
from typing import Any

from s3server.server import ServerThread
from tests.integration.signing import signed_request


def _send(
    conn: http.client.HTTPConnection,
    server: ServerThread,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> http.client.HTTPResponse:
    request = signed_request(server, method, path, body=body, headers=headers)
    conn.putrequest(method, request.selector, skip_host=True, skip_accept_encoding=True)
    for name, value in request.header_items():
        conn.putheader(name, value)
    conn.endheaders(body or None)
    response = conn.getresponse()
    response.read()
    return response


def test_bodiless_responses_keep_the_connection(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """PUT, 304 GET, 204 DELETE object and 204 DELETE bucket all use one socket."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        put = _send(conn, server, "PUT", f"/{bucket}/k", b"hello")
        assert put.status == 200
        sock = conn.sock
        assert sock is not None
        etag = put.getheader("ETag")
        assert etag
        steps = [
            ("GET", f"/{bucket}/k", {"If-None-Match": etag}, 304),
            ("DELETE", f"/{bucket}/k", None, 204),
            ("DELETE", f"/{bucket}/k", None, 204),  # no such key: still 204
            ("DELETE", f"/{bucket}", None, 204),
        ]
        for method, path, headers, status in steps:
            response = _send(conn, server, method, path, headers=headers)
            assert (method, path, response.status) == (method, path, status)
            assert response.getheader("Connection") is None
            assert response.getheader("Content-Length") is None
            assert conn.sock is sock, f"{method} {path} closed the connection"
        assert _send(conn, server, "GET", "/").status == 200
        assert conn.sock is sock
    finally:
        conn.close()
    assert bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]


def test_connection_close_is_still_honoured(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """A client asking for Connection: close on a DELETE gets it, and the server
    closes its side."""
    client.put_object(Bucket=bucket, Key="k", Body=b"x")
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        response = _send(
            conn, server, "DELETE", f"/{bucket}/k", headers={"Connection": "close"}
        )
        assert response.status == 204
        assert response.getheader("Connection") == "close"
        assert conn.sock is None  # http.client closed it, as told
    finally:
        conn.close()
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)
