"""Authenticate a request signed with SigV2, by header or by presigned query.

This module owns S3's rules for the legacy mechanism that boto3 still uses by
default to presign URLs in us-east-1 and that s3cmd offers: the ``Authorization:
AWS AKID:signature`` header with its ``Date``/``x-amz-date`` window, and the
``AWSAccessKeyId``/``Signature``/``Expires`` query parameters with their expiry.
Each failure is the S3 error, message and extra elements S3 sends. SigV2 signs no
payload, so the context it yields says ``UNSIGNED-PAYLOAD``. The arithmetic lives in
``sigv2``; this module must not read the body nor the clock (``now`` is passed in).
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Iterator, Mapping
from urllib.parse import unquote

from s3core import errors
from s3core.auth import sigv2, sigv4
from s3core.auth.context import (
    AMZ_DATE_FORMAT,
    ISO_FORMAT,
    AuthContext,
    check_skew,
    hex_bytes,
    lookup_user,
    request_time,
)
from s3core.auth.credentials import CredentialStore, User
from s3core.http import Request

__all__ = ["SCHEME", "authenticate_header", "authenticate_query", "is_query_auth"]

SCHEME = "AWS"
_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z
_QUERY_MISSING = (
    "Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
    "parameters"
)


def is_query_auth(params: Mapping[str, str]) -> bool:
    """Whether decoded query ``params`` carry SigV2 query authentication."""
    return "AWSAccessKeyId" in params or "Signature" in params


def authenticate_header(
    request: Request,
    credentials_part: str,
    *,
    credentials: CredentialStore,
    now: dt.datetime,
    domain: str,
) -> AuthContext:
    """Verify ``Authorization: AWS AKID:signature``.

    Args:
        request: the request, raw path and query as sent.
        credentials_part: the header value after ``AWS``.
        credentials: where access keys are looked up.
        now: the current time, aware UTC.
        domain: the virtual-host base domain (the bucket of ``<bucket>.<domain>``
            is signed as ``/<bucket>`` in the resource).

    Raises:
        InvalidArgument: the header is not ``AWS AKID:signature``.
        AccessDenied: neither ``x-amz-date`` nor ``Date`` holds a valid date.
        RequestTimeTooSkewed: the request time is over 15 minutes from ``now``.
        InvalidAccessKeyId: the access key is unknown.
        SignatureDoesNotMatch: the signature is wrong.
    """
    access_key, colon, provided = credentials_part.strip().partition(":")
    if not (colon and access_key and provided):
        raise errors.InvalidArgument(
            "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
            extra={
                "ArgumentName": "Authorization",
                "ArgumentValue": request.headers.get("authorization") or "",
            },
        )
    headers = request.headers
    when = request_time(headers, http_date_amz=True)
    check_skew(headers, when, now)
    user = lookup_user(credentials, access_key)
    # "When an x-amz-date header is present in a request, the system will ignore any
    # Date header when computing the request signature. Therefore, if you include
    # the x-amz-date header, use the empty string for the Date when constructing the
    # StringToSign."
    date = "" if "x-amz-date" in headers else headers.get("date") or ""
    to_sign = _string_to_sign(request, date, headers.lower_items(), domain)
    _check(user, to_sign, provided)
    return _context(user, when, provided, presigned=False)


def authenticate_query(
    request: Request,
    params: Mapping[str, str],
    *,
    credentials: CredentialStore,
    now: dt.datetime,
    domain: str,
) -> AuthContext:
    """Verify a SigV2 presigned URL (``AWSAccessKeyId``, ``Signature``, ``Expires``).

    "The Date parameter is replaced with Expires": the string to sign carries the
    ``Expires`` value, seconds since the epoch. ``x-amz-*`` query parameters stand
    for the headers of that name (botocore moves signed ``x-amz-*`` headers into
    the URL), and ``Content-Type``/``Content-MD5`` are the request's headers, so a
    URL signed with a content type must be used with it.

    Args:
        request: the request, raw path and query as sent.
        params: the decoded query parameters, first value of each name.
        credentials: where access keys are looked up.
        now: the current time, aware UTC.
        domain: the virtual-host base domain.

    Raises:
        AccessDenied: a parameter is missing, ``Expires`` is not a number, or the
            URL has expired ("Request has expired", with ``Expires`` and
            ``ServerTime``).
        InvalidAccessKeyId: the access key is unknown.
        SignatureDoesNotMatch: the signature is wrong.
    """
    if any(name not in params for name in ("AWSAccessKeyId", "Signature", "Expires")):
        raise errors.AccessDenied(_QUERY_MISSING)
    expires = params["Expires"]
    if not expires.isdigit() or not expires.isascii():
        raise errors.AccessDenied(
            f"Invalid date (should be seconds since epoch): {expires}"
        )
    user = lookup_user(credentials, params["AWSAccessKeyId"])
    # SigV2 URLs have no longest lifetime: unlike X-Amz-Expires, Expires is an
    # absolute time, and S3 accepts any time in the future (clamped here to the last
    # second a datetime holds).
    expiry = dt.datetime.fromtimestamp(min(int(expires), _LAST_SECOND), dt.timezone.utc)
    if now > expiry:
        raise errors.AccessDenied(
            "Request has expired",
            extra={
                "Expires": expiry.strftime(ISO_FORMAT),
                "ServerTime": now.strftime(ISO_FORMAT),
            },
        )
    provided = _raw_signature(request.query)
    to_sign = _string_to_sign(request, expires, _query_amz_pairs(request), domain)
    _check(user, to_sign, provided)
    return _context(user, expiry, provided, presigned=True)


def _string_to_sign(
    request: Request, date: str, amz_pairs: Iterator[tuple[str, str]], domain: str
) -> str:
    headers = request.headers
    return sigv2.string_to_sign(
        request.method,
        content_md5=headers.get("content-md5") or "",
        content_type=headers.get("content-type") or "",
        date=date,
        amz_headers=sigv2.canonical_amz_headers(amz_pairs),
        resource=sigv2.canonical_resource(
            request.route_path,
            request.query,
            bucket=_host_bucket(request.host, domain),
        ),
    )


def _query_amz_pairs(request: Request) -> Iterator[tuple[str, str]]:
    """The ``x-amz-*`` fields of a presigned request: the query's, else the headers'.

    A value in the URL replaces a header of the same name, so that a client sending
    the header as well does not sign it twice.
    """
    from_query: dict[str, str] = {}
    for part in request.query.split("&"):
        name, _, value = part.partition("=")
        lname = unquote(name.replace("+", " ")).lower()
        if lname.startswith("x-amz-"):
            from_query.setdefault(lname, unquote(value.replace("+", " ")))
    yield from from_query.items()
    for name, value in request.headers.lower_items():
        if name not in from_query:
            yield name, value


def _raw_signature(query: str) -> str:
    """The ``Signature`` parameter, percent-decoded but with ``+`` kept.

    A base64 signature holds ``+``; a client that forgets to escape it means a
    plus, never a space (base64 has no spaces).
    """
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "Signature":
            return unquote(value)
    return ""


def _host_bucket(host: str, domain: str) -> str | None:
    """The bucket a virtual-hosted ``Host`` (``<bucket>.<domain>[:port]``) names."""
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    suffix = "." + domain
    if domain and hostname.endswith(suffix) and len(hostname) > len(suffix):
        return hostname[: -len(suffix)]
    return None


def _check(user: User, to_sign: str, provided: str) -> None:
    expected = sigv2.signature(user.secret_key, to_sign)
    if not hmac.compare_digest(
        expected.encode(), provided.encode("utf-8", "surrogateescape")
    ):
        raise errors.SignatureDoesNotMatch(
            extra={
                "AWSAccessKeyId": user.access_key,
                "StringToSign": to_sign,
                "SignatureProvided": provided,
                "StringToSignBytes": hex_bytes(to_sign),
            }
        )


def _context(
    user: User, when: dt.datetime, provided: str, *, presigned: bool
) -> AuthContext:
    return AuthContext(
        user=user,
        # SigV2 signs no payload: the body passes through unhashed (Content-MD5,
        # when sent, is still checked by the operation).
        payload_hash=sigv4.UNSIGNED_PAYLOAD,
        amz_date=when.strftime(AMZ_DATE_FORMAT),
        scope="",
        signing_key=b"",
        seed_signature=provided,
        presigned=presigned,
        signature_version="2",
    )
