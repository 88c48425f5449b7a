"""Object operations through boto3 over real HTTP, on both backends."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import urllib.error
import urllib.request
from typing import Any

import botocore.exceptions
import pytest

from s3server.server import ServerThread
from tests.integration.conftest import error_code
from tests.integration.signing import signed_request

ClientError = botocore.exceptions.ClientError

# Also against the standalone `s3server` process, the way users run it.
SERVER_KINDS = ("memory", "filesystem", "standalone")


def test_put_get_round_trip(client: Any, bucket: str) -> None:
    """The bytes put are the bytes got, with the MD5 ETag and the stored headers."""
    data = bytes(range(256)) * 5000
    put = client.put_object(
        Bucket=bucket,
        Key="dir/file.bin",
        Body=data,
        ContentType="application/x-test",
        CacheControl="max-age=60",
        ContentDisposition='attachment; filename="f.bin"',
        ContentEncoding="identity",
        ContentLanguage="fr",
        Expires=dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
        Metadata={"Color": "blue", "spaces": "a b  c"},
    )
    etag = '"' + hashlib.md5(data).hexdigest() + '"'
    assert put["ETag"] == etag
    got = client.get_object(Bucket=bucket, Key="dir/file.bin")
    assert got["Body"].read() == data
    assert got["ETag"] == etag
    assert got["ContentLength"] == len(data)
    assert got["ContentType"] == "application/x-test"
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == 'attachment; filename="f.bin"'
    assert got["ContentEncoding"] == "identity"
    assert got["ContentLanguage"] == "fr"
    assert got["ExpiresString"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert got["Metadata"] == {"color": "blue", "spaces": "a b  c"}
    assert got["AcceptRanges"] == "bytes"
    head = client.head_object(Bucket=bucket, Key="dir/file.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == etag
    assert head["LastModified"] == got["LastModified"]


def test_empty_object_and_default_type(client: Any, bucket: str) -> None:
    """An empty body is a valid object with the empty MD5 and binary/octet-stream."""
    client.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = client.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    assert got["ContentType"] == "binary/octet-stream"


def test_overwrite_replaces(client: Any, bucket: str) -> None:
    """A second PUT replaces bytes and metadata entirely."""
    client.put_object(Bucket=bucket, Key="k", Body=b"one", Metadata={"a": "1"})
    client.put_object(Bucket=bucket, Key="k", Body=b"two!")
    got = client.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"two!"
    assert got["Metadata"] == {}


def test_content_md5(client: Any, bucket: str) -> None:
    """A right Content-MD5 passes; a wrong one is BadDigest, a bad one InvalidDigest."""
    body = b"hello"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    client.put_object(Bucket=bucket, Key="ok", Body=body, ContentMD5=good)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="bad", Body=body, ContentMD5=wrong)
    assert error_code(exc) == ("BadDigest", 400)
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="bad", Body=body, ContentMD5="notbase64!")
    assert error_code(exc) == ("InvalidDigest", 400)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["ok"]


def test_bad_digest_keeps_previous_version(client: Any, bucket: str) -> None:
    """A failed overwrite leaves the old object exactly as it was."""
    client.put_object(Bucket=bucket, Key="k", Body=b"original")
    wrong = base64.b64encode(hashlib.md5(b"x").digest()).decode()
    with pytest.raises(ClientError):
        client.put_object(Bucket=bucket, Key="k", Body=b"replacement", ContentMD5=wrong)
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"original"


def test_checksum_headers(client: Any, bucket: str) -> None:
    """boto3's default CRC32 is verified and stored; a wrong SHA256 is BadDigest."""
    body = b"checksummed"
    put = client.put_object(Bucket=bucket, Key="c", Body=body)
    assert "ChecksumCRC32" in put
    got = client.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got["ChecksumCRC32"] == put["ChecksumCRC32"]
    wrong = base64.b64encode(hashlib.sha256(b"nope").digest()).decode()
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="c2", Body=body, ChecksumSHA256=wrong)
    assert error_code(exc) == ("BadDigest", 400)
    with pytest.raises(ClientError) as exc:
        client.head_object(Bucket=bucket, Key="c2")
    assert error_code(exc) == ("404", 404)


def test_conditional_writes(client: Any, bucket: str) -> None:
    """If-None-Match: * creates only; If-Match replaces only the matching version."""
    first = client.put_object(Bucket=bucket, Key="k", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="k", Body=b"2", IfNoneMatch="*")
    assert error_code(exc) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="k", Body=b"3", IfMatch='"0000"')
    assert error_code(exc) == ("PreconditionFailed", 412)
    client.put_object(Bucket=bucket, Key="k", Body=b"4", IfMatch=first["ETag"])
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"4"
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="absent", Body=b"5", IfMatch=first["ETag"])
    assert error_code(exc) == ("NoSuchKey", 404)


def test_ranges(client: Any, bucket: str) -> None:
    """A single range gives 206 and Content-Range; unsatisfiable ones 416."""
    data = b"0123456789"
    client.put_object(Bucket=bucket, Key="r", Body=data)
    cases = {
        "bytes=0-3": (b"0123", "bytes 0-3/10"),
        "bytes=7-": (b"789", "bytes 7-9/10"),
        "bytes=-2": (b"89", "bytes 8-9/10"),
        "bytes=5-100": (b"56789", "bytes 5-9/10"),
    }
    for header, (body, content_range) in cases.items():
        got = client.get_object(Bucket=bucket, Key="r", Range=header)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["Body"].read() == body
        assert got["ContentRange"] == content_range
        assert got["ContentLength"] == len(body)
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="r", Range="bytes=10-")
    assert error_code(exc) == ("InvalidRange", 416)
    whole = client.get_object(Bucket=bucket, Key="r", Range="bytes=junk")
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert whole["Body"].read() == data


def test_response_overrides(client: Any, bucket: str) -> None:
    """response-* query parameters replace the returned headers."""
    client.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    got = client.get_object(
        Bucket=bucket,
        Key="o",
        ResponseContentType="application/json",
        ResponseContentDisposition="inline",
        ResponseCacheControl="no-cache",
        ResponseContentLanguage="de",
        ResponseContentEncoding="gzip",
        ResponseExpires=dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc),
    )
    assert got["ContentType"] == "application/json"
    assert got["ContentDisposition"] == "inline"
    assert got["CacheControl"] == "no-cache"
    assert got["ContentLanguage"] == "de"
    assert got["ContentEncoding"] == "gzip"
    assert got["ExpiresString"] == "Wed, 01 Jan 2031 00:00:00 GMT"


def test_conditional_reads(client: Any, bucket: str) -> None:
    """If-Match/If-None-Match/If-(Un)Modified-Since give 412 and 304 as on S3."""
    put = client.put_object(Bucket=bucket, Key="c", Body=b"data")
    etag = put["ETag"]
    modified = client.head_object(Bucket=bucket, Key="c")["LastModified"]
    before = modified - dt.timedelta(hours=1)
    after = modified + dt.timedelta(hours=1)
    assert client.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read()
    for kwargs in ({"IfMatch": '"other"'}, {"IfUnmodifiedSince": before}):
        with pytest.raises(ClientError) as exc:
            client.get_object(Bucket=bucket, Key="c", **kwargs)
        assert error_code(exc) == ("PreconditionFailed", 412)
    for kwargs in ({"IfNoneMatch": etag}, {"IfModifiedSince": after}):
        with pytest.raises(ClientError) as exc:
            client.get_object(Bucket=bucket, Key="c", **kwargs)
        assert error_code(exc) == ("304", 304)
    # RFC 7232 precedence as S3 documents it.
    ok = client.get_object(
        Bucket=bucket, Key="c", IfMatch=etag, IfUnmodifiedSince=before
    )
    assert ok["Body"].read() == b"data"
    with pytest.raises(ClientError) as exc:
        client.get_object(
            Bucket=bucket, Key="c", IfNoneMatch=etag, IfModifiedSince=before
        )
    assert error_code(exc) == ("304", 304)
    with pytest.raises(ClientError) as exc:
        client.head_object(Bucket=bucket, Key="c", IfMatch='"other"')
    assert error_code(exc) == ("412", 412)


def test_missing_key(client: Any, bucket: str) -> None:
    """GET of a missing key is NoSuchKey 404 with the key; HEAD is 404 without body."""
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="nope/x")
    assert error_code(exc) == ("NoSuchKey", 404)
    assert exc.value.response["Error"]["Key"] == "nope/x"
    with pytest.raises(ClientError) as exc:
        client.head_object(Bucket=bucket, Key="nope/x")
    assert error_code(exc) == ("404", 404)


def test_head_error_has_no_body(server: ServerThread, bucket: str) -> None:
    """A HEAD error response carries no body at all."""
    req = signed_request(server, "HEAD", f"/{bucket}/missing")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req)
    assert exc.value.code == 404
    assert exc.value.read() == b""
    assert exc.value.headers["x-amz-request-id"]


def test_delete_object(client: Any, bucket: str) -> None:
    """DeleteObject answers 204 for present and missing keys, and the key is gone."""
    client.put_object(Bucket=bucket, Key="d", Body=b"1")
    assert (
        client.delete_object(Bucket=bucket, Key="d")["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 204
    )
    assert (
        client.delete_object(Bucket=bucket, Key="d")["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 204
    )
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)


def test_key_too_long(client: Any, bucket: str) -> None:
    """A key over 1024 UTF-8 bytes is KeyTooLongError 400; exactly 1024 works."""
    client.put_object(Bucket=bucket, Key="k" * 1024, Body=b"1")
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="é" * 513, Body=b"1")
    assert error_code(exc) == ("KeyTooLongError", 400)


def test_metadata_too_large(client: Any, bucket: str) -> None:
    """User metadata over 2 KB is MetadataTooLarge 400 and stores nothing."""
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="m", Body=b"1", Metadata={"a": "x" * 2100})
    assert error_code(exc) == ("MetadataTooLarge", 400)
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)


def test_missing_content_length(server: ServerThread, client: Any, bucket: str) -> None:
    """A PUT with neither Content-Length nor a body is 411 MissingContentLength."""
    import http.client

    req = signed_request(server, "PUT", f"/{bucket}/nolength")
    conn = http.client.HTTPConnection(server.host, server.port)
    conn.putrequest(
        "PUT", f"/{bucket}/nolength", skip_host=True, skip_accept_encoding=True
    )
    for name, value in req.header_items():
        if name.lower() != "content-length":
            conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 411
    assert b"<Code>MissingContentLength</Code>" in body
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)


def test_payload_hash_mismatch(server: ServerThread, client: Any, bucket: str) -> None:
    """A body that does not hash to the signed x-amz-content-sha256 stores nothing."""
    wrong = hashlib.sha256(b"something else").hexdigest()
    req = signed_request(
        server, "PUT", f"/{bucket}/k", body=b"actual body", payload_hash=wrong
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req)
    assert exc.value.code == 400
    body = exc.value.read()
    assert b"<Code>XAmzContentSHA256Mismatch</Code>" in body
    assert wrong.encode() in body
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)


def test_unknown_operation_not_implemented(client: Any, bucket: str) -> None:
    """A sub-resource we do not implement answers NotImplemented 501, not success."""
    with pytest.raises(ClientError) as exc:
        client.get_bucket_policy(Bucket=bucket)
    assert error_code(exc) == ("NotImplemented", 501)


def test_virtual_hosted_style(server: ServerThread, client: Any, bucket: str) -> None:
    """bucket.localhost addresses the bucket; the path is the key."""
    put = signed_request(
        server,
        "PUT",
        "/vhost/key.txt",
        body=b"via vhost",
        host=f"{bucket}.localhost:{server.port}",
    )
    with urllib.request.urlopen(put) as response:
        assert response.status == 200
    assert client.get_object(Bucket=bucket, Key="vhost/key.txt")["Body"].read() == (
        b"via vhost"
    )
    get = signed_request(
        server, "GET", "/vhost/key.txt", host=f"{bucket}.localhost:{server.port}"
    )
    with urllib.request.urlopen(get) as response:
        assert response.read() == b"via vhost"
