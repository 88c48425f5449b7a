"""The status line and headers of each response, and whether its connection stays open.

This module owns what waitress's ``Task.build_response_header`` decided for us:
header-name case, the framing headers (``Content-Length``, chunked), ``Server`` and
``Date`` when the application set none, and keep-alive. It is a pure function of the
response and the request's ``Connection`` header; ``server._Task`` applies its result.
It must make the same decisions as waitress 3.0 except where S3 clients need
otherwise, each said below (``tests/unit/test_response_head.py`` compares the two):

- a response that has no body by definition (1xx, 204, 304) keeps an HTTP/1.1
  connection open. waitress closes any response without ``Content-Length``, so every
  DeleteObject (204) and every conditional GET answered 304 cost the client a new
  TCP connection (and the server an accept), which S3 does not do. RFC 9112 6.3: such
  a response "is always terminated by the first empty line after the header fields";
  RFC 9110 8.6: a server MUST NOT send ``Content-Length`` in a 1xx or 204 response;
- user-metadata names (``x-amz-meta-*``) are sent as the application gave them:
  SDKs build the metadata dict from the names as received, and S3 sends them
  lower-case (a test that reads ``Metadata["color"]`` from S3 must read it here too);
  other names are capitalised per hyphen-separated part, as waitress does;
- no ``Via`` header: waitress adds one naming itself when the application sets
  ``Server`` (as a proxy would); we are the origin server.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter

import attrs
from waitress.utilities import build_http_date

__all__ = ["ResponseHead", "response_head"]

_BODILESS_STATUS_PREFIXES = ("1", "204", "304")
_METADATA_PREFIX = "x-amz-meta-"
# Capitalised names, computed once each: the application sends a few dozen distinct
# names (metadata names, which are unbounded, are never looked up here).
_capitalised: dict[str, str] = {}
_CAPITALISED_LIMIT = 512


@attrs.frozen
class ResponseHead:
    """What to send before the body, and how the body is framed.

    Attributes:
        data: the status line and header lines, ending with the blank line.
        headers: the header fields in the order sent.
        close: close the connection once the response is sent.
        chunked: send the body with chunked transfer coding.
    """

    data: bytes
    headers: list[tuple[str, str]]
    close: bool
    chunked: bool


def _sent_name(name: str) -> str:
    sent = _capitalised.get(name)
    if sent is None:
        if name[:11].lower() == _METADATA_PREFIX:
            return name
        sent = "-".join([part.capitalize() for part in name.split("-")])
        if len(_capitalised) < _CAPITALISED_LIMIT:
            _capitalised[name] = sent
    return sent


def response_head(
    *,
    version: str,
    status: str,
    headers: Iterable[tuple[str, str]],
    content_length: int | None,
    request_connection: str,
    ident: str,
    start_time: float,
    closing: bool = False,
) -> ResponseHead:
    """The head of a response to an HTTP/1.0 or HTTP/1.1 request.

    Args:
        version: the HTTP version answered, ``"1.0"`` or ``"1.1"``.
        status: the status as WSGI gives it (``"204 No Content"``).
        headers: the application's header fields (no hop-by-hop ones).
        content_length: the body length waitress knows of without a
            ``Content-Length`` header (a single-chunk body), or None.
        request_connection: the request's ``Connection`` header, lower-case.
        ident: the server's name, sent as ``Server`` if the application set none.
        start_time: when the request arrived (epoch seconds), sent as ``Date`` if
            the application set none.
        closing: the server has already decided to close the connection after
            this response.
    """
    has_body = not status.startswith(_BODILESS_STATUS_PREFIXES)
    sent: list[tuple[str, str]] = []
    length_header: str | None = None
    date = server = ""  # empty values count as absent, as in waitress
    for name, value in headers:
        name = _sent_name(name)
        if name == "Content-Length":
            if not has_body:
                continue
            length_header = value
        elif name == "Date":
            date = value
        elif name == "Server":
            server = value
        sent.append((name, value))
    if length_header is None and content_length is not None and has_body:
        length_header = str(content_length)
        sent.append(("Content-Length", length_header))

    close, chunked = closing, False
    if version == "1.0":
        # HTTP/1.0 keeps a connection only when asked to and the body is delimited.
        if request_connection == "keep-alive" and length_header:
            sent.append(("Connection", "Keep-Alive"))
        else:
            close = True
    elif version == "1.1":
        close = close or request_connection == "close"
        if has_body and not length_header:
            # waitress closes after a chunked response too; kept, as it is rare here
            # (every body we send has a known length).
            chunked = close = True
            sent.append(("Transfer-Encoding", "chunked"))
    else:
        raise AssertionError(f"HTTP version {version!r} is neither 1.0 nor 1.1")
    if close:
        sent.append(("Connection", "close"))
    if not server and ident:
        sent.append(("Server", ident))
    if not date:
        sent.append(("Date", build_http_date(start_time)))

    # Sorted by name as waitress does; the sort is stable, so fields of one name keep
    # their order (RFC 9110 5.3).
    sent.sort(key=itemgetter(0))
    lines = [f"HTTP/{version} {status}"]
    lines.extend([f"{name}: {value}" for name, value in sent])
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return ResponseHead(data=data, headers=sent, close=close, chunked=chunked)
