"""AWS Signature Version 4 for S3, as pure functions named after the AWS doc's steps.

This module owns the arithmetic of SigV4: the canonical request, the string to sign,
the signing key and the signature, plus the per-chunk and trailer strings to sign of
``aws-chunked`` streaming uploads. Verification (``verify``) and presigning
(``presign``) both call these functions, so one signer serves both directions. It
must not parse ``Authorization`` headers, look up credentials, read the clock or
raise S3 errors: values in, values out. Secrets pass through ``signing_key`` only
and are never logged or shown in a repr.

Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
and https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import quote, unquote_to_bytes

from s3core.http import Headers

__all__ = [
    "ALGORITHM",
    "CHUNK_ALGORITHM",
    "EMPTY_SHA256",
    "TERMINATOR",
    "TRAILER_ALGORITHM",
    "UNSIGNED_PAYLOAD",
    "canonical_headers",
    "canonical_query_pairs",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "chunk_string_to_sign",
    "credential_scope",
    "hex_sha256",
    "signature",
    "signed_headers",
    "signing_key",
    "string_to_sign",
    "trailer_string_to_sign",
    "uri_encode",
]

ALGORITHM = "AWS4-HMAC-SHA256"
CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# "URI encode every byte except the unreserved characters: 'A'-'Z', 'a'-'z', '0'-'9',
# '-', '.', '_', and '~'." Python's quote() never escapes exactly these (and emits
# upper-case hex), so only '/' needs saying.
_UNRESERVED_EXTRA = "-._~"


def hex_sha256(data: bytes) -> str:
    """The lower-case hex SHA-256 of ``data``, SigV4's ``Hex(SHA256Hash(...))``."""
    return hashlib.sha256(data).hexdigest()


def uri_encode(value: str | bytes, *, encode_slash: bool = True) -> str:
    """AWS ``UriEncode``: percent-encode every byte but the unreserved ones.

    Args:
        value: text (encoded as UTF-8) or raw bytes.
        encode_slash: ``False`` for an object key in a path, where "the forward slash
            in the key name is not encoded".

    Returns:
        The encoded ASCII text, hex digits upper-case, space as ``%20`` never ``+``.
    """
    safe = _UNRESERVED_EXTRA if encode_slash else _UNRESERVED_EXTRA + "/"
    return quote(value, safe=safe)


def canonical_uri(path: str) -> str:
    """The ``CanonicalURI`` of a raw request path as received on the wire.

    "Each path segment must be URI-encoded twice (except for Amazon S3 which only
    gets URI-encoded once)" and "Normalize URI paths according to RFC 3986 ... (Amazon
    S3 excepted)". So ``//`` and ``/./`` stay as they are. The server does not know
    how the client escaped its path, so the path is percent-decoded to bytes and
    encoded again with ``UriEncode``: that is what any SDK signs for a key it encoded
    once. Decoding to bytes (not text) keeps invalid UTF-8 from failing here.

    Args:
        path: the raw path, still percent-encoded, starting with ``/``.
    """
    return uri_encode(unquote_to_bytes(path or "/"), encode_slash=False)


def canonical_query_pairs(pairs: Iterable[tuple[str | bytes, str | bytes]]) -> str:
    """The ``CanonicalQueryString`` of already decoded ``(name, value)`` pairs.

    "URI-encode each parameter name and value ... Sort the parameter names by
    character code point in ascending order. Parameters with duplicate names should
    be sorted by value." The encoded forms are ASCII, so sorting the encoded text
    sorts by code point.
    """
    encoded = sorted((uri_encode(name), uri_encode(value)) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_query_string(query: str) -> str:
    """The ``CanonicalQueryString`` of a raw query string (without ``?``).

    Each name and value is decoded, then encoded again with ``UriEncode`` (``/``
    included) and the pairs sorted by name, then value.
    """
    encoded = sorted(
        (_canonical_component(name), _canonical_component(value))
        for name, _, value in (
            # "a=1&&b=2" or a trailing "&": an empty field names no parameter.
            part.partition("=")
            for part in query.split("&")
            if part
        )
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


@functools.lru_cache(maxsize=4096)
def _canonical_component(raw: str) -> str:
    # One raw query name or value, decoded and encoded again. Cached because a
    # client repeats most of them on every request (X-Amz-Credential,
    # X-Amz-SignedHeaders, list-type, prefix...): re-encoding them was half of
    # SigV4 verification's CPU. A query is form-encoded: a literal '+' on the wire
    # is a space (SDKs that mean '+' send %2B).
    return uri_encode(unquote_to_bytes(raw.replace("+", " ")))


def _trimall(value: str) -> str:
    # "The Trimall function removes excess white space before and after values, and
    # converts sequential spaces to a single space." Like botocore and the Go and
    # Java SDKs, any run of whitespace (tabs included) counts.
    return " ".join(value.split())


def signed_headers(signed_header_names: Iterable[str]) -> str:
    """The ``SignedHeaders`` line: lower-case names, sorted, joined by ``;``."""
    return ";".join(sorted({name.strip().lower() for name in signed_header_names}))


def canonical_headers(headers: Headers, signed_header_names: Iterable[str]) -> str:
    """The ``CanonicalHeaders`` block for the named headers.

    "Lowercase(<HeaderName1>)+":"+Trim(<value>)+"\\n"", names sorted; a header sent
    several times has its values joined by commas in arrival order. A named header
    the request lacks contributes ``name:`` (the signature will then not match unless
    the client signed it that way).

    Returns:
        One ``name:value\\n`` entry per name, so the block ends with a newline.
    """
    names = signed_headers(signed_header_names).split(";")
    lines = []
    for name in names:
        if not name:
            continue
        value = ",".join(_trimall(v) for v in headers.get_all(name))
        lines.append(f"{name}:{value}\n")
    return "".join(lines)


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Headers,
    signed_header_names: Iterable[str],
    payload_hash: str,
) -> str:
    """The SigV4 ``CanonicalRequest``.

    ``HTTPMethod\\nCanonicalURI\\nCanonicalQueryString\\nCanonicalHeaders\\n
    SignedHeaders\\nHashedPayload``.

    Args:
        method: the HTTP method, upper-case.
        path: the raw request path, still percent-encoded.
        query: the raw query string without ``?`` (for a presigned URL, without the
            ``X-Amz-Signature`` parameter).
        headers: the request headers.
        signed_header_names: the names listed in ``SignedHeaders``.
        payload_hash: the ``x-amz-content-sha256`` value, or ``UNSIGNED-PAYLOAD``.
    """
    names = list(signed_header_names)
    return "\n".join(
        (
            method,
            canonical_uri(path),
            canonical_query_string(query),
            canonical_headers(headers, names),
            signed_headers(names),
            payload_hash,
        )
    )


def credential_scope(date: str, region: str, service: str = "s3") -> str:
    """The credential scope ``YYYYMMDD/region/service/aws4_request``."""
    return f"{date}/{region}/{service}/{TERMINATOR}"


def _encode(text: str) -> bytes:
    # Header values reach us as text; 'surrogateescape' gives back the exact bytes
    # an adapter decoded with it, instead of failing on them.
    return text.encode("utf-8", "surrogateescape")


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    """The ``StringToSign`` of a request.

    ``"AWS4-HMAC-SHA256" + "\\n" + timeStampISO8601Format + "\\n" + <Scope> + "\\n" +
    Hex(SHA256Hash(<CanonicalRequest>))``.

    Args:
        amz_date: the request time as ``YYYYMMDDTHHMMSSZ``.
        scope: the credential scope (see ``credential_scope``).
        canonical_request: the canonical request text.
    """
    digest = hex_sha256(_encode(canonical_request))
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def chunk_string_to_sign(
    amz_date: str, scope: str, previous_signature: str, chunk_hash: str
) -> str:
    """The string to sign of one ``aws-chunked`` chunk (``STREAMING-...-PAYLOAD``).

    "AWS4-HMAC-SHA256-PAYLOAD + \\n + timestamp + \\n + scope + \\n +
    previous-signature + \\n + Hex(SHA256Hash("")) + \\n + Hex(SHA256Hash(chunk))".
    The first chunk chains on the seed signature (the request's own signature); the
    final zero-length chunk is signed too.

    Args:
        amz_date: the request's ``x-amz-date``.
        scope: the request's credential scope.
        previous_signature: the seed signature or the previous chunk's signature.
        chunk_hash: ``hex_sha256`` of the chunk data, computed as the bytes stream.
    """
    return "\n".join(
        (CHUNK_ALGORITHM, amz_date, scope, previous_signature, EMPTY_SHA256, chunk_hash)
    )


def trailer_string_to_sign(
    amz_date: str, scope: str, previous_signature: str, trailer_hash: str
) -> str:
    """The string to sign of the trailing headers of a signed ``aws-chunked`` body.

    "AWS4-HMAC-SHA256-TRAILER + \\n + timestamp + \\n + scope + \\n +
    previous-signature + \\n + Hex(SHA256Hash(trailing-headers))", where the trailing
    headers are ``name:value\\n`` lines and the previous signature is the final
    (zero-length) chunk's.
    """
    return "\n".join(
        (TRAILER_ALGORITHM, amz_date, scope, previous_signature, trailer_hash)
    )


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


@functools.lru_cache(maxsize=256)
def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    """The derived signing key, cached per ``(secret, date, region, service)``.

    ``DateKey = HMAC-SHA256("AWS4" + secret, date)``, then the region, the service
    and ``"aws4_request"``. The key only changes daily, so one derivation serves
    every request of a user that day.

    Args:
        secret: the secret access key. Never logged; the cache is keyed by it only
            in memory.
        date: ``YYYYMMDD`` from the credential scope.
        region: the region from the credential scope.
        service: the service from the credential scope.
    """
    k_date = _hmac(f"AWS4{secret}".encode(), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, TERMINATOR)


def signature(key: bytes, string_to_sign: str) -> str:
    """``Hex(HMAC-SHA256(SigningKey, StringToSign))``: the 64 hex digits sent."""
    return hmac.new(key, _encode(string_to_sign), hashlib.sha256).hexdigest()
