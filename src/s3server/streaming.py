"""Request bodies streamed to the application while they arrive, not spooled.

waitress receives a whole request body before it runs the application, keeping it in
memory up to ``inbuf_overflow`` (512 KiB) and in a temporary file beyond. For an
object store that means every large PUT is written to disk twice (the spool, then the
object) and the application cannot answer an unauthorised 5 GiB PUT before all of it
has arrived. This module owns the alternative: once the headers of a request with a
``Content-Length`` over ``inbuf_overflow`` are parsed, the request is dispatched at
once and its body flows through a bounded in-memory pipe (``StreamingBody``) from
waitress's event loop to the worker thread that reads ``wsgi.input``. The loop stops
reading the socket while the pipe is full, so memory per connection stays bounded
whatever the body size, and TCP flow control slows the client down.

Smaller bodies and ``Transfer-Encoding: chunked`` bodies keep waitress's own
buffering (small ones are cheaper in one piece; chunked ones are rare for S3 and have
no length to stream against). It must not change what a request means: the
application sees the same environ and the same bytes, only sooner.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

import waitress.channel
import waitress.parser

from s3server.head_parser import parse_head

__all__ = ["StreamingBody", "StreamingChannelMixin", "StreamingParser"]

# The pipe holds at most this many bytes per connection before the event loop stops
# reading from the socket (4 MiB: a few of the 1 MiB chunks the backends write).
PIPE_LIMIT = 4 * 1024 * 1024
# A body abandoned by the application (an error answered before reading it all) is
# read and dropped up to this many remaining bytes, so the connection can be reused;
# beyond, the connection is closed after the response, as S3 does.
DRAIN_LIMIT = 1024 * 1024


class StreamingBody:
    """A bounded pipe of body bytes: the event loop feeds it, a worker reads it.

    Args:
        length: the request's Content-Length.
        timeout: seconds a reader waits for the next bytes before it treats the
            client as gone (waitress's ``channel_timeout``).
        wake: wakes the event loop (so it reads again once the pipe has room).
        on_abandon: called when the application closes the body with more than
            ``DRAIN_LIMIT`` bytes still to come.
    """

    def __init__(
        self,
        length: int,
        *,
        timeout: float,
        wake: Callable[[], None],
        on_abandon: Callable[[], None],
    ) -> None:
        self._cond = threading.Condition()
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._to_receive = length  # bytes the socket has still to deliver
        self._aborted = False  # the connection closed before the body ended
        self._discard = False  # the application is done with the body
        self._timeout = timeout
        self._wake = wake
        self._on_abandon = on_abandon

    # -- the event loop's side ----------------------------------------------------

    @property
    def receiving(self) -> bool:
        """Whether body bytes are still expected from the socket."""
        return self._to_receive > 0 and not self._aborted

    def wants_data(self) -> bool:
        """Whether the loop should read the socket now (the pipe has room)."""
        with self._cond:
            return self.receiving and (self._discard or self._buffered < PIPE_LIMIT)

    def feed(self, data: bytes) -> int:
        """Take the body's share of ``data``; returns how many bytes it took."""
        n = min(len(data), self._to_receive)
        with self._cond:
            self._to_receive -= n
            if not self._discard and n:
                self._chunks.append(data[:n] if n < len(data) else data)
                self._buffered += n
            self._cond.notify_all()
        return n

    def abort(self) -> None:
        """The connection is gone: a waiting reader sees the body end short."""
        with self._cond:
            self._aborted = True
            self._cond.notify_all()

    # -- the worker's side (wsgi.input) -------------------------------------------

    def read(self, size: int | None = -1, /) -> bytes:
        """``size`` bytes, fewer only at the end (all that remain if negative).

        Blocking until all of them are there, like a file: readers such as Falcon's
        ``BoundedStream`` count a short read as the end of the body.
        """
        parts: list[bytes] = []
        if size is None or size < 0:
            while part := self._read_some(PIPE_LIMIT):
                parts.append(part)
            return b"".join(parts)
        while size > 0:
            part = self._read_some(size)
            if not part:
                break
            parts.append(part)
            size -= len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _read_some(self, size: int) -> bytes:
        # Up to ``size`` bytes: waits until that many are buffered, the pipe is
        # full (its limit may be below ``size``), or the body ends.
        with self._cond:
            deadline = time.monotonic() + self._timeout
            while self._buffered < min(size, PIPE_LIMIT) and self.receiving:
                left = deadline - time.monotonic()
                if left <= 0:  # the client stalled: give up on it
                    self._aborted = True
                    self._on_abandon()
                    break
                self._cond.wait(left)
            was_full = self._buffered >= PIPE_LIMIT
            data = self._take(size)
        if was_full:
            self._wake()
        return data

    def readline(self, size: int | None = -1, /) -> bytes:
        """WSGI requires it; S3 bodies are never read by line. Reads byte-wise."""
        line = bytearray()
        while size is None or size < 0 or len(line) < size:
            byte = self.read(1)
            line += byte
            if not byte or byte == b"\n":
                break
        return bytes(line)

    def close(self) -> None:
        """The application is done: drop what is buffered and what is to come."""
        with self._cond:
            self._discard = True
            self._chunks.clear()
            self._buffered = 0
            abandon = self._to_receive > DRAIN_LIMIT and not self._aborted
        if abandon:
            self._on_abandon()
        self._wake()

    # waitress calls these on a body receiver
    def getfile(self) -> StreamingBody:
        return self

    def getbuf(self) -> StreamingBody:
        return self

    def __len__(self) -> int:
        return self._buffered

    def _take(self, size: int) -> bytes:
        out: list[bytes] = []
        while size > 0 and self._chunks:
            chunk = self._chunks.popleft()
            if len(chunk) > size:
                self._chunks.appendleft(chunk[size:])
                chunk = chunk[:size]
            out.append(chunk)
            size -= len(chunk)
            self._buffered -= len(chunk)
        return out[0] if len(out) == 1 else b"".join(out)


class StreamingParser(waitress.parser.HTTPRequestParser):  # type: ignore[misc]
    """waitress's parser, ending a request at its headers when its body streams.

    The channel sets ``may_stream`` before each ``received`` call: a body may only
    stream when no earlier request on the connection is still being answered.
    """

    may_stream = False
    streams = False  # this request ended at its headers; its body streams
    completed: bool
    headers_finished: bool
    chunked: bool
    error: Any
    content_length: int
    adj: Any
    body_rcv: Any

    def received(self, data: bytes) -> int:
        consumed: int = super().received(data)
        if (
            self.may_stream
            and self.headers_finished
            and not self.completed
            and not self.chunked
            and self.error is None
            and self.content_length > self.adj.inbuf_overflow
        ):
            self.completed = True  # dispatch now; the channel feeds the body
            self.streams = True
        return consumed

    def parse_header(self, header_plus: bytes) -> None:
        parse_head(self, header_plus)

    def start_stream(self, body: StreamingBody) -> None:
        """Make ``body`` this request's ``wsgi.input``."""
        self.body_rcv = body


class StreamingChannelMixin:
    """The channel side: routes body bytes to the pipe and reads only when it has room.

    Mixed into waitress's ``HTTPChannel`` (it relies on its attributes); the
    ``received`` below is waitress's own, plus the routing of streamed bodies.
    """

    parser_class = StreamingParser
    _stream: StreamingBody | None = None

    adj: Any
    server: Any
    request: Any
    requests: list[Any]
    requests_lock: threading.Lock
    will_close: bool
    close_when_flushed: bool
    sent_continue: bool
    total_outbufs_len: int
    # From inline.InlineChannelMixin: which requests the loop runs itself.
    runs_inline: Callable[[Any], bool]
    service_inline: Callable[[], None]

    def readable(self) -> bool:
        # The event loop asks every connection on every turn: HTTPChannel.readable
        # is inlined below rather than reached through super() (measured: these
        # calls were a tenth of the CPU of a small GET).
        if self.will_close or self.close_when_flushed:
            return False
        stream = self._stream
        if stream is not None and stream.receiving:
            return stream.wants_data()
        return not (
            len(self.requests) > self.adj.channel_request_lookahead
            or self.total_outbufs_len
        )

    def handle_close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.abort()
        super().handle_close()  # type: ignore[misc]

    def cancel(self) -> None:
        stream = self._stream
        if stream is not None:
            stream.abort()
        super().cancel()  # type: ignore[misc]

    def received(self, data: bytes) -> bool:
        if not data:
            return False
        inline = False
        with self.requests_lock:
            if self.will_close or self.close_when_flushed:
                return False
            while data:
                stream = self._stream
                if stream is not None:
                    taken = stream.feed(data)
                    if not stream.receiving:
                        self._stream = None
                    data = data[taken:]
                    continue
                if self.request is None:
                    self.request = self.parser_class(self.adj)
                request = self.request
                request.may_stream = not self.requests
                n = request.received(data)
                if (
                    request.expect_continue
                    and request.headers_finished
                    and not self.requests
                    and not self.sent_continue
                ):
                    self.send_continue()
                if request.completed:
                    self.sent_continue = False
                    if request.streams:
                        self._stream = StreamingBody(
                            request.content_length,
                            timeout=self.adj.channel_timeout,
                            wake=self.server.pull_trigger,
                            on_abandon=self._close_after_response,
                        )
                        request.start_stream(self._stream)
                    if not request.empty:
                        self.requests.append(request)
                        if len(self.requests) == 1:
                            inline = self.runs_inline(request)
                            if not inline:
                                self.server.add_task(self)
                    self.request = None
                if n >= len(data):
                    break
                data = data[n:]
        if inline:
            self.service_inline()  # after the lock: service() takes it
        return True

    def send_continue(self) -> None:
        # waitress writes "100 Continue" and then marks the request incomplete, so
        # that the body which follows goes through the parser. A request that is
        # already complete (streamed: its body comes through the pipe; or with no
        # body at all: boto3 sends "Expect: 100-continue" on every PutObject, also
        # empty ones) would then wait forever for bytes that never come. RFC 9110
        # 10.1.1 lets a server omit the 100 for it, but botocore, when a final
        # response comes in its place, keeps that status line for the next Expect
        # request on the connection and misreads that request's response (a 60 s
        # hang after every empty PutObject). So send the 100 and keep it complete.
        request = self.request
        if request is None or not request.completed:
            super().send_continue()  # type: ignore[misc]
            return
        request.expect_continue = False
        payload = b"HTTP/1.1 100 Continue\r\n\r\n"
        with self.outbuf_lock:  # type: ignore[attr-defined]
            self.outbufs[-1].append(payload)  # type: ignore[attr-defined]
            self.current_outbuf_count += len(payload)  # type: ignore[attr-defined]
            self.total_outbufs_len += len(payload)
            self.sent_continue = True
            self._flush_some()  # type: ignore[attr-defined]

    def _close_after_response(self) -> None:
        # No lock: waitress may call this (through request.close()) while holding
        # requests_lock, and a flag the loop reads needs none.
        self.close_when_flushed = True
