"""Object metadata sidecars: what they hold, how they are checked against the data.

This module owns the sidecar format and the rule that makes metadata safe to cache on
disk: every version record carries the *identity* of the data file it describes
(inode, size, mtime in ns, all of which survive ``rename``), and a record is used only
for a file whose ``stat`` matches it. A file with no matching record (copied or edited
by hand) gets one computed: the MD5 of its bytes as ETag and a content type guessed from
the key. It reads and hashes open descriptors but must not decide where files live or
take locks: that is the caller's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import mimetypes
import os
import posixpath
from typing import Any

import attrs

from s3core.models import ObjectInfo, ObjectMeta

__all__ = [
    "Identity",
    "Version",
    "dump_sidecar",
    "hash_version",
    "load_sidecar",
    "match",
    "meta_from_json",
    "meta_to_json",
    "mtime_ns_for",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MS = 1_000_000  # nanoseconds per millisecond
_CHUNK = 1 << 20
_FORMAT = 1
# A commit keeps the record of the version it replaces, so that a reader which opened
# the old file just before the rename still finds its metadata.
_KEEP = 2
# "Part numbers can be any number from 1 to 10,000, inclusive" (UploadPart).
_MAX_PARTS = 10_000

# mimetypes reads the system's tables on first use, and that first use is not
# thread-safe: do it at import (unless done already: again would drop added types).
if not mimetypes.inited:
    mimetypes.init()


@attrs.frozen
class Identity:
    """What tells one data file from another: inode, size, mtime (ns)."""

    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Identity:
        return cls(st.st_ino, st.st_size, st.st_mtime_ns)


@attrs.frozen(kw_only=True)
class Version:
    """The metadata of one data file, tied to that file by its identity."""

    identity: Identity
    etag: str
    meta: ObjectMeta = attrs.field(factory=ObjectMeta)
    parts_count: int | None = None
    part_sizes: tuple[int, ...] = ()

    def info(self, key: str) -> ObjectInfo:
        # LastModified is the file's mtime at S3's millisecond precision; commits
        # set the mtime from the injected clock, so both agree exactly.
        ms = self.identity.mtime_ns // _MS
        return ObjectInfo(
            key=key,
            size=self.identity.size,
            etag=self.etag,
            last_modified=_EPOCH + dt.timedelta(milliseconds=ms),
            meta=self.meta,
            parts_count=self.parts_count,
            part_sizes=self.part_sizes,
        )


def mtime_ns_for(when: dt.datetime) -> int:
    """The mtime (ns, whole milliseconds) a file committed at ``when`` gets."""
    return (when - _EPOCH) // dt.timedelta(milliseconds=1) * _MS


def match(versions: tuple[Version, ...], st: os.stat_result) -> Version | None:
    """The record describing the file with status ``st``; ``None`` means stale."""
    identity = Identity.of(st)
    return next((v for v in versions if v.identity == identity), None)


def guess_content_type(key: str) -> str:
    # Only the extension of the last segment: mimetypes.guess_type parses its
    # argument as a URL, which a key like "data:x" or "a?b.jpg" would confuse.
    ext = posixpath.splitext(key.rpartition("/")[2])[1]
    guessed, _ = mimetypes.guess_type("f" + ext) if ext else (None, None)
    return guessed or ObjectMeta().content_type


def hash_version(fd: int, st: os.stat_result, key: str) -> Version:
    """A record for a file nobody described: its MD5 ETag and a guessed type."""
    md5 = hashlib.md5(usedforsecurity=False)
    offset = 0
    while offset < st.st_size:
        chunk = os.pread(fd, min(_CHUNK, st.st_size - offset), offset)
        if not chunk:
            break
        md5.update(chunk)
        offset += len(chunk)
    return Version(
        identity=Identity.of(st),
        etag=md5.hexdigest(),
        meta=ObjectMeta(content_type=guess_content_type(key)),
    )


def meta_to_json(meta: ObjectMeta) -> dict[str, Any]:
    """``meta`` as a JSON-ready dict (sidecars, upload records)."""
    return attrs.asdict(meta)


def meta_from_json(doc: Any) -> ObjectMeta:
    """The ``ObjectMeta`` a ``meta_to_json`` dict stands for.

    Raises ``ValueError``, ``KeyError``, ``TypeError`` or ``AttributeError`` when
    the dict is damaged; callers treat that as a missing record.
    """
    fields = dict(doc)
    fields["user_metadata"] = _pairs(fields.get("user_metadata", ()))
    fields["checksums"] = _pairs(fields.get("checksums", ()))
    return ObjectMeta(**fields)


def _runs(sizes: tuple[int, ...]) -> list[list[int]]:
    """Part sizes as [size, count] runs: clients upload equal parts but the last, so
    10000 parts usually take two runs, not 10000 numbers."""
    runs: list[list[int]] = []
    for size in sizes:
        if runs and runs[-1][0] == size:
            runs[-1][1] += 1
        else:
            runs.append([size, 1])
    return runs


def _unruns(runs: Any, total: int) -> tuple[int, ...]:
    pairs = [(int(size), int(count)) for size, count in runs]
    # A damaged record must not make us build a huge tuple or wrong boundaries.
    if sum(count for _, count in pairs) > _MAX_PARTS or any(
        size < 0 or count < 1 for size, count in pairs
    ):
        raise ValueError("damaged part sizes")
    sizes = tuple(size for size, count in pairs for _ in range(count))
    if sizes and sum(sizes) != total:
        raise ValueError("part sizes do not add up to the object's size")
    return sizes


def dump_sidecar(key: str, versions: tuple[Version, ...]) -> bytes:
    """The sidecar bytes for ``key``, keeping at most the newest two records."""
    records = [
        {
            "ino": v.identity.ino,
            "size": v.identity.size,
            "mtime_ns": v.identity.mtime_ns,
            "etag": v.etag,
            "parts_count": v.parts_count,
            "part_sizes": _runs(v.part_sizes),
            "meta": meta_to_json(v.meta),
        }
        for v in versions[:_KEEP]
    ]
    doc = {"format": _FORMAT, "key": key, "versions": records}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def load_sidecar(data: bytes | None, key: str) -> tuple[Version, ...]:
    """The records in a sidecar; none if it is missing, damaged or for another key.

    A damaged sidecar is only a lost cache: the data file stays the truth, so the
    object is described afresh rather than failing.
    """
    if data is None:
        return ()
    try:
        doc = json.loads(data)
        if doc["format"] != _FORMAT or doc["key"] != key:
            return ()
        return tuple(_version(record) for record in doc["versions"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return ()


def _pairs(items: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(value)) for name, value in items)


def _version(record: dict[str, Any]) -> Version:
    parts = record["parts_count"]
    return Version(
        identity=Identity(
            int(record["ino"]), int(record["size"]), int(record["mtime_ns"])
        ),
        etag=str(record["etag"]),
        meta=meta_from_json(record["meta"]),
        parts_count=None if parts is None else int(parts),
        # Absent in sidecars written before part boundaries were recorded.
        part_sizes=_unruns(record.get("part_sizes", ()), int(record["size"])),
    )
