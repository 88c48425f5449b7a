"""A streaming ``multipart/form-data`` reader with bounded memory.

This module owns the wire format of browser form uploads (RFC 7578 over RFC 2046):
the boundary of a request's ``Content-Type``, the delimiter lines, each part's header
block and its ``Content-Disposition`` parameters, and the bytes of each part as a
stream. It holds at most one read chunk plus one delimiter in memory, whatever the
size of a part, so a 5 GiB file field streams straight through. It raises
``MalformedPOSTRequest`` for anything that is not well-formed multipart. It knows
nothing of S3 fields, policies or storage (``operations.post_object`` does), and it
does no I/O beyond reading the body stream it is given.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import attrs

from s3core import errors
from s3core.bodies import CHUNK_SIZE
from s3core.http import Readable

__all__ = ["MultipartReader", "PartHeaders", "form_boundary"]

# "Boundary delimiters must not appear within the encapsulated material, and must be
# no longer than 70 characters, not counting the two leading hyphens." (RFC 2046
# 5.1.1); bchars are digits, letters and '()+_,-./:=? and space (not last).
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
# A part's header block is a few short lines; more means a broken or hostile body.
MAX_PART_HEADER_BYTES = 16 * 1024
_CRLF = b"\r\n"


@attrs.frozen(kw_only=True)
class PartHeaders:
    """What a part's header block says about it.

    Attributes:
        name: the ``name`` parameter of its ``Content-Disposition: form-data``.
        filename: the ``filename`` parameter, if any (a file field has one).
        content_type: its ``Content-Type`` header, if any.
    """

    name: str
    filename: str | None = None
    content_type: str | None = None


def form_boundary(content_type: str | None) -> str | None:
    """The boundary of a ``multipart/form-data`` content type, or ``None``.

    ``None`` also when the type is another one or the boundary is not valid
    RFC 2046 syntax.
    """
    if content_type is None:
        return None
    kind, params = _parse_header_value(content_type)
    boundary = params.get("boundary")
    if kind != "multipart/form-data" or boundary is None:
        return None
    return boundary if _BOUNDARY.fullmatch(boundary) else None


class MultipartReader:
    """Reads a ``multipart/form-data`` body part by part, each part as a stream.

    Call ``next_part`` to move to the next part (skipping what is left of the
    current one) and ``read`` for the current part's bytes, ``b""`` at its end.

    Args:
        body: the request body.
        boundary: the boundary from the request's ``Content-Type``.
        chunk_size: how much to read from ``body`` at a time.
    """

    def __init__(
        self, body: Readable, boundary: str, *, chunk_size: int = CHUNK_SIZE
    ) -> None:
        self._body = body
        # "The boundary delimiter MUST occur at the beginning of a line, i.e.,
        # following a CRLF" (RFC 2046 5.1.1); the CRLF belongs to the delimiter,
        # not to the part before it. Starting the buffer with one lets the first
        # delimiter (which opens the body) be found like every other.
        self._delimiter = _CRLF + b"--" + boundary.encode("latin-1")
        self._buf = bytearray(_CRLF)
        self._chunk_size = chunk_size
        self._eof = False
        self._in_part = True  # the preamble reads like a part nobody wants
        self._done = False

    def next_part(self) -> PartHeaders | None:
        """Move to the next part and parse its headers; ``None`` after the last.

        Raises:
            MalformedPOSTRequest: the body ends before the close delimiter, or a
                header block is malformed or over 16 KiB.
        """
        while self._in_part:
            self.read(self._chunk_size)
        if self._done:
            return None
        self._fill_to(2)
        if self._buf[:2] == b"--":
            # "close-delimiter := delimiter '--'": whatever follows is epilogue.
            self._done = True
            return None
        end = self._find(_CRLF, limit=1024)
        # "transport-padding := *LWSP-char" may follow a delimiter before its CRLF.
        if self._buf[:end].strip(b" \t"):
            raise errors.MalformedPOSTRequest()
        del self._buf[: end + 2]
        if self._buf[:2] == _CRLF:
            block = b""  # a part with no header fields at all
            del self._buf[:2]
        else:
            end = self._find(_CRLF + _CRLF, limit=MAX_PART_HEADER_BYTES)
            block = bytes(self._buf[:end])
            del self._buf[: end + 4]
        self._in_part = True
        return _part_headers(block)

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes of the current part (all if ``n < 0``); ``b""`` at its end.

        Raises:
            MalformedPOSTRequest: the body ends inside the part.
        """
        if not self._in_part:
            return b""
        delimiter = self._delimiter
        while True:
            found = self._buf.find(delimiter)
            if found == 0:
                del self._buf[: len(delimiter)]
                self._in_part = False
                return b""
            # Bytes before a found delimiter are data; without one, all but a tail
            # that could be the start of a delimiter split across two reads.
            available = found if found > 0 else len(self._buf) - len(delimiter) + 1
            if available > 0:
                take = available if n < 0 else min(n, available)
                data = bytes(self._buf[:take])
                # Deleting from the front of a bytearray is amortised O(1).
                del self._buf[:take]
                return data
            if self._eof:
                raise errors.MalformedPOSTRequest()
            self._fill()

    def read_all(self, limit: int) -> bytes | None:
        """The rest of the current part, or ``None`` once it runs over ``limit``.

        Stops reading at ``limit + 1`` bytes, so memory stays bounded.
        """
        parts: list[bytes] = []
        size = 0
        while chunk := self.read(min(self._chunk_size, limit + 1 - size)):
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                return None
        return b"".join(parts)

    def _fill(self) -> None:
        data = self._body.read(self._chunk_size)
        if data:
            self._buf += data
        else:
            self._eof = True

    def _fill_to(self, size: int) -> None:
        while len(self._buf) < size and not self._eof:
            self._fill()

    def _find(self, needle: bytes, *, limit: int) -> int:
        """The offset of ``needle`` in the buffer, reading more while needed."""
        start = 0
        while True:
            found = self._buf.find(needle, start)
            if found >= 0 and found <= limit:
                return found
            if found > limit or len(self._buf) > limit + len(needle) or self._eof:
                raise errors.MalformedPOSTRequest()
            start = max(0, len(self._buf) - len(needle) + 1)
            self._fill()


def _part_headers(block: bytes) -> PartHeaders:
    """Parse a header block; it must name the part in ``Content-Disposition``."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.MalformedPOSTRequest() from None
    fields: dict[str, str] = {}
    for line in text.split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise errors.MalformedPOSTRequest()
        fields[name.strip().lower()] = value.strip()
    disposition = fields.get("content-disposition")
    if disposition is None:
        raise errors.MalformedPOSTRequest()
    kind, params = _parse_header_value(disposition)
    # "Each part MUST contain a Content-Disposition header field where the
    # disposition type is 'form-data'. The Content-Disposition header field MUST
    # also contain an additional parameter of 'name'" (RFC 7578 4.2).
    if kind != "form-data" or "name" not in params:
        raise errors.MalformedPOSTRequest()
    return PartHeaders(
        name=params["name"],
        filename=params.get("filename"),
        content_type=fields.get("content-type"),
    )


_TOKEN = re.compile(r"\s*([^\s;=]+)\s*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)


def _parse_header_value(value: str) -> tuple[str, dict[str, str]]:
    """``type; a=b; c="d"`` -> (``type`` lower-cased, {``a``: ``b``, ``c``: ``d``}).

    Parameter names are lower-cased; quoted strings lose their quotes and
    backslash escapes; an RFC 5987 ``name*=UTF-8''...`` value replaces ``name``.
    """
    kind, _, rest = value.partition(";")
    params: dict[str, str] = {}
    extended: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        match = _TOKEN.match(rest, pos)
        if match is None:
            break
        name = match.group(1).lower()
        pos = match.end()
        if pos >= len(rest) or rest[pos] != "=":
            pos = rest.find(";", pos) + 1 or len(rest)
            continue
        pos += 1
        while pos < len(rest) and rest[pos] in " \t":
            pos += 1
        quoted = _QUOTED.match(rest, pos)
        if quoted is not None:
            param = re.sub(r"\\(.)", r"\1", quoted.group(1))
            pos = quoted.end()
        else:
            end = rest.find(";", pos)
            end = len(rest) if end < 0 else end
            param = rest[pos:end].strip()
            pos = end
        if name.endswith("*"):
            charset, _, encoded = param.partition("''")
            try:
                extended[name[:-1]] = unquote(
                    encoded, encoding=charset or "utf-8", errors="strict"
                )
            except (LookupError, UnicodeDecodeError):
                raise errors.MalformedPOSTRequest() from None
        else:
            params[name] = param
        pos = rest.find(";", pos) + 1 or len(rest)
    params.update(extended)
    return kind.strip().lower(), params
