"""Multipart uploads of the filesystem backend, kept on disk so they survive restarts.

This module owns the state of open uploads under ``.s3server/uploads/<bucket>/``: one
directory per upload, named by its id, holding ``upload.json`` and, per part, a record
``<nnnnn>.json`` naming its data file ``<nnnnn>-<random>.part`` (the records' format
is ``upload_records``'s). An upload directory is built in ``tmp/`` and renamed into
place, so it appears whole. A part's data is fsynced in ``tmp/``, renamed into the
upload's directory under a fresh name, and only then named by its record (replaced
atomically): a record always describes a complete file.

Completion and abort hold the upload's lock exclusively and part commits hold it
shared, so no part changes while an upload is assembled. Completion checks that the
named parts are the stored ones, then fills a ``FileWriter`` from the part files (a
hard link for a single part, ``copy_file_range`` otherwise: no bytes through Python)
and publishes it like any write. A finished upload's directory is renamed into
``tmp/`` as ``*.trash`` before it is removed, so a crash never leaves half an upload.
It knows nothing of S3's rules about which parts make a valid object: the operation
checks those. Every public function runs inside the caller's ``OSError`` boundary.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
import weakref
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from s3core import errors
from s3core.backends.base import is_upload_id
from s3core.backends.filesystem import locks
from s3core.backends.filesystem.atomic import (
    O_FILE,
    fsync_path_dir,
    new_temp,
    read_small,
    unlink_quietly,
    write_all,
    write_atomic,
)
from s3core.backends.filesystem.objects import FileWriter, Handle
from s3core.backends.filesystem.oserrors import translate_os_errors
from s3core.backends.filesystem.store import Store, valid_bucket_dirname
from s3core.backends.filesystem.upload_records import (
    dump_part,
    dump_upload,
    load_part,
    load_upload,
)
from s3core.models import ObjectInfo, ObjectMeta, Part, Upload, WriteCondition

__all__ = [
    "PartFileWriter",
    "abort",
    "complete",
    "create",
    "expire",
    "get",
    "has_uploads",
    "list_parts",
    "list_uploads",
    "remove_all",
]

_RECORD = "upload.json"
_PART_RECORD = re.compile(r"([0-9]{5})\.json")
# Suffixes of directories in tmp/: an upload being created, and one being removed.
STAGED_SUFFIX = ".tmpdir"
TRASH_SUFFIX = ".trash"


def _no_such_upload(upload_id: str) -> errors.NoSuchUpload:
    return errors.NoSuchUpload(extra={"UploadId": upload_id})


def _millis(t: dt.datetime) -> dt.datetime:
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


# -- looking uploads up ------------------------------------------------------------


def _part_record(directory: str, part_number: int) -> str:
    return os.path.join(directory, f"{part_number:05d}.json")


def _require_bucket(store: Store, bucket: str) -> None:
    with ExitStack() as stack:
        store.bucket_fd(bucket, stack)


def _directory(store: Store, bucket: str, upload_id: str) -> str:
    """The upload's directory path, after checking the bucket and the id's shape.

    Raises:
        NoSuchBucket, NoSuchUpload (an id this backend cannot have made).
    """
    _require_bucket(store, bucket)
    if not is_upload_id(upload_id):
        raise _no_such_upload(upload_id)
    return store.paths.upload(bucket, upload_id)


def _read(store: Store, bucket: str, key: str, upload_id: str) -> Upload:
    directory = store.paths.upload(bucket, upload_id)
    upload = load_upload(read_small(os.path.join(directory, _RECORD)), upload_id)
    if upload is None or upload.key != key:
        raise _no_such_upload(upload_id)
    return upload


def _lock(store: Store, bucket: str, upload_id: str, *, exclusive: bool) -> Any:
    return locks.hold(store.paths.upload_lock(bucket, upload_id), exclusive=exclusive)


def get(store: Store, bucket: str, key: str, upload_id: str) -> Upload:
    """The open upload. Raises NoSuchBucket, NoSuchUpload."""
    _directory(store, bucket, upload_id)
    return _read(store, bucket, key, upload_id)


def create(store: Store, bucket: str, upload: Upload) -> None:
    """Make the upload's directory appear, whole, under the bucket's uploads.

    Raises:
        NoSuchBucket.
    """
    with store.bucket_lock(bucket, exclusive=False), ExitStack() as stack:
        # Under the shared bucket lock: a bucket deletion (exclusive) either sees
        # this upload and refuses, or happens before and we fail here.
        store.bucket_fd(bucket, stack)
        staged = os.path.join(store.paths.tmp, secrets.token_hex(16) + STAGED_SUFFIX)
        os.mkdir(staged)
        try:
            fd = os.open(
                os.path.join(staged, _RECORD),
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                0o666,
            )
            try:
                write_all(fd, dump_upload(upload))
                if store.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            final = store.paths.upload(bucket, upload.upload_id)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.rename(staged, final)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        if store.fsync:
            fsync_path_dir(final)


def list_parts(store: Store, bucket: str, key: str, upload_id: str) -> list[Part]:
    """The upload's parts by part number. Raises NoSuchBucket, NoSuchUpload."""
    directory = _directory(store, bucket, upload_id)
    _read(store, bucket, key, upload_id)
    parts: list[Part] = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        raise _no_such_upload(upload_id) from None
    for name in names:
        if _PART_RECORD.fullmatch(name):
            found = load_part(read_small(os.path.join(directory, name)))
            if found is not None:
                parts.append(found[0])
    # A completion or abort in another process renames the whole directory away,
    # maybe between our listdir and the reads above: records then read as missing,
    # and the list would hold only some of the parts (a completion racing this one
    # then answered InvalidPart). The rename is one step, so the upload's record
    # still being there now means every part record read was there too.
    if not os.path.exists(os.path.join(directory, _RECORD)):
        raise _no_such_upload(upload_id)
    return sorted(parts, key=lambda p: p.part_number)


def list_uploads(store: Store, bucket: str, prefix: str) -> list[Upload]:
    """The bucket's open uploads of keys starting with ``prefix``, by key and id.

    Reads every upload record of the bucket: open uploads are few, and S3 sorts
    them by key, which no directory order gives.

    Raises:
        NoSuchBucket.
    """
    _require_bucket(store, bucket)
    found: list[Upload] = []
    for upload_id in _upload_ids(store.paths.uploads(bucket)):
        path = os.path.join(store.paths.upload(bucket, upload_id), _RECORD)
        upload = load_upload(read_small(path), upload_id)
        if upload is not None and upload.key.startswith(prefix):
            found.append(upload)
    return sorted(found, key=lambda u: (u.key, u.upload_id))


def _upload_ids(directory: str) -> list[str]:
    try:
        return [name for name in os.listdir(directory) if is_upload_id(name)]
    except FileNotFoundError:
        return []


def has_uploads(store: Store, bucket: str) -> bool:
    """Whether the bucket has any upload directory (open, or being removed)."""
    return bool(_upload_ids(store.paths.uploads(bucket)))


def remove_all(store: Store, bucket: str) -> None:
    """Forget every upload of ``bucket`` (left by an earlier bucket of its name)."""
    path = store.paths.uploads(bucket)
    if os.path.lexists(path):
        shutil.rmtree(path)


# -- parts -------------------------------------------------------------------------


class PartFileWriter:
    """A part staged in ``tmp/``; ``commit`` moves it into the upload's directory."""

    def __init__(self, store: Store, bucket: str, upload: Upload, part_number: int):
        self._store = store
        self._bucket = bucket
        self._upload = upload
        self._number = part_number
        fd, temp = new_temp(store.paths.tmp)
        self._handle = Handle(fd, temp)
        # Released (descriptor closed, file removed) also if dropped unfinished.
        self._release = weakref.finalize(self, self._handle.release)
        self._finished = False

    def write(self, data: bytes, /) -> None:
        if self._finished:
            raise ValueError("write to a finished part writer")
        with translate_os_errors():
            write_all(self._handle.fd, data)

    def commit(self, *, etag: str, checksum: tuple[str, str] | None = None) -> Part:
        if self._finished:
            raise ValueError("commit of a finished part writer")
        self._finished = True
        store, upload = self._store, self._upload
        try:
            with translate_os_errors():
                fd = self._handle.fd
                if store.fsync:
                    os.fsync(fd)
                size = os.fstat(fd).st_size
                part = Part(
                    part_number=self._number,
                    size=size,
                    etag=etag,
                    last_modified=_millis(store.clock()),
                    checksum=checksum,
                )
                with _lock(store, self._bucket, upload.upload_id, exclusive=False):
                    self._store_locked(part)
                return part
        finally:
            with translate_os_errors():
                self._release()

    def _store_locked(self, part: Part) -> None:
        store, upload = self._store, self._upload
        # Still open? Completion and abort hold the lock exclusively, so it stays
        # open until we release ours.
        _read(store, self._bucket, upload.key, upload.upload_id)
        directory = store.paths.upload(self._bucket, upload.upload_id)
        filename = f"{part.part_number:05d}-{secrets.token_hex(8)}.part"
        os.rename(self._handle.temp or "", os.path.join(directory, filename))
        self._handle.temp = None
        record = _part_record(directory, part.part_number)
        previous = load_part(read_small(record))
        # With fsync, the record's directory fsync also makes the data file's
        # rename durable: both names are in that directory.
        write_atomic(
            record,
            dump_part(part, filename),
            tmp_dir=store.paths.tmp,
            fsync=store.fsync,
        )
        if previous is not None and previous[1] != filename:
            # A concurrent writer of the same part may leave its file behind
            # here; the upload's removal takes it.
            unlink_quietly(os.path.join(directory, previous[1]))

    def abort(self) -> None:
        self._finished = True
        with translate_os_errors():
            self._release()


# -- completion and removal ----------------------------------------------------------


def complete(
    store: Store,
    bucket: str,
    key: str,
    upload_id: str,
    parts: Sequence[Part],
    *,
    meta: ObjectMeta,
    etag: str,
    condition: WriteCondition | None,
) -> ObjectInfo:
    """Publish the parts' concatenation as ``key`` and remove the upload.

    Raises:
        NoSuchBucket, NoSuchUpload, InvalidPart, PreconditionFailed, NoSuchKey.
    """
    directory = _directory(store, bucket, upload_id)
    with _lock(store, bucket, upload_id, exclusive=True):
        _read(store, bucket, key, upload_id)
        files = [_part_file(directory, upload_id, part) for part in parts]
        writer = _assemble(store, bucket, key, files, parts)
        try:
            info = writer.commit(
                meta,
                etag=etag,
                condition=condition,
                part_sizes=tuple(part.size for part in parts),
            )
        finally:
            writer.abort()
        _discard(store, directory)
    return info


def _part_file(directory: str, upload_id: str, part: Part) -> str:
    """The data file of ``part``, if the stored part is exactly that one."""
    found = load_part(read_small(_part_record(directory, part.part_number)))
    if found is None or (found[0].etag, found[0].size) != (part.etag, part.size):
        raise errors.InvalidPart(
            extra={
                "UploadId": upload_id,
                "PartNumber": str(part.part_number),
                "ETag": part.etag,
            }
        )
    return os.path.join(directory, found[1])


def _assemble(
    store: Store, bucket: str, key: str, files: list[str], parts: Sequence[Part]
) -> FileWriter:
    if len(files) == 1:
        # One part is already the object: a second name for it, no copy at all.
        # (Under the upload's exclusive lock nothing replaces the file meanwhile.)
        if os.stat(files[0]).st_size != parts[0].size:
            raise errors.InternalError("stored data differs from its record")
        return FileWriter(store, bucket, key, link_to=files[0])
    writer = FileWriter(store, bucket, key)
    try:
        for path, part in zip(files, parts, strict=True):
            fd = os.open(path, O_FILE)
            try:
                writer.append_from(fd, 0, part.size)
            finally:
                os.close(fd)
    except BaseException:
        writer.abort()
        raise
    return writer


def abort(store: Store, bucket: str, key: str, upload_id: str) -> None:
    """Remove an open upload and its parts. Raises NoSuchBucket, NoSuchUpload."""
    directory = _directory(store, bucket, upload_id)
    with _lock(store, bucket, upload_id, exclusive=True):
        _read(store, bucket, key, upload_id)
        _discard(store, directory)


def _discard(store: Store, directory: str) -> None:
    # One rename forgets the upload; the removal of its files may then take its
    # time, or be finished by the next start after a crash.
    trash = os.path.join(store.paths.tmp, secrets.token_hex(16) + TRASH_SUFFIX)
    os.rename(directory, trash)
    if store.fsync:
        fsync_path_dir(directory)
    shutil.rmtree(trash, ignore_errors=True)


def expire(store: Store, initiated_before: dt.datetime) -> int:
    """Abort every upload initiated before ``initiated_before``; how many were."""
    count = 0
    try:
        buckets = os.listdir(store.paths.all_uploads)
    except FileNotFoundError:
        return 0
    for bucket in buckets:
        if not valid_bucket_dirname(bucket):
            continue
        for upload_id in _upload_ids(store.paths.uploads(bucket)):
            directory = store.paths.upload(bucket, upload_id)
            with _lock(store, bucket, upload_id, exclusive=True):
                data = read_small(os.path.join(directory, _RECORD))
                upload = load_upload(data, upload_id)
                if upload is not None and upload.initiated < initiated_before:
                    _discard(store, directory)
                    count += 1
    return count
