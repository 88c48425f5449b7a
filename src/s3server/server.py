"""Serving with waitress: the blocking standalone server and the in-process thread.

This module owns the waitress settings we rely on, ``serve`` (the standalone server the
CLI runs) and ``ServerThread`` (a real server on 127.0.0.1, port 0 by default, in a
background thread, for test suites and embedding). Nothing here is global: several
servers run side by side in one process, so it is safe under pytest-xdist.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import waitress
import waitress.channel
import waitress.server
import waitress.task
import waitress.wasyncore

from s3core.auth.credentials import User
from s3core.backends.base import Backend
from s3core.backends.filesystem import FilesystemBackend
from s3core.backends.memory import MemoryBackend
from s3core.config import MAX_PUT_SIZE, ServiceConfig
from s3core.service import S3Service
from s3server import inline, sendfile
from s3server.app import create_app
from s3server.direct_send import DirectSendChannelMixin
from s3server.response_head import response_head
from s3server.streaming import StreamingChannelMixin

__all__ = ["CannotListen", "ServerThread", "make_user", "serve"]

log = logging.getLogger("s3server")


class CannotListen(Exception):
    """The server could not listen on its address (in use, not ours, no such host).

    Raised ``from`` the ``bind`` error, which stays in ``__cause__``.

    Args:
        where: ``host:port`` as given.
        cause: the error from ``bind``.
    """

    def __init__(self, where: str, cause: OSError) -> None:
        super().__init__(f"cannot listen on {where}: {cause.strerror or cause}")


def make_user(
    access_key: str | None = None,
    secret_key: str | None = None,
    *,
    user_id: str | None = None,
    display_name: str | None = None,
) -> User:
    """A user; missing keys are generated at random.

    The canonical user id defaults to a stable 64-hex digest of the access key, the
    shape S3 canonical ids have.
    """
    access_key = access_key or "AK" + secrets.token_hex(9).upper()
    secret_key = secret_key or secrets.token_urlsafe(30)
    return User(
        access_key=access_key,
        secret_key=secret_key,
        id=user_id or hashlib.sha256(access_key.encode()).hexdigest(),
        display_name=display_name or access_key,
    )


# Bytes of response queued per connection before its worker waits (waitress's
# default is 16 MiB; 1 MiB keeps a loopback GET at full speed).
_OUTBUF_HIGH_WATERMARK = 1024 * 1024


def waitress_settings(threads: int) -> dict[str, Any]:
    """The waitress settings every server here uses."""
    return {
        "threads": threads,
        # waitress refuses bodies over 1 GiB by default; S3 takes 5 GiB in one PUT.
        # Headers and aws-chunked framing come on top, hence the margin.
        "max_request_body_size": MAX_PUT_SIZE + 64 * 1024 * 1024,
        # A response is queued per connection up to the high watermark, then the
        # worker waits for the socket to drain. waitress spools a queue over
        # outbuf_overflow (default 1 MiB) to a temporary file: every large GET
        # would write the whole object to disk once more. With the overflow above
        # the watermark plus one body chunk (1 MiB), it never spools, and memory
        # stays bounded by about two chunks per connection.
        "outbuf_high_watermark": _OUTBUF_HIGH_WATERMARK,
        "outbuf_overflow": _OUTBUF_HIGH_WATERMARK + 4 * 1024 * 1024,
        # waitress reads 8 KiB per recv() by default: a 1 GiB body then takes
        # 131072 trips through its parser and buffer (measured: 10.4 s for 1 GiB
        # on loopback; 1.7 s with 256 KiB).
        "recv_bytes": 256 * 1024,
        # Bodies over inbuf_overflow (512 KiB) are not spooled to a temporary file
        # by waitress: _Channel streams them to the application (s3server.streaming).
        "ident": "s3server",
        "clear_untrusted_proxy_headers": True,
    }


class _Task(waitress.task.WSGITask):  # type: ignore[misc]
    def get_environment(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environment()
        environ[sendfile.ENVIRON_KEY] = True  # _Channel sends FileSpans
        return environ

    def build_response_header(self) -> bytes:
        head = response_head(
            version=self.version,
            status=self.status,
            headers=self.response_headers,  # type: ignore[has-type]
            content_length=self.content_length,
            request_connection=self.request.headers.get("CONNECTION", "").lower(),
            ident=self.channel.server.adj.ident,
            start_time=self.start_time,
            closing=self.close_on_finish,  # type: ignore[has-type]
        )
        self.response_headers = head.headers
        self.close_on_finish = head.close
        self.chunked_response = head.chunked
        return head.data


class _Channel(
    DirectSendChannelMixin,
    sendfile.SendfileChannelMixin,
    inline.InlineChannelMixin,
    StreamingChannelMixin,
    waitress.channel.HTTPChannel,  # type: ignore[misc]
):
    task_class = _Task


def create_waitress_server(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int,
    sockets: list[socket.socket] | None = None,
    run_inline: Callable[[Any], bool] | None = None,
) -> Any:
    """A bound, listening waitress server for ``app`` with our settings.

    With ``sockets`` (already bound and listening, as the pre-fork workers share
    one), ``host`` and ``port`` are ignored. ``run_inline`` picks the requests the
    event loop runs itself (``s3server.inline``); None sends all to the workers.
    """
    where: dict[str, Any] = (
        {"sockets": sockets} if sockets else {"host": host, "port": port}
    )
    server = waitress.server.create_server(app, **where, **waitress_settings(threads))
    server.channel_class = _Channel
    server.run_inline = run_inline
    inline.skip_trigger_when_inline(server)
    # waitress warns "Task queue depth is N" each time a request waits for a free
    # thread: with more keep-alive clients than threads that is every request under
    # load, a line of noise each (and 5 % of a small GET's CPU, measured).
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    return server


class ServerThread:
    """A real S3 server (waitress over the Falcon app) in a background thread.

    The socket is bound and listening when the constructor returns, so
    ``endpoint_url`` is known at once; ``start`` begins serving. Use it as a context
    manager, or call ``start()`` and ``stop()``.

    Args:
        backend: the store; default a fresh ``MemoryBackend``, or a
            ``FilesystemBackend`` over ``data_dir`` when given.
        data_dir: directory for the filesystem backend.
        users: who may sign requests; default one user with random keys.
        host: interface to bind (keep it on loopback for tests).
        port: TCP port; 0 picks a free one.
        region: the region the server serves.
        threads: waitress worker threads.
        domain: base domain for virtual-hosted-style requests.
        fsync: with ``data_dir``, acknowledge writes only once they are on disk.
            Off suits test suites over a temporary directory (several times faster
            for small objects); a crash may then lose acknowledged writes.
    """

    def __init__(
        self,
        *,
        backend: Backend | None = None,
        data_dir: str | Path | None = None,
        users: Iterable[User] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        threads: int = 8,
        domain: str = "localhost",
        fsync: bool = True,
    ) -> None:
        self.users = list(users) if users is not None else [make_user()]
        if not self.users:
            raise ValueError("ServerThread needs at least one user")
        if backend is None:
            backend = (
                FilesystemBackend(
                    data_dir, fsync=fsync, default_owner_id=self.users[0].id
                )
                if data_dir is not None
                else MemoryBackend()
            )
        self.backend = backend
        self.region = region
        self.service = S3Service(
            backend, self.users, config=ServiceConfig(region=region, domain=domain)
        )
        self.app = create_app(self.service)
        self._server = create_waitress_server(
            self.app,
            host=host,
            port=port,
            threads=threads,
            run_inline=inline.quick_request_predicate(domain),
        )
        self.host = host
        self.port: int = self._server.effective_port
        self._thread = threading.Thread(
            target=self._run, name=f"s3server:{self.port}", daemon=True
        )
        self._stopped = False

    @property
    def endpoint_url(self) -> str:
        """``http://host:port`` of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def access_key(self) -> str:
        """The first user's access key."""
        return self.users[0].access_key

    @property
    def secret_key(self) -> str:
        """The first user's secret key."""
        return self.users[0].secret_key

    def start(self) -> ServerThread:
        """Begin serving; returns ``self``."""
        self._thread.start()
        return self

    def _run(self) -> None:
        # Closing the channels from stop() can surface as EBADF in the poll that was
        # already waiting; the loop is over either way.
        with contextlib.suppress(OSError, ValueError):
            self._server.run()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and release the port. Idempotent.

        The order matters: waitress worker threads wake the loop through the
        trigger's pipe when they finish a response, so the pipe is closed last,
        once no worker and no loop can touch it. Closing it earlier would let a late
        write land on a descriptor number the process has meanwhile reused.
        """
        if self._stopped:
            return
        self._stopped = True
        server = self._server
        running = self._thread.is_alive()
        if running:
            # Run in the loop thread (the trigger calls the callable there).
            server.trigger.pull_trigger(lambda: _close_listener(server))
        else:
            _close_listener(server)
        server.task_dispatcher.shutdown(timeout=timeout)
        if running:
            server.trigger.pull_trigger(lambda: _close_channels(server))
            self._thread.join(timeout)
        else:
            _close_channels(server)
        server.trigger.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, user: User | None = None, **kwargs: Any) -> Any:
        """A boto3 S3 client for this server (SigV4, path-style addressing)."""
        return self._session(user).client("s3", **self._client_kwargs(kwargs))

    def resource(self, user: User | None = None, **kwargs: Any) -> Any:
        """A boto3 S3 resource for this server."""
        return self._session(user).resource("s3", **self._client_kwargs(kwargs))

    def _session(self, user: User | None) -> Any:
        import boto3  # imported on use: servers start without paying for boto3

        user = user or self.users[0]
        return boto3.session.Session(
            aws_access_key_id=user.access_key,
            aws_secret_access_key=user.secret_key,
            region_name=self.region,
        )

    def _client_kwargs(self, overrides: dict[str, Any]) -> dict[str, Any]:
        from botocore.config import Config

        kwargs: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "config": Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        }
        kwargs.update(overrides)
        return kwargs


def _close_listener(server: Any) -> None:
    """Stop accepting connections (the server's own socket, not its trigger)."""
    with contextlib.suppress(OSError):
        waitress.wasyncore.dispatcher.close(server)


def _close_channels(server: Any) -> None:
    """Close every connection and unhook the trigger, so the loop's map empties."""
    for dispatcher in list(server._map.values()):
        if dispatcher is server.trigger:
            dispatcher.del_channel()  # its pipe stays open until the loop is done
            continue
        with contextlib.suppress(OSError):
            dispatcher.close()


def serve(
    service: S3Service,
    *,
    host: str,
    port: int,
    threads: int,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``service`` with waitress until interrupted (the standalone server).

    ``on_ready`` is called with the endpoint URL once the socket listens.

    Raises:
        CannotListen: the address cannot be bound.
    """
    try:
        server = create_waitress_server(
            create_app(service),
            host=host,
            port=port,
            threads=threads,
            run_inline=inline.quick_request_predicate(service.config.domain),
        )
    except OSError as err:
        raise CannotListen(f"{host}:{port}", err) from err
    if on_ready is not None:
        shown = f"[{host}]" if ":" in host else host
        on_ready(f"http://{shown}:{server.effective_port}")
    try:
        server.run()
    finally:
        server.close()
