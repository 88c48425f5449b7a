"""Authentication: SigV4 and SigV2 signing arithmetic, verification, presigned URLs.

This package owns everything about proving who sent a request: the SigV4 steps
(``sigv4``) and SigV2's (``sigv2``), the users and their keys (``credentials``),
checking a signed request by header or presigned query (``verify``, with SigV2 in
``verify_v2`` and the rules both share in ``context``), browser-form policies
(``policy``) and making presigned URLs (``presign``), which signs with the very
functions ``verify`` checks with. It must not route requests or touch storage.
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
