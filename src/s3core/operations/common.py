"""Pieces several operations share: header <-> metadata mapping and small responses.

This module owns how stored object metadata becomes response headers and how request
headers become stored metadata, plus the ``Owner`` lookup and the XML response helper.
It has no operation of its own and never touches a backend.
"""

from __future__ import annotations

from collections.abc import Iterable

from s3core import errors
from s3core.http import Headers, Response
from s3core.models import ObjectInfo, ObjectMeta
from s3core.operations.context import Call
from s3core.timefmt import http_date
from s3core.xml_out import Owner

__all__ = [
    "content_length",
    "meta_from_headers",
    "object_headers",
    "object_length",
    "owner",
    "quote_etag",
    "xml_response",
]

# "The PUT request header is limited to 8 KB in size. Within the PUT request header,
# the user-defined metadata is limited to 2 KB in size." (S3 User Guide, "Working with
# object metadata"). Size is the sum of the bytes of each key and value.
_MAX_USER_METADATA = 2 * 1024
_META_PREFIX = "x-amz-meta-"

# Stored header -> ObjectMeta field, in the order S3 sends them back.
_STORED_HEADERS = (
    ("Cache-Control", "cache_control"),
    ("Content-Disposition", "content_disposition"),
    ("Content-Encoding", "content_encoding"),
    ("Content-Language", "content_language"),
    ("Expires", "expires"),
)

# GetObject's response-* query parameters -> the header each overrides.
RESPONSE_OVERRIDES = (
    ("response-content-type", "Content-Type"),
    ("response-content-language", "Content-Language"),
    ("response-expires", "Expires"),
    ("response-cache-control", "Cache-Control"),
    ("response-content-disposition", "Content-Disposition"),
    ("response-content-encoding", "Content-Encoding"),
)


def quote_etag(etag: str) -> str:
    """The ETag as S3 sends it in headers and XML: in double quotes."""
    return f'"{etag}"'


def owner(call: Call, owner_id: str) -> Owner:
    """The ``Owner`` element for a canonical user id."""
    return Owner(id=owner_id, display_name=call.display_names.get(owner_id, ""))


def xml_response(body: bytes, status: int = 200) -> Response:
    """A response carrying an XML document."""
    return Response.of_bytes(status, body, [("Content-Type", "application/xml")])


def content_length(headers: Headers) -> int:
    """The declared body length.

    Raises:
        MissingContentLength: no ``Content-Length`` (S3 does not take chunked
            transfer coding for uploads; aws-chunked bodies still carry one).
        InvalidArgument: the value is not a non-negative integer.
    """
    value = headers.get("content-length")
    if value is None:
        raise errors.MissingContentLength()
    try:
        length = int(value)
    except ValueError:
        length = -1
    if length < 0:
        raise errors.InvalidArgument(
            "Content-Length must be a non-negative integer",
            extra={"ArgumentName": "Content-Length", "ArgumentValue": value},
        )
    return length


def meta_from_headers(headers: Headers) -> ObjectMeta:
    """The metadata a PutObject (or CreateMultipartUpload) asks to store.

    Raises:
        MetadataTooLarge: user metadata over 2 KB.
    """
    user: dict[str, str] = {}
    for name, value in headers.lower_items():
        if name.startswith(_META_PREFIX):
            meta_name = name[len(_META_PREFIX) :]
            # Repeated x-amz-meta-* headers are joined with commas, as HTTP does.
            if meta_name in user:
                value = f"{user[meta_name]},{value}"
            user[meta_name] = value
    size = sum(len(k.encode()) + len(v.encode()) for k, v in user.items())
    if size > _MAX_USER_METADATA:
        raise errors.MetadataTooLarge(
            extra={"Size": str(size), "MaxSizeAllowed": str(_MAX_USER_METADATA)}
        )
    return ObjectMeta(
        content_type=headers.get("content-type") or "binary/octet-stream",
        cache_control=headers.get("cache-control"),
        content_disposition=headers.get("content-disposition"),
        content_encoding=_stored_encoding(headers.get("content-encoding")),
        content_language=headers.get("content-language"),
        expires=headers.get("expires"),
        user_metadata=tuple(sorted(user.items())),
    )


def _stored_encoding(value: str | None) -> str | None:
    """Content-Encoding without ``aws-chunked``, which describes the upload only.

    "Amazon S3 stores the resulting object without the aws-chunked value in the
    content-encoding header" (SigV4 streaming, "Content-Encoding").
    """
    if value is None:
        return None
    kept = [v.strip() for v in value.split(",") if v.strip().lower() != "aws-chunked"]
    return ",".join(kept) or None


def object_length(headers: Headers) -> int:
    """The object's length: ``x-amz-decoded-content-length`` for aws-chunked bodies.

    Raises:
        MissingContentLength, InvalidArgument: as ``content_length``.
    """
    decoded = headers.get("x-amz-decoded-content-length")
    if decoded is not None:
        if not decoded.isdigit():
            raise errors.InvalidArgument(
                extra={
                    "ArgumentName": "x-amz-decoded-content-length",
                    "ArgumentValue": decoded,
                }
            )
        return int(decoded)
    return content_length(headers)


def object_headers(
    info: ObjectInfo, *, with_checksums: bool = False
) -> list[tuple[str, str]]:
    """The headers GetObject and HeadObject send for an object."""
    meta = info.meta
    out = [
        ("Last-Modified", http_date(info.last_modified)),
        ("ETag", quote_etag(info.etag)),
        ("Accept-Ranges", "bytes"),
        ("Content-Type", meta.content_type),
    ]
    for header, attr in _STORED_HEADERS:
        value = getattr(meta, attr)
        if value is not None:
            out.append((header, value))
    out.extend((_META_PREFIX + name, value) for name, value in meta.user_metadata)
    if info.parts_count is not None:
        out.append(("x-amz-mp-parts-count", str(info.parts_count)))
    if with_checksums:
        out.extend(checksum_headers(meta.checksums))
    return out


def checksum_headers(checksums: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``x-amz-checksum-<algorithm>`` headers and the checksum type."""
    out = [(f"x-amz-checksum-{alg.lower()}", value) for alg, value in checksums]
    if out:
        out.append(("x-amz-checksum-type", "FULL_OBJECT"))
    return out


def apply_overrides(
    headers: list[tuple[str, str]], query: dict[str, str]
) -> list[tuple[str, str]]:
    """Replace headers named by GetObject's ``response-*`` query parameters."""
    overrides = {
        header: query[param] for param, header in RESPONSE_OVERRIDES if param in query
    }
    if not overrides:
        return headers
    lowered = {h.lower() for h in overrides}
    kept = [(k, v) for k, v in headers if k.lower() not in lowered]
    return kept + list(overrides.items())
