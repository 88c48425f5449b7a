"""Hand-built requests signed by botocore, for what boto3's API cannot send.

Tests use these for raw HTTP cases (bad bodies, odd headers, virtual-hosted Host
headers). botocore's own SigV4 signer signs them, so the server's checks stay real.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from s3core.auth.presign import presign_url
from s3server.server import ServerThread


class _PinnedPayloadAuth(S3SigV4Auth):  # type: ignore[misc]
    """botocore's S3 signer, signing the x-amz-content-sha256 value we choose."""

    def __init__(self, *args: object, payload_hash: str) -> None:
        super().__init__(*args)
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash


def signed_request(
    server: ServerThread,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    host: str | None = None,
    user_index: int = 0,
    payload_hash: str | None = None,
) -> urllib.request.Request:
    """A urllib request to ``server`` signed with SigV4 by botocore.

    ``host`` overrides the Host header (for virtual-hosted style); the connection
    still goes to the server's address. ``payload_hash`` overrides the signed
    x-amz-content-sha256 value (to send a wrong one on purpose).
    """
    user = server.users[user_index]
    host_header = host or f"{server.host}:{server.port}"
    url = f"http://{host_header}{path}"
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    credentials = Credentials(user.access_key, user.secret_key)
    _PinnedPayloadAuth(
        credentials,
        "s3",
        server.region,
        payload_hash=payload_hash or hashlib.sha256(body).hexdigest(),
    ).add_auth(request)
    prepared = request.prepare()
    target = prepared.url.replace(f"http://{host_header}", server.endpoint_url, 1)
    out = urllib.request.Request(
        target, data=body or None, method=method, headers=dict(prepared.headers)
    )
    out.add_header("Host", host_header)
    return out


def presigned_target(server: ServerThread, method: str, bucket: str, key: str) -> str:
    """The path and query of a SigV4 URL presigned now by the server's first user,
    for raw HTTP clients (``Host`` must be the server's ``127.0.0.1:port``)."""
    url = urlsplit(
        presign_url(
            method=method,
            endpoint_url=server.endpoint_url,
            bucket=bucket,
            key=key,
            access_key=server.access_key,
            secret_key=server.secret_key,
            region=server.region,
            now=dt.datetime.now(dt.timezone.utc),
        )
    )
    return f"{url.path}?{url.query}"
