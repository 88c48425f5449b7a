"""Streaming checksums: MD5 for ETags and the S3 additional checksum algorithms.

This module owns the algorithms S3 accepts in ``x-amz-checksum-*`` (CRC32, CRC32C,
CRC64NVME, SHA1, SHA256, SHA512) behind one incremental interface, and the parsing of
which checksums a request asks for. It computes; it never reads a stream itself (the
body readers in ``s3core.bodies`` feed it) and raises S3 errors only for malformed
client input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable
from typing import Protocol

from awscrt import checksums as _crt

from s3core import errors
from s3core.http import Headers

__all__ = [
    "ALGORITHMS",
    "Checksum",
    "new_checksum",
    "parse_content_md5",
    "requested_checksums",
]


class Checksum(Protocol):
    """An incremental checksum."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    """A CRC kept as an integer and rendered big-endian, as S3 sends it."""

    def __init__(self, fn: Callable[[bytes, int], int], width: int) -> None:
        self._fn = fn
        self._width = width
        self._value = 0

    def update(self, data: bytes, /) -> None:
        self._value = self._fn(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._width, "big")


def _zlib_crc32(data: bytes, value: int) -> int:
    return zlib.crc32(data, value)


# Algorithm name (as in x-amz-checksum-<name> and x-amz-sdk-checksum-algorithm) ->
# factory. The names are S3's ChecksumAlgorithm enum, lower-cased in headers.
ALGORITHMS: dict[str, Callable[[], Checksum]] = {
    "CRC32": lambda: _Crc(_zlib_crc32, 4),
    "CRC32C": lambda: _Crc(_crt.crc32c, 4),
    "CRC64NVME": lambda: _Crc(_crt.crc64nvme, 8),
    "SHA1": lambda: hashlib.sha1(usedforsecurity=False),
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}


def new_checksum(algorithm: str) -> Checksum:
    """A fresh checksum for an S3 algorithm name (any case).

    Raises:
        InvalidRequest: the algorithm is not one S3 knows.
    """
    try:
        return ALGORITHMS[algorithm.upper()]()
    except KeyError:
        raise errors.InvalidRequest(
            "Value for x-amz-checksum-algorithm header is invalid."
        ) from None


def requested_checksums(headers: Headers) -> dict[str, str]:
    """The checksums a request states in ``x-amz-checksum-<algorithm>`` headers.

    Returns:
        algorithm name (upper case) -> the base64 value the client sent.

    Raises:
        InvalidRequest: more than one checksum header, or an unknown algorithm in
            ``x-amz-sdk-checksum-algorithm``.
        InvalidArgument: a value that is not valid base64 of the right length.
    """
    found: dict[str, str] = {}
    for name, value in headers.lower_items():
        if not name.startswith("x-amz-checksum-") or name == "x-amz-checksum-mode":
            continue
        if name == "x-amz-checksum-type":
            continue
        algorithm = name.removeprefix("x-amz-checksum-").upper()
        if algorithm not in ALGORITHMS:
            raise errors.InvalidRequest(
                "Value for x-amz-checksum-algorithm header is invalid."
            )
        _check_encoded_length(algorithm, value)
        found[algorithm] = value
    # "Only one checksum header can be specified" (PutObject, x-amz-checksum-*).
    if len(found) > 1:
        raise errors.InvalidRequest(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are "
            "not allowed."
        )
    return found


def _check_encoded_length(algorithm: str, value: str) -> None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != len(ALGORITHMS[algorithm]().digest()):
        raise errors.InvalidRequest(
            f"Value for x-amz-checksum-{algorithm.lower()} header is invalid."
        )


def parse_content_md5(headers: Headers) -> bytes | None:
    """The 16 raw bytes of a ``Content-MD5`` header, or ``None`` when absent.

    Raises:
        InvalidDigest: the header is not base64 of 16 bytes.
    """
    value = headers.get("content-md5")
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise errors.InvalidDigest(extra={"Content-MD5": value}) from None
    if len(raw) != 16:
        raise errors.InvalidDigest(extra={"Content-MD5": value})
    return raw
