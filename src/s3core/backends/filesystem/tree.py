"""Finding, placing and removing an object's data file inside a bucket directory.

This module owns the on-disk mechanics of one key: opening the directories of its path
without following symlinks (every step is relative to an open directory descriptor, so
no path is re-resolved and no key, however deep, meets ``PATH_MAX``), the three places
an object can be found, making parent directories (moving a file that is in the way
into ``<name>/.s3~!self``), and removing a file with the directories it leaves empty. It
takes no locks and knows no metadata: callers hold the bucket's locks around it.

Where an object with last path component ``name`` lives, in its parent directory:
the regular file ``name``; or, if ``name`` is a directory, ``name/.s3~!self``; or, while
(or if a crash interrupted) a file becoming a directory, ``.s3~!m<hash>/.s3~!self``.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Generator
from contextlib import ExitStack, suppress

import attrs

from s3core.backends.filesystem.atomic import (
    O_DIR,
    O_FILE,
    fsync_dir,
    open_dir,
    unlink_quietly,
)
from s3core.backends.filesystem.layout import SELF_NAME, move_name

__all__ = [
    "Located",
    "NeedExclusive",
    "ensure_dirs",
    "has_entries",
    "locate",
    "lstat",
    "open_dirs",
    "open_regular",
    "prune_empty_dirs",
    "remove_empty_dirs",
    "remove_move_leftover",
    "remove_object",
]

# rmdir failing with these means "not ours to remove (any more)", never a fault.
_KEEP_DIR = frozenset({errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT, errno.EBUSY})
# Attempts before a writer racing concurrent directory removals gives up.
_RETRIES = 20


class NeedExclusive(Exception):
    """A non-directory stands where a directory must go: retry under the exclusive
    bucket lock, which alone may move files."""


@attrs.frozen
class Located:
    """An object's data file, open for reading (the caller closes ``fd``)."""

    fd: int
    stat: os.stat_result
    dir_fd: int  # the directory holding it, owned by the caller's ExitStack
    name: str


def lstat(name: str, dir_fd: int) -> os.stat_result | None:
    """``lstat`` relative to ``dir_fd``; ``None`` if nothing is there."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def open_regular(
    dir_fd: int, name: str, seen: os.stat_result | None = None
) -> Located | None:
    """Open ``name`` in ``dir_fd`` if it is a regular file (never through a link).

    ``seen``: the caller's ``lstat`` of ``name``, if it just made one.
    """
    st = seen or lstat(name, dir_fd)
    if st is None or not stat.S_ISREG(st.st_mode):
        return None  # symlinks, FIFOs, sockets and devices are not objects
    try:
        fd = os.open(name, O_FILE, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP):  # replaced since the lstat
            return None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    return Located(fd, st, dir_fd, name)


def _probe(parent: int, name: str, stack: ExitStack) -> Located | None:
    st = lstat(name, parent)
    if st is None:
        return None
    if stat.S_ISDIR(st.st_mode):
        inner = open_dir(name, parent)
        if inner is None:
            return None
        stack.callback(os.close, inner)
        return open_regular(inner, SELF_NAME)
    return open_regular(parent, name, st)


def locate(parent: int, name: str, stack: ExitStack) -> Located | None:
    """Open the object stored as ``name`` in directory ``parent``, wherever it is."""
    found = _probe(parent, name, stack)
    if found is not None:
        return found
    # A move goes name -> .s3~!m<hash>/.s3~!self -> name/.s3~!self, one rename at a
    # time: probing the middle place and then the first again cannot miss the file,
    # so readers never need the lock to see an object that is being moved.
    middle = open_dir(move_name(name), parent)
    if middle is not None:
        stack.callback(os.close, middle)
        found = open_regular(middle, SELF_NAME)
        if found is not None:
            return found
    return _probe(parent, name, stack)


def open_dirs(bucket_fd: int, names: tuple[str, ...], stack: ExitStack) -> list[int]:
    """Descriptors of the bucket directory and each directory ``names`` leads to.

    Stops early (a shorter list) where a directory is missing.
    """
    fds = [bucket_fd]
    for name in names:
        fd = open_dir(name, fds[-1])
        if fd is None:
            break
        stack.callback(os.close, fd)
        fds.append(fd)
    return fds


def ensure_dirs(
    bucket_fd: int,
    names: tuple[str, ...],
    stack: ExitStack,
    *,
    exclusive: bool,
    fsync: bool,
) -> list[int] | None:
    """Like ``open_dirs``, but make missing directories.

    Returns ``None`` when a concurrent cleanup removed a directory under us (the
    caller starts over). Raises ``NeedExclusive`` when a file is in the way and the
    caller does not hold the exclusive bucket lock.
    """
    fds = [bucket_fd]
    for name in names:
        fd = _ensure_dir(fds[-1], name, exclusive=exclusive, fsync=fsync)
        if fd is None:
            return None
        stack.callback(os.close, fd)
        fds.append(fd)
    return fds


def _ensure_dir(parent: int, name: str, *, exclusive: bool, fsync: bool) -> int | None:
    for _ in range(_RETRIES):
        fd = open_dir(name, parent)
        if fd is not None:
            return fd
        st = lstat(name, parent)
        if st is not None and stat.S_ISDIR(st.st_mode):
            continue  # it appeared between the open and the lstat
        leftover = lstat(move_name(name), parent) is not None
        if st is not None or leftover:
            if not exclusive:
                raise NeedExclusive
            _move_into_dir(parent, name, present=st is not None, fsync=fsync)
            continue
        try:
            os.mkdir(name, dir_fd=parent)
        except FileExistsError:
            continue
        except FileNotFoundError:
            return None  # the parent itself was just removed as empty
    return None


def _move_into_dir(parent: int, name: str, *, present: bool, fsync: bool) -> None:
    """Turn the non-directory ``name`` into the directory ``name/`` holding it.

    Called only under the exclusive bucket lock. Also finishes a move a crash cut
    short (``present`` false: only the middle directory is there).
    """
    middle = move_name(name)
    if present:
        with suppress(FileExistsError):  # left by a crash: reused
            os.mkdir(middle, dir_fd=parent)
        middle_fd = open_dir(middle, parent)
        if middle_fd is None:  # a stray non-directory under a reserved name
            unlink_quietly(middle, parent)
            os.mkdir(middle, dir_fd=parent)
            middle_fd = os.open(middle, O_DIR, dir_fd=parent)
        try:
            # A crash leftover here is older than the file now at ``name``.
            os.replace(name, SELF_NAME, src_dir_fd=parent, dst_dir_fd=middle_fd)
            if fsync:
                fsync_dir(middle_fd)
        finally:
            os.close(middle_fd)
    os.rename(middle, name, src_dir_fd=parent, dst_dir_fd=parent)
    if fsync:
        fsync_dir(parent)


def _rmdir(name: str, dir_fd: int) -> bool:
    try:
        os.rmdir(name, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in _KEEP_DIR:
            return False
        raise
    return True


def prune_empty_dirs(fds: list[int], names: tuple[str, ...]) -> None:
    """Remove the directories ``names`` leads to, innermost first, while empty.

    ``fds[i]`` is the directory holding ``names[i]``. A writer that made one of them
    and is about to use it sees ``ENOENT`` and starts over, so this is race-safe.
    """
    for i in range(len(names) - 1, -1, -1):
        if not _rmdir(names[i], fds[i]):
            return


def remove_object(parent: int, name: str, *, fsync: bool) -> bool:
    """Unlink every stored place of the object ``name`` in ``parent``.

    Non-objects (symlinks, FIFOs) are left alone. Returns whether anything was
    removed; ``name``'s own directory is removed too when that leaves it empty.
    """
    removed = False
    st = lstat(name, parent)
    if st is not None and stat.S_ISREG(st.st_mode):
        removed = unlink_quietly(name, parent)
    elif st is not None and stat.S_ISDIR(st.st_mode):
        removed = _remove_self(parent, name, fsync=fsync)
    removed = remove_move_leftover(parent, name) or removed
    if removed and fsync:
        fsync_dir(parent)
    return removed


def remove_move_leftover(parent: int, name: str) -> bool:
    """Remove what a crashed move of ``name`` left: an older version of its object."""
    return _remove_self(parent, move_name(name), fsync=False)


def _remove_self(parent: int, dirname: str, *, fsync: bool) -> bool:
    fd = open_dir(dirname, parent)
    if fd is None:
        return False
    try:
        st = lstat(SELF_NAME, fd)
        removed = (
            st is not None
            and stat.S_ISREG(st.st_mode)
            and unlink_quietly(SELF_NAME, fd)
        )
        if removed and fsync:
            fsync_dir(fd)
    finally:
        os.close(fd)
    if removed:
        _rmdir(dirname, parent)
    return removed


def _scan(fd: int) -> tuple[list[str], bool]:
    subdirs: list[str] = []
    others = False
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.name)
            else:
                others = True
    return subdirs, others


@attrs.define
class _Level:
    fd: int
    name: str
    pending: list[str] = attrs.Factory(list)
    scanned: bool = False


def _post_order(dir_fd: int) -> Generator[tuple[int, str] | None, None, None]:
    """Walk the tree under ``dir_fd`` depth first.

    Yields ``None`` for each directory holding anything but directories, and
    ``(parent_fd, name)`` for each subdirectory once everything inside it was walked.
    Iterative, holding one descriptor per level: a 1024-byte key can be 1025 levels
    deep, past Python's recursion limit.
    """
    levels = [_Level(os.dup(dir_fd), "")]
    try:
        while levels:
            level = levels[-1]
            if not level.scanned:
                level.pending, others = _scan(level.fd)
                level.scanned = True
                if others:
                    yield None
            elif level.pending:
                name = level.pending.pop()
                child = open_dir(name, level.fd)
                if child is not None:
                    levels.append(_Level(child, name))
            else:
                levels.pop()
                os.close(level.fd)
                if levels:
                    yield levels[-1].fd, level.name
    finally:
        for level in levels:
            os.close(level.fd)


def has_entries(dir_fd: int) -> bool:
    """Whether anything but (nested) empty directories lies under ``dir_fd``."""
    walk = _post_order(dir_fd)
    try:
        return any(step is None for step in walk)
    finally:
        walk.close()


def remove_empty_dirs(dir_fd: int) -> None:
    """Remove every directory under ``dir_fd`` that holds only directories."""
    walk = _post_order(dir_fd)
    try:
        for step in walk:
            if step is not None:
                _rmdir(step[1], step[0])
    finally:
        walk.close()
