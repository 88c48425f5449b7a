"""pyarrow.fs.S3FileSystem (the AWS SDK for C++ inside Arrow) against the server.

The shared scenario through Arrow's filesystem API (create_dir, output and input
streams, get_file_info with and without recursion, read_at ranges, copy_file,
delete_dir), then a Parquet dataset written and read with pyarrow.dataset.
Settings: ``endpoint_override``, ``scheme="http"``, ``region``, and
``allow_bucket_creation`` / ``allow_bucket_deletion`` for the bucket steps. Arrow
writes every file through a multipart upload, however small.
"""

from __future__ import annotations

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
    scenario_body,
    sha256_bytes,
    stored_keys,
    utf8_sorted,
)

pa = pytest.importorskip(
    "pyarrow", reason="pyarrow is not installed (pip install pyarrow)"
)
pafs = pytest.importorskip("pyarrow.fs", reason="pyarrow was built without S3 support")
if not hasattr(pafs, "S3FileSystem"):
    pytest.skip("pyarrow was built without S3 support", allow_module_level=True)

CLIENT = "pyarrow S3FileSystem (AWS SDK for C++)"
# Where tools/client_matrix.py reads the versions this ran with.
VERSIONS = ("pip:pyarrow",)
EXERCISED = (
    "create_dir (bucket), open_output_stream (every write is a multipart upload; 20 "
    "MiB), open_input_stream, open_input_file + read_at (range), get_file_info (flat "
    "and recursive FileSelector), copy_file, delete_dir_contents, delete_dir; "
    "pyarrow.parquet write_to_dataset (hive partitions) read back with "
    "pyarrow.dataset; errors SIGNATURE_DOES_NOT_MATCH, missing key"
)
SETTINGS = (
    "`S3FileSystem(endpoint_override='127.0.0.1:PORT', scheme='http', "
    "region='us-east-1', access_key=..., secret_key=...)`",
    "`allow_bucket_creation=True`, `allow_bucket_deletion=True` for bucket "
    "create/delete (Arrow refuses otherwise)",
)
CANNOT = {"presigned GET": "pyarrow.fs has no presign API"}

BUCKET = "arrow-bucket"

pytestmark = pytest.mark.usefixtures("clean_aws_env")


def _filesystem(server: ServerThread, secret: str = SECRET_KEY) -> Any:
    return pafs.S3FileSystem(
        access_key=ACCESS_KEY,
        secret_key=secret,
        endpoint_override=f"{server.host}:{server.port}",
        scheme="http",
        region=REGION,
        allow_bucket_creation=True,
        allow_bucket_deletion=True,
        # One attempt: errors show at once (the default retries with back-off).
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1),
    )


@pytest.fixture
def fs(server: ServerThread) -> Any:
    """An Arrow S3 filesystem on the test server."""
    return _filesystem(server)


def _write(fs: Any, path: str, data: bytes) -> None:
    with fs.open_output_stream(path) as out:
        out.write(data)


def _read(fs: Any, path: str) -> bytes:
    with fs.open_input_stream(path) as f:
        return bytes(f.read())


@pytest.fixture
def filled(fs: Any) -> dict[str, bytes]:
    """The scenario bucket, made and filled by Arrow (create_dir, output streams)."""
    fs.create_dir(BUCKET)
    files = {key: scenario_body(key) for key in SCENARIO_KEYS}
    for key, body in files.items():
        _write(fs, f"{BUCKET}/{key}", body)
    return files


def test_create_and_delete_bucket(fs: Any, oracle: Any) -> None:
    """create_dir makes the bucket, listing the root shows it, delete_dir removes it."""
    fs.create_dir(BUCKET)
    root = fs.get_file_info(pafs.FileSelector(""))
    assert BUCKET in [info.path for info in root]
    fs.delete_dir(BUCKET)
    assert BUCKET not in bucket_names(oracle)


def test_write_and_read_every_key(
    fs: Any, filled: dict[str, bytes], oracle: Any
) -> None:
    """Output streams store every key as named; input streams give the same SHA-256."""
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)
    for key, body in filled.items():
        assert sha256_bytes(_read(fs, f"{BUCKET}/{key}")) == sha256_bytes(body)


def test_large_write_is_multipart(fs: Any, big_file: BigFile, oracle: Any) -> None:
    """A 20 MiB output stream is a multipart upload read back with the same SHA-256."""
    fs.create_dir(BUCKET)
    with (
        big_file.path.open("rb") as src,
        fs.open_output_stream(f"{BUCKET}/big.bin") as out,
    ):
        for block in iter(lambda: src.read(1 << 20), b""):
            out.write(block)
    assert "-" in oracle.head_object(Bucket=BUCKET, Key="big.bin")["ETag"]
    assert sha256_bytes(_read(fs, f"{BUCKET}/big.bin")) == big_file.sha256


def test_file_info_with_and_without_recursion(
    fs: Any, filled: dict[str, bytes]
) -> None:
    """A flat selector lists one level; a recursive one lists every key."""
    top = fs.get_file_info(pafs.FileSelector(BUCKET))
    assert sorted(i.path for i in top if i.type == pafs.FileType.File) == sorted(
        f"{BUCKET}/{k}" for k in TOP_LEVEL_OBJECTS
    )
    assert sorted(i.path for i in top if i.type == pafs.FileType.Directory) == sorted(
        f"{BUCKET}/{p.rstrip('/')}" for p in TOP_LEVEL_PREFIXES
    )
    nested = fs.get_file_info(pafs.FileSelector(f"{BUCKET}/nested"))
    assert sorted((i.path, i.type) for i in nested) == sorted(
        [(f"{BUCKET}/{k}", pafs.FileType.File) for k in NESTED_OBJECTS]
        + [
            (f"{BUCKET}/{p.rstrip('/')}", pafs.FileType.Directory)
            for p in NESTED_PREFIXES
        ]
    )
    deep = fs.get_file_info(pafs.FileSelector(BUCKET, recursive=True))
    assert sorted(i.path for i in deep if i.type == pafs.FileType.File) == sorted(
        f"{BUCKET}/{k}" for k in SCENARIO_KEYS
    )


def test_read_at_is_a_ranged_read(fs: Any, filled: dict[str, bytes]) -> None:
    """read_at(n, offset) on a random-access file returns exactly that range."""
    key = "with space.txt"
    with fs.open_input_file(f"{BUCKET}/{key}") as f:
        assert f.size() == len(filled[key])
        assert bytes(f.read_at(20, 7)) == filled[key][7:27]


def test_copy_file_on_the_server(fs: Any, filled: dict[str, bytes]) -> None:
    """copy_file makes a server-side copy (CopyObject) with the same bytes."""
    fs.copy_file(f"{BUCKET}/plus+sign.txt", f"{BUCKET}/copies/plus+sign copy.txt")
    assert _read(fs, f"{BUCKET}/copies/plus+sign copy.txt") == filled["plus+sign.txt"]


def test_parquet_dataset_round_trip(fs: Any) -> None:
    """A partitioned Parquet dataset written to S3 reads back equal and is listed."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    fs.create_dir(BUCKET)
    table = pa.table({"city": ["Zürich", "Oslo", "Zürich"], "n": [1, 2, 3]})
    pq.write_to_dataset(
        table, f"{BUCKET}/tables/cities", partition_cols=["city"], filesystem=fs
    )
    files = fs.get_file_info(pafs.FileSelector(f"{BUCKET}/tables", recursive=True))
    parts = {i.path.split("/")[3] for i in files if i.type == pafs.FileType.File}
    # Arrow percent-encodes hive partition values (segment_encoding="uri"): the
    # key holds a literal '%', which must list and read back as written.
    assert parts == {"city=Oslo", "city=Z%C3%BCrich"}
    back = ds.dataset(
        f"{BUCKET}/tables/cities", filesystem=fs, format="parquet", partitioning="hive"
    ).to_table()
    assert sorted(
        zip(back["city"].to_pylist(), back["n"].to_pylist(), strict=True)
    ) == [
        ("Oslo", 2),
        ("Zürich", 1),
        ("Zürich", 3),
    ]


def test_delete_dir_contents_then_bucket(
    fs: Any, filled: dict[str, bytes], oracle: Any
) -> None:
    """delete_dir_contents empties the bucket recursively; delete_dir removes it."""
    fs.delete_dir_contents(BUCKET)
    assert stored_keys(oracle, BUCKET) == []
    fs.delete_dir(BUCKET)
    assert BUCKET not in bucket_names(oracle)


def test_wrong_secret_reports_signature_does_not_match(
    server: ServerThread, fs: Any
) -> None:
    """With a wrong secret Arrow's OSError names SIGNATURE_DOES_NOT_MATCH."""
    fs.create_dir(BUCKET)
    bad = _filesystem(server, WRONG_SECRET)
    with pytest.raises(OSError) as caught:
        bad.get_file_info(pafs.FileSelector(BUCKET))
    # The AWS SDK for C++ names S3's SignatureDoesNotMatch with its enum.
    assert "AWS Error SIGNATURE_DOES_NOT_MATCH during ListObjectsV2" in str(
        caught.value
    )


def test_missing_key_raises_file_not_found(fs: Any, filled: dict[str, bytes]) -> None:
    """Opening a missing key raises FileNotFoundError ("Path does not exist")."""
    # Arrow looks the key up with HEAD first; a HEAD 404 has no body, so there is
    # no S3 code to report, only the status.
    with pytest.raises(FileNotFoundError, match="Path does not exist"):
        fs.open_input_stream(f"{BUCKET}/no such key")
