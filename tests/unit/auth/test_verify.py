"""``authenticate`` accepts what botocore signs, refuses any change, errs like S3."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from unittest import mock

import attrs
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from s3core import errors
from s3core.auth import (
    AuthContext,
    StaticCredentials,
    User,
    authenticate,
    is_presigned,
    sigv4,
)
from s3core.http import Headers, Request
from tests.strategies import auth as sa

USER = User(
    access_key=sa.ACCESS_KEY, secret_key=sa.SECRET_KEY, id="c0ffee", display_name="me"
)
CREDENTIALS = StaticCredentials([USER])
NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
AMZ_NOW = "20260101T120000Z"
SCOPE = f"{sa.ACCESS_KEY}/20260101/us-east-1/s3/aws4_request"

DOC_USER = User(
    access_key="AKIAIOSFODNN7EXAMPLE",
    secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    id="doc",
    display_name="doc",
)
DOC_NOW = dt.datetime(2013, 5, 24, tzinfo=dt.timezone.utc)
DOC_CREDENTIAL = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"


def _auth(
    request: Request,
    now: dt.datetime = NOW,
    credentials: StaticCredentials = CREDENTIALS,
) -> AuthContext:
    return authenticate(request, credentials=credentials, region=sa.REGION, now=now)


def _header_request(
    authorization: str | None = None,
    *,
    extra: list[tuple[str, str]] | None = None,
    omit: tuple[str, ...] = (),
    query: str = "",
) -> Request:
    """A GET with the usual signed headers; the signature itself is not valid."""
    if authorization is None:
        authorization = (
            f"AWS4-HMAC-SHA256 Credential={SCOPE}, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + "0" * 64
        )
    fields = [
        ("Host", "127.0.0.1:9000"),
        ("Authorization", authorization),
        ("x-amz-date", AMZ_NOW),
        ("x-amz-content-sha256", sigv4.EMPTY_SHA256),
    ]
    kept = [(k, v) for k, v in fields if k.lower() not in omit] + (extra or [])
    return Request(method="GET", path="/b/k", query=query, headers=Headers.of(kept))


def _presigned(**overrides: str | None) -> Request:
    """A presigned GET with every parameter, some replaced or (None) removed."""
    params: dict[str, str | None] = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": SCOPE.replace("/", "%2F"),
        "X-Amz-Date": AMZ_NOW,
        "X-Amz-Expires": "3600",
        "X-Amz-SignedHeaders": "host",
        "X-Amz-Signature": "0" * 64,
    }
    params.update({k.replace("_", "-"): v for k, v in overrides.items()})
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    return Request(
        method="GET",
        path="/b/k",
        query=query,
        headers=Headers.of({"Host": "127.0.0.1:9000"}),
    )


def _raises(
    error: type[errors.S3Error], request: Request, now: dt.datetime = NOW
) -> errors.S3Error:
    with pytest.raises(error) as info:
        _auth(request, now)
    return info.value


# --- botocore as the oracle -------------------------------------------------------


@given(sa.header_signed_requests())
def test_accepts_any_request_botocore_signs(signed: sa.SignedRequest) -> None:
    """A header-signed botocore request authenticates, with its payload hash."""
    context = _auth(signed.request, signed.now)
    assert context.user == USER
    assert context.payload_hash == signed.payload_hash
    assert context.seed_signature == signed.signature
    assert context.amz_date == signed.string_to_sign.split("\n")[1]
    assert context.scope == signed.string_to_sign.split("\n")[2]
    assert not context.presigned


@given(sa.presigned_requests())
def test_accepts_any_url_botocore_presigns(signed: sa.SignedRequest) -> None:
    """A botocore presigned request authenticates with UNSIGNED-PAYLOAD."""
    context = _auth(signed.request, signed.now)
    assert context.user == USER
    assert context.payload_hash == "UNSIGNED-PAYLOAD"
    assert context.seed_signature == signed.signature
    assert context.presigned
    assert is_presigned(signed.request)


def _other_method(r: Request) -> Request:
    return attrs.evolve(r, method="DELETE" if r.method != "DELETE" else "PUT")


def _longer_path(r: Request) -> Request:
    return attrs.evolve(r, path=r.path + "x")


def _extra_param(r: Request) -> Request:
    return attrs.evolve(r, query=f"{r.query}&extra=1" if r.query else "extra=1")


def _changed_header(r: Request, name: str) -> Request:
    items = list(r.headers.items)
    for i, (k, v) in enumerate(items):
        if k.lower() == name:
            items[i] = (k, v + "x")
            break
    return attrs.evolve(r, headers=Headers(tuple(items)))


_MUTATIONS: dict[str, Callable[[Request], Request]] = {
    "method": _other_method,
    "path": _longer_path,
    "query": _extra_param,
}


@given(
    st.one_of(sa.header_signed_requests(), sa.presigned_requests()),
    st.sampled_from(sorted(_MUTATIONS)),
)
def test_any_change_to_method_path_or_query_breaks_the_signature(
    signed: sa.SignedRequest, mutation: str
) -> None:
    """Changing the method, the path or the query makes SignatureDoesNotMatch."""
    with pytest.raises(errors.SignatureDoesNotMatch):
        _auth(_MUTATIONS[mutation](signed.request), signed.now)


@given(st.one_of(sa.header_signed_requests(), sa.presigned_requests()), st.data())
def test_any_change_to_a_signed_header_breaks_the_signature(
    signed: sa.SignedRequest, data: st.DataObject
) -> None:
    """Appending to the value of any signed header makes SignatureDoesNotMatch."""
    name = data.draw(st.sampled_from(signed.signed_headers))
    changed = _changed_header(signed.request, name)
    # A changed x-amz-date or x-amz-content-sha256 may fail its own check first.
    with pytest.raises(
        (errors.SignatureDoesNotMatch, errors.AccessDenied, errors.InvalidArgument)
    ) as info:
        _auth(changed, signed.now)
    if name not in ("x-amz-date", "x-amz-content-sha256"):
        assert isinstance(info.value, errors.SignatureDoesNotMatch)


@given(st.one_of(sa.header_signed_requests(), sa.presigned_requests()))
def test_another_secret_breaks_the_signature(signed: sa.SignedRequest) -> None:
    """The same access key with another secret makes SignatureDoesNotMatch."""
    impostor = StaticCredentials([attrs.evolve(USER, secret_key="not-the-secret")])
    with pytest.raises(errors.SignatureDoesNotMatch):
        _auth(signed.request, signed.now, impostor)


@given(st.one_of(sa.header_signed_requests(), sa.presigned_requests()))
def test_unsigned_extra_header_does_not_matter(signed: sa.SignedRequest) -> None:
    """A header that is not listed in SignedHeaders may be added freely."""
    headers = Headers((*signed.request.headers.items, ("User-Agent", "curl/8")))
    assert _auth(attrs.evolve(signed.request, headers=headers), signed.now)


@given(sa.header_signed_requests())
def test_path_escaping_style_does_not_matter(signed: sa.SignedRequest) -> None:
    """Lower-case hex in the path's escapes still verifies (decode, re-encode)."""
    path = signed.request.path
    lowered = "%".join(
        part[:2].lower() + part[2:] if i else part
        for i, part in enumerate(path.split("%"))
    )
    assert _auth(attrs.evolve(signed.request, path=lowered), signed.now)


def test_accepts_botocore_request_dated_by_date_header() -> None:
    """With a Date header and no x-amz-date, botocore's signature still verifies."""
    request = AWSRequest(
        method="GET", url="http://127.0.0.1:9000/b/k", headers={"Date": "x"}
    )
    auth = S3SigV4Auth(Credentials(sa.ACCESS_KEY, sa.SECRET_KEY), "s3", sa.REGION)
    fixed = NOW.replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
        auth.add_auth(request)  # rewrites Date as RFC 1123 and signs it
    assert "X-Amz-Date" not in request.headers
    incoming = sa.wire_request(
        "GET", request.url, list(request.headers.items()), "127.0.0.1:9000"
    )
    assert _auth(incoming).amz_date == AMZ_NOW


# --- the AWS documentation's worked examples ---------------------------------------


def _doc(
    method: str,
    path: str,
    signed: str,
    signature: str,
    fields: list[tuple[str, str]],
    query: str = "",
) -> AuthContext:
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={DOC_CREDENTIAL},SignedHeaders={signed},"
        f"Signature={signature}"
    )
    request = Request(
        method=method,
        path=path,
        query=query,
        headers=Headers.of([*fields, ("Authorization", authorization)]),
    )
    return authenticate(
        request,
        credentials=StaticCredentials([DOC_USER]),
        region="us-east-1",
        now=DOC_NOW,
    )


def test_aws_example_get_object() -> None:
    """The documented GET Object example (Range header) verifies."""
    context = _doc(
        "GET",
        "/test.txt",
        "host;range;x-amz-content-sha256;x-amz-date",
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        [
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", sigv4.EMPTY_SHA256),
        ],
    )
    assert context.user == DOC_USER


def test_aws_example_put_object() -> None:
    """The documented PUT Object example ($ in the key, Date signed too) verifies."""
    body_hash = hashlib.sha256(b"Welcome to Amazon S3.").hexdigest()
    context = _doc(
        "PUT",
        "/test%24file.text",
        "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        [
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", body_hash),
        ],
    )
    assert context.payload_hash == body_hash


@pytest.mark.parametrize(
    ("query", "signature"),
    [
        (
            "lifecycle",
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        ),
        (
            "max-keys=2&prefix=J",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        ),
    ],
)
def test_aws_examples_with_query(query: str, signature: str) -> None:
    """The documented lifecycle (bare sub-resource) and list examples verify."""
    fields = [
        ("Host", "examplebucket.s3.amazonaws.com"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-content-sha256", sigv4.EMPTY_SHA256),
    ]
    signed = "host;x-amz-content-sha256;x-amz-date"
    assert _doc("GET", "/", signed, signature, fields, query).user == DOC_USER


def test_aws_example_chunked_seed() -> None:
    """The documented aws-chunked PUT verifies and hands back its seed signature."""
    context = _doc(
        "PUT",
        "/examplebucket/chunkObject.txt",
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class",
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        [
            ("Host", "s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("Content-Length", "66824"),
        ],
    )
    assert context.payload_hash == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    assert context.seed_signature.startswith("4f232c43")
    assert context.signing_key == sigv4.signing_key(
        DOC_USER.secret_key, "20130524", "us-east-1", "s3"
    )


def test_aws_example_presigned_url() -> None:
    """The documented presigned GET (86400 s) verifies within its lifetime."""
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
        "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&"
        "X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    request = Request(
        method="GET",
        path="/test.txt",
        query=query,
        headers=Headers.of({"Host": "examplebucket.s3.amazonaws.com"}),
    )
    context = authenticate(
        request,
        credentials=StaticCredentials([DOC_USER]),
        region="us-east-1",
        now=DOC_NOW + dt.timedelta(hours=23),
    )
    assert context.presigned


def test_secrets_stay_out_of_reprs() -> None:
    """Neither a User nor an AuthContext repr shows the secret or signing key."""
    context = AuthContext(
        user=USER,
        payload_hash="UNSIGNED-PAYLOAD",
        amz_date=AMZ_NOW,
        scope="s",
        signing_key=b"\x01" * 32,
        seed_signature="sig",
    )
    text = repr(context) + repr(CREDENTIALS)
    assert sa.SECRET_KEY not in text
    assert "signing_key" not in text


# --- errors, as S3 sends them ------------------------------------------------------


def test_anonymous_request_is_access_denied() -> None:
    """No Authorization header and no X-Amz-Algorithm: AccessDenied 403."""
    error = _raises(errors.AccessDenied, _header_request(omit=("authorization",)))
    assert (error.code, error.status) == ("AccessDenied", 403)
    assert not is_presigned(_header_request())


def test_unknown_authorization_type_is_invalid_argument() -> None:
    """Another scheme (say Bearer): InvalidArgument naming the Authorization header."""
    error = _raises(errors.InvalidArgument, _header_request("Bearer abc"))
    assert error.status == 400
    assert error.message == "Unsupported Authorization Type"
    assert error.extra == {
        "ArgumentName": "Authorization",
        "ArgumentValue": "Bearer abc",
    }


def test_header_and_query_auth_together_is_invalid_argument() -> None:
    """Authorization header plus X-Amz-Algorithm: only one mechanism is allowed."""
    request = _header_request(query="X-Amz-Algorithm=AWS4-HMAC-SHA256")
    error = _raises(errors.InvalidArgument, request)
    assert error.message.startswith("Only one auth mechanism allowed")
    assert error.extra["ArgumentName"] == "Authorization"


@pytest.mark.parametrize("request_", [_header_request(), _presigned()])
def test_unknown_access_key_is_invalid_access_key_id(request_: Request) -> None:
    """An access key nobody has: InvalidAccessKeyId 403 with AWSAccessKeyId."""
    nobody = StaticCredentials([])
    with pytest.raises(errors.InvalidAccessKeyId) as info:
        _auth(request_, credentials=nobody)
    assert info.value.status == 403
    assert info.value.extra == {"AWSAccessKeyId": sa.ACCESS_KEY}


@pytest.mark.parametrize("request_", [_header_request(), _presigned()])
def test_wrong_signature_lists_what_was_signed_in_s3_order(request_: Request) -> None:
    """SignatureDoesNotMatch 403 carries the six S3 elements, bytes as spaced hex."""
    error = _raises(errors.SignatureDoesNotMatch, request_)
    assert error.status == 403
    assert list(error.extra) == [
        "AWSAccessKeyId",
        "StringToSign",
        "SignatureProvided",
        "StringToSignBytes",
        "CanonicalRequest",
        "CanonicalRequestBytes",
    ]
    assert error.extra["AWSAccessKeyId"] == sa.ACCESS_KEY
    assert error.extra["SignatureProvided"] == "0" * 64
    assert error.extra["StringToSign"].startswith(f"AWS4-HMAC-SHA256\n{AMZ_NOW}\n")
    for text, spaced in [
        ("StringToSign", "StringToSignBytes"),
        ("CanonicalRequest", "CanonicalRequestBytes"),
    ]:
        assert bytes.fromhex(error.extra[spaced]) == error.extra[text].encode()
    assert error.extra["StringToSignBytes"].startswith("41 57 53 34 2d")


def _sign_ours(request: Request, signed: str) -> Request:
    """``request`` with a correct Authorization header over ``signed`` headers."""
    names = signed.split(";")
    canonical = sigv4.canonical_request(
        request.method,
        request.path,
        request.query,
        request.headers,
        names,
        sigv4.EMPTY_SHA256,
    )
    scope = sigv4.credential_scope("20260101", sa.REGION)
    key = sigv4.signing_key(sa.SECRET_KEY, "20260101", sa.REGION)
    sig = sigv4.signature(key, sigv4.string_to_sign(AMZ_NOW, scope, canonical))
    value = (
        f"AWS4-HMAC-SHA256 Credential={SCOPE},SignedHeaders={signed},Signature={sig}"
    )
    return _header_request(value)


def test_own_signature_is_accepted() -> None:
    """The example request, correctly signed by our own steps, authenticates."""
    assert _auth(_sign_ours(_header_request(), "host;x-amz-content-sha256;x-amz-date"))


def test_host_must_be_signed() -> None:
    """A correct signature that leaves out host still fails: SignatureDoesNotMatch."""
    request = _sign_ours(_header_request(), "x-amz-content-sha256;x-amz-date")
    _raises(errors.SignatureDoesNotMatch, request)


_MALFORMED = "The authorization header is malformed; "


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (
            f"AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders=host",
            _MALFORMED + "the authorization header requires three components: "
            "Credential, SignedHeaders, and Signature.",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders=host, Sig=0, "
            "Signature=0",
            _MALFORMED + 'the authorization component "Sig=0" is malformed.',
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3, "
            "SignedHeaders=host, Signature=0",
            _MALFORMED + "the Credential is mal-formed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/ec2/aws4_request, "
            "SignedHeaders=host, Signature=0",
            _MALFORMED + 'incorrect service "ec2". This endpoint belongs to "s3".',
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4, "
            "SignedHeaders=host, Signature=0",
            _MALFORMED
            + 'incorrect terminal "aws4". This endpoint uses "aws4_request".',
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AK/20251231/us-east-1/s3/aws4_request, "
            "SignedHeaders=host, Signature=0",
            _MALFORMED + "Invalid credential date. Date is not the same as X-Amz-Date.",
        ),
    ],
    ids=["missing-part", "bad-part", "short-credential", "service", "terminal", "date"],
)
def test_malformed_authorization_header(authorization: str, message: str) -> None:
    """Each malformation: AuthorizationHeaderMalformed 400 with S3's message."""
    error = _raises(errors.AuthorizationHeaderMalformed, _header_request(authorization))
    assert error.status == 400
    assert error.message == message


def test_wrong_region_in_header_names_the_right_one() -> None:
    """A scope for another region: malformed header, message and Region element."""
    value = (
        "AWS4-HMAC-SHA256 Credential=AK/20260101/eu-west-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )
    error = _raises(errors.AuthorizationHeaderMalformed, _header_request(value))
    assert error.message == (
        "The authorization header is malformed; the region 'eu-west-1' is wrong; "
        "expecting 'us-east-1'"
    )
    assert error.extra == {"Region": "us-east-1"}


@pytest.mark.parametrize(
    "request_",
    [
        _header_request(omit=("x-amz-date",)),
        _header_request(omit=("x-amz-date",), extra=[("Date", "yesterday")]),
        _header_request(omit=("x-amz-date",), extra=[("x-amz-date", "2026-01-01")]),
        _header_request(
            omit=("x-amz-date",), extra=[("x-amz-date", "20261301T000000Z")]
        ),
    ],
    ids=["none", "bad-date", "bad-amz-date", "no-month-13"],
)
def test_missing_or_invalid_request_time_is_access_denied(request_: Request) -> None:
    """No valid x-amz-date or Date: AccessDenied 403 asking for one."""
    error = _raises(errors.AccessDenied, request_)
    assert error.message == (
        "AWS authentication requires a valid Date or x-amz-date header"
    )


@pytest.mark.parametrize("minutes", [-16, 16])
def test_skewed_request_time(minutes: int) -> None:
    """Over 15 minutes either way: RequestTimeTooSkewed 403 with S3's elements."""
    now = NOW + dt.timedelta(minutes=minutes)
    error = _raises(errors.RequestTimeTooSkewed, _header_request(), now)
    assert error.status == 403
    assert error.extra == {
        "RequestTime": AMZ_NOW,
        "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "MaxAllowedSkewMilliseconds": "900000",
    }


def test_skew_of_fifteen_minutes_is_allowed() -> None:
    """Exactly 15 minutes off is still within S3's window (only the signature fails)."""
    _raises(
        errors.SignatureDoesNotMatch, _header_request(), NOW + dt.timedelta(minutes=15)
    )


def test_missing_content_sha256_is_invalid_request() -> None:
    """Header auth without x-amz-content-sha256: InvalidRequest 400."""
    error = _raises(
        errors.InvalidRequest, _header_request(omit=("x-amz-content-sha256",))
    )
    assert error.message == (
        "Missing required header for this request: x-amz-content-sha256"
    )


def test_malformed_content_sha256_is_invalid_argument() -> None:
    """A value neither hex SHA-256 nor a known mode: InvalidArgument naming it."""
    request = _header_request(
        omit=("x-amz-content-sha256",), extra=[("x-amz-content-sha256", "abc")]
    )
    error = _raises(errors.InvalidArgument, request)
    assert error.extra == {
        "ArgumentName": "x-amz-content-sha256",
        "ArgumentValue": "abc",
    }


_QUERY_MALFORMED = "Error parsing the X-Amz-Credential parameter; "


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"X_Amz_Expires": None},
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters.",
        ),
        (
            {"X_Amz_Algorithm": "AWS4-HMAC-SHA1"},
            'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
        ),
        (
            {"X_Amz_Credential": "AK%2F20260101"},
            _QUERY_MALFORMED + "the Credential is mal-formed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        ),
        (
            {"X_Amz_Credential": "AK%2F20260101%2Fus-east-1%2Fiam%2Faws4_request"},
            _QUERY_MALFORMED
            + 'incorrect service "iam". This endpoint belongs to "s3".',
        ),
        (
            {"X_Amz_Date": "20260101"},
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        ),
        (
            {"X_Amz_Date": "20260102T000000Z"},
            'Invalid credential date "20260101". This date is not the same as '
            'X-Amz-Date: "20260102".',
        ),
        ({"X_Amz_Expires": "soon"}, "X-Amz-Expires should be a number"),
        ({"X_Amz_Expires": "-1"}, "X-Amz-Expires must be non-negative"),
        ({"X_Amz_Expires": "0"}, "X-Amz-Expires must be greater than 0"),
        (
            {"X_Amz_Expires": "604801"},
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ),
    ],
    ids=[
        "missing",
        "algorithm",
        "credential",
        "service",
        "date-format",
        "date-mismatch",
        "expires-nan",
        "expires-negative",
        "expires-zero",
        "expires-week",
    ],
)
def test_malformed_presigned_query(
    overrides: dict[str, str | None], message: str
) -> None:
    """Each bad query parameter: AuthorizationQueryParametersError 400, S3's text."""
    error = _raises(errors.AuthorizationQueryParametersError, _presigned(**overrides))
    assert error.status == 400
    assert error.message == message


def test_wrong_region_in_presigned_query_names_the_right_one() -> None:
    """A presigned scope for another region: the Region element says ours."""
    credential = "AK%2F20260101%2Feu-west-1%2Fs3%2Faws4_request"
    request = _presigned(X_Amz_Credential=credential)
    error = _raises(errors.AuthorizationQueryParametersError, request)
    assert error.message == (
        _QUERY_MALFORMED + "the region 'eu-west-1' is wrong; expecting 'us-east-1'"
    )
    assert error.extra == {"Region": "us-east-1"}


def test_expired_presigned_url() -> None:
    """After X-Amz-Date + X-Amz-Expires: AccessDenied 'Request has expired' + times."""
    now = NOW + dt.timedelta(seconds=3601)
    error = _raises(errors.AccessDenied, _presigned(), now)
    assert error.status == 403
    assert error.message == "Request has expired"
    assert error.extra == {
        "X-Amz-Expires": "3600",
        "Expires": "2026-01-01T13:00:00Z",
        "ServerTime": "2026-01-01T13:00:01Z",
    }


def test_presigned_url_at_its_last_second_is_still_valid() -> None:
    """At exactly X-Amz-Date + X-Amz-Expires the URL has not expired yet."""
    now = NOW + dt.timedelta(seconds=3600)
    _raises(errors.SignatureDoesNotMatch, _presigned(), now)


def test_presigned_url_from_the_future_is_not_valid_yet() -> None:
    """A URL dated over 15 minutes ahead: AccessDenied 'Request is not valid yet'."""
    error = _raises(errors.AccessDenied, _presigned(), NOW - dt.timedelta(minutes=16))
    assert error.message == "Request is not valid yet"
