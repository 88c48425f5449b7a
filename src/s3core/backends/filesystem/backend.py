"""``FilesystemBackend``: the ``Backend`` protocol over a directory of plain files.

This module owns the backend's public face: each verb checks its arguments, runs inside
the ``OSError`` translation boundary and delegates to ``buckets``, ``objects``,
``uploads`` and ``walk``. It must hold no state of its own beyond settings (and the
time of its last sweep of expired uploads): several processes (and hosts, over a shared
filesystem) may serve one data directory together.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack

from s3core import errors
from s3core.backends.base import (
    DEFAULT_UPLOAD_EXPIRY,
    ObjectReader,
    new_upload_id,
    prefix_upper_bound,
)
from s3core.backends.filesystem import buckets, objects, uploads
from s3core.backends.filesystem.atomic import remove_orphans
from s3core.backends.filesystem.layout import Paths, is_storable, key_to_names
from s3core.backends.filesystem.oserrors import translate_os_errors
from s3core.backends.filesystem.store import Clock, Store
from s3core.backends.filesystem.tree import open_dirs
from s3core.backends.filesystem.walk import Candidate, Walk
from s3core.models import (
    BucketInfo,
    CommonPrefix,
    ListEntry,
    ObjectInfo,
    ObjectMeta,
    Part,
    Upload,
    WriteCondition,
)

__all__ = ["FilesystemBackend"]

# Upload directories being built in tmp/ (``uploads.create`` takes milliseconds and
# holds no lock) that are older than this were left by a crashed process. Temporary
# files are told apart by their lock instead (``atomic.remove_orphans``), and by this
# age only on a filesystem without locks.
_STALE_TEMP_SECONDS = 24 * 3600
# How often a process sweeps expired uploads and orphaned temporary files, besides
# at start: a sweep reads every upload record, so not on each write.
_SWEEP_INTERVAL_SECONDS = 3600


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
        upload_expiry: multipart uploads initiated longer ago than this are
            aborted by a sweep over the whole data directory, run by this process's
            first ``create_upload`` and then by at most one ``create_upload`` an
            hour. ``None`` keeps them until completed or aborted;
            ``expire_uploads`` sweeps on demand (a cron job can call it).
        xattrs: keep each object's record (ETag, content type, user metadata,
            checksums) in an extended attribute of its data file, published by
            the same rename as the bytes, wherever the filesystem takes one; else,
            and always when ``False``, in a sidecar file under ``.s3server/meta``.
            Records are read from either, so data written one way reads the other.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        fsync: bool = True,
        clock: Clock = _utcnow,
        default_owner_id: str = "",
        upload_expiry: dt.timedelta | None = DEFAULT_UPLOAD_EXPIRY,
        xattrs: bool = True,
    ) -> None:
        with translate_os_errors():
            os.makedirs(root, exist_ok=True)
            # Resolved once, so that every backend over this directory in this
            # process shares one in-process lock per lock file.
            paths = Paths(os.path.realpath(root))
            for path in (paths.tmp, paths.records, paths.locks, paths.all_uploads):
                os.makedirs(path, exist_ok=True)
            _remove_stale_temps(paths.tmp)
        self._store = Store(
            paths,
            fsync=fsync,
            clock=clock,
            default_owner_id=default_owner_id,
            xattrs=xattrs,
        )
        self._upload_expiry = upload_expiry
        self._last_sweep = -float("inf")
        self._last_temp_sweep = time.monotonic()

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
            if time.monotonic() - self._last_temp_sweep > _SWEEP_INTERVAL_SECONDS:
                # Orphans of a process that died and was not restarted (another
                # host's, on a shared filesystem) are removed here.
                self._last_temp_sweep = time.monotonic()
                _remove_stale_temps(self._store.paths.tmp)
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

    def copy_object(
        self,
        source: ObjectReader,
        bucket: str,
        key: str,
        *,
        meta: ObjectMeta,
        etag: str,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        writer = self.open_writer(bucket, key)
        try:
            size = source.info.size
            if isinstance(source, objects.FileReader):
                writer.clone_from(source.fileno(), size)
            else:  # a reader of another backend: through Python, a chunk at a time
                source.seek(0)
                while chunk := source.read(1 << 20):
                    writer.write(chunk)
            return writer.commit(meta, etag=etag, condition=condition)
        finally:
            writer.abort()

    # -- multipart uploads -------------------------------------------------------

    def create_upload(
        self,
        bucket: str,
        key: str,
        *,
        initiated: dt.datetime,
        owner_id: str,
        meta: ObjectMeta,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
    ) -> Upload:
        if time.monotonic() - self._last_sweep > _SWEEP_INTERVAL_SECONDS:
            self._sweep_expired()
        initiated = initiated.replace(microsecond=initiated.microsecond // 1000 * 1000)
        upload = Upload(
            upload_id=new_upload_id(initiated),
            key=key,
            initiated=initiated,
            owner_id=owner_id,
            meta=meta,
            checksum_algorithm=checksum_algorithm,
            checksum_type=checksum_type,
        )
        with translate_os_errors():
            if not is_storable(key):
                self._require_bucket(bucket)
                raise errors.InvalidArgument("Object key is not valid Unicode.")
            uploads.create(self._store, bucket, upload)
        return upload

    def get_upload(self, bucket: str, key: str, upload_id: str) -> Upload:
        with translate_os_errors():
            return uploads.get(self._store, bucket, key, upload_id)

    def open_part_writer(
        self, bucket: str, key: str, upload_id: str, part_number: int
    ) -> uploads.PartFileWriter:
        with translate_os_errors():
            upload = uploads.get(self._store, bucket, key, upload_id)
            return uploads.PartFileWriter(self._store, bucket, upload, part_number)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[Part]:
        with translate_os_errors():
            return uploads.list_parts(self._store, bucket, key, upload_id)

    def list_uploads(self, bucket: str, *, prefix: str = "") -> list[Upload]:
        with translate_os_errors():
            return uploads.list_uploads(self._store, bucket, prefix)

    def complete_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[Part],
        *,
        meta: ObjectMeta,
        etag: str,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        with translate_os_errors():
            return uploads.complete(
                self._store,
                bucket,
                key,
                upload_id,
                parts,
                meta=meta,
                etag=etag,
                condition=condition,
            )

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        with translate_os_errors():
            uploads.abort(self._store, bucket, key, upload_id)

    def expire_uploads(self, *, initiated_before: dt.datetime) -> int:
        with translate_os_errors():
            return uploads.expire(self._store, initiated_before)

    # -- internals -------------------------------------------------------------

    def _sweep_expired(self) -> None:
        self._last_sweep = time.monotonic()
        if self._upload_expiry is not None:
            cutoff = self._store.clock() - self._upload_expiry
            self.expire_uploads(initiated_before=cutoff)

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
                bound = prefix_upper_bound(common)
                if bound is None:
                    return
                walk.seek(bound)


def _remove_stale_temps(tmp: str) -> None:
    """Remove what crashed processes left in ``tmp/``; safe while others write."""
    remove_orphans(tmp, stale_after=_STALE_TEMP_SECONDS)
    cutoff = time.time() - _STALE_TEMP_SECONDS
    with os.scandir(tmp) as entries:
        for entry in entries:
            if entry.name.endswith(uploads.TRASH_SUFFIX):
                # Already forgotten: a crash stopped its removal.
                shutil.rmtree(entry.path, ignore_errors=True)
                continue
            # Another process may rename it away at any moment.
            with contextlib.suppress(FileNotFoundError):
                if (
                    entry.name.endswith(uploads.STAGED_SUFFIX)
                    and entry.is_dir(follow_symlinks=False)
                    and entry.stat(follow_symlinks=False).st_mtime < cutoff
                ):
                    shutil.rmtree(entry.path, ignore_errors=True)
