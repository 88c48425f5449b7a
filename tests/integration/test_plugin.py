"""The pytest plugin's fixtures, used the way a downstream test suite uses them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

from s3server.server import ServerThread


def test_s3_client_and_bucket(s3_client: Any, s3_bucket: str) -> None:
    """s3_bucket is a fresh empty bucket the s3_client can write to."""
    assert "Contents" not in s3_client.list_objects_v2(Bucket=s3_bucket)
    s3_client.put_object(Bucket=s3_bucket, Key="left/behind", Body=b"x")


def test_s3_bucket_is_fresh_each_time(s3_client: Any, s3_bucket: str) -> None:
    """A second test gets its own bucket; the previous one was removed."""
    names = [b["Name"] for b in s3_client.list_buckets()["Buckets"]]
    assert names == [s3_bucket]


def test_s3_env_reaches_server(s3_env: ServerThread, s3_bucket: str) -> None:
    """With s3_env, a default boto3 client (no arguments) talks to the test server."""
    client = boto3.client("s3")
    client.put_object(Bucket=s3_bucket, Key="from-env", Body=b"hi")
    got = s3_env.client().get_object(Bucket=s3_bucket, Key="from-env")
    assert got["Body"].read() == b"hi"


def test_s3_env_reaches_subprocess(s3_env: ServerThread, s3_bucket: str) -> None:
    """A subprocess inherits the environment and reaches the same server."""
    code = (
        "import boto3; c = boto3.client('s3'); "
        f"c.put_object(Bucket='{s3_bucket}', Key='sub', Body=b'child')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    got = s3_env.client().get_object(Bucket=s3_bucket, Key="sub")
    assert got["Body"].read() == b"child"


def test_filesystem_server_in_tmp_path(s3_server_factory: Any, tmp_path: Path) -> None:
    """A test can run its own server over the filesystem backend in tmp_path."""
    server = s3_server_factory(data_dir=tmp_path)
    client = server.client()
    client.create_bucket(Bucket="files")
    client.put_object(Bucket="files", Key="x/y.txt", Body=b"plain file")
    assert (tmp_path / "files" / "x" / "y.txt").read_bytes() == b"plain file"


def test_signature_checks_are_on(s3_server: ServerThread) -> None:
    """The fixture server refuses a wrong secret: checks are on by default."""
    import botocore.exceptions
    import pytest

    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key="not-the-secret",
    )
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        client.list_buckets()
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_two_servers_are_independent(s3_server_factory: Any) -> None:
    """Servers in one process share nothing: buckets in one are absent in the other."""
    one = s3_server_factory()
    two = s3_server_factory()
    one.client().create_bucket(Bucket="only-in-one")
    assert two.client().list_buckets()["Buckets"] == []
    assert one.port != two.port


def test_server_thread_resource_api(s3_server_factory: Any) -> None:
    """ServerThread.resource() gives a working boto3 resource for the same server."""
    server = s3_server_factory()
    s3 = server.resource()
    bucket = s3.create_bucket(Bucket="via-resource")
    bucket.put_object(Key="a/b.txt", Body=b"resource body")
    assert [o.key for o in bucket.objects.all()] == ["a/b.txt"]
    assert s3.Object("via-resource", "a/b.txt").get()["Body"].read() == b"resource body"
    assert server.host == "127.0.0.1"
    assert server.endpoint_url == f"http://127.0.0.1:{server.port}"
    assert server.region == "us-east-1"
