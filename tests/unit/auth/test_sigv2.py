"""SigV2: ``authenticate`` accepts what botocore's HmacV1 signers sign, errs like S3."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode
from hypothesis import given
from hypothesis import strategies as st

from s3core import errors
from s3core.auth import (
    AuthContext,
    StaticCredentials,
    User,
    authenticate,
    is_presigned,
    sigv2,
)
from s3core.http import Headers, Request
from tests.strategies import auth as sa

USER = User(
    access_key=sa.ACCESS_KEY, secret_key=sa.SECRET_KEY, id="c0ffee", display_name="me"
)
CREDENTIALS = StaticCredentials([USER])
DOMAIN = "s3.example.com"
NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)

# The S3 User Guide's SigV2 examples ("Signing and authenticating REST requests").
DOC_USER = User(
    access_key="AKIAIOSFODNN7EXAMPLE",
    secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    id="doc",
    display_name="doc",
)
DOC_HOST = "johnsmith.s3.amazonaws.com"


def _auth(
    request: Request, now: dt.datetime = NOW, user: User = USER, domain: str = DOMAIN
) -> AuthContext:
    return authenticate(
        request,
        credentials=StaticCredentials([user]),
        region="us-east-1",
        now=now,
        domain=domain,
    )


def _raises(
    error: type[errors.S3Error], request: Request, **kw: object
) -> errors.S3Error:
    with pytest.raises(error) as info:
        _auth(request, **kw)  # type: ignore[arg-type]
    return info.value


# --- botocore as the oracle ----------------------------------------------------------

_ANY_CHAR = st.characters(exclude_categories=["Cs"])
_sub_names = st.sampled_from(sorted(sigv2.SIGNED_SUBRESOURCES))
# A signed sub-resource either has no value or a non-empty one: botocore signs "acl="
# as sent, S3 as the bare name, so the empty value is left to a test of its own.
_sub_values = st.none() | st.text(_ANY_CHAR, min_size=1, max_size=8)
_plain_params = st.tuples(
    st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True).filter(
        lambda n: n not in sigv2.SIGNED_SUBRESOURCES and not n.startswith("x-amz-")
    ),
    st.text(_ANY_CHAR, max_size=8),
)
# x-amz-date is left out: botocore's HmacV1Auth signs the Date line even then, where
# S3 signs it empty (a test of its own below follows the guide).
_amz_names = (
    st.from_regex(r"x-amz-(meta-)?[a-z0-9]{1,8}", fullmatch=True)
    .filter(lambda n: n != "x-amz-date")
    .map(lambda n: n.title() if len(n) % 2 else n)
)
_amz_values = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=10
)


@st.composite
def _unsigned(
    draw: st.DrawFn, *, repeat_headers: bool = True
) -> tuple[AWSRequest, str, str]:
    """A request laid out as botocore's S3 serializer does: URL, host, auth path.

    ``repeat_headers=False`` for presigning: a query holds one value per name, so
    botocore cannot put a repeated x-amz-* header into a URL.
    """
    bucket, key = draw(sa.buckets), draw(sa.keys)
    encoded = percent_encode(key, safe="/~")
    host, path = (
        ("127.0.0.1:9000", f"/{bucket}/{encoded}")
        if draw(st.booleans())
        else (f"{bucket}.{DOMAIN}", f"/{encoded}")
    )
    params = [
        name if value is None else f"{name}={percent_encode(value)}"
        for name, value in draw(
            st.lists(
                st.tuples(_sub_names, _sub_values), max_size=3, unique_by=lambda p: p[0]
            )
        )
    ] + [
        f"{n}={percent_encode(v)}" for n, v in draw(st.lists(_plain_params, max_size=3))
    ]
    query = "&".join(draw(st.permutations(params)))
    url = f"http://{host}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=draw(sa.methods), url=url)
    amz = st.lists(
        st.tuples(_amz_names, _amz_values),
        max_size=4,
        unique_by=None if repeat_headers else (lambda pair: pair[0].lower()),
    )
    for name, value in draw(amz):
        request.headers[name] = value
    if draw(st.booleans()):
        request.headers["Content-Type"] = draw(st.sampled_from(["text/plain", "a/b"]))
    if draw(st.booleans()):
        request.headers["Content-MD5"] = "1B2M2Y8AsgTpgAmY7PhCfg=="
    # botocore signs the full path-style path however the URL addresses the bucket.
    return request, host, f"/{bucket}/{encoded}"


class _PinnedHeaderAuth(HmacV1Auth):  # type: ignore[misc]
    def __init__(self, date: str) -> None:
        super().__init__(Credentials(sa.ACCESS_KEY, sa.SECRET_KEY))
        self._date = date

    def _get_date(self) -> str:
        return self._date


class _PinnedQueryAuth(HmacV1QueryAuth):  # type: ignore[misc]
    def __init__(self, expires_at: int) -> None:
        super().__init__(Credentials(sa.ACCESS_KEY, sa.SECRET_KEY))
        self._expires_at = expires_at

    def _get_date(self) -> str:
        return str(self._expires_at)


def _wire(request: AWSRequest, host: str) -> Request:
    return sa.wire_request(
        request.method, request.url, list(request.headers.items()), host
    )


@given(_unsigned(), sa.timestamps, st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_accepts_any_request_botocore_signs_with_a_header(
    unsigned: tuple[AWSRequest, str, str], when: dt.datetime, skew: int
) -> None:
    """``Authorization: AWS`` from botocore's HmacV1Auth verifies, payload unsigned."""
    request, host, auth_path = unsigned
    request.auth_path = auth_path
    _PinnedHeaderAuth(email.utils.format_datetime(when, usegmt=True)).add_auth(request)
    context = _auth(_wire(request, host), now=when + dt.timedelta(seconds=skew))
    assert context.user == USER
    assert context.payload_hash == "UNSIGNED-PAYLOAD"
    assert (context.signature_version, context.presigned) == ("2", False)


@given(
    _unsigned(repeat_headers=False),
    sa.timestamps,
    st.integers(min_value=1, max_value=10**8),
)
def test_accepts_any_url_botocore_presigns(
    unsigned: tuple[AWSRequest, str, str], when: dt.datetime, lifetime: int
) -> None:
    """A botocore HmacV1QueryAuth URL verifies until its Expires, with x-amz-* in it."""
    request, host, auth_path = unsigned
    request.auth_path = auth_path
    expires_at = int(when.timestamp()) + lifetime
    _PinnedQueryAuth(expires_at).add_auth(request)
    # The URL's user sends Content-Type and Content-MD5 (signed); x-amz-* ride along
    # in the query, as botocore put them there.
    kept = [
        (k, v)
        for k, v in request.headers.items()
        if k.lower() in ("content-type", "content-md5")
    ]
    wire = sa.wire_request(request.method, request.url, kept, host)
    assert is_presigned(wire)
    context = _auth(wire, now=when + dt.timedelta(seconds=lifetime))
    assert context.user == USER
    assert (context.payload_hash, context.presigned) == ("UNSIGNED-PAYLOAD", True)


@given(_unsigned(), sa.timestamps, st.sampled_from(["method", "path", "sub", "amz"]))
def test_any_change_to_a_signed_part_is_refused(
    unsigned: tuple[AWSRequest, str, str], when: dt.datetime, change: str
) -> None:
    """Changing the method, path, a signed sub-resource or an x-amz-* header fails."""
    request, host, auth_path = unsigned
    request.auth_path = auth_path
    _PinnedHeaderAuth(email.utils.format_datetime(when, usegmt=True)).add_auth(request)
    wire = _wire(request, host)
    if change == "method":
        wire = Request(
            method="X" + wire.method,
            path=wire.path,
            query=wire.query,
            headers=wire.headers,
        )
    elif change == "path":
        wire = Request(
            method=wire.method,
            path=wire.path + "x",
            query=wire.query,
            headers=wire.headers,
        )
    elif change == "sub":
        present = {part.partition("=")[0] for part in wire.query.split("&")}
        name = next(
            n for n in ("torrent", "tagging", "acl", "cors") if n not in present
        )
        query = f"{wire.query}&{name}" if wire.query else name
        wire = Request(
            method=wire.method, path=wire.path, query=query, headers=wire.headers
        )
    else:
        extra = Headers.of([*wire.headers, ("x-amz-meta-zzz-added", "1")])
        wire = Request(
            method=wire.method, path=wire.path, query=wire.query, headers=extra
        )
    error = _raises(errors.SignatureDoesNotMatch, wire, now=when)
    assert error.extra["AWSAccessKeyId"] == sa.ACCESS_KEY
    assert set(error.extra) == {
        "AWSAccessKeyId",
        "StringToSign",
        "SignatureProvided",
        "StringToSignBytes",
    }


# --- the S3 User Guide's examples ----------------------------------------------------


def _doc(method: str, path: str, query: str = "", **headers: str) -> Request:
    return Request(
        method=method,
        path=path,
        query=query,
        headers=Headers.of([("Host", DOC_HOST), *headers.items()]),
    )


def test_doc_example_object_get() -> None:
    """The guide's GET puppy.jpg (Date header, virtual-hosted bucket) verifies."""
    request = _doc(
        "GET",
        "/photos/puppy.jpg",
        Date="Tue, 27 Mar 2007 19:36:42 +0000",
        Authorization="AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
    )
    when = dt.datetime(2007, 3, 27, 19, 40, tzinfo=dt.timezone.utc)
    assert _auth(request, when, DOC_USER, "s3.amazonaws.com").user == DOC_USER


def test_doc_example_delete_with_x_amz_date() -> None:
    """With x-amz-date the Date line is empty: "use the empty string for the Date"."""
    request = _doc(
        "DELETE",
        "/photos/puppy.jpg",
        Date="Tue, 27 Mar 2007 21:20:27 +0000",
        **{"x-amz-date": "Tue, 27 Mar 2007 21:20:26 +0000"},
        Authorization="AWS AKIAIOSFODNN7EXAMPLE:R4dJ53KECjStyBO5iTBJZ4XVOaI=",
    )
    when = dt.datetime(2007, 3, 27, 21, 25, tzinfo=dt.timezone.utc)
    assert _auth(request, when, DOC_USER, "s3.amazonaws.com").user == DOC_USER


def test_doc_example_query_string() -> None:
    """The guide's presigned GET (Expires=1175139620) verifies until it expires."""
    request = _doc(
        "GET",
        "/photos/puppy.jpg",
        "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"
        "&Expires=1175139620",
    )
    before = dt.datetime.fromtimestamp(1175139620, dt.timezone.utc)
    assert _auth(request, before, DOC_USER, "s3.amazonaws.com").presigned
    error = _raises(
        errors.AccessDenied,
        request,
        now=before + dt.timedelta(seconds=1),
        user=DOC_USER,
        domain="s3.amazonaws.com",
    )
    assert error.message == "Request has expired"
    assert error.extra == {
        "Expires": "2007-03-29T03:40:20Z",
        "ServerTime": "2007-03-29T03:40:21Z",
    }


# --- canonical resource rules -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "bucket", "expected"),
    [
        ("/b", "", None, "/b/"),
        ("/b/", "", None, "/b/"),
        ("/", "", None, "/"),
        ("/", "", "b", "/b/"),
        ("/k", "", "b", "/b/k"),
        ("/b/k", "uploads&prefix=x", None, "/b/k?uploads"),
        ("/b/k", "uploads=", None, "/b/k?uploads"),
        ("/b/k", "versionId=v%2B1&acl", None, "/b/k?acl&versionId=v+1"),
        (
            "/b/k",
            "response-content-type=a%2Fb&x=1",
            None,
            "/b/k?response-content-type=a/b",
        ),
        ("/b/a%20b", "list-type=2&delete", None, "/b/a%20b?delete"),
    ],
)
def test_canonical_resource(
    path: str, query: str, bucket: str | None, expected: str
) -> None:
    """Signed sub-resources only, sorted, values decoded; a bucket ends with '/'."""
    assert sigv2.canonical_resource(path, query, bucket=bucket) == expected


def test_amz_headers_are_lowered_sorted_and_merged() -> None:
    """x-amz-* names lower-cased and sorted, repeats comma-joined, ends trimmed."""
    pairs = [
        ("X-Amz-Meta-B", " 2 "),
        ("x-amz-meta-a", "1"),
        ("x-amz-meta-b", "3"),
        ("Content-Type", "t"),
    ]
    assert sigv2.canonical_amz_headers(pairs) == "x-amz-meta-a:1\nx-amz-meta-b:2,3\n"


# --- errors, as S3 sends them ------------------------------------------------------


def _header(authorization: str, **headers: str) -> Request:
    fields = {"Host": "127.0.0.1:9000", "Date": email.utils.format_datetime(NOW, True)}
    fields.update(headers)
    fields["Authorization"] = authorization
    return Request(method="GET", path="/b/k", headers=Headers.of(fields))


def _signed_header(secret: str = sa.SECRET_KEY, **headers: str) -> Request:
    unsigned = _header("AWS x:y", **headers)
    to_sign = sigv2.string_to_sign(
        "GET",
        content_md5="",
        content_type="",
        date=unsigned.headers.get("date") or "",
        amz_headers="",
        resource="/b/k",
    )
    sig = sigv2.signature(secret, to_sign)
    return _header(f"AWS {sa.ACCESS_KEY}:{sig}", **headers)


def test_wrong_secret_is_signature_does_not_match_with_string_to_sign() -> None:
    """A wrong secret: SignatureDoesNotMatch 403 showing S3's StringToSign."""
    request = _signed_header(secret="not-the-secret")
    error = _raises(errors.SignatureDoesNotMatch, request)
    date = request.headers.get("date")
    assert error.status == 403
    assert error.extra["StringToSign"] == f"GET\n\n\n{date}\n/b/k"
    assert error.extra["StringToSignBytes"].startswith("47 45 54 0a")
    assert (
        error.extra["SignatureProvided"]
        == request.headers.get("authorization", "")[len(f"AWS {sa.ACCESS_KEY}:") :]
    )
    assert _auth(_signed_header()).user == USER


@pytest.mark.parametrize("value", ["AWS", "AWS nocolon", "AWS :sig", "AWS key:"])
def test_malformed_v2_header_is_invalid_argument(value: str) -> None:
    """Not ``AWS AKID:signature``: InvalidArgument naming the Authorization header."""
    error = _raises(errors.InvalidArgument, _header(value))
    assert error.message == (
        "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature"
    )
    assert error.extra == {"ArgumentName": "Authorization", "ArgumentValue": value}


def test_unknown_access_key_is_invalid_access_key_id() -> None:
    """An access key nobody has: InvalidAccessKeyId 403 naming it."""
    error = _raises(errors.InvalidAccessKeyId, _header("AWS NOBODY:c2ln"))
    assert (error.status, error.extra) == (403, {"AWSAccessKeyId": "NOBODY"})


def test_no_date_is_access_denied() -> None:
    """Neither Date nor x-amz-date: AccessDenied, as for SigV4."""
    request = Request(
        method="GET",
        path="/b/k",
        headers=Headers.of({"Host": "h", "Authorization": "AWS a:b"}),
    )
    error = _raises(errors.AccessDenied, request)
    assert (
        error.message == "AWS authentication requires a valid Date or x-amz-date header"
    )


def test_skewed_date_is_request_time_too_skewed() -> None:
    """A Date 16 minutes off: RequestTimeTooSkewed with the times S3 shows."""
    request = _signed_header()
    error = _raises(
        errors.RequestTimeTooSkewed, request, now=NOW + dt.timedelta(minutes=16)
    )
    assert error.extra["RequestTime"] == request.headers.get("date")
    assert error.extra["MaxAllowedSkewMilliseconds"] == "900000"


def _query(query: str) -> Request:
    return Request(
        method="GET", path="/b/k", query=query, headers=Headers.of({"Host": "h"})
    )


@pytest.mark.parametrize(
    "query",
    ["AWSAccessKeyId=A&Signature=s", "Signature=s&Expires=1", "AWSAccessKeyId=A"],
)
def test_incomplete_query_auth_is_access_denied(query: str) -> None:
    """A SigV2 URL missing a parameter: AccessDenied naming the three it needs."""
    error = _raises(errors.AccessDenied, _query(query))
    assert error.message == (
        "Query-string authentication requires the Signature, Expires and "
        "AWSAccessKeyId parameters"
    )


def test_expires_that_is_no_number_is_access_denied() -> None:
    """Expires=soon: AccessDenied "Invalid date (should be seconds since epoch)"."""
    error = _raises(
        errors.AccessDenied,
        _query(f"AWSAccessKeyId={sa.ACCESS_KEY}&Signature=s&Expires=soon"),
    )
    assert error.message == "Invalid date (should be seconds since epoch): soon"


def test_expired_url_is_access_denied_before_the_signature_is_checked() -> None:
    """An expired URL: AccessDenied "Request has expired" even with a bad signature."""
    expires = int(NOW.timestamp()) - 1
    error = _raises(
        errors.AccessDenied,
        _query(f"AWSAccessKeyId={sa.ACCESS_KEY}&Signature=bad&Expires={expires}"),
    )
    assert error.message == "Request has expired"
    assert error.extra["ServerTime"] == "2026-01-01T12:00:00Z"


def test_header_and_query_auth_together_are_invalid_argument() -> None:
    """An Authorization header and a Signature parameter: only one mechanism."""
    request = Request(
        method="GET",
        path="/b/k",
        query="AWSAccessKeyId=A&Signature=s&Expires=1",
        headers=Headers.of({"Host": "h", "Authorization": "AWS a:b"}),
    )
    error = _raises(errors.InvalidArgument, request)
    assert error.message.startswith("Only one auth mechanism allowed")


def test_query_signature_keeps_an_unescaped_plus() -> None:
    """A '+' left unescaped in Signature means '+' (base64 has no spaces)."""
    expires = int(NOW.timestamp()) + 60
    secret_for_plus = next(
        f"secret{i}"
        for i in range(1000)
        if "+" in sigv2.signature(f"secret{i}", f"GET\n\n\n{expires}\n/b/k")
    )
    user = User(access_key="AK", secret_key=secret_for_plus, id="i", display_name="d")
    sig = sigv2.signature(secret_for_plus, f"GET\n\n\n{expires}\n/b/k")
    request = _query(f"AWSAccessKeyId=AK&Signature={sig}&Expires={expires}")
    assert _auth(request, user=user).user == user
