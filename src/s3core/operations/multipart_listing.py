"""ListParts and ListMultipartUploads: paging over open uploads and their parts.

This module owns the markers of the two listings (``part-number-marker``;
``key-marker`` with ``upload-id-marker``), their page sizes, and the delimiter roll-up
of uploads into common prefixes. The backend hands over whole sorted lists (open
uploads and the parts of one upload are few); XML is ``xml_out``'s. It keeps no state
between pages: the markers carry everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

from s3core import errors, xml_out
from s3core.backends.base import prefix_upper_bound
from s3core.http import Response
from s3core.models import Upload
from s3core.names import validate_key
from s3core.operations.common import owner, xml_response
from s3core.operations.context import Call

__all__ = ["list_multipart_uploads", "list_parts"]

# "ListParts returns a maximum of 1,000 parts"; "1,000 multipart uploads is the
# maximum number of uploads a response can include" (ListMultipartUploads).
_MAX_PAGE = 1000


def _page_size(call: Call, name: str) -> int:
    raw = call.query.get(name)
    if raw is None:
        return _MAX_PAGE
    if not (raw.isascii() and raw.isdigit()):
        raise errors.InvalidArgument(
            f"Provided {name} not an integer or within integer range",
            extra={"ArgumentName": name, "ArgumentValue": raw},
        )
    return min(int(raw), _MAX_PAGE)


def list_parts(call: Call) -> Response:
    """ListParts: the upload's parts after ``part-number-marker``, ``max-parts`` a page.

    Raises:
        NoSuchBucket, NoSuchUpload, InvalidArgument (a marker or page size that is
        not a non-negative integer).
    """
    validate_key(call.key)
    max_parts = _page_size(call, "max-parts")
    marker_raw = call.query.get("part-number-marker") or "0"
    if not (marker_raw.isascii() and marker_raw.isdigit()):
        raise errors.InvalidArgument(
            "Provided part-number-marker not an integer or within integer range",
            extra={"ArgumentName": "part-number-marker", "ArgumentValue": marker_raw},
        )
    marker = int(marker_raw)
    upload = call.backend.get_upload(call.bucket, call.key, call.query["uploadId"])
    parts = call.backend.list_parts(call.bucket, call.key, upload.upload_id)
    after = [p for p in parts if p.part_number > marker]
    page = after[:max_parts]
    truncated = len(after) > len(page)
    body = xml_out.list_parts(
        bucket=call.bucket,
        upload=upload,
        initiator=owner(call, upload.owner_id),
        part_number_marker=marker,
        # S3 sends the last part number of the page, which the next page starts
        # after.
        next_part_number_marker=page[-1].part_number if page else None,
        max_parts=max_parts,
        is_truncated=truncated,
        parts=page,
    )
    return xml_response(body)


@attrs.frozen
class _Prefix:
    """Uploads of keys sharing a common prefix, rolled up by the delimiter."""

    prefix: str


def _rolled_up(
    uploads: Iterable[Upload], prefix: str, delimiter: str
) -> Iterator[Upload | _Prefix]:
    """Uploads in order, each run under one common prefix replaced by it once."""
    skip_below: str | None = None
    for upload in uploads:
        if skip_below is not None and upload.key < skip_below:
            continue
        cut = upload.key.find(delimiter, len(prefix)) if delimiter else -1
        if cut < 0:
            yield upload
            continue
        common = upload.key[: cut + len(delimiter)]
        yield _Prefix(common)
        bound = prefix_upper_bound(common)
        if bound is None:
            return
        skip_below = bound


def _after_markers(
    uploads: list[Upload], key_marker: str, id_marker: str
) -> list[Upload]:
    """Uploads after the markers: with an upload-id-marker, the marker key's uploads
    with greater ids and then greater keys; without, greater keys only."""
    if not key_marker:
        return uploads
    # "If upload-id-marker is not specified, only the keys lexicographically greater
    # than the specified key-marker will be included in the list" and otherwise "any
    # multipart uploads for a key equal to the key-marker might also be included,
    # provided those multipart uploads have upload IDs lexicographically greater than
    # the specified upload-id-marker" (ListMultipartUploads).
    return [
        u
        for u in uploads
        if u.key > key_marker
        or (id_marker and u.key == key_marker and u.upload_id > id_marker)
    ]


def list_multipart_uploads(call: Call) -> Response:
    """ListMultipartUploads: open uploads by key, then initiation; prefix, delimiter.

    Raises:
        NoSuchBucket, InvalidArgument (page size, encoding type).
    """
    max_uploads = _page_size(call, "max-uploads")
    prefix = call.query.get("prefix", "")
    delimiter = call.query.get("delimiter", "")
    key_marker = call.query.get("key-marker", "")
    id_marker = call.query.get("upload-id-marker", "") if key_marker else ""
    encoding = call.query.get("encoding-type") or None
    if encoding is not None and encoding.lower() == "url":
        encoding = "url"
    uploads = _after_markers(
        call.backend.list_uploads(call.bucket, prefix=prefix), key_marker, id_marker
    )
    entries: list[Upload | _Prefix] = []
    truncated = False
    for entry in _rolled_up(uploads, prefix, delimiter):
        # A page that ended on a common prefix resumes with it as the key marker;
        # its uploads (greater than the marker) must not come back as it again.
        if isinstance(entry, _Prefix) and entry.prefix == key_marker:
            continue
        if len(entries) >= max_uploads:
            truncated = True
            break
        entries.append(entry)
    page = [e for e in entries if isinstance(e, Upload)]
    prefixes = [e.prefix for e in entries if isinstance(e, _Prefix)]
    last = entries[-1] if truncated and entries else None
    next_key, next_id = None, None
    if isinstance(last, Upload):
        next_key, next_id = last.key, last.upload_id
    elif isinstance(last, _Prefix):
        next_key, next_id = last.prefix, ""
    body = xml_out.list_multipart_uploads(
        bucket=call.bucket,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        upload_id_marker=id_marker,
        max_uploads=max_uploads,
        is_truncated=truncated,
        uploads=[(u, owner(call, u.owner_id)) for u in page],
        common_prefixes=prefixes,
        next_key_marker=next_key,
        next_upload_id_marker=next_id,
        encoding_type=encoding,
    )
    return xml_response(body)
