"""waitress's request-head parsing, the same results for less CPU.

``parse_head`` does what ``waitress.parser.HTTPRequestParser.parse_header`` does, to
the same parser attributes and the same exceptions, for any input: the tests compare
the two on arbitrary request heads (tests/unit/test_head_parser.py), so a waitress
release that changes its parser fails them instead of drifting from it.

Why it exists: under small-object load, waitress's ``parse_header`` and the
``urlsplit`` it calls were a quarter of the server's CPU (bench/results, the GIL
profile of a 4 KiB GET). Most of that was a ``KeyError`` raised and caught for every
header (waitress appends to a missing key inside ``try``), the upper-casing of the
same dozen header names on every request, and ``urlsplit`` decoding and
re-encoding an origin-form target (``/bucket/key?query``) that needs only two
splits.
"""

from __future__ import annotations

from typing import Any

from waitress.buffers import OverflowableBuffer
from waitress.parser import (
    ParsingError,
    TransferEncodingNotImplemented,
    crack_first_line,
    get_header_lines,
    split_uri,
    unquote_bytes_to_wsgi,
)
from waitress.receiver import ChunkedReceiver, FixedStreamReceiver
from waitress.rfc7230 import HEADER_FIELD_RE, ONLY_DIGIT_RE

__all__ = ["parse_head"]

# Raw header name -> its WSGI environ name (b"Content-Type" -> "CONTENT_TYPE").
# Bounded: names are client-chosen; past the bound new names are just not cached.
_ENVIRON_NAMES: dict[bytes, str] = {}
_MAX_CACHED_NAMES = 1024


def parse_head(parser: Any, header_plus: bytes) -> None:
    """Parse ``header_plus`` (request line and headers) into ``parser``.

    ``parser`` is a ``waitress.parser.HTTPRequestParser``; this sets the attributes
    its ``parse_header`` sets, and raises what it raises.
    """
    index = header_plus.find(b"\r\n")
    if index < 0:
        raise ParsingError("HTTP message header invalid")
    first_line = header_plus[:index].rstrip()
    if b"\r" in first_line or b"\n" in first_line:
        raise ParsingError("Bare CR or LF found in HTTP message")
    parser.first_line = first_line

    headers = parser.headers
    for line in get_header_lines(header_plus[index + 2 :]):
        field = HEADER_FIELD_RE.match(line)
        if not field:
            raise ParsingError("Invalid header")
        key, value = field.group("name", "value")
        if b"_" in key:
            continue  # waitress drops them: HTTP_X_A would be ambiguous with x-a
        name = _ENVIRON_NAMES.get(key)
        if name is None:
            name = key.upper().replace(b"-", b"_").decode("latin-1")
            if len(_ENVIRON_NAMES) < _MAX_CACHED_NAMES:
                _ENVIRON_NAMES[key] = name
        # Only RFC 7230 whitespace is stripped; a repeated header is joined by ", ".
        text = value.strip(b" \t").decode("latin-1")
        previous = headers.get(name)
        headers[name] = text if previous is None else f"{previous}, {text}"

    command, uri, version = crack_first_line(first_line)
    if command == uri == version == b"":
        raise ParsingError("Start line is invalid")
    parser.request_uri = uri.decode("latin-1")
    parser.command = command.decode("latin-1")
    parser.version = version = version.decode("latin-1")
    (
        parser.proxy_scheme,
        parser.proxy_netloc,
        parser.path,
        parser.query,
        parser.fragment,
    ) = _split_target(uri)
    parser.url_scheme = parser.adj.url_scheme
    _apply_framing(parser, headers, version)


def _split_target(uri: bytes) -> tuple[str, str, str, str, str]:
    """waitress's ``split_uri``, short-cut for an origin-form target."""
    # For "/path?query#fragment" urlsplit finds no scheme (no letter first) and no
    # netloc (split_uri keeps "//..." away from it), and splits at the first "#"
    # then the first "?"; it also removes tabs (CR and LF cannot be there) and
    # refuses non-ASCII bytes: such targets take the general path.
    if uri[:1] != b"/" or b"\t" in uri or not uri.isascii():
        return split_uri(uri)  # type: ignore[no-any-return]
    path, _, fragment = uri.partition(b"#")
    path, _, query = path.partition(b"?")
    return (
        "",
        "",
        _unquote_to_wsgi(path),
        query.decode("latin-1"),
        fragment.decode("latin-1"),
    )


def _unquote_to_wsgi(path: bytes) -> str:
    if b"%" not in path:
        return path.decode("latin-1")  # what unquoting gives, without the call
    return unquote_bytes_to_wsgi(path)  # type: ignore[no-any-return]


def _apply_framing(parser: Any, headers: dict[str, str], version: str) -> None:
    """Connection, Transfer-Encoding, Expect and Content-Length, as waitress does."""
    connection = headers.get("CONNECTION", "")
    if version == "1.0" and connection.lower() != "keep-alive":
        parser.connection_close = True
    if version == "1.1":
        # Requests never show Transfer-Encoding to the application: the body is
        # decoded before it sees it.
        te = headers.pop("TRANSFER_ENCODING", "")
        # strip(" \t"), not strip(): "\x85" must stay and be refused (smuggling).
        encodings = [e.strip(" \t").lower() for e in te.split(",") if e]
        for encoding in encodings:
            if encoding != "chunked":
                raise TransferEncodingNotImplemented(
                    "Transfer-Encoding requested is not supported."
                )
        if encodings and encodings[-1] == "chunked":
            parser.chunked = True
            parser.body_rcv = ChunkedReceiver(
                OverflowableBuffer(parser.adj.inbuf_overflow)
            )
        elif encodings:  # pragma: no cover - every encoding is "chunked" here
            raise TransferEncodingNotImplemented(
                "Transfer-Encoding requested is not supported."
            )
        parser.expect_continue = headers.get("EXPECT", "").lower() == "100-continue"
        if connection.lower() == "close":
            parser.connection_close = True
    if not parser.chunked:
        length = headers.get("CONTENT_LENGTH", "0")
        if not ONLY_DIGIT_RE.match(length.encode("latin-1")):
            raise ParsingError("Content-Length is invalid")
        parser.content_length = size = int(length)
        if size > 0:
            parser.body_rcv = FixedStreamReceiver(
                size, OverflowableBuffer(parser.adj.inbuf_overflow)
            )
