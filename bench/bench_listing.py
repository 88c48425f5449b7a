"""Listing cost (issue 5): does a ListObjectsV2 page cost the page or the bucket?

Run by hand (never a test)::

    python bench/bench_listing.py [--objects 100000] [--prefixes 1000]
        [--small 10000] [--repeats 5] [--populate files|api] [--dir DIR] [--quick]
        [--output bench/results/<date>-listing.md]

For each backend (memory, filesystem) it starts one server subprocess holding three
buckets: ``flat`` (``--objects`` keys ``obj-000000``...), ``spread`` (the same
number spread evenly over ``--prefixes`` prefixes, ``p0000/obj-000000``...) and
``small`` (``--small`` flat keys, to show whether the first page grows with the
bucket). The server process fills them before it listens:

* memory: through the backend API (``open_writer``/``commit``);
* filesystem, ``--populate files`` (the default, fast): plain files written by
  hand into ``<data>/<bucket>/``, which the backend adopts as objects; their ETags
  are computed on first use, so before anything is timed one full walk of every
  bucket (all pages) runs and is reported as "first walk": it computes and caches
  every ETag. ``--populate api`` stores through the backend API instead (fsync off
  while filling; slower, ~1.3 ms an object).

Every timed request goes through the real HTTP server (waitress, the same ``serve``
the ``s3server`` command runs): a SigV4 presigned GET made by ``s3core.presign_url``,
so the server verifies each signature, sent by ``http.client`` on a keep-alive
connection and timed until the whole XML body is read. The client does not parse the
timed response (botocore's parser would add tens of ms per 1000-key page and hide the
server's cost); pages are parsed afterwards to find continuation tokens and to check
the key counts. Each listing is timed ``--repeats`` times after one warm-up; the
table shows the median (warm: the OS page cache and the backend's caches are hot).

Listings: the first page (1000 keys, no delimiter); a page deep in the bucket (the
90 % page, e.g. the 90th of 100), requested by itself with a continuation token
obtained beforehand; a delimiter ``/`` listing at the root (1000 keys for ``flat``,
1000 common prefixes for ``spread``); and a delimiter listing inside one prefix in the
middle of the bucket (100 keys; for ``flat`` the prefix is ``obj-0500``, a plain
string prefix). Everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import http.client
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import _common
from lxml import etree

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
PAGE = 1000


# --- the server side (run in the subprocess) -------------------------------------


def _bucket_keys(objects: int, prefixes: int) -> dict[str, list[str]]:
    per_prefix = max(1, objects // prefixes)
    return {
        "flat": [f"obj-{i:06d}" for i in range(objects)],
        "spread": [f"p{i // per_prefix:04d}/obj-{i:06d}" for i in range(objects)],
    }


def serve_populated(args: argparse.Namespace) -> int:
    """Fill the buckets, then serve them (the ``--serve`` mode of this script)."""
    from s3core.backends.base import Backend
    from s3core.backends.filesystem import FilesystemBackend
    from s3core.backends.memory import MemoryBackend
    from s3core.config import ServiceConfig
    from s3core.models import ObjectMeta
    from s3core.service import S3Service
    from s3server.server import make_user, serve

    user = make_user(args.access_key, args.secret_key)
    now = dt.datetime.now(dt.timezone.utc)
    buckets = _bucket_keys(args.objects, args.prefixes)
    buckets["small"] = [f"obj-{i:06d}" for i in range(args.small)]
    started = time.perf_counter()
    filler: Backend
    if args.serve == "memory":
        filler = MemoryBackend()
    else:
        data = Path(args.data_dir)
        filler = FilesystemBackend(data, fsync=False, default_owner_id=user.id)
    for bucket, keys in buckets.items():
        filler.create_bucket(bucket, owner_id=user.id, created=now)
        for key in keys:
            body = f"{key}\n".encode()
            if args.serve == "filesystem" and args.populate == "files":
                # A file made by hand is an object (DESIGN.md, requirement 1).
                path = Path(args.data_dir) / bucket / key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
                continue
            writer = filler.open_writer(bucket, key)
            writer.write(body)
            writer.commit(ObjectMeta(), etag=hashlib.md5(body).hexdigest())
    print(f"populated in {time.perf_counter() - started:.1f} s", flush=True)
    # Serve with the settings the CLI would use (durable writes on the filesystem).
    backend = (
        filler
        if args.serve == "memory"
        else FilesystemBackend(Path(args.data_dir), default_owner_id=user.id)
    )
    service = S3Service(backend, [user], config=ServiceConfig(region=_common.REGION))
    serve(
        service,
        host="127.0.0.1",
        port=0,
        threads=8,
        on_ready=lambda url: print(f"listening on {url}", flush=True),
    )
    return 0


# --- the client side ------------------------------------------------------------


class Lister:
    """Signed ListObjectsV2 requests to one server over one keep-alive connection."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str) -> None:
        self.endpoint = endpoint
        self.access_key, self.secret_key = access_key, secret_key
        self.conn = http.client.HTTPConnection(urlsplit(endpoint).netloc, timeout=600)
        self.now = dt.datetime.now(dt.timezone.utc)

    def target(self, bucket: str, **params: str) -> str:
        query = {"list-type": "2", "max-keys": str(PAGE), **params}
        return _common.presigned_target(
            method="GET",
            endpoint=self.endpoint,
            bucket=bucket,
            key="",
            access_key=self.access_key,
            secret_key=self.secret_key,
            now=self.now,
            query=query,
        )

    def timed(self, target: str) -> tuple[float, bytes]:
        """(seconds, body) of one GET, timed from send to the last body byte."""
        started = time.perf_counter()
        self.conn.request("GET", target)
        response = self.conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"{target} answered {response.status}: {body[:300]!r}")
        return elapsed, body

    def close(self) -> None:
        self.conn.close()


def parse_page(body: bytes) -> tuple[int, int, str | None]:
    """(keys, common prefixes, next continuation token) of a ListObjectsV2 body."""
    root = etree.fromstring(body)
    keys = len(root.findall(f"{NS}Contents"))
    prefixes = len(root.findall(f"{NS}CommonPrefixes"))
    token = root.findtext(f"{NS}NextContinuationToken")
    return keys, prefixes, token


def walk(lister: Lister, bucket: str, stop_at: int) -> tuple[float, int, str | None]:
    """List every page: (seconds, pages, token of page ``stop_at`` (1-based))."""
    total, pages, token, wanted = 0.0, 0, None, None
    while True:
        params: dict[str, str] = {"continuation-token": token} if token else {}
        seconds, body = lister.timed(lister.target(bucket, **params))
        total += seconds
        pages += 1
        _, _, token = parse_page(body)
        if pages == stop_at - 1:
            wanted = token
        if token is None:
            return total, pages, wanted


def measure(
    lister: Lister, target: str, expect: tuple[int, int], *, repeats: int
) -> float:
    """Median milliseconds of ``repeats`` timed requests after one warm-up."""
    _, body = lister.timed(target)
    got = parse_page(body)[:2]
    if got != expect:
        raise RuntimeError(f"expected (keys, prefixes) {expect}, got {got}: {target}")
    return statistics.median(lister.timed(target)[0] for _ in range(repeats)) * 1e3


def run_backend(
    backend: str, args: argparse.Namespace, scratch: Path
) -> dict[tuple[str, str], float]:
    """Start the populated server for ``backend`` and time every listing (ms)."""
    key, secret = "BENCH" + secrets.token_hex(6).upper(), secrets.token_hex(20)
    command = [
        sys.executable,
        __file__,
        "--serve",
        backend,
        "--access-key",
        key,
        "--secret-key",
        secret,
        "--objects",
        str(args.objects),
        "--prefixes",
        str(args.prefixes),
        "--small",
        str(args.small),
        "--populate",
        args.populate,
        "--data-dir",
        str(scratch / "data"),
    ]
    results: dict[tuple[str, str], float] = {}
    proc = None
    lister = None
    try:
        started = time.perf_counter()
        proc, endpoint = _common.start_with_banner(command)
        print(
            f"{backend}: server pid {proc.pid} ready after "
            f"{time.perf_counter() - started:.1f} s (populating included)",
            flush=True,
        )
        lister = Lister(endpoint, key, secret)
        per_prefix = max(1, args.objects // args.prefixes)
        for bucket, count in (
            ("flat", args.objects),
            ("spread", args.objects),
            ("small", args.small),
        ):
            pages = -(-count // PAGE)
            deep = int(pages * 0.9)
            first_walk, walked, token = walk(lister, bucket, deep)
            assert walked == pages, (bucket, walked, pages)
            results[(bucket, "first walk, all pages (s)")] = first_walk
            results[(bucket, "walk, all pages (s)")] = walk(lister, bucket, deep)[0]
            time_one = functools.partial(measure, lister, repeats=args.repeats)
            results[(bucket, "first page")] = time_one(
                lister.target(bucket), (min(PAGE, count), 0)
            )
            if token is not None:
                results[(bucket, f"page {deep} of {pages} (token)")] = time_one(
                    lister.target(bucket, **{"continuation-token": token}),
                    (PAGE if deep < pages else count - PAGE * (pages - 1), 0),
                )
            root_expect = (
                (0, min(PAGE, args.prefixes))
                if bucket == "spread"
                else (min(PAGE, count), 0)
            )
            results[(bucket, "delimiter / at root")] = time_one(
                lister.target(bucket, delimiter="/"), root_expect
            )
            middle = count // 2
            if bucket == "spread":
                prefix = f"p{middle // per_prefix:04d}/"
                inside = (per_prefix, 0)
            else:
                prefix = f"obj-{middle:06d}"[:-2]
                inside = (100, 0)
            results[(bucket, "delimiter / in one prefix")] = time_one(
                lister.target(bucket, delimiter="/", prefix=prefix), inside
            )
            print(f"  {bucket}: done", flush=True)
        rss = _common.peak_rss_mib(proc.pid)
        results[("server", "peak RSS (MiB)")] = rss
    finally:
        if lister is not None:
            lister.close()
        _common.stop(proc)
        shutil.rmtree(scratch / "data", ignore_errors=True)
    return results


def _label(bucket: str, args: argparse.Namespace) -> str:
    return {
        "flat": f"flat {args.objects:,}",
        "spread": f"{args.objects:,} over {args.prefixes:,} prefixes",
        "small": f"flat {args.small:,}",
    }.get(bucket, bucket)


def render(
    results: dict[str, dict[tuple[str, str], float]], args: argparse.Namespace
) -> str:
    """The results as a Markdown table (ms per listing unless marked)."""
    lines = [
        "| bucket | listing | memory | filesystem | filesystem / memory |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    mem, fs = results["memory"], results["filesystem"]
    for row in mem:
        unit = "" if row[1].endswith(("(s)", "(MiB)")) else " ms"
        a, b = mem[row], fs.get(row, float("nan"))
        lines.append(
            f"| {_label(row[0], args)} | {row[1]} | {a:.1f}{unit} | {b:.1f}{unit} "
            f"| {b / a:.1f}x |"
        )
    growth = fs[("flat", "first page")] / fs[("small", "first page")]
    size_ratio = args.objects / args.small
    lines += [
        "",
        f"Filesystem first page, {args.objects:,}-object bucket vs {args.small:,}: "
        f"{fs[('flat', 'first page')]:.1f} ms vs {fs[('small', 'first page')]:.1f} "
        f"ms = {growth:.1f}x for a {size_ratio:.0f}x bigger bucket "
        f"(1.0x: cost of the page only; {size_ratio:.0f}x: cost of the bucket).",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--prefixes", type=int, default=1000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--populate", choices=("files", "api"), default="files")
    parser.add_argument("--dir", default=None, help="scratch directory (the disk)")
    parser.add_argument(
        "--quick", action="store_true", help="20,000 objects, 200 prefixes, 2,000"
    )
    parser.add_argument("--output", default=None, help="also write the table here")
    # The server side of the benchmark (this script runs itself as the server).
    parser.add_argument(
        "--serve", choices=("memory", "filesystem"), help=argparse.SUPPRESS
    )
    parser.add_argument("--access-key", help=argparse.SUPPRESS)
    parser.add_argument("--secret-key", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve_populated(args)
    if args.quick:
        args.objects, args.prefixes, args.small = 20_000, 200, 2_000
    scratch = Path(tempfile.mkdtemp(prefix="s3bench-list-", dir=args.dir))
    machine_rows = _common.machine_description(scratch)
    started = time.perf_counter()
    results: dict[str, dict[tuple[str, str], float]] = {}
    try:
        for backend in ("memory", "filesystem"):
            results[backend] = run_backend(backend, args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    populate = (
        "plain files written by hand (ETags computed by the first walk)"
        if args.populate == "files"
        else "the backend API"
    )
    table = render(results, args)
    header = (
        f"ListObjectsV2 through the HTTP server, median of {args.repeats} warm runs, "
        f"ms per listing; filesystem filled with {populate}."
    )
    print("\n" + header + "\n\n" + table)
    if args.output:
        machine = "\n".join(f"| {k} | {v} |" for k, v in machine_rows)
        Path(args.output).write_text(
            f"# Listing cost (issue 5), {dt.date.today().isoformat()}\n\n"
            f"Command: `python {' '.join(sys.argv)}` "
            f"({(time.perf_counter() - started) / 60:.1f} min). Load average at "
            f"the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.\n\n"
            f"| | |\n| --- | --- |\n{machine}\n\n{header}\n\n{table}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
