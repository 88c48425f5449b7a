"""The SigV4 steps agree with botocore's signer and with the AWS documentation."""

from __future__ import annotations

import hashlib

from botocore.utils import percent_encode
from hypothesis import given
from hypothesis import strategies as st

from s3core.auth import sigv4
from s3core.http import Headers
from tests.strategies import auth as sa

# The worked examples of "Signature Calculations for the Authorization Header" and
# "Signature Calculation: Transfer Payload in Multiple Chunks" (Amazon S3 API docs).
DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_DATE = "20130524T000000Z"
DOC_SCOPE = "20130524/us-east-1/s3/aws4_request"


def _ours(signed: sa.SignedRequest) -> str:
    request = signed.request
    return sigv4.canonical_request(
        request.method,
        request.path,
        _unsigned_query(request.query),
        request.headers,
        signed.signed_headers,
        signed.payload_hash,
    )


def _unsigned_query(query: str) -> str:
    """The raw query without X-Amz-Signature, as a verifier signs it."""
    return "&".join(p for p in query.split("&") if not p.startswith("X-Amz-Signature="))


@given(sa.header_signed_requests())
def test_canonical_request_matches_botocore_for_header_auth(
    signed: sa.SignedRequest,
) -> None:
    """Our canonical request of the received request is botocore's, byte for byte."""
    assert _ours(signed) == signed.canonical_request


@given(sa.presigned_requests())
def test_canonical_request_matches_botocore_for_presigned_urls(
    signed: sa.SignedRequest,
) -> None:
    """Our canonical request of a presigned URL (less its signature) is botocore's."""
    assert _ours(signed) == signed.canonical_request


@given(st.one_of(sa.header_signed_requests(), sa.presigned_requests()))
def test_string_to_sign_and_signature_match_botocore(
    signed: sa.SignedRequest,
) -> None:
    """String to sign and signature computed from our steps equal botocore's."""
    amz_date = signed.string_to_sign.split("\n")[1]
    scope = sigv4.credential_scope(amz_date[:8], sa.REGION)
    to_sign = sigv4.string_to_sign(amz_date, scope, _ours(signed))
    key = sigv4.signing_key(sa.SECRET_KEY, amz_date[:8], sa.REGION, "s3")
    assert to_sign == signed.string_to_sign
    assert sigv4.signature(key, to_sign) == signed.signature


@given(sa.keys)
def test_canonical_uri_is_botocore_encoding_of_any_key(key: str) -> None:
    """The canonical URI of a botocore-encoded path is that path: encoded once, kept."""
    path = "/bucket/" + percent_encode(key, safe="/~")
    assert sigv4.canonical_uri(path) == path


@given(sa.keys)
def test_canonical_uri_ignores_how_the_client_escaped(key: str) -> None:
    """Escaping every byte, in lower-case hex, gives the same canonical URI."""
    data = ("/bucket/" + key).encode()
    over_escaped = "".join("/" if byte == ord("/") else f"%{byte:02x}" for byte in data)
    assert sigv4.canonical_uri(over_escaped) == "/bucket/" + percent_encode(
        key, safe="/~"
    )


def test_canonical_uri_keeps_dot_segments_and_double_slashes() -> None:
    """S3 is not normalised: '//', '/./' and '/../' survive."""
    assert sigv4.canonical_uri("/b/a//c/./d/../e") == "/b/a//c/./d/../e"


def test_canonical_uri_encodes_once_per_aws_uriencode() -> None:
    """Space is %20, '+' is %2B, '%' is %25, unreserved bytes stay, '/' stays."""
    assert sigv4.canonical_uri("/b/a b+c%25~!") == "/b/a%20b%2Bc%25~%21"


def test_canonical_uri_of_invalid_escapes_and_bytes_does_not_fail() -> None:
    """A stray '%' or invalid UTF-8 is encoded byte by byte, never an exception."""
    assert sigv4.canonical_uri("/b/%zz%ff") == "/b/%25zz%FF"


def test_canonical_query_sorts_by_name_then_value() -> None:
    """Parameters sort by encoded name, repeated names by value."""
    assert sigv4.canonical_query_string("b=2&a=1&a=0") == "a=0&a=1&b=2"


def test_canonical_query_gives_bare_names_an_empty_value() -> None:
    """A parameter without '=' (a sub-resource like ?acl) signs as 'acl='."""
    assert sigv4.canonical_query_string("acl&versionId=") == "acl=&versionId="


def test_canonical_query_reencodes_with_slash_and_space_escaped() -> None:
    """Names and values are decoded, then UriEncoded: '/' as %2F, '+' as a space."""
    assert sigv4.canonical_query_string("p=a/b+c%7e&%41=1") == "A=1&p=a%2Fb%20c~"


def test_canonical_query_of_empty_query_is_empty() -> None:
    """No query, or only separators, gives an empty canonical query."""
    assert sigv4.canonical_query_string("") == ""
    assert sigv4.canonical_query_string("&&") == ""


def test_canonical_headers_trim_collapse_and_join_repeats() -> None:
    """Values are trimmed, inner blank runs collapse, a repeated name joins by ','."""
    headers = Headers.of(
        [("Host", " h "), ("X-A", "  a   b\t c "), ("x-a", "d"), ("Other", "x")]
    )
    assert sigv4.canonical_headers(headers, ["x-a", "HOST"]) == "host:h\nx-a:a b c,d\n"
    assert sigv4.signed_headers(["x-a", "HOST"]) == "host;x-a"


def test_uri_encode_follows_aws_rules() -> None:
    """Unreserved kept, everything else upper-case %XX, '/' only kept in keys."""
    assert sigv4.uri_encode("aZ09-._~ /é") == "aZ09-._~%20%2F%C3%A9"
    assert sigv4.uri_encode("a/b c", encode_slash=False) == "a/b%20c"


def test_signing_key_matches_aws_documented_derivation() -> None:
    """The documented example key (IAM, 20120215) derives to the published bytes."""
    key = sigv4.signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam"
    )
    assert key.hex() == (
        "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
    )


def test_signing_key_is_cached() -> None:
    """A second derivation for the same day and scope returns the cached key."""
    first = sigv4.signing_key("secret", "20260101", "us-east-1", "s3")
    assert sigv4.signing_key("secret", "20260101", "us-east-1", "s3") is first


def test_chunk_signatures_chain_as_in_aws_example() -> None:
    """The documented aws-chunked upload's three chunk signatures come out."""
    key = sigv4.signing_key(DOC_SECRET, "20130524", "us-east-1", "s3")
    previous = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    expected = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]
    for data, want in zip((b"a" * 65536, b"a" * 1024, b""), expected, strict=True):
        to_sign = sigv4.chunk_string_to_sign(
            DOC_DATE, DOC_SCOPE, previous, sigv4.hex_sha256(data)
        )
        previous = sigv4.signature(key, to_sign)
        assert previous == want


def test_chunk_string_to_sign_layout() -> None:
    """The chunk string is the PAYLOAD algorithm, date, scope, previous, '' and data."""
    text = sigv4.chunk_string_to_sign("D", "S", "P", "H")
    assert text == f"AWS4-HMAC-SHA256-PAYLOAD\nD\nS\nP\n{sigv4.EMPTY_SHA256}\nH"


def test_trailer_string_to_sign_layout() -> None:
    """The trailer string: TRAILER algorithm, date, scope, previous, trailer hash."""
    trailer = sigv4.hex_sha256(b"x-amz-checksum-crc32:sOO8/Q==\n")
    text = sigv4.trailer_string_to_sign("D", "S", "P", trailer)
    assert text == f"AWS4-HMAC-SHA256-TRAILER\nD\nS\nP\n{trailer}"


def test_empty_sha256_constant() -> None:
    """EMPTY_SHA256 is the SHA-256 of no bytes."""
    assert hashlib.sha256(b"").hexdigest() == sigv4.EMPTY_SHA256
