"""Copying bytes between open files with the least work the platform allows.

This module owns how the filesystem backend copies data it already stores (CopyObject,
assembling a completed multipart upload): first a reflink clone of a whole file
(``FICLONE``: btrfs, XFS; no bytes move at all), then ``copy_file_range`` (the kernel
copies, or reflinks, without a pass through user space), then ``sendfile`` between
files, and only then ``pread``/``write`` through Python with a bounded buffer. Each
step falls back only on "not supported here" errors and resumes where the previous one
stopped. It works on descriptors only: it knows nothing of keys, locks or metadata,
and lets every other ``OSError`` rise to the caller's translation boundary.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
from collections.abc import Callable

from s3core import errors
from s3core.backends.filesystem.atomic import write_all

__all__ = ["append_range", "clone_or_copy"]

# errno values that mean "this way of copying does not work for these files" (another
# filesystem, no support in the kernel or filesystem, a non-socket sendfile target on
# macOS): the next way is tried.
_UNSUPPORTED = frozenset(
    code
    for code in (
        errno.EXDEV,
        errno.EINVAL,
        errno.ENOSYS,
        errno.EOPNOTSUPP,
        getattr(errno, "ENOTSUP", errno.EOPNOTSUPP),
        errno.ENOTTY,
        errno.ENOTSOCK,
        errno.EBADF,
    )
)
# Per call: big enough that syscall overhead vanishes, small enough that a copy of
# gigabytes is not one uninterruptible call.
_STEP = 1 << 30
# The buffer of the last-resort copy through Python.
_BUFFER = 1 << 20
# linux/fs.h: #define FICLONE _IOW(0x94, 9, int)
_FICLONE = 0x40049409

# (source fd, destination fd, source offset, count) -> bytes copied; the destination
# is written at, and advanced from, its current file offset.
_Step = Callable[[int, int, int, int], int]


def _copy_file_range(src: int, dst: int, offset: int, count: int) -> int:
    return os.copy_file_range(src, dst, min(count, _STEP), offset)


def _sendfile(src: int, dst: int, offset: int, count: int) -> int:
    return os.sendfile(dst, src, offset, min(count, _STEP))


def _read_write(src: int, dst: int, offset: int, count: int) -> int:
    data = os.pread(src, min(count, _BUFFER), offset)
    write_all(dst, data)
    return len(data)


def _steps() -> list[_Step]:
    steps: list[_Step] = []
    if hasattr(os, "copy_file_range"):
        steps.append(_copy_file_range)
    if sys.platform.startswith("linux"):
        steps.append(_sendfile)  # file-to-file since Linux 2.6.33
    steps.append(_read_write)
    return steps


_STEPS = _steps()


def append_range(src: int, dst: int, offset: int, length: int) -> None:
    """Append ``length`` bytes of ``src`` from ``offset`` at ``dst``'s file offset.

    Raises:
        InternalError: ``src`` ends before ``offset + length`` (a stored file was
            truncated behind our back): nothing short is ever published.
    """
    position, end = offset, offset + length
    for step in _STEPS:
        try:
            while position < end:
                copied = step(src, dst, position, end - position)
                if copied == 0:
                    raise errors.InternalError("stored data shorter than its record")
                position += copied
            return
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED or step is _read_write:
                raise


def clone_or_copy(src: int, dst: int, length: int) -> None:
    """Make the empty file ``dst`` hold the first ``length`` bytes of ``src``.

    A reflink clone when the filesystem has them and ``src`` is exactly ``length``
    bytes long; otherwise ``append_range``.

    Raises:
        InternalError: as ``append_range``.
    """
    if length > 0 and sys.platform.startswith("linux"):
        if os.fstat(src).st_size == length:
            try:
                fcntl.ioctl(dst, _FICLONE, src)
                # The clone leaves dst's offset at 0; later writes append.
                os.lseek(dst, 0, os.SEEK_END)
                return
            except OSError as exc:
                if exc.errno not in _UNSUPPORTED:
                    raise
    append_range(src, dst, 0, length)
