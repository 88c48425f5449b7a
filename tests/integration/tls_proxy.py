"""A local TLS-terminating TCP proxy, so real clients talk HTTPS to the test server.

botocore streams uploads as aws-chunked with a checksum trailer only over HTTPS, and
our server speaks plain HTTP (TLS belongs in front of it). This proxy listens on
127.0.0.1 with a certificate from a throw-away trustme CA, and copies bytes both ways
to the plain-HTTP server, unchanged: the Host header and the signature the client
made reach the server as sent. An asyncio loop in one background thread carries every
connection (asyncio's TLS handles both directions at once, which a blocking
``ssl.SSLSocket`` shared by two threads does not). Stopping closes every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from pathlib import Path

import trustme

__all__ = ["TLSProxy"]

_BUFFER = 256 * 1024


class TLSProxy:
    """HTTPS on 127.0.0.1:<port> in front of ``upstream_host:upstream_port``.

    Args:
        upstream_host: the plain-HTTP server's address (loopback).
        upstream_port: its port.
        ca_dir: where to write the CA certificate clients must trust (``ca_file``).
    """

    def __init__(self, upstream_host: str, upstream_port: int, ca_dir: Path) -> None:
        self._upstream = (upstream_host, upstream_port)
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = ca_dir / "proxy-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self._context)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        """``https://127.0.0.1:<port>``."""
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> TLSProxy:
        """Listen and serve in the background; returns ``self``."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        future.result(timeout=10)
        return self

    def stop(self) -> None:
        """Close the listener and every open connection, then end the thread."""
        if self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._close(), self._loop)
            future.result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> TLSProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=self._context
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        # Dropping the connections (also those still saying TLS goodbye to a client
        # that keeps its socket pooled) ends every pump with end of stream, so each
        # connection's task finishes by itself: asyncio logs an error for a
        # cancelled connection task, so cancelling is left for stragglers only.
        for writer in self._writers:
            writer.transport.abort()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.append(client_w)
        upstream_w: asyncio.StreamWriter | None = None
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self._upstream)
            self._writers.append(upstream_w)
            # Requests flow on while the server may still answer; once the server
            # is done (it closed), the client connection is closed too, since a TLS
            # stream cannot pass on a half-close.
            requests = asyncio.create_task(_pump(client_r, upstream_w))
            try:
                await _pump(upstream_r, client_w)
            finally:
                requests.cancel()
                await asyncio.gather(requests, return_exceptions=True)
        except (OSError, ssl.SSLError):
            pass  # a client or server that hangs up midway ends its connection
        finally:
            self._tasks.discard(task)
            # close() flushes what is buffered, then ends the stream; it is not
            # awaited, since a TLS goodbye waits on a client that may never answer.
            client_w.close()
            if upstream_w is not None:
                upstream_w.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then pass the half-close on."""
    while data := await reader.read(_BUFFER):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        with contextlib.suppress(OSError):
            writer.write_eof()
