"""A worker's writes reach the socket in order, whether the socket takes them whole,
in part or not at all (s3server.direct_send).

The channel is waitress's, with our mixin, on a real socket pair whose buffers are
small, so that sends are partial; the test plays the event loop (``handle_write``)
between the worker's writes, as waitress's loop does when the trigger wakes it.
"""

from __future__ import annotations

import contextlib
import select
import socket
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel

from s3server.direct_send import DirectSendChannelMixin
from s3server.server import waitress_settings


class _Channel(DirectSendChannelMixin, HTTPChannel):  # type: ignore[misc]
    """Our write path over waitress's channel (the server mixes in more)."""


@contextlib.contextmanager
def _small_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected pair whose buffers take only a few KiB."""
    ours, peer = socket.socketpair()
    with ours, peer:
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        ours.setblocking(False)
        peer.setblocking(False)
        yield ours, peer


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    with _small_pair() as both:
        yield both


def _channel(ours: socket.socket, pulls: list[int]) -> _Channel:
    adj = Adjustments(**waitress_settings(threads=1))
    server = SimpleNamespace(pull_trigger=lambda: pulls.append(1), active_channels={})
    return _Channel(server, ours, ("peer", 0), adj, map={})


def _drain(peer: socket.socket, received: bytearray) -> None:
    while select.select([peer], [], [], 0)[0]:
        data = peer.recv(1 << 16)
        if not data:
            return
        received += data


def _finish(channel: _Channel, peer: socket.socket, received: bytearray) -> None:
    """Play the loop until everything queued is sent, reading as a client would."""
    for _ in range(100_000):
        _drain(peer, received)
        if not channel.total_outbufs_len:
            return
        channel.handle_write()
    raise AssertionError("the channel never emptied its queue")


@settings(max_examples=40, deadline=None)
@given(
    chunks=st.lists(
        st.integers(min_value=1, max_value=200_000),
        min_size=1,
        max_size=6,
    ),
    reads=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_bytes_arrive_in_order(chunks: list[int], reads: list[bool]) -> None:
    """Any sequence of writes, with or without the client reading between them,
    arrives whole and in order."""
    with _small_pair() as (ours, peer):
        channel = _channel(ours, [])
        payloads = [bytes([65 + i % 26]) * size for i, size in enumerate(chunks)]
        received = bytearray()
        for payload, read in zip(payloads, reads, strict=False):
            assert channel.write_soon(payload) == len(payload)
            if read:
                _drain(peer, received)
                channel.handle_write()
        _finish(channel, peer, received)
        assert bytes(received) == b"".join(payloads)


def test_what_the_socket_refuses_is_queued_for_the_loop(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """A write larger than the socket takes is sent in part, the rest queued and
    the loop woken; a small write with an empty queue is sent without queueing."""
    ours, peer = pair
    pulls: list[int] = []
    channel = _channel(ours, pulls)
    assert channel.write_soon(b"h" * 100) == 100
    assert channel.total_outbufs_len == 0 and not pulls
    big = b"b" * (1 << 20)
    assert channel.write_soon(big) == len(big)
    assert 0 < channel.total_outbufs_len < len(big)
    assert pulls, "the loop must be woken to send the rest"
    received = bytearray()
    _drain(peer, received)  # room in the socket again, the rest still queued
    assert channel.total_outbufs_len
    tail = b"t" * 10  # must queue behind the rest, not go ahead of it
    channel.write_soon(tail)
    _finish(channel, peer, received)
    assert bytes(received) == b"h" * 100 + big + tail


def test_a_closed_peer_leaves_the_channel_to_waitress(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """When the client is gone, the worker's write raises nothing: it is queued as
    waitress queues it, the loop is woken, and the loop closes the channel."""
    ours, peer = pair
    pulls: list[int] = []
    channel = _channel(ours, pulls)
    peer.close()
    assert channel.write_soon(b"y" * 100) == 100
    assert channel.total_outbufs_len == 100
    assert pulls
    channel.handle_write()
    assert not channel.connected
