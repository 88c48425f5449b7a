"""Request bodies as stackable stream readers that verify what passes through them.

This module owns the readers the service stacks on a request body: an exact-length
reader (the client must send every byte it announced) and a digest check (the body must
hash to what the client signed), in the style of versitygw's body-verification chain.
Each reader raises its S3 error on the read that reaches the end of the body, so an
operation that streams into a backend writer fails *before* it commits: nothing partial
is ever published. They hold one chunk at a time, never the body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

from s3core import errors
from s3core.http import Readable

__all__ = [
    "CHUNK_SIZE",
    "DigestCheckReader",
    "ExactLengthReader",
    "iter_chunks",
    "read_all",
]

# Large enough that per-chunk overhead vanishes, small enough that memory per request
# stays flat (DESIGN.md: "memory per request is bounded by a buffer size (1 MiB
# order)").
CHUNK_SIZE = 1 << 20


class ExactLengthReader:
    """Gives exactly ``length`` bytes of ``inner``, then end of stream.

    Raises ``IncompleteBody`` if ``inner`` ends before ``length`` bytes.
    """

    def __init__(self, inner: Readable, length: int) -> None:
        self._inner = inner
        self._remaining = length

    def read(self, n: int = -1, /) -> bytes:
        if self._remaining <= 0:
            return b""
        want = self._remaining if n is None or n < 0 else min(n, self._remaining)
        data = self._inner.read(want)
        if not data:
            raise errors.IncompleteBody()
        self._remaining -= len(data)
        return data


class DigestCheckReader:
    """Passes bytes through while hashing them; checks the digest at end of stream.

    Args:
        inner: the stream to read.
        expected: the digest the whole stream must have.
        new_hash: makes the hash object (``hashlib.sha256``).
        on_mismatch: builds the error raised when the digest differs, given the
            computed digest.
    """

    def __init__(
        self,
        inner: Readable,
        expected: bytes,
        *,
        new_hash: Callable[[], hashlib._Hash] = hashlib.sha256,
        on_mismatch: Callable[[bytes], errors.S3Error],
    ) -> None:
        self._inner = inner
        self._expected = expected
        self._hash = new_hash()
        self._on_mismatch = on_mismatch
        self._done = False

    def read(self, n: int = -1, /) -> bytes:
        data = self._inner.read(n)
        if data:
            self._hash.update(data)
        elif not self._done:
            self._done = True
            computed = self._hash.digest()
            if computed != self._expected:
                raise self._on_mismatch(computed)
        return data


def iter_chunks(body: Readable, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Read ``body`` to its end in chunks of at most ``size`` bytes."""
    while True:
        chunk = body.read(size)
        if not chunk:
            return
        yield chunk


def read_all(body: Readable, limit: int) -> bytes:
    """Read a small body (an XML document) whole, refusing more than ``limit`` bytes.

    Raises:
        MalformedXML: the body is over ``limit`` bytes (S3 documents no exact limit;
            request documents are small, and an unbounded read would let one request
            take the server's memory).
    """
    parts: list[bytes] = []
    total = 0
    for chunk in iter_chunks(body, 64 * 1024):
        total += len(chunk)
        if total > limit:
            raise errors.MalformedXML()
        parts.append(chunk)
    return b"".join(parts)
