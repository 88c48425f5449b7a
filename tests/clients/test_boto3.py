"""boto3 (the AWS SDK for Python) against the real server: client and resource APIs.

The shared scenario through boto3's low-level client (put/get/head/copy/delete,
ranged GetObject, DeleteObjects), its paginators and waiters, s3transfer's managed
``upload_file`` / ``download_file`` / ``copy`` (multipart over 8 MiB), the
resource API (``Bucket``, ``Object``, collections and their batch ``delete``) and
presigned GET, PUT and POST fetched with curl. Settings: ``endpoint_url``, the
keys and ``region_name`` only; with an IP-address endpoint botocore addresses
buckets path-style by itself. CI also runs this module with the newest boto3
release, so a breaking SDK change shows up here first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from s3server.server import ServerThread
from tests.clients.conftest import (
    ACCESS_KEY,
    NESTED_OBJECTS,
    NESTED_PREFIXES,
    REGION,
    SCENARIO_KEYS,
    SECRET_KEY,
    TOP_LEVEL_OBJECTS,
    TOP_LEVEL_PREFIXES,
    WRONG_SECRET,
    BigFile,
    bucket_names,
    curl,
    scenario_body,
    sha256_bytes,
    sha256_file,
    stored_keys,
    utf8_sorted,
)

CLIENT = "boto3"
# Where tools/client_matrix.py reads the versions this ran with.
VERSIONS = ("pip:boto3", "pip:botocore", "pip:s3transfer")
EXERCISED = (
    "client API: create_bucket, put_object, get_object (whole and Range), "
    "copy_object, delete_objects, delete_bucket; paginators list_objects_v2 and "
    "list_objects, with and without Delimiter; waiters bucket_exists, "
    "bucket_not_exists, object_exists, object_not_exists; s3transfer upload_file (20 "
    "MiB, multipart), download_file, copy (UploadPartCopy); resource API: Bucket, "
    "Object, copy_from, collections and their batch delete; presigned GET, PUT and "
    "POST used by curl; errors NoSuchKey, BucketNotEmpty, BucketAlreadyOwnedByYou, "
    "SignatureDoesNotMatch"
)
SETTINGS = (
    "`endpoint_url='http://127.0.0.1:PORT'`, `region_name='us-east-1'` and the "
    "keys; nothing else (an IP endpoint makes botocore address path-style)",
    "with `http://localhost:PORT` botocore addresses `bucket.localhost`, which the "
    "server also serves (`--domain`)",
)
CANNOT: dict[str, str] = {}

BUCKET = "boto3-bucket"

pytestmark = pytest.mark.usefixtures("clean_aws_env")


def _session(secret: str = SECRET_KEY) -> Any:
    return boto3.session.Session(
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=secret,
        region_name=REGION,
    )


# One attempt: a failure shows at once instead of after botocore's retries.
_CONFIG = Config(retries={"max_attempts": 1})


@pytest.fixture
def s3(server: ServerThread) -> Any:
    """A boto3 client configured as a user would: endpoint, keys, region."""
    return _session().client("s3", endpoint_url=server.endpoint_url, config=_CONFIG)


@pytest.fixture
def resource(server: ServerThread) -> Any:
    """A boto3 resource configured the same way."""
    return _session().resource("s3", endpoint_url=server.endpoint_url, config=_CONFIG)


@pytest.fixture
def filled(s3: Any) -> dict[str, bytes]:
    """The scenario bucket, made and filled with the client API (put_object)."""
    s3.create_bucket(Bucket=BUCKET)
    files = {key: scenario_body(key) for key in SCENARIO_KEYS}
    for key, body in files.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return files


def _error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_bucket_created_waited_for_and_deleted(s3: Any) -> None:
    """create_bucket, the bucket_exists waiter, delete_bucket, bucket_not_exists."""
    s3.create_bucket(Bucket=BUCKET)
    s3.get_waiter("bucket_exists").wait(Bucket=BUCKET)
    assert BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.delete_bucket(Bucket=BUCKET)
    s3.get_waiter("bucket_not_exists").wait(Bucket=BUCKET)
    assert BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_put_and_get_every_scenario_key(
    s3: Any, filled: dict[str, bytes], oracle: Any
) -> None:
    """put_object stores every key as named; get_object gives the same SHA-256."""
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)
    for key, body in filled.items():
        s3.get_waiter("object_exists").wait(Bucket=BUCKET, Key=key)
        got = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert sha256_bytes(got) == sha256_bytes(body), key


def test_upload_file_multipart_and_download_file(
    s3: Any, big_file: BigFile, oracle: Any, tmp_path: Path
) -> None:
    """upload_file sends 20 MiB as three 8 MiB-chunk parts; download_file matches."""
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(big_file.path), BUCKET, "big/big file.bin")
    # s3transfer's multipart_threshold and chunk size are 8 MiB: 8 + 8 + 4 MiB,
    # and a multipart object's ETag ends in "-<part count>".
    head = oracle.head_object(Bucket=BUCKET, Key="big/big file.bin")
    assert (head["ContentLength"], head["ETag"][-3:]) == (big_file.size, '-3"')
    dest = tmp_path / "big.got"
    # download_file reads the object in concurrent ranged GETs.
    s3.download_file(BUCKET, "big/big file.bin", str(dest))
    assert sha256_file(dest) == big_file.sha256


def test_managed_copy_of_a_large_object_uses_upload_part_copy(
    s3: Any, big_file: BigFile, oracle: Any
) -> None:
    """s3transfer's copy of 20 MiB goes as UploadPartCopy parts with equal bytes."""
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(big_file.path), BUCKET, "big.bin")
    s3.copy({"Bucket": BUCKET, "Key": "big.bin"}, BUCKET, "copies/big+copy.bin")
    head = oracle.head_object(Bucket=BUCKET, Key="copies/big+copy.bin")
    assert head["ETag"].endswith('-3"')
    body = oracle.get_object(Bucket=BUCKET, Key="copies/big+copy.bin")["Body"]
    assert sha256_bytes(body.read()) == big_file.sha256


def test_paginated_listings_with_and_without_delimiter(
    s3: Any, filled: dict[str, bytes]
) -> None:
    """ListObjectsV2 and ListObjects paginators (3 a page) give every key in order."""
    for operation in ("list_objects_v2", "list_objects"):
        paginator = s3.get_paginator(operation)
        pages = list(
            paginator.paginate(Bucket=BUCKET, PaginationConfig={"PageSize": 3})
        )
        assert len(pages) == 3, operation
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        assert keys == utf8_sorted(SCENARIO_KEYS), operation
        for prefix, objects, prefixes in (
            ("", TOP_LEVEL_OBJECTS, TOP_LEVEL_PREFIXES),
            ("nested/", NESTED_OBJECTS, NESTED_PREFIXES),
        ):
            pages = list(
                paginator.paginate(
                    Bucket=BUCKET,
                    Prefix=prefix,
                    Delimiter="/",
                    PaginationConfig={"PageSize": 3},
                )
            )
            got_keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
            got_prefixes = [
                c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])
            ]
            assert (got_keys, got_prefixes) == (list(objects), list(prefixes))


def test_ranged_get(s3: Any, filled: dict[str, bytes]) -> None:
    """GetObject with Range answers 206 with exactly those bytes and Content-Range."""
    key = "unicodé/ñandú 文件.txt"
    body = filled[key]
    got = s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=7-26")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes 7-26/{len(body)}"
    assert got["Body"].read() == body[7:27]
    tail = s3.get_object(Bucket=BUCKET, Key=key, Range="bytes=-10")
    assert tail["Body"].read() == body[-10:]


def test_copy_object(s3: Any, filled: dict[str, bytes]) -> None:
    """copy_object from a '%' key to a new '+' key copies the bytes on the server."""
    s3.copy_object(
        Bucket=BUCKET,
        Key="copies/copy+of 100%.txt",
        CopySource={"Bucket": BUCKET, "Key": "100% done.txt"},
    )
    got = s3.get_object(Bucket=BUCKET, Key="copies/copy+of 100%.txt")["Body"].read()
    assert got == filled["100% done.txt"]


@pytest.mark.parametrize(
    "key", ["plus+sign.txt", "unicodé/ñandú 文件.txt"], ids=["plus", "unicode"]
)
def test_presigned_get_fetched_with_curl(
    s3: Any, filled: dict[str, bytes], tmp_path: Path, key: str
) -> None:
    """A presigned GET URL fetched by curl gives the object's bytes."""
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600
    )
    got = curl(url, tmp_path)
    assert (got.status, got.body) == (200, filled[key])


def test_presigned_put_and_post_uploaded_with_curl(
    s3: Any, oracle: Any, tmp_path: Path
) -> None:
    """curl uploads through a presigned PUT URL and a presigned POST form."""
    s3.create_bucket(Bucket=BUCKET)
    source = tmp_path / "upload.txt"
    source.write_bytes(b"sent by curl\n" * 100)
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": "put/with space.txt"}
    )
    assert curl(url, tmp_path, "--upload-file", str(source)).status == 200
    post = s3.generate_presigned_post(BUCKET, "post/${filename}", ExpiresIn=600)
    fields = [f"{name}={value}" for name, value in post["fields"].items()]
    form = [arg for field in fields for arg in ("--form-string", field)]
    sent = curl(post["url"], tmp_path, *form, "--form", f"file=@{source}")
    # POST Object answers 204 No Content unless success_action_status says more.
    assert sent.status == 204
    for key in ("put/with space.txt", "post/upload.txt"):
        got = oracle.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert got == source.read_bytes(), key


def test_resource_api_round_trip(resource: Any, oracle: Any) -> None:
    """Bucket/Object resources: create, put, filter, copy_from, batch delete."""
    bucket = resource.Bucket(BUCKET)
    bucket.create()
    bucket.wait_until_exists()
    for key in SCENARIO_KEYS:
        bucket.put_object(Key=key, Body=scenario_body(key))
    nested = [o.key for o in bucket.objects.filter(Prefix="nested/")]
    assert nested == utf8_sorted(k for k in SCENARIO_KEYS if k.startswith("nested/"))
    copy = resource.Object(BUCKET, "copies/small copy.txt")
    copy.copy_from(CopySource={"Bucket": BUCKET, "Key": "small.txt"})
    assert copy.get()["Body"].read() == scenario_body("small.txt")
    assert copy.content_length == len(scenario_body("small.txt"))
    # The collection's delete() is DeleteObjects, one request per page of keys.
    bucket.objects.all().delete()
    assert stored_keys(oracle, BUCKET) == []
    bucket.delete()
    bucket.wait_until_not_exists()


def test_delete_recursively_and_remove_bucket(
    s3: Any, filled: dict[str, bytes], oracle: Any
) -> None:
    """DeleteObjects over every listed page empties the bucket; then it is removed."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        answer = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})
        assert "Errors" not in answer
        assert len(answer["Deleted"]) == len(keys)
    s3.get_waiter("object_not_exists").wait(Bucket=BUCKET, Key="small.txt")
    s3.delete_bucket(Bucket=BUCKET)
    assert BUCKET not in bucket_names(oracle)


def test_errors_carry_s3_codes(s3: Any, filled: dict[str, bytes], oracle: Any) -> None:
    """NoSuchKey, BucketNotEmpty and BucketAlreadyOwnedByYou reach ClientError."""
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=BUCKET, Key="no such key")
    assert _error(caught) == ("NoSuchKey", 404)
    assert str(caught.value) == (
        "An error occurred (NoSuchKey) when calling the GetObject operation: "
        "The specified key does not exist."
    )
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket=BUCKET)
    assert _error(caught) == ("BucketNotEmpty", 409)
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket=BUCKET)
    assert _error(caught) == ("BucketAlreadyOwnedByYou", 409)
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)


def test_wrong_secret_is_signature_does_not_match(
    server: ServerThread, oracle: Any
) -> None:
    """With a wrong secret put_object fails SignatureDoesNotMatch; nothing stored."""
    oracle.create_bucket(Bucket=BUCKET)
    bad = _session(WRONG_SECRET).client(
        "s3", endpoint_url=server.endpoint_url, config=_CONFIG
    )
    with pytest.raises(ClientError) as caught:
        bad.put_object(Bucket=BUCKET, Key="small.txt", Body=b"x")
    assert _error(caught) == ("SignatureDoesNotMatch", 403)
    assert stored_keys(oracle, BUCKET) == []
