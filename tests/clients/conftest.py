"""Shared ground for the client suite: one server, one scenario, many clients.

This module owns what every client test module needs and no client's own settings:
a real server over the filesystem backend with known keys (one per module, left
with no bucket after each test), the scenario's key set and its expected listings,
a 20 MiB random file, SHA-256 helpers, ``curl`` for presigned URLs, and the
environment client subprocesses run in (no AWS variables, no proxies, a private
HOME). It must not mock anything and must not send traffic anywhere but 127.0.0.1.

Each client module also declares, for ``tools/client_matrix.py`` (which reads them
from the source): ``CLIENT`` (its name in the table), ``VERSIONS`` (where its
version is read: ``pip:<dist>``, ``npm:<package>``, ``cmd:<command line>``),
``EXERCISED`` (the calls it makes, in a sentence), ``SETTINGS`` (what the client
needs set against this server) and ``CANNOT`` (scenario steps the client cannot
express, and why).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from s3server.server import ServerThread, make_user

ACCESS_KEY = "CLIENTSUITEKEY"
SECRET_KEY = "client-suite-secret"
WRONG_SECRET = "not-the-secret"
REGION = "us-east-1"

# The scenario's keys: plain, a space, '+', '%', non-ASCII in a prefix and in a
# name, and nested prefixes two levels down. '+' and '%' are where clients and
# servers disagree most often: S3 paths are percent-encoded, '+' is a plus sign.
SCENARIO_KEYS = (
    "small.txt",
    "with space.txt",
    "plus+sign.txt",
    "100% done.txt",
    "unicodé/ñandú 文件.txt",
    "nested/a/b/deep.txt",
    "nested/a/sibling.txt",
    "nested/top.txt",
)
# With delimiter "/" at the bucket root: these objects and these prefixes.
TOP_LEVEL_OBJECTS = ("100% done.txt", "plus+sign.txt", "small.txt", "with space.txt")
TOP_LEVEL_PREFIXES = ("nested/", "unicodé/")
# With delimiter "/" under "nested/".
NESTED_OBJECTS = ("nested/top.txt",)
NESTED_PREFIXES = ("nested/a/",)

BIG_SIZE = 20 * 1024 * 1024


def utf8_sorted(keys: Any) -> list[str]:
    """Keys in S3's listing order: by UTF-8 bytes."""
    return sorted(keys, key=lambda key: key.encode())


def scenario_body(key: str) -> bytes:
    """The bytes stored under a scenario key: distinct per key, a few KiB."""
    return (f"{key}\n".encode() * 200) + hashlib.sha256(key.encode()).digest()


def write_scenario_tree(root: Path) -> dict[str, bytes]:
    """Write every scenario key as a file under ``root``; returns key -> bytes."""
    out = {}
    for key in SCENARIO_KEYS:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(scenario_body(key))
        out[key] = scenario_body(key)
    return out


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` as key (POSIX relative path) -> bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
    }


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@attrs.frozen
class BigFile:
    """The scenario's large upload: a random file of ``BIG_SIZE`` bytes."""

    path: Path
    size: int
    sha256: str


@pytest.fixture(scope="session")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> BigFile:
    """A 20 MiB file of seeded random bytes (large enough for multipart)."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    path.write_bytes(random.Random(20).randbytes(BIG_SIZE))
    return BigFile(path=path, size=BIG_SIZE, sha256=sha256_file(path))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """The real server on 127.0.0.1:0 over the filesystem backend, one per module."""
    user = make_user(ACCESS_KEY, SECRET_KEY, display_name="client-suite")
    data = tmp_path_factory.mktemp("data")
    with ServerThread(data_dir=data, users=[user], region=REGION) as srv:
        yield srv


@pytest.fixture(scope="module")
def oracle(server: ServerThread) -> Any:
    """A boto3 client on the same server, to check what another client stored."""
    from botocore.config import Config

    return server.client(config=Config(retries={"max_attempts": 1}))


@pytest.fixture(autouse=True)
def _empty_server(oracle: Any) -> Iterator[None]:
    """Each test starts on a server with no bucket, whatever the last one left."""
    yield
    for name in bucket_names(oracle):
        pages = oracle.get_paginator("list_multipart_uploads").paginate(Bucket=name)
        for upload in (u for page in pages for u in page.get("Uploads", [])):
            oracle.abort_multipart_upload(
                Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
            )
        for key in stored_keys(oracle, name):
            oracle.delete_object(Bucket=name, Key=key)
        oracle.delete_bucket(Bucket=name)


def stored_keys(oracle: Any, bucket: str) -> list[str]:
    """Every key in ``bucket``, listed by boto3 (the independent check)."""
    pages = oracle.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def seed_scenario(oracle: Any, bucket: str) -> dict[str, bytes]:
    """Make ``bucket`` and put every scenario key with boto3; returns key -> bytes.

    For tests of a step after the upload, so that a slow command-line client
    spends its time on the step under test; each client's own upload of the
    scenario is tested separately.
    """
    oracle.create_bucket(Bucket=bucket)
    files = {key: scenario_body(key) for key in SCENARIO_KEYS}
    for key, body in files.items():
        oracle.put_object(Bucket=bucket, Key=key, Body=body)
    return files


def bucket_names(oracle: Any) -> list[str]:
    """The buckets the server has, listed by boto3."""
    return [b["Name"] for b in oracle.list_buckets()["Buckets"]]


# Variables that point clients somewhere else: AWS settings and profiles, CA
# bundles (rclone, a Go program, refuses to start when AWS_CA_BUNDLE names a file
# it cannot use) and proxies (test traffic must go straight to 127.0.0.1).
_DROPPED_PREFIXES = ("AWS_", "RCLONE_", "S3CMD_", "BOTO_")
_DROPPED_NAMES = {
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
}


def client_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a client subprocess.

    No AWS or rclone variable, no CA bundle, no proxy; ``HOME`` is ``home`` so no
    ``~/.s3cfg``, ``~/.aws`` or rclone config of the machine is read; instance
    metadata lookups are off. ``extra`` is added last.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_DROPPED_PREFIXES) and name.upper() not in _DROPPED_NAMES
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        AWS_EC2_METADATA_DISABLED="true",
        LC_ALL="C.UTF-8",
        LANG="C.UTF-8",
    )
    env.update(extra or {})
    return env


@pytest.fixture
def clean_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """For in-process clients: the same clean environment as ``client_env``."""
    for name in list(os.environ):
        if name.startswith(_DROPPED_PREFIXES) or name.upper() in _DROPPED_NAMES:
            monkeypatch.delenv(name)
    missing = tmp_path / "no-aws-config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(missing))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def run(
    args: list[str],
    env: Mapping[str, str],
    *,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a client command; never raises on a non-zero exit (tests check it)."""
    return subprocess.run(
        args,
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """Assert a client command succeeded; its stdout (stderr shown on failure)."""
    assert result.returncode == 0, (
        f"{result.args!r} exited {result.returncode}\n"
        f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
    )
    return result.stdout


@attrs.frozen
class CurlResult:
    """What curl got: the HTTP status and the body."""

    status: int
    body: bytes


def curl(url: str, tmp_path: Path, *args: str) -> CurlResult:
    """Send ``url`` with curl exactly as given (no globbing, no proxy).

    ``args`` are more curl options (``--upload-file``, ``--form``...).
    """
    # Not a skip: a module skips only when its own client is missing.
    assert shutil.which("curl"), "curl is needed for presigned URLs (apt install curl)"
    out = tmp_path / "curl.body"
    result = subprocess.run(
        [
            *("curl", "--silent", "--show-error", "--globoff", "--noproxy", "*"),
            *("--output", str(out), "--write-out", "%{http_code}", *args, url),
        ],
        env=client_env(tmp_path / "curl-home"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return CurlResult(status=int(result.stdout), body=out.read_bytes())


def curl_get(url: str, tmp_path: Path) -> CurlResult:
    """GET ``url`` with curl."""
    return curl(url, tmp_path)
