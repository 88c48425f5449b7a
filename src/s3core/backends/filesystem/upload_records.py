"""The files that describe an open multipart upload: their format, nothing else.

This module owns the JSON of ``upload.json`` (the upload's key, initiation time,
owner, the final object's metadata and checksum settings) and of each part's record
(its data file's name, size, ETag, time and checksum). Loading is forgiving: a
missing or damaged record reads as ``None``, and callers treat that as "no such
upload" or "no such part". It reads and writes no files itself.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from s3core.backends.filesystem.meta import meta_from_json, meta_to_json
from s3core.models import Part, Upload

__all__ = ["dump_part", "dump_upload", "load_part", "load_upload"]

_FORMAT = 1


def dump_upload(upload: Upload) -> bytes:
    doc = {
        "format": _FORMAT,
        "upload_id": upload.upload_id,
        "key": upload.key,
        "initiated": upload.initiated.isoformat(),
        "owner_id": upload.owner_id,
        "meta": meta_to_json(upload.meta),
        "checksum_algorithm": upload.checksum_algorithm,
        "checksum_type": upload.checksum_type,
    }
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def load_upload(data: bytes | None, upload_id: str) -> Upload | None:
    """The record's upload; ``None`` if missing, damaged or of another id."""
    if data is None:
        return None
    try:
        doc = json.loads(data)
        if doc["format"] != _FORMAT or doc["upload_id"] != upload_id:
            return None
        return Upload(
            upload_id=upload_id,
            key=str(doc["key"]),
            initiated=dt.datetime.fromisoformat(doc["initiated"]),
            owner_id=str(doc["owner_id"]),
            meta=meta_from_json(doc["meta"]),
            checksum_algorithm=_optional_str(doc["checksum_algorithm"]),
            checksum_type=_optional_str(doc["checksum_type"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def dump_part(part: Part, filename: str) -> bytes:
    doc = {
        "format": _FORMAT,
        "file": filename,
        "part_number": part.part_number,
        "size": part.size,
        "etag": part.etag,
        "last_modified": part.last_modified.isoformat(),
        "checksum": list(part.checksum) if part.checksum else None,
    }
    return json.dumps(doc).encode("utf-8")


def load_part(data: bytes | None) -> tuple[Part, str] | None:
    """(part, data file name) of a part record; ``None`` if missing or damaged."""
    if data is None:
        return None
    try:
        doc = json.loads(data)
        checksum = doc["checksum"]
        filename = str(doc["file"])
        if doc["format"] != _FORMAT or "/" in filename or filename.startswith("."):
            return None
        part = Part(
            part_number=int(doc["part_number"]),
            size=int(doc["size"]),
            etag=str(doc["etag"]),
            last_modified=dt.datetime.fromisoformat(doc["last_modified"]),
            checksum=None if checksum is None else (str(checksum[0]), str(checksum[1])),
        )
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None
    return part, filename
