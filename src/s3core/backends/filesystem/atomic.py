"""Small filesystem primitives the backend builds its atomic steps from.

This module owns how files are created and published: temporary files made with
``O_EXCL`` under random names, small files (records, sidecars) replaced atomically by
write-fsync-rename, directory fsyncs, and opening directories without following
symbolic links. It knows nothing of buckets, keys or S3, and it lets every ``OSError``
it does not expect as an answer rise to the caller's translation boundary.
"""

from __future__ import annotations

import errno
import os
import secrets

__all__ = [
    "O_DIR",
    "O_FILE",
    "create_exclusive",
    "fsync_dir",
    "fsync_path_dir",
    "link_temp",
    "new_temp",
    "open_dir",
    "read_small",
    "unlink_quietly",
    "write_all",
    "write_atomic",
]

# Every descriptor is close-on-exec, and no path component we open is a symlink we
# follow: a link inside a bucket could point anywhere on the host.
O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO someone left in a bucket must not hang the server.
O_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

# Errors that mean "this path does not lead to a directory", as answers, not faults.
_NOT_A_DIRECTORY = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP})


def open_dir(name: str, dir_fd: int | None = None) -> int | None:
    """A descriptor for directory ``name`` (relative to ``dir_fd``), or ``None``.

    ``None`` when the name is missing, is not a directory, or is a symlink.
    """
    try:
        return os.open(name, O_DIR, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in _NOT_A_DIRECTORY:
            return None
        raise


def fsync_dir(fd: int) -> None:
    """Make a directory's entries (a rename, an unlink) durable."""
    os.fsync(fd)


def fsync_path_dir(path: str) -> None:
    """fsync the directory holding ``path``."""
    fd = os.open(os.path.dirname(path), O_DIR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_temp(tmp_dir: str) -> tuple[int, str]:
    """Create an empty file under a fresh random name in ``tmp_dir``: (fd, path)."""
    while True:
        path = os.path.join(tmp_dir, secrets.token_hex(16) + ".tmp")
        try:
            fd = os.open(
                path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666
            )
        except FileExistsError:  # 128 random bits: never, but O_EXCL makes it safe
            continue
        return fd, path


def link_temp(path: str, tmp_dir: str) -> tuple[int, str]:
    """A new name in ``tmp_dir`` for the file at ``path`` (a hard link): (fd, path).

    The descriptor is read-only: enough to ``fstat``, ``fsync`` and set the times of
    a file that is published by renaming the new name.
    """
    while True:
        temp = os.path.join(tmp_dir, secrets.token_hex(16) + ".tmp")
        try:
            os.link(path, temp)
        except FileExistsError:  # as in new_temp: never, but safe
            continue
        try:
            return os.open(temp, O_FILE), temp
        except BaseException:
            unlink_quietly(temp)
            raise


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _staged(data: bytes, tmp_dir: str, fsync: bool) -> str:
    fd, path = new_temp(tmp_dir)
    try:
        write_all(fd, data)
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        unlink_quietly(path)
        raise
    os.close(fd)
    return path


def _makedirs_for(path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)


def write_atomic(path: str, data: bytes, *, tmp_dir: str, fsync: bool) -> None:
    """Replace ``path`` with ``data``: readers see the old content or the new one."""
    staged = _staged(data, tmp_dir, fsync)
    try:
        _makedirs_for(path)
        os.replace(staged, path)
    except BaseException:
        unlink_quietly(staged)
        raise
    if fsync:
        fsync_path_dir(path)


def create_exclusive(path: str, data: bytes, *, tmp_dir: str, fsync: bool) -> bool:
    """Create ``path`` with ``data`` unless it exists; whether this call created it.

    A hard link publishes the complete file under the name, or fails with ``EEXIST``:
    unlike ``O_EXCL`` + write, nobody can see it half written.
    """
    staged = _staged(data, tmp_dir, fsync)
    try:
        _makedirs_for(path)
        os.link(staged, path)
    except FileExistsError:
        return False
    finally:
        unlink_quietly(staged)
    if fsync:
        fsync_path_dir(path)
    return True


def read_small(path: str, limit: int = 1 << 20) -> bytes | None:
    """The content of a small file, or ``None`` if it does not exist."""
    try:
        fd = os.open(path, O_FILE)
    except FileNotFoundError:
        return None
    try:
        return os.read(fd, limit)
    finally:
        os.close(fd)


def unlink_quietly(path: str, dir_fd: int | None = None) -> bool:
    """Remove a file if it is there; whether it was."""
    try:
        os.unlink(path, dir_fd=dir_fd)
    except FileNotFoundError:
        return False
    return True
