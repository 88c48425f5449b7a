"""GET bodies of stored files sent with ``sendfile(2)``, from the file to the socket.

This module owns the zero-copy path of the standalone server. waitress sends a
``wsgi.file_wrapper`` body by reading blocks of the file into Python ``bytes`` and
writing them to the socket: every byte is copied into a fresh buffer and out again.
Here the file-like body handed to the wrapper answers ``read`` with a ``FileSpan``
(which descriptor, from where, how much) instead of bytes, and the channel's ``send``
passes a span to ``os.sendfile``: the kernel moves the bytes from the page cache.

Only a server whose channel understands spans may be given such a body: ours says so
in the WSGI environ (``ENVIRON_KEY``), and the app falls back to plain chunks
anywhere else. waitress keeps its own bookkeeping (what is left, when the body is
done, closing it when the client goes away): it moves through the body with
``tell``/``seek`` and ``read``, which is all the body implements. That part,
``PositionedBody``, is shared with ``inline.ReaderSpanBody``, whose ``read`` gives
bytes of any object reader.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from typing import Any

import waitress.wasyncore

__all__ = [
    "ENVIRON_KEY",
    "FileSpan",
    "PositionedBody",
    "SendfileBody",
    "SendfileChannelMixin",
]

# Set (to True) in the environ by a server whose channel sends FileSpans.
ENVIRON_KEY = "s3server.sendfile"
# The errors after which waitress's own send treats the client as gone.
_DISCONNECTED = waitress.wasyncore._DISCONNECTED


class FileSpan:
    """``length`` bytes of the open file ``fd`` from ``offset``: a body chunk to send
    with ``sendfile`` rather than bytes."""

    __slots__ = ("fd", "length", "offset")

    def __init__(self, fd: int, offset: int, length: int) -> None:
        self.fd = fd
        self.offset = offset
        self.length = length

    def __len__(self) -> int:
        return self.length


class PositionedBody:
    """``length`` bytes of a source from ``start``, as waitress's file wrapper reads
    them: it moves through the body with ``seek``/``tell``, asks ``read`` for the
    next chunk, and calls ``close`` once. Subclasses say what ``read`` gives.

    Args:
        start: the first byte to send.
        length: how many bytes to send.
        on_close: called once with the number of bytes the client was sent (the
            position reached), when waitress is done with the body or the client
            went away.
    """

    def __init__(
        self, start: int, length: int, on_close: Callable[[int], None]
    ) -> None:
        self._start = start
        self._end = start + length
        self._pos = start
        self._on_close: Callable[[int], None] | None = on_close

    def tell(self) -> int:
        return self._pos - self._start

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        # waitress seeks twice per chunk it sends: no mapping built per call.
        if whence == os.SEEK_CUR:
            base = self._pos
        elif whence == os.SEEK_END:
            base = self._end
        elif whence == os.SEEK_SET:
            base = self._start
        else:
            raise ValueError(f"invalid whence: {whence}")
        self._pos = min(max(base + offset, self._start), self._end)
        return self.tell()

    def _take(self, n: int | None) -> int:
        """How many bytes a ``read(n)`` gives from here (the position moves on)."""
        left = self._end - self._pos
        want = left if n is None or n < 0 else min(n, left)
        return max(want, 0)

    def close(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close(self._pos - self._start)


class SendfileBody(PositionedBody):
    """Bytes of an open file (``fd``, owned by whoever ``on_close`` releases):
    ``read`` gives ``FileSpan``s, which only our channel sends."""

    def __init__(
        self, fd: int, start: int, length: int, on_close: Callable[[int], None]
    ) -> None:
        super().__init__(start, length, on_close)
        self._fd = fd

    def read(self, n: int = -1, /) -> FileSpan | bytes:
        want = self._take(n)
        if not want:
            return b""
        span = FileSpan(self._fd, self._pos, want)
        self._pos += want
        return span


class SendfileChannelMixin:
    """The channel side: a ``FileSpan`` chunk goes out through ``os.sendfile``.

    Mixed into waitress's ``HTTPChannel``; anything else goes to its ``send``.
    """

    socket: Any
    handle_close: Callable[[], None]

    def send(self, data: Any, do_close: bool = True) -> int:
        if data.__class__ is not FileSpan:
            return super().send(data, do_close=do_close)  # type: ignore[misc,no-any-return]
        try:
            sent = os.sendfile(self.socket.fileno(), data.fd, data.offset, data.length)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return 0
            if exc.errno in _DISCONNECTED:
                if do_close:
                    self.handle_close()
                return 0
            raise
        if sent == 0 and do_close:
            # The file ended before the length its record gives (truncated by
            # hand): the promised Content-Length cannot be met, so the connection
            # ends here rather than wait forever for bytes that will not come.
            self.handle_close()
        return sent
