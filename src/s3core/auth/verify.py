"""Authenticate a request: pick its mechanism, and verify SigV4 by header or query.

This module owns the rules S3 applies before it trusts a request: which
authentication mechanism the request uses (SigV4 or SigV2, by ``Authorization``
header or by presigned query; SigV2 is checked by ``verify_v2``), the shape of the
SigV4 ``Authorization`` header and ``X-Amz-*`` query parameters, the clock skew and
expiry windows, and the signature check, each failing with the S3 error, message and
extra error elements S3 sends. The arithmetic lives in ``sigv4``; this module must
not read the body (the payload hash is verified by whoever drains the stream) nor
read the clock (``now`` is passed in).
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from urllib.parse import unquote_plus

from s3core import errors
from s3core.auth import sigv4, verify_v2
from s3core.auth.context import (
    AMZ_DATE_FORMAT,
    HEADER_SCOPE,
    ISO_FORMAT,
    MAX_SKEW,
    QUERY_SCOPE,
    AuthContext,
    Scope,
    check_skew,
    hex_bytes,
    lookup_user,
    parse_amz_date,
    parse_credential,
    request_time,
    utc,
)
from s3core.auth.credentials import CredentialStore, User
from s3core.http import Request, parse_query

__all__ = ["MAX_EXPIRES", "MAX_SKEW", "AuthContext", "authenticate", "is_presigned"]

# ServiceConfig's default virtual-host domain.
_DEFAULT_DOMAIN = "localhost"

MAX_EXPIRES = 604800  # seconds: "a week (in seconds)", the longest presigned URL

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# The values S3 accepts for x-amz-content-sha256 besides a SHA-256 hex digest, in the
# order its InvalidArgument message lists them.
_PAYLOAD_MODES = (
    sigv4.UNSIGNED_PAYLOAD,
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
)
_QUERY_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
_QueryError = errors.AuthorizationQueryParametersError


def is_presigned(request: Request) -> bool:
    """Whether the request carries presigned-URL (query) authentication."""
    params = parse_query(request.query)
    return "X-Amz-Algorithm" in params or verify_v2.is_query_auth(params)


def authenticate(
    request: Request,
    *,
    credentials: CredentialStore,
    region: str,
    now: dt.datetime,
    domain: str | None = None,
) -> AuthContext:
    """Verify the signature of ``request`` and name the user who made it.

    SigV4 (``AWS4-HMAC-SHA256``) and SigV2 (``AWS AKID:signature``) are both
    verified, each by header or by presigned query. The body is not read:
    ``AuthContext.payload_hash`` says what the body must hash to, and the caller
    checks it while streaming.

    Args:
        request: the request, with its raw path and query as sent.
        credentials: where access keys are looked up.
        region: this server's region; SigV4 credential scopes must name it.
        now: the current time (naive values are taken as UTC).
        domain: the virtual-host base domain; SigV2 signs the bucket of a
            ``<bucket>.<domain>`` Host. ``None`` means ``ServiceConfig``'s default,
            ``localhost``.

    Returns:
        The verified ``AuthContext``.

    Raises:
        AccessDenied: no authentication at all; no valid ``x-amz-date``/``Date``; a
            presigned URL expired or not valid yet; SigV2 query parameters
            missing or an ``Expires`` that is not a number.
        AuthorizationHeaderMalformed: a malformed ``Authorization`` header or
            credential scope (wrong region, service, terminator or date).
        AuthorizationQueryParametersError: malformed presigned query parameters.
        InvalidAccessKeyId: the access key is unknown.
        InvalidArgument: an unsupported ``Authorization`` type, header and query
            authentication together, a malformed SigV2 header or a malformed
            ``x-amz-content-sha256``.
        InvalidRequest: SigV4 header authentication without
            ``x-amz-content-sha256``.
        RequestTimeTooSkewed: the request time is over 15 minutes from ``now``.
        SignatureDoesNotMatch: the signature is wrong or ``host`` is not signed.
    """
    now = utc(now)
    domain = _DEFAULT_DOMAIN if domain is None else domain
    params = parse_query(request.query)
    header = request.headers.get("authorization")
    if header is not None:
        if "X-Amz-Algorithm" in params or "Signature" in params:
            raise errors.InvalidArgument(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                "parameter, Signature query string parameter or the Authorization "
                "header should be specified",
                extra={"ArgumentName": "Authorization", "ArgumentValue": header},
            )
        scheme, _, rest = header.strip().partition(" ")
        if scheme == verify_v2.SCHEME:
            return verify_v2.authenticate_header(
                request, rest, credentials=credentials, now=now, domain=domain
            )
        return _authenticate_header(request, header, credentials, region, now)
    if "X-Amz-Algorithm" in params:
        return _authenticate_query(request, params, credentials, region, now)
    if verify_v2.is_query_auth(params):
        return verify_v2.authenticate_query(
            request, params, credentials=credentials, now=now, domain=domain
        )
    raise errors.AccessDenied()


def _authenticate_header(
    request: Request,
    header: str,
    credentials: CredentialStore,
    region: str,
    now: dt.datetime,
) -> AuthContext:
    scheme, _, rest = header.strip().partition(" ")
    if scheme != sigv4.ALGORITHM:
        raise errors.InvalidArgument(
            "Unsupported Authorization Type",
            extra={"ArgumentName": "Authorization", "ArgumentValue": header},
        )
    fields = _authorization_fields(rest)
    scope = parse_credential(fields["Credential"], region, HEADER_SCOPE)
    payload_hash = request.headers.get("x-amz-content-sha256")
    if payload_hash is None:
        raise errors.InvalidRequest(
            "Missing required header for this request: x-amz-content-sha256"
        )
    _check_payload_hash(payload_hash)
    when = request_time(request.headers)
    # With Date (RFC 1123) alone, the string to sign still carries the ISO 8601
    # basic form, as the SDKs sign it.
    amz_date = request.headers.get("x-amz-date") or when.strftime(AMZ_DATE_FORMAT)
    check_skew(request.headers, when, now)
    if scope.date != amz_date[:8]:
        raise HEADER_SCOPE.fail(
            "Invalid credential date. Date is not the same as X-Amz-Date."
        )
    return _verify(
        request,
        user=lookup_user(credentials, scope.access_key),
        scope=scope,
        signed_names=fields["SignedHeaders"].split(";"),
        provided=fields["Signature"],
        amz_date=amz_date,
        payload_hash=payload_hash,
        query=request.query,
        presigned=False,
    )


def _authorization_fields(rest: str) -> dict[str, str]:
    """``Credential``, ``SignedHeaders`` and ``Signature`` of an Authorization value."""
    fields: dict[str, str] = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        name, eq, value = part.partition("=")
        if not eq or name not in ("Credential", "SignedHeaders", "Signature"):
            raise HEADER_SCOPE.fail(
                f'the authorization component "{part}" is malformed.'
            )
        fields[name] = value
    if len(fields) != 3:
        raise HEADER_SCOPE.fail(
            "the authorization header requires three components: Credential, "
            "SignedHeaders, and Signature."
        )
    return fields


def _check_payload_hash(value: str) -> None:
    if value in _PAYLOAD_MODES or _HEX64.fullmatch(value):
        return
    raise errors.InvalidArgument(
        f"x-amz-content-sha256 must be {', '.join(_PAYLOAD_MODES)} "
        "or a valid sha256 value.",
        extra={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value},
    )


def _authenticate_query(
    request: Request,
    params: dict[str, str],
    credentials: CredentialStore,
    region: str,
    now: dt.datetime,
) -> AuthContext:
    if any(name not in params for name in _QUERY_PARAMS):
        raise _QueryError(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters."
        )
    if params["X-Amz-Algorithm"] != sigv4.ALGORITHM:
        raise _QueryError(f'X-Amz-Algorithm only supports "{sigv4.ALGORITHM}"')
    scope = parse_credential(params["X-Amz-Credential"], region, QUERY_SCOPE)
    amz_date = params["X-Amz-Date"]
    when = parse_amz_date(amz_date)
    if when is None:
        raise _QueryError(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    if scope.date != amz_date[:8]:
        raise _QueryError(
            f'Invalid credential date "{scope.date}". This date is not the same as '
            f'X-Amz-Date: "{amz_date[:8]}".'
        )
    expires = _parse_expires(params["X-Amz-Expires"])
    user = lookup_user(credentials, scope.access_key)
    if when - now > MAX_SKEW:
        # A URL dated in the future (beyond the allowed skew) is refused until then.
        raise errors.AccessDenied("Request is not valid yet")
    expiry = when + dt.timedelta(seconds=expires)
    if now > expiry:
        raise errors.AccessDenied(
            "Request has expired",
            extra={
                "X-Amz-Expires": params["X-Amz-Expires"],
                "Expires": expiry.strftime(ISO_FORMAT),
                "ServerTime": now.strftime(ISO_FORMAT),
            },
        )
    # "You don't include a payload hash in the Canonical Request, because when you
    # create a presigned URL, you don't know anything about the payload. Instead, you
    # use a constant string UNSIGNED-PAYLOAD." A client that sends the header anyway
    # signs its value.
    payload_hash = request.headers.get("x-amz-content-sha256")
    if payload_hash is None:
        payload_hash = sigv4.UNSIGNED_PAYLOAD
    else:
        _check_payload_hash(payload_hash)
    return _verify(
        request,
        user=user,
        scope=scope,
        signed_names=params["X-Amz-SignedHeaders"].split(";"),
        provided=params["X-Amz-Signature"],
        amz_date=amz_date,
        payload_hash=payload_hash,
        query=_without_signature(request.query),
        presigned=True,
    )


def _parse_expires(value: str) -> int:
    if not re.fullmatch(r"-?[0-9]+", value):
        raise _QueryError("X-Amz-Expires should be a number")
    seconds = int(value)
    if seconds < 0:
        raise _QueryError("X-Amz-Expires must be non-negative")
    if seconds == 0:
        raise _QueryError("X-Amz-Expires must be greater than 0")
    if seconds > MAX_EXPIRES:
        raise _QueryError(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}"
        )
    return seconds


def _without_signature(query: str) -> str:
    # "The Canonical Query String must include all the query parameters from the
    # preceding table except for X-Amz-Signature."
    return "&".join(
        part
        for part in query.split("&")
        if unquote_plus(part.partition("=")[0]) != "X-Amz-Signature"
    )


def _verify(
    request: Request,
    *,
    user: User,
    scope: Scope,
    signed_names: list[str],
    provided: str,
    amz_date: str,
    payload_hash: str,
    query: str,
    presigned: bool,
) -> AuthContext:
    """Recompute the signature and compare it with the one the client sent."""
    canonical = sigv4.canonical_request(
        request.method, request.path, query, request.headers, signed_names, payload_hash
    )
    to_sign = sigv4.string_to_sign(amz_date, scope.text, canonical)
    key = sigv4.signing_key(user.secret_key, scope.date, scope.region, "s3")
    expected = sigv4.signature(key, to_sign)
    matches = hmac.compare_digest(
        expected.encode(), provided.encode("utf-8", "surrogateescape")
    )
    # "The host header must be included as a signed header." S3 answers an unsigned
    # host with SignatureDoesNotMatch rather than a malformed-header error, so it is
    # refused here even when the arithmetic agrees.
    host_signed = "host" in {name.strip().lower() for name in signed_names}
    if not (matches and host_signed):
        raise errors.SignatureDoesNotMatch(
            extra={
                "AWSAccessKeyId": user.access_key,
                "StringToSign": to_sign,
                "SignatureProvided": provided,
                "StringToSignBytes": hex_bytes(to_sign),
                "CanonicalRequest": canonical,
                "CanonicalRequestBytes": hex_bytes(canonical),
            }
        )
    return AuthContext(
        user=user,
        payload_hash=payload_hash,
        amz_date=amz_date,
        scope=scope.text,
        signing_key=key,
        seed_signature=expected,
        presigned=presigned,
    )
