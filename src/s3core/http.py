"""Plain HTTP values that cross the boundary between an adapter and the core.

This module owns ``Headers``, ``Request`` and ``Response``. An adapter (the Falcon app,
a test) builds a ``Request`` from whatever its server gives it and writes out the
``Response`` it gets back; the core never touches a socket. Bodies are streams in both
directions: the request body is anything with ``read(n)``, the response body is an
iterable of byte chunks (closed by the adapter when done), so no object is ever held
whole in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable
from urllib.parse import unquote

import attrs

__all__ = [
    "EMPTY_BODY",
    "Headers",
    "Readable",
    "Request",
    "Response",
    "ResponseBody",
    "parse_query",
]


def parse_query(raw: str) -> dict[str, str]:
    """Decode a raw query string; the first value of a repeated name wins.

    What ``urllib.parse.parse_qsl(raw, keep_blank_values=True)`` gives (``+`` is a
    space, bad UTF-8 becomes U+FFFD), first value kept, without its per-parameter
    calls: routing and SigV4 both parse every request's query, and a presigned
    URL carries seven parameters.
    """
    out: dict[str, str] = {}
    if not raw:
        return out
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "))
        if name in out:
            continue
        if "%" in value or "+" in value:
            value = unquote(value.replace("+", " "))
        out[name] = value
    return out


@runtime_checkable
class Readable(Protocol):
    """A request body: a stream that gives at most ``n`` bytes per call, ``b""`` at
    end."""

    def read(self, n: int = -1, /) -> bytes: ...


class _EmptyBody:
    """A body with no bytes."""

    def read(self, n: int = -1, /) -> bytes:
        return b""


EMPTY_BODY: Readable = _EmptyBody()


@attrs.frozen
class Headers:
    """An ordered, case-insensitive multi-map of header fields.

    Names keep the case they arrived in (for echoing) but every lookup ignores case.
    """

    items: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls, fields: Iterable[tuple[str, str]] | dict[str, str] | None = None
    ) -> Headers:
        """Build from pairs or a dict."""
        if fields is None:
            return cls(())
        pairs = fields.items() if isinstance(fields, dict) else fields
        return cls(tuple((str(k), str(v)) for k, v in pairs))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        lname = name.lower()
        for k, v in self.items:
            if k.lower() == lname:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in arrival order."""
        lname = name.lower()
        return [v for k, v in self.items if k.lower() == lname]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def lower_items(self) -> Iterator[tuple[str, str]]:
        """Pairs with lower-cased names, for signing and prefix scans."""
        return ((k.lower(), v) for k, v in self.items)


@attrs.frozen(kw_only=True)
class Request:
    """One HTTP request as the core sees it.

    Attributes:
        method: upper-case method.
        path: the raw request path exactly as sent, still percent-encoded; SigV4 signs
            this form, so it is never normalised.
        query: the raw query string without ``?``, exactly as sent.
        headers: the request headers.
        body: the request body stream (already de-chunked from HTTP transfer coding).
        remote_addr: the client address, for logging.
        mount: the raw path prefix the service is mounted under inside a larger
            application (WSGI ``SCRIPT_NAME``), or empty. Signatures cover the whole
            ``path``; routing reads only what follows the mount.
    """

    method: str
    path: str
    query: str = ""
    headers: Headers = Headers()
    body: Readable = EMPTY_BODY
    remote_addr: str = ""
    mount: str = ""

    @property
    def route_path(self) -> str:
        """The raw path below the mount point: what addresses bucket and key."""
        if self.mount and self.path.startswith(self.mount):
            return self.path[len(self.mount) :] or "/"
        return self.path

    @property
    def decoded_path(self) -> str:
        """The path with percent-escapes decoded as UTF-8."""
        return unquote(self.path, errors="strict")

    @property
    def resource(self) -> str:
        """The decoded path for error bodies, or the raw one if it does not decode."""
        try:
            return self.decoded_path
        except UnicodeDecodeError:
            return self.path

    @property
    def host(self) -> str:
        """The ``Host`` header, or empty."""
        return self.headers.get("host") or ""


ResponseBody = Iterable[bytes]


@attrs.frozen(kw_only=True)
class Response:
    """One HTTP response as the core produces it.

    Attributes:
        status: HTTP status code.
        headers: response headers in order.
        body: an iterable of byte chunks; the adapter streams it and, if it has a
            ``close`` method, calls it when done (open files are released there).
        content_length: the body length if known (always known for S3 responses).
    """

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: ResponseBody = ()
    content_length: int | None = 0

    @classmethod
    def of_bytes(
        cls, status: int, data: bytes, headers: Iterable[tuple[str, str]] = ()
    ) -> Response:
        """A response with a small in-memory body."""
        return cls(
            status=status,
            headers=tuple(headers),
            body=(data,) if data else (),
            content_length=len(data),
        )

    def header(self, name: str) -> str | None:
        """The first value of a response header, ignoring case."""
        return Headers(self.headers).get(name)
