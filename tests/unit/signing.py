"""Build header-signed ``Request`` values for sans-I/O service tests.

It signs with ``s3core.auth.sigv4``, whose every step the auth property tests prove
equal to botocore's, so service tests need no HTTP and no botocore plumbing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io

from s3core.auth import sigv4
from s3core.auth.credentials import User
from s3core.http import Headers, Request

NOW = dt.datetime(2026, 11, 24, 12, 0, 0, tzinfo=dt.timezone.utc)


def signed(
    user: User,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    declared_length: int | None = None,
    payload_hash: str | None = None,
    region: str = "us-east-1",
    now: dt.datetime = NOW,
) -> Request:
    """A request signed by ``user`` at ``now`` with the Authorization header."""
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    fields = {
        "host": "127.0.0.1:9000",
        "x-amz-date": amz_date,
        "x-amz-content-sha256": payload_hash or hashlib.sha256(body).hexdigest(),
        **(headers or {}),
    }
    length = len(body) if declared_length is None else declared_length
    if body or declared_length is not None:
        fields["content-length"] = str(length)
    names = sorted(n for n in fields if n != "content-length")
    header_values = Headers.of(fields)
    canonical = sigv4.canonical_request(
        method, path, query, header_values, names, fields["x-amz-content-sha256"]
    )
    scope = sigv4.credential_scope(amz_date[:8], region)
    key = sigv4.signing_key(user.secret_key, amz_date[:8], region)
    signature = sigv4.signature(key, sigv4.string_to_sign(amz_date, scope, canonical))
    fields["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={user.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return Request(
        method=method,
        path=path,
        query=query,
        headers=Headers.of(fields),
        body=io.BytesIO(body),
    )
