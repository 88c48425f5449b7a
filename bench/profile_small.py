"""Where a small-object request spends its time: py-spy under 4 KiB PUT and GET load.

Run by hand (never a test)::

    python bench/profile_small.py [--seconds 15] [--rate 200]
        [--backends filesystem,memory] [--ops PUT,GET]

For each backend and each of PUT and GET it starts ``s3server`` (``python -m
s3server.cli``, default settings, access log on as a user runs it) pinned to CPU 0,
drives it with ``wrk`` on CPU 1 (16 connections, SigV4-presigned 4 KiB requests, the
same as bench_compare.py) and, while the load runs, records the server with py-spy
twice: a flame graph (``results/profile-<op>[-<backend>].svg``, no suffix for the
filesystem backend; open it in a browser) and the collapsed stacks
(``results/profile-<op>[-<backend>].folded``, the input of
the ranking and of ``flamegraph.pl``), both sampling every thread that is not idle
(running Python, or in a system call py-spy does not count as waiting: fsync, file
I/O, some lock waits); then a third recording with ``--gil``, only the thread holding
the GIL, i.e. where the CPU goes (``results/profile-<op>[-<backend>]-gil.folded``).
``--rate`` samples a second, line numbers dropped so a function is one box.

It then writes ``results/profile-<date>.md``: the commands used, and for each run
the functions ranked by inclusive share of samples (the function or anything it
calls is on the stack), by self share (the function itself is the leaf), and the self
share summed per area (waitress, falcon, our adapter, SigV4, backend, XML, logging,
...). Percentages are of all samples of the run.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
from _servers import Running

HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk_requests.lua"

# Where a frame's file lives -> the area it is counted under (first match wins).
AREAS = (
    ("s3core/auth/", "s3core.auth (SigV4 verify)"),
    ("s3core/backends/filesystem/", "s3core.backends.filesystem"),
    ("s3core/backends/", "s3core.backends (memory)"),
    ("s3core/xml", "s3core XML"),
    ("s3core/", "s3core (service, routing, operations, http)"),
    ("s3server/", "s3server (adapter)"),
    ("waitress/", "waitress"),
    ("falcon/", "falcon"),
    ("logging/", "logging"),
    ("lxml", "lxml"),
    ("threading.py", "threading"),
    ("queue.py", "queue"),
    ("hashlib", "hashlib"),
    ("hmac.py", "hmac"),
    ("tempfile.py", "tempfile"),
    ("email/", "email (header parsing)"),
    ("urllib/", "urllib"),
    ("datetime", "datetime"),
    ("json/", "json"),
    ("pathlib.py", "pathlib"),
    ("os.py", "os"),
    ("<frozen ", "frozen stdlib (os, posixpath, ...)"),
)
_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*)\)$")
# Stages of a request: a sample counts for a stage when any frame of its stack
# contains one of the needles (so stages overlap: the indented ones are inside
# S3Service.handle, and request parsing is inside the event loop thread).
STAGES = (
    (
        "waitress event loop thread, total (poll, readable/writable, recv, parse)",
        ("loop (waitress/wasyncore.py)",),
    ),
    (
        "  waitress request parsing (parse_header, split_uri)",
        ("HTTPRequestParser.received",),
    ),
    ("falcon App.__call__ (all of it)", ("App.__call__ (falcon",)),
    ("S3Service.handle (all of it)", ("S3Service.handle",)),
    ("  SigV4 verify (authenticate)", ("authenticate (s3core/auth/verify.py)",)),
    (
        "  the operation (put_object, get_object)",
        ("put_object (s3core/operations", "get_object (s3core/operations"),
    ),
    (
        "  backend: open_writer, commit, open_object",
        ("FileWriter.commit", "open_writer", "open_object"),
    ),
    (
        "  filesystem locks (bucket_lock, key_lock)",
        ("Store.key_lock", "Store.bucket_lock"),
    ),
    (
        "response: waitress writes and headers",
        ("Task.write", "build_response_header", "Task.finish"),
    ),
    ("logging (the access log)", ("logging/",)),
)


def area(file: str) -> str:
    for needle, label in AREAS:
        if needle in file:
            return label
    return "other: " + file.rsplit("/", 1)[-1]


def parse_folded(path: Path) -> tuple[int, list[tuple[list[str], int]]]:
    """(total samples, [(frames root-first, count)]) from py-spy's raw output."""
    stacks = []
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        stacks.append((frames, int(count)))
        total += int(count)
    return total, stacks


def rank(path: Path, top: int) -> list[str]:
    """Markdown tables ranking the functions of one recording."""
    total, stacks = parse_folded(path)
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    areas: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        for frame in set(frames):
            inclusive[frame] += count
        self_time[frames[-1]] += count
        match = _FRAME.match(frames[-1])
        areas[area(match["file"] if match else frames[-1])] += count
    if not total:
        return ["(no samples)"]

    def pct(n: int) -> str:
        return f"{100 * n / total:.1f}"

    # Frames every sample passes through (thread bootstrap, the serve loop) say
    # nothing; skip the ones above 97 %.
    lines = [
        f"{total} samples.",
        "",
        "Inclusive (function and what it calls), top entries:",
        "",
        "| % | function (file) |",
        "| ---: | --- |",
    ]
    shown = 0
    for frame, count in inclusive.most_common():
        if count > 0.97 * total:
            continue
        lines.append(f"| {pct(count)} | `{frame}` |")
        shown += 1
        if shown >= top:
            break
    lines += ["", "Self (the function is the leaf), top entries:", ""]
    lines += ["| % | function (file) |", "| ---: | --- |"]
    for frame, count in self_time.most_common(top):
        lines.append(f"| {pct(count)} | `{frame}` |")
    stages: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        joined = ";".join(frames)
        for label, needles in STAGES:
            if any(needle in joined for needle in needles):
                stages[label] += count
    lines += ["", "By stage (inclusive; stages overlap, see STAGES):", ""]
    lines += ["| % | stage |", "| ---: | --- |"]
    for label, _ in STAGES:
        shown_label = "↳ " + label.strip() if label.startswith("  ") else label
        lines.append(f"| {pct(stages[label])} | {shown_label} |")
    lines += ["", "Self time per area:", "", "| % | area |", "| ---: | --- |"]
    for label, count in areas.most_common():
        if 100 * count / total >= 0.5:
            lines.append(f"| {pct(count)} | {label} |")
    return lines


def record(
    pid: int, output: Path, fmt: str, seconds: int, rate: int, *, gil: bool = False
) -> str:
    command = [
        "py-spy",
        "record",
        *(["--gil"] if gil else []),
        "--pid",
        str(pid),
        "--duration",
        str(seconds),
        "--rate",
        str(rate),
        "--nolineno",
        "--format",
        fmt,
        "--output",
        str(output),
    ]
    subprocess.run(command, capture_output=True, text=True, check=True)
    return " ".join(command).replace(str(pid), "<server pid>")


def profile_one(
    backend: str, op: str, args: argparse.Namespace, scratch: Path
) -> tuple[list[str], dict[str, str]]:
    """Load one server with ``op`` and record it; (wrk command, {kind: py-spy cmd})."""
    suffix = "" if backend == "filesystem" else f"-{backend}"
    stem = f"profile-{op.lower()}{suffix}"
    key, secret = "BENCH" + secrets.token_hex(6).upper(), secrets.token_hex(20)
    data = scratch / f"data-{backend}-{op}"
    proc = wrk = None
    commands: dict[str, str] = {}
    wrk_command: list[str] = []
    try:
        kind = backend.split("-")[0]
        proc, endpoint = _common.start_ours(
            backend=kind,
            data_dir=data if kind == "filesystem" else None,
            access_key=key,
            secret_key=secret,
            cpus=args.server_cpus,
            fsync=not backend.endswith("-nofsync"),
        )
        running = Running(
            backend, proc, endpoint, key, secret, data, args.server_cpus, True
        )
        running.create_bucket()
        keys = [f"small/k{i:07d}" for i in range(args.keys)]
        put_file = scratch / "put.txt"
        put_file.write_text("\n".join(running.sign("PUT", k) for k in keys) + "\n")
        targets = put_file
        if op == "GET":
            _wrk(running, "PUT", put_file, args, limit=len(keys), seconds=600)[0].wait()
            targets = scratch / "get.txt"
            targets.write_text("\n".join(running.sign("GET", k) for k in keys) + "\n")
        # Long enough for the three recordings and py-spy's own start-up.
        wrk, wrk_command = _wrk(
            running, op, targets, args, limit=0, seconds=3 * args.seconds + 20
        )
        time.sleep(1)
        commands["svg"] = record(
            proc.pid, args.out / f"{stem}.svg", "flamegraph", args.seconds, args.rate
        )
        commands["raw"] = record(
            proc.pid, args.out / f"{stem}.folded", "raw", args.seconds, args.rate
        )
        commands["gil"] = record(
            proc.pid,
            args.out / f"{stem}-gil.folded",
            "raw",
            args.seconds,
            args.rate,
            gil=True,
        )
        wrk.wait(timeout=120)
    finally:
        if wrk is not None and wrk.poll() is None:
            wrk.terminate()
            wrk.wait()
        _common.stop(proc)
        shutil.rmtree(data, ignore_errors=True)
    return wrk_command, commands


def _wrk(
    running: Running,
    method: str,
    targets: Path,
    args: argparse.Namespace,
    *,
    limit: int,
    seconds: int,
) -> tuple[subprocess.Popen[str], list[str]]:
    command = ["wrk", "-t1", "-c16", f"-d{seconds}s", "--timeout", "60s"]
    command += ["-s", str(LUA), running.endpoint, "--", method, str(targets)]
    command += [str(4096 if method == "PUT" else 0), str(limit)]
    command = _common.pinned(command, args.client_cpus)
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )
    return proc, command


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15, help="per recording")
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--keys", type=int, default=30_000)
    parser.add_argument(
        "--backends",
        default="filesystem,memory",
        help="comma-separated: filesystem, filesystem-nofsync, memory",
    )
    parser.add_argument("--ops", default="PUT,GET", help="comma-separated: PUT, GET")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--server-cpus", default="0")
    parser.add_argument("--client-cpus", default="1")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    unknown = set(args.ops.split(",")) - {"PUT", "GET"}
    if unknown:
        # The load is presigned for PUT and GET only: another method would be
        # refused by the server, and the profile would be of its error path.
        parser.error(f"--ops takes PUT and GET, not {', '.join(sorted(unknown))}")
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="s3bench-prof-"))
    today = dt.date.today().isoformat()
    load_at_start = os.getloadavg()
    sections: list[str] = []
    try:
        for backend in args.backends.split(","):
            for op in args.ops.split(","):
                print(f"profiling {op} on {backend}", flush=True)
                wrk_command, commands = profile_one(backend, op, args, scratch)
                suffix = "" if backend == "filesystem" else f"-{backend}"
                stem = f"profile-{op.lower()}{suffix}"
                sections += [
                    f"## {op} 4 KiB, {backend} backend",
                    "",
                    f"Flame graph: `{stem}.svg`; collapsed stacks: `{stem}.folded`.",
                    "",
                    "```",
                    " ".join(wrk_command)
                    .replace(str(scratch), "<tmp>")
                    .replace(str(HERE), "bench"),
                    commands["svg"].replace(str(args.out), "bench/results"),
                    commands["raw"].replace(str(args.out), "bench/results"),
                    commands["gil"].replace(str(args.out), "bench/results"),
                    "```",
                    "",
                    "### CPU: the thread holding the GIL (`--gil`)",
                    "",
                    *rank(args.out / f"{stem}-gil.folded", args.top),
                    "",
                    "### Wall: every thread not idle (the flame graph's view; "
                    "includes fsync and other blocking system calls, and "
                    "waitress workers waiting in `Condition.wait`)",
                    "",
                    *rank(args.out / f"{stem}.folded", args.top),
                    "",
                ]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    header = [
        f"# Small-object profiles, {today}",
        "",
        f"Command: `python {' '.join(sys.argv)}`. Server: `python -m s3server.cli` "
        f"(8 threads, access log on) pinned to CPU {args.server_cpus}; wrk (16 "
        f"connections, presigned SigV4 URLs) on CPU {args.client_cpus}. py-spy "
        f"{_common._command_output(['py-spy', '--version'])}, {args.rate} Hz, "
        f"{args.seconds} s per recording, idle threads excluded, line numbers "
        "dropped. Load average at the start: "
        + " ".join(f"{x:.2f}" for x in load_at_start)
        + ".",
        "",
    ]
    report = args.out / f"profile-{today}.md"
    report.write_text("\n".join(header + sections))
    print(f"written to {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
