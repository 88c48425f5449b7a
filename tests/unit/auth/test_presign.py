"""``presign_url`` makes the URLs botocore makes, and ``authenticate`` accepts them."""

from __future__ import annotations

import datetime as dt
import functools
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import percent_encode
from hypothesis import given
from hypothesis import strategies as st

from s3core import errors
from s3core.auth import StaticCredentials, User, authenticate, presign_url
from tests.strategies import auth as sa

USER = User(
    access_key=sa.ACCESS_KEY, secret_key=sa.SECRET_KEY, id="id", display_name="n"
)
CREDENTIALS = StaticCredentials([USER])
ENDPOINT = "http://127.0.0.1:9000"
VIRTUAL_ENDPOINT = "http://s3.example.com"

_content_types = st.sampled_from(["text/plain", "application/octet-stream", "a/b; x=1"])


def _presign(**kwargs: object) -> str:
    arguments: dict[str, object] = {
        "method": "GET",
        "endpoint_url": ENDPOINT,
        "bucket": "bucket",
        "key": "key",
        "access_key": sa.ACCESS_KEY,
        "secret_key": sa.SECRET_KEY,
        "region": sa.REGION,
        "now": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    }
    arguments.update(kwargs)
    return presign_url(**arguments)  # type: ignore[arg-type]


def _verify(
    method: str, url: str, now: dt.datetime, headers: dict[str, str] | None = None
) -> None:
    host = urlsplit(url).netloc
    request = sa.wire_request(method, url, list((headers or {}).items()), host)
    context = authenticate(request, credentials=CREDENTIALS, region=sa.REGION, now=now)
    assert context.user == USER
    assert context.presigned


@functools.cache
def _client(path_style: bool) -> BaseClient:
    session = boto3.session.Session(
        aws_access_key_id=sa.ACCESS_KEY,
        aws_secret_access_key=sa.SECRET_KEY,
        region_name=sa.REGION,
    )
    style = "path" if path_style else "virtual"
    return session.client(
        "s3",
        endpoint_url=ENDPOINT if path_style else VIRTUAL_ENDPOINT,
        config=Config(signature_version="s3v4", s3={"addressing_style": style}),
    )


def _boto_presign(
    path_style: bool,
    operation: str,
    params: dict[str, str],
    expires: int,
    when: dt.datetime,
) -> str:
    def clock(remove_tzinfo: bool = True) -> dt.datetime:
        return when.replace(tzinfo=None) if remove_tzinfo else when

    # The client may sign with awscrt or with botocore.auth: pin both clocks.
    with (
        mock.patch("botocore.auth.get_current_datetime", clock),
        mock.patch("botocore.crt.auth.get_current_datetime", clock),
    ):
        url: str = _client(path_style).generate_presigned_url(
            operation, Params=params, ExpiresIn=expires
        )
    return url


@given(
    method=sa.methods,
    bucket=sa.buckets,
    key=sa.keys,
    query=sa.query_pairs.map(dict),
    headers=sa.header_sets().map(lambda fields: {k.lower(): v for k, v in fields}),
    lifetime=sa.expires,
    when=sa.timestamps,
    path_style=st.booleans(),
    data=st.data(),
)
def test_presigned_url_is_accepted_by_authenticate(
    method: str,
    bucket: str,
    key: str,
    query: dict[str, str],
    headers: dict[str, str],
    lifetime: int,
    when: dt.datetime,
    path_style: bool,
    data: st.DataObject,
) -> None:
    """Any presigned URL verifies at any moment of its lifetime (one signer)."""
    url = _presign(
        method=method,
        endpoint_url=ENDPOINT if path_style else VIRTUAL_ENDPOINT,
        bucket=bucket,
        key=key,
        query=query,
        headers=headers,
        expires=lifetime,
        now=when,
        path_style=path_style,
    )
    age = data.draw(st.integers(min_value=0, max_value=lifetime))
    _verify(method, url, when + dt.timedelta(seconds=age), headers)


@given(
    bucket=sa.buckets,
    key=sa.keys,
    version=st.none() | st.text(min_size=1, max_size=10),
    content_type=st.none() | _content_types,
    lifetime=sa.expires,
    when=sa.timestamps,
    path_style=st.booleans(),
)
def test_presigned_url_equals_botocore_generate_presigned_url(
    bucket: str,
    key: str,
    version: str | None,
    content_type: str | None,
    lifetime: int,
    when: dt.datetime,
    path_style: bool,
) -> None:
    """Same inputs, same URL path and parameters, same signature as botocore's."""
    params = {"Bucket": bucket, "Key": key}
    query, headers = {}, {}
    if content_type is not None:
        operation, method = "put_object", "PUT"
        params["ContentType"] = headers["Content-Type"] = content_type
    else:
        operation, method = "get_object", "GET"
        if version is not None:
            params["VersionId"] = query["versionId"] = version
    theirs = _boto_presign(path_style, operation, params, lifetime, when)
    ours = _presign(
        method=method,
        endpoint_url=ENDPOINT if path_style else VIRTUAL_ENDPOINT,
        bucket=bucket,
        key=key,
        query=query,
        headers=headers,
        expires=lifetime,
        now=when,
        path_style=path_style,
    )
    assert urlsplit(ours)[:3] == urlsplit(theirs)[:3]
    assert dict(parse_qsl(urlsplit(ours).query)) == dict(
        parse_qsl(urlsplit(theirs).query)
    )


@given(
    method=sa.methods,
    key=sa.keys,
    query=sa.query_pairs.map(dict),
    lifetime=sa.expires,
    when=sa.timestamps,
)
def test_presigned_signature_equals_botocore_query_signer(
    method: str, key: str, query: dict[str, str], lifetime: int, when: dt.datetime
) -> None:
    """For any query parameters, the signature equals S3SigV4QueryAuth's."""
    ours = _presign(method=method, key=key, query=query, expires=lifetime, now=when)
    url = f"{ENDPOINT}/bucket/{percent_encode(key, safe='/~')}"
    request = AWSRequest(method=method, url=url, params=dict(query))
    auth = S3SigV4QueryAuth(
        Credentials(sa.ACCESS_KEY, sa.SECRET_KEY), "s3", sa.REGION, expires=lifetime
    )
    with mock.patch(
        "botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)
    ):
        auth.add_auth(request)
    assert (
        ours.rsplit("X-Amz-Signature=", 1)[1]
        == request.url.rsplit("X-Amz-Signature=", 1)[1]
    )


def test_presigned_url_layout() -> None:
    """Operation parameters first, X-Amz-* in botocore's order, signature last."""
    url = _presign(key="a b/c", query={"versionId": "v 1"}, expires=60)
    parts = urlsplit(url)
    assert parts.path == "/bucket/a%20b/c"
    names = [name for name, _ in parse_qsl(parts.query)]
    assert names == [
        "versionId",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Expires",
        "X-Amz-Signature",
    ]


def test_presigned_url_expires() -> None:
    """One second after its lifetime the URL is refused: 'Request has expired'."""
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    url = _presign(expires=60, now=when)
    with pytest.raises(errors.AccessDenied, match="Request has expired"):
        _verify("GET", url, when + dt.timedelta(seconds=61))


def test_presigned_url_keeps_endpoint_path_and_port() -> None:
    """A path prefix and a non-default port on the endpoint survive and verify."""
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    url = _presign(endpoint_url="http://LocalHost:8080/s3/", now=when)
    assert url.startswith("http://LocalHost:8080/s3/bucket/key?")
    request = sa.wire_request("GET", url, [], "localhost:8080")
    assert authenticate(request, credentials=CREDENTIALS, region=sa.REGION, now=when)


def test_presigned_url_for_ipv6_endpoint() -> None:
    """An IPv6 literal endpoint signs the bracketed host a client sends."""
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    url = _presign(endpoint_url="http://[::1]:9000", now=when)
    _verify("GET", url, when)


@pytest.mark.parametrize("expires", [0, -1, 604801])
def test_presign_refuses_lifetimes_s3_refuses(expires: int) -> None:
    """A lifetime outside 1..604800 seconds is a ValueError, not a dead URL."""
    with pytest.raises(ValueError, match="expires"):
        _presign(expires=expires)


def test_presigned_url_requires_its_signed_headers() -> None:
    """A URL signed with Content-Type fails if the user sends another one."""
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    url = _presign(method="PUT", headers={"Content-Type": "text/plain"}, now=when)
    _verify("PUT", url, when, {"Content-Type": "text/plain"})
    with pytest.raises(errors.SignatureDoesNotMatch):
        _verify("PUT", url, when, {"Content-Type": "text/html"})
