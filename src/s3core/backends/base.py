"""The storage-level ``Backend`` protocol every store implements.

This module owns the contract between S3 operations and storage: a dozen verbs on
buckets and objects, not one method per S3 API call. A backend knows nothing of HTTP,
XML, auth or users beyond the owner id it records; it raises ``s3core.errors`` types and
nothing else a client could cause. S3 semantics (conditions, ranges, listing pages, ETag
quoting) live once, in ``s3core.operations``.

Writes go through an ``ObjectWriter``: the operation streams verified bytes into it and
then commits, and only a commit publishes anything. Until then, nothing is visible; an
abort (or an exception before commit) leaves the previous object untouched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Protocol

from s3core import errors
from s3core.models import BucketInfo, ListEntry, ObjectInfo, ObjectMeta, WriteCondition

__all__ = ["Backend", "ObjectReader", "ObjectWriter", "check_write_condition"]


class ObjectReader(Protocol):
    """An open object: a consistent snapshot of one version of its bytes.

    Once opened, the reader keeps returning the bytes of the version it opened even if
    the object is overwritten or deleted meanwhile.
    """

    @property
    def info(self) -> ObjectInfo:
        """The object the reader reads."""
        ...

    def seek(self, offset: int, /) -> None:
        """Move to byte ``offset`` from the start."""
        ...

    def read(self, n: int = -1, /) -> bytes:
        """At most ``n`` bytes from the current position; ``b""`` at the end."""
        ...

    def close(self) -> None:
        """Release the snapshot (idempotent)."""
        ...


class ObjectWriter(Protocol):
    """An unpublished object being written; ``commit`` publishes it atomically."""

    def write(self, data: bytes, /) -> None:
        """Append bytes to the staged object."""
        ...

    def commit(
        self,
        meta: ObjectMeta,
        *,
        etag: str,
        condition: WriteCondition | None = None,
        parts_count: int | None = None,
    ) -> ObjectInfo:
        """Publish the staged bytes with ``meta`` as the object's new version.

        The condition is evaluated atomically with the publication: between the check
        and the replacement no other writer can publish at the same key.

        Raises:
            PreconditionFailed: the condition does not hold.
            NoSuchKey: ``condition.if_match`` is set and no object exists.
            NoSuchBucket: the bucket was deleted meanwhile.
        """
        ...

    def abort(self) -> None:
        """Discard the staged bytes. Idempotent; a no-op after ``commit``."""
        ...


class Backend(Protocol):
    """A store of buckets of objects."""

    def create_bucket(
        self, bucket: str, *, owner_id: str, created: dt.datetime
    ) -> BucketInfo:
        """Create an empty bucket, atomically: of concurrent creators exactly one wins.

        Raises:
            BucketAlreadyExists: the name is taken (by anyone; the caller tells owners
                apart with ``get_bucket``).
        """
        ...

    def get_bucket(self, bucket: str) -> BucketInfo:
        """The bucket's record.

        Raises:
            NoSuchBucket: it does not exist.
        """
        ...

    def list_buckets(self) -> list[BucketInfo]:
        """Every bucket, sorted by name."""
        ...

    def delete_bucket(self, bucket: str) -> None:
        """Remove an empty bucket.

        Raises:
            NoSuchBucket: it does not exist.
            BucketNotEmpty: it holds objects.
        """
        ...

    def open_writer(self, bucket: str, key: str) -> ObjectWriter:
        """Stage a new version of ``key``.

        Raises:
            NoSuchBucket: the bucket does not exist.
        """
        ...

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        """The object's record.

        Raises:
            NoSuchBucket, NoSuchKey.
        """
        ...

    def open_object(self, bucket: str, key: str) -> ObjectReader:
        """Open the object's current version for reading.

        Raises:
            NoSuchBucket, NoSuchKey.
        """
        ...

    def delete_object(self, bucket: str, key: str) -> None:
        """Remove the object if it exists (no error if it does not).

        Raises:
            NoSuchBucket: the bucket does not exist.
        """
        ...

    def iter_entries(
        self,
        bucket: str,
        *,
        prefix: str = "",
        start_after: str = "",
        delimiter: str = "",
    ) -> Iterator[ListEntry]:
        """Objects and common prefixes in ascending UTF-8 byte order of their keys.

        Yields every object whose key starts with ``prefix`` and is greater than
        ``start_after``. With a ``delimiter``, an object whose key contains the
        delimiter after the prefix is not yielded; instead, its common prefix (the key
        up to and including the first such delimiter) is yielded once, in the position
        of its first such key, as a ``CommonPrefix``. Callers stop iterating when a page
        is full, so implementations should produce lazily.

        Raises:
            NoSuchBucket: the bucket does not exist.
        """
        ...


def check_write_condition(
    condition: WriteCondition | None, current: ObjectInfo | None, key: str
) -> None:
    """Raise if a conditional write's precondition does not hold against ``current``."""
    if condition is None:
        return
    if condition.if_none_match and current is not None:
        raise errors.PreconditionFailed(extra={"Condition": "If-None-Match"})
    if condition.if_match is not None:
        if current is None:
            raise errors.NoSuchKey(extra={"Key": key})
        if condition.if_match not in ("*", current.etag):
            raise errors.PreconditionFailed(extra={"Condition": "If-Match"})
