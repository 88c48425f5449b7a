"""minio-py (the MinIO Python SDK) against the real server.

minio signs with SigV4 and addresses buckets path-style on an IP endpoint. Object
sizes stay single-part (minio switches to multipart uploads at 5 MiB for unknown
lengths and 64 MiB by default otherwise).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import S3Error as MinioError

from s3server.server import ServerThread
from tests.integration.curl import curl


def _minio(server: ServerThread, secret: str | None = None) -> Minio:
    user = server.users[0]
    return Minio(
        f"{server.host}:{server.port}",
        access_key=user.access_key,
        secret_key=secret or user.secret_key,
        secure=False,
        region=server.region,
    )


def test_buckets_and_objects(server: ServerThread, tmp_path: Path) -> None:
    """make_bucket, put/get, fput/fget, stat, list (recursive) and removals work."""
    client = _minio(server)
    client.make_bucket("minio-bucket")
    assert client.bucket_exists("minio-bucket")
    client.put_object(
        "minio-bucket",
        "dir/a.txt",
        io.BytesIO(b"alpha"),
        length=5,
        content_type="text/plain",
        metadata={"x-amz-meta-colour": "green"},
    )
    response = client.get_object("minio-bucket", "dir/a.txt")
    try:
        assert response.read() == b"alpha"
    finally:
        response.close()
        response.release_conn()
    source = tmp_path / "b.bin"
    source.write_bytes(bytes(range(256)) * 100)
    client.fput_object("minio-bucket", "dir/sub/b.bin", str(source))
    target = tmp_path / "back.bin"
    client.fget_object("minio-bucket", "dir/sub/b.bin", str(target))
    assert target.read_bytes() == source.read_bytes()
    stat = client.stat_object("minio-bucket", "dir/a.txt")
    assert (stat.size, stat.content_type) == (5, "text/plain")
    assert stat.metadata["x-amz-meta-colour"] == "green"
    listed = client.list_objects("minio-bucket", prefix="dir/", recursive=True)
    assert [o.object_name for o in listed] == ["dir/a.txt", "dir/sub/b.bin"]
    shallow = client.list_objects("minio-bucket", prefix="dir/")
    assert [o.object_name for o in shallow] == ["dir/a.txt", "dir/sub/"]
    client.remove_object("minio-bucket", "dir/a.txt")
    failures = list(
        client.remove_objects("minio-bucket", [DeleteObject("dir/sub/b.bin")])
    )
    assert failures == []
    assert list(client.list_objects("minio-bucket", recursive=True)) == []
    client.remove_bucket("minio-bucket")
    assert not client.bucket_exists("minio-bucket")


def test_presigned_get_object_with_curl(server: ServerThread, bucket: str) -> None:
    """presigned_get_object makes a URL plain curl can fetch."""
    client = _minio(server)
    client.put_object(bucket, "shared", io.BytesIO(b"minio url"), length=9)
    url = client.presigned_get_object(bucket, "shared", expires=dt.timedelta(minutes=5))
    reply = curl(url)
    assert (reply.status, reply.body) == (200, b"minio url")


def test_missing_key_error_code(server: ServerThread, bucket: str) -> None:
    """stat_object and get_object of a missing key: minio reports NoSuchKey."""
    client = _minio(server)
    with pytest.raises(MinioError) as info:
        client.get_object(bucket, "missing")
    assert info.value.code == "NoSuchKey"
    with pytest.raises(MinioError) as info:
        client.stat_object(bucket, "missing")
    assert info.value.code == "NoSuchKey"


def test_wrong_secret_error_code(server: ServerThread, bucket: str) -> None:
    """A wrong secret: minio reports SignatureDoesNotMatch; nothing is stored."""
    client = _minio(server, secret="wrong-secret")
    with pytest.raises(MinioError) as info:
        client.put_object(bucket, "k", io.BytesIO(b"x"), length=1)
    assert info.value.code == "SignatureDoesNotMatch"
    assert "Contents" not in server.client().list_objects_v2(Bucket=bucket)
