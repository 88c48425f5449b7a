"""Multipart uploads through boto3 over real HTTP, on both backends."""

from __future__ import annotations

import base64
import hashlib
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from s3server.server import ServerThread
from tests.integration.conftest import error_code
from tests.integration.signing import signed_request
from tests.integration.uploads import (
    MIB,
    PART,
    assert_absent,
    blob,
    create,
    expected_etag,
    finish,
    send_parts,
)

ClientError = botocore.exceptions.ClientError


def test_round_trip(client: Any, bucket: str) -> None:
    """Parts sent out of order complete into their concatenation, with S3's ETag."""
    data = {1: blob(PART, 1), 2: blob(PART + 3, 2), 3: blob(1000, 3)}
    upload_id = create(
        client, bucket, ContentType="text/csv", Metadata={"color": "blue"}
    )
    parts = send_parts(client, bucket, "big", upload_id, {3: data[3], 1: data[1]})
    parts += send_parts(client, bucket, "big", upload_id, {2: data[2]})
    parts.sort(key=lambda p: p["PartNumber"])
    done = finish(client, bucket, "big", upload_id, parts)
    ordered = [data[1], data[2], data[3]]
    assert done["ETag"] == expected_etag(ordered)
    assert (done["Bucket"], done["Key"]) == (bucket, "big")
    assert done["Location"].endswith(f"/{bucket}/big")
    got = client.get_object(Bucket=bucket, Key="big")
    assert got["Body"].read() == b"".join(ordered)
    assert (got["ContentType"], got["Metadata"]) == ("text/csv", {"color": "blue"})
    assert got["ETag"] == done["ETag"]
    listed = client.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("big", 2 * PART + 1003)]
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_parts_may_skip_numbers_and_be_replaced(client: Any, bucket: str) -> None:
    """Completion takes the named parts only, each in its latest upload."""
    upload_id = create(client, bucket)
    send_parts(client, bucket, "big", upload_id, {2: blob(PART, 0)})
    parts = send_parts(
        client, bucket, "big", upload_id, {2: blob(PART, 2), 7: b"tail", 9: b"x"}
    )
    finish(client, bucket, "big", upload_id, parts[:2])
    body = client.get_object(Bucket=bucket, Key="big")["Body"].read()
    assert body == blob(PART, 2) + b"tail"


def test_get_and_head_by_part_number(client: Any, bucket: str) -> None:
    """partNumber reads one part: 206, its byte range and the parts count."""
    data = [blob(PART, 1), blob(PART, 2), b"last part"]
    upload_id = create(client, bucket)
    parts = send_parts(client, bucket, "big", upload_id, dict(enumerate(data, 1)))
    etag = finish(client, bucket, "big", upload_id, parts)["ETag"]
    start = 0
    for number, part in enumerate(data, 1):
        got = client.get_object(Bucket=bucket, Key="big", PartNumber=number)
        head = client.head_object(Bucket=bucket, Key="big", PartNumber=number)
        end = start + len(part) - 1
        for response in (got, head):
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 206
            assert response["ContentRange"] == f"bytes {start}-{end}/{2 * PART + 9}"
            assert (response["PartsCount"], response["ETag"]) == (3, etag)
            assert response["ContentLength"] == len(part)
        assert got["Body"].read() == part
        start = end + 1
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="big", PartNumber=4)
    assert error_code(exc) == ("InvalidPartNumber", 416)
    with pytest.raises(ClientError) as exc:
        client.head_object(Bucket=bucket, Key="big", PartNumber=4)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_part_number_of_a_single_part_object(client: Any, bucket: str) -> None:
    """An object put in one piece is its own part 1; part 2 does not exist."""
    client.put_object(Bucket=bucket, Key="small", Body=b"0123456789")
    got = client.get_object(Bucket=bucket, Key="small", PartNumber=1)
    assert got["Body"].read() == b"0123456789"
    assert got["ContentRange"] == "bytes 0-9/10"
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="small", PartNumber=2)
    assert error_code(exc) == ("InvalidPartNumber", 416)


def test_bad_part_numbers_in_reads(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """partNumber must be 1-10000 and cannot go with a Range."""
    client.put_object(Bucket=bucket, Key="small", Body=b"data")
    for value in ("0", "10001", "x", "-1"):
        req = signed_request(server, "GET", f"/{bucket}/small?partNumber={value}")
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req)
        assert exc.value.code == 400
        assert b"<Code>InvalidArgument</Code>" in exc.value.read()
    with pytest.raises(ClientError) as err:
        client.get_object(Bucket=bucket, Key="small", PartNumber=1, Range="bytes=0-1")
    assert error_code(err) == ("InvalidRequest", 400)


def test_completion_errors_store_nothing(client: Any, bucket: str) -> None:
    """Disorder, unknown parts, wrong ETags and small parts fail; the upload stays."""
    upload_id = create(client, bucket)
    parts = send_parts(
        client, bucket, "big", upload_id, {1: b"small", 2: blob(PART, 2), 3: b"end"}
    )
    wrong_etag = {"PartNumber": 2, "ETag": '"' + "0" * 32 + '"'}
    cases = [
        ([parts[1], parts[0]], "InvalidPartOrder"),
        ([parts[0], parts[0]], "InvalidPartOrder"),
        ([parts[0], {"PartNumber": 4, "ETag": parts[2]["ETag"]}], "InvalidPart"),
        ([parts[0], wrong_etag], "InvalidPart"),
        (parts, "EntityTooSmall"),
    ]
    for chosen, code in cases:
        with pytest.raises(ClientError) as exc:
            finish(client, bucket, "big", upload_id, chosen)
        assert error_code(exc) == (code, 400)
        assert_absent(client, bucket)
    listed = client.list_parts(Bucket=bucket, Key="big", UploadId=upload_id)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2, 3]
    finish(client, bucket, "big", upload_id, parts[1:])
    assert client.head_object(Bucket=bucket, Key="big")["ContentLength"] == PART + 3


def test_malformed_completion_body(
    server: ServerThread, client: Any, bucket: str
) -> None:
    """A body that is not a CompleteMultipartUpload document is MalformedXML."""
    upload_id = create(client, bucket)
    send_parts(client, bucket, "big", upload_id, {1: b"x"})
    for body in (b"", b"<CompleteMultipartUpload/>", b"not xml", b"<Other/>"):
        req = signed_request(
            server, "POST", f"/{bucket}/big?uploadId={upload_id}", body=body
        )
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req)
        assert exc.value.code == 400
        assert b"<Code>MalformedXML</Code>" in exc.value.read()
    assert_absent(client, bucket)


def test_completion_condition(client: Any, bucket: str) -> None:
    """If-None-Match: * on completion refuses to replace an object; upload stays."""
    client.put_object(Bucket=bucket, Key="big", Body=b"old")
    upload_id = create(client, bucket)
    parts = send_parts(client, bucket, "big", upload_id, {1: b"new"})
    with pytest.raises(ClientError) as exc:
        client.complete_multipart_upload(
            Bucket=bucket,
            Key="big",
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            IfNoneMatch="*",
        )
    assert error_code(exc) == ("PreconditionFailed", 412)
    assert client.get_object(Bucket=bucket, Key="big")["Body"].read() == b"old"
    finish(client, bucket, "big", upload_id, parts)
    assert client.get_object(Bucket=bucket, Key="big")["Body"].read() == b"new"


def _calls_on_upload(client: Any, bucket: str, key: str, uid: str) -> list[Any]:
    """Every request that names an upload, as callables."""
    return [
        lambda: client.upload_part(
            Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=b"x"
        ),
        lambda: client.list_parts(Bucket=bucket, Key=key, UploadId=uid),
        lambda: client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid),
        lambda: finish(client, bucket, key, uid, [{"PartNumber": 1, "ETag": '"x"'}]),
    ]


def test_unknown_uploads(client: Any, bucket: str) -> None:
    """Made-up ids, another key's id and finished uploads are NoSuchUpload."""
    upload_id = create(client, bucket)
    bogus = [("big", "0" * 52), ("big", "nonsense"), ("other", upload_id)]
    for key, uid in bogus:
        for call in _calls_on_upload(client, bucket, key, uid):
            with pytest.raises(ClientError) as exc:
                call()
            assert error_code(exc) == ("NoSuchUpload", 404)
    assert_absent(client, bucket, "other")
    parts = send_parts(client, bucket, "big", upload_id, {1: b"x"})
    finish(client, bucket, "big", upload_id, parts)
    with pytest.raises(ClientError) as exc:
        finish(client, bucket, "big", upload_id, parts)
    assert error_code(exc) == ("NoSuchUpload", 404)


def test_upload_part_errors(server: ServerThread, client: Any, bucket: str) -> None:
    """Bad part numbers and a wrong Content-MD5 store no part."""
    upload_id = create(client, bucket)
    for value in ("0", "10001", "one"):
        req = signed_request(
            server,
            "PUT",
            f"/{bucket}/big?partNumber={value}&uploadId={upload_id}",
            body=b"data",
        )
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req)
        assert exc.value.code == 400
        assert b"<Code>InvalidArgument</Code>" in exc.value.read()
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as err:
        client.upload_part(
            Bucket=bucket,
            Key="big",
            UploadId=upload_id,
            PartNumber=1,
            Body=b"data",
            ContentMD5=wrong,
        )
    assert error_code(err) == ("BadDigest", 400)
    assert (
        client.list_parts(Bucket=bucket, Key="big", UploadId=upload_id).get("Parts", [])
        == []
    )


def test_abort(client: Any, bucket: str) -> None:
    """An aborted upload is gone: its parts, its listing entry, and further parts."""
    upload_id = create(client, bucket)
    send_parts(client, bucket, "big", upload_id, {1: b"part"})
    response = client.abort_multipart_upload(
        Bucket=bucket, Key="big", UploadId=upload_id
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        client.abort_multipart_upload(Bucket=bucket, Key="big", UploadId=upload_id)
    assert error_code(exc) == ("NoSuchUpload", 404)
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert client.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_bucket_with_open_upload_is_not_empty(client: Any, bucket: str) -> None:
    """DeleteBucket refuses while an upload is open, and succeeds once aborted."""
    upload_id = create(client, bucket)
    with pytest.raises(ClientError) as exc:
        client.delete_bucket(Bucket=bucket)
    assert error_code(exc) == ("BucketNotEmpty", 409)
    client.abort_multipart_upload(Bucket=bucket, Key="big", UploadId=upload_id)
    client.delete_bucket(Bucket=bucket)


def test_readers_see_old_or_new_during_completion(client: Any, bucket: str) -> None:
    """While an upload completes over an object, reads get one or the other whole."""
    old = blob(3 * MIB, 0)
    client.put_object(Bucket=bucket, Key="big", Body=old)
    new_parts = [blob(PART, 1), blob(PART, 2), blob(MIB, 3)]
    new = b"".join(new_parts)
    upload_id = create(client, bucket)
    parts = send_parts(client, bucket, "big", upload_id, dict(enumerate(new_parts, 1)))
    seen: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            body = client.get_object(Bucket=bucket, Key="big")["Body"].read()
            seen.append("old" if body == old else "new" if body == new else "mixed")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        while not seen:
            stop.wait(0.01)
        finish(client, bucket, "big", upload_id, parts)
        count = len(seen)
        while len(seen) < count + 2:
            stop.wait(0.01)
    finally:
        stop.set()
        reader.join()
    assert "mixed" not in seen
    assert seen[0] == "old" and seen[-1] == "new"


def test_uploads_survive_a_restart(
    backend_kind: str, server_factory: Any, tmp_path: Path
) -> None:
    """An upload begun before a restart completes after it (filesystem backend)."""
    if backend_kind == "memory":
        pytest.skip("the memory backend keeps nothing across restarts by design")
    data_dir = tmp_path / "restart"
    first = server_factory(data_dir=data_dir)
    client = first.client()
    client.create_bucket(Bucket="durable")
    upload_id = create(client, "durable")
    parts = send_parts(client, "durable", "big", upload_id, {1: blob(PART, 1)})
    first.stop()
    second = server_factory(data_dir=data_dir, users=first.users)
    client = second.client()
    listed = client.list_multipart_uploads(Bucket="durable")["Uploads"]
    assert [u["UploadId"] for u in listed] == [upload_id]
    parts += send_parts(client, "durable", "big", upload_id, {2: b"after restart"})
    finish(client, "durable", "big", upload_id, parts)
    body = client.get_object(Bucket="durable", Key="big")["Body"].read()
    assert body == blob(PART, 1) + b"after restart"
