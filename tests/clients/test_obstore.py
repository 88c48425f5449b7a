"""obstore (Rust object_store) and polars against the real server.

The shared scenario through obstore's calls (put, get, get_range, get_ranges,
list, list_with_delimiter, copy, sign, delete) and polars reading and writing
Parquet and CSV at ``s3://`` URLs, which goes through the same Rust crate.
Settings: the endpoint, ``allow_http``, ``virtual_hosted_style_request=False`` and
the region. object_store has no bucket API: the bucket is made and removed with
boto3.
"""

from __future__ import annotations

import datetime as dt
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
    curl_get,
    scenario_body,
    sha256_bytes,
    stored_keys,
    utf8_sorted,
)

obs = pytest.importorskip(
    "obstore", reason="obstore is not installed (pip install obstore)"
)
from obstore.store import S3Store  # noqa: E402

CLIENT = "obstore / polars (Rust object_store)"
# Where tools/client_matrix.py reads the versions this ran with.
VERSIONS = ("pip:obstore", "pip:polars")
EXERCISED = (
    "put (small keys; 20 MiB file, multipart), get, get_range, get_ranges, list, "
    "list_with_delimiter, copy, sign + curl, delete (bulk); polars write_parquet / "
    "read_parquet / scan_parquet (glob) and write_csv / read_csv at s3:// URLs; "
    "errors NoSuchKey, SignatureDoesNotMatch"
)
SETTINGS = (
    "`S3Store(bucket, endpoint='http://127.0.0.1:PORT', region='us-east-1', "
    "virtual_hosted_style_request=False, client_options={'allow_http': True})`",
    "polars: `storage_options={'aws_endpoint_url': ..., 'aws_region': ..., "
    "'aws_allow_http': 'true', 'aws_virtual_hosted_style_request': 'false', "
    "'aws_access_key_id': ..., 'aws_secret_access_key': ...}`",
)
CANNOT = {
    "create bucket": "object_store has no bucket API (made with boto3 here)",
    "remove bucket": "object_store has no bucket API (removed with boto3 here)",
}

BUCKET = "obstore-bucket"

pytestmark = pytest.mark.usefixtures("clean_aws_env")


def _store(server: ServerThread, secret: str = SECRET_KEY) -> Any:
    return S3Store(
        BUCKET,
        endpoint=server.endpoint_url,
        access_key_id=ACCESS_KEY,
        secret_access_key=secret,
        region=REGION,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
        # No retries: errors show at once instead of after ten back-offs.
        retry_config={
            "max_retries": 0,
            "backoff": {},
            "retry_timeout": dt.timedelta(seconds=5),
        },
    )


@pytest.fixture
def store(server: ServerThread, oracle: Any) -> Any:
    """An S3Store on a fresh bucket (made with boto3: obstore cannot)."""
    oracle.create_bucket(Bucket=BUCKET)
    return _store(server)


@pytest.fixture
def filled(store: Any) -> dict[str, bytes]:
    """The scenario keys, put by obstore."""
    files = {key: scenario_body(key) for key in SCENARIO_KEYS}
    for key, body in files.items():
        obs.put(store, key, body)
    return files


def test_put_and_get_every_key(
    store: Any, filled: dict[str, bytes], oracle: Any
) -> None:
    """put stores every key as named; get returns the same SHA-256."""
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)
    for key, body in filled.items():
        assert sha256_bytes(bytes(obs.get(store, key).bytes())) == sha256_bytes(body)


def test_large_put_is_multipart(store: Any, big_file: BigFile, oracle: Any) -> None:
    """A 20 MiB file put goes up in 5 MiB parts (multipart) and reads back whole."""
    with big_file.path.open("rb") as f:
        obs.put(store, "big.bin", f)
    # obstore's default chunk_size is 5 MiB: 20 MiB is four parts.
    assert oracle.head_object(Bucket=BUCKET, Key="big.bin")["ETag"].endswith('-4"')
    assert sha256_bytes(bytes(obs.get(store, "big.bin").bytes())) == big_file.sha256


def test_list_with_and_without_delimiter(store: Any, filled: dict[str, bytes]) -> None:
    """list gives every key; list_with_delimiter gives one level and prefixes."""
    listed = [meta["path"] for batch in obs.list(store) for meta in batch]
    assert utf8_sorted(listed) == utf8_sorted(SCENARIO_KEYS)
    top = obs.list_with_delimiter(store)
    assert sorted(o["path"] for o in top["objects"]) == sorted(TOP_LEVEL_OBJECTS)
    # object_store reports prefixes without the trailing delimiter.
    assert sorted(top["common_prefixes"]) == sorted(
        p.rstrip("/") for p in TOP_LEVEL_PREFIXES
    )
    nested = obs.list_with_delimiter(store, "nested/")
    assert sorted(o["path"] for o in nested["objects"]) == sorted(NESTED_OBJECTS)
    assert sorted(nested["common_prefixes"]) == sorted(
        p.rstrip("/") for p in NESTED_PREFIXES
    )


def test_ranged_gets(store: Any, filled: dict[str, bytes]) -> None:
    """get_range and get_ranges return exactly the requested byte ranges."""
    key = "unicodé/ñandú 文件.txt"
    body = filled[key]
    assert bytes(obs.get_range(store, key, start=7, end=27)) == body[7:27]
    got = obs.get_ranges(store, key, starts=[0, 100], ends=[10, 150])
    assert [bytes(b) for b in got] == [body[0:10], body[100:150]]


def test_copy_on_the_server(store: Any, filled: dict[str, bytes]) -> None:
    """copy makes a server-side copy (CopyObject) with the same bytes."""
    obs.copy(store, "with space.txt", "copies/with space copy.txt")
    copied = bytes(obs.get(store, "copies/with space copy.txt").bytes())
    assert copied == filled["with space.txt"]


def test_signed_url_fetched_with_curl(
    store: Any, filled: dict[str, bytes], tmp_path: Path
) -> None:
    """sign() gives a SigV4 presigned GET that curl fetches with the bytes."""
    key = "plus+sign.txt"
    url = obs.sign(store, "GET", key, dt.timedelta(minutes=10))
    assert "X-Amz-Signature=" in url
    got = curl_get(url, tmp_path)
    assert (got.status, got.body) == (200, filled[key])


def test_delete_every_listed_key(
    store: Any, filled: dict[str, bytes], oracle: Any
) -> None:
    """Deleting every listed key (bulk delete) leaves the bucket empty."""
    paths = [meta["path"] for batch in obs.list(store) for meta in batch]
    obs.delete(store, paths)
    assert stored_keys(oracle, BUCKET) == []
    oracle.delete_bucket(Bucket=BUCKET)


def test_polars_parquet_and_csv_round_trip(server: ServerThread, store: Any) -> None:
    """polars writes and reads Parquet and CSV at s3:// URLs unchanged."""
    pl = pytest.importorskip("polars", reason="polars is not installed")
    options = {
        "aws_endpoint_url": server.endpoint_url,
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
        "aws_region": REGION,
        "aws_allow_http": "true",
        "aws_virtual_hosted_style_request": "false",
    }
    frame = pl.DataFrame({"city": ["Zürich", "Oslo", "Zürich"], "n": [1, 2, 3]})
    frame.write_parquet(f"s3://{BUCKET}/pl/frame one.parquet", storage_options=options)
    back = pl.read_parquet(
        f"s3://{BUCKET}/pl/frame one.parquet", storage_options=options
    )
    assert back.equals(frame)
    lazy = pl.scan_parquet(f"s3://{BUCKET}/pl/*.parquet", storage_options=options)
    picked = lazy.filter(pl.col("n") > 1).collect()
    assert picked["n"].to_list() == [2, 3]
    frame.write_csv(f"s3://{BUCKET}/pl/frame+1.csv", storage_options=options)
    back = pl.read_csv(f"s3://{BUCKET}/pl/frame+1.csv", storage_options=options)
    assert back.equals(frame)


def test_missing_key_raises_file_not_found_with_code(
    store: Any, filled: dict[str, bytes]
) -> None:
    """get of a missing key is FileNotFoundError quoting S3's NoSuchKey body."""
    with pytest.raises(FileNotFoundError) as caught:
        obs.get(store, "no such key")
    assert "<Code>NoSuchKey</Code>" in str(caught.value)


def test_wrong_secret_raises_permission_denied_with_code(
    server: ServerThread, store: Any, filled: dict[str, bytes]
) -> None:
    """A wrong secret is PermissionDeniedError quoting S3's SignatureDoesNotMatch."""
    from obstore.exceptions import PermissionDeniedError

    with pytest.raises(PermissionDeniedError) as caught:
        obs.get(_store(server, WRONG_SECRET), "small.txt")
    assert "<Code>SignatureDoesNotMatch</Code>" in str(caught.value)
