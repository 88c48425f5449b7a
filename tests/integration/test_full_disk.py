"""A full disk, for real: the standalone server over a small tmpfs the test mounts.

S3 never fills up, so it has no error code for it. The server answers
``XMinioStorageFull`` 507 (MinIO's code for the same condition, see ``errors``): SDKs
and tools do not retry a 507, so a client fails at once with a message that says
what is wrong instead of re-sending its body into a full disk several times. The
partial file is removed, earlier objects stay intact, and the server keeps serving:
reads, listings and deletes work on a full disk, and writes work again once space is
freed. Needs ``mount`` (root; CI runs as root), else the tests are skipped.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from tests.integration.conftest import error_code
from tests.integration.disk import (
    Process,
    files_under,
    mount_tmpfs,
    processes,
    temp_files,
    unmount,
)

ClientError = botocore.exceptions.ClientError
MIB = 1024 * 1024
BUCKET = "full"
FULL = ("XMinioStorageFull", 507)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs mounted for the test (unmounted after)."""
    mnt = tmp_path / "mnt"
    reason = mount_tmpfs(mnt, "8m")
    if reason is not None:
        pytest.skip(f"cannot mount a tmpfs here: {reason}")
    try:
        yield mnt
    finally:
        unmount(mnt)


@pytest.fixture
def server(disk: Path, tmp_path: Path) -> Iterator[Process]:
    """The standalone server over a data directory on the small disk."""
    with processes(tmp_path) as start:
        yield start(disk / "data")


@pytest.fixture
def client(server: Process) -> Any:
    client = server.client()
    client.create_bucket(Bucket=BUCKET)
    return client


def blob(size: int, seed: int) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 4096
    return (block * (size // len(block) + 1))[:size]


def etag_of(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


def check_object(client: Any, key: str, data: bytes, etag: str | None = None) -> None:
    got = client.get_object(Bucket=BUCKET, Key=key)
    assert got["Body"].read() == data
    assert got["ETag"] == (etag or etag_of(data))


def keys(client: Any) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def fill(disk: Path) -> Path:
    """Fill the disk to the last byte with a file outside the data directory."""
    filler = disk / "filler"
    chunk = b"\0" * MIB
    with open(filler, "wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(chunk)
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 4096)
    probe = disk / "probe"
    with pytest.raises(OSError) as exc, open(probe, "wb", buffering=0) as f:
        f.write(b"\0" * 4096)
    assert exc.value.errno == errno.ENOSPC
    probe.unlink()
    return filler


def check_clean(disk: Path) -> None:
    """No temporary file is left behind."""
    assert temp_files(disk / "data") == []


def test_put_larger_than_the_disk(server: Process, client: Any, disk: Path) -> None:
    """A PUT that does not fit is 507, stores and leaves nothing, keeps the rest."""
    a, b = blob(MIB, 1), blob(MIB, 2)
    client.put_object(Bucket=BUCKET, Key="keep/a", Body=a)
    client.put_object(Bucket=BUCKET, Key="keep/b", Body=b)
    for key in ("big", "keep/a"):  # a new key, and an overwrite
        with pytest.raises(ClientError) as exc:
            client.put_object(Bucket=BUCKET, Key=key, Body=blob(12 * MIB, 3))
        assert error_code(exc) == FULL
        assert "full" in exc.value.response["Error"]["Message"]
        check_clean(disk)
    with pytest.raises(ClientError) as exc:
        client.head_object(Bucket=BUCKET, Key="big")
    assert error_code(exc) == ("404", 404)
    assert keys(client) == ["keep/a", "keep/b"]
    assert files_under(disk / "data" / BUCKET) == ["keep/a", "keep/b"]
    check_object(client, "keep/a", a)
    check_object(client, "keep/b", b)
    # boto3 with its default retry settings gives up at once: retrying would only
    # send the body into the full disk again.
    with pytest.raises(ClientError) as exc:
        server.client(retries=None).put_object(
            Bucket=BUCKET, Key="big", Body=blob(12 * MIB, 3)
        )
    assert error_code(exc) == FULL
    assert exc.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    check_clean(disk)
    # Space freed, writes work again.
    client.delete_object(Bucket=BUCKET, Key="keep/b")
    client.put_object(Bucket=BUCKET, Key="small", Body=b"fits")
    check_object(client, "small", b"fits")
    assert keys(client) == ["keep/a", "small"]


def test_a_full_disk_keeps_serving(client: Any, disk: Path) -> None:
    """A full disk serves reads, listings and deletes; writes answer 507."""
    data = blob(MIB, 4)
    client.put_object(Bucket=BUCKET, Key="object", Body=data)
    (disk / "data" / BUCKET / "by-hand.txt").write_bytes(b"placed by hand")
    client.put_object(Bucket=BUCKET, Key="doomed", Body=b"delete me")
    (disk / "data" / "hand-made").mkdir()  # a bucket made by hand, never used yet
    (disk / "data" / "hand-made" / "f.txt").write_bytes(b"in a hand-made bucket")
    filler = fill(disk)

    assert keys(client) == ["by-hand.txt", "doomed", "object"]
    check_object(client, "object", data)
    check_object(client, "by-hand.txt", b"placed by hand")
    head = client.head_object(Bucket=BUCKET, Key="by-hand.txt")
    assert head["ContentType"] == "text/plain"
    got = client.get_object(Bucket=BUCKET, Key="object", Range="bytes=0-9")
    assert got["Body"].read() == data[:10]
    names = [b["Name"] for b in client.list_buckets()["Buckets"]]
    assert names == [BUCKET, "hand-made"]
    listed = client.list_objects_v2(Bucket="hand-made")["Contents"]
    assert [o["Key"] for o in listed] == ["f.txt"]
    got = client.get_object(Bucket="hand-made", Key="f.txt")
    assert got["Body"].read() == b"in a hand-made bucket"
    with pytest.raises(ClientError) as exc:
        client.create_bucket(Bucket="no-room")
    assert error_code(exc) == FULL
    with pytest.raises(ClientError) as exc:
        client.create_multipart_upload(Bucket=BUCKET, Key="no-room")
    assert error_code(exc) == FULL
    for attempt in (
        lambda: client.put_object(Bucket=BUCKET, Key="new", Body=blob(64 * 1024, 5)),
        lambda: client.copy_object(
            Bucket=BUCKET, Key="copy", CopySource=f"{BUCKET}/object"
        ),
    ):
        with pytest.raises(ClientError) as exc:
            attempt()
        assert error_code(exc) == FULL
        check_clean(disk)
    client.delete_object(Bucket=BUCKET, Key="doomed")
    assert keys(client) == ["by-hand.txt", "object"]
    filler.unlink()
    client.put_object(Bucket=BUCKET, Key="new", Body=b"room again")
    check_object(client, "new", b"room again")
    check_object(client, "object", data)
    names = [b["Name"] for b in client.list_buckets()["Buckets"]]
    assert names == [BUCKET, "hand-made"]  # the failed CreateBucket left nothing
    assert client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert files_under(disk / "data" / ".s3server" / "uploads") == []
    check_clean(disk)


def test_multipart_on_a_full_disk(client: Any, disk: Path) -> None:
    """UploadPart and Complete on a full disk are 507 and keep the upload intact."""
    old = blob(MIB, 6)
    client.put_object(Bucket=BUCKET, Key="video", Body=old)
    upload_id = client.create_multipart_upload(Bucket=BUCKET, Key="video")["UploadId"]
    part1 = blob(5 * MIB, 7)
    etag1 = client.upload_part(
        Bucket=BUCKET, Key="video", UploadId=upload_id, PartNumber=1, Body=part1
    )["ETag"]
    with pytest.raises(ClientError) as exc:
        client.upload_part(
            Bucket=BUCKET,
            Key="video",
            UploadId=upload_id,
            PartNumber=2,
            Body=blob(3 * MIB, 8),
        )
    assert error_code(exc) == FULL
    check_clean(disk)
    parts = client.list_parts(Bucket=BUCKET, Key="video", UploadId=upload_id)
    assert [(p["PartNumber"], p["ETag"]) for p in parts["Parts"]] == [(1, etag1)]

    part2 = blob(MIB // 2, 9)
    etag2 = client.upload_part(
        Bucket=BUCKET, Key="video", UploadId=upload_id, PartNumber=2, Body=part2
    )["ETag"]
    # Assembling 5.5 MiB into a new file does not fit in what is left.
    body = {
        "Parts": [{"PartNumber": 1, "ETag": etag1}, {"PartNumber": 2, "ETag": etag2}]
    }
    with pytest.raises(ClientError) as exc:
        client.complete_multipart_upload(
            Bucket=BUCKET, Key="video", UploadId=upload_id, MultipartUpload=body
        )
    assert error_code(exc) == FULL
    check_clean(disk)
    check_object(client, "video", old)
    uploads = client.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert [u["UploadId"] for u in uploads] == [upload_id]
    parts = client.list_parts(Bucket=BUCKET, Key="video", UploadId=upload_id)
    assert [p["PartNumber"] for p in parts["Parts"]] == [1, 2]

    # Retrying fails as cleanly (1 MiB freed is not enough), and uploads can still
    # be started and aborted on the nearly full disk.
    client.delete_object(Bucket=BUCKET, Key="video")
    with pytest.raises(ClientError) as exc:
        client.complete_multipart_upload(
            Bucket=BUCKET, Key="video", UploadId=upload_id, MultipartUpload=body
        )
    assert error_code(exc) == FULL
    check_clean(disk)
    other = client.create_multipart_upload(Bucket=BUCKET, Key="other")["UploadId"]
    client.abort_multipart_upload(Bucket=BUCKET, Key="other", UploadId=other)
    uploads = client.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert [u["UploadId"] for u in uploads] == [upload_id]
    # Aborting frees the parts' space: the server takes writes again.
    client.abort_multipart_upload(Bucket=BUCKET, Key="video", UploadId=upload_id)
    client.put_object(Bucket=BUCKET, Key="after", Body=b"served")
    check_object(client, "after", b"served")
    check_clean(disk)


def test_mount_fixture_is_a_small_filesystem(disk: Path) -> None:
    """The disk the tests fill is the 8 MiB tmpfs, not the host's disk."""
    st = os.statvfs(disk)
    assert st.f_blocks * st.f_frsize <= 8 * MIB
    assert any(
        line.split()[1] == str(disk) and line.split()[2] == "tmpfs"
        for line in Path("/proc/mounts").read_text().splitlines()
    )
