"""Frozen value classes shared by operations and backends.

This module owns the records that cross the ``Backend`` boundary: what a bucket is, what
an object's stored metadata is, what a listing yields, what a multipart upload and its
parts are. It holds data only: no I/O, no HTTP, no XML. ETags are kept bare
(``"abc..."`` without quotes, ``"abc...-3"`` for multipart); the quotes S3 puts around
them are an HTTP matter added by the operations.
"""

from __future__ import annotations

import datetime as dt

import attrs

__all__ = [
    "BucketInfo",
    "CommonPrefix",
    "ListEntry",
    "ObjectInfo",
    "ObjectMeta",
    "Part",
    "Upload",
    "WriteCondition",
]


@attrs.frozen
class BucketInfo:
    """A bucket: its name, its owner's canonical id and when it was created (UTC)."""

    name: str
    owner_id: str
    created: dt.datetime


@attrs.frozen(kw_only=True)
class ObjectMeta:
    """What a client stored with an object besides its bytes.

    ``user_metadata`` holds ``x-amz-meta-*`` pairs with lower-case names without the
    prefix, in a stable order. ``checksums`` maps an algorithm name (``CRC32``,
    ``SHA256``, ...) to its base64 value.
    """

    content_type: str = "binary/octet-stream"
    cache_control: str | None = None
    content_disposition: str | None = None
    content_encoding: str | None = None
    content_language: str | None = None
    expires: str | None = None
    user_metadata: tuple[tuple[str, str], ...] = ()
    checksums: tuple[tuple[str, str], ...] = ()


@attrs.frozen(kw_only=True)
class ObjectInfo:
    """A stored object as listings and HEAD see it.

    Attributes:
        key: the object key.
        size: length in bytes.
        etag: bare ETag (no quotes).
        last_modified: UTC time of the last write.
        meta: the stored metadata.
        parts_count: number of parts for a multipart object, else ``None``.
        part_sizes: the size of each part of a multipart object, in order (what
            GetObject's ``partNumber`` reads), else empty.
    """

    key: str
    size: int
    etag: str
    last_modified: dt.datetime
    meta: ObjectMeta = ObjectMeta()
    parts_count: int | None = None
    part_sizes: tuple[int, ...] = ()


@attrs.frozen
class CommonPrefix:
    """A listing entry that stands for every key sharing ``prefix`` (up to a
    delimiter)."""

    prefix: str


ListEntry = ObjectInfo | CommonPrefix


@attrs.frozen(kw_only=True)
class WriteCondition:
    """A precondition checked atomically with a write (``If-Match`` /
    ``If-None-Match``).

    ``if_none_match`` true means the write succeeds only if no object exists at the key.
    ``if_match`` set means it succeeds only if an object exists with exactly that bare
    ETag; a missing object then fails with ``NoSuchKey`` as S3 does.
    """

    if_match: str | None = None
    if_none_match: bool = False


@attrs.frozen(kw_only=True)
class Upload:
    """An open multipart upload: what CreateMultipartUpload fixed for the object.

    Attributes:
        upload_id: the id the backend gave it; ids of one key sort by initiation.
        key: the key the completed object will have.
        initiated: UTC time of CreateMultipartUpload (millisecond precision).
        owner_id: canonical id of the user who initiated it.
        meta: the completed object's metadata (content type, user metadata, ...).
        checksum_algorithm: the algorithm every part is checksummed with (``CRC32``,
            ``SHA256``, ...), or ``None`` when the client named none.
        checksum_type: ``COMPOSITE`` or ``FULL_OBJECT`` when an algorithm is set.
    """

    upload_id: str
    key: str
    initiated: dt.datetime
    owner_id: str
    meta: ObjectMeta = ObjectMeta()
    checksum_algorithm: str | None = None
    checksum_type: str | None = None


@attrs.frozen(kw_only=True)
class Part:
    """One uploaded part of a multipart upload.

    Attributes:
        part_number: 1 to 10000.
        size: length in bytes.
        etag: bare hex MD5 of the part's bytes.
        last_modified: UTC time the part was stored (millisecond precision).
        checksum: (algorithm, base64 value) kept with the part, if any.
    """

    part_number: int
    size: int
    etag: str
    last_modified: dt.datetime
    checksum: tuple[str, str] | None = None
