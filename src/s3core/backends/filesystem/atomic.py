"""Small filesystem primitives the backend builds its atomic steps from.

This module owns how files are created and published: temporary files made with
``O_EXCL`` under random names and held under an ``flock`` for as long as their
descriptor is open (so that an orphan, whose process died, is told from a file being
written: see ``remove_orphans``), small files (records, sidecars) replaced atomically
by write-fsync-rename, directory fsyncs, and opening directories without following
symbolic links. It knows nothing of buckets, keys or S3, and it lets every ``OSError``
it does not expect as an answer rise to the caller's translation boundary.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import threading
import time
from collections.abc import Callable

__all__ = [
    "O_DIR",
    "O_FILE",
    "create_exclusive",
    "forget_temp",
    "fsync_dir",
    "fsync_path_dir",
    "link_temp",
    "new_temp",
    "open_dir",
    "read_small",
    "remove_orphans",
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


# The temporary files this process has open. flock conflicts between descriptors
# of one process on local filesystems, but NFS emulates it with POSIX locks, which a
# process never conflicts with: the sweep checks this set too.
_live: set[str] = set()
_live_lock = threading.Lock()
TEMP_SUFFIX = ".tmp"
# Read-write: NFS emulates an exclusive flock with a POSIX write lock, which needs
# a descriptor open for writing.
_O_LOCKABLE = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC
# flock failing with these means "no locks on this filesystem" (an NFS mount
# without a lock manager): temporary files are then told apart by age alone.
_NO_LOCKS = frozenset(
    {errno.ENOLCK, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF}
    | {getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)}
)


def _temp_name(tmp_dir: str) -> str:
    # Unpredictability is not needed (O_EXCL settles any clash), only uniqueness
    # across processes: the module's generator is seeded from the OS per process
    # (and after fork), and costs no system call, unlike ``secrets``.
    return os.path.join(tmp_dir, f"{random.getrandbits(128):032x}{TEMP_SUFFIX}")


def _try_lock(fd: int) -> bool | None:
    """Take ``fd``'s exclusive flock if free: whether we did (``None``: no locks)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in _NO_LOCKS:
            return None
        raise
    return True


def _same_file(fd: int, path: str) -> bool:
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _claim(fd: int, path: str) -> bool:
    """Lock the new temporary file ``fd`` named ``path``; whether it is still ours.

    Between creating a file and locking it, a sweep may have found it unlocked and
    removed it (or hold it to remove it): then the name no longer leads to our file.
    """
    return _try_lock(fd) is not False and _same_file(fd, path)


def forget_temp(path: str) -> None:
    """The temporary file ``path`` was published or removed: no longer live."""
    with _live_lock:
        _live.discard(path)


def _new_name(tmp_dir: str, make: Callable[[str], int]) -> tuple[int, str]:
    """Make a file under a fresh name in ``tmp_dir`` with ``make``, then claim it."""
    while True:
        path = _temp_name(tmp_dir)
        with _live_lock:
            _live.add(path)
        try:
            fd = make(path)
        except FileExistsError:  # 128 random bits: never, but it is safe
            forget_temp(path)
            continue
        except BaseException:
            forget_temp(path)
            raise
        if _claim(fd, path):
            return fd, path
        os.close(fd)
        forget_temp(path)


def new_temp(tmp_dir: str) -> tuple[int, str]:
    """Create an empty file under a fresh random name in ``tmp_dir``: (fd, path).

    The file stays locked while ``fd`` is open: keep it open until the file is
    renamed away or removed, then ``forget_temp`` it.
    """

    def create(path: str) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        return os.open(path, flags, 0o666)

    return _new_name(tmp_dir, create)


def link_temp(path: str, tmp_dir: str) -> tuple[int, str]:
    """A new name in ``tmp_dir`` for the file at ``path`` (a hard link): (fd, path).

    The descriptor is for ``fstat``, ``fsync`` and setting the times of a file that
    is published by renaming the new name, never for writing. Locked as
    ``new_temp``'s.
    """

    def link(temp: str) -> int:
        os.link(path, temp)
        try:
            return os.open(temp, _O_LOCKABLE)
        except BaseException:
            unlink_quietly(temp)
            raise

    return _new_name(tmp_dir, link)


def remove_orphans(tmp_dir: str, *, stale_after: float) -> None:
    """Remove the temporary files in ``tmp_dir`` that no live process is writing.

    A writer holds its file's ``flock`` until the file is published or removed, and
    the kernel drops the locks of a process that dies, even by ``kill -9``: a file
    nobody has locked is an orphan. Safe while other processes write, so every
    process runs it at start. Where the filesystem has no locks, only files older
    than ``stale_after`` seconds go.
    """
    cutoff = time.time() - stale_after
    with os.scandir(tmp_dir) as entries:
        names = [e.name for e in entries if e.name.endswith(TEMP_SUFFIX)]
    for name in names:
        path = os.path.join(tmp_dir, name)
        with _live_lock:
            if path in _live:
                continue
        try:
            fd = os.open(path, _O_LOCKABLE)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP):  # published meanwhile
                continue
            raise
        try:
            locked = _try_lock(fd)
            if locked is None:
                locked = os.fstat(fd).st_mtime < cutoff
            # Unlocked, but still under this name? A writer may have published it
            # (renamed it away) between our open and our lock.
            if locked and _same_file(fd, path):
                unlink_quietly(path)
        finally:
            os.close(fd)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Staged:
    """A temporary file holding some data, locked (so not swept) until closed, and
    removed then unless ``moved`` says it was renamed or linked into place."""

    def __init__(self, data: bytes, tmp_dir: str, fsync: bool) -> None:
        self.fd, self.path = new_temp(tmp_dir)
        self.moved = False
        try:
            write_all(self.fd, data)
            if fsync:
                os.fsync(self.fd)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            if not self.moved:
                unlink_quietly(self.path)
        finally:
            os.close(self.fd)
            forget_temp(self.path)


def _in_new_dirs(publish: Callable[[], object], path: str) -> None:
    """Run ``publish`` (which puts a file at ``path``), making ``path``'s directory
    first if it is missing. Tried first without: the directory is almost always
    there, and checking costs two system calls on every write."""
    try:
        publish()
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        publish()


def write_atomic(path: str, data: bytes, *, tmp_dir: str, fsync: bool) -> None:
    """Replace ``path`` with ``data``: readers see the old content or the new one."""
    staged = _Staged(data, tmp_dir, fsync)
    try:
        _in_new_dirs(lambda: os.replace(staged.path, path), path)
        staged.moved = True
    finally:
        staged.close()
    if fsync:
        fsync_path_dir(path)


def create_exclusive(path: str, data: bytes, *, tmp_dir: str, fsync: bool) -> bool:
    """Create ``path`` with ``data`` unless it exists; whether this call created it.

    A hard link publishes the complete file under the name, or fails with ``EEXIST``:
    unlike ``O_EXCL`` + write, nobody can see it half written.
    """
    staged = _Staged(data, tmp_dir, fsync)
    try:
        _in_new_dirs(lambda: os.link(staged.path, path), path)
    except FileExistsError:
        return False
    finally:
        staged.close()  # the link leaves the temporary name to remove
    if fsync:
        fsync_path_dir(path)
    return True


_SMALL_READ = 16 << 10


def read_small(path: str, limit: int = 1 << 20) -> bytes | None:
    """The content of a small file, or ``None`` if it does not exist."""
    try:
        fd = os.open(path, O_FILE)
    except FileNotFoundError:
        return None
    try:
        # A first read of a few KiB holds any record we write: asking for ``limit``
        # at once would allocate (mmap) and shrink a buffer of that size every time.
        data = os.read(fd, min(limit, _SMALL_READ))
        if len(data) < _SMALL_READ:
            return data
        chunks = [data]
        size = len(data)
        while size < limit:
            chunk = os.read(fd, limit - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def unlink_quietly(path: str, dir_fd: int | None = None) -> bool:
    """Remove a file if it is there; whether it was."""
    try:
        os.unlink(path, dir_fd=dir_fd)
    except FileNotFoundError:
        return False
    return True
