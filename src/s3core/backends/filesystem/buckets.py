"""Buckets of the filesystem backend: directories under the root, plus a record each.

This module owns what makes a directory a bucket. The directory is the truth: a bucket
exists while ``<root>/<bucket>/`` is a real directory (not a symlink). Its record
(``.s3server/buckets/<bucket>.json``: owner id and creation time) is written after the
directory; a directory made by hand gets a record on first sight, owned by the
configured default owner. Creation is atomic across processes because ``mkdir`` is;
creation and deletion also hold the bucket's exclusive lock, so no writer is inside
the bucket meanwhile. It must not touch objects beyond checking that there are none
(open multipart uploads count as content too).
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import stat
from contextlib import ExitStack

from s3core import errors
from s3core.backends.filesystem import uploads
from s3core.backends.filesystem.atomic import (
    create_exclusive,
    fsync_path_dir,
    read_small,
    unlink_quietly,
    write_atomic,
)
from s3core.backends.filesystem.store import CANNOT_WRITE, Store, valid_bucket_dirname
from s3core.backends.filesystem.tree import has_entries, remove_empty_dirs
from s3core.models import BucketInfo

__all__ = ["create", "delete", "get", "list_all"]


def _to_millis(t: dt.datetime) -> dt.datetime:
    # The precision S3 reports creation dates with, as the memory backend keeps it.
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def _dump(info: BucketInfo) -> bytes:
    doc = {"owner_id": info.owner_id, "created": info.created.isoformat()}
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def _load(bucket: str, data: bytes | None) -> BucketInfo | None:
    if data is None:
        return None
    try:
        doc = json.loads(data)
        created = dt.datetime.fromisoformat(doc["created"])
        owner_id = doc["owner_id"]
    except (ValueError, KeyError, TypeError):
        return None  # damaged: adopted afresh below, the directory being the truth
    if not isinstance(owner_id, str) or created.tzinfo is None:
        return None
    return BucketInfo(bucket, owner_id, created)


def _remove_meta(store: Store, bucket: str) -> None:
    path = store.paths.meta(bucket)
    if os.path.lexists(path):
        shutil.rmtree(path)


def create(
    store: Store, bucket: str, *, owner_id: str, created: dt.datetime
) -> BucketInfo:
    if not valid_bucket_dirname(bucket):
        raise errors.InvalidBucketName(extra={"BucketName": bucket})
    info = BucketInfo(bucket, owner_id, _to_millis(created))
    path = store.paths.bucket(bucket)
    with store.bucket_lock(bucket, exclusive=True):
        try:
            os.mkdir(path)
        except FileExistsError:
            raise errors.BucketAlreadyExists(extra={"BucketName": bucket}) from None
        try:
            # Metadata left by an earlier bucket of this name (a crash during its
            # deletion, or its directory removed by hand) must not describe ours.
            _remove_meta(store, bucket)
            uploads.remove_all(store, bucket)
            write_atomic(
                store.paths.record(bucket),
                _dump(info),
                tmp_dir=store.paths.tmp,
                fsync=store.fsync,
            )
            if store.fsync:
                fsync_path_dir(path)
        except BaseException:
            os.rmdir(path)
            raise
    return info


def _is_bucket_dir(store: Store, bucket: str) -> bool:
    if not valid_bucket_dirname(bucket):
        return False
    try:
        st = os.stat(store.paths.bucket(bucket), follow_symlinks=False)
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(st.st_mode)


def get(store: Store, bucket: str) -> BucketInfo:
    if not _is_bucket_dir(store, bucket):
        raise errors.NoSuchBucket(extra={"BucketName": bucket})
    info = _cached_record(store, bucket)
    return info if info is not None else _adopt(store, bucket)


# Bucket records kept in the cache at most (one per bucket; a bound, not a policy).
_RECORDS_CACHED = 10_000


def _cached_record(store: Store, bucket: str) -> BucketInfo | None:
    # Every request reads its bucket's record (the owner check): one stat instead
    # of open, read, close and a JSON parse. Records are replaced by rename (a new
    # inode) and any edit in place moves ctime, so a matching stamp means the same
    # bytes. The stat comes first: a record replaced between it and the read is
    # cached under the old stamp and read again next time, never served stale.
    path = store.paths.record(bucket)
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return None
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    cached = store.bucket_records.get(bucket)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    info = _load(bucket, read_small(path))
    if info is not None:
        if len(store.bucket_records) >= _RECORDS_CACHED:
            store.bucket_records.clear()
        store.bucket_records[bucket] = (stamp, info)
    return info


def _adopt(store: Store, bucket: str) -> BucketInfo:
    # A directory without a (valid) record: made by hand, or a creator or a
    # deleter is half done. Under the shared lock neither is (both hold it
    # exclusively), so the directory and the record seen here are their final
    # state: without it, a record written for a bucket deleted meanwhile would
    # outlive the bucket.
    with store.bucket_lock(bucket, exclusive=False):
        if not _is_bucket_dir(store, bucket):
            raise errors.NoSuchBucket(extra={"BucketName": bucket})
        path = store.paths.record(bucket)
        existing = _load(bucket, read_small(path))
        if existing is not None:
            return existing
        info = BucketInfo(bucket, store.default_owner_id, _to_millis(store.clock()))
        # Other adopters hold the shared lock too: the first record stays.
        tmp = store.paths.tmp
        try:
            made = create_exclusive(path, _dump(info), tmp_dir=tmp, fsync=store.fsync)
        except OSError as exc:
            # A full or read-only disk must not hide the bucket: it is adopted
            # again (with a new creation time) once a record can be written.
            if exc.errno not in CANNOT_WRITE:
                raise
            return info
        if made:
            return info
        existing = _load(bucket, read_small(path))
        if existing is not None:
            return existing
        write_atomic(path, _dump(info), tmp_dir=tmp, fsync=store.fsync)  # damaged
        return info


def list_all(store: Store) -> list[BucketInfo]:
    found: list[BucketInfo] = []
    with os.scandir(store.paths.root) as entries:
        names = sorted(
            entry.name
            for entry in entries
            if entry.is_dir(follow_symlinks=False) and valid_bucket_dirname(entry.name)
        )
    for name in names:
        try:
            found.append(get(store, name))
        except errors.NoSuchBucket:
            continue  # deleted while we listed
    return found


def delete(store: Store, bucket: str) -> None:
    with store.bucket_lock(bucket, exclusive=True), ExitStack() as stack:
        fd = store.bucket_fd(bucket, stack)
        # Anything that is not a directory counts, objects or not: the bucket's
        # directory could not be removed with it, and it is not ours to delete.
        # An open multipart upload is content a client is still sending: refuse,
        # rather than drop it silently with the bucket.
        if has_entries(fd) or uploads.has_uploads(store, bucket):
            raise errors.BucketNotEmpty(extra={"BucketName": bucket})
        remove_empty_dirs(fd)
        try:
            os.rmdir(store.paths.bucket(bucket))
        except OSError as exc:
            # A file dropped in by hand since the check.
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            raise errors.BucketNotEmpty(extra={"BucketName": bucket}) from None
        _remove_meta(store, bucket)
        uploads.remove_all(store, bucket)
        unlink_quietly(store.paths.record(bucket))
        if store.fsync:
            fsync_path_dir(store.paths.bucket(bucket))
