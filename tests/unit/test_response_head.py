"""s3server.response_head makes waitress's decisions, except the ones it documents.

The reference is the installed waitress's ``Task.build_response_header``, run on a
real waitress request parsed from bytes. Ours must produce the same bytes, the same
close and chunked decisions, except: a bodiless (1xx, 204, 304) HTTP/1.1 response
keeps the connection open, no ``Via`` header, and ``x-amz-meta-*`` names as given.
"""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st
from waitress.adjustments import Adjustments
from waitress.parser import HTTPRequestParser
from waitress.task import Task

from s3server.response_head import response_head

IDENT = "s3server"
START = 1_764_000_000.0

STATUSES = (
    "100 Continue",
    "200 OK",
    "204 No Content",
    "206 Partial Content",
    "304 Not Modified",
    "404 Not Found",
    "500 Internal Server Error",
)
NAMES = (
    "content-length",
    "Content-Length",
    "content-type",
    "etag",
    "ETag",
    "last-modified",
    "date",
    "Date",
    "server",
    "x-amz-request-id",
    "x-amz-id-2",
    "accept-ranges",
    "x-amz-version-id",
)
VALUES = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=12,
)
CONNECTIONS = ("", "close", "keep-alive", "Keep-Alive", "CLOSE")


def _request(version: str, connection: str) -> HTTPRequestParser:
    head = f"GET /b/k HTTP/{version}\r\nHost: x\r\n"
    if connection:
        head += f"Connection: {connection}\r\n"
    parser = HTTPRequestParser(Adjustments())
    parser.received((head + "\r\n").encode())
    assert parser.completed
    return parser


def _waitress(
    version: str,
    status: str,
    headers: list[tuple[str, str]],
    content_length: int | None,
    connection: str,
    closing: bool,
) -> tuple[bytes, bool, bool]:
    channel = SimpleNamespace(server=SimpleNamespace(adj=Adjustments(ident=IDENT)))
    task = Task(channel, _request(version, connection))
    task.status = status
    task.response_headers = list(headers)
    task.content_length = content_length
    task.start_time = START
    if closing:
        task.set_close_on_finish()
    data = task.build_response_header()
    return data, task.close_on_finish, task.chunked_response


def _documented_differences(
    data: bytes, close: bool, version: str, status: str, connection: str
) -> tuple[bytes, bool]:
    """waitress's answer with our three documented departures applied."""
    lines = data.split(b"\r\n")
    lines = [line for line in lines if not line.startswith(b"Via: ")]
    bodiless = status.startswith(("1", "204", "304"))
    if version == "1.1" and bodiless and connection.lower() != "close":
        lines = [line for line in lines if line != b"Connection: close"]
        close = False
    return b"\r\n".join(lines), close


@given(
    version=st.sampled_from(("1.0", "1.1")),
    status=st.sampled_from(STATUSES),
    headers=st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=8),
    content_length=st.none() | st.integers(0, 10**12),
    connection=st.sampled_from(CONNECTIONS),
)
def test_same_head_as_waitress_but_for_documented_departures(
    version: str,
    status: str,
    headers: list[tuple[str, str]],
    content_length: int | None,
    connection: str,
) -> None:
    """Bytes, close and chunked equal waitress's, after the documented departures."""
    data, close, chunked = _waitress(
        version, status, headers, content_length, connection, closing=False
    )
    expected, expected_close = _documented_differences(
        data, close, version, status, connection
    )
    head = response_head(
        version=version,
        status=status,
        headers=headers,
        content_length=content_length,
        request_connection=_request(version, connection)
        .headers.get("CONNECTION", "")
        .lower(),
        ident=IDENT,
        start_time=START,
    )
    assert head.data == expected
    assert head.close == expected_close
    assert head.chunked == chunked


def test_bodiless_responses_keep_an_http11_connection() -> None:
    """204 and 304 keep HTTP/1.1 connections open; waitress closes them."""
    for status in ("204 No Content", "304 Not Modified"):
        head = response_head(
            version="1.1",
            status=status,
            headers=[("date", "x"), ("server", IDENT)],
            content_length=None,
            request_connection="",
            ident=IDENT,
            start_time=START,
        )
        assert not head.close
        assert b"Connection" not in head.data
        assert b"Content-Length" not in head.data
        waitress_data, waitress_close, _ = _waitress(
            "1.1", status, [("date", "x"), ("server", IDENT)], None, "", False
        )
        assert waitress_close and b"Connection: close" in waitress_data


def test_a_server_decision_to_close_is_sent() -> None:
    """closing=True closes, and says so, like waitress's set_close_on_finish."""
    headers = [("content-length", "3"), ("date", "x"), ("server", IDENT)]
    data, close, _ = _waitress("1.1", "200 OK", headers, 3, "", closing=True)
    head = response_head(
        version="1.1",
        status="200 OK",
        headers=headers,
        content_length=3,
        request_connection="",
        ident=IDENT,
        start_time=START,
        closing=True,
    )
    assert head.close and close
    assert head.data == _documented_differences(data, close, "1.1", "200 OK", "")[0]


def test_metadata_names_are_sent_as_given() -> None:
    """x-amz-meta-* names keep their case; others are capitalised per part."""
    head = response_head(
        version="1.1",
        status="200 OK",
        headers=[
            ("x-amz-meta-color", "blue"),
            ("X-Amz-Meta-Shape", "round"),
            ("x-amz-request-id", "r"),
            ("content-length", "0"),
        ],
        content_length=None,
        request_connection="",
        ident=IDENT,
        start_time=START,
    )
    lines = head.data.split(b"\r\n")
    assert b"x-amz-meta-color: blue" in lines
    assert b"X-Amz-Meta-Shape: round" in lines
    assert b"X-Amz-Request-Id: r" in lines
