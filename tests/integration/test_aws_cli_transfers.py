"""The AWS CLI moving big files: multipart uploads, ranged downloads, bucket copies.

``aws s3 cp`` switches to multipart transfers above 8 MiB: a 100 MiB file goes up as
UploadParts, comes down as parallel ranged GETs, and is copied between buckets with
UploadPartCopy. Each command runs as a subprocess with only the standard environment
variables and ``--endpoint-url``: no config or credentials file is read.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from s3server.server import ServerThread

AWS = shutil.which("aws")
MIB = 1024 * 1024

pytestmark = pytest.mark.skipif(
    AWS is None, reason="the awscli package is not installed"
)


def aws(server: ServerThread, *args: str) -> str:
    """Run ``aws --endpoint-url <server> <args>``; its stdout (it must succeed)."""
    user = server.users[0]
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": user.access_key,
        "AWS_SECRET_ACCESS_KEY": user.secret_key,
        "AWS_DEFAULT_REGION": server.region,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    assert AWS is not None
    done = subprocess.run(
        [AWS, "--endpoint-url", server.endpoint_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read a chunk at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    """100 MiB of bytes that repeat nowhere a wrong part offset could hide."""
    path = tmp_path / "big.bin"
    with path.open("wb") as f:
        for i in range(100):
            f.write(hashlib.sha256(b"%d" % i).digest() * (MIB // 32))
    return path


def test_cp_100_mib_up_and_down(
    server: ServerThread, bucket: str, big_file: Path, tmp_path: Path
) -> None:
    """`aws s3 cp` of 100 MiB up (multipart) and down (ranged) is byte-identical."""
    aws(server, "s3", "cp", str(big_file), f"s3://{bucket}/dir/big.bin")
    head = server.client().head_object(Bucket=bucket, Key="dir/big.bin")
    assert head["ContentLength"] == 100 * MIB
    assert head["ETag"].endswith('-13"')  # 8 MiB parts: the CLI went multipart
    target = tmp_path / "back.bin"
    aws(server, "s3", "cp", f"s3://{bucket}/dir/big.bin", str(target))
    assert sha256_of(target) == sha256_of(big_file)
    assert (
        server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    )


def test_cp_between_buckets(
    server: ServerThread, bucket: str, big_file: Path, tmp_path: Path
) -> None:
    """`aws s3 cp s3://a/k s3://b/k` of 100 MiB copies it server-side, intact."""
    aws(server, "s3", "cp", str(big_file), f"s3://{bucket}/big.bin")
    other = f"{bucket}-copy"
    aws(server, "s3", "mb", f"s3://{other}")
    aws(server, "s3", "cp", f"s3://{bucket}/big.bin", f"s3://{other}/copied.bin")
    listing = aws(server, "s3", "ls", f"s3://{other}/")
    assert f"{100 * MIB} copied.bin" in listing
    head = server.client().head_object(Bucket=other, Key="copied.bin")
    assert head["ETag"].endswith('-13"')  # copied part by part (UploadPartCopy)
    target = tmp_path / "copied.bin"
    aws(server, "s3", "cp", f"s3://{other}/copied.bin", str(target))
    assert sha256_of(target) == sha256_of(big_file)
