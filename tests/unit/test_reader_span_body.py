"""``ReaderSpanBody`` read the way waitress reads a ``wsgi.file_wrapper`` body.

waitress wraps the body in its ``ReadOnlyFileBasedBuffer``, asks it how much there
is (``prepare``), then repeatedly peeks a chunk (``get``: tell, read, seek back),
sends what the socket takes, and skips that much (``skip``: seek forward). Driven
through the real buffer class with arbitrary socket acceptance, the bytes sent must
be exactly the requested range of the stored object, whatever the chunking.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from waitress.buffers import ReadOnlyFileBasedBuffer

from s3core import errors
from s3core.backends.memory import MemoryBackend
from s3core.models import ObjectMeta
from s3server.inline import ReaderSpanBody


def _stored(data: bytes) -> MemoryBackend:
    backend = MemoryBackend()
    backend.create_bucket("b", owner_id="o", created=dt.datetime(2026, 1, 1))
    writer = backend.open_writer("b", "k")
    writer.write(data)
    writer.commit(ObjectMeta(), etag="e")
    return backend


def _send_all(
    buffer: ReadOnlyFileBasedBuffer, peeks: list[int], takes: list[int]
) -> bytes:
    """What waitress's _flush_some sends: peek ``peek`` bytes, the socket takes
    ``take`` of them (0 when it is full), skip what was taken."""
    sent = bytearray()
    turn = 0
    while len(buffer):
        peek = peeks[turn % len(peeks)]
        chunk = buffer.get(peek)
        taken = min(takes[turn % len(takes)], len(chunk))
        sent += bytes(chunk[:taken])
        buffer.skip(taken, True)
        turn += 1
        assert turn < 100_000, "no progress"
    return bytes(sent)


@given(
    size=st.integers(1, 5000),
    bounds=st.tuples(st.integers(0, 5000), st.integers(1, 5000)),
    peeks=st.lists(st.integers(1, 3000), min_size=1, max_size=5),
    takes=st.lists(st.integers(0, 1000), min_size=1, max_size=5).filter(any),
)
def test_sends_exactly_the_range(
    size: int, bounds: tuple[int, int], peeks: list[int], takes: list[int]
) -> None:
    # Every byte tells its position (mod 251): a chunk sent from the wrong offset
    # cannot look right by accident, as runs of equal bytes would.
    data = bytes(i % 251 for i in range(size))
    start = min(bounds[0], len(data) - 1)
    length = min(bounds[1], len(data) - start)
    closed: list[int] = []
    body = ReaderSpanBody(
        _stored(data).open_object("b", "k"), start, length, closed.append
    )
    buffer = ReadOnlyFileBasedBuffer(body)
    assert buffer.prepare(length) == length  # seekable: waitress sends it itself
    assert _send_all(buffer, peeks, takes) == data[start : start + length]
    buffer.close()
    assert closed == [length]


def test_close_reports_what_was_sent_so_far() -> None:
    closed: list[int] = []
    body = ReaderSpanBody(
        _stored(b"x" * 100).open_object("b", "k"), 10, 80, closed.append
    )
    buffer = ReadOnlyFileBasedBuffer(body)
    buffer.prepare(80)
    buffer.skip(len(buffer.get(30)), True)
    buffer.close()
    buffer.close()
    assert closed == [30]


def test_a_reader_shorter_than_promised_raises() -> None:
    """A body that cannot fill its Content-Length must not end silently: waitress
    logs the error and closes the connection."""
    reader = _stored(b"abc").open_object("b", "k")
    body = ReaderSpanBody(reader, 0, 10, lambda sent: None)
    assert bytes(body.read(10)) == b"abc"
    with pytest.raises(errors.InternalError):
        body.read(10)
