"""The storage-level ``Backend`` protocol every store implements.

This module owns the contract between S3 operations and storage: verbs on buckets,
objects and multipart uploads, not one method per S3 API call. A backend knows nothing
of HTTP, XML, auth or users beyond the owner ids it records; it raises
``s3core.errors`` types and nothing else a client could cause. S3 semantics
(conditions, ranges, listing pages, ETag quoting, which parts make a valid completion)
live once, in ``s3core.operations``.

Writes go through an ``ObjectWriter``: the operation streams verified bytes into it and
then commits, and only a commit publishes anything. Until then, nothing is visible; an
abort (or an exception before commit) leaves the previous object untouched. Parts of
a multipart upload go through a ``PartWriter`` the same way; completing an upload
publishes the concatenation of chosen parts as one object, atomically, and copying
publishes the bytes of an open ``ObjectReader``, so that a backend can let the
operating system move the bytes.

It also owns the few pure helpers every backend shares: the upper bound of a key
prefix (listings skip a common prefix with it) and the shape of upload ids.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator, Sequence
from typing import Protocol

from s3core import errors
from s3core.models import (
    BucketInfo,
    ListEntry,
    ObjectInfo,
    ObjectMeta,
    Part,
    Upload,
    WriteCondition,
)

__all__ = [
    "DEFAULT_UPLOAD_EXPIRY",
    "Backend",
    "ObjectReader",
    "ObjectWriter",
    "PartWriter",
    "check_write_condition",
    "is_upload_id",
    "new_upload_id",
    "prefix_upper_bound",
]

# Uploads left open this long are aborted by the backends' sweeps (S3 keeps them until
# a lifecycle rule's AbortIncompleteMultipartUpload says otherwise; 7 days is the
# value AWS's own examples use).
DEFAULT_UPLOAD_EXPIRY = dt.timedelta(days=7)

# 12 hex digits of milliseconds since the epoch, then 160 random bits: ids of one key
# sort by initiation time, as ListMultipartUploads orders them, and are safe as file
# names.
_UPLOAD_ID = re.compile(r"[0-9a-f]{52}")


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
        part_sizes: tuple[int, ...] = (),
    ) -> ObjectInfo:
        """Publish the staged bytes with ``meta`` as the object's new version.

        ``part_sizes`` records the part boundaries of a multipart object (its
        ``parts_count`` is then their number).

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


class PartWriter(Protocol):
    """A part being uploaded; ``commit`` stores it (replacing a part of its number)."""

    def write(self, data: bytes, /) -> None:
        """Append bytes to the staged part."""
        ...

    def commit(self, *, etag: str, checksum: tuple[str, str] | None = None) -> Part:
        """Store the staged bytes as the part, with its ETag and checksum.

        Raises:
            NoSuchUpload: the upload was completed or aborted meanwhile.
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
        """Publish the whole of an open object's snapshot as ``key``, atomically.

        ``source`` may be in any bucket of this backend; it is not closed. The copy
        keeps no part boundaries. A backend copies without passing the bytes
        through Python where the storage allows (``copy_file_range``, reflinks).

        Raises:
            NoSuchBucket: the destination bucket does not exist.
            PreconditionFailed, NoSuchKey: ``condition`` does not hold.
        """
        ...

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
        """Start a multipart upload of ``key`` under a new id (see ``new_upload_id``).

        Upload state survives restarts where the backend does.

        Raises:
            NoSuchBucket: the bucket does not exist.
        """
        ...

    def get_upload(self, bucket: str, key: str, upload_id: str) -> Upload:
        """The open upload ``upload_id`` of ``key``.

        Raises:
            NoSuchBucket: the bucket does not exist.
            NoSuchUpload: no such open upload of this key (never created, or
                completed, aborted or expired; or it belongs to another key).
        """
        ...

    def open_part_writer(
        self, bucket: str, key: str, upload_id: str, part_number: int
    ) -> PartWriter:
        """Stage part ``part_number`` (1 to 10000) of an open upload.

        Raises:
            NoSuchBucket, NoSuchUpload.
        """
        ...

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[Part]:
        """The stored parts of an open upload, by ascending part number.

        Raises:
            NoSuchBucket, NoSuchUpload.
        """
        ...

    def list_uploads(self, bucket: str, *, prefix: str = "") -> list[Upload]:
        """The bucket's open uploads of keys starting with ``prefix``, ordered by key,
        then by upload id (which is initiation order).

        Raises:
            NoSuchBucket: the bucket does not exist.
        """
        ...

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
        """Publish the concatenation of ``parts`` as ``key``, then forget the upload.

        ``parts`` are values ``list_parts`` returned; each must still be the stored
        part of its number (same ETag and size), checked under the upload's lock so
        that a part replaced meanwhile is never published by mistake. Publication is
        atomic: readers see the previous object or the whole new one. The object
        records the parts' sizes (``part_sizes``) and their number.

        Raises:
            NoSuchBucket, NoSuchUpload.
            InvalidPart: a part is missing or is not the one described.
            PreconditionFailed, NoSuchKey: ``condition`` does not hold (the upload
                then stays open).
        """
        ...

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard an open upload and its parts.

        Raises:
            NoSuchBucket, NoSuchUpload.
        """
        ...

    def expire_uploads(self, *, initiated_before: dt.datetime) -> int:
        """Abort every upload, in every bucket, initiated before the given time.

        Returns:
            How many uploads were aborted.
        """
        ...


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix``.

    ``None`` when there is none (the prefix is all U+10FFFF), meaning "to the end".
    """
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            return "".join(chars) + chr(last + 1)
    return None


def new_upload_id(initiated: dt.datetime) -> str:
    """A fresh upload id: sorts after the ids of uploads initiated earlier."""
    millis = int(initiated.timestamp() * 1000)
    return f"{millis:012x}{secrets.token_hex(20)}"


def is_upload_id(value: str) -> bool:
    """Whether ``value`` has the shape ``new_upload_id`` gives (never a path)."""
    return _UPLOAD_ID.fullmatch(value) is not None


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
