"""s3server.head_parser agrees with waitress's own parse_header on any request head.

The fast parser replaces waitress's for speed only: for every head, well-formed or
not, it must leave the parser in the same state or raise the same error. The
reference is the installed waitress, so a release that changes its parser shows up
here.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from waitress.adjustments import Adjustments
from waitress.parser import HTTPRequestParser

from s3server.head_parser import parse_head

ADJ = Adjustments()

# What a parse leaves behind that the channel or the WSGI environ reads.
STATE = (
    "first_line",
    "headers",
    "command",
    "version",
    "request_uri",
    "proxy_scheme",
    "proxy_netloc",
    "path",
    "query",
    "fragment",
    "url_scheme",
    "connection_close",
    "chunked",
    "expect_continue",
    "content_length",
)


def outcome(parse: Any, head: bytes) -> tuple[Any, ...]:
    """(error type and args) or (the parser's state, its body receiver's shape)."""
    parser = HTTPRequestParser(ADJ)
    try:
        parse(parser, head)
    except Exception as err:  # the comparison is the point: any error must match
        return ("error", type(err), err.args)
    body = parser.body_rcv
    shape = None if body is None else (type(body), getattr(body, "remain", None))
    return ("parsed", {name: getattr(parser, name, None) for name in STATE}, shape)


def waitress_parse(parser: HTTPRequestParser, head: bytes) -> None:
    parser.parse_header(head)


def agree(head: bytes) -> None:
    assert outcome(parse_head, head) == outcome(waitress_parse, head)


# --- examples -------------------------------------------------------------------

SIGNED_GET = (
    b"GET /bucket/some%20key.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
    b"AK%2F20261124%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abc HTTP/1.1\r\n"
    b"Host: 127.0.0.1:9000\r\nUser-Agent: wrk\r\nAccept-Encoding: identity\r\n"
    b"X-Amz-Date: 20261124T120000Z\r\nX-Amz-Content-SHA256: UNSIGNED-PAYLOAD"
)


@pytest.mark.parametrize(
    "head",
    [
        SIGNED_GET,
        b"PUT /b/k HTTP/1.1\r\nContent-Length: 4096\r\nExpect: 100-continue",
        b"PUT /b/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5",
        b"PUT /b/k HTTP/1.1\r\nTransfer-Encoding: gzip, chunked",
        b"PUT /b/k HTTP/1.1\r\nTransfer-Encoding: chunked\x85",
        b"PUT /b/k HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3",
        b"GET /b/k HTTP/1.0\r\nConnection: Keep-Alive",
        b"GET /b/k HTTP/1.1\r\nConnection: close\r\nConnection: x",
        b"PUT /b/k HTTP/1.1\r\nContent-Length: -1",
        b"PUT /b/k HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1",
        b"GET /b/k HTTP/1.1\r\nX-Amz-Meta-A: 1\r\nx-amz-meta-a: 2\r\nX_Amz_Meta_A: 3",
        b"GET /b/k HTTP/1.1\r\nX-Folded: a\r\n\tb\r\n c",
        b"GET /b/k HTTP/1.1\r\n folded-first: a",
        b"GET /b/k HTTP/1.1\r\nBad Name: a",
        b"GET /b/k HTTP/1.1\r\nX: a\rb",
        b"GET /b/k\r HTTP/1.1\r\nX: a",
        b"GET /b/k HTTP/1.1",
        b"GET /b/k HTTP/1.1\r\n",
        b"get /b/k HTTP/1.1\r\nX: a",
        b"GET //b/k?q#f HTTP/1.1\r\nX: a",
        b"GET http://host:9000/b/k?q=1#f HTTP/1.1\r\nX: a",
        b"GET * HTTP/1.1\r\nX: a",
        b"GET /b/\xc3\xa9?x=\xff HTTP/1.1\r\nX: a",
        b"GET /b/k\t1?a=\tb HTTP/1.1\r\nX: a",
        b"GET /b/k%2F%00%zz?a=%41#%42 HTTP/1.1\r\nX: a",
        b"GET /b:c/k HTTP/1.1\r\nX: a",
        b"GET /b/k HTTP/2.0\r\nX: a",
        b"GET /b/k\r\nX: a",
        b"GET / HTTP/1.0\r\n",
    ],
)
def test_examples_agree(head: bytes) -> None:
    """Requests SDKs send, and the malformed ones waitress refuses, parse the same."""
    agree(head)


# --- any head -------------------------------------------------------------------

methods = st.sampled_from([b"GET", b"PUT", b"HEAD", b"DELETE", b"POST", b"get", b"M-X"])
target_bytes = st.sampled_from(
    [
        *(b"/", b"b", b"k", b"?", b"#", b"%", b"2F", b"%41", b"=", b"&", b":", b"//"),
        *(b"\t", b"\xc3\xa9", b"\xff", b"+", b"~", b"http://h", b"*", b"\x00", b" "),
    ]
)
# Mostly origin-form (the short cut), some of every other form.
target_starts = st.sampled_from([b"/", b"/", b"/", b"", b"//", b"http://h/", b"*"])
targets = st.tuples(target_starts, st.lists(target_bytes, max_size=8)).map(
    lambda parts: parts[0] + b"".join(parts[1])
)
versions = st.sampled_from([b" HTTP/1.1", b" HTTP/1.0", b"", b" HTTP/2.0", b" HTTP/x"])
names = st.sampled_from(
    [
        *(b"Content-Length", b"Transfer-Encoding", b"Connection", b"Expect", b"Host"),
        *(b"X-Amz-Meta-A", b"x-amz-meta-a", b"X_Under", b"content-length", b"Bad Name"),
        *(b"X-Amz-Date", b"", b"\xe9"),
    ]
)
value_bytes = st.sampled_from(
    [
        *(b"chunked", b"gzip", b",", b" ", b"\t", b"0", b"7", b"-1", b"close"),
        *(b"keep-alive", b"100-continue", b"\x85", b"\xff", b"\r", b"\n", b"a"),
    ]
)
values = st.lists(value_bytes, max_size=5).map(b"".join)
header_lines = st.lists(
    st.one_of(
        st.tuples(names, values).map(lambda nv: nv[0] + b":" + nv[1]),
        values.map(lambda v: b" " + v),  # a folded continuation
    ),
    max_size=8,
)


@settings(max_examples=1000, deadline=None)
@given(methods, targets, versions, header_lines, st.booleans())
def test_any_head_agrees(
    method: bytes, target: bytes, version: bytes, lines: list[bytes], crlf: bool
) -> None:
    """Arbitrary request lines and header fields: same state, or the same error."""
    head = method + b" " + target + version + b"\r\n" + b"\r\n".join(lines)
    agree(head + (b"\r\n" if crlf else b""))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_agree(head: bytes) -> None:
    """Whatever bytes come before the blank line, the two parsers agree."""
    agree(head)
