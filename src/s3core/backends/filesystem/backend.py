"""``FilesystemBackend``: the ``Backend`` protocol over a directory of plain files.

This module owns the backend's public face: each verb checks its arguments, runs inside
the ``OSError`` translation boundary and delegates to ``buckets``, ``objects`` and
``walk``. It must hold no state of its own beyond settings: several processes (and
hosts, over a shared filesystem) may serve one data directory together.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack

from s3core import errors
from s3core.backends.filesystem import buckets, objects
from s3core.backends.filesystem.atomic import unlink_quietly
from s3core.backends.filesystem.layout import Paths, is_storable, key_to_names
from s3core.backends.filesystem.oserrors import translate_os_errors
from s3core.backends.filesystem.store import Clock, Store
from s3core.backends.filesystem.tree import open_dirs
from s3core.backends.filesystem.walk import Candidate, Walk, upper_bound
from s3core.models import BucketInfo, CommonPrefix, ListEntry, ObjectInfo

__all__ = ["FilesystemBackend"]

# Temporary files older than this were left by a crashed process, not a slow upload.
_STALE_TEMP_SECONDS = 24 * 3600


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class FilesystemBackend:
    """Buckets as directories under ``root`` and objects as the files in them.

    See the ``Backend`` protocol for each verb, and the package docstring for the
    layout.

    Args:
        root: the data directory (created if missing).
        fsync: make each write durable before it is acknowledged (files and the
            directories naming them). Off only for tests and scratch data.
        clock: returns the current UTC time; it stamps objects' LastModified (as
            their files' mtime) and the creation time of adopted buckets.
        default_owner_id: the owner of bucket directories made by hand.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        fsync: bool = True,
        clock: Clock = _utcnow,
        default_owner_id: str = "",
    ) -> None:
        with translate_os_errors():
            os.makedirs(root, exist_ok=True)
            # Resolved once, so that every backend over this directory in this
            # process shares one in-process lock per lock file.
            paths = Paths(os.path.realpath(root))
            for path in (paths.tmp, paths.records, paths.locks):
                os.makedirs(path, exist_ok=True)
            _remove_stale_temps(paths.tmp)
        self._store = Store(
            paths, fsync=fsync, clock=clock, default_owner_id=default_owner_id
        )

    @property
    def root(self) -> str:
        """The data directory, resolved."""
        return self._store.paths.root

    # -- buckets ---------------------------------------------------------------

    def create_bucket(
        self, bucket: str, *, owner_id: str, created: dt.datetime
    ) -> BucketInfo:
        with translate_os_errors():
            return buckets.create(
                self._store, bucket, owner_id=owner_id, created=created
            )

    def get_bucket(self, bucket: str) -> BucketInfo:
        with translate_os_errors():
            return buckets.get(self._store, bucket)

    def list_buckets(self) -> list[BucketInfo]:
        with translate_os_errors():
            return buckets.list_all(self._store)

    def delete_bucket(self, bucket: str) -> None:
        with translate_os_errors():
            buckets.delete(self._store, bucket)

    # -- objects ---------------------------------------------------------------

    def open_writer(self, bucket: str, key: str) -> objects.FileWriter:
        with translate_os_errors():
            self._require_bucket(bucket)
            if not is_storable(key):
                raise errors.InvalidArgument("Object key is not valid Unicode.")
            return objects.FileWriter(self._store, bucket, key)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        with translate_os_errors():
            fd, version = self._store.open_object(bucket, key)
            os.close(fd)
            return version.info(key)

    def open_object(self, bucket: str, key: str) -> objects.FileReader:
        with translate_os_errors():
            fd, version = self._store.open_object(bucket, key)
            return objects.FileReader(fd, version.info(key))

    def delete_object(self, bucket: str, key: str) -> None:
        with translate_os_errors():
            if not is_storable(key):
                self._require_bucket(bucket)
                return  # no such key can exist
            objects.delete(self._store, bucket, key)

    def iter_entries(
        self,
        bucket: str,
        *,
        prefix: str = "",
        start_after: str = "",
        delimiter: str = "",
    ) -> Iterator[ListEntry]:
        with translate_os_errors():
            self._require_bucket(bucket)
        return self._entries(bucket, prefix, start_after, delimiter)

    # -- internals -------------------------------------------------------------

    def _require_bucket(self, bucket: str) -> None:
        with ExitStack() as stack:
            self._store.bucket_fd(bucket, stack)

    def _entries(
        self, bucket: str, prefix: str, start_after: str, delimiter: str
    ) -> Iterator[ListEntry]:
        store = self._store
        # Start in the directory the prefix's complete segments name: nothing
        # outside it can start with the prefix.
        head, slash, _ = prefix.rpartition("/")
        dir_names = key_to_names(head) if slash else ()

        def collapse(children: str) -> str | None:
            # Every key under ``children`` shares its first delimiter after the
            # prefix when that delimiter lies wholly inside ``children``.
            cut = children.find(delimiter, len(prefix))
            if cut < 0 or cut + len(delimiter) > len(children):
                return None
            return children[: cut + len(delimiter)]

        with translate_os_errors(), ExitStack() as stack:
            try:
                bucket_fd = store.bucket_fd(bucket, stack)
            except errors.NoSuchBucket:
                return  # deleted since iter_entries checked: an empty listing
            if not is_storable(prefix):
                return
            fds = open_dirs(bucket_fd, dir_names, stack)
            if len(fds) <= len(dir_names):
                return
            walk = Walk(
                fds[-1],
                head + slash,
                prefix=prefix,
                after=start_after,
                resolve=store.resolver(bucket),
                collapse=collapse if delimiter else None,
            )
            for found in walk:
                if isinstance(found, Candidate):
                    cut = found.key.find(delimiter, len(prefix)) if delimiter else -1
                    if cut < 0:
                        version = store.describe_at(
                            bucket, found.key, found.dir_fd, found.name
                        )
                        if version is not None:
                            yield version.info(found.key)
                        continue
                    common = found.key[: cut + len(delimiter)]
                else:
                    common = found.prefix
                yield CommonPrefix(common)
                # Continue at the first key outside the common prefix.
                bound = upper_bound(common)
                if bound is None:
                    return
                walk.seek(bound)


def _remove_stale_temps(tmp: str) -> None:
    cutoff = time.time() - _STALE_TEMP_SECONDS
    with os.scandir(tmp) as entries:
        for entry in entries:
            if (
                entry.name.endswith(".tmp")
                and entry.is_file(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_mtime < cutoff
            ):
                unlink_quietly(entry.path)
