"""``s3core.http.parse_query`` against the standard library's ``parse_qsl``.

Routing and SigV4 verification read every request's query through it; it must
decode exactly as ``parse_qsl(raw, keep_blank_values=True)`` with the first value of
a repeated name kept, for any raw query a client can send.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

from hypothesis import example, given
from hypothesis import strategies as st

from s3core.http import parse_query

# Query pieces clients send, and the characters that change decoding: separators,
# '+', percent escapes (valid, truncated, of bytes that are not UTF-8).
_pieces = st.one_of(
    st.sampled_from(
        ["&", "=", "+", "%", "%2", "%2F", "%C3%A9", "%FF", "%zz", ";", " "]
    ),
    st.text(alphabet="abcXYZ-_.~09", min_size=1, max_size=6),
    st.text(max_size=4).map(lambda text: quote(text, safe="")),
)


def _stdlib(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        out.setdefault(name, value)
    return out


@given(st.lists(_pieces, max_size=20).map("".join))
@example("X-Amz-Credential=AK%2F20261125%2Fus-east-1%2Fs3%2Faws4_request&a=1&a=2")
@example("uploads&prefix=&delimiter=%2F&&=x&key+name=v+w")
def test_decodes_as_parse_qsl(raw: str) -> None:
    assert parse_query(raw) == _stdlib(raw)
