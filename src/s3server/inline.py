"""Quick requests served on the event loop thread, without the hand-off to a worker.

This module owns which requests waitress's event loop runs itself and what makes that
safe. waitress hands every request to a worker thread: the loop thread queues it
and wakes a worker (a condition variable), the worker runs the application and pulls
the loop's trigger pipe so that it sends the response. For a small GET that hand-off
and its GIL round trips cost a tenth or more of the throughput (measured: 4 KiB
GETs on one core, alternating with the code before this module: filesystem
backend 2083-2156 -> 2340-2464 per s, memory backend 3531-3565 -> 3891-3933).

Only requests that cannot hold the loop for long run on it: a HEAD, and a GET that
names an object (``s3core.routing.addresses_object``) other than ListParts.
Listings, whose pages take tens of milliseconds, and every write (an ``fsync``
takes milliseconds) keep going to the workers. What makes an inline GET safe is
that it never waits for the loop: its body is handed to waitress's
``wsgi.file_wrapper`` as a ``PositionedBody`` (``sendfile.SendfileBody`` for a
file, ``ReaderSpanBody`` for any other object reader), which the loop itself reads
as the socket drains; the application never writes a body chunk that could block
on a full buffer only the loop empties. The decision only chooses a thread: what is
answered is the same either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from s3core import errors
from s3core.backends.base import ObjectReader
from s3core.routing import addresses_object
from s3server.sendfile import PositionedBody

__all__ = [
    "InlineChannelMixin",
    "ReaderSpanBody",
    "quick_request_predicate",
    "skip_trigger_when_inline",
]

# Set on the loop thread while it runs a request itself.
_state = threading.local()


def quick_request_predicate(domain: str) -> Callable[[Any], bool]:
    """Which parsed waitress requests may run on the loop thread.

    Args:
        domain: the service's base domain, for virtual-hosted-style addressing.
    """

    def quick(request: Any) -> bool:
        if request.command == "HEAD":
            return True
        # A GET with an uploadId is ListParts: up to 1000 part records read. A
        # false match only sends a quick request to a worker.
        return (
            request.command == "GET"
            and "uploadId" not in request.query
            and addresses_object(
                request.path, request.headers.get("HOST", ""), domain=domain
            )
        )

    return quick


def skip_trigger_when_inline(server: Any) -> None:
    """Make ``server.pull_trigger`` a no-op while the loop runs a request itself.

    The trigger wakes a loop blocked in ``select`` so that it sends what a worker
    wrote; the loop thread running the request is not blocked, and sends the
    response right after (``InlineChannelMixin.service_inline``). Pulling it would
    only cost two system calls and another turn of the loop.
    """
    pull = server.pull_trigger

    def pull_trigger() -> None:
        if not getattr(_state, "inline", False):
            pull()

    server.pull_trigger = pull_trigger


class InlineChannelMixin:
    """The channel side: run a quick request at once instead of queueing it.

    Mixed into waitress's ``HTTPChannel``; the server's ``run_inline`` attribute
    (a ``quick_request_predicate``, or None for never) decides.
    """

    server: Any
    total_outbufs_len: int
    service: Callable[[], None]
    handle_write: Callable[[], None]

    def runs_inline(self, request: Any) -> bool:
        """Whether the loop should run ``request`` itself (called holding the
        channel's request lock; the caller runs it after releasing the lock)."""
        quick = self.server.run_inline  # set by create_waitress_server
        # A body still streaming in is fed by the loop: a request reading it must
        # run on a worker.
        return (
            quick is not None
            and not request.error
            and not request.streams
            and quick(request)
        )

    def service_inline(self) -> None:
        """Run the first queued request on this thread and start sending its answer."""
        _state.inline = True
        try:
            self.service()
        finally:
            _state.inline = False
        if self.total_outbufs_len:
            self.handle_write()


class ReaderSpanBody(PositionedBody):
    """Bytes of an ``ObjectReader`` for waitress's file wrapper: the loop reads them
    as the socket drains, so serving the body never blocks a thread on the loop.

    waitress reads a chunk, sends what the socket takes and seeks back to resend
    the rest: the last chunk read is kept, and reads within it are views of it.
    """

    def __init__(
        self,
        reader: ObjectReader,
        start: int,
        length: int,
        on_close: Callable[[int], None],
    ) -> None:
        super().__init__(start, length, on_close)
        self._reader = reader
        self._chunk = b""
        self._chunk_at = start

    def read(self, n: int = -1, /) -> memoryview | bytes:
        want = self._take(n)
        if not want:
            return b""
        offset = self._pos - self._chunk_at
        if not 0 <= offset < len(self._chunk):
            self._reader.seek(self._pos)
            self._chunk = self._reader.read(want)
            self._chunk_at, offset = self._pos, 0
            if not self._chunk:
                # As ReaderBody does: never pad, never end a body silently short
                # (waitress logs this and closes the connection).
                raise errors.InternalError("object shorter than its recorded size")
        view = memoryview(self._chunk)[offset : offset + want]
        self._pos += len(view)
        return view
