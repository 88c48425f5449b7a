"""s3fs (fsspec over aiobotocore) and pandas against the real server.

The shared scenario through s3fs's filesystem calls (mkdir, put, get, ls, find,
cat_file ranges, copy, url, rm, rmdir), then pandas reading and writing CSV and
Parquet at ``s3://`` URLs with ``storage_options``. Settings: ``endpoint_url``,
``key`` and ``secret`` only. Passing ``client_kwargs={"region_name": "us-east-1"}``
breaks bucket creation: s3fs then sends that region as the LocationConstraint,
which S3 rejects in us-east-1 (shown by a test below).
"""

from __future__ import annotations

import errno
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
    curl_get,
    read_tree,
    sha256_bytes,
    stored_keys,
    utf8_sorted,
    write_scenario_tree,
)

s3fs = pytest.importorskip("s3fs", reason="s3fs is not installed (pip install s3fs)")

CLIENT = "s3fs + pandas"
# Where tools/client_matrix.py reads the versions this ran with.
VERSIONS = ("pip:s3fs", "pip:aiobotocore", "pip:pandas")
EXERCISED = (
    "mkdir, put (recursive), get, cat_file (whole and start/end), open for write (20 "
    "MiB, multipart) and seek + read, ls, find, copy, url + curl, rm recursive of a "
    "bucket, rmdir; pandas to_csv / read_csv and to_parquet / read_parquet at s3:// "
    "URLs; errors SignatureDoesNotMatch (PermissionError), NoSuchKey "
    "(FileNotFoundError), InvalidLocationConstraint"
)
SETTINGS = (
    "`storage_options={'endpoint_url': 'http://127.0.0.1:PORT', 'key': ..., "
    "'secret': ...}`",
    "no `client_kwargs={'region_name': 'us-east-1'}`: s3fs then sends us-east-1 "
    "as the LocationConstraint, which S3 rejects (InvalidLocationConstraint), and "
    "`mkdir` of a bucket fails with `OSError: [Errno 22] The specified "
    "location-constraint is not valid`",
)
CANNOT: dict[str, str] = {}

BUCKET = "s3fs-bucket"
PART = 5 * 1024 * 1024

pytestmark = pytest.mark.usefixtures("clean_aws_env")


def _options(server: ServerThread, secret: str = SECRET_KEY) -> dict[str, Any]:
    return {"endpoint_url": server.endpoint_url, "key": ACCESS_KEY, "secret": secret}


def _filesystem(server: ServerThread, **extra: Any) -> Any:
    # A fresh instance per test: fsspec caches instances and their listings.
    return s3fs.S3FileSystem(skip_instance_cache=True, **_options(server), **extra)


@pytest.fixture
def fs(server: ServerThread) -> Any:
    """An s3fs filesystem on the test server."""
    return _filesystem(server)


@pytest.fixture
def filled(fs: Any, tmp_path: Path) -> dict[str, bytes]:
    """The scenario bucket, made and filled by s3fs (mkdir, put recursive)."""
    fs.mkdir(BUCKET)
    tree = tmp_path / "tree"
    files = write_scenario_tree(tree)
    fs.put(f"{tree}/", f"{BUCKET}/", recursive=True)
    fs.invalidate_cache()
    return files


def _codes(exc: BaseException | None) -> list[str]:
    """The S3 error codes of the botocore errors in an exception's chain."""
    codes = []
    while exc is not None:
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            codes.append(response["Error"]["Code"])
        exc = exc.__cause__ or exc.__context__
    return codes


def test_mkdir_ls_rmdir_bucket(fs: Any, oracle: Any) -> None:
    """mkdir makes the bucket, ls("") lists it, rmdir removes it."""
    fs.mkdir(BUCKET)
    assert BUCKET in fs.ls("", refresh=True)
    fs.rmdir(BUCKET)
    assert BUCKET not in bucket_names(oracle)


def test_put_recursive_and_get_every_key(
    fs: Any, filled: dict[str, bytes], oracle: Any, tmp_path: Path
) -> None:
    """put stores every key as named; cat and get return the same SHA-256."""
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)
    for key, body in filled.items():
        assert sha256_bytes(fs.cat_file(f"{BUCKET}/{key}")) == sha256_bytes(body)
    down = tmp_path / "down"
    fs.get(f"{BUCKET}/", f"{down}/", recursive=True)
    assert read_tree(down) == filled


def test_large_write_goes_multipart(fs: Any, big_file: BigFile, oracle: Any) -> None:
    """20 MiB written through a 5 MiB block size is a 4-part upload, read back whole."""
    fs.mkdir(BUCKET)
    with (
        big_file.path.open("rb") as src,
        fs.open(f"{BUCKET}/big.bin", "wb", block_size=PART) as dst,
    ):
        for block in iter(lambda: src.read(1 << 20), b""):
            dst.write(block)
    assert oracle.head_object(Bucket=BUCKET, Key="big.bin")["ETag"].endswith('-4"')
    with fs.open(f"{BUCKET}/big.bin", "rb") as f:
        assert sha256_bytes(f.read()) == big_file.sha256


def test_ls_with_delimiter_and_find_without(fs: Any, filled: dict[str, bytes]) -> None:
    """ls lists one level (prefixes as directories); find lists every key."""
    top = fs.ls(BUCKET, detail=True)
    assert sorted(e["name"] for e in top if e["type"] == "file") == sorted(
        f"{BUCKET}/{k}" for k in TOP_LEVEL_OBJECTS
    )
    assert sorted(e["name"] for e in top if e["type"] == "directory") == sorted(
        f"{BUCKET}/{p.rstrip('/')}" for p in TOP_LEVEL_PREFIXES
    )
    nested = fs.ls(f"{BUCKET}/nested/", detail=True)
    assert sorted((e["name"], e["type"]) for e in nested) == sorted(
        [(f"{BUCKET}/{k}", "file") for k in NESTED_OBJECTS]
        + [(f"{BUCKET}/{p.rstrip('/')}", "directory") for p in NESTED_PREFIXES]
    )
    assert fs.find(BUCKET) == [f"{BUCKET}/{k}" for k in utf8_sorted(SCENARIO_KEYS)]


def test_ranged_reads(fs: Any, filled: dict[str, bytes]) -> None:
    """cat_file(start, end) and seek+read on an open file return that byte range."""
    key = "unicodé/ñandú 文件.txt"
    body = filled[key]
    assert fs.cat_file(f"{BUCKET}/{key}", start=7, end=27) == body[7:27]
    with fs.open(f"{BUCKET}/{key}", "rb", block_size=64, cache_type="none") as f:
        f.seek(len(body) - 10)
        assert f.read() == body[-10:]


def test_copy_on_the_server(fs: Any, filled: dict[str, bytes]) -> None:
    """copy makes a server-side copy (CopyObject) with the same bytes."""
    fs.copy(f"{BUCKET}/100% done.txt", f"{BUCKET}/copies/100% done copy.txt")
    assert fs.cat_file(f"{BUCKET}/copies/100% done copy.txt") == filled["100% done.txt"]


def test_url_presigned_fetched_with_curl(
    fs: Any, filled: dict[str, bytes], tmp_path: Path
) -> None:
    """fs.url() gives a presigned URL that curl fetches with the object's bytes."""
    key = "plus+sign.txt"
    got = curl_get(fs.url(f"{BUCKET}/{key}", expires=600), tmp_path)
    assert (got.status, got.body) == (200, filled[key])


def test_rm_recursive_removes_objects_and_bucket(
    fs: Any, filled: dict[str, bytes], oracle: Any
) -> None:
    """rm(bucket, recursive=True) deletes every object, then the bucket."""
    # s3fs asks GetBucketVersioning first (to know whether versions must go too).
    fs.rm(BUCKET, recursive=True)
    assert BUCKET not in bucket_names(oracle)


def test_pandas_csv_and_parquet_round_trip(server: ServerThread, fs: Any) -> None:
    """pandas writes and reads CSV and Parquet at s3:// URLs unchanged."""
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    pytest.importorskip("pyarrow", reason="pyarrow (pandas' Parquet engine) missing")
    fs.mkdir(BUCKET)
    options = _options(server)
    frame = pd.DataFrame(
        {"n": [1, 2, 3], "word": ["plain", "ümlaut", "with, comma"], "x": [0.5, 1, 2]}
    )
    frame.to_csv(
        f"s3://{BUCKET}/tables/frame one.csv", index=False, storage_options=options
    )
    back = pd.read_csv(f"s3://{BUCKET}/tables/frame one.csv", storage_options=options)
    pd.testing.assert_frame_equal(back, frame)
    frame.to_parquet(f"s3://{BUCKET}/tables/frame+1.parquet", storage_options=options)
    back = pd.read_parquet(
        f"s3://{BUCKET}/tables/frame+1.parquet", storage_options=options
    )
    pd.testing.assert_frame_equal(back, frame)


def test_wrong_secret_raises_permission_error_with_code(server: ServerThread) -> None:
    """A wrong secret is PermissionError caused by S3's SignatureDoesNotMatch."""
    _filesystem(server).mkdir(BUCKET)
    bad = s3fs.S3FileSystem(skip_instance_cache=True, **_options(server, WRONG_SECRET))
    with pytest.raises(PermissionError) as caught:
        bad.ls(BUCKET)
    assert "signature we calculated does not match" in str(caught.value)
    assert _codes(caught.value) == ["SignatureDoesNotMatch"]


def test_missing_key_raises_file_not_found_with_code(
    fs: Any, filled: dict[str, bytes], tmp_path: Path
) -> None:
    """get_file of a missing key is FileNotFoundError caused by S3's NoSuchKey."""
    with pytest.raises(FileNotFoundError) as caught:
        fs.get_file(f"{BUCKET}/no such key", str(tmp_path / "nothing"))
    assert "The specified key does not exist." in str(caught.value)
    assert _codes(caught.value) == ["NoSuchKey"]


def test_region_us_east_1_in_client_kwargs_breaks_mkdir(
    server: ServerThread, oracle: Any
) -> None:
    """With region_name us-east-1, mkdir fails with S3's InvalidLocationConstraint."""
    fs = _filesystem(server, client_kwargs={"region_name": REGION})
    with pytest.raises(OSError) as caught:
        fs.mkdir(BUCKET)
    # "LocationConstraint ... us-east-1 ... is not a valid value": AWS answers
    # InvalidLocationConstraint, and so does this server; s3fs maps it to EINVAL.
    assert caught.value.errno == errno.EINVAL
    assert _codes(caught.value) == ["InvalidLocationConstraint"]
    assert BUCKET not in bucket_names(oracle)
