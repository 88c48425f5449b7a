"""POST Object: browser form uploads authenticated by a signed policy document.

This module owns the S3 semantics of a form upload ("POST Object" and "Browser-based
uploads using POST" in the S3 API Reference): the form fields before the file (small
and bounded), the ``key`` with ``${filename}`` substitution, the order of the checks
(form, signature, bucket ownership, policy, size), the object's metadata from the
fields, and the success answers (``success_action_redirect``,
``success_action_status`` 200/201/204). The file part streams from the multipart
reader through ``ingest`` into a backend writer, and nothing is published unless every
check passed. Multipart syntax lives in ``s3core.forms``; signatures and policy
conditions in ``s3core.auth.policy``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from urllib.parse import unquote, urlencode, urlsplit

import attrs
from lxml import etree
from lxml.builder import ElementMaker

from s3core import errors
from s3core.auth import policy as form_policy
from s3core.auth.sigv4 import uri_encode
from s3core.bodies import ExactLengthReader
from s3core.forms import MultipartReader, PartHeaders, form_boundary
from s3core.http import Headers, Readable, Request, Response
from s3core.models import ObjectInfo
from s3core.names import validate_bucket_name, validate_key
from s3core.operations.common import meta_from_headers, quote_etag
from s3core.operations.form_context import FormCall
from s3core.operations.ingest import ingest
from s3core.xml_text import text_element

__all__ = ["MAX_PRE_DATA", "post_object"]

# The fields before the file are held in memory to check the policy, so they are
# bounded. S3 documents no number for "MaxPostPreDataLengthExceededError: Your POST
# request fields preceding the upload file were too large."; 64 KiB holds a policy,
# 2 KB of metadata and every other field many times over.
MAX_PRE_DATA = 64 * 1024
_FILE_FIELD = "file"
_BARE = ElementMaker()
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def post_object(call: FormCall) -> Response:
    """POST Object: store the form's file under its ``key``.

    Raises:
        PreconditionFailed: the body is not ``multipart/form-data``.
        MalformedPOSTRequest: the multipart body is broken.
        MaxPostPreDataLengthExceededError: the fields before the file are too big.
        InvalidArgument: no ``key`` field, no file, or a missing credential field.
        AccessDenied: no credentials; a bucket of another user; the policy expired,
            a condition failed or a field is not named by a condition.
        InvalidAccessKeyId, SignatureDoesNotMatch, InvalidPolicyDocument,
        AuthorizationQueryParametersError: from the form's signature and policy.
        EntityTooLarge, EntityTooSmall: the file is outside
            ``content-length-range`` (or over the 5 GiB single-upload limit).
        NoSuchBucket, InvalidBucketName, KeyTooLongError, MetadataTooLarge,
        IncompleteBody.
    """
    bucket = call.route.bucket
    assert bucket is not None  # routing sends only bucket POSTs here
    validate_bucket_name(bucket)
    boundary = form_boundary(call.request.headers.get("content-type"))
    if boundary is None:
        raise errors.PreconditionFailed(
            extra={
                "Condition": "Bucket POST must be of the enclosure-type "
                "multipart/form-data"
            }
        )
    reader = MultipartReader(_body(call.request), boundary)
    fields, file_part = _read_fields(reader)
    if "key" not in fields:
        raise errors.InvalidArgument(
            "Bucket POST must contain a field named 'key'.  If it is specified, "
            "please check the order of the fields.",
            extra={"ArgumentName": "key", "ArgumentValue": ""},
        )
    # "${filename}: the variable is replaced with the name of the file that the
    # user uploaded" (browsers send a base name; older ones a whole path).
    filename = posixpath.basename((file_part.filename or "").replace("\\", "/"))
    fields["key"] = fields["key"].replace("${filename}", filename)
    user, policy = form_policy.authenticate_form(
        fields, credentials=call.credentials, region=call.config.region
    )
    if call.backend.get_bucket(bucket).owner_id != user.id:
        raise errors.AccessDenied()
    form_policy.check_conditions(policy, fields, bucket=bucket, now=call.now)
    key = fields["key"]
    if not key:
        raise errors.InvalidArgument(
            "User key must have a length greater than 0.",
            extra={"ArgumentName": "key", "ArgumentValue": ""},
        )
    validate_key(key)
    info = _store(call, bucket, key, reader, policy, Headers.of(fields))
    return _success(call.request, bucket, fields, info)


def _body(request: Request) -> Readable:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit():
        return ExactLengthReader(request.body, int(length))
    return request.body


def _read_fields(reader: MultipartReader) -> tuple[dict[str, str], PartHeaders]:
    """The fields before the file (names lower-cased) and the file part's headers.

    "The file or text content must be the last field in the form. Any fields below
    it are ignored." The reader is left at the start of the file's bytes.
    """
    fields: dict[str, str] = {}
    budget = MAX_PRE_DATA
    while True:
        part = reader.next_part()
        if part is None:
            raise errors.InvalidArgument(
                "POST requires exactly one file upload per request.",
                extra={"ArgumentName": "file", "ArgumentValue": "0"},
            )
        name = part.name.lower()
        if name == _FILE_FIELD:
            return fields, part
        budget -= len(part.name)
        value = reader.read_all(max(budget, 0))
        if value is None:
            raise errors.MaxPostPreDataLengthExceededError()
        budget -= len(value)
        if name in fields:
            raise errors.InvalidArgument(
                f"Bucket POST may contain only one field named '{part.name}'.",
                extra={"ArgumentName": part.name, "ArgumentValue": ""},
            )
        try:
            fields[name] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.MalformedPOSTRequest() from None


class _SizeLimit:
    """Passes the file through, failing as soon as it grows past what may be stored."""

    def __init__(
        self, inner: Readable, policy: form_policy.Policy, max_put: int
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._max_put = max_put
        self.size = 0

    def read(self, n: int = -1, /) -> bytes:
        data = self._inner.read(n)
        self.size += len(data)
        bounds = self._policy.length_range
        if bounds is not None and self.size > bounds.maximum:
            form_policy.check_length(self._policy, self.size)
        if self.size > self._max_put:
            raise errors.EntityTooLarge(
                extra={
                    "ProposedSize": str(self.size),
                    "MaxSizeAllowed": str(self._max_put),
                }
            )
        return data


def _store(
    call: FormCall,
    bucket: str,
    key: str,
    reader: MultipartReader,
    policy: form_policy.Policy,
    fields: Headers,
) -> ObjectInfo:
    """Stream the file into a staged object; publish it only if every check held."""
    # The fields stand for PutObject's headers: Content-Type, Cache-Control,
    # Content-Disposition, Content-Encoding, Expires, x-amz-meta-*, and the digests
    # Content-MD5 and x-amz-checksum-*. "Content-Type ... If none is provided, the
    # default is binary/octet-stream": the file part's own Content-Type is not used.
    meta = meta_from_headers(fields)
    # Only the integrity fields reach ingest: a form body is never aws-chunked, so
    # nothing else PutObject reads from headers (x-amz-trailer, ...) applies.
    digests = Headers(
        tuple(
            (name, value)
            for name, value in fields
            if name == "content-md5" or name.startswith("x-amz-checksum-")
        )
    )
    body = _SizeLimit(reader, policy, call.config.max_put_size)
    writer = call.backend.open_writer(bucket, key)
    try:
        got = ingest(digests, body, writer, call.config.digest_executor)
        form_policy.check_length(policy, got.size)
        meta = attrs.evolve(meta, checksums=(got.checksum,))
        return writer.commit(meta, etag=got.md5_hex)
    finally:
        writer.abort()


def _success(
    request: Request, bucket: str, fields: Mapping[str, str], info: ObjectInfo
) -> Response:
    """The answer the form asked for: a redirect, 200, 201 with XML, or 204."""
    etag = quote_etag(info.etag)
    # "success_action_redirect: The URL to which the client is redirected upon
    # successful upload. Amazon S3 appends the bucket, key, and etag values as query
    # string parameters to the URL. ... If Amazon S3 cannot interpret the URL, it
    # acts as if the field is not present." ("redirect" is its deprecated name.)
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    if redirect and _is_url(redirect):
        query = urlencode({"bucket": bucket, "key": info.key, "etag": etag})
        separator = "&" if urlsplit(redirect).query else "?"
        if redirect.endswith(("?", "&")):
            separator = ""
        return Response(
            status=303,
            headers=(("ETag", etag), ("Location", redirect + separator + query)),
        )
    location = _object_url(request, bucket, info.key)
    headers = [("ETag", etag), ("Location", location)]
    # "success_action_status: The status code returned to the client upon successful
    # upload if success_action_redirect is not specified. Valid values are 200, 201,
    # or 204 (default). If the value is set to 200 or 204, Amazon S3 returns an
    # empty document ... If the value is set to 201, Amazon S3 returns an XML
    # document with a 201 status code. If the value is not set or if it is set to an
    # invalid value, Amazon S3 returns an empty document with a 204 status code."
    status = fields.get("success_action_status")
    if status == "201":
        body = _post_response(location, bucket, info.key, etag)
        headers.append(("Content-Type", "application/xml"))
        return Response.of_bytes(201, body, headers)
    return Response(status=200 if status == "200" else 204, headers=tuple(headers))


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _object_url(request: Request, bucket: str, key: str) -> str:
    """The new object's URL, addressed the way the form was posted."""
    # Behind a TLS-terminating proxy the scheme is the proxy's; waitress passes
    # X-Forwarded-Proto only from a trusted proxy.
    scheme = (request.headers.get("x-forwarded-proto") or "http").split(",")[0]
    path_style = unquote(request.route_path).strip("/") == bucket
    prefix = f"{request.mount}/{bucket}" if path_style else request.mount
    return (
        f"{scheme.strip()}://{request.host}{prefix}/"
        f"{uri_encode(key, encode_slash=False)}"
    )


def _post_response(location: str, bucket: str, key: str, etag: str) -> bytes:
    """S3's ``PostResponse`` document (no namespace, like S3's)."""
    root = _BARE.PostResponse(
        text_element(_BARE, "Location", location),
        text_element(_BARE, "Bucket", bucket),
        text_element(_BARE, "Key", key),
        _BARE.ETag(etag),
    )
    return _DECLARATION + etree.tostring(root, encoding="UTF-8")
