"""Walking a bucket directory in key order, lazily, visiting only what a page needs.

This module owns listing order on disk. S3 orders keys by UTF-8 bytes, which is Python
``str`` order; a directory holds the keys that start with its key plus ``/``. So each
directory is read once with ``os.scandir``, its names decoded to key segments, and its
entries sorted by the keys they stand for: a file by its key, a directory twice, by its
own key (its ``.s3~!self`` object) and by its key plus ``/`` (its children). That
gives ``a`` < ``a-b`` < ``a/b`` < ``a0``, as S3 does. Subtrees entirely before the
lower bound or outside the prefix are never opened, and a directory whose keys all
collapse into one common prefix is only probed for one object, never listed.

It yields where objects are, not what they are: reading metadata is the caller's.
It follows no symlink and yields only regular files.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Generator, Iterator
from operator import attrgetter

import attrs

from s3core.backends.base import prefix_upper_bound
from s3core.backends.filesystem.atomic import open_dir
from s3core.backends.filesystem.layout import (
    RESERVED_PREFIX,
    SELF_NAME,
    decode_name,
    encode_segment,
    hashed_digest,
)
from s3core.backends.filesystem.tree import lstat

__all__ = ["Candidate", "Collapsed", "Walk"]

_FILE, _SELF, _DIR = range(3)


@attrs.frozen
class Candidate:
    """An object: its key and the regular file ``name`` in ``dir_fd`` holding it.

    ``dir_fd`` stays open only until the walk is resumed.
    """

    key: str
    dir_fd: int
    name: str


@attrs.frozen
class Collapsed:
    """A common prefix that a whole directory collapses into, known to hold an
    object."""

    prefix: str


@attrs.frozen
class _Item:
    sort: str  # the key (file, self) or the key prefix of the children (dir)
    name: str
    kind: int


@attrs.define
class _Frame:
    fd: int
    owned: bool
    items: list[_Item]
    index: int = 0

    def close(self) -> None:
        if self.owned:
            os.close(self.fd)


class Walk:
    """Objects under one directory, in key order, from a movable lower bound.

    Args:
        fd: the directory to start in (not closed by the walk).
        dirkey: the key prefix that directory stands for (``""`` for the bucket).
        prefix: only keys starting with it.
        after: only keys greater than it (or equal, with ``inclusive``).
        resolve: the segment behind a hashed name's digest, if known.
        collapse: given a directory's children prefix, the common prefix all of them
            fall into, if one does; such a directory yields one ``Collapsed``.
    """

    def __init__(
        self,
        fd: int,
        dirkey: str,
        *,
        prefix: str,
        after: str,
        resolve: Callable[[str], str | None],
        collapse: Callable[[str], str | None] | None = None,
        inclusive: bool = False,
    ) -> None:
        self._fd = fd
        self._dirkey = dirkey
        self._prefix = prefix
        self._end = prefix_upper_bound(prefix) if prefix else None
        self._lower = after
        self._inclusive = inclusive
        self._resolve = resolve
        self._collapse = collapse

    def seek(self, bound: str) -> None:
        """From now on, yield only keys ``>= bound`` (the bound only moves up)."""
        if bound > self._lower:
            self._lower, self._inclusive = bound, True

    def _before_lower(self, key: str) -> bool:
        return key < self._lower or (key == self._lower and not self._inclusive)

    def _wanted_dir(self, children: str) -> bool:
        end = prefix_upper_bound(children)
        if end is not None and end <= self._lower:
            return False  # every key in it is below the lower bound
        return children.startswith(self._prefix) or self._prefix.startswith(children)

    def __iter__(self) -> Iterator[Candidate | Collapsed]:
        return self.run()

    def run(self) -> Generator[Candidate | Collapsed, None, None]:
        """The walk itself; ``close()`` it to release its descriptors early."""
        frames = [_Frame(self._fd, False, self._scan(self._fd, self._dirkey))]
        try:
            while frames:
                frame = frames[-1]
                if frame.index == len(frame.items):
                    frames.pop().close()
                    continue
                item = frame.items[frame.index]
                frame.index += 1
                if self._end is not None and item.sort >= self._end:
                    return  # sorted: nothing after this can match the prefix
                if item.kind == _DIR:
                    if self._wanted_dir(item.sort):
                        found = self._enter(frame.fd, item, frames)
                        if found is not None:
                            yield found
                elif not self._before_lower(item.sort) and item.sort.startswith(
                    self._prefix
                ):
                    yield from self._object(frame.fd, item)
        finally:
            for frame in frames:
                frame.close()

    def _enter(
        self, parent: int, item: _Item, frames: list[_Frame]
    ) -> Collapsed | None:
        fd = open_dir(item.name, parent)
        if fd is None:
            return None  # removed meanwhile, or replaced by a symlink: not followed
        common = self._collapse(item.sort) if self._collapse else None
        if common is not None:
            try:
                found = self._any_object(fd, item.sort)
            finally:
                os.close(fd)
            return Collapsed(common) if found else None
        try:
            items = self._scan(fd, item.sort)
        except BaseException:
            os.close(fd)
            raise
        frames.append(_Frame(fd, True, items))
        return None

    def _any_object(self, fd: int, dirkey: str) -> bool:
        """Whether directory ``fd`` (keys ``dirkey...``) holds an object at or
        above the lower bound.

        A delimiter listing asks this of every directory it collapses, so it needs
        no order: the first object found ends it, and a directory's first file is
        almost always one (a sorted walk read, decoded and sorted every entry).
        """
        subdirs: list[tuple[str, str]] = []
        for key, entry in self._entries(fd, dirkey):
            if entry.is_file(follow_symlinks=False):
                if not self._before_lower(key):
                    return True
            elif entry.is_dir(follow_symlinks=False):
                subdirs.append((key, entry.name))
        for key, name in subdirs:
            sub = open_dir(name, fd)
            if sub is None:
                continue  # removed meanwhile, or a symlink: not followed
            try:
                if not self._before_lower(key):
                    st = lstat(SELF_NAME, sub)
                    if st is not None and stat.S_ISREG(st.st_mode):
                        return True
                if self._wanted_dir(key + "/") and self._any_object(sub, key + "/"):
                    return True
            finally:
                os.close(sub)
        return False

    def _object(self, parent: int, item: _Item) -> Iterator[Candidate]:
        if item.kind == _FILE:
            yield Candidate(item.sort, parent, item.name)
            return
        fd = open_dir(item.name, parent)
        if fd is None:
            return
        try:
            st = lstat(SELF_NAME, fd)
            if st is not None and stat.S_ISREG(st.st_mode):
                yield Candidate(item.sort, fd, SELF_NAME)
        finally:
            os.close(fd)

    def _segment(self, name: str) -> str | None:
        if not name.startswith(RESERVED_PREFIX):
            return decode_name(name)
        digest = hashed_digest(name)
        segment = self._resolve(digest) if digest is not None else None
        # Only the canonical name of a segment counts, so no key has two paths.
        if segment is None or encode_segment(segment) != name:
            return None
        return segment

    def _entries(self, fd: int, dirkey: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
        """(key, entry) for each entry of ``fd`` that stands for a key segment."""
        with os.scandir(fd) as entries:
            for entry in entries:
                segment = self._segment(entry.name)
                if segment is not None:  # else reserved, or no segment's encoding
                    yield dirkey + segment, entry

    def _scan(self, fd: int, dirkey: str) -> list[_Item]:
        items: list[_Item] = []
        for key, entry in self._entries(fd, dirkey):
            if entry.is_dir(follow_symlinks=False):
                items.append(_Item(key, entry.name, _SELF))
                items.append(_Item(key + "/", entry.name, _DIR))
            elif entry.is_file(follow_symlinks=False):
                items.append(_Item(key, entry.name, _FILE))
        items.sort(key=attrgetter("sort"))
        return items
