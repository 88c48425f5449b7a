"""The ``s3server`` command, run as a real subprocess and driven by boto3."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest


class Running:
    """A started ``s3server`` process and what its banner said."""

    def __init__(self, proc: subprocess.Popen[str], banner: str) -> None:
        self.proc = proc
        self.banner = banner
        self.url = re.search(r"listening on (\S+)", banner).group(1)  # type: ignore[union-attr]
        self.keys = re.findall(r"AWS_ACCESS_KEY_ID=(\S+)", banner)
        self.secrets = re.findall(r"AWS_SECRET_ACCESS_KEY=(\S+)", banner)

    def client(self, index: int = 0) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.keys[index],
            aws_secret_access_key=self.secrets[index],
        )


@pytest.fixture
def run_server() -> Iterator[Any]:
    """Start ``s3server`` with arguments; wait for its banner; stop it afterwards."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Running:
        proc = subprocess.Popen(
            [sys.executable, "-m", "s3server.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        procs.append(proc)
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.strip().startswith("AWS_SECRET_ACCESS_KEY") and _complete(lines):
                break
        banner = "".join(lines)
        assert "listening on" in banner, proc.stderr.read() if proc.stderr else ""
        return Running(proc, banner)

    yield start
    for proc in procs:
        proc.terminate()
        proc.communicate(timeout=10)  # reaps it and closes its pipes


def _complete(lines: list[str]) -> bool:
    keys = sum("AWS_ACCESS_KEY_ID" in line for line in lines)
    secrets = sum("AWS_SECRET_ACCESS_KEY" in line for line in lines)
    return keys == secrets and keys > 0 and not _more_users_expected(lines)


def _more_users_expected(lines: list[str]) -> bool:
    return (
        any("users file" in line for line in lines)
        and sum("AWS_SECRET_ACCESS_KEY" in line for line in lines) < 2
    )


def test_generated_credentials_persist(run_server: Any, tmp_path: Path) -> None:
    """First start makes keys kept at mode 0600; a restart reuses them; data stays."""
    data = tmp_path / "data"
    first = run_server("--port", "0", "--data-dir", str(data))
    assert str(data) in first.banner
    client = first.client()
    client.create_bucket(Bucket="kept")
    client.put_object(Bucket="kept", Key="a/b.txt", Body=b"on disk")
    first.proc.terminate()
    first.proc.communicate(timeout=10)
    stored = data / ".s3server" / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert (data / "kept" / "a" / "b.txt").read_bytes() == b"on disk"
    second = run_server("serve", "--port", "0", "--data-dir", str(data))
    assert second.keys == first.keys
    assert second.client().get_object(Bucket="kept", Key="a/b.txt")["Body"].read() == (
        b"on disk"
    )


def test_users_file(run_server: Any, tmp_path: Path) -> None:
    """--users gives each user their keys, canonical id and display name."""
    users = tmp_path / "users.toml"
    users.write_text(
        textwrap.dedent(
            """
            [[users]]
            access_key = "AKALICE"
            secret_key = "alice-secret-key"
            id = "alice-canonical-id"
            display_name = "Alice"

            [[users]]
            access_key = "AKBOB"
            secret_key = "bob-secret-key"
            display_name = "Bob"
            """
        )
    )
    server = run_server("--port", "0", "--backend", "memory", "--users", str(users))
    assert server.keys == ["AKALICE", "AKBOB"]
    alice = server.client(0)
    alice.create_bucket(Bucket="alices")
    owner = alice.list_buckets()["Owner"]
    assert owner == {"ID": "alice-canonical-id", "DisplayName": "Alice"}
    assert server.client(1).list_buckets()["Buckets"] == []


def test_environment_configuration(run_server: Any, tmp_path: Path) -> None:
    """S3SERVER_* variables configure the server like the flags do."""
    server = run_server(
        env={
            "S3SERVER_PORT": "0",
            "S3SERVER_BACKEND": "memory",
            "S3SERVER_REGION": "eu-west-1",
            "S3SERVER_ACCESS_KEY": "ENVKEY",
            "S3SERVER_SECRET_KEY": "env-secret",
        }
    )
    assert server.keys == ["ENVKEY"]
    assert "eu-west-1" in server.banner
    client = boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="eu-west-1",
        aws_access_key_id="ENVKEY",
        aws_secret_access_key="env-secret",
    )
    client.create_bucket(
        Bucket="euro", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    assert [b["Name"] for b in client.list_buckets()["Buckets"]] == ["euro"]


def test_access_log_line(run_server: Any) -> None:
    """Each request logs method, path, status, bytes, duration and request id."""
    server = run_server("--port", "0", "--backend", "memory")
    client = server.client()
    response = client.list_buckets()
    request_id = response["ResponseMetadata"]["RequestId"]
    server.proc.terminate()
    _, err = server.proc.communicate(timeout=10)
    line = next(line for line in err.splitlines() if request_id in line)
    assert re.search(r"GET / 200 \d+ [\d.]+ms " + request_id, line), line
