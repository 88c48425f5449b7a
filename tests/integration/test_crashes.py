"""``kill -9`` of the real ``s3server`` process in the middle of writes.

The server runs as a subprocess over a data directory; a test starts a write, waits
until the server is demonstrably inside it (its temporary file in the reserved
``tmp/`` has bytes, or the assembly of a completed upload has begun, seen while the
process is frozen with SIGSTOP), then kills it with SIGKILL: no handler runs, nothing
is flushed or cleaned. After a restart on the same directory: no partial object is
visible, the previous version of an overwritten key is intact (bytes and ETag), an
interrupted multipart upload is complete or still listable and completable, and the
dead process's temporary files are gone (removed at start: a temporary file no live
process holds locked is an orphan).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import http.client
import os
import signal
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from tests.integration.conftest import error_code
from tests.integration.disk import Process, processes, temp_files, wait_for

ClientError = botocore.exceptions.ClientError
MIB = 1024 * 1024
PART = 5 * MIB
BUCKET = "crash"


def blob(size: int, seed: int) -> bytes:
    """``size`` bytes that differ from one seed to another."""
    block = hashlib.sha256(str(seed).encode()).digest() * 4096
    return (block * (size // len(block) + 1))[:size]


def etag_of(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


def multipart_etag(parts: list[bytes]) -> str:
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """Start ``s3server`` processes over a data directory; all stopped after."""
    with processes(tmp_path) as start:
        yield start


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """The data directory the servers of a test share."""
    return tmp_path / "data"


def growing_temps(root: Path) -> list[str]:
    """Temporary files in ``tmp/`` that already hold bytes."""
    tmp = root / ".s3server" / "tmp"
    found = []
    for name in os.listdir(tmp):
        try:
            if name.endswith(".tmp") and (tmp / name).stat().st_size > 0:
                found.append(name)
        except FileNotFoundError:
            continue
    return found


class SlowUpload:
    """A request whose body is sent by hand, so it can stop in the middle."""

    def __init__(self, url: str, total: int) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        self.conn.putrequest("PUT", f"{parsed.path}?{parsed.query}", skip_host=False)
        self.conn.putheader("Content-Length", str(total))
        self.conn.endheaders()

    def send(self, data: bytes) -> None:
        for i in range(0, len(data), MIB):
            self.conn.send(data[i : i + MIB])

    def close(self) -> None:
        self.conn.close()


def check_object(client: Any, key: str, data: bytes, etag: str) -> None:
    """``key`` holds exactly ``data`` with ``etag``, by HEAD, GET and listing."""
    head = client.head_object(Bucket=BUCKET, Key=key)
    assert (head["ContentLength"], head["ETag"]) == (len(data), etag)
    got = client.get_object(Bucket=BUCKET, Key=key)
    assert got["ETag"] == etag
    assert got["Body"].read() == data
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=key)["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed if o["Key"] == key] == [
        (key, len(data), etag)
    ]


def missing(client: Any, key: str) -> None:
    with pytest.raises(ClientError) as exc:
        client.head_object(Bucket=BUCKET, Key=key)
    assert error_code(exc) == ("404", 404)


def test_kill_during_put(start: Callable[..., Process], data: Path) -> None:
    """A PUT killed mid-body leaves the old version, no new key, no temp file."""
    server = start(data)
    client = server.client()
    client.create_bucket(Bucket=BUCKET)
    old = blob(3 * MIB, 1)
    client.put_object(Bucket=BUCKET, Key="photo.jpg", Body=old)
    total = 64 * MIB
    uploads = [
        SlowUpload(
            client.generate_presigned_url(
                "put_object", Params={"Bucket": BUCKET, "Key": key}
            ),
            total,
        )
        for key in ("photo.jpg", "new/key")
    ]
    for upload in uploads:
        upload.send(blob(8 * MIB, 2))
    # Both writes are under way: the server streams them into its temp files.
    wait_for(lambda: len(growing_temps(data)) == 2)
    server.kill()
    for upload in uploads:
        upload.close()
    assert len(temp_files(data)) >= 2  # what the dead process left

    server = start(data)
    client = server.client()
    assert temp_files(data) == []  # orphans removed at start
    check_object(client, "photo.jpg", old, etag_of(old))
    missing(client, "new/key")
    listed = client.list_objects_v2(Bucket=BUCKET)
    assert [o["Key"] for o in listed["Contents"]] == ["photo.jpg"]
    assert not (data / BUCKET / "new").exists()
    # And the server goes on working on those keys.
    client.put_object(Bucket=BUCKET, Key="new/key", Body=b"after")
    assert client.get_object(Bucket=BUCKET, Key="new/key")["Body"].read() == b"after"


def test_kill_among_overwrites_leaves_each_body_its_own_metadata(
    start: Callable[..., Process], data: Path
) -> None:
    """Killed while overwrites of a few keys publish, each key afterwards has the
    content type, user metadata and ETag of the very version its bytes are."""
    server = start(data)
    server.client().create_bucket(Bucket=BUCKET)
    keys = [f"k{i}" for i in range(4)]
    written = dict.fromkeys(keys, 0)

    def overwrite(key: str) -> None:
        client = server.client()  # without retries: the first failure ends it
        with contextlib.suppress(botocore.exceptions.BotoCoreError, ClientError):
            while True:
                n = written[key] + 1
                client.put_object(
                    Bucket=BUCKET,
                    Key=key,
                    Body=f"{key} v{n}".encode(),
                    ContentType=f"x/v{n}",
                    Metadata={"version": str(n)},
                )
                written[key] = n

    with concurrent.futures.ThreadPoolExecutor(len(keys)) as pool:
        for key in keys:
            pool.submit(overwrite, key)
        wait_for(lambda: min(written.values()) >= 20)
        server.kill()

    client = start(data).client()
    for key in keys:
        got = client.get_object(Bucket=BUCKET, Key=key)
        body = got["Body"].read()
        version = body.decode().removeprefix(f"{key} v")
        assert int(version) >= 20
        head = client.head_object(Bucket=BUCKET, Key=key)
        for answer in (got, head):
            assert answer["ContentType"] == f"x/v{version}"
            assert answer["Metadata"] == {"version": version}
            assert answer["ETag"] == etag_of(body)
    assert temp_files(data) == []


def test_kill_between_and_during_parts(
    start: Callable[..., Process], data: Path
) -> None:
    """An upload killed between and during parts keeps acknowledged parts."""
    server = start(data)
    client = server.client()
    client.create_bucket(Bucket=BUCKET)
    old = blob(MIB, 3)
    client.put_object(Bucket=BUCKET, Key="video", Body=old)
    upload_id = client.create_multipart_upload(Bucket=BUCKET, Key="video")["UploadId"]
    other = client.create_multipart_upload(Bucket=BUCKET, Key="other")["UploadId"]
    parts = [blob(PART, 10), blob(PART, 11), blob(MIB, 12)]
    first = client.upload_part(
        Bucket=BUCKET, Key="video", UploadId=upload_id, PartNumber=1, Body=parts[0]
    )
    assert first["ETag"] == etag_of(parts[0])
    server.kill()  # between parts: nothing in flight

    server = start(data)
    client = server.client()
    listed = client.list_parts(Bucket=BUCKET, Key="video", UploadId=upload_id)
    assert [(p["PartNumber"], p["ETag"]) for p in listed["Parts"]] == [
        (1, etag_of(parts[0]))
    ]
    url = client.generate_presigned_url(
        "upload_part",
        Params={
            "Bucket": BUCKET,
            "Key": "video",
            "UploadId": upload_id,
            "PartNumber": 2,
        },
    )
    slow = SlowUpload(url, len(parts[1]))
    slow.send(parts[1][: 3 * MIB])
    wait_for(lambda: growing_temps(data))
    server.kill()  # while part 2 streams in
    slow.close()

    server = start(data)
    client = server.client()
    assert temp_files(data) == []
    uploads = client.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert sorted((u["Key"], u["UploadId"]) for u in uploads) == [
        ("other", other),
        ("video", upload_id),
    ]
    listed = client.list_parts(Bucket=BUCKET, Key="video", UploadId=upload_id)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1]
    check_object(client, "video", old, etag_of(old))
    etags = [first["ETag"]]
    for number, body in enumerate(parts[1:], start=2):
        etags.append(
            client.upload_part(
                Bucket=BUCKET,
                Key="video",
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
            )["ETag"]
        )
    client.complete_multipart_upload(
        Bucket=BUCKET,
        Key="video",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]
        },
    )
    check_object(client, "video", b"".join(parts), multipart_etag(parts))
    client.abort_multipart_upload(Bucket=BUCKET, Key="other", UploadId=other)
    assert client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert not (data / ".s3server" / "uploads" / BUCKET / other).exists()


def prepare_upload(client: Any, key: str, count: int, seed: int) -> tuple[str, Any]:
    """An upload of ``count`` full parts: (upload id, the Complete request body)."""
    upload_id = client.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    done = []
    for number in range(1, count + 1):
        body = blob(PART, seed * 1000 + number)
        etag = client.upload_part(
            Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    return upload_id, {"Parts": done}


def parts_of(count: int, seed: int) -> list[bytes]:
    return [blob(PART, seed * 1000 + n) for n in range(1, count + 1)]


def complete_in_background(
    pool: concurrent.futures.Executor, client: Any, key: str, upload_id: str, body: Any
) -> concurrent.futures.Future[Any]:
    """CompleteMultipartUpload sent from another thread (it dies with the server)."""
    return pool.submit(
        client.complete_multipart_upload,
        Bucket=BUCKET,
        Key=key,
        UploadId=upload_id,
        MultipartUpload=body,
    )


def test_kill_inside_complete_multipart_upload(
    start: Callable[..., Process], data: Path
) -> None:
    """Killed inside Complete: the old object stays, the upload completes later."""
    server = start(data)
    client = server.client()
    client.create_bucket(Bucket=BUCKET)
    old = blob(MIB, 4)
    client.put_object(Bucket=BUCKET, Key="archive", Body=old)
    old_etag = etag_of(old)
    count = 12
    landed = False
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        for attempt in range(5):
            upload_id, body = prepare_upload(client, "archive", count, attempt)
            upload_dir = data / ".s3server" / "uploads" / BUCKET / upload_id
            future = complete_in_background(pool, client, "archive", upload_id, body)
            wait_for(lambda f=future: growing_temps(data) or f.done(), timeout=30)
            os.kill(server.pid, signal.SIGSTOP)
            # Frozen: what is on disk now is what the kill leaves.
            landed = (
                bool(growing_temps(data))
                and upload_dir.is_dir()
                and (data / BUCKET / "archive").stat().st_size == len(old)
            )
            server.kill()
            with pytest.raises(botocore.exceptions.BotoCoreError):
                future.result(timeout=30)
            server = start(data)
            client = server.client()
            assert temp_files(data) == []
            if landed:
                break
            # Completed before the freeze: try again with a new upload.
            parts = parts_of(count, attempt)
            old, old_etag = b"".join(parts), multipart_etag(parts)
            check_object(client, "archive", old, old_etag)
    assert landed, "never caught the server inside CompleteMultipartUpload"
    check_object(client, "archive", old, old_etag)
    listed = client.list_parts(Bucket=BUCKET, Key="archive", UploadId=upload_id)
    assert [p["PartNumber"] for p in listed["Parts"]] == list(range(1, count + 1))
    client.complete_multipart_upload(
        Bucket=BUCKET, Key="archive", UploadId=upload_id, MultipartUpload=body
    )
    parts = parts_of(count, attempt)
    check_object(client, "archive", b"".join(parts), multipart_etag(parts))
    assert client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


@pytest.mark.slow
def test_kill_at_many_moments_of_complete(
    start: Callable[..., Process], data: Path
) -> None:
    """A kill at any moment of Complete leaves the old or whole object, never less."""
    server = start(data)
    client = server.client()
    client.create_bucket(Bucket=BUCKET)
    old = blob(MIB, 5)
    client.put_object(Bucket=BUCKET, Key="k", Body=old)
    old_etag = etag_of(old)
    count = 4
    # How long one completion takes from the client's side, to spread kills over.
    upload_id, body = prepare_upload(client, "calibration", count, 99)
    began = time.monotonic()
    client.complete_multipart_upload(
        Bucket=BUCKET, Key="calibration", UploadId=upload_id, MultipartUpload=body
    )
    took = time.monotonic() - began
    outcomes: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        for attempt in range(10):
            delay = took * attempt / 8
            upload_id, body = prepare_upload(client, "k", count, 100 + attempt)
            parts = parts_of(count, 100 + attempt)
            future = complete_in_background(pool, client, "k", upload_id, body)
            time.sleep(delay)
            server.kill()
            with contextlib.suppress(botocore.exceptions.BotoCoreError, ClientError):
                future.result(timeout=30)  # it may have finished before the kill
            server = start(data)
            client = server.client()
            assert temp_files(data) == []
            head = client.head_object(Bucket=BUCKET, Key="k")
            whole = head["ETag"] == multipart_etag(parts)
            if whole:
                check_object(client, "k", b"".join(parts), multipart_etag(parts))
            else:
                check_object(client, "k", old, old_etag)
            uploads = client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
            still_open = [u["UploadId"] for u in uploads] == [upload_id]
            assert whole or still_open, "the upload and its object were both lost"
            if still_open:
                # Completing again (the client's retry) gives the whole object.
                client.complete_multipart_upload(
                    Bucket=BUCKET, Key="k", UploadId=upload_id, MultipartUpload=body
                )
                check_object(client, "k", b"".join(parts), multipart_etag(parts))
            state = f"{'new' if whole else 'old'} object, upload " + (
                "open" if still_open else "gone"
            )
            outcomes.append(f"{delay * 1000:.1f} ms: {state}")
            old, old_etag = b"".join(parts), multipart_etag(parts)
    # Report which moments were hit (pytest -rA shows it).
    print("outcomes by delay:", outcomes)


def test_a_starting_server_keeps_files_others_are_writing(
    start: Callable[..., Process], data: Path
) -> None:
    """A starting process removes orphans only, never a live PUT's temp file."""
    first = start(data)
    client = first.client()
    client.create_bucket(Bucket=BUCKET)
    body = blob(24 * MIB, 6)
    url = client.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": "in-flight"}
    )
    slow = SlowUpload(url, len(body))
    slow.send(body[: 8 * MIB])
    (temp,) = wait_for(lambda: growing_temps(data))
    orphan = data / ".s3server" / "tmp" / ("0" * 32 + ".tmp")
    orphan.write_bytes(b"left by a dead process")
    second = start(data)  # sweeps tmp/ at start
    assert temp_files(data) == [temp]
    slow.send(body[8 * MIB :])
    response = slow.conn.getresponse()
    assert response.status == 200, response.read()
    slow.close()
    check_object(second.client(), "in-flight", body, etag_of(body))
    assert temp_files(data) == []
