"""CopyObject and UploadPartCopy through boto3 over real HTTP, on both backends."""

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
from tests.integration.uploads import PART, blob, create, finish

ClientError = botocore.exceptions.ClientError
MIB = 1024 * 1024


def put_source(client: Any, bucket: str, key: str = "src", body: bytes = b"") -> Any:
    """A source object with metadata to copy."""
    return client.put_object(
        Bucket=bucket,
        Key=key,
        Body=body or b"source bytes",
        ContentType="text/plain",
        CacheControl="max-age=5",
        Metadata={"color": "blue"},
    )


def assert_absent(client: Any, bucket: str, key: str) -> None:
    """Nothing is stored at ``key``."""
    with pytest.raises(ClientError) as exc:
        client.head_object(Bucket=bucket, Key=key)
    assert error_code(exc) == ("404", 404)


def test_copy_keeps_bytes_and_metadata(client: Any, bucket: str) -> None:
    """The default COPY directive copies bytes, ETag, type and user metadata."""
    put = put_source(client, bucket)
    result = client.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        ContentType="ignored/without-replace",
        Metadata={"ignored": "too"},
    )["CopyObjectResult"]
    assert result["ETag"] == put["ETag"]
    got = client.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"source bytes"
    assert (got["ContentType"], got["CacheControl"]) == ("text/plain", "max-age=5")
    assert got["Metadata"] == {"color": "blue"}
    assert got["LastModified"] == result["LastModified"]


def test_replace_takes_the_request_metadata(client: Any, bucket: str) -> None:
    """REPLACE stores the request's metadata instead of the source's."""
    put_source(client, bucket)
    client.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        ContentType="application/json",
        Metadata={"shape": "round"},
    )
    head = client.head_object(Bucket=bucket, Key="dst")
    assert (head["ContentType"], head["Metadata"]) == (
        "application/json",
        {"shape": "round"},
    )
    assert "CacheControl" not in head


def test_copy_onto_itself(client: Any, bucket: str) -> None:
    """Copying an object onto itself needs REPLACE; with it, metadata changes."""
    put_source(client, bucket)
    with pytest.raises(ClientError) as exc:
        client.copy_object(
            Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"}
        )
    assert error_code(exc) == ("InvalidRequest", 400)
    assert client.head_object(Bucket=bucket, Key="src")["Metadata"] == {"color": "blue"}
    client.copy_object(
        Bucket=bucket,
        Key="src",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"color": "red"},
    )
    got = client.get_object(Bucket=bucket, Key="src")
    assert (got["Body"].read(), got["Metadata"]) == (b"source bytes", {"color": "red"})


def test_encoded_source_keys_and_null_version(client: Any, bucket: str) -> None:
    """Keys needing URL encoding copy, and versionId=null names the only version."""
    key = "dir/a b+c%d?é&=#"
    client.put_object(Bucket=bucket, Key=key, Body=b"odd key")
    client.copy_object(
        Bucket=bucket, Key="one", CopySource={"Bucket": bucket, "Key": key}
    )
    client.copy_object(
        Bucket=bucket,
        Key="two",
        CopySource={"Bucket": bucket, "Key": key, "VersionId": "null"},
    )
    for copy in ("one", "two"):
        assert client.get_object(Bucket=bucket, Key=copy)["Body"].read() == b"odd key"
    with pytest.raises(ClientError) as exc:
        client.copy_object(
            Bucket=bucket,
            Key="three",
            CopySource={"Bucket": bucket, "Key": key, "VersionId": "v123"},
        )
    assert error_code(exc) == ("InvalidArgument", 400)
    assert_absent(client, bucket, "three")


def test_malformed_copy_sources(server: ServerThread, client: Any, bucket: str) -> None:
    """A copy source without a key, or with a bad directive, is InvalidArgument."""
    put_source(client, bucket)
    cases = [
        {"x-amz-copy-source": bucket},
        {"x-amz-copy-source": f"/{bucket}/"},
        {"x-amz-copy-source": f"{bucket}/%ff%fe"},
        {"x-amz-copy-source": f"{bucket}/src", "x-amz-metadata-directive": "MOVE"},
    ]
    for headers in cases:
        req = signed_request(server, "PUT", f"/{bucket}/dst", headers=headers)
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req)
        assert exc.value.code == 400
        assert b"<Code>InvalidArgument</Code>" in exc.value.read()
    assert_absent(client, bucket, "dst")


def test_missing_sources(client: Any, bucket: str) -> None:
    """A missing source key is NoSuchKey, a missing source bucket NoSuchBucket."""
    for source, expected in [
        ({"Bucket": bucket, "Key": "nope"}, ("NoSuchKey", 404)),
        ({"Bucket": "no-such-bucket-here", "Key": "k"}, ("NoSuchBucket", 404)),
    ]:
        with pytest.raises(ClientError) as exc:
            client.copy_object(Bucket=bucket, Key="dst", CopySource=source)
        assert error_code(exc) == expected
    assert_absent(client, bucket, "dst")


def test_copy_source_conditions(client: Any, bucket: str) -> None:
    """The four x-amz-copy-source-if-* headers fail with 412 and copy nothing."""
    put = put_source(client, bucket)
    modified = client.head_object(Bucket=bucket, Key="src")["LastModified"]
    before, after = modified - dt.timedelta(hours=1), modified + dt.timedelta(hours=1)
    source = {"Bucket": bucket, "Key": "src"}
    failing: list[dict[str, Any]] = [
        {"CopySourceIfMatch": '"0000"'},
        {"CopySourceIfNoneMatch": put["ETag"]},
        {"CopySourceIfModifiedSince": after},
        {"CopySourceIfUnmodifiedSince": before},
    ]
    for kwargs in failing:
        with pytest.raises(ClientError) as exc:
            client.copy_object(Bucket=bucket, Key="dst", CopySource=source, **kwargs)
        assert error_code(exc) == ("PreconditionFailed", 412)
        assert_absent(client, bucket, "dst")
    passing: list[dict[str, Any]] = [
        {"CopySourceIfMatch": put["ETag"]},
        {"CopySourceIfNoneMatch": '"0000"'},
        {"CopySourceIfModifiedSince": before},
        {"CopySourceIfUnmodifiedSince": after},
        # S3: if-match true and if-unmodified-since false still copies.
        {"CopySourceIfMatch": put["ETag"], "CopySourceIfUnmodifiedSince": before},
    ]
    for i, kwargs in enumerate(passing):
        client.copy_object(Bucket=bucket, Key=f"ok{i}", CopySource=source, **kwargs)
        assert client.get_object(Bucket=bucket, Key=f"ok{i}")["Body"].read()


def test_across_buckets_and_owners(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """Copies work across one owner's buckets; another owner's source is denied."""
    put_source(client, bucket)
    client.create_bucket(Bucket=f"{bucket}-2")
    client.copy_object(
        Bucket=f"{bucket}-2", Key="k", CopySource={"Bucket": bucket, "Key": "src"}
    )
    assert client.get_object(Bucket=f"{bucket}-2", Key="k")["Body"].read() == (
        b"source bytes"
    )
    bob = server.client(user=server.users[1])
    bob.create_bucket(Bucket=f"{bucket}-bob")
    bob.put_object(Bucket=f"{bucket}-bob", Key="secret", Body=b"bob's")
    with pytest.raises(ClientError) as exc:
        client.copy_object(
            Bucket=bucket,
            Key="stolen",
            CopySource={"Bucket": f"{bucket}-bob", "Key": "secret"},
        )
    assert error_code(exc) == ("AccessDenied", 403)
    assert_absent(client, bucket, "stolen")
    with pytest.raises(ClientError) as exc:
        bob.copy_object(
            Bucket=bucket,
            Key="pushed",
            CopySource={"Bucket": f"{bucket}-bob", "Key": "secret"},
        )
    assert error_code(exc) == ("AccessDenied", 403)
    assert_absent(client, bucket, "pushed")


def test_copy_of_a_multipart_object(client: Any, bucket: str) -> None:
    """A copy of a multipart object is one part: MD5 ETag, whole-object checksum."""
    parts_data = [b"a" * (5 * MIB), b"tail"]
    upload_id = client.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    parts = []
    for number, data in enumerate(parts_data, 1):
        etag = client.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=number, Body=data
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    client.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    whole = b"".join(parts_data)
    result = client.copy_object(
        Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "mp"}
    )["CopyObjectResult"]
    assert result["ETag"] == f'"{hashlib.md5(whole).hexdigest()}"'
    head = client.head_object(Bucket=bucket, Key="copy", ChecksumMode="ENABLED")
    assert head["ChecksumType"] == "FULL_OBJECT"
    assert "PartsCount" not in head
    got = client.get_object(Bucket=bucket, Key="copy", ChecksumMode="ENABLED")
    assert got["Body"].read() == whole  # botocore validates the checksum


def test_copy_with_a_new_checksum_algorithm(client: Any, bucket: str) -> None:
    """x-amz-checksum-algorithm on a copy computes and reports that checksum."""
    body = b"checksum me"
    put_source(client, bucket, body=body)
    result = client.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        ChecksumAlgorithm="SHA256",
    )["CopyObjectResult"]
    expected = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert result["ChecksumSHA256"] == expected
    head = client.head_object(Bucket=bucket, Key="dst", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == expected


def test_copy_keeps_the_source_checksum(client: Any, bucket: str) -> None:
    """A plain copy carries the source's checksum over unchanged."""
    put = put_source(client, bucket)
    client.copy_object(
        Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}
    )
    head = client.head_object(Bucket=bucket, Key="dst", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == put["ChecksumCRC32"]


def test_large_copy(client: Any, bucket: str) -> None:
    """A 24 MiB object copies byte for byte."""
    body = hashlib.sha256(b"seed").digest() * (24 * MIB // 32)
    client.put_object(Bucket=bucket, Key="big", Body=body)
    client.copy_object(
        Bucket=bucket, Key="big-copy", CopySource={"Bucket": bucket, "Key": "big"}
    )
    got = client.get_object(Bucket=bucket, Key="big-copy")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(body).digest()


def test_upload_part_copy(client: Any, bucket: str) -> None:
    """Ranges of existing objects become parts, with the MD5 of the range as ETag."""
    source = blob(2 * PART, 7)
    client.put_object(Bucket=bucket, Key="src", Body=source)
    upload_id = create(client, bucket)
    ranges = [(0, PART - 1), (PART, 2 * PART - 1)]
    parts = []
    for number, (first, last) in enumerate(ranges, 1):
        copied = client.upload_part_copy(
            Bucket=bucket,
            Key="big",
            UploadId=upload_id,
            PartNumber=number,
            CopySource={"Bucket": bucket, "Key": "src"},
            CopySourceRange=f"bytes={first}-{last}",
        )["CopyPartResult"]
        md5 = hashlib.md5(source[first : last + 1]).hexdigest()
        assert copied["ETag"] == f'"{md5}"'
        parts.append({"PartNumber": number, "ETag": copied["ETag"]})
    whole = client.upload_part_copy(
        Bucket=bucket,
        Key="big",
        UploadId=upload_id,
        PartNumber=3,
        CopySource=f"{bucket}/src",
    )["CopyPartResult"]
    parts.append({"PartNumber": 3, "ETag": whole["ETag"]})
    finish(client, bucket, "big", upload_id, parts)
    got = client.get_object(Bucket=bucket, Key="big")["Body"].read()
    assert got == source + source


def test_upload_part_copy_errors(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """Bad ranges, failed conditions and others' buckets store no part."""
    client.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    upload_id = create(client, bucket)
    bob = server.client(user=server.users[1])
    bob.create_bucket(Bucket=f"{bucket}-bob")
    bob.put_object(Bucket=f"{bucket}-bob", Key="src", Body=b"bob's")

    def copy(**kwargs: Any) -> Any:
        kwargs.setdefault("CopySource", {"Bucket": bucket, "Key": "src"})
        return client.upload_part_copy(
            Bucket=bucket, Key="big", UploadId=upload_id, PartNumber=1, **kwargs
        )

    cases: list[tuple[dict[str, Any], tuple[str, int]]] = [
        ({"CopySourceRange": "bytes=0-10"}, ("InvalidRange", 416)),
        ({"CopySourceRange": "bytes=5-2"}, ("InvalidArgument", 400)),
        ({"CopySourceRange": "0-2"}, ("InvalidArgument", 400)),
        ({"CopySourceRange": "bytes=0-"}, ("InvalidArgument", 400)),
        ({"CopySourceIfMatch": '"nope"'}, ("PreconditionFailed", 412)),
        (
            {"CopySource": {"Bucket": f"{bucket}-bob", "Key": "src"}},
            ("AccessDenied", 403),
        ),
        ({"CopySource": {"Bucket": bucket, "Key": "none"}}, ("NoSuchKey", 404)),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ClientError) as exc:
            copy(**kwargs)
        assert error_code(exc) == expected
    listed = client.list_parts(Bucket=bucket, Key="big", UploadId=upload_id)
    assert listed.get("Parts", []) == []
    assert copy(CopySourceRange="bytes=2-4")["CopyPartResult"]["ETag"] == (
        f'"{hashlib.md5(b"234").hexdigest()}"'
    )
