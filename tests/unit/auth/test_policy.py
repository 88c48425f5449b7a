"""POST policies: botocore's presigned posts verify; conditions hold or fail like S3."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from hypothesis import given
from hypothesis import strategies as st

from s3core import errors
from s3core.auth import StaticCredentials, User
from s3core.auth.policy import (
    Condition,
    Policy,
    authenticate_form,
    check_conditions,
    check_length,
    parse_policy,
)

USER = User(
    access_key="AKIDPOST", secret_key="post/secret+key", id="u", display_name="u"
)
CREDENTIALS = StaticCredentials([USER])
BUCKET = "photos"


def _client(signature_version: str | None) -> Any:
    config = Config(signature_version=signature_version) if signature_version else None
    return boto3.session.Session(
        aws_access_key_id=USER.access_key,
        aws_secret_access_key=USER.secret_key,
        region_name="us-east-1",
    ).client("s3", endpoint_url="http://127.0.0.1:9000", config=config)


# boto3's default (no signature_version) presigns posts with SigV2 in us-east-1.
CLIENTS = {"default-v2": _client(None), "s3v4": _client("s3v4")}


def _post(
    version: str,
    key: str = "uploads/a.txt",
    fields: dict[str, str] | None = None,
    conditions: list[Any] | None = None,
    expires: int = 600,
) -> dict[str, str]:
    """The lower-cased form fields botocore tells a browser to send."""
    post = CLIENTS[version].generate_presigned_post(
        BUCKET, key, Fields=fields, Conditions=conditions, ExpiresIn=expires
    )
    return {name.lower(): value for name, value in post["fields"].items()}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _encode(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def _verified(form: dict[str, str]) -> Policy:
    user, policy = authenticate_form(form, credentials=CREDENTIALS, region="us-east-1")
    assert user == USER
    return policy


@pytest.mark.parametrize("version", sorted(CLIENTS))
def test_botocore_presigned_post_verifies_and_passes(version: str) -> None:
    """boto3's generate_presigned_post (default SigV2 and s3v4) verifies and passes."""
    form = _post(
        version,
        fields={"acl": "private", "Content-Type": "image/png"},
        conditions=[
            {"acl": "private"},
            ["starts-with", "$Content-Type", "image/"],
            ["content-length-range", 1, 100],
        ],
    )
    assert ("x-amz-signature" in form) == (version == "s3v4")
    policy = _verified(form)
    check_conditions(policy, form, bucket=BUCKET, now=_now())
    check_length(policy, 100)
    assert policy.expiration > _now()


@given(
    version=st.sampled_from(sorted(CLIENTS)),
    prefix=st.text(max_size=10),
    suffix=st.text(max_size=10),
    meta=st.text(max_size=10),
)
def test_conditions_botocore_writes_hold_for_matching_fields(
    version: str, prefix: str, suffix: str, meta: str
) -> None:
    """eq and starts-with conditions pass for any values that satisfy them."""
    form = _post(
        version,
        key=prefix + "${filename}",
        fields={"x-amz-meta-note": meta},
        conditions=[{"x-amz-meta-note": meta}],
    )
    form["key"] = form["key"].replace("${filename}", suffix)
    check_conditions(_verified(form), form, bucket=BUCKET, now=_now())


@given(value=st.text(min_size=1, max_size=10), other=st.text(max_size=10))
def test_a_field_that_differs_fails_its_condition(value: str, other: str) -> None:
    """A field unlike its eq value: AccessDenied quoting the condition as S3 does."""
    form = _post(
        "s3v4", fields={"x-amz-meta-a": value}, conditions=[{"x-amz-meta-a": value}]
    )
    form["x-amz-meta-a"] = value + other if other else ""
    with pytest.raises(errors.AccessDenied) as info:
        check_conditions(_verified(form), form, bucket=BUCKET, now=_now())
    assert info.value.message == (
        "Invalid according to Policy: Policy Condition failed: "
        + json.dumps(["eq", "$x-amz-meta-a", value])
    )


def test_key_outside_its_prefix_fails() -> None:
    """A key outside starts-with's prefix: AccessDenied naming the condition."""
    form = _post("default-v2", key="uploads/${filename}")
    form["key"] = "elsewhere/a.txt"
    with pytest.raises(errors.AccessDenied) as info:
        check_conditions(_verified(form), form, bucket=BUCKET, now=_now())
    assert info.value.message.endswith('["starts-with", "$key", "uploads/"]')


def test_other_bucket_fails_the_bucket_condition() -> None:
    """A form posted to another bucket than its policy names is refused."""
    form = _post("s3v4")
    with pytest.raises(errors.AccessDenied) as info:
        check_conditions(_verified(form), form, bucket="other", now=_now())
    assert info.value.message.endswith(json.dumps(["eq", "$bucket", BUCKET]))


def test_expired_policy_is_access_denied() -> None:
    """After its expiration: AccessDenied "... Policy expired."."""
    form = _post("default-v2")
    policy = _verified(form)
    with pytest.raises(errors.AccessDenied) as info:
        check_conditions(
            policy, form, bucket=BUCKET, now=policy.expiration + dt.timedelta(seconds=1)
        )
    assert info.value.message == "Invalid according to Policy: Policy expired."


def test_field_without_a_condition_is_extra_input() -> None:
    """A field no condition names: AccessDenied listing it; x-ignore-* is exempt."""
    form = _post("s3v4")
    form["x-ignore-me"] = "fine"
    policy = _verified(form)
    check_conditions(policy, form, bucket=BUCKET, now=_now())
    form["content-type"] = "text/plain"
    with pytest.raises(errors.AccessDenied) as info:
        check_conditions(policy, form, bucket=BUCKET, now=_now())
    assert info.value.message == (
        "Invalid according to Policy: Extra input fields: content-type"
    )


def test_content_type_starts_with_applies_to_each_listed_value() -> None:
    """starts-with on Content-Type holds only if every comma-separated value matches."""
    condition = Condition("starts-with", "Content-Type", "image/")
    assert condition.holds({"content-type": "image/png, image/gif"})
    assert not condition.holds({"content-type": "image/png, text/plain"})
    assert Condition("starts-with", "key", "").holds({})


@pytest.mark.parametrize(
    ("size", "error", "extra"),
    [
        (9, errors.EntityTooSmall, {"ProposedSize": "9", "MinSizeAllowed": "10"}),
        (21, errors.EntityTooLarge, {"ProposedSize": "21", "MaxSizeAllowed": "20"}),
    ],
)
def test_content_length_range_bounds(
    size: int, error: type[errors.S3Error], extra: dict[str, str]
) -> None:
    """Outside content-length-range: EntityTooSmall / EntityTooLarge with sizes."""
    policy = parse_policy(
        _encode(
            {
                "expiration": "2099-01-01T00:00:00.000Z",
                "conditions": [["content-length-range", 10, 20]],
            }
        )
    )
    check_length(policy, 10)
    check_length(policy, 20)
    with pytest.raises(error) as info:
        check_length(policy, size)
    assert (info.value.status, info.value.extra) == (400, extra)


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("not base64!", "Invalid Policy: Invalid JSON."),
        (base64.b64encode(b"[" * 100000).decode(), "Invalid Policy: Invalid JSON."),
        (base64.b64encode(b"{not json").decode(), "Invalid Policy: Invalid JSON."),
        (_encode({"conditions": []}), "Invalid Policy: Policy missing expiration."),
        (
            _encode({"expiration": "tomorrow", "conditions": []}),
            "Invalid Policy: Invalid 'expiration' value: 'tomorrow'",
        ),
        (
            _encode({"expiration": "2099-13-01T00:00:00Z", "conditions": []}),
            "Invalid Policy: Invalid 'expiration' value: '2099-13-01T00:00:00Z'",
        ),
        (
            _encode({"expiration": "2099-01-01T00:00:00Z"}),
            "Invalid Policy: Policy missing conditions.",
        ),
        (
            _encode(
                {
                    "expiration": "2099-01-01T00:00:00Z",
                    "conditions": [{"a": "b", "c": "d"}],
                }
            ),
            "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have "
            "exactly one property specified.",
        ),
        (
            _encode(
                {
                    "expiration": "2099-01-01T00:00:00Z",
                    "conditions": [["in", "$a", "b"]],
                }
            ),
            'Invalid Policy: Invalid Condition: ["in", "$a", "b"]',
        ),
        (
            _encode(
                {
                    "expiration": "2099-01-01T00:00:00Z",
                    "conditions": [["content-length-range", "a", 2]],
                }
            ),
            "Invalid Policy: Invalid content-length-range: "
            '["content-length-range", "a", 2]',
        ),
    ],
)
def test_malformed_policy_is_invalid_policy_document(
    encoded: str, message: str
) -> None:
    """A policy that does not decode: InvalidPolicyDocument 400 saying why."""
    with pytest.raises(errors.InvalidPolicyDocument) as info:
        parse_policy(encoded)
    assert (info.value.status, info.value.message) == (400, message)


@pytest.mark.parametrize("version", sorted(CLIENTS))
def test_tampered_policy_is_signature_does_not_match(version: str) -> None:
    """A policy changed after signing: SignatureDoesNotMatch carrying the policy."""
    form = _post(version)
    form["policy"] = _encode({"expiration": "2099-01-01T00:00:00Z", "conditions": []})
    with pytest.raises(errors.SignatureDoesNotMatch) as info:
        _verified(form)
    assert info.value.extra["StringToSign"] == form["policy"]
    assert info.value.extra["AWSAccessKeyId"] == USER.access_key


@pytest.mark.parametrize("version", sorted(CLIENTS))
def test_unknown_access_key_is_invalid_access_key_id(version: str) -> None:
    """A form signed by a key nobody has: InvalidAccessKeyId."""
    form = _post(version)
    with pytest.raises(errors.InvalidAccessKeyId):
        authenticate_form(form, credentials=StaticCredentials([]), region="us-east-1")


@pytest.mark.parametrize(
    ("version", "field", "named"),
    [
        ("default-v2", "signature", "signature"),
        ("default-v2", "policy", "policy"),
        ("s3v4", "x-amz-date", "x-amz-date"),
        ("s3v4", "x-amz-algorithm", "x-amz-algorithm"),
    ],
)
def test_missing_field_is_invalid_argument(
    version: str, field: str, named: str
) -> None:
    """A credential or policy field left out: InvalidArgument naming the field."""
    form = _post(version)
    del form[field]
    with pytest.raises(errors.InvalidArgument) as info:
        _verified(form)
    assert info.value.extra == {"ArgumentName": named, "ArgumentValue": ""}
    assert info.value.message.startswith(
        f"Bucket POST must contain a field named '{named}'"
    )


def test_form_without_credentials_is_anonymous_and_denied() -> None:
    """No credentials and no policy: an anonymous upload, AccessDenied."""
    with pytest.raises(errors.AccessDenied):
        _verified({"key": "k"})


def test_foreign_region_credential_is_refused() -> None:
    """A SigV4 form scoped to another region: AuthorizationQueryParametersError."""
    form = _post("s3v4")
    with pytest.raises(errors.AuthorizationQueryParametersError) as info:
        authenticate_form(form, credentials=CREDENTIALS, region="eu-west-1")
    assert info.value.extra == {"Region": "eu-west-1"}
