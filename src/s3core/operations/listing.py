"""Listing operations: ListObjectsV2, ListObjects (v1), ListObjectVersions.

This module owns paging over the backend's ordered ``iter_entries``: max-keys, markers,
continuation tokens, delimiter roll-up and the url encoding S3 applies. A page costs one
pass over at most ``max_keys + 1`` entries. It does not render XML itself (``xml_out``
does) and keeps no state between pages: a continuation token carries everything.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator

import attrs

from s3core import errors, xml_out
from s3core.http import Response
from s3core.models import CommonPrefix, ListEntry, ObjectInfo
from s3core.operations.common import owner, xml_response
from s3core.operations.context import Call

__all__ = ["list_object_versions", "list_objects", "list_objects_v2"]

_MAX_KEYS = 1000


@attrs.frozen(kw_only=True)
class Page:
    """One page of a listing."""

    contents: tuple[ObjectInfo, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool

    @property
    def last(self) -> str | None:
        """The key or prefix that ends the page (what the next page starts after)."""
        candidates = [c.key for c in self.contents[-1:]] + list(
            self.common_prefixes[-1:]
        )
        return max(candidates) if candidates else None

    @property
    def count(self) -> int:
        """KeyCount: keys plus common prefixes."""
        return len(self.contents) + len(self.common_prefixes)


def collect_page(
    entries: Iterator[ListEntry], *, max_keys: int, start_after: str
) -> Page:
    """Take up to ``max_keys`` entries; truncated if at least one more exists.

    A page that ended on a common prefix P continues with ``start_after=P``; the
    backend then yields P again first (keys under P are greater than P), so an entry
    equal to ``start_after`` is skipped.
    """
    contents: list[ObjectInfo] = []
    prefixes: list[str] = []
    truncated = False
    for entry in entries:
        if isinstance(entry, CommonPrefix) and entry.prefix == start_after:
            continue
        if len(contents) + len(prefixes) >= max_keys:
            truncated = True
            break
        if isinstance(entry, CommonPrefix):
            prefixes.append(entry.prefix)
        else:
            contents.append(entry)
    return Page(
        contents=tuple(contents),
        common_prefixes=tuple(prefixes),
        is_truncated=truncated,
    )


def _max_keys(call: Call, name: str = "max-keys") -> int:
    raw = call.query.get(name)
    if raw is None:
        return _MAX_KEYS
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise errors.InvalidArgument(
            "Provided max-keys not an integer or within integer range",
            extra={"ArgumentName": name, "ArgumentValue": raw},
        )
    # "returns up to 1,000 key names ... even if you ask for more" (ListObjectsV2).
    return min(value, _MAX_KEYS)


def _encoding_type(call: Call) -> str | None:
    value = call.query.get("encoding-type")
    if value is None or value == "":
        return None
    if value.lower() != "url":
        raise errors.InvalidArgument(
            "Invalid Encoding Method specified in Request",
            extra={"ArgumentName": "encoding-type", "ArgumentValue": value},
        )
    return "url"


def _page(call: Call, *, start_after: str, max_keys: int) -> Page:
    prefix = call.query.get("prefix", "")
    delimiter = call.query.get("delimiter", "")
    entries = call.backend.iter_entries(
        call.bucket, prefix=prefix, start_after=start_after, delimiter=delimiter
    )
    try:
        return collect_page(entries, max_keys=max_keys, start_after=start_after)
    finally:
        close = getattr(entries, "close", None)
        if close is not None:
            close()


def encode_token(last: str) -> str:
    """An opaque continuation token that resumes after ``last``."""
    return base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii")


def decode_token(token: str) -> str:
    """The position a continuation token resumes after.

    Raises:
        InvalidArgument: the token was not made by this server.
    """
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise errors.InvalidArgument(
            "The continuation token provided is incorrect",
            extra={"ArgumentName": "continuation-token", "ArgumentValue": token},
        ) from None


def list_objects_v2(call: Call) -> Response:
    """ListObjectsV2.

    Raises:
        NoSuchBucket, InvalidArgument.
    """
    max_keys = _max_keys(call)
    encoding = _encoding_type(call)
    token = call.query.get("continuation-token")
    start_after = call.query.get("start-after", "")
    position = decode_token(token) if token is not None else start_after
    page = _page(call, start_after=position, max_keys=max_keys)
    fetch_owner = call.query.get("fetch-owner", "").lower() == "true"
    bucket_owner = call.backend.get_bucket(call.bucket).owner_id
    last = page.last
    body = xml_out.list_objects_v2(
        bucket=call.bucket,
        prefix=call.query.get("prefix", ""),
        delimiter=call.query.get("delimiter", ""),
        max_keys=max_keys,
        start_after=call.query.get("start-after"),
        continuation_token=token,
        next_continuation_token=(
            encode_token(last) if page.is_truncated and last is not None else None
        ),
        is_truncated=page.is_truncated,
        key_count=page.count,
        encoding_type=encoding,
        contents=page.contents,
        common_prefixes=page.common_prefixes,
        owner=owner(call, bucket_owner) if fetch_owner else None,
    )
    return xml_response(body)


def list_objects(call: Call) -> Response:
    """ListObjects (version 1): marker paging; NextMarker only with a delimiter.

    Raises:
        NoSuchBucket, InvalidArgument.
    """
    max_keys = _max_keys(call)
    encoding = _encoding_type(call)
    marker = call.query.get("marker", "")
    page = _page(call, start_after=marker, max_keys=max_keys)
    delimiter = call.query.get("delimiter", "")
    bucket_owner = call.backend.get_bucket(call.bucket).owner_id
    # "NextMarker ... is returned only if you have the delimiter request parameter
    # specified" (ListObjects); without it clients resume after the last key.
    next_marker = page.last if page.is_truncated and delimiter else None
    body = xml_out.list_objects_v1(
        bucket=call.bucket,
        prefix=call.query.get("prefix", ""),
        delimiter=delimiter,
        max_keys=max_keys,
        marker=marker,
        next_marker=next_marker,
        is_truncated=page.is_truncated,
        encoding_type=encoding,
        contents=page.contents,
        common_prefixes=page.common_prefixes,
        owner=owner(call, bucket_owner),
    )
    return xml_response(body)


def list_object_versions(call: Call) -> Response:
    """ListObjectVersions on an unversioned bucket: each object is version "null".

    Raises:
        NoSuchBucket, InvalidArgument.
    """
    max_keys = _max_keys(call)
    encoding = _encoding_type(call)
    key_marker = call.query.get("key-marker", "")
    page = _page(call, start_after=key_marker, max_keys=max_keys)
    bucket_owner = call.backend.get_bucket(call.bucket).owner_id
    last = page.last if page.is_truncated else None
    body = xml_out.list_object_versions(
        bucket=call.bucket,
        prefix=call.query.get("prefix", ""),
        delimiter=call.query.get("delimiter", ""),
        max_keys=max_keys,
        key_marker=key_marker,
        version_id_marker=call.query.get("version-id-marker", ""),
        next_key_marker=last,
        next_version_id_marker="null" if last is not None else None,
        is_truncated=page.is_truncated,
        encoding_type=encoding,
        contents=page.contents,
        common_prefixes=page.common_prefixes,
        owner=owner(call, bucket_owner),
    )
    return xml_response(body)
