"""Presigned URLs: SigV4 query authentication, produced by the verifying signer.

This module owns building a presigned URL for one object or bucket request, laid
out like botocore's ``generate_presigned_url`` (operation parameters first, then the
``X-Amz-*`` parameters in botocore's order, ``X-Amz-Signature`` last). It signs with
the very ``sigv4`` functions ``verify`` checks with, so a URL made here is accepted
there by construction. It must not read the clock (``now`` is passed in) nor do any
I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from s3core.auth import sigv4
from s3core.auth.verify import MAX_EXPIRES
from s3core.http import Headers

__all__ = ["presign_url"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def presign_url(
    *,
    method: str,
    endpoint_url: str,
    bucket: str,
    key: str,
    access_key: str,
    secret_key: str,
    region: str,
    expires: int = 3600,
    now: dt.datetime,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    path_style: bool = True,
) -> str:
    """A SigV4 presigned URL for ``method`` on ``bucket``/``key``.

    Args:
        method: the HTTP method the URL is for (``GET``, ``PUT``, ...).
        endpoint_url: the server, e.g. ``http://127.0.0.1:9000``; a path on it is
            kept as a prefix.
        bucket: the bucket name.
        key: the object key (any text), encoded like botocore encodes it; empty
            for a bucket-level URL.
        access_key: the signing user's access key id.
        secret_key: the signing user's secret key.
        region: the region the server is configured with.
        expires: seconds the URL stays valid, 1 to 604800.
        now: the signing time (naive values are taken as UTC).
        headers: headers the user of the URL must send with exactly these values
            (for example ``Content-Type``); they are signed along with ``host``.
        query: operation parameters (for example ``versionId``), signed too.
        path_style: ``http://host/bucket/key`` if true, else
            ``http://bucket.host/key``.

    Returns:
        The URL, its query ending with ``X-Amz-Signature``.

    Raises:
        ValueError: ``expires`` is outside 1..604800, the bound S3 enforces with
            ``AuthorizationQueryParametersError``.
    """
    if not 1 <= expires <= MAX_EXPIRES:
        raise ValueError(f"expires must be within 1..{MAX_EXPIRES}, not {expires}")
    parts = urlsplit(endpoint_url)
    netloc, host = parts.netloc, _host(endpoint_url)
    prefix = parts.path.rstrip("/")
    # botocore quotes a key with safe='/~': exactly UriEncode with '/' kept.
    encoded_key = sigv4.uri_encode(key, encode_slash=False)
    if path_style:
        path = f"{prefix}/{bucket}" + (f"/{encoded_key}" if key else "")
    else:
        netloc, host = f"{bucket}.{netloc}", f"{bucket}.{host}"
        path = f"{prefix}/{encoded_key}"

    when = now.replace(tzinfo=dt.timezone.utc) if now.tzinfo is None else now
    amz_date = when.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    scope = sigv4.credential_scope(amz_date[:8], region)
    signed = Headers.of([("host", host), *(headers or {}).items()])
    names = sorted({name.lower() for name, _ in signed})
    params = [
        *(query or {}).items(),
        ("X-Amz-Algorithm", sigv4.ALGORITHM),
        ("X-Amz-Credential", f"{access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-SignedHeaders", sigv4.signed_headers(names)),
        ("X-Amz-Expires", str(expires)),
    ]
    wire_query = "&".join(
        f"{sigv4.uri_encode(name)}={sigv4.uri_encode(value)}" for name, value in params
    )
    payload_hash = signed.get("x-amz-content-sha256") or sigv4.UNSIGNED_PAYLOAD
    canonical = sigv4.canonical_request(
        method.upper(), path, wire_query, signed, names, payload_hash
    )
    key_bytes = sigv4.signing_key(secret_key, amz_date[:8], region, "s3")
    sig = sigv4.signature(key_bytes, sigv4.string_to_sign(amz_date, scope, canonical))
    query_text = f"{wire_query}&X-Amz-Signature={sig}"
    return urlunsplit((parts.scheme, netloc, path, query_text, ""))


def _host(url: str) -> str:
    """The ``Host`` header a client sends for ``url``: no default port, lower-case."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets in Host
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host
