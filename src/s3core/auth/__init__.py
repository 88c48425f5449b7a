"""SigV4 authentication: signing arithmetic, request verification, presigned URLs.

This package owns everything about proving who sent a request: the SigV4 steps
(``sigv4``), the users and their keys (``credentials``), checking a signed request
(``verify``) and making presigned URLs (``presign``), the last two through the same
signer. It must not route requests or touch storage.
"""

from __future__ import annotations

from s3core.auth.credentials import CredentialStore, StaticCredentials, User
from s3core.auth.presign import presign_url
from s3core.auth.verify import AuthContext, authenticate, is_presigned

__all__ = [
    "AuthContext",
    "CredentialStore",
    "StaticCredentials",
    "User",
    "authenticate",
    "is_presigned",
    "presign_url",
]
