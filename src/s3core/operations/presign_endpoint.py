"""The server's presign endpoint: a presigned URL for an authenticated caller.

``GET /.s3server/presign?bucket=B&key=K&method=GET&expires=3600`` is an ordinary
signed request (any mechanism ``verify`` accepts). It answers ``text/plain``: the
SigV4 presigned URL followed by one newline, so ``curl "$(...)"`` and a browser both
use it as it is. The URL is signed with the caller's own key by the very signer that
verifies it, points at the ``Host`` the request came to (and its mount point), and
is refused for a bucket the caller does not own. This module owns the endpoint's
parameters and their errors; it stores nothing.
"""

from __future__ import annotations

from s3core import errors
from s3core.auth.presign import presign_url as sign_url
from s3core.auth.verify import MAX_EXPIRES
from s3core.http import Response
from s3core.names import validate_bucket_name, validate_key
from s3core.operations.context import Call

__all__ = ["DEFAULT_EXPIRES", "METHODS", "presign_url"]

DEFAULT_EXPIRES = 3600
# What a presigned URL is for: reading, writing, checking and deleting one object
# (or, with no key, listing a bucket).
METHODS = ("GET", "PUT", "HEAD", "DELETE")


def _invalid(name: str, value: str, message: str) -> errors.S3Error:
    return errors.InvalidArgument(
        message, extra={"ArgumentName": name, "ArgumentValue": value}
    )


def presign_url(call: Call) -> Response:
    """GET /.s3server/presign: a presigned URL as ``text/plain``.

    Query parameters: ``bucket`` (required), ``key`` (empty: the bucket itself),
    ``method`` (GET, PUT, HEAD or DELETE; default GET), ``expires`` (seconds,
    1..604800; default 3600), ``content-type`` (a Content-Type the user of a PUT URL
    must send; it is signed).

    Raises:
        InvalidArgument: a missing bucket, an unknown method, or ``expires`` not an
            integer within 1..604800.
        InvalidBucketName, KeyTooLongError: a bad name.
        NoSuchBucket: the bucket does not exist.
        AccessDenied: the bucket belongs to another user.
    """
    query = call.query
    bucket = query.get("bucket", "")
    if not bucket:
        raise _invalid("bucket", "", "The bucket parameter is required.")
    validate_bucket_name(bucket)
    key = query.get("key", "")
    if key:
        validate_key(key)
    method = query.get("method", "GET").upper()
    if method not in METHODS:
        raise _invalid("method", method, f"method must be one of {', '.join(METHODS)}")
    raw_expires = query.get("expires", str(DEFAULT_EXPIRES))
    if not (raw_expires.isascii() and raw_expires.isdigit()) or not (
        1 <= int(raw_expires) <= MAX_EXPIRES
    ):
        raise _invalid(
            "expires",
            raw_expires,
            f"expires must be a whole number of seconds from 1 to {MAX_EXPIRES}",
        )
    # The URL works only for the bucket's owner: refuse to make one that would only
    # ever answer AccessDenied.
    if call.backend.get_bucket(bucket).owner_id != call.user.id:
        raise errors.AccessDenied()
    content_type = query.get("content-type")
    url = sign_url(
        method=method,
        endpoint_url=_endpoint(call),
        bucket=bucket,
        key=key,
        access_key=call.user.access_key,
        secret_key=call.user.secret_key,
        region=call.config.region,
        expires=int(raw_expires),
        now=call.now,
        headers={"Content-Type": content_type} if content_type else None,
    )
    return Response.of_bytes(
        200, (url + "\n").encode(), [("Content-Type", "text/plain; charset=utf-8")]
    )


def _endpoint(call: Call) -> str:
    """``scheme://Host/mount``: where the caller reached this server."""
    request = call.request
    # Behind a TLS-terminating proxy the scheme is the proxy's; waitress passes
    # X-Forwarded-Proto only from a trusted proxy.
    scheme = (request.headers.get("x-forwarded-proto") or "http").split(",")[0]
    return f"{scheme.strip()}://{request.host}{request.mount}"
