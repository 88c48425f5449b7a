"""Reading, writing and deleting one object in the filesystem backend.

This module owns the object lifecycle on disk. A writer streams into a temporary file
(in the reserved area, on the data's filesystem); ``commit`` stamps its mtime from the
clock, fsyncs it and, under the bucket's shared lock and the key's lock, checks the
write condition, writes the sidecar for the file's identity (which ``rename`` keeps),
then renames the file into place: readers see the old object or the new one, and a
crash leaves at worst an unused temporary file. A reader holds the data file open, so
it keeps reading the version it opened whatever happens to the name. Every public
method runs inside the ``OSError`` translation boundary. It must not touch another
key's file, except to move a file standing where a directory must go, and only under
the bucket's exclusive lock.
"""

from __future__ import annotations

import os
import weakref
from contextlib import ExitStack
from types import TracebackType

from s3core import errors
from s3core.backends.base import check_write_condition
from s3core.backends.filesystem.atomic import (
    forget_temp,
    fsync_dir,
    link_temp,
    new_temp,
    open_dir,
    unlink_quietly,
    write_all,
)
from s3core.backends.filesystem.copying import append_range, clone_or_copy
from s3core.backends.filesystem.layout import SELF_NAME, key_to_names
from s3core.backends.filesystem.meta import Identity, Version, mtime_ns_for
from s3core.backends.filesystem.oserrors import translate_os_errors
from s3core.backends.filesystem.store import Store
from s3core.backends.filesystem.tree import (
    NeedExclusive,
    ensure_dirs,
    locate,
    open_dirs,
    prune_empty_dirs,
    remove_move_leftover,
    remove_object,
)
from s3core.models import ObjectInfo, ObjectMeta, WriteCondition

__all__ = ["FileReader", "FileWriter", "Handle", "delete"]

# Attempts before a writer that keeps racing directory removals answers SlowDown.
_PUBLISH_ATTEMPTS = 20
_READ_CHUNK = 1 << 20


class Handle:
    """A descriptor (and, for a writer, its temporary file) to release exactly once.

    Kept apart from the reader or writer so that a ``weakref.finalize`` can release
    it when one is dropped without ``close``/``abort``, without keeping it alive.
    A writer's descriptor holds its temporary file's lock (``atomic.new_temp``), so
    it stays open until the file is published (``temp`` set to ``None``) or removed.
    """

    def __init__(self, fd: int, temp: str | None = None) -> None:
        self.fd = fd
        self.temp = temp
        self._created = temp

    def release(self) -> None:
        temp, self.temp = self.temp, None
        if temp is not None:
            unlink_quietly(temp)
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)
        created, self._created = self._created, None
        if created is not None:
            forget_temp(created)


class FileReader:
    """An open data file: one version's bytes, whatever later writes do."""

    def __init__(self, fd: int, info: ObjectInfo) -> None:
        self._handle = Handle(fd)
        self._release = weakref.finalize(self, self._handle.release)
        self._info = info
        self._pos = 0

    @property
    def info(self) -> ObjectInfo:
        return self._info

    def fileno(self) -> int:
        """The descriptor, for ``sendfile``; valid until ``close``."""
        if self._handle.fd < 0:
            raise ValueError("fileno of a closed object reader")
        return self._handle.fd

    def seek(self, offset: int, /) -> None:
        self._pos = offset

    def read(self, n: int = -1, /) -> bytes:
        fd = self.fileno()
        # Never past the recorded size: the response's Content-Length says so, even
        # if someone appends to the file in place.
        remaining = max(self._info.size - self._pos, 0)
        want = remaining if n is None or n < 0 else min(n, remaining)
        chunks: list[bytes] = []
        with translate_os_errors():
            while want > 0:
                chunk = os.pread(fd, min(want, _READ_CHUNK), self._pos)
                if not chunk:
                    break  # truncated in place by hand: end early
                chunks.append(chunk)
                self._pos += len(chunk)
                want -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        with translate_os_errors():
            self._release()

    def __enter__(self) -> FileReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class FileWriter:
    """A temporary file being written; ``commit`` renames it into place.

    Besides ``write``, the backend fills it from files it already stores
    (``append_from``, ``clone_from``) or starts it as a hard link to one
    (``linking``), so that copies and multipart assembly move no bytes through
    Python.
    """

    def __init__(
        self, store: Store, bucket: str, key: str, *, link_to: str | None = None
    ) -> None:
        self._store = store
        self._bucket = bucket
        self._key = key
        if link_to is None:
            fd, temp = new_temp(store.paths.tmp)
        else:
            fd, temp = link_temp(link_to, store.paths.tmp)
        self._handle = Handle(fd, temp)
        self._release = weakref.finalize(self, self._handle.release)
        self._finished = False

    def write(self, data: bytes, /) -> None:
        if self._finished:
            raise ValueError("write to a finished object writer")
        with translate_os_errors():
            write_all(self._handle.fd, data)

    def append_from(self, fd: int, offset: int, length: int) -> None:
        """Append ``length`` bytes of the open file ``fd`` from ``offset``.

        Raises:
            InternalError: ``fd`` is shorter than that.
        """
        if self._finished:
            raise ValueError("write to a finished object writer")
        with translate_os_errors():
            append_range(fd, self._handle.fd, offset, length)

    def clone_from(self, fd: int, length: int) -> None:
        """Fill the (still empty) file with the first ``length`` bytes of ``fd``.

        Raises:
            InternalError: ``fd`` is shorter than that.
        """
        if self._finished:
            raise ValueError("write to a finished object writer")
        with translate_os_errors():
            clone_or_copy(fd, self._handle.fd, length)

    def commit(
        self,
        meta: ObjectMeta,
        *,
        etag: str,
        condition: WriteCondition | None = None,
        parts_count: int | None = None,
        part_sizes: tuple[int, ...] = (),
    ) -> ObjectInfo:
        if self._finished:
            raise ValueError("commit of a finished object writer")
        self._finished = True
        store = self._store
        try:
            with translate_os_errors():
                fd = self._handle.fd
                mtime = mtime_ns_for(store.clock())
                os.utime(fd, ns=(mtime, mtime))
                version = Version(
                    identity=Identity.of(os.fstat(fd)),
                    etag=etag,
                    meta=meta,
                    parts_count=len(part_sizes) if part_sizes else parts_count,
                    part_sizes=part_sizes,
                )
                in_file = store.attach(fd, self._key, version)
                if store.fsync:  # after utime and the attribute: both are published
                    os.fsync(fd)
                # The descriptor stays open (and the file locked) until it is
                # renamed into place: an unlocked temporary file is an orphan to
                # another process starting up.
                return _publish(
                    store,
                    self._bucket,
                    self._key,
                    self._handle,
                    version,
                    condition,
                    in_file=in_file,
                )
        finally:
            # The descriptor, and the temporary file unless it was published.
            with translate_os_errors():
                self._release()

    def abort(self) -> None:
        self._finished = True
        with translate_os_errors():
            self._release()


def _publish(
    store: Store,
    bucket: str,
    key: str,
    handle: Handle,
    version: Version,
    condition: WriteCondition | None,
    *,
    in_file: bool,
) -> ObjectInfo:
    """Publish ``handle``'s file as ``key``; ``in_file``: its record is in its
    attribute already (no sidecar to write)."""
    args = (store, bucket, key, handle, version, condition)
    try:
        with store.bucket_lock(bucket, exclusive=False), store.key_lock(bucket, key):
            return _publish_locked(*args, in_file=in_file, exclusive=False)
    except NeedExclusive:
        pass
    # A file stands where a directory must go: only the exclusive lock may move it,
    # and everything is checked again under it.
    with store.bucket_lock(bucket, exclusive=True):
        return _publish_locked(*args, in_file=in_file, exclusive=True)


def _publish_locked(
    store: Store,
    bucket: str,
    key: str,
    handle: Handle,
    version: Version,
    condition: WriteCondition | None,
    *,
    in_file: bool,
    exclusive: bool,
) -> ObjectInfo:
    names = key_to_names(key)
    for _ in range(_PUBLISH_ATTEMPTS):
        with ExitStack() as stack:
            bucket_fd = store.bucket_fd(bucket, stack)
            store.record_names(bucket, names, key)
            fds = ensure_dirs(
                bucket_fd, names[:-1], stack, exclusive=exclusive, fsync=store.fsync
            )
            if fds is None:
                continue  # a concurrent delete removed a directory we made
            parent, name = fds[-1], names[-1]
            previous = None
            if condition is not None or not in_file:
                previous = _current(
                    store,
                    bucket,
                    key,
                    parent,
                    name,
                    stack,
                    need_etag=condition is not None,
                )
            if condition is not None:
                current = previous.info(key) if previous is not None else None
                check_write_condition(condition, current, key)
            if not in_file:
                # The old record stays beside the new one: a reader that opened the
                # old file just before the rename still finds its metadata. (A
                # record in the file's attribute needs neither: readers take it
                # from the file they opened, and an older sidecar is left as it is
                # for the readers of older versions.)
                kept = (previous,) if previous is not None else ()
                store.write_versions(bucket, key, (version, *kept))
            try:
                target_fd = _replace_into(handle.temp or "", parent, name, stack)
            except (IsADirectoryError, FileNotFoundError):
                if handle.temp is None or not os.path.exists(handle.temp):
                    raise
                continue  # a directory appeared at the name, or ours was removed
            handle.temp = None
            if store.fsync:
                fsync_dir(target_fd)
            if target_fd == parent:
                # A crashed move may have left an older version of this key.
                remove_move_leftover(parent, name)
            return version.info(key)
    raise errors.SlowDown()


def _current(
    store: Store,
    bucket: str,
    key: str,
    parent: int,
    name: str,
    stack: ExitStack,
    *,
    need_etag: bool,
) -> Version | None:
    """The record of the object now at the key, if there is one.

    A file without a valid record is hashed only if a condition needs its ETag:
    overwriting a big hand-placed file must not read it first.
    """
    found = locate(parent, name, stack)
    if found is None:
        return None
    try:
        if need_etag:
            return store.describe_current(bucket, key, found)
        return store.record_of(bucket, key, found)
    finally:
        os.close(found.fd)


def _replace_into(temp: str, parent: int, name: str, stack: ExitStack) -> int:
    """Rename ``temp`` to ``name``, or to ``name/.s3~!self`` if ``name`` is a
    directory; the descriptor of the directory it went into.

    The plain rename is tried first (a file or nothing at ``name`` is the common
    case, and ``rename`` itself tells a directory apart: ``EISDIR``).
    """
    try:
        os.replace(temp, name, dst_dir_fd=parent)
        return parent
    except IsADirectoryError:
        inner = open_dir(name, parent)
        if inner is None:
            raise  # replaced by a file since: the caller starts over
        stack.callback(os.close, inner)
        os.replace(temp, SELF_NAME, dst_dir_fd=inner)
        return inner


def delete(store: Store, bucket: str, key: str) -> None:
    """Remove ``key`` if it exists, and the directories that leaves empty."""
    names = key_to_names(key)
    with (
        store.bucket_lock(bucket, exclusive=False),
        store.key_lock(bucket, key),
        ExitStack() as stack,
    ):
        bucket_fd = store.bucket_fd(bucket, stack)
        fds = open_dirs(bucket_fd, names[:-1], stack)
        if len(fds) < len(names):
            return
        if remove_object(fds[-1], names[-1], fsync=store.fsync):
            store.drop_versions(bucket, key)
            prune_empty_dirs(fds, names[:-1])
