"""An in-memory ``Backend``: buckets and objects held in process memory.

This is a product feature, not a test double: it gives test suites a real S3 with no
disk I/O and no cleanup, and it follows the same contract suite as the filesystem
backend, multipart uploads included (their table lives in ``memory_uploads``). It is
thread-safe (one lock per backend; no global state, so several backends live side by
side) and keeps each bucket's keys in a sorted list so that listings cost time in
proportion to the page. It must not reach beyond the process: nothing here survives a
restart.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence

import attrs

from s3core import errors
from s3core.backends.base import (
    DEFAULT_UPLOAD_EXPIRY,
    ObjectReader,
    check_write_condition,
    new_upload_id,
    prefix_upper_bound,
)
from s3core.backends.memory_uploads import Appender, Data, MemoryPartWriter, UploadTable
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

__all__ = ["MemoryBackend"]

Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _to_millis(t: dt.datetime) -> dt.datetime:
    # S3 reports LastModified with millisecond precision; keeping the same precision
    # makes HEAD and listings agree exactly.
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


@attrs.define
class _StoredObject:
    info: ObjectInfo
    data: Data  # never written to once stored


@attrs.define
class _Bucket:
    info: BucketInfo
    objects: dict[str, _StoredObject] = attrs.Factory(dict)
    keys: list[str] = attrs.Factory(list)  # sorted; str order is UTF-8 byte order


class _MemoryReader:
    """One object version; its stored bytes are never written to, so not copied."""

    def __init__(self, stored: _StoredObject) -> None:
        self._info = stored.info
        self.data = stored.data  # never written to: a copy may share it
        self._view: memoryview | None = memoryview(stored.data)
        self._pos = 0

    @property
    def info(self) -> ObjectInfo:
        return self._info

    def seek(self, offset: int, /) -> None:
        self._pos = offset

    def read(self, n: int = -1, /) -> bytes:
        if self._view is None:
            raise ValueError("read from a closed object reader")
        end = len(self._view) if n is None or n < 0 else self._pos + n
        chunk = bytes(self._view[self._pos : end])
        self._pos += len(chunk)
        return chunk

    def close(self) -> None:
        self._view = None


class _MemoryWriter:
    """Collects chunks; ``commit`` publishes them under the backend lock."""

    def __init__(self, backend: MemoryBackend, bucket: str, key: str) -> None:
        self._backend = backend
        self._bucket = bucket
        self._key = key
        self._bytes = Appender("object writer")

    def write(self, data: bytes, /) -> None:
        self._bytes.append(data)

    def commit(
        self,
        meta: ObjectMeta,
        *,
        etag: str,
        condition: WriteCondition | None = None,
        parts_count: int | None = None,
        part_sizes: tuple[int, ...] = (),
    ) -> ObjectInfo:
        data = self._bytes.take()
        with self._backend._lock:
            info = self._backend._publish_locked(
                self._bucket,
                self._key,
                data,
                meta=meta,
                etag=etag,
                condition=condition,
                parts_count=parts_count,
                part_sizes=part_sizes,
            )
        return info

    def abort(self) -> None:
        self._bytes.drop()


class MemoryBackend:
    """Buckets and objects in memory; see the ``Backend`` protocol for each verb.

    Args:
        clock: returns the current UTC time; injected so tests never patch time.
        upload_expiry: multipart uploads initiated longer ago than this are aborted
            (each ``create_upload`` sweeps them); ``None`` keeps them forever.
    """

    def __init__(
        self,
        *,
        clock: Clock = _utcnow,
        upload_expiry: dt.timedelta | None = DEFAULT_UPLOAD_EXPIRY,
    ) -> None:
        self._clock = clock
        self._upload_expiry = upload_expiry
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._uploads = UploadTable()

    # -- buckets ---------------------------------------------------------------

    def create_bucket(
        self, bucket: str, *, owner_id: str, created: dt.datetime
    ) -> BucketInfo:
        with self._lock:
            if bucket in self._buckets:
                raise errors.BucketAlreadyExists(extra={"BucketName": bucket})
            info = BucketInfo(bucket, owner_id, _to_millis(created))
            self._buckets[bucket] = _Bucket(info)
            return info

    def get_bucket(self, bucket: str) -> BucketInfo:
        with self._lock:
            return self._bucket(bucket).info

    def list_buckets(self) -> list[BucketInfo]:
        with self._lock:
            return [self._buckets[name].info for name in sorted(self._buckets)]

    def delete_bucket(self, bucket: str) -> None:
        with self._lock:
            # Open multipart uploads count: S3 refuses to delete their bucket too.
            if self._bucket(bucket).keys or self._uploads.has_uploads(bucket):
                raise errors.BucketNotEmpty(extra={"BucketName": bucket})
            del self._buckets[bucket]
            self._uploads.drop_bucket(bucket)

    # -- objects ---------------------------------------------------------------

    def open_writer(self, bucket: str, key: str) -> _MemoryWriter:
        with self._lock:
            self._bucket(bucket)
        return _MemoryWriter(self, bucket, key)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        with self._lock:
            return self._object(bucket, key).info

    def open_object(self, bucket: str, key: str) -> _MemoryReader:
        with self._lock:
            return _MemoryReader(self._object(bucket, key))

    def delete_object(self, bucket: str, key: str) -> None:
        with self._lock:
            b = self._bucket(bucket)
            if b.objects.pop(key, None) is not None:
                del b.keys[bisect.bisect_left(b.keys, key)]

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
        if isinstance(source, _MemoryReader):
            data = source.data  # never written to: shared, not copied
        else:
            source.seek(0)
            data = source.read()
        with self._lock:
            return self._publish_locked(
                bucket, key, data, meta=meta, etag=etag, condition=condition
            )

    def iter_entries(
        self,
        bucket: str,
        *,
        prefix: str = "",
        start_after: str = "",
        delimiter: str = "",
    ) -> Iterator[ListEntry]:
        with self._lock:
            self._bucket(bucket)
        return self._iter_entries(bucket, prefix, start_after, delimiter)

    def _iter_entries(
        self, bucket: str, prefix: str, start_after: str, delimiter: str
    ) -> Iterator[ListEntry]:
        # Each step re-finds its place by bisection under the lock, so the iterator
        # tolerates concurrent writes (it sees each key at most once, in order) and a
        # page costs O(page * log n) whatever the bucket size.
        if start_after >= prefix:
            cursor, inclusive = start_after, False
        else:
            cursor, inclusive = prefix, True
        while True:
            with self._lock:
                b = self._buckets.get(bucket)
                if b is None:
                    return
                if inclusive:
                    i = bisect.bisect_left(b.keys, cursor)
                else:
                    i = bisect.bisect_right(b.keys, cursor)
                if i >= len(b.keys) or not b.keys[i].startswith(prefix):
                    return
                key = b.keys[i]
                stored = b.objects[key]
            inclusive = False
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut < 0:
                yield stored.info
                cursor = key
                continue
            common = key[: cut + len(delimiter)]
            yield CommonPrefix(common)
            upper = prefix_upper_bound(common)
            if upper is None:
                return
            # Continue at the first key outside the common prefix.
            cursor, inclusive = upper, True

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
        if self._upload_expiry is not None:
            self.expire_uploads(initiated_before=self._clock() - self._upload_expiry)
        initiated = _to_millis(initiated)
        upload = Upload(
            upload_id=new_upload_id(initiated),
            key=key,
            initiated=initiated,
            owner_id=owner_id,
            meta=meta,
            checksum_algorithm=checksum_algorithm,
            checksum_type=checksum_type,
        )
        with self._lock:
            self._bucket(bucket)
            self._uploads.add(bucket, upload)
        return upload

    def get_upload(self, bucket: str, key: str, upload_id: str) -> Upload:
        with self._lock:
            self._bucket(bucket)
            return self._uploads.get(bucket, key, upload_id)

    def open_part_writer(
        self, bucket: str, key: str, upload_id: str, part_number: int
    ) -> MemoryPartWriter:
        upload = self.get_upload(bucket, key, upload_id)
        return MemoryPartWriter(self, self._clock, bucket, upload, part_number)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[Part]:
        with self._lock:
            self._bucket(bucket)
            return self._uploads.parts(bucket, key, upload_id)

    def list_uploads(self, bucket: str, *, prefix: str = "") -> list[Upload]:
        with self._lock:
            self._bucket(bucket)
            return self._uploads.uploads(bucket, prefix)

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
        with self._lock:
            current = self._bucket(bucket).objects.get(key)
            self._uploads.check_parts(bucket, key, upload_id, parts)
            # Checked before the parts are consumed: a failed condition leaves the
            # upload whole, for the client to complete again.
            check_write_condition(condition, current.info if current else None, key)
            data = self._uploads.take_joined(bucket, key, upload_id, parts)
            return self._publish_locked(
                bucket,
                key,
                data,
                meta=meta,
                etag=etag,
                condition=None,  # checked above, under the same lock
                part_sizes=tuple(part.size for part in parts),
            )

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        with self._lock:
            self._bucket(bucket)
            self._uploads.remove(bucket, key, upload_id)

    def expire_uploads(self, *, initiated_before: dt.datetime) -> int:
        with self._lock:
            return self._uploads.expire(initiated_before)

    # -- internals -------------------------------------------------------------

    def _store_part(self, bucket: str, upload: Upload, part: Part, data: Data) -> None:
        with self._lock:
            self._bucket(bucket)
            self._uploads.store_part(bucket, upload, part, data)

    def _publish_locked(
        self,
        bucket: str,
        key: str,
        data: Data,
        *,
        meta: ObjectMeta,
        etag: str,
        condition: WriteCondition | None,
        parts_count: int | None = None,
        part_sizes: tuple[int, ...] = (),
    ) -> ObjectInfo:
        b = self._bucket(bucket)
        current = b.objects.get(key)
        check_write_condition(condition, current.info if current else None, key)
        info = ObjectInfo(
            key=key,
            size=len(data),
            etag=etag,
            last_modified=_to_millis(self._clock()),
            meta=meta,
            parts_count=len(part_sizes) if part_sizes else parts_count,
            part_sizes=part_sizes,
        )
        if current is None:
            bisect.insort(b.keys, key)
        b.objects[key] = _StoredObject(info, data)
        return info

    def _bucket(self, bucket: str) -> _Bucket:
        try:
            return self._buckets[bucket]
        except KeyError:
            raise errors.NoSuchBucket(extra={"BucketName": bucket}) from None

    def _object(self, bucket: str, key: str) -> _StoredObject:
        try:
            return self._bucket(bucket).objects[key]
        except KeyError:
            raise errors.NoSuchKey(extra={"Key": key}) from None
