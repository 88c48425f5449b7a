"""The streaming channel's ``readable`` is waitress's rule while no body streams.

``StreamingChannelMixin.readable`` inlines waitress's ``HTTPChannel.readable`` (the
event loop asks every connection on every turn, and the call through ``super()``
cost a tenth of a small GET). The reference here is the installed waitress: if a
release changes its rule, this test fails instead of the copy going stale.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from waitress.channel import HTTPChannel

from s3server.streaming import StreamingChannelMixin


class _Channel(StreamingChannelMixin, HTTPChannel):  # type: ignore[misc]
    """The mix the server uses, built without a socket: only state is set."""


def _channel(state: dict[str, Any]) -> _Channel:
    channel = _Channel.__new__(_Channel)  # no socket, no event loop
    for name, value in state.items():
        setattr(channel, name, value)
    return channel


@given(
    will_close=st.booleans(),
    close_when_flushed=st.booleans(),
    queued=st.integers(min_value=0, max_value=6),
    lookahead=st.integers(min_value=0, max_value=5),
    outbufs=st.sampled_from([0, 1, 4096, 1 << 20]),
)
def test_readable_is_waitress_rule_without_a_stream(
    will_close: bool,
    close_when_flushed: bool,
    queued: int,
    lookahead: int,
    outbufs: int,
) -> None:
    channel = _channel(
        {
            "will_close": will_close,
            "close_when_flushed": close_when_flushed,
            "requests": [object()] * queued,
            "adj": SimpleNamespace(channel_request_lookahead=lookahead),
            "total_outbufs_len": outbufs,
            "_stream": None,
        }
    )
    assert channel.readable() == HTTPChannel.readable(channel)
