"""The AWS CLI (``aws``, the awscli package) against the real server, as subprocesses.

Each command runs with only the standard environment variables and
``--endpoint-url``: no config or credentials file is read. Sizes stay below the
CLI's 8 MiB multipart threshold, so every upload is a single PutObject.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from s3server.server import ServerThread
from tests.integration.curl import curl

AWS = shutil.which("aws")

pytestmark = pytest.mark.skipif(
    AWS is None, reason="the awscli package is not installed"
)


def _aws(
    server: ServerThread, *args: str, secret: str | None = None
) -> subprocess.CompletedProcess[str]:
    user = server.users[0]
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": user.access_key,
        "AWS_SECRET_ACCESS_KEY": secret or user.secret_key,
        "AWS_DEFAULT_REGION": server.region,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    assert AWS is not None
    return subprocess.run(
        [AWS, "--endpoint-url", server.endpoint_url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(_ok(done))


def test_s3_cp_up_and_down_and_ls(
    server: ServerThread, bucket: str, tmp_path: Path
) -> None:
    """`aws s3 cp` uploads and downloads a file; `aws s3 ls` lists it."""
    source = tmp_path / "notes.txt"
    source.write_bytes(b"line\n" * 20000)  # 100 kB
    _ok(_aws(server, "s3", "cp", str(source), f"s3://{bucket}/docs/notes.txt"))
    listing = _ok(_aws(server, "s3", "ls", f"s3://{bucket}/docs/"))
    assert "100000 notes.txt" in listing
    buckets = _ok(_aws(server, "s3", "ls"))
    assert bucket in buckets
    target = tmp_path / "back.txt"
    _ok(_aws(server, "s3", "cp", f"s3://{bucket}/docs/notes.txt", str(target)))
    assert target.read_bytes() == source.read_bytes()


def test_s3api_calls(server: ServerThread, bucket: str, tmp_path: Path) -> None:
    """s3api put-object, head-object, list-objects-v2 and get-object round-trip."""
    body = tmp_path / "body.bin"
    body.write_bytes(bytes(range(256)) * 40)
    put = _json(
        _aws(
            server,
            *("s3api", "put-object", "--bucket", bucket, "--key", "a/b.bin"),
            *("--body", str(body), "--content-type", "application/x-test"),
            *("--metadata", "colour=blue"),
        )
    )
    head = _json(
        _aws(server, "s3api", "head-object", "--bucket", bucket, "--key", "a/b.bin")
    )
    assert head["ETag"] == put["ETag"]
    assert (head["ContentLength"], head["ContentType"]) == (10240, "application/x-test")
    assert head["Metadata"] == {"colour": "blue"}
    listing = _json(
        _aws(server, "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "a/")
    )
    assert [item["Key"] for item in listing["Contents"]] == ["a/b.bin"]
    out = tmp_path / "out.bin"
    got = _json(
        _aws(
            server,
            "s3api",
            "get-object",
            "--bucket",
            bucket,
            "--key",
            "a/b.bin",
            str(out),
        )
    )
    assert got["ETag"] == put["ETag"]
    assert out.read_bytes() == body.read_bytes()


def test_s3_presign_works_with_curl(server: ServerThread, bucket: str) -> None:
    """`aws s3 presign` makes a URL plain curl can fetch."""
    server.client().put_object(Bucket=bucket, Key="shared.txt", Body=b"for curl")
    url = _ok(
        _aws(
            server, "s3", "presign", f"s3://{bucket}/shared.txt", "--expires-in", "120"
        )
    ).strip()
    reply = curl(url)
    assert (reply.status, reply.body) == (200, b"for curl")


def test_missing_key_is_reported(
    server: ServerThread, bucket: str, tmp_path: Path
) -> None:
    """head-object on a missing key: 404; get-object: NoSuchKey, exit code 255."""
    head = _aws(server, "s3api", "head-object", "--bucket", bucket, "--key", "nope")
    assert head.returncode == 255
    assert "(404)" in head.stderr and "Not Found" in head.stderr
    get = _aws(
        server,
        "s3api",
        "get-object",
        "--bucket",
        bucket,
        "--key",
        "nope",
        str(tmp_path / "x"),
    )
    assert get.returncode == 255
    assert "(NoSuchKey)" in get.stderr


def test_wrong_secret_is_reported(
    server: ServerThread, bucket: str, tmp_path: Path
) -> None:
    """A wrong secret: the CLI reports SignatureDoesNotMatch and nothing is stored."""
    source = tmp_path / "f"
    source.write_bytes(b"x")
    done = _aws(
        server,
        *("s3api", "put-object", "--bucket", bucket, "--key", "k"),
        *("--body", str(source)),
        secret="wrong-secret",
    )
    assert done.returncode == 255
    assert "(SignatureDoesNotMatch)" in done.stderr
    assert "Contents" not in server.client().list_objects_v2(Bucket=bucket)
