"""The request-body pipe: bounded, file-like reads, ends short when the client goes."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from s3server.streaming import PIPE_LIMIT, StreamingBody


def _body(length: int, timeout: float = 5.0) -> tuple[StreamingBody, list[str]]:
    events: list[str] = []
    body = StreamingBody(
        length,
        timeout=timeout,
        wake=lambda: events.append("wake"),
        on_abandon=lambda: events.append("abandon"),
    )
    return body, events


def test_the_pipe_stops_asking_for_data_when_full() -> None:
    """Memory per connection is bounded: a full pipe wants no more bytes."""
    body, events = _body(10 * PIPE_LIMIT)
    while body.wants_data():
        body.feed(b"a" * 65536)
    assert len(body) == PIPE_LIMIT
    assert body.read(PIPE_LIMIT) == b"a" * PIPE_LIMIT
    assert "wake" in events  # the loop is told it may read again
    assert body.wants_data()


@given(
    data=st.binary(min_size=1, max_size=5000),
    feeds=st.lists(st.integers(1, 700), min_size=1),
    reads=st.lists(st.integers(1, 900), min_size=1),
)
def test_reads_return_exactly_what_was_fed(
    data: bytes, feeds: list[int], reads: list[int]
) -> None:
    """Any split of the feeding and of the reads gives back the same bytes."""
    body, _ = _body(len(data))
    pos = 0
    sizes = iter(feeds * (len(data) // min(feeds) + 1))

    def feeder() -> None:
        nonlocal pos
        while pos < len(data):
            step = next(sizes)
            pos += body.feed(data[pos : pos + step])

    thread = threading.Thread(target=feeder)
    thread.start()
    out = bytearray()
    for size in reads * (len(data) + 1):
        chunk = body.read(size)
        # A read is short only at the end of the body.
        assert len(chunk) == size or len(out) + len(chunk) == len(data)
        out += chunk
        if not chunk:
            break
    thread.join()
    assert bytes(out) == data


def test_a_connection_that_closes_ends_the_body_short() -> None:
    """The reader sees fewer bytes than Content-Length, never a hang."""
    body, _ = _body(100)
    body.feed(b"x" * 40)
    body.abort()
    assert body.read(100) == b"x" * 40
    assert body.read(100) == b""


def test_a_stalled_client_times_out_and_the_connection_is_dropped() -> None:
    """No bytes for ``timeout`` seconds: the read ends and the channel will close."""
    body, events = _body(100, timeout=0.05)
    assert body.read(10) == b""
    assert "abandon" in events


def test_closing_with_much_left_closes_the_connection() -> None:
    """An application done early makes the rest be dropped, or the connection end."""
    small, small_events = _body(1000)
    small.close()
    assert "abandon" not in small_events
    assert small.wants_data()  # the rest is read and dropped
    big, big_events = _body(100 * PIPE_LIMIT)
    big.close()
    assert "abandon" in big_events
