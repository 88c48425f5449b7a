"""Big objects stream through a standalone server with flat memory (slow tests).

The server runs as its own process (``python -m s3server.cli``, filesystem backend,
under a temporary directory), so that its peak resident memory (``VmHWM`` in
``/proc/<pid>/status``) measures the server alone. Every byte is streamed: the client
generates or reads data a chunk at a time and hashes it on the way. Run with
``pytest -m slow tests/integration/test_big_objects.py -s`` to see the figures.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="reads /proc/<pid>/status"
    ),
]

MIB = 1024 * 1024
GIB = 1024 * MIB
ACCESS_KEY, SECRET_KEY = "BIGOBJECTS", "big-objects-secret"


def _status_mib(pid: int, field: str) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"{field}:\s+(\d+) kB", status)
    assert match is not None
    return int(match[1]) / 1024


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A scratch directory, removed (with its gigabytes) after the test."""
    path = tmp_path / "big"
    path.mkdir()
    free = shutil.disk_usage(path).free
    if free < 40 * GIB:
        pytest.skip(f"needs 40 GiB free on {path}, has {free / GIB:.1f} GiB")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def server(workdir: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The standalone server over ``workdir/data``: (process, endpoint URL)."""
    command = [
        sys.executable,
        "-m",
        "s3server.cli",
        "--port",
        "0",
        "--data-dir",
        str(workdir / "data"),
        "--access-key",
        ACCESS_KEY,
        "--secret-key",
        SECRET_KEY,
    ]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        endpoint = None
        for line in proc.stdout:
            match = re.search(r"listening on (\S+)", line)
            if match:
                endpoint = match[1]
                break
        assert endpoint is not None, "the server did not start"
        yield proc, endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        if proc.stdout is not None:
            proc.stdout.close()


def client_for(endpoint: str) -> Any:
    """A boto3 client for the standalone server."""
    return boto3.session.Session(
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
    ).client(
        "s3",
        endpoint_url=endpoint,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def chunks(size: int) -> Iterator[bytes]:
    """``size`` deterministic bytes, 1 MiB at a time, no two chunks alike."""
    block = hashlib.sha256(b"big objects").digest() * (MIB // 32)
    for offset in range(0, size, MIB):
        yield offset.to_bytes(8, "big") + block[8 : min(MIB, size - offset)]


def test_5_gib_put_and_get_keep_server_memory_flat(
    server: tuple[subprocess.Popen[str], str],
) -> None:
    """A 5 GiB PutObject and GetObject grow the server's peak RSS by < 100 MiB."""
    proc, endpoint = server
    size = 5 * GIB
    client = client_for(endpoint)
    client.create_bucket(Bucket="big")
    before = _status_mib(proc.pid, "VmHWM")
    put_url = client.generate_presigned_url(
        "put_object", Params={"Bucket": "big", "Key": "five"}, ExpiresIn=7200
    )
    parts = urlsplit(put_url)
    sent = hashlib.sha256()
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.netloc, timeout=3600)
    conn.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    for chunk in chunks(size):
        sent.update(chunk)
        conn.send(chunk)
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 200
    put_seconds = time.perf_counter() - started
    after_put = _status_mib(proc.pid, "VmHWM")
    got = hashlib.sha256()
    started = time.perf_counter()
    body = client.get_object(Bucket="big", Key="five")["Body"]
    received = 0
    for chunk in body.iter_chunks(MIB):
        got.update(chunk)
        received += len(chunk)
    get_seconds = time.perf_counter() - started
    after_get = _status_mib(proc.pid, "VmHWM")
    print(
        f"\n5 GiB PUT {put_seconds:.1f} s, GET {get_seconds:.1f} s; server peak RSS "
        f"{before:.1f} -> {after_put:.1f} (PUT) -> {after_get:.1f} MiB (GET)"
    )
    assert received == size
    assert got.hexdigest() == sent.hexdigest()
    assert after_get - before < 100


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def test_6_gib_upload_file_download_file_round_trip(
    server: tuple[subprocess.Popen[str], str], workdir: Path
) -> None:
    """boto3 upload_file / download_file of 6 GiB (multipart, ranged) are identical."""
    proc, endpoint = server
    size = 6 * GIB
    source = workdir / "source.bin"
    with source.open("wb") as f:
        for chunk in chunks(size):
            f.write(chunk)
    client = client_for(endpoint)
    client.create_bucket(Bucket="big")
    before = _status_mib(proc.pid, "VmHWM")
    started = time.perf_counter()
    client.upload_file(str(source), "big", "six")
    uploaded = time.perf_counter()
    head = client.head_object(Bucket="big", Key="six")
    assert head["ContentLength"] == size
    assert head["ETag"].endswith('-768"')  # 8 MiB parts
    target = workdir / "downloaded.bin"
    client.download_file("big", "six", str(target))
    finished = time.perf_counter()
    peak = _status_mib(proc.pid, "VmHWM")
    print(
        f"\n6 GiB upload_file {uploaded - started:.1f} s, download_file "
        f"{finished - uploaded:.1f} s, total {finished - started:.1f} s; server "
        f"peak RSS {before:.1f} -> {peak:.1f} MiB"
    )
    assert _sha256_file(target) == _sha256_file(source)
    os.unlink(target)
    assert client.list_multipart_uploads(Bucket="big").get("Uploads", []) == []
    # Ten parallel part transfers at a time: a bound, not flat memory.
    assert peak - before < 256
