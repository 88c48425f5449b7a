"""The Falcon adapter: WSGI requests in, ``s3core`` requests through, WSGI responses
out.

This module owns the translation between Falcon and ``s3core.http`` values, and the one
access-log line per request. It must stay thin: no S3 semantics here. Falcon serves as a
single sink taking every path and method; the request body is handed to the core as a
stream and the response body is streamed back, never buffered.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import falcon

from s3core.auth.credentials import User
from s3core.backends.base import Backend
from s3core.backends.filesystem import FilesystemBackend
from s3core.backends.memory import MemoryBackend
from s3core.config import ServiceConfig
from s3core.http import Headers, Request
from s3core.operations.objects import ReaderBody
from s3core.service import S3Service
from s3server import sendfile
from s3server.inline import ReaderSpanBody

__all__ = ["create_app"]

access_log = logging.getLogger("s3server.access")


def create_app(
    service: S3Service | None = None,
    *,
    backend: Backend | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    users: Iterable[User] = (),
    config: ServiceConfig | None = None,
) -> falcon.App[falcon.Request, falcon.Response]:
    """The S3 service as a Falcon WSGI application, mountable in any WSGI server.

    Pass a ready ``service``, or the parts to build one: a ``backend`` (default: a
    ``FilesystemBackend`` over ``data_dir`` if given, else a ``MemoryBackend``), the
    ``users`` who may sign requests, and the service ``config``.
    """
    if service is None:
        user_list = list(users)
        if not user_list:
            raise ValueError("create_app needs at least one user (or a service)")
        if backend is None:
            backend = (
                FilesystemBackend(Path(data_dir), default_owner_id=user_list[0].id)
                if data_dir is not None
                else MemoryBackend()
            )
        service = S3Service(backend, user_list, config=config)
    app: falcon.App[falcon.Request, falcon.Response] = falcon.App(
        media_type="application/xml"
    )
    app.add_sink(_Sink(service), prefix="/")
    return app


class _Sink:
    """Takes every request Falcon receives and answers it through the service."""

    def __init__(self, service: S3Service) -> None:
        self.service = service

    def __call__(self, req: falcon.Request, resp: falcon.Response, **_: Any) -> None:
        started = time.perf_counter()
        env = req.env
        path, query = _raw_target(env)
        headers = Headers(tuple(_header_pairs(env)))
        request = Request(
            method=req.method,
            path=path,
            query=query,
            headers=headers,
            body=req.bounded_stream,
            remote_addr=req.remote_addr or "",
            mount=quote(env.get("SCRIPT_NAME", "").encode("latin-1"), safe="/"),
        )
        response = self.service.handle(request)
        resp.status = response.status
        resp.content_type = None
        for name, value in response.headers:
            resp.append_header(name, value)
        if response.content_length is not None:
            resp.content_length = response.content_length
        request_id = response.header("x-amz-request-id") or "-"
        line = _AccessLine(request.method, path, response.status, request_id, started)
        if req.method == "HEAD" or response.status in (204, 304):
            _close(response.body)
            line.emit(0)
            return
        if env.get(sendfile.ENVIRON_KEY):
            positioned = _positioned_body(response.body, line)
            if positioned is not None:
                # falcon hands a stream with ``read`` to wsgi.file_wrapper, which
                # our server's loop reads as the socket drains (s3server.inline);
                # a file's read gives spans, not bytes, which only our channel
                # sends.
                resp.stream = cast(Any, positioned)
                return
        resp.stream = _LoggedBody(response.body, line)


def _positioned_body(body: object, line: _AccessLine) -> sendfile.PositionedBody | None:
    """An object's body as our server's loop reads it: spans of its open file
    (a filesystem GET, sent with sendfile) or chunks its reader gives."""
    if not isinstance(body, ReaderBody) or body.length <= 0:
        return None

    def done(sent: int) -> None:
        try:
            body.close()
        finally:
            line.emit(sent)

    fileno = getattr(body.reader, "fileno", None)
    if fileno is not None:
        return sendfile.SendfileBody(fileno(), body.start, body.length, done)
    return ReaderSpanBody(body.reader, body.start, body.length, done)


def _raw_target(env: dict[str, Any]) -> tuple[str, str]:
    """The request path exactly as sent (SigV4 signs it) and the raw query string."""
    # waitress gives REQUEST_URI, gunicorn RAW_URI; PATH_INFO is already decoded and
    # (in waitress) has leading slashes collapsed, so it is only a fallback.
    uri = env.get("REQUEST_URI") or env.get("RAW_URI")
    if uri:
        if "://" in uri.split("?", 1)[0]:
            uri = "/" + uri.split("://", 1)[1].partition("/")[2]
        path, _, query = uri.partition("?")
        return path, query
    path_info = env.get("PATH_INFO", "").encode("latin-1")
    return quote(path_info, safe="/~!$&'()*+,;=:@"), env.get("QUERY_STRING", "")


def _header_pairs(env: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in env.items():
        if key.startswith("HTTP_"):
            # WSGI gives header values as latin-1 strings; S3 metadata is UTF-8.
            yield key[5:].replace("_", "-").lower(), _utf8(value)
    if env.get("CONTENT_TYPE"):
        yield "content-type", _utf8(env["CONTENT_TYPE"])
    if env.get("CONTENT_LENGTH"):
        yield "content-length", env["CONTENT_LENGTH"]


def _utf8(value: str) -> str:
    # PEP 3333 hands header bytes over as latin-1 text. S3 reads them as UTF-8, and
    # the signer hashes exactly these bytes back (surrogateescape keeps invalid
    # UTF-8 byte-exact, so a signature over odd bytes still verifies). ASCII, what
    # nearly every header is, reads the same either way.
    if value.isascii():
        return value
    return value.encode("latin-1").decode("utf-8", "surrogateescape")


class _AccessLine:
    """One access-log line, emitted once the body has been sent (or abandoned)."""

    def __init__(
        self, method: str, path: str, status: int, request_id: str, started: float
    ) -> None:
        self.fields = (method, path, status, request_id)
        self.started = started
        self.done = False

    def emit(self, sent: int) -> None:
        if self.done:
            return
        self.done = True
        method, path, status, request_id = self.fields
        ms = (time.perf_counter() - self.started) * 1000
        access_log.info(
            "%s %s %d %d %.1fms %s", method, path, status, sent, ms, request_id
        )


class _LoggedBody:
    """Streams a response body, counting bytes, and logs when the server closes it."""

    def __init__(self, body: Iterable[bytes], line: _AccessLine) -> None:
        self.body = body
        self.line = line
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            _close(self.body)
        finally:
            self.line.emit(self.sent)


def _close(body: object) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()
