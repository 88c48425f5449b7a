"""Request routing: from method, host, path and query to an S3 operation.

This module owns addressing (path style ``/bucket/key`` and virtual-hosted style
``bucket.<domain>/key``) and the single dispatch table that names the operation for
(method, target, sub-resource, selecting header). It decides nothing about permissions
and runs nothing.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import unquote

import attrs

from s3core import errors
from s3core.http import Request, parse_query

__all__ = [
    "COPY_SOURCE",
    "ROUTES",
    "SERVER_PREFIX",
    "Route",
    "addresses_object",
    "parse_query",
    "resolve",
]

Target = Literal["service", "bucket", "object"]

# Query parameters that select an operation (S3 calls them sub-resources). The first one
# present, in this order, picks the table row; others are plain parameters.
_SUBRESOURCES = (
    "uploadId",
    "uploads",
    "delete",
    "location",
    "versions",
    "list-type",
    "versioning",
    "acl",
    "tagging",
    "policy",
    "cors",
    "lifecycle",
    "encryption",
    "website",
    "logging",
    "notification",
    "replication",
    "requestPayment",
    "accelerate",
    "analytics",
    "inventory",
    "metrics",
    "ownershipControls",
    "publicAccessBlock",
    "object-lock",
    "retention",
    "legal-hold",
    "restore",
    "select",
    "attributes",
    "torrent",
    "intelligent-tiering",
)

# The one header that selects an operation: a PUT to an object that carries it copies
# ("PUT ... x-amz-copy-source" is CopyObject, and UploadPartCopy with uploadId).
COPY_SOURCE = "x-amz-copy-source"

# (method, target, sub-resource, selecting header) -> operation name. One table, no
# if/elif chains.
ROUTES: dict[tuple[str, Target, str, str], str] = {
    ("GET", "service", "", ""): "ListBuckets",
    ("PUT", "bucket", "", ""): "CreateBucket",
    ("HEAD", "bucket", "", ""): "HeadBucket",
    ("DELETE", "bucket", "", ""): "DeleteBucket",
    ("GET", "bucket", "", ""): "ListObjects",
    ("GET", "bucket", "list-type", ""): "ListObjectsV2",
    ("GET", "bucket", "versions", ""): "ListObjectVersions",
    ("GET", "bucket", "location", ""): "GetBucketLocation",
    ("GET", "bucket", "versioning", ""): "GetBucketVersioning",
    ("GET", "bucket", "uploads", ""): "ListMultipartUploads",
    ("POST", "bucket", "delete", ""): "DeleteObjects",
    # Browser form upload: authenticated by the form's policy, not a header.
    ("POST", "bucket", "", ""): "PostObject",
    ("PUT", "object", "", ""): "PutObject",
    ("PUT", "object", "", COPY_SOURCE): "CopyObject",
    ("GET", "object", "", ""): "GetObject",
    ("HEAD", "object", "", ""): "HeadObject",
    ("DELETE", "object", "", ""): "DeleteObject",
    ("POST", "object", "uploads", ""): "CreateMultipartUpload",
    ("PUT", "object", "uploadId", ""): "UploadPart",
    ("PUT", "object", "uploadId", COPY_SOURCE): "UploadPartCopy",
    ("POST", "object", "uploadId", ""): "CompleteMultipartUpload",
    ("DELETE", "object", "uploadId", ""): "AbortMultipartUpload",
    ("GET", "object", "uploadId", ""): "ListParts",
}


# The server's own endpoints live under a first path segment that can never be a
# bucket name (a leading dot is invalid), so they never shadow a bucket.
SERVER_PREFIX = "/.s3server/"
_SERVER_ROUTES = {("GET", "presign"): "PresignUrl"}


@attrs.frozen(kw_only=True)
class Route:
    """Where a request goes.

    Attributes:
        operation: the S3 operation name (``PutObject``).
        bucket: the bucket, or ``None`` for service-level requests.
        key: the object key, or ``None`` for bucket-level requests.
        query: decoded query parameters (first value of each name).
    """

    operation: str
    bucket: str | None
    key: str | None
    query: dict[str, str]


def resolve(request: Request, *, domain: str) -> Route:
    """Name the operation and its bucket and key.

    Args:
        request: the request.
        domain: the base domain for virtual-hosted-style addressing; a ``Host`` of
            ``<bucket>.<domain>`` (any port) addresses ``<bucket>``.

    Raises:
        InvalidURI: the path is not valid percent-encoded UTF-8.
        MethodNotAllowed: the method makes no sense on the target.
        NotImplementedOperation: a sub-resource this server does not implement.
    """
    try:
        # S3 paths are percent-decoded only: a '+' in a path is a plus sign.
        path = unquote(request.route_path, errors="strict")
    except UnicodeDecodeError:
        raise errors.InvalidURI() from None
    query = parse_query(request.query)
    if path.startswith(SERVER_PREFIX):
        name = _SERVER_ROUTES.get((request.method, path[len(SERVER_PREFIX) :]))
        if name is None:
            raise errors.MethodNotAllowed(extra={"Method": request.method})
        return Route(operation=name, bucket=None, key=None, query=query)
    bucket, key = _split_target(path, _virtual_host_bucket(request.host, domain))
    target: Target = "service" if bucket is None else "object" if key else "bucket"
    sub = next((name for name in _SUBRESOURCES if name in query), "")
    header = COPY_SOURCE if COPY_SOURCE in request.headers else ""
    # A selecting header on a request it selects nothing for is ignored, as S3 does.
    operation = ROUTES.get((request.method, target, sub, header)) or ROUTES.get(
        (request.method, target, sub, "")
    )
    if operation is None:
        if sub:
            raise errors.NotImplementedOperation()
        raise errors.MethodNotAllowed(
            extra={"Method": request.method, "ResourceType": target.upper()}
        )
    return Route(operation=operation, bucket=bucket, key=key or None, query=query)


def addresses_object(path: str, host: str, *, domain: str) -> bool:
    """Whether a request for the decoded ``path`` with this ``Host`` names an object
    (a bucket and a non-empty key), by the rules ``resolve`` applies."""
    bucket, key = _split_target(path, _virtual_host_bucket(host, domain))
    return bucket is not None and bool(key)


def _virtual_host_bucket(host: str, domain: str) -> str | None:
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    suffix = "." + domain
    if domain and hostname.endswith(suffix) and len(hostname) > len(suffix):
        return hostname[: -len(suffix)]
    return None


def _split_target(path: str, vhost_bucket: str | None) -> tuple[str | None, str]:
    rest = path[1:] if path.startswith("/") else path
    if vhost_bucket is not None:
        return vhost_bucket, rest
    if not rest:
        return None, ""
    bucket, _, key = rest.partition("/")
    return bucket, key
