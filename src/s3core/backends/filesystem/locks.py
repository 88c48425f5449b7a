"""Reader-writer locks on lock files, holding across threads and across processes.

This module owns locking for the filesystem backend: ``hold(path, exclusive=...)``
excludes other threads of this process and other processes (on this host or, over NFS,
on others) that lock the same file. It must not hold a lock beyond the ``with`` block
and must never delete a lock file (a process waiting on an unlinked file would lock a
different file than the next one and nothing would be excluded).

Why an in-process layer on top of ``flock``: on a local filesystem each ``open`` gives
an independent ``flock``, but the Linux NFS client emulates ``flock`` with POSIX record
locks, which belong to the whole process: two threads would not exclude each other,
and closing either descriptor would drop both locks. So each process keeps one
descriptor per lock file, shares it among its readers, and lets threads queue on a
condition variable before it ever asks the kernel.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator

__all__ = ["hold"]


class _FileLock:
    """One lock file's state in this process."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.cond = threading.Condition()
        self.readers = 0
        self.writer = False
        self.fd = -1

    def _lock_file(self, operation: int) -> None:
        # Called with ``cond`` held: a second reader must not run ahead while the
        # first still waits for the kernel lock that covers them both.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, operation)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def _unlock_file(self) -> None:
        fd, self.fd = self.fd, -1
        os.close(fd)  # closing the descriptor releases the flock

    def acquire(self, exclusive: bool) -> None:
        with self.cond:
            if exclusive:
                self.cond.wait_for(lambda: not self.writer and self.readers == 0)
                self._lock_file(fcntl.LOCK_EX)
                self.writer = True
            else:
                self.cond.wait_for(lambda: not self.writer)
                if self.readers == 0:
                    self._lock_file(fcntl.LOCK_SH)
                self.readers += 1

    def release(self, exclusive: bool) -> None:
        with self.cond:
            if exclusive:
                self.writer = False
                self._unlock_file()
            else:
                self.readers -= 1
                if self.readers == 0:
                    self._unlock_file()
            self.cond.notify_all()


_table: dict[str, _FileLock] = {}
_table_guard = threading.Lock()


def _lock_for(path: str) -> _FileLock:
    # Entries are never dropped: there are at most 513 lock files per bucket (the
    # bucket's, 256 key stripes and 256 upload stripes).
    with _table_guard:
        lock = _table.get(path)
        if lock is None:
            lock = _table[path] = _FileLock(path)
        return lock


@contextlib.contextmanager
def hold(path: str, *, exclusive: bool) -> Iterator[None]:
    """Hold the lock on ``path`` (created if missing) for the ``with`` body.

    Not reentrant: a thread holding a lock must not ask for it again.
    """
    lock = _lock_for(path)
    lock.acquire(exclusive)
    try:
        yield
    finally:
        lock.release(exclusive)
