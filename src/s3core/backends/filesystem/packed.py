"""An object's record packed into 64 bytes, so that ext4 keeps it inside the inode.

This module owns the compact binary form ``xattr`` stores for a record that fits.
ext4 with its default 256-byte inodes holds an attribute value of up to 64 bytes in
the inode itself; a larger value takes a 4 KiB block of its own. The JSON form of a
plain PUT's record is ~390 bytes, so each small object used two blocks (a 4 KiB
object took 8 KiB of disk), each durable PUT's fsync wrote the extra block, and each
DELETE freed it again (a synchronous discard on a disk mounted with ``discard`` and
no journal). Records holding more than a content type and checksums (user metadata,
other headers, a multipart ETag, part sizes) are not packed: they stay JSON.

Layout (integers little-endian; a JSON record starts with ``{``, never ``\\x01``)::

    0x01                     the tag of this form
    8 bytes                  BLAKE2b-64 of the key (UTF-8): ties the record to its
                             name, as the JSON form's "key" does
    varint, varint           inode, size    } the identity of the data file
    8 bytes, signed          mtime in ns    }
    16 bytes                 the ETag: the MD5 of the bytes
    1 byte                   the content type: an index into _TYPES, or 0 with a
                             length byte and the UTF-8 name after it
    (1 byte, n bytes)*       checksums to the end: an index into _CHECKSUMS and the
                             raw digest of that algorithm's length
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from s3core.backends.filesystem.meta import Identity, Version
from s3core.models import ObjectMeta

__all__ = ["LIMIT", "TAG", "pack", "unpack"]

# The largest value ext4 keeps in a 256-byte inode (measured: 64 bytes stay in the
# inode, 68 take a block), with the attribute named "user.s3server".
LIMIT = 64
TAG = b"\x01"
_MTIME = struct.Struct("<q")
_MD5_HEX = frozenset("0123456789abcdef")
# Index 0 means "spelled out"; the others are types clients send often (the first
# is what S3 stores when a PUT names none). Append only: the indices are on disk.
_TYPES = (
    "",
    "binary/octet-stream",
    "application/octet-stream",
    "text/plain",
    "text/plain; charset=utf-8",
    "application/json",
    "text/html",
    "text/csv",
    "application/xml",
    "application/gzip",
    "application/x-tar",
    "application/zip",
    "application/pdf",
    "image/png",
    "image/jpeg",
)
_TYPE_INDEX = {name: i for i, name in enumerate(_TYPES) if name}
# Algorithm names (as ObjectMeta.checksums holds them) and digest lengths.
_CHECKSUMS = (
    ("", 0),
    ("CRC32", 4),
    ("CRC32C", 4),
    ("CRC64NVME", 8),
    ("SHA1", 20),
    ("SHA256", 32),
)
_CHECKSUM_INDEX = {name: i for i, (name, _) in enumerate(_CHECKSUMS) if name}


def _key_digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def pack(key: str, version: Version) -> bytes | None:
    """``version`` (of ``key``) in the packed form; ``None`` if it does not fit."""
    meta = version.meta
    # Only a record that is its identity, ETag, content type and checksums and
    # nothing else: compared with one built from those alone, so that a field the
    # models gain later is never dropped here.
    plain = Version(
        identity=version.identity,
        etag=version.etag,
        meta=ObjectMeta(content_type=meta.content_type, checksums=meta.checksums),
    )
    if (
        version != plain
        or len(version.etag) != 32
        or not _MD5_HEX.issuperset(version.etag)
        or version.identity.ino < 0
        or version.identity.size < 0
    ):
        return None
    out = bytearray(TAG)
    out += _key_digest(key)
    out += _varint(version.identity.ino) + _varint(version.identity.size)
    out += _MTIME.pack(version.identity.mtime_ns)
    out += bytes.fromhex(version.etag)
    index = _TYPE_INDEX.get(meta.content_type)
    if index is not None:
        out.append(index)
    else:
        name = meta.content_type.encode("utf-8")
        if len(name) > 255:
            return None
        out += bytes((0, len(name))) + name
    for algorithm, value in meta.checksums:
        index = _CHECKSUM_INDEX.get(algorithm)
        if index is None:
            return None
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error:
            return None
        # Only what decodes back to the very same text: the record must not change.
        if len(raw) != _CHECKSUMS[index][1] or base64.b64encode(raw).decode() != value:
            return None
        out.append(index)
        out += raw
    return bytes(out) if len(out) <= LIMIT else None


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, n: int) -> bytes:
        chunk = self.data[self.at : self.at + n]
        if len(chunk) != n:
            raise ValueError("record ends early")
        self.at += n
        return chunk

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise ValueError("varint too long")

    @property
    def done(self) -> bool:
        return self.at == len(self.data)


def unpack(data: bytes, key: str) -> Version | None:
    """The record packed in ``data`` if it is ``key``'s; ``None`` if it names another
    key or is damaged (the caller then describes the file afresh)."""
    try:
        reader = _Reader(data)
        if reader.take(1) != TAG or reader.take(8) != _key_digest(key):
            return None
        ino, size = reader.varint(), reader.varint()
        (mtime_ns,) = _MTIME.unpack(reader.take(_MTIME.size))
        etag = reader.take(16).hex()
        code = reader.take(1)[0]
        if code == 0:
            content_type = reader.take(reader.take(1)[0]).decode("utf-8")
        else:
            content_type = _TYPES[code]
        checksums = []
        while not reader.done:
            name, length = _CHECKSUMS[reader.take(1)[0]]
            if not name:
                return None
            checksums.append((name, base64.b64encode(reader.take(length)).decode()))
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    return Version(
        identity=Identity(ino, size, mtime_ns),
        etag=etag,
        meta=ObjectMeta(content_type=content_type, checksums=tuple(checksums)),
    )
