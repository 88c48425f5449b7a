"""Authenticate a request signed with SigV4, by header or by presigned query.

This module owns the rules S3 applies before it trusts a request: which
authentication mechanism the request uses, the shape of the ``Authorization`` header
and the ``X-Amz-*`` query parameters, the credential scope, the clock skew and
expiry windows, and the signature check, each failing with the S3 error, message
and extra error elements S3 sends. The arithmetic lives in ``sigv4``; this module
must not read the body (the payload hash is verified by whoever drains the stream)
nor read the clock (``now`` is passed in).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hmac
import re
from urllib.parse import parse_qsl, unquote_plus

import attrs

from s3core import errors
from s3core.auth import sigv4
from s3core.auth.credentials import CredentialStore, User
from s3core.http import Headers, Request

__all__ = ["MAX_EXPIRES", "MAX_SKEW", "AuthContext", "authenticate", "is_presigned"]

MAX_SKEW = dt.timedelta(minutes=15)
MAX_EXPIRES = 604800  # seconds: "a week (in seconds)", the longest presigned URL

_SERVICE = "s3"
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
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
_SIGV4_ONLY = (
    "The authorization mechanism you have provided is not supported. "
    "Please use AWS4-HMAC-SHA256."
)


@attrs.frozen(kw_only=True)
class AuthContext:
    """What a verified request proved, and what its body decoder needs.

    Attributes:
        user: the user whose key signed the request.
        payload_hash: the ``x-amz-content-sha256`` value as sent (a hex digest,
            ``UNSIGNED-PAYLOAD`` or a ``STREAMING-...`` mode); ``UNSIGNED-PAYLOAD``
            for a presigned URL without that header. Not yet checked against the body.
        amz_date: the request time as ``YYYYMMDDTHHMMSSZ``, as signed.
        scope: the credential scope ``YYYYMMDD/region/s3/aws4_request``.
        signing_key: the derived key, to sign ``aws-chunked`` chunks; never shown.
        seed_signature: the request's signature, the first link of a chunk chain.
        presigned: whether the request was authenticated by query parameters.
    """

    user: User
    payload_hash: str
    amz_date: str
    scope: str
    signing_key: bytes = attrs.field(repr=False)
    seed_signature: str
    presigned: bool = False


@attrs.frozen
class _Flavour:
    """How credential-scope errors read for the header or the query mechanism."""

    error: type[errors.S3Error]
    prefix: str

    def fail(self, detail: str, **extra: str) -> errors.S3Error:
        return self.error(self.prefix + detail, extra=extra)


_HEADER = _Flavour(
    errors.AuthorizationHeaderMalformed, "The authorization header is malformed; "
)
_QUERY = _Flavour(_QueryError, "Error parsing the X-Amz-Credential parameter; ")


@attrs.frozen
class _Scope:
    access_key: str
    date: str
    region: str

    @property
    def text(self) -> str:
        return sigv4.credential_scope(self.date, self.region, _SERVICE)


def is_presigned(request: Request) -> bool:
    """Whether the request carries presigned-URL (query) authentication."""
    return "X-Amz-Algorithm" in _query_params(request.query)


def authenticate(
    request: Request,
    *,
    credentials: CredentialStore,
    region: str,
    now: dt.datetime,
) -> AuthContext:
    """Verify the SigV4 signature of ``request`` and name the user who made it.

    The body is not read: ``AuthContext.payload_hash`` says what the body must hash
    to, and the caller checks it while streaming.

    Args:
        request: the request, with its raw path and query as sent.
        credentials: where access keys are looked up.
        region: this server's region; credential scopes must name it.
        now: the current time (naive values are taken as UTC).

    Returns:
        The verified ``AuthContext``.

    Raises:
        AccessDenied: no authentication at all; no valid ``x-amz-date``/``Date``; a
            presigned URL expired or not valid yet.
        AuthorizationHeaderMalformed: a malformed ``Authorization`` header or
            credential scope (wrong region, service, terminator or date).
        AuthorizationQueryParametersError: malformed presigned query parameters.
        InvalidAccessKeyId: the access key is unknown.
        InvalidArgument: an unsupported ``Authorization`` type, header and query
            authentication together, or a malformed ``x-amz-content-sha256``.
        InvalidRequest: SigV2 authentication; header authentication without
            ``x-amz-content-sha256``.
        RequestTimeTooSkewed: the request time is over 15 minutes from ``now``.
        SignatureDoesNotMatch: the signature is wrong or ``host`` is not signed.
    """
    now = (
        now.replace(tzinfo=dt.timezone.utc) if now.tzinfo is None else now
    ).astimezone(dt.timezone.utc)
    params = _query_params(request.query)
    header = request.headers.get("authorization")
    if header is not None:
        if "X-Amz-Algorithm" in params:
            raise errors.InvalidArgument(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                "parameter, Signature query string parameter or the Authorization "
                "header should be specified",
                extra={"ArgumentName": "Authorization", "ArgumentValue": header},
            )
        return _authenticate_header(request, header, credentials, region, now)
    if "X-Amz-Algorithm" in params:
        return _authenticate_query(request, params, credentials, region, now)
    if "AWSAccessKeyId" in params and "Signature" in params:
        raise errors.InvalidRequest(_SIGV4_ONLY)  # a SigV2 presigned URL
    raise errors.AccessDenied()


def _query_params(query: str) -> dict[str, str]:
    """Decoded query parameters, the first value of each name."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name, value)
    return params


def _authenticate_header(
    request: Request,
    header: str,
    credentials: CredentialStore,
    region: str,
    now: dt.datetime,
) -> AuthContext:
    scheme, _, rest = header.strip().partition(" ")
    if scheme == "AWS":
        # "AWS AKID:signature" is SigV2, which regions opened since 2014 refuse.
        raise errors.InvalidRequest(_SIGV4_ONLY)
    if scheme != sigv4.ALGORITHM:
        raise errors.InvalidArgument(
            "Unsupported Authorization Type",
            extra={"ArgumentName": "Authorization", "ArgumentValue": header},
        )
    fields = _authorization_fields(rest)
    scope = _parse_credential(fields["Credential"], region, _HEADER)
    payload_hash = request.headers.get("x-amz-content-sha256")
    if payload_hash is None:
        raise errors.InvalidRequest(
            "Missing required header for this request: x-amz-content-sha256"
        )
    _check_payload_hash(payload_hash)
    amz_date, when = _header_time(request.headers)
    if abs(when - now) > MAX_SKEW:
        raise errors.RequestTimeTooSkewed(
            extra={
                "RequestTime": request.headers.get("x-amz-date")
                or request.headers.get("date")
                or amz_date,
                "ServerTime": now.strftime(_ISO_FORMAT),
                "MaxAllowedSkewMilliseconds": str(
                    MAX_SKEW // dt.timedelta(milliseconds=1)
                ),
            }
        )
    if scope.date != amz_date[:8]:
        raise _HEADER.fail(
            "Invalid credential date. Date is not the same as X-Amz-Date."
        )
    return _verify(
        request,
        user=_user(credentials, scope.access_key),
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
            raise _HEADER.fail(f'the authorization component "{part}" is malformed.')
        fields[name] = value
    if len(fields) != 3:
        raise _HEADER.fail(
            "the authorization header requires three components: Credential, "
            "SignedHeaders, and Signature."
        )
    return fields


def _parse_credential(credential: str, region: str, flavour: _Flavour) -> _Scope:
    """Split ``AKID/YYYYMMDD/region/s3/aws4_request`` and check it names us."""
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise flavour.fail(
            "the Credential is mal-formed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        )
    access_key, date, scope_region, service, terminator = parts
    if scope_region != region:
        raise flavour.fail(
            f"the region '{scope_region}' is wrong; expecting '{region}'",
            Region=region,
        )
    if service != _SERVICE:
        raise flavour.fail(
            f'incorrect service "{service}". This endpoint belongs to "{_SERVICE}".'
        )
    if terminator != sigv4.TERMINATOR:
        raise flavour.fail(
            f'incorrect terminal "{terminator}". '
            f'This endpoint uses "{sigv4.TERMINATOR}".'
        )
    return _Scope(access_key, date, scope_region)


def _check_payload_hash(value: str) -> None:
    if value in _PAYLOAD_MODES or _HEX64.fullmatch(value):
        return
    raise errors.InvalidArgument(
        f"x-amz-content-sha256 must be {', '.join(_PAYLOAD_MODES)} "
        "or a valid sha256 value.",
        extra={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value},
    )


def _parse_amz_date(value: str) -> dt.datetime | None:
    if not _AMZ_DATE.fullmatch(value):
        return None
    try:
        parsed = dt.datetime.strptime(value, _AMZ_DATE_FORMAT)
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.timezone.utc)


def _header_time(headers: Headers) -> tuple[str, dt.datetime]:
    """The signed timestamp (``YYYYMMDDTHHMMSSZ``) and the time it names.

    ``x-amz-date`` wins over ``Date``; with ``Date`` (RFC 1123) alone, the string to
    sign still carries the ISO 8601 basic form, as the SDKs sign it.
    """
    invalid = errors.AccessDenied(
        "AWS authentication requires a valid Date or x-amz-date header"
    )
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        when = _parse_amz_date(amz_date)
        if when is None:
            raise invalid
        return amz_date, when
    date = headers.get("date")
    if date is None:
        raise invalid
    try:
        when = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise invalid from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    when = when.astimezone(dt.timezone.utc)
    return when.strftime(_AMZ_DATE_FORMAT), when


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
    scope = _parse_credential(params["X-Amz-Credential"], region, _QUERY)
    amz_date = params["X-Amz-Date"]
    when = _parse_amz_date(amz_date)
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
    user = _user(credentials, scope.access_key)
    if when - now > MAX_SKEW:
        # A URL dated in the future (beyond the allowed skew) is refused until then.
        raise errors.AccessDenied("Request is not valid yet")
    expiry = when + dt.timedelta(seconds=expires)
    if now > expiry:
        raise errors.AccessDenied(
            "Request has expired",
            extra={
                "X-Amz-Expires": params["X-Amz-Expires"],
                "Expires": expiry.strftime(_ISO_FORMAT),
                "ServerTime": now.strftime(_ISO_FORMAT),
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


def _user(credentials: CredentialStore, access_key: str) -> User:
    user = credentials.get(access_key)
    if user is None:
        raise errors.InvalidAccessKeyId(extra={"AWSAccessKeyId": access_key})
    return user


def _verify(
    request: Request,
    *,
    user: User,
    scope: _Scope,
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
    key = sigv4.signing_key(user.secret_key, scope.date, scope.region, _SERVICE)
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
                "StringToSignBytes": _hex_bytes(to_sign),
                "CanonicalRequest": canonical,
                "CanonicalRequestBytes": _hex_bytes(canonical),
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


def _hex_bytes(text: str) -> str:
    # S3 shows the bytes it signed as space-separated two-digit hex: "41 57 53 34".
    return " ".join(f"{b:02x}" for b in text.encode("utf-8", "surrogateescape"))
