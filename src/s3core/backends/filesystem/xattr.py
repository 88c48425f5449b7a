"""Object records in an extended attribute of the data file itself.

This module owns the attribute that carries an object's record (ETag, content type,
user metadata, checksums, part sizes, and the identity of the file it describes) on
the data file: set on the temporary file before its fsync, it is published by the
same ``rename`` as the bytes, so a durable PUT creates, renames and fsyncs one file
instead of two, and a reader takes the record from the very descriptor it opened,
whatever writers do to the name meanwhile. The value is the record in the packed
form of ``packed`` where it fits (64 bytes or less: ext4 keeps it in the inode), else
the sidecar format of ``meta`` holding one record; both carry the key and the
identity of the file, so a file edited in place, or moved or copied by hand with its
attributes, is not trusted.

Filesystems that refuse the attribute (no user xattrs: older tmpfs, some network
and FUSE mounts, non-Linux systems; a record too large for the filesystem's
attribute space) make ``attach`` answer ``False``, and the caller keeps the record in
a sidecar file instead. It must not decide where files live, take locks or write
sidecars: that is the caller's.
"""

from __future__ import annotations

import errno
import os

from s3core.backends.filesystem import packed
from s3core.backends.filesystem.meta import (
    Version,
    dump_sidecar,
    load_sidecar,
    match,
)

__all__ = ["NAME", "SUPPORTED", "attach", "decode", "encode", "read"]

# The "user." namespace is the one unprivileged processes may write (xattr(7)).
NAME = "user.s3server"
# os.setxattr exists on Linux only; elsewhere every record goes to a sidecar.
SUPPORTED = hasattr(os, "setxattr")

# What a filesystem answers when it will not hold the attribute: no xattr support
# (ENOTSUP, which is EOPNOTSUPP on Linux), a value over its size limit (E2BIG,
# ERANGE; ext4 answers ENOSPC when the attribute block is full), or no right to
# write attributes on this mount (EPERM, EACCES).
_REFUSED = frozenset(
    {
        errno.ENOTSUP,
        errno.EOPNOTSUPP,
        errno.E2BIG,
        errno.ERANGE,
        errno.ENOSPC,
        errno.EPERM,
        errno.EACCES,
    }
)
# What reading it answers when the file has none, or the filesystem keeps none.
_ABSENT = frozenset({errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP})


def encode(key: str, version: Version) -> bytes:
    """The attribute value for ``version`` of ``key``: packed where it fits."""
    return packed.pack(key, version) or dump_sidecar(key, (version,))


def decode(data: bytes, key: str) -> tuple[Version, ...]:
    """The records in an attribute value; none if damaged or another key's."""
    if data[:1] == packed.TAG:
        version = packed.unpack(data, key)
        return () if version is None else (version,)
    return load_sidecar(data, key)


def attach(fd: int, key: str, version: Version) -> bool:
    """Set ``version`` (of ``key``) as the record of the open file ``fd``.

    Returns ``False``, changing nothing, if the filesystem refuses the attribute; a
    full disk then fails again, and is reported, where the caller writes a sidecar.
    Other ``OSError`` propagates.
    """
    if not SUPPORTED:
        return False
    try:
        os.setxattr(fd, NAME, encode(key, version))
    except OSError as exc:
        if exc.errno in _REFUSED:
            return False
        raise
    return True


def read(fd: int, key: str, st: os.stat_result) -> Version | None:
    """The record attached to the open file ``fd`` (status ``st``), if it describes
    that file as ``key``; ``None`` if there is none, it is damaged, or it is stale."""
    if not SUPPORTED:
        return None
    try:
        data = os.getxattr(fd, NAME)
    except OSError as exc:
        if exc.errno in _ABSENT:
            return None
        raise
    return match(decode(data, key), st)
