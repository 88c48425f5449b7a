"""POST policy documents: who signed a browser form, and whether the form obeys it.

This module owns the security of POST Object ("Browser-based uploads using POST"):
the form's signature over its base64 policy (SigV2's ``AWSAccessKeyId``/
``signature`` fields or SigV4's ``x-amz-algorithm``/``x-amz-credential``/
``x-amz-date``/``x-amz-signature``), the policy's ``expiration`` and ``conditions``
(``eq``, ``starts-with``, ``content-length-range`` and the object form
``{"field": "value"}``), and the rule that every form field is named by a condition.
Failures are the S3 errors S3 sends. It must not parse multipart bodies, touch
storage or read the clock (``now`` is passed in); form field names reach it
lower-cased.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

import attrs

from s3core import errors
from s3core.auth import sigv2, sigv4
from s3core.auth.context import (
    QUERY_SCOPE,
    lookup_user,
    parse_amz_date,
    parse_credential,
)
from s3core.auth.credentials import CredentialStore, User

__all__ = [
    "Condition",
    "LengthRange",
    "Policy",
    "authenticate_form",
    "check_conditions",
    "check_length",
    "parse_policy",
]

# "Each form field that you specify in a form (except x-amz-signature, file, policy,
# and field names that have an x-ignore- prefix) must appear in the list of
# conditions." SigV2's AWSAccessKeyId and signature are exempt the same way.
_EXEMPT = frozenset(
    {"awsaccesskeyid", "file", "policy", "signature", "x-amz-signature"}
)
_EXPIRATION = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")
_DENIED = "Invalid according to Policy: "


@attrs.frozen
class Condition:
    """One ``eq`` or ``starts-with`` condition on a form field.

    Attributes:
        operator: ``eq`` or ``starts-with``.
        field: the field name as the policy writes it, without ``$``.
        value: the value (``eq``) or prefix (``starts-with``).
    """

    operator: str
    field: str
    value: str

    def holds(self, fields: Mapping[str, str]) -> bool:
        """Whether the (lower-cased) ``fields`` satisfy this condition.

        A field the form lacks counts as the empty string.
        """
        actual = fields.get(self.field.lower(), "")
        if self.operator == "eq":
            return actual == self.value
        if self.field.lower() == "content-type":
            # "If the value of Content-Type is a comma-separated list, the
            # starts-with condition applies to each value."
            return all(
                part.strip().startswith(self.value) for part in actual.split(",")
            )
        return actual.startswith(self.value)

    def describe(self) -> str:
        """The condition as S3 quotes it: ``["eq", "$key", "a.txt"]``."""
        return json.dumps([self.operator, f"${self.field}", self.value])


@attrs.frozen
class LengthRange:
    """A ``content-length-range``: the file's size must lie within it, inclusive."""

    minimum: int
    maximum: int


@attrs.frozen(kw_only=True)
class Policy:
    """A decoded policy document.

    Attributes:
        expiration: when the policy stops being valid (UTC).
        conditions: the field conditions, in document order.
        length_range: the intersection of its ``content-length-range``
            conditions, if any.
    """

    expiration: dt.datetime
    conditions: tuple[Condition, ...]
    length_range: LengthRange | None


def _invalid(detail: str) -> errors.S3Error:
    return errors.InvalidPolicyDocument(f"Invalid Policy: {detail}")


def parse_policy(encoded: str) -> Policy:
    """Decode the base64 JSON policy of a form's ``policy`` field.

    Raises:
        InvalidPolicyDocument: not base64 JSON, or a missing or malformed
            ``expiration`` or ``conditions``.
    """
    try:
        document = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, RecursionError):
        # ValueError covers bad UTF-8 and bad JSON; RecursionError a document
        # nested deeper than the parser goes.
        raise _invalid("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise _invalid("Invalid JSON.")
    if "expiration" not in document:
        raise _invalid("Policy missing expiration.")
    expiration = document["expiration"]
    when = _expiration(expiration)
    raw_conditions = document.get("conditions")
    if not isinstance(raw_conditions, list):
        raise _invalid("Policy missing conditions.")
    conditions: list[Condition] = []
    length: LengthRange | None = None
    for raw in raw_conditions:
        parsed = _condition(raw)
        if isinstance(parsed, Condition):
            conditions.append(parsed)
        elif length is None:
            length = parsed
        else:
            length = LengthRange(
                max(length.minimum, parsed.minimum),
                min(length.maximum, parsed.maximum),
            )
    return Policy(
        expiration=when,
        conditions=tuple(conditions),
        length_range=length,
    )


def _expiration(value: Any) -> dt.datetime:
    """The ISO 8601 ``expiration`` ("2007-12-01T12:00:00.000Z") as a UTC time."""
    invalid = _invalid(f"Invalid 'expiration' value: '{value}'")
    if not isinstance(value, str) or not _EXPIRATION.fullmatch(value):
        raise invalid
    try:
        when = dt.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise invalid from None
    return when.replace(tzinfo=dt.timezone.utc)


def _condition(raw: Any) -> Condition | LengthRange:
    if isinstance(raw, dict):
        # {"acl": "public-read"} is an exact match on one field.
        if len(raw) != 1:
            raise _invalid(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one "
                "property specified."
            )
        ((name, value),) = raw.items()
        if not isinstance(value, str):
            raise _invalid(
                f"Invalid Simple-Condition: value of {name} must be a string"
            )
        return Condition("eq", name, value)
    if not isinstance(raw, list) or not raw or not isinstance(raw[0], str):
        raise _invalid(f"Invalid Condition: {json.dumps(raw)}")
    operator = raw[0].lower()
    if operator == "content-length-range":
        bounds = [_integer(v) for v in raw[1:]]
        if len(bounds) != 2 or None in bounds:
            raise _invalid(f"Invalid content-length-range: {json.dumps(raw)}")
        low, high = bounds
        assert low is not None and high is not None
        return LengthRange(low, high)
    if operator not in ("eq", "starts-with") or len(raw) != 3:
        raise _invalid(f"Invalid Condition: {json.dumps(raw)}")
    name, value = raw[1], raw[2]
    if not (isinstance(name, str) and name.startswith("$") and isinstance(value, str)):
        raise _invalid(f"Invalid Condition: {json.dumps(raw)}")
    return Condition(operator, name[1:], value)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def check_conditions(
    policy: Policy, fields: Mapping[str, str], *, bucket: str, now: dt.datetime
) -> None:
    """Check the policy's expiration and every condition against the form.

    Args:
        policy: the decoded policy.
        fields: the form fields before the file, names lower-cased, with ``key``
            after ``${filename}`` substitution.
        bucket: the bucket the form was posted to (what ``$bucket`` means).
        now: the current time.

    Raises:
        AccessDenied: "Invalid according to Policy: Policy expired.", "... Policy
            Condition failed: [...]" or "... Extra input fields: ...".
    """
    if now > policy.expiration:
        raise errors.AccessDenied(_DENIED + "Policy expired.")
    values = {**fields, "bucket": bucket}
    for condition in policy.conditions:
        if not condition.holds(values):
            raise errors.AccessDenied(
                f"{_DENIED}Policy Condition failed: {condition.describe()}"
            )
    named = {c.field.lower() for c in policy.conditions}
    extra = [
        name
        for name in fields
        if name not in named
        and name not in _EXEMPT
        and not name.startswith("x-ignore-")
    ]
    if extra:
        raise errors.AccessDenied(f"{_DENIED}Extra input fields: {', '.join(extra)}")


def check_length(policy: Policy, size: int) -> None:
    """Check the file size against ``content-length-range``.

    Raises:
        EntityTooLarge: over the maximum (with ``ProposedSize``, ``MaxSizeAllowed``).
        EntityTooSmall: under the minimum (with ``ProposedSize``,
            ``MinSizeAllowed``).
    """
    bounds = policy.length_range
    if bounds is None:
        return
    if size > bounds.maximum:
        raise errors.EntityTooLarge(
            extra={"ProposedSize": str(size), "MaxSizeAllowed": str(bounds.maximum)}
        )
    if size < bounds.minimum:
        raise errors.EntityTooSmall(
            extra={"ProposedSize": str(size), "MinSizeAllowed": str(bounds.minimum)}
        )


def _missing(name: str) -> errors.S3Error:
    return errors.InvalidArgument(
        f"Bucket POST must contain a field named '{name}'.  If it is specified, "
        "please check the order of the fields.",
        extra={"ArgumentName": name, "ArgumentValue": ""},
    )


def authenticate_form(
    fields: Mapping[str, str], *, credentials: CredentialStore, region: str
) -> tuple[User, Policy]:
    """Verify the form's signature over its policy and decode the policy.

    SigV2: ``signature = Base64(HMAC-SHA1(secret, policy))``. SigV4:
    ``x-amz-signature = Hex(HMAC-SHA256(SigningKey, policy))`` with the signing
    key of the ``x-amz-credential`` scope.

    Args:
        fields: the form fields before the file, names lower-cased.
        credentials: where access keys are looked up.
        region: this server's region; a SigV4 credential scope must name it.

    Raises:
        AccessDenied: the form carries no credentials and no policy (anonymous).
        InvalidArgument: a credential, signature or policy field is missing, or
            the SigV4 algorithm or date is malformed.
        AuthorizationQueryParametersError: a malformed or foreign credential scope.
        InvalidAccessKeyId: the access key is unknown.
        SignatureDoesNotMatch: the signature is wrong.
        InvalidPolicyDocument: the policy does not decode.
    """
    v4 = any(name in fields for name in ("x-amz-credential", "x-amz-signature"))
    v2 = any(name in fields for name in ("awsaccesskeyid", "signature"))
    if not (v4 or v2):
        if "policy" in fields:
            raise _missing("AWSAccessKeyId")
        raise errors.AccessDenied()
    if "policy" not in fields:
        raise _missing("policy")
    encoded = fields["policy"]
    if v4:
        user, expected, provided = _sigv4(fields, credentials, region)
    else:
        for name in ("AWSAccessKeyId", "signature"):
            if name.lower() not in fields:
                raise _missing(name)
        user = lookup_user(credentials, fields["awsaccesskeyid"])
        expected = sigv2.signature(user.secret_key, encoded)
        provided = fields["signature"]
    if not hmac.compare_digest(expected.encode(), provided.encode()):
        raise errors.SignatureDoesNotMatch(
            extra={
                "AWSAccessKeyId": user.access_key,
                "StringToSign": encoded,
                "SignatureProvided": provided,
            }
        )
    return user, parse_policy(encoded)


def _sigv4(
    fields: Mapping[str, str], credentials: CredentialStore, region: str
) -> tuple[User, str, str]:
    """The user, the expected and the provided signature of a SigV4 form."""
    for name in (
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-signature",
    ):
        if name not in fields:
            raise _missing(name)
    if fields["x-amz-algorithm"] != sigv4.ALGORITHM:
        raise errors.InvalidArgument(
            f'X-Amz-Algorithm only supports "{sigv4.ALGORITHM}"',
            extra={
                "ArgumentName": "x-amz-algorithm",
                "ArgumentValue": fields["x-amz-algorithm"],
            },
        )
    scope = parse_credential(fields["x-amz-credential"], region, QUERY_SCOPE)
    amz_date = fields["x-amz-date"]
    if parse_amz_date(amz_date) is None or amz_date[:8] != scope.date:
        raise errors.InvalidArgument(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\" "
            "and name the day of the X-Amz-Credential scope",
            extra={"ArgumentName": "x-amz-date", "ArgumentValue": amz_date},
        )
    user = lookup_user(credentials, scope.access_key)
    key = sigv4.signing_key(user.secret_key, scope.date, scope.region, "s3")
    return user, sigv4.signature(key, fields["policy"]), fields["x-amz-signature"]
