"""Issue 7's comparison: every scenario against every server, in one run.

Run by hand (never a test)::

    python bench/bench_compare.py            # full run, writes results/<date>.md
    python bench/bench_compare.py --quick    # ~2-3 minutes, for checking the script

Needs ``wrk`` and ``nginx`` from Debian (``apt-get install -y nginx wrk``; the
script exits with that hint when either is missing), ``taskset`` (util-linux) and the
``bench`` extra (``pip install -e '.[bench]'``: moto[server], py-spy).

Servers (``_servers.py``), all started at the beginning as their own processes (an
idle one costs nothing) and stopped by pid at the end:
ours with the memory backend; ours with the filesystem backend in one process (fsync
on, the default), the same with ``--fsync off``, the same allowed both cores, and
``--workers 2``; moto's server (``python -m moto.server``) on one core, and allowed
both for the small objects (``moto-2cpu``: the "whole machine against the whole
machine" target row takes moto's faster set-up, per op, against ``--workers 2``);
nginx (static GET/HEAD, WebDAV PUT/DELETE) as the practical limit of HTTP plus disk
on this machine.

Scenarios:

* small: 4 KiB PUT, GET, HEAD, DELETE with ``--connections`` (16) keep-alive
  connections in a closed loop: ops/s, p50, p99. Every request is a SigV4 presigned
  URL made by ``s3core.presign_url`` for that server's host and port (PUT with
  UNSIGNED-PAYLOAD), so ours verifies a signature on each; moto and nginx get the
  same requests and ignore the signature. PUT, GET and DELETE are driven by ``wrk``
  (one thread, ``wrk_requests.lua``); HEAD by ``_loadgen.py`` (Python, one
  ``selectors`` loop), because wrk waits for the body a HEAD response announces and
  hangs. A 1-second warm-up PUT measures each server's rate; a PUT phase then writes
  ``rate x --duration`` new keys (``--min-keys``..``--max-keys``), GET and HEAD read
  those keys for ``--duration`` seconds, and DELETE removes each of them once.
  ``--rounds`` (3) rounds run interleaved (each phase against every server in turn,
  ``_small.py``) and the table shows each server's best round, with the median:
  on a machine shared with other jobs the best round is the least disturbed one.
  Server and client CPU (percent of one core, from /proc and rusage) are shown so a
  saturated client is visible.
* big: ``--big-rounds`` (2) rounds of one ``--big-mib`` (1024) MiB PUT
  (``http.client`` with ``socket.sendfile``, so the client copies nothing) and GET
  (``readinto`` a reused 1 MiB buffer): MB/s, the time between the last body byte
  sent and the response (with waitress's spool: the spool read back and written
  again; with a streaming channel: the tail of the write and the fsync), and the
  server's peak RSS (largest ``VmHWM`` in its process tree) before and after; best
  round per direction.
* list: ``--list-keys`` (20,000) keys ``dNNNN/kNNNNNN`` (10 per prefix), PUT by wrk,
  then ListObjectsV2 walked page by page (1000 keys per page, via continuation
  tokens) without delimiter, and with delimiter ``/`` (2,000 common prefixes, 2
  pages); median of ``--list-repeats`` walks after a warm-up walk.
* fixture: milliseconds from creating ``s3server.ServerThread`` to its first 200,
  against moto's ``ThreadedMotoServer`` (``_fixture.py``, a fresh process per
  sample: cold = first server in the process after the imports, warm = later ones).

Pinning: with 2+ cores each server runs on ``--server-cpus`` (0) and the client
(wrk, the load generator, this process) on ``--client-cpus`` (1). ``--workers 2``
needs both cores, so it runs on ``--two-cpus`` (0,1) and shares core 1 with the
client; so that its ratio compares like with like, a single process is also run
allowed both cores (``ours-fs-2cpu``). The results file records all of this, the
machine, and the load average (this machine may be shared with other jobs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import _common
from _servers import Running, ServerSpec, all_specs, request
from _small import OPS, Driver, SmallObjects
from bench_listing import Lister, parse_page

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "_fixture.py"

Result = dict[str, Any]


# --- big objects ------------------------------------------------------------------


def big_objects(running: Running, source: Path, size: int, md5: str) -> Result:
    """One big PUT and GET: MB/s, the after-last-byte wait, peak RSS."""
    _common.warm_memory(3 * size + _common.GIB)
    before = _common.tree_peak_rss_mib(running.pid)
    target = running.sign("PUT", "big")
    conn = http.client.HTTPConnection(urlsplit(running.endpoint).netloc, timeout=3600)
    started = time.perf_counter()
    conn.putrequest("PUT", target, skip_accept_encoding=True)
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    assert conn.sock is not None
    with source.open("rb") as f:
        conn.sock.sendfile(f)
    sent = time.perf_counter() - started
    response = conn.getresponse()
    response.read()
    total = time.perf_counter() - started
    conn.close()
    if response.status not in (200, 201, 204):
        raise RuntimeError(f"big PUT answered {response.status}")
    etag = (response.getheader("ETag") or "").strip('"')
    if running.name != "nginx" and etag != md5:
        raise RuntimeError(f"big PUT ETag {etag} is not the MD5 {md5}")
    after_put = _common.tree_peak_rss_mib(running.pid)
    get_seconds, received = _stream_get(running.endpoint, running.sign("GET", "big"))
    if received != size:
        raise RuntimeError(f"big GET returned {received} of {size} bytes")
    result = {
        "put_mbs": size / total / 1e6,
        "put_sent_s": sent,
        "put_after_last_byte_s": total - sent,
        "get_mbs": size / get_seconds / 1e6,
        "rss_before": before,
        "rss_after_put": after_put,
        "rss_after_get": _common.tree_peak_rss_mib(running.pid),
    }
    request(running.endpoint, "DELETE", running.sign("DELETE", "big"))
    return result


def _stream_get(endpoint: str, target: str) -> tuple[float, int]:
    conn = http.client.HTTPConnection(urlsplit(endpoint).netloc, timeout=3600)
    buffer = bytearray(_common.MIB)
    view = memoryview(buffer)
    started = time.perf_counter()
    conn.request("GET", target)
    response = conn.getresponse()
    received = 0
    while n := response.readinto(view):
        received += n
    seconds = time.perf_counter() - started
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"big GET answered {response.status}")
    return seconds, received


# --- listing ----------------------------------------------------------------------


def listing(driver: Driver) -> Result:
    """ListObjectsV2 walks over ``--list-keys`` keys, without and with delimiter."""
    args, running = driver.args, driver.running
    bucket = "listing"
    running.create_bucket(bucket)
    keys = [f"d{i // 10:04d}/k{i:06d}" for i in range(args.list_keys)]
    targets = driver.write_targets(
        "list-put", [running.sign("PUT", k, bucket) for k in keys]
    )
    filled = driver.phase("PUT", targets, limit=len(keys), duration=3600)
    if filled["errors"]:
        raise RuntimeError(f"filling the listing bucket: {filled['errors']} errors")
    lister = Lister(running.endpoint, running.access_key, running.secret_key)
    try:
        result: Result = {"fill_ops": filled["ops"]}
        for name, params, expect in (
            ("flat", {}, (len(keys), 0)),
            ("delimiter", {"delimiter": "/"}, (0, -(-len(keys) // 10))),
        ):
            walks = [
                _walk(lister, bucket, params) for _ in range(args.list_repeats + 1)
            ]
            pages, counts = walks[0][1], walks[0][2]
            if counts != expect:
                raise RuntimeError(f"{name} listing saw {counts}, expected {expect}")
            seconds = statistics.median(w[0] for w in walks[1:])
            result[f"{name}_ms"] = seconds * 1e3
            result[f"{name}_pages"] = pages
            result[f"{name}_ms_per_page"] = seconds * 1e3 / pages
    finally:
        lister.close()
    return result


def _walk(
    lister: Lister, bucket: str, params: dict[str, str]
) -> tuple[float, int, tuple[int, int]]:
    """Every page: (seconds in requests, pages, (keys, common prefixes))."""
    total, pages, keys, prefixes, token = 0.0, 0, 0, 0, None
    while True:
        extra = {**params, **({"continuation-token": token} if token else {})}
        seconds, body = lister.timed(lister.target(bucket, **extra))
        total += seconds
        pages += 1
        k, p, token = parse_page(body)
        keys, prefixes = keys + k, prefixes + p
        if token is None:
            return total, pages, (keys, prefixes)


# --- fixture ----------------------------------------------------------------------


def fixture(which: str, processes: int, runs: int) -> Result:
    """Start-to-first-200 of an in-process server, over fresh processes."""
    imports, cold, warm = [], [], []
    for _ in range(processes):
        done = subprocess.run(
            [sys.executable, str(FIXTURE), which, str(runs)],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        sample = json.loads(done.stdout.strip().splitlines()[-1])
        imports.append(sample["import_ms"])
        cold.append(sample["cold_ms"])
        warm.extend(sample["warm_ms"])
    return {
        "import_ms": statistics.median(imports),
        "cold_ms": statistics.median(cold),
        "warm_ms": statistics.median(warm) if warm else float("nan"),
        "samples": len(cold),
    }


# --- the run ----------------------------------------------------------------------


def run_all(
    specs: list[ServerSpec],
    args: argparse.Namespace,
    scratch: Path,
    big: tuple[Path, int, str] | None,
) -> dict[str, Result]:
    """Start every server, run the scenarios across them, stop them all."""
    results: dict[str, Result] = {spec.name: {} for spec in specs}
    servers: dict[str, tuple[ServerSpec, Driver]] = {}
    try:
        for spec in specs:
            try:
                running = spec.start(scratch)
                servers[spec.name] = (spec, Driver(running, args, scratch / spec.name))
                running.create_bucket()
                print(f"{spec.name}: pid {running.pid} at {running.endpoint}")
            except Exception as exc:
                traceback.print_exc()
                results[spec.name]["error"] = f"{type(exc).__name__}: {exc}"
        if "small" in args.scenarios:
            _small_rounds(servers, results, args)
        if big is not None:
            for round_ in range(args.big_rounds):
                for name, (spec, driver) in servers.items():
                    if "big" in spec.scenarios:
                        _scenario(
                            results[name],
                            "big",
                            round_,
                            name,
                            functools.partial(big_objects, driver.running, *big),
                        )
        if "list" in args.scenarios:
            for name, (spec, driver) in servers.items():
                if "list" in spec.scenarios and driver.running.lists:
                    run = functools.partial(listing, driver)
                    _scenario(results[name], "list", 0, name, run)
        for name, (_, driver) in servers.items():
            results[name]["idle_rss"] = _common.rss_mib(driver.running.pid)
            results[name]["thread_cpus"] = _common.thread_cpus(driver.running.pid)
    finally:
        for _, driver in servers.values():
            driver.running.stop()
    return results


def _scenario(
    result: Result, name: str, round_: int, server: str, run: Callable[[], Result]
) -> None:
    """Run one scenario round; keep the best round (by throughput) and errors."""
    started = time.perf_counter()
    try:
        outcome = run()
    except Exception as exc:
        traceback.print_exc()
        outcome = {"error": f"{type(exc).__name__}: {exc}"}
    print(
        f"  {server} {name} round {round_ + 1}: "
        f"{time.perf_counter() - started:.0f} s {_brief(outcome)}",
        flush=True,
    )
    previous = result.get(name)
    if previous is None or "error" in previous:
        result[name] = outcome
    elif "put_mbs" in outcome:
        # Each direction's best round; peak RSS is a high-water mark anyway.
        for key in ("put_mbs", "put_sent_s", "put_after_last_byte_s"):
            if outcome["put_mbs"] > previous["put_mbs"]:
                previous[key] = outcome[key]
        previous["get_mbs"] = max(previous["get_mbs"], outcome["get_mbs"])
        for key in ("rss_after_put", "rss_after_get"):
            previous[key] = max(previous[key], outcome[key])


def _small_rounds(
    servers: dict[str, tuple[ServerSpec, Driver]],
    results: dict[str, Result],
    args: argparse.Namespace,
) -> None:
    """Warm up every server, then interleave the rounds (see ``_small``)."""
    scenarios: dict[str, SmallObjects] = {}
    for name, (spec, driver) in servers.items():
        if "small" not in spec.scenarios:
            continue
        try:
            scenario = SmallObjects(driver)
            scenario.prepare()
            scenarios[name] = scenario
            print(f"  {name}: warmed up, {scenario.count} keys a round", flush=True)
        except Exception as exc:
            traceback.print_exc()
            results[name]["small"] = {"error": f"{type(exc).__name__}: {exc}"}
    for round_ in range(args.rounds):
        for op in OPS:
            for name, scenario in list(scenarios.items()):
                try:
                    scenario.run(op)
                except Exception as exc:
                    traceback.print_exc()
                    results[name]["small"] = {"error": f"{type(exc).__name__}: {exc}"}
                    del scenarios[name]
        print(
            f"  small round {round_ + 1}: "
            + "; ".join(
                f"{name} "
                + " ".join(
                    f"{op} {s.rounds[op][-1]['ops']:.0f}" for op in OPS if s.rounds[op]
                )
                for name, s in scenarios.items()
            ),
            flush=True,
        )
    for name, scenario in scenarios.items():
        results[name]["small"] = scenario.summary()


def _brief(result: Any) -> str:
    if not isinstance(result, dict):
        return ""
    if "error" in result:
        return f"FAILED {result['error']}"
    if "PUT" in result:
        return " ".join(f"{op} {result[op]['ops']:.0f}/s" for op in OPS if op in result)
    if "put_mbs" in result:
        return f"PUT {result['put_mbs']:.0f} MB/s GET {result['get_mbs']:.0f} MB/s"
    if "flat_ms" in result:
        return (
            f"flat {result['flat_ms']:.0f} ms, delimiter {result['delimiter_ms']:.0f}"
        )
    return ""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="small sizes and short phases (~2-3 min)")
    add("--duration", type=float, default=5.0, help="seconds per load phase")
    add("--rounds", type=int, default=3, help="interleaved rounds of small ops")
    add("--big-rounds", type=int, default=2, help="rounds of the big PUT/GET")
    add("--warmup", type=float, default=1.0, help="seconds of warm-up per method")
    add("--connections", type=int, default=16)
    add("--max-keys", type=int, default=20_000, help="most keys a PUT phase writes")
    add("--min-keys", type=int, default=500, help="fewest keys a PUT phase writes")
    add("--big-mib", type=int, default=1024, help="big object size (MiB)")
    add("--list-keys", type=int, default=20_000)
    add("--list-repeats", type=int, default=3)
    add("--fixture-processes", type=int, default=5)
    add("--fixture-runs", type=int, default=5, help="servers started per process")
    add("--servers", default="", help="comma-separated names (default: all)")
    add("--scenarios", default="small,big,list,fixture")
    add("--server-cpus", default="0")
    add("--client-cpus", default="1")
    add("--two-cpus", default="0,1")
    add(
        "--dir",
        default=None,
        help="scratch directory (on the disk to measure; default /var/tmp)",
    )
    add("--output", default=None, help="results file (default results/<date>.md)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.max_keys, args.min_keys = 2.0, 3000, 300
        args.rounds, args.big_rounds = 1, 1
        args.big_mib, args.list_keys, args.list_repeats = 64, 2000, 2
        args.fixture_processes, args.fixture_runs = 2, 3
    args.scenarios = set(args.scenarios.split(","))
    if (os.cpu_count() or 1) < 2:
        args.server_cpus = args.client_cpus = args.two_cpus = None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]
    if missing:
        print(f"missing {', '.join(missing)}: apt-get install -y nginx wrk")
        return 2
    if args.client_cpus:
        # The client side (this process: signing, big-object streams, listings).
        os.sched_setaffinity(0, {int(c) for c in args.client_cpus.split(",")})
    wanted = set(args.servers.split(",")) - {""}
    specs = [
        s
        for s in all_specs(args.server_cpus, args.two_cpus)
        if not wanted or s.name in wanted
    ]
    scratch = Path(
        tempfile.mkdtemp(
            prefix="s3bench-cmp-", dir=args.dir or _common.default_scratch_parent()
        )
    )
    machine = _common.machine_description(scratch)
    started = time.perf_counter()
    report: Result = {"servers": {}, "specs": specs}
    try:
        big = None
        if "big" in args.scenarios:
            size = args.big_mib * _common.MIB
            source = scratch / "source.bin"
            md5 = _common.make_source(source, size)
            report["disk_mbs"] = size / _common.disk_baseline(source, scratch) / 1e6
            big = (source, size, md5)
        report["servers"] = run_all(specs, args, scratch, big)
        if "fixture" in args.scenarios:
            report["fixture"] = {
                which: fixture(which, args.fixture_processes, args.fixture_runs)
                for which in ("ours", "moto")
            }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["seconds"] = time.perf_counter() - started
    report["load_after"] = os.getloadavg()
    import _report

    text = _report.render(report, args, machine, sys.argv)
    print("\n" + text)
    output = args.output
    if output is None and not args.quick:
        output = str(HERE / "results" / f"{dt.date.today().isoformat()}.md")
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text)
        print(f"\nwritten to {output}")
    return 0


if __name__ == "__main__":
    socket.setdefaulttimeout(600)
    sys.exit(main())
