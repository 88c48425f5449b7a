"""What a verified request proved, and the checks every signature version shares.

This module owns ``AuthContext`` (the outcome of authentication, handed to the body
decoders), the access-key lookup, the request-time rules (``x-amz-date`` or ``Date``
within 15 minutes of the server's clock), the parsing of a SigV4 credential scope, and
the hex dump S3 puts in ``SignatureDoesNotMatch`` bodies. SigV4 (``verify``), SigV2
(``verify_v2``) and POST policies (``policy``) all use it. It must not read the body,
the clock (``now`` is passed in) or any signature arithmetic.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

import attrs

from s3core import errors
from s3core.auth import sigv4
from s3core.auth.credentials import CredentialStore, User
from s3core.http import Headers

__all__ = [
    "AMZ_DATE_FORMAT",
    "HEADER_SCOPE",
    "ISO_FORMAT",
    "MAX_SKEW",
    "QUERY_SCOPE",
    "AuthContext",
    "Scope",
    "ScopeErrors",
    "check_skew",
    "hex_bytes",
    "lookup_user",
    "parse_amz_date",
    "parse_credential",
    "request_time",
    "utc",
]

MAX_SKEW = dt.timedelta(minutes=15)
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SERVICE = "s3"
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")


@attrs.frozen(kw_only=True)
class AuthContext:
    """What a verified request proved, and what its body decoder needs.

    Attributes:
        user: the user whose key signed the request.
        payload_hash: the ``x-amz-content-sha256`` value as sent (a hex digest,
            ``UNSIGNED-PAYLOAD`` or a ``STREAMING-...`` mode); ``UNSIGNED-PAYLOAD``
            for a presigned URL without that header and for every SigV2 request
            (SigV2 signs no payload). Not yet checked against the body.
        amz_date: the request time as ``YYYYMMDDTHHMMSSZ``, as signed (for a SigV2
            presigned URL, its expiry time).
        scope: the credential scope ``YYYYMMDD/region/s3/aws4_request`` (empty for
            SigV2, which has none).
        signing_key: the derived key, to sign ``aws-chunked`` chunks; never shown
            (empty for SigV2).
        seed_signature: the request's signature, the first link of a chunk chain.
        presigned: whether the request was authenticated by query parameters.
        signature_version: ``"4"`` or ``"2"``.
    """

    user: User
    payload_hash: str
    amz_date: str
    scope: str
    signing_key: bytes = attrs.field(repr=False)
    seed_signature: str
    presigned: bool = False
    signature_version: str = "4"


@attrs.frozen
class ScopeErrors:
    """How credential-scope errors read for one mechanism (header, query, form)."""

    error: type[errors.S3Error]
    prefix: str

    def fail(self, detail: str, **extra: str) -> errors.S3Error:
        """The error for ``detail``, with ``extra`` elements."""
        return self.error(self.prefix + detail, extra=extra)


HEADER_SCOPE = ScopeErrors(
    errors.AuthorizationHeaderMalformed, "The authorization header is malformed; "
)
QUERY_SCOPE = ScopeErrors(
    errors.AuthorizationQueryParametersError,
    "Error parsing the X-Amz-Credential parameter; ",
)


@attrs.frozen
class Scope:
    """A parsed SigV4 credential: ``AKID/YYYYMMDD/region/s3/aws4_request``."""

    access_key: str
    date: str
    region: str

    @property
    def text(self) -> str:
        """The credential scope without the access key."""
        return sigv4.credential_scope(self.date, self.region, SERVICE)


def utc(now: dt.datetime) -> dt.datetime:
    """``now`` as an aware UTC time (naive values are taken as UTC)."""
    aware = now.replace(tzinfo=dt.timezone.utc) if now.tzinfo is None else now
    return aware.astimezone(dt.timezone.utc)


def parse_credential(credential: str, region: str, flavour: ScopeErrors) -> Scope:
    """Split ``AKID/YYYYMMDD/region/s3/aws4_request`` and check it names us.

    Raises:
        AuthorizationHeaderMalformed, AuthorizationQueryParametersError (as
        ``flavour`` says): a malformed scope, another region, service or
        terminator.
    """
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
    if service != SERVICE:
        raise flavour.fail(
            f'incorrect service "{service}". This endpoint belongs to "{SERVICE}".'
        )
    if terminator != sigv4.TERMINATOR:
        raise flavour.fail(
            f'incorrect terminal "{terminator}". '
            f'This endpoint uses "{sigv4.TERMINATOR}".'
        )
    return Scope(access_key, date, scope_region)


def parse_amz_date(value: str) -> dt.datetime | None:
    """The time an ISO 8601 basic ``YYYYMMDDTHHMMSSZ`` names, or ``None``."""
    if not _AMZ_DATE.fullmatch(value):
        return None
    # Sliced, not strptime: this runs on every request, and strptime's locale-aware
    # machinery was 2-4 % of a small request's CPU.
    try:
        return dt.datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=dt.timezone.utc,
        )
    except ValueError:  # month 13, February 30, second 60...
        return None


def _parse_http_date(value: str) -> dt.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc)


def request_time(headers: Headers, *, http_date_amz: bool = False) -> dt.datetime:
    """The time a header-signed request was made: ``x-amz-date``, else ``Date``.

    Args:
        headers: the request headers.
        http_date_amz: whether ``x-amz-date`` may be an RFC 1123 date too (SigV2
            clients send it so; SigV4 requires the ISO 8601 basic form).

    Raises:
        AccessDenied: neither header holds a valid date.
    """
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        when = parse_amz_date(amz_date)
        if when is None and http_date_amz:
            when = _parse_http_date(amz_date)
    else:
        date = headers.get("date")
        when = None if date is None else _parse_http_date(date)
    if when is None:
        raise errors.AccessDenied(
            "AWS authentication requires a valid Date or x-amz-date header"
        )
    return when


def check_skew(headers: Headers, when: dt.datetime, now: dt.datetime) -> None:
    """Refuse a request time over 15 minutes away from ``now``.

    Raises:
        RequestTimeTooSkewed: with ``RequestTime``, ``ServerTime`` and
            ``MaxAllowedSkewMilliseconds`` as S3 sends them.
    """
    if abs(when - now) <= MAX_SKEW:
        return
    raise errors.RequestTimeTooSkewed(
        extra={
            "RequestTime": headers.get("x-amz-date")
            or headers.get("date")
            or when.strftime(AMZ_DATE_FORMAT),
            "ServerTime": now.strftime(ISO_FORMAT),
            "MaxAllowedSkewMilliseconds": str(MAX_SKEW // dt.timedelta(milliseconds=1)),
        }
    )


def lookup_user(credentials: CredentialStore, access_key: str) -> User:
    """The user owning ``access_key``.

    Raises:
        InvalidAccessKeyId: nobody has that key.
    """
    user = credentials.get(access_key)
    if user is None:
        raise errors.InvalidAccessKeyId(extra={"AWSAccessKeyId": access_key})
    return user


def hex_bytes(text: str) -> str:
    """The bytes of ``text`` as S3 shows them: space-separated two-digit hex."""
    return " ".join(f"{b:02x}" for b in text.encode("utf-8", "surrogateescape"))
