"""minio-py (MinIO's Python SDK) against the real server.

The shared scenario through minio's calls: make_bucket, put_object and
fput_object (multipart for a 20 MiB file), fget_object, list_objects with and
without recursion, stat_object, ranged get_object, copy_object,
presigned_get_object, remove_objects and remove_bucket. Settings: the
``host:port`` endpoint, ``secure=False``, the keys and ``region``. minio always
addresses an IP endpoint path-style. The SDK's auth tests (presigned URLs, wrong
secret) are in ``tests/integration/test_minio.py`` too.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

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
    seed_scenario,
    sha256_bytes,
    sha256_file,
    stored_keys,
    utf8_sorted,
)

minio = pytest.importorskip(
    "minio", reason="minio is not installed (pip install minio)"
)
from minio.commonconfig import CopySource  # noqa: E402
from minio.deleteobjects import DeleteObject  # noqa: E402
from minio.error import S3Error as MinioError  # noqa: E402

CLIENT = "minio-py"
# Where tools/client_matrix.py reads the versions this ran with.
VERSIONS = ("pip:minio",)
EXERCISED = (
    "make_bucket, bucket_exists, list_buckets, put_object, fput_object (20 MiB "
    "multipart), fget_object, get_object (whole and offset/length), list_objects (one "
    "level and recursive), stat_object, copy_object, presigned_get_object + curl, "
    "remove_objects, remove_bucket; errors NoSuchKey, BucketNotEmpty, "
    "SignatureDoesNotMatch"
)
SETTINGS = (
    "`Minio('127.0.0.1:PORT', access_key=..., secret_key=..., secure=False, "
    "region='us-east-1')`; without `region` minio first asks GetBucketLocation, "
    "which the server answers",
)
CANNOT: dict[str, str] = {}

BUCKET = "minio-bucket"


def _minio(server: ServerThread, secret: str = SECRET_KEY, **extra: Any) -> Any:
    return minio.Minio(
        f"{server.host}:{server.port}",
        access_key=ACCESS_KEY,
        secret_key=secret,
        secure=False,
        **extra,
    )


@pytest.fixture
def mc(server: ServerThread) -> Any:
    """A minio client on the test server."""
    return _minio(server, region=REGION)


@pytest.fixture
def seeded(oracle: Any) -> dict[str, bytes]:
    """The scenario bucket, filled with boto3 (minio's own puts have a test)."""
    return seed_scenario(oracle, BUCKET)


def _read(mc: Any, key: str, **ranged: int) -> bytes:
    response = mc.get_object(BUCKET, key, **ranged)
    try:
        return bytes(response.read())
    finally:
        response.close()
        response.release_conn()


def test_make_bucket_exists_and_remove(server: ServerThread, oracle: Any) -> None:
    """make_bucket, bucket_exists and remove_bucket; also with no region given."""
    # Without a region minio asks GetBucketLocation before anything else.
    mc = _minio(server)
    mc.make_bucket(BUCKET)
    assert mc.bucket_exists(BUCKET)
    assert BUCKET in [b.name for b in mc.list_buckets()]
    mc.remove_bucket(BUCKET)
    assert not mc.bucket_exists(BUCKET)
    assert BUCKET not in bucket_names(oracle)


def test_put_object_every_key_and_get_it_back(mc: Any, oracle: Any) -> None:
    """put_object stores every scenario key as named; get_object gives the bytes."""
    mc.make_bucket(BUCKET)
    for key in SCENARIO_KEYS:
        body = scenario_body(key)
        mc.put_object(BUCKET, key, io.BytesIO(body), length=len(body))
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)
    for key in SCENARIO_KEYS:
        assert sha256_bytes(_read(mc, key)) == sha256_bytes(scenario_body(key)), key


def test_fput_object_multipart_and_fget_object(
    mc: Any, big_file: BigFile, oracle: Any, tmp_path: Path
) -> None:
    """fput_object sends 20 MiB in four 5 MiB parts; fget_object gives the SHA-256."""
    mc.make_bucket(BUCKET)
    mc.fput_object(BUCKET, "big/big file.bin", str(big_file.path))
    # minio's part size for a known length is the smallest multiple of 5 MiB
    # that fits 10000 parts: 5 MiB here, so 4 parts.
    head = oracle.head_object(Bucket=BUCKET, Key="big/big file.bin")
    assert (head["ContentLength"], head["ETag"][-3:]) == (big_file.size, '-4"')
    dest = tmp_path / "big.got"
    mc.fget_object(BUCKET, "big/big file.bin", str(dest))
    assert sha256_file(dest) == big_file.sha256


def test_list_objects_with_and_without_recursion(
    mc: Any, seeded: dict[str, bytes]
) -> None:
    """list_objects lists one level (prefixes as dirs); recursive lists every key."""
    top = list(mc.list_objects(BUCKET))
    assert [o.object_name for o in top if not o.is_dir] == list(TOP_LEVEL_OBJECTS)
    assert [o.object_name for o in top if o.is_dir] == list(TOP_LEVEL_PREFIXES)
    nested = list(mc.list_objects(BUCKET, prefix="nested/"))
    assert [(o.object_name, o.is_dir) for o in nested] == [
        *((k, False) for k in NESTED_OBJECTS),
        *((p, True) for p in NESTED_PREFIXES),
    ]
    every = [o.object_name for o in mc.list_objects(BUCKET, recursive=True)]
    assert every == utf8_sorted(SCENARIO_KEYS)


def test_stat_and_ranged_get_object(mc: Any, seeded: dict[str, bytes]) -> None:
    """stat_object gives size and ETag; get_object(offset, length) that range."""
    key = "unicodé/ñandú 文件.txt"
    body = seeded[key]
    stat = mc.stat_object(BUCKET, key)
    assert stat.size == len(body)
    assert _read(mc, key, offset=7, length=20) == body[7:27]


def test_copy_object(mc: Any, seeded: dict[str, bytes]) -> None:
    """copy_object copies a '+' key to a '%' key on the server with the same bytes."""
    mc.copy_object(BUCKET, "copies/100% copy+.txt", CopySource(BUCKET, "plus+sign.txt"))
    assert _read(mc, "copies/100% copy+.txt") == seeded["plus+sign.txt"]


def test_presigned_get_object_fetched_with_curl(
    mc: Any, seeded: dict[str, bytes], tmp_path: Path
) -> None:
    """A presigned_get_object URL fetched by curl gives the object's bytes."""
    key = "100% done.txt"
    url = mc.presigned_get_object(BUCKET, key, expires=dt.timedelta(minutes=10))
    got = curl(url, tmp_path)
    assert (got.status, got.body) == (200, seeded[key])


def test_remove_objects_recursively_and_remove_bucket(
    mc: Any, seeded: dict[str, bytes], oracle: Any
) -> None:
    """remove_objects over a recursive listing empties the bucket; then it goes."""
    listed = mc.list_objects(BUCKET, recursive=True)
    failures = list(
        mc.remove_objects(BUCKET, (DeleteObject(o.object_name) for o in listed))
    )
    assert failures == []
    assert stored_keys(oracle, BUCKET) == []
    mc.remove_bucket(BUCKET)
    assert BUCKET not in bucket_names(oracle)


def test_errors_carry_s3_codes(
    server: ServerThread, mc: Any, seeded: dict[str, bytes], oracle: Any
) -> None:
    """minio's S3Error names NoSuchKey, BucketNotEmpty and SignatureDoesNotMatch."""
    with pytest.raises(MinioError) as caught:
        mc.get_object(BUCKET, "no such key")
    assert (caught.value.code, caught.value.response.status) == ("NoSuchKey", 404)
    with pytest.raises(MinioError) as caught:
        mc.remove_bucket(BUCKET)
    assert (caught.value.code, caught.value.response.status) == ("BucketNotEmpty", 409)
    bad = _minio(server, WRONG_SECRET, region=REGION)
    with pytest.raises(MinioError) as caught:
        bad.put_object(BUCKET, "small.txt", io.BytesIO(b"x"), length=1)
    assert caught.value.code == "SignatureDoesNotMatch"
    assert (
        oracle.get_object(Bucket=BUCKET, Key="small.txt")["Body"].read()
        == (seeded["small.txt"])
    )
