"""The filesystem backend's shared state and the steps every verb is made of.

This module owns a ``Store``: the data root's paths and settings, bucket directory
lookup, the locks of a bucket and of a key, hashed-name records, and describing an
object (the record in its data file's attribute or its sidecar, whichever matches the
file, else one computed and cached in a sidecar). It
keeps no state that is not re-validated on disk: one in-process cache maps SHA-256
digests to the segments that hash to them, which cannot go stale; the other keeps
parsed bucket records beside the ``stat`` of the file they were read from, and is
used only while a fresh ``stat`` matches.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from s3core import errors
from s3core.backends.filesystem import locks, xattr
from s3core.backends.filesystem.atomic import (
    create_exclusive,
    open_dir,
    read_small,
    unlink_quietly,
    write_atomic,
)
from s3core.backends.filesystem.layout import (
    Paths,
    digest,
    hashed_digest,
    is_storable,
    key_to_names,
)
from s3core.backends.filesystem.meta import (
    Identity,
    Version,
    dump_sidecar,
    hash_version,
    load_sidecar,
    match,
)
from s3core.backends.filesystem.tree import (
    Located,
    locate,
    lstat,
    open_dirs,
    open_regular,
)
from s3core.models import BucketInfo

__all__ = ["CANNOT_WRITE", "Clock", "Store", "valid_bucket_dirname"]

Clock = Callable[[], dt.datetime]
# A record file's (inode, size, mtime_ns, ctime_ns).
RecordStamp = tuple[int, int, int, int]
# Attempts at a consistent (file, record) pair while writers replace the file.
_DESCRIBE_ATTEMPTS = 3
# Errors of a disk that takes no writes: full, over quota, read-only, not ours.
CANNOT_WRITE = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
)


def valid_bucket_dirname(bucket: str) -> bool:
    """Whether ``bucket`` can only name a directory directly under the root.

    The service validates bucket names; this is the backend's own guard that no name
    reaches outside the root or into the reserved area, whatever the caller passes.
    """
    return (
        bool(bucket)
        and not bucket.startswith(".")
        and "/" not in bucket
        and "\0" not in bucket
        and is_storable(bucket)
        and len(bucket.encode("utf-8")) <= 250  # room for ".json" in records
    )


class Store:
    """Paths, settings and the building blocks shared by buckets and objects."""

    def __init__(
        self,
        paths: Paths,
        *,
        fsync: bool,
        clock: Clock,
        default_owner_id: str,
        xattrs: bool = True,
    ) -> None:
        self.paths = paths
        self.fsync = fsync
        # Whether commits try to keep records in an attribute of the data file
        # (``xattr``); records are read from attributes either way.
        self.xattrs = xattrs
        self.clock = clock
        self.default_owner_id = default_owner_id
        self._segments: dict[str, str] = {}
        # Bucket name -> (record file's stat stamp, parsed record): see buckets.get.
        self.bucket_records: dict[
            str, tuple[tuple[int, int, int, int], BucketInfo]
        ] = {}

    # -- buckets and locks -----------------------------------------------------

    def bucket_fd(self, bucket: str, stack: ExitStack) -> int:
        """An open descriptor of the bucket directory, closed with ``stack``.

        Raises:
            NoSuchBucket: there is no such directory (a symlink is not a bucket).
        """
        fd = (
            open_dir(self.paths.bucket(bucket))
            if valid_bucket_dirname(bucket)
            else None
        )
        if fd is None:
            raise errors.NoSuchBucket(extra={"BucketName": bucket})
        stack.callback(os.close, fd)
        return fd

    @contextmanager
    def bucket_lock(self, bucket: str, *, exclusive: bool) -> Iterator[None]:
        """Shared by writers of single keys; exclusive for moving files into
        directories and for creating or deleting the bucket.

        Raises:
            NoSuchBucket: the name could not be a bucket directory at all (checked
                first, as it also names the lock file).
        """
        if not valid_bucket_dirname(bucket):
            raise errors.NoSuchBucket(extra={"BucketName": bucket})
        with locks.hold(self.paths.bucket_lock(bucket), exclusive=exclusive):
            yield

    @contextmanager
    def key_lock(self, bucket: str, key: str) -> Iterator[None]:
        """Held (inside a shared bucket lock) to change one key's file or sidecar."""
        with locks.hold(self.paths.key_lock(bucket, key), exclusive=True):
            yield

    # -- hashed names ----------------------------------------------------------

    def resolver(self, bucket: str) -> Callable[[str], str | None]:
        """Look up the segment behind a hashed name's digest in ``bucket``."""

        def resolve(segment_digest: str) -> str | None:
            segment = self._segments.get(segment_digest)
            if segment is not None:
                return segment
            data = read_small(self.paths.name_record(bucket, segment_digest))
            try:
                segment = data.decode("utf-8") if data is not None else None
            except UnicodeDecodeError:
                return None
            # Content-addressed, so a record is trusted only if it hashes right.
            if segment is None or digest(segment) != segment_digest:
                return None
            self._segments[segment_digest] = segment
            return segment

        return resolve

    def record_names(self, bucket: str, names: tuple[str, ...], key: str) -> None:
        """Make sure every hashed name on ``key``'s path can be decoded by listings.

        Written before the name appears on disk, and kept until the bucket is
        deleted: they are tiny, and other keys may share the segment.
        """
        for name, segment in zip(names, key.split("/"), strict=True):
            hashed = hashed_digest(name)
            path = self.paths.name_record(bucket, hashed) if hashed else ""
            # Checked on disk, not in the cache: the cache spans buckets and
            # outlives a deleted bucket's records.
            if hashed is not None and not os.path.exists(path):
                # Losing a race here is fine: the winner wrote the same bytes.
                data = segment.encode("utf-8")
                create_exclusive(path, data, tmp_dir=self.paths.tmp, fsync=self.fsync)

    # -- records: sidecars and attributes -----------------------------------

    def versions(self, bucket: str, key: str) -> tuple[Version, ...]:
        return load_sidecar(read_small(self.paths.sidecar(bucket, key)), key)

    def write_versions(
        self, bucket: str, key: str, versions: tuple[Version, ...]
    ) -> None:
        write_atomic(
            self.paths.sidecar(bucket, key),
            dump_sidecar(key, versions),
            tmp_dir=self.paths.tmp,
            fsync=self.fsync,
        )

    def drop_versions(self, bucket: str, key: str) -> None:
        unlink_quietly(self.paths.sidecar(bucket, key))

    def attach(self, fd: int, key: str, version: Version) -> bool:
        """Keep ``version`` in an attribute of the (temporary) data file ``fd``;
        ``False`` if this store or its filesystem does not: then in the sidecar."""
        return self.xattrs and xattr.attach(fd, key, version)

    # -- describing objects ----------------------------------------------------

    def open_object(self, bucket: str, key: str) -> tuple[int, Version]:
        """Open ``key``'s data file and describe it: (descriptor, record).

        Raises:
            NoSuchBucket, NoSuchKey.
        """
        names = key_to_names(key) if is_storable(key) else ()
        for _ in range(_DESCRIBE_ATTEMPTS - 1):
            opened = self._open_described(bucket, key, names, locked=False)
            if opened is not None:
                return opened
        # Writers kept replacing the file between our open and our read of its
        # record (each keeps only the previous record beside its own): read the
        # pair under the key's lock, where no writer can publish.
        with self.bucket_lock(bucket, exclusive=False), self.key_lock(bucket, key):
            opened = self._open_described(bucket, key, names, locked=True)
        assert opened is not None, "under the lock the file cannot be replaced"
        return opened

    def _open_described(
        self, bucket: str, key: str, names: tuple[str, ...], *, locked: bool
    ) -> tuple[int, Version] | None:
        """One attempt of ``open_object``; ``None`` if the file was replaced."""
        with ExitStack() as stack:
            bucket_fd = self.bucket_fd(bucket, stack)
            fds = open_dirs(bucket_fd, names[:-1], stack)
            found = None
            if names and len(fds) == len(names):
                found = locate(fds[-1], names[-1], stack)
            if found is None:
                raise errors.NoSuchKey(extra={"Key": key})
            try:
                version = self.record_of(bucket, key, found)
                if version is None and not locked and _replaced(found):
                    # A writer published between our open and our read of the
                    # sidecar: start over rather than hash an old file.
                    os.close(found.fd)
                    return None
                if version is None:
                    # A file with no record of its own (placed by hand): hash it
                    # once and keep the record for the next reader.
                    version = hash_version(found.fd, found.stat, key)
                    self._cache(bucket, key, version, locked=locked)
            except BaseException:
                os.close(found.fd)
                raise
            return found.fd, version

    def describe_at(
        self, bucket: str, key: str, dir_fd: int, name: str
    ) -> Version | None:
        """Describe the object a listing found as ``name`` in ``dir_fd``.

        ``None`` if it is gone (a listing then skips it).
        """
        found = open_regular(dir_fd, name)
        if found is None:
            return None
        try:
            version = self.record_of(bucket, key, found)
            if version is not None:
                return version
            version = hash_version(found.fd, found.stat, key)
        finally:
            os.close(found.fd)
        self._cache(bucket, key, version)
        return version

    def record_of(self, bucket: str, key: str, found: Located) -> Version | None:
        """The record describing ``found``: its own attribute's, else its sidecar's.

        The attribute is read from the open file, so it is the record of the very
        version ``found`` holds; a sidecar is checked against ``found``'s identity.
        """
        version = xattr.read(found.fd, key, found.stat)
        if version is not None:
            return version
        return match(self.versions(bucket, key), found.stat)

    def describe_current(self, bucket: str, key: str, found: Located) -> Version:
        """Describe an object under the key's lock (no caching: the caller writes)."""
        version = self.record_of(bucket, key, found)
        return version or hash_version(found.fd, found.stat, key)

    def _cache(
        self, bucket: str, key: str, version: Version, *, locked: bool = False
    ) -> None:
        try:
            if locked:
                # The caller holds the key's lock and just found this very file.
                self.write_versions(bucket, key, (version,))
            else:
                self._cache_if_current(bucket, key, version)
        except OSError as exc:
            # A cache that cannot be written (a full or read-only disk) costs a
            # hash on the next read; it must not fail this one.
            if exc.errno not in CANNOT_WRITE:
                raise

    def _cache_if_current(self, bucket: str, key: str, version: Version) -> None:
        # Under the key's lock, and only if the file is still the one hashed: a
        # concurrent commit's sidecar must never be overwritten by a stale guess.
        names = key_to_names(key)
        with (
            self.bucket_lock(bucket, exclusive=False),
            self.key_lock(bucket, key),
            ExitStack() as stack,
        ):
            bucket_fd = open_dir(self.paths.bucket(bucket))
            if bucket_fd is None:
                return
            stack.callback(os.close, bucket_fd)
            fds = open_dirs(bucket_fd, names[:-1], stack)
            if len(fds) != len(names):
                return
            found = locate(fds[-1], names[-1], stack)
            if found is None:
                return
            os.close(found.fd)
            if Identity.of(found.stat) == version.identity:
                self.write_versions(bucket, key, (version,))


def _replaced(found: Located) -> bool:
    st = lstat(found.name, found.dir_fd)
    return st is None or Identity.of(st) != Identity.of(found.stat)
