"""AWS Signature Version 2 for S3, as pure functions named after the AWS doc's parts.

This module owns the arithmetic of SigV2 ("Signing and authenticating REST requests",
the S3 User Guide's legacy page): the ``CanonicalizedResource`` with the signed
sub-resources, the ``CanonicalizedAmzHeaders``, the ``StringToSign`` and the
``HMAC-SHA1`` signature, plus the signature of a POST policy. Verification
(``verify_v2``, ``policy``) calls these functions and so can any client code. It must
not parse ``Authorization`` headers, look up credentials, read the clock or raise S3
errors: values in, values out.

Reference: https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import unquote

__all__ = [
    "SIGNED_SUBRESOURCES",
    "canonical_amz_headers",
    "canonical_resource",
    "signature",
    "string_to_sign",
]

# "The subresources that must be included when constructing the CanonicalizedResource
# Element are acl, lifecycle, location, logging, notification, partNumber, policy,
# requestPayment, torrent, uploadId, uploads, versionId, versioning, versions, and
# website." plus "If the request specifies query string parameters overriding the
# response header values, append the query string parameters and their values", and
# the later sub-resources the SDKs sign the same way (botocore's HmacV1Auth list:
# delete, cors, tagging, restore, ...). A client signs exactly these; any other query
# parameter is left out of the signature.
SIGNED_SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "inventory",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "replication",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)


def canonical_resource(path: str, query: str, *, bucket: str | None = None) -> str:
    """The ``CanonicalizedResource`` of a request.

    "Start with an empty string. If the request specifies a bucket using the HTTP
    Host header (virtual hosted-style), append the bucket name preceded by a '/'.
    ... Append the path part of the un-decoded HTTP Request-URI, up-to but not
    including the query string. If the request addresses a subresource, append the
    subresource, its value if it has one, and the question mark. ... If there are
    multiple subresources, they must be lexicographically sorted by subresource
    name and separated by '&'" and "you do not encode these values".

    A request for a bucket itself is signed as ``/bucket/``, whether it was sent
    as ``/bucket`` or ``/bucket/`` (botocore: "If the request URI is ONLY a bucket,
    the auth_path must be terminated with a '/' character to generate a signature
    that the server will accept").

    Args:
        path: the raw path as sent, still percent-encoded, below any mount point
            (S3 has none; botocore signs ``/bucket/key`` whatever path prefix its
            endpoint URL has).
        query: the raw query string without ``?``.
        bucket: the bucket named by the ``Host`` header (virtual-hosted style), or
            ``None`` for path style.

    Returns:
        For example ``/bucket/photos/a.jpg?acl`` or ``/bucket/?uploads``.
    """
    path = path or "/"
    resource = f"/{bucket}{path}" if bucket is not None else path
    if resource.count("/") == 1 and resource != "/":
        resource += "/"
    signed: list[tuple[str, str | None]] = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        if name in SIGNED_SUBRESOURCES:
            # A sub-resource sent without a value ("?acl", "?uploads=") is signed by
            # its name alone.
            signed.append((name, unquote(value) if eq and value else None))
    if not signed:
        return resource
    signed.sort(key=lambda pair: pair[0])
    return (
        resource
        + "?"
        + "&".join(
            name if value is None else f"{name}={value}" for name, value in signed
        )
    )


def canonical_amz_headers(pairs: Iterable[tuple[str, str]]) -> str:
    """The ``CanonicalizedAmzHeaders`` of the ``x-amz-*`` fields among ``pairs``.

    "Convert each HTTP header name to lowercase ... Sort the collection of headers
    lexicographically by header name. Combine header fields with the same name into
    one 'header-name:comma-separated-value-list' pair ... with no spaces between
    values. 'Unfold' long headers that span multiple lines ... by replacing the
    folding whitespace (including new-line) by a single space. Trim any whitespace
    around the colon in the header. Finally, append a newline character (U+000A) to
    each canonicalized header in the resulting list."

    Returns:
        One ``name:value\\n`` line per name, or the empty string.
    """
    merged: dict[str, list[str]] = {}
    for name, value in pairs:
        lname = name.strip().lower()
        if lname.startswith("x-amz-"):
            # Values keep inner runs of spaces: botocore and S3 trim the ends only
            # (HTTP parsers have unfolded any folded line already).
            merged.setdefault(lname, []).append(value.strip())
    return "".join(f"{name}:{','.join(merged[name])}\n" for name in sorted(merged))


def string_to_sign(
    method: str,
    *,
    content_md5: str,
    content_type: str,
    date: str,
    amz_headers: str,
    resource: str,
) -> str:
    """The SigV2 ``StringToSign``.

    ``HTTP-Verb + "\\n" + Content-MD5 + "\\n" + Content-Type + "\\n" + Date + "\\n" +
    CanonicalizedAmzHeaders + CanonicalizedResource``.

    Args:
        method: the HTTP method, upper-case.
        content_md5: the ``Content-MD5`` header, or empty.
        content_type: the ``Content-Type`` header, or empty.
        date: the ``Date`` header; empty when ``x-amz-date`` is sent ("if you
            include the x-amz-date header, use the empty string for the Date");
            for a presigned URL, the ``Expires`` value.
        amz_headers: ``canonical_amz_headers`` of the request.
        resource: ``canonical_resource`` of the request.
    """
    return (
        f"{method}\n{content_md5.strip()}\n{content_type.strip()}\n{date.strip()}\n"
        f"{amz_headers}{resource}"
    )


def signature(secret_key: str, string_to_sign: str) -> str:
    """``Base64(HMAC-SHA1(YourSecretAccessKey, UTF-8-Encoding-Of(StringToSign)))``.

    The same function signs a POST policy: there the string to sign is the
    base64-encoded policy document itself.
    """
    digest = hmac.new(
        secret_key.encode("utf-8"),
        string_to_sign.encode("utf-8", "surrogateescape"),
        hashlib.sha1,
    ).digest()
    return base64.b64encode(digest).decode("ascii")
