"""Big-object throughput and server memory, against a standalone server process.

Run by hand (never a test)::

    python bench/bench_big_objects.py [--size-mib 1024] [--dir DIR] [--backend B]

In one run it starts ``python -m s3server.cli --port 0 --data-dir DIR/data`` as a
subprocess, writes a test file of ``--size-mib`` MiB in ``DIR`` and measures:

* baseline: a plain file copy on the same disk (``shutil.copyfile``, then fsync,
  since the server fsyncs what it stores);
* PUT: one PutObject of the file, streamed by ``http.client`` to a presigned URL
  (UNSIGNED-PAYLOAD), so the client adds no hashing of its own;
* GET: one GetObject of it, streamed by ``http.client`` and discarded;
* multipart: ``boto3`` ``upload_file`` of the same file (default TransferConfig:
  8 MiB parts, 10 threads), then ``download_file`` (parallel ranged GETs).

It prints MB/s (10**6 bytes per second) for each, the ratio to the baseline, and the
server's peak resident memory (``VmHWM`` in ``/proc/<pid>/status``, Linux only) after
each step. For PUT it also prints when the last body byte was sent: waitress receives
a whole body (spooling it to a temporary file) before the application sees it, so the
time between the last byte and the response is the server reading the spool back.
Everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import http.client
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from _common import (
    MIB,
    default_scratch_parent,
    disk_baseline,
    make_source,
    peak_rss_mib,
    rss_mib,
    start_ours,
    stop,
)
from botocore.config import Config

CHUNK = MIB


def stream_put(url: str, path: Path, size: int) -> tuple[float, float, str]:
    """PUT the file to a presigned URL: (seconds to last byte, seconds total, ETag)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc, timeout=3600)
    started = time.perf_counter()
    conn.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            conn.send(chunk)
    sent = time.perf_counter() - started
    response = conn.getresponse()
    response.read()
    total = time.perf_counter() - started
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"PUT answered {response.status}")
    return sent, total, (response.getheader("ETag") or "").strip('"')


def stream_get(url: str) -> tuple[float, int]:
    """GET a presigned URL, discarding the body: (seconds, bytes)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc, timeout=3600)
    started = time.perf_counter()
    conn.request("GET", f"{parts.path}?{parts.query}")
    response = conn.getresponse()
    received = 0
    while chunk := response.read(CHUNK):
        received += len(chunk)
    elapsed = time.perf_counter() - started
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"GET answered {response.status}")
    return elapsed, received


def report(name: str, size: int, seconds: float, baseline: float, pid: int) -> None:
    rate = size / seconds / 1e6
    ratio = baseline / seconds if baseline else float("nan")
    print(
        f"{name:<28} {seconds:8.2f} s {rate:9.1f} MB/s  {ratio:6.2f}x baseline"
        f"   server peak RSS {peak_rss_mib(pid):7.1f} MiB",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", default=None, help="scratch directory (same disk)")
    parser.add_argument("--backend", default="filesystem")
    args = parser.parse_args()
    size = args.size_mib * MIB
    scratch = Path(
        tempfile.mkdtemp(prefix="s3bench-", dir=args.dir or default_scratch_parent())
    )
    key, secret = "BENCH" + secrets.token_hex(6).upper(), secrets.token_hex(20)
    proc = None
    try:
        source = scratch / "source.bin"
        print(f"scratch directory {scratch} ({args.backend} backend)", flush=True)
        md5 = make_source(source, size)
        baseline = disk_baseline(source, scratch)
        data_dir = scratch / "data" if args.backend == "filesystem" else None
        proc, endpoint = start_ours(
            backend=args.backend, data_dir=data_dir, access_key=key, secret_key=secret
        )
        print(f"server pid {proc.pid} at {endpoint}, RSS {rss_mib(proc.pid):.1f} MiB")
        report("baseline: file copy", size, baseline, baseline, proc.pid)
        client = boto3.session.Session(
            aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1"
        ).client(
            "s3",
            endpoint_url=endpoint,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        client.create_bucket(Bucket="bench")
        put_url = client.generate_presigned_url(
            "put_object", Params={"Bucket": "bench", "Key": "single"}, ExpiresIn=3600
        )
        sent, total, etag = stream_put(put_url, source, size)
        assert etag == md5, (etag, md5)
        report("PUT (single request)", size, total, baseline, proc.pid)
        print(f"{'':<28} last body byte sent after {sent:.2f} s", flush=True)
        get_url = client.generate_presigned_url(
            "get_object", Params={"Bucket": "bench", "Key": "single"}, ExpiresIn=3600
        )
        seconds, received = stream_get(get_url)
        assert received == size
        report("GET (single request)", size, seconds, baseline, proc.pid)
        started = time.perf_counter()
        client.upload_file(str(source), "bench", "multipart")
        report(
            "upload_file (multipart)",
            size,
            time.perf_counter() - started,
            baseline,
            proc.pid,
        )
        target = scratch / "downloaded.bin"
        started = time.perf_counter()
        client.download_file("bench", "multipart", str(target))
        report(
            "download_file (ranged)",
            size,
            time.perf_counter() - started,
            baseline,
            proc.pid,
        )
        assert target.stat().st_size == size
    finally:
        stop(proc)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
