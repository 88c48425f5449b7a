"""The small-object scenario of bench_compare.py: 4 KiB PUT, GET, HEAD, DELETE.

This module owns driving closed-loop load phases (``wrk`` with ``wrk_requests.lua``
for PUT, GET and DELETE; ``_loadgen.py`` for HEAD, which wrk cannot parse) and
reading their figures: ops/s, latency percentiles, server and client CPU. Servers
are measured in rounds, interleaved: round after round, each phase (PUT, then GET,
HEAD, DELETE) runs against every server in turn, so a burst of load from other jobs
on a shared machine hits one round of one server, not a whole server's figures. It
must not start or stop servers.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common
from _servers import Running

HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk_requests.lua"
LOADGEN = HERE / "_loadgen.py"
SMALL = 4096
OPS = ("PUT", "GET", "HEAD", "DELETE")

Result = dict[str, Any]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Driver:
    """Runs load phases against one server and reads their figures."""

    def __init__(
        self, running: Running, args: argparse.Namespace, workdir: Path
    ) -> None:
        self.running = running
        self.args = args
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)

    def write_targets(self, name: str, targets: list[str]) -> Path:
        path = self.workdir / f"{name}.txt"
        path.write_text("\n".join(targets) + "\n")
        return path

    def phase(
        self, method: str, targets: Path, *, limit: int, duration: float
    ) -> Result:
        """One closed-loop run: ops/s, latency percentiles, CPU of both sides."""
        running, conns = self.running, self.args.connections
        if method == "HEAD":
            command = [sys.executable, str(LOADGEN), "127.0.0.1", str(running.port)]
            command += [method, str(targets), str(conns), str(duration), str(limit)]
        else:
            command = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(duration))}s"]
            command += ["--timeout", "60s", "-s", str(LUA), running.endpoint, "--"]
            body = SMALL if method == "PUT" else 0
            command += [method, str(targets), str(body), str(limit)]
        server_cpu = _common.cpu_seconds(running.pid)
        client_cpu = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(
            _common.pinned(command, self.args.client_cpus),
            capture_output=True,
            text=True,
            timeout=duration * 3 + 120,
            check=False,
        )
        wall = time.perf_counter() - started
        server_cpu = _common.cpu_seconds(running.pid) - server_cpu
        client_cpu = _children_cpu() - client_cpu
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            raise RuntimeError(f"{command[0]} printed no result: {done.stderr[-500:]}")
        raw = json.loads(lines[-1])
        elapsed = raw["elapsed_us"] / 1e6
        kinds = ("status", "connect", "read", "write", "timeout")
        return {
            "responses": raw["responses"],
            "ops": raw["responses"] / elapsed if elapsed else 0.0,
            "p50_ms": raw["p50_us"] / 1e3,
            "p99_ms": raw["p99_us"] / 1e3,
            "max_ms": raw["max_us"] / 1e3,
            "errors": sum(raw[f"{kind}_errors"] for kind in kinds),
            "status_errors": raw["status_errors"],
            "server_cpu": 100 * server_cpu / wall,
            "client_cpu": 100 * client_cpu / wall,
        }


class SmallObjects:
    """The scenario for one server: warm-up, signed targets, one round at a time."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.rounds: dict[str, list[Result]] = {op: [] for op in OPS}
        self.count = 0
        self.files: dict[str, Path] = {}
        self.keys: list[str] = []

    def prepare(self) -> None:
        """Warm up (1 s of PUT and GET) and sign the targets of every round.

        The warm-up rate x ``--duration`` is the number of keys a PUT phase
        writes (within ``--min-keys``..``--max-keys``); the same keys serve every
        round, as each round's DELETE phase removes them again.
        """
        driver, args, running = self.driver, self.driver.args, self.driver.running
        warm = [f"warm/w{i:05d}" for i in range(500)]
        put = driver.write_targets("warm-put", [running.sign("PUT", k) for k in warm])
        get = driver.write_targets("warm-get", [running.sign("GET", k) for k in warm])
        rate = driver.phase("PUT", put, limit=0, duration=args.warmup)["ops"]
        driver.phase("GET", get, limit=0, duration=args.warmup)
        rate *= args.duration
        self.count = int(min(args.max_keys, max(args.min_keys, rate)))
        self.keys = [f"small/k{i:07d}" for i in range(self.count)]
        self._sign(len(self.keys))

    def _sign(self, count: int) -> None:
        running, keys = self.driver.running, self.keys[:count]
        for method in OPS:
            self.files[method] = self.driver.write_targets(
                method.lower(), [running.sign(method, k) for k in keys]
            )

    def run(self, method: str) -> None:
        """One phase of the current round."""
        args, count = self.driver.args, self.count
        if method == "PUT":
            # Each small PUT creates a file, and what that costs depends on what the
            # disk did in the last minute (on ext4 without a journal a new inode
            # skips every inode freed recently, as the DELETE phases free
            # thousands): measured just before the phase, on the same disk, so a
            # slow round of the disk can be told from a slow server.
            create_us, _ = _common.file_create_cost(self.driver.workdir, count=200)
            result = self.driver.phase(
                "PUT", self.files["PUT"], limit=count, duration=args.duration * 3
            )
            result["create_us"] = create_us
            if result["responses"] < count:
                # Stopped by the time cap: requests in flight at the end may not
                # have landed; read only keys well behind the last one answered.
                margin = args.connections + int(result["ops"] * result["max_ms"] / 1e3)
                self._sign(max(1, result["responses"] - margin))
        else:
            keys = len(self.files[method].read_text().splitlines())
            result = self.driver.phase(
                method,
                self.files[method],
                limit=keys if method == "DELETE" else 0,
                duration=args.duration * (3 if method == "DELETE" else 1),
            )
            if method == "DELETE" and keys < count:
                self._sign(count)  # the next round starts from every key again
        result["keys"] = len(self.files["GET"].read_text().splitlines())
        self.rounds[method].append(result)

    def summary(self) -> dict[str, Result]:
        """Per op: the best round's figures, plus the median and spread of ops/s."""
        out: dict[str, Result] = {}
        for op, rounds in self.rounds.items():
            if not rounds:
                continue
            best = dict(max(rounds, key=lambda r: r["ops"]))
            rates = [r["ops"] for r in rounds]
            best["ops_median"] = statistics.median(rates)
            best["ops_min"] = min(rates)
            best["rounds"] = len(rounds)
            best["round_ops"] = rates
            best["round_create_us"] = [r.get("create_us") for r in rounds]
            best["errors"] = sum(r["errors"] for r in rounds)
            out[op] = best
        return out
