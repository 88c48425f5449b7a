"""Hypothesis strategies for SigV4: methods, keys, query parameters and header sets.

Values are the awkward ones clients really send: keys in any Unicode with ``+``,
``%``, spaces, ``//`` and ``/./``; query names and values in any Unicode; header
names in mixed case (sometimes the same name twice) with values padded by runs of
spaces and tabs. ``header_signed_requests`` and ``presigned_requests`` have botocore
(the oracle) sign such requests at a pinned time and hand back the request as our
server receives it, with botocore's canonical request, string to sign and signature.
"""

from __future__ import annotations

import datetime as dt
from unittest import mock
from urllib.parse import urlsplit

import attrs
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode
from hypothesis import strategies as st

from s3core.http import Headers, Request

__all__ = [
    "ACCESS_KEY",
    "AWKWARD_KEYS",
    "REGION",
    "SECRET_KEY",
    "SignedRequest",
    "bodies",
    "buckets",
    "expires",
    "header_sets",
    "header_signed_requests",
    "keys",
    "methods",
    "presigned_requests",
    "query_pairs",
    "timestamps",
    "wire_request",
]

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"

# Every Unicode scalar value: surrogates cannot be encoded as UTF-8, so no key has one.
_ANY_CHAR = st.characters(exclude_categories=["Cs"])

AWKWARD_KEYS = (
    "a b",
    "a+b",
    "100%",
    "%41",
    "a%2Fb",
    "é/ü/日本",
    "a//b",
    "a/./b",
    "../up",
    "/leading",
    "trailing/",
    "~tilde",
    "!*'()",
    "?#[]@",
    "\x00\x1f\x7f",
    "😀",
)

methods = st.sampled_from(
    ["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH"]
) | st.from_regex(r"[A-Z]{1,8}", fullmatch=True)

keys = st.sampled_from(AWKWARD_KEYS) | st.text(_ANY_CHAR, min_size=1, max_size=40)

buckets = st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True)

# Names that would turn a request into another auth mechanism are left out.
_RESERVED_PARAMS = ("x-amz-", "awsaccesskeyid", "signature")
_param_names = st.text(_ANY_CHAR, min_size=1, max_size=12).filter(
    lambda name: not name.lower().startswith(_RESERVED_PARAMS)
)

query_pairs = st.lists(
    st.tuples(_param_names, st.text(_ANY_CHAR, max_size=12)), max_size=5
)

# Header names a signer or the transport sets itself are not drawn.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "authorization",
        "date",
        "x-amz-date",
        "x-amz-content-sha256",
        "x-amz-security-token",
        "content-length",
        "transfer-encoding",
        "expect",
    }
)
_header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True).filter(
    lambda name: name.lower() not in _RESERVED_HEADERS
)
_blank = st.text(st.sampled_from(" \t"), max_size=3)
_word = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=8)
_gap = st.text(st.sampled_from(" \t"), min_size=1, max_size=3)
_header_values = st.tuples(
    _blank, st.lists(st.tuples(_word, _gap), min_size=1, max_size=4), _blank
).map(lambda parts: parts[0] + "".join(w + g for w, g in parts[1]) + parts[2])


@st.composite
def header_sets(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Header fields in order, sometimes one name twice in a different case."""
    fields = draw(st.lists(st.tuples(_header_names, _header_values), max_size=5))
    repeat: bool = draw(st.booleans())
    if fields and repeat:
        name, _ = draw(st.sampled_from(fields))
        fields.append((name.swapcase(), draw(_header_values)))
    return fields


bodies = st.binary(max_size=64)

timestamps = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)
).map(lambda t: t.replace(microsecond=0, tzinfo=dt.timezone.utc))

expires = st.integers(min_value=1, max_value=604800)


@attrs.frozen(kw_only=True)
class SignedRequest:
    """A request botocore signed, as our server receives it, with botocore's work.

    Attributes:
        request: the request as it arrives on the wire (raw path and query).
        canonical_request: botocore's canonical request.
        string_to_sign: botocore's string to sign.
        signature: botocore's signature.
        signed_headers: the ``SignedHeaders`` names botocore listed.
        payload_hash: what botocore signed as the payload hash.
        now: a server time at which the request is valid.
    """

    request: Request
    canonical_request: str
    string_to_sign: str
    signature: str
    signed_headers: tuple[str, ...]
    payload_hash: str
    now: dt.datetime


def wire_request(
    method: str, url: str, headers: list[tuple[str, str]], host: str
) -> Request:
    """The ``Request`` a server builds for ``url``: raw path and query, a Host.

    Header values lose their leading and trailing blanks, as an HTTP parser drops
    them ("OWS" around a field value).
    """
    parts = urlsplit(url)
    fields = [(name, value.strip(" \t")) for name, value in headers]
    if not any(name.lower() == "host" for name, _ in fields):
        fields.append(("Host", host))
    return Request(
        method=method, path=parts.path, query=parts.query, headers=Headers.of(fields)
    )


@st.composite
def _unsigned_requests(
    draw: st.DrawFn, *, with_body: bool
) -> tuple[AWSRequest, str, dt.datetime]:
    """An AWSRequest as botocore's S3 serializer lays it out, its host, its time.

    A presigned request has no body: botocore would move one into the query.
    """
    bucket, key = draw(buckets), draw(keys)
    # botocore puts the key in the path with percent_encode(key, safe="/~").
    encoded = percent_encode(key, safe="/~")
    if draw(st.booleans()):
        host, path = "127.0.0.1:9000", f"/{bucket}/{encoded}"
    else:
        host, path = f"{bucket}.s3.example.com", f"/{encoded}"
    pairs = draw(query_pairs)
    url = f"http://{host}{path}"
    data = draw(bodies) if with_body else b""
    request = AWSRequest(method=draw(methods), url=url, data=data)
    if draw(st.booleans()):
        # The serializer's way: the query already in the URL, encoded like SigV4.
        query = "&".join(f"{percent_encode(n)}={percent_encode(v)}" for n, v in pairs)
        request.url = f"{url}?{query}" if query else url
    else:
        # The params way: the wire form is urlencode()'s (space as '+').
        request.params = pairs
    for name, value in draw(header_sets()):
        request.headers[name] = value  # appends: a repeated name stays repeated
    return request, host, draw(timestamps)


def _sign(auth: S3SigV4Auth, request: AWSRequest, when: dt.datetime) -> None:
    # botocore reads the clock itself; only its own module's clock is pinned.
    fixed = when.replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
        auth.add_auth(request)


@st.composite
def header_signed_requests(draw: st.DrawFn) -> SignedRequest:
    """Requests signed by botocore's ``S3SigV4Auth`` (Authorization header)."""
    request, host, when = draw(_unsigned_requests(with_body=True))
    auth = S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION)
    _sign(auth, request, when)
    authorization = request.headers["Authorization"]
    del request.headers["Authorization"]
    canonical = auth.canonical_request(request)
    to_sign = auth.string_to_sign(request, canonical)
    request.headers["Authorization"] = authorization
    signed_names = authorization.split("SignedHeaders=")[1].split(",")[0]
    skew = draw(st.integers(min_value=-14 * 60, max_value=14 * 60))
    return SignedRequest(
        request=wire_request(
            request.method, request.prepare().url, list(request.headers.items()), host
        ),
        canonical_request=canonical,
        string_to_sign=to_sign,
        signature=authorization.rsplit("Signature=", 1)[1],
        signed_headers=tuple(signed_names.split(";")),
        payload_hash=request.headers["X-Amz-Content-SHA256"],
        now=when + dt.timedelta(seconds=skew),
    )


@st.composite
def presigned_requests(draw: st.DrawFn) -> SignedRequest:
    """Requests presigned by botocore's ``S3SigV4QueryAuth`` (query parameters)."""
    request, host, when = draw(_unsigned_requests(with_body=False))
    lifetime = draw(expires)
    auth = S3SigV4QueryAuth(
        Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION, expires=lifetime
    )
    _sign(auth, request, when)
    url, _, signature = request.url.rpartition("&X-Amz-Signature=")
    request.url = url
    canonical = auth.canonical_request(request)
    to_sign = auth.string_to_sign(request, canonical)
    request.url = f"{url}&X-Amz-Signature={signature}"
    signed_names = canonical.split("\n")[-2]
    age = draw(st.integers(min_value=-14 * 60, max_value=lifetime))
    return SignedRequest(
        request=wire_request(
            request.method, request.url, list(request.headers.items()), host
        ),
        canonical_request=canonical,
        string_to_sign=to_sign,
        signature=signature,
        signed_headers=tuple(signed_names.split(";")),
        payload_hash=canonical.split("\n")[-1],
        now=when + dt.timedelta(seconds=age),
    )
