"""Helpers the benchmark scripts share: processes, /proc readings, signing, machine.

This module owns what every script in ``bench/`` needs and no scenario of its own:
starting our server as a subprocess (optionally pinned with ``taskset``) and stopping
it, reading a process tree's peak memory and CPU time from ``/proc`` (Linux only),
presigning request targets with the library's own signer, and describing the machine
for a results file. It must not measure anything itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from s3core import presign_url

MIB = 1024 * 1024
GIB = 1024 * MIB
REGION = "us-east-1"
REPO = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- /proc readings -------------------------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"{field}:\s+(\d+) kB", status)
    return int(match[1]) if match else 0


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MiB."""
    return _status_kib(pid, "VmHWM") / 1024


def rss_mib(pid: int) -> float:
    """The process's current resident set size (VmRSS) in MiB."""
    return _status_kib(pid, "VmRSS") / 1024


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants (from /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in children.read_text().split())
    return found


def tree_peak_rss_mib(pid: int) -> float:
    """The largest VmHWM of any process in the tree (a worker's, under pre-fork)."""
    return max((peak_rss_mib(p) for p in process_tree(pid)), default=0.0)


def thread_cpus(pid: int) -> str:
    """The CPU lists the threads of ``pid``'s tree may run on, with thread counts.

    ``0: 9; 0-1: 1`` is nine threads kept on CPU 0 and one allowed CPUs 0 and 1 (an
    s3server that pinned itself, and its digest thread).
    """
    counts: dict[str, int] = {}
    for p in process_tree(pid):
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                status = Path(f"/proc/{p}/task/{tid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"^Cpus_allowed_list:\s*(\S+)", status, re.MULTILINE)
            if found:
                counts[found.group(1)] = counts.get(found.group(1), 0) + 1
    return "; ".join(f"{cpus}: {n}" for cpus, n in sorted(counts.items())) or "-"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid``'s whole live tree."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # Fields 14 and 15 of stat(5) (utime, stime); [0] here is field 3.
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


# --- processes ------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for servers that cannot take 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(command: Sequence[str], cpus: str | None) -> list[str]:
    """``command`` run under ``taskset -c cpus`` (or as is when ``cpus`` is None)."""
    if cpus is None or shutil.which("taskset") is None:
        return list(command)
    return ["taskset", "-c", cpus, *command]


def start_ours(
    *,
    backend: str,
    data_dir: Path | None,
    access_key: str,
    secret_key: str,
    cpus: str | None = None,
    workers: int = 1,
    fsync: bool = True,
    threads: int = 8,
    extra_env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m s3server.cli`` and wait for its banner: (process, URL)."""
    command = [
        sys.executable,
        "-m",
        "s3server.cli",
        "--port",
        "0",
        "--backend",
        backend,
        "--access-key",
        access_key,
        "--secret-key",
        secret_key,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--fsync",
        "on" if fsync else "off",
    ]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    command += extra_args
    return start_with_banner(pinned(command, cpus), extra_env)


def start_with_banner(
    command: Sequence[str], extra_env: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """Run a server command printing ``listening on URL``: (process, URL)."""
    env = {**os.environ, **(extra_env or {})}
    # The access log (stderr) is not what is measured.
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"listening on (\S+)", line)
        if match:
            # Keep draining the rest of the banner (the server would block on a
            # full pipe, or die of SIGPIPE if it were closed).
            threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
            return proc, match[1]
    stop(proc)
    raise RuntimeError(f"the server did not start: {' '.join(command)}")


def _drain(stream: IO[str]) -> None:
    with contextlib.suppress(OSError, ValueError):
        for _ in stream:
            pass


def stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes] | None) -> None:
    """Terminate ``proc`` (by its pid) and wait; kill it if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=20)


# --- test data and the disk baseline ----------------------------------------


def make_source(path: Path, size: int) -> str:
    """Write ``size`` pseudo-random bytes; their hex MD5."""
    md5 = hashlib.md5()
    block = os.urandom(16 * MIB)
    with path.open("wb") as f:
        written = 0
        while written < size:
            chunk = (
                written.to_bytes(8, "big") + block[8 : min(len(block), size - written)]
            )
            f.write(chunk)
            md5.update(chunk)
            written += len(chunk)
    return md5.hexdigest()


def warm_memory(size: int) -> None:
    """Touch ``size`` bytes of memory once in a child process, then free them.

    On a virtual machine the host backs guest memory on first touch: the first time
    the guest kernel hands out a page it was never given before costs a host fault.
    Writing 1 GiB to a new file measured 502 MiB/s through such pages and 4.8 GiB/s
    through pages used before (same VM, same disk, same run). A big PUT, which
    fills that much page cache, would then be timed by whether the pages it got
    happened to be fresh, not by the server. Touching the memory first gives every
    server warm pages (freed pages are handed out again first).
    """
    code = (
        "import sys\n"
        "b = bytearray(int(sys.argv[1]))\n"
        "memoryview(b)[::4096] = b'\\x01' * len(range(0, len(b), 4096))\n"
    )
    subprocess.run([sys.executable, "-c", code, str(size)], check=True)


def disk_baseline(source: Path, scratch: Path) -> float:
    """Seconds to copy the file on the same disk and fsync it."""
    target = scratch / "copy.bin"
    started = time.perf_counter()
    shutil.copyfile(source, target)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


# --- signing --------------------------------------------------------------------


def presigned_target(
    *,
    method: str,
    endpoint: str,
    bucket: str,
    key: str,
    access_key: str,
    secret_key: str,
    now: dt.datetime,
    query: Mapping[str, str] | None = None,
    expires: int = 7 * 24 * 3600,
) -> str:
    """The request target (``/bucket/key?X-Amz-...``) of a SigV4 presigned URL.

    Signed by ``s3core.presign_url``, the signer the server verifies with; a PUT
    through it carries ``UNSIGNED-PAYLOAD``, so the body is not hashed by anyone.
    """
    url = presign_url(
        method=method,
        endpoint_url=endpoint,
        bucket=bucket,
        key=key,
        access_key=access_key,
        secret_key=secret_key,
        region=REGION,
        expires=expires,
        now=now,
        query=query,
    )
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# --- the machine ----------------------------------------------------------------


def _first_match(path: str, pattern: str) -> str:
    with contextlib.suppress(OSError):
        match = re.search(pattern, Path(path).read_text(), re.MULTILINE)
        if match:
            return match[1].strip()
    return "?"


def _command_output(command: Sequence[str]) -> str:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (done.stdout + done.stderr).strip()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def disk_description(path: Path) -> str:
    """The filesystem and block device holding ``path``, with free space."""
    df = _command_output(["df", "-hT", str(path)]).splitlines()
    fields = df[-1].split() if len(df) > 1 else []
    if len(fields) < 7:
        return "?"
    device, fstype, size, avail = fields[0], fields[1], fields[2], fields[4]
    name = Path(device).name
    rotational = _first_match(f"/sys/block/{name}/queue/rotational", r"(\d)")
    kind = {"0": "non-rotational", "1": "rotational"}.get(rotational, "")
    return f"{device} ({fstype}, {size}, {avail} free{', ' + kind if kind else ''})"


def default_scratch_parent() -> str | None:
    """Where scratch directories go unless ``--dir`` says otherwise: ``/var/tmp``.

    Not ``/tmp``: it may be a tmpfs (RAM, not the disk we mean to measure), and it is
    where test suites churn files, which on some filesystems makes creating the next
    file in that directory's neighbourhood slow (see :func:`file_create_cost`).
    ``/var/tmp`` is disk-backed by convention and quieter.
    """
    var_tmp = Path("/var/tmp")
    return str(var_tmp) if var_tmp.is_dir() and os.access(var_tmp, os.W_OK) else None


def file_create_cost(scratch: Path, count: int = 2000) -> tuple[float, float]:
    """Microseconds of wall and system CPU time to create (and close) one empty file.

    Printed with the machine because it bounds every small-object PUT on the
    filesystem (ours and nginx's alike) and it is not a constant of the disk: ext4
    without a journal will not reuse an inode freed in the last 60 to 300 seconds
    (``recently_deleted`` in ``fs/ext4/ialloc.c``), so after a burst of deletes
    each create scans past them, reading inode table blocks. On the VM of the
    2026-12-03 results that took a create from ~20 us to ~1000 us of system time.
    """
    probe = Path(tempfile.mkdtemp(prefix="create-probe-", dir=scratch))
    try:
        times, started = os.times(), time.perf_counter()
        for i in range(count):
            os.close(os.open(probe / str(i), os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        wall = time.perf_counter() - started
        system = os.times().system - times.system
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return wall / count * 1e6, system / count * 1e6


def machine_description(scratch: Path) -> list[tuple[str, str]]:
    """(label, value) pairs describing the machine, the software and the tree."""
    cores = os.cpu_count() or 0
    mem_kib = int(_first_match("/proc/meminfo", r"MemTotal:\s+(\d+)") or 0)
    git = _command_output(["git", "-C", str(REPO), "describe", "--always", "--dirty"])
    dirty = _command_output(["git", "-C", str(REPO), "status", "--short", "src"])
    src_note = f"{len(dirty.splitlines())} files changed in src/" if dirty else "clean"
    nginx = _command_output(["nginx", "-v"]).replace("nginx version: ", "")
    wrk = _command_output(["wrk", "-v"]).splitlines()
    return [
        ("CPU", _first_match("/proc/cpuinfo", r"model name\s*:\s*(.*)")),
        ("cores", str(cores)),
        ("RAM", f"{mem_kib / 1024 / 1024:.1f} GiB"),
        ("disk (scratch)", f"{scratch}: {disk_description(scratch)}"),
        (
            "file create (scratch)",
            "{:.0f} us wall, {:.0f} us system per empty file".format(
                *file_create_cost(scratch)
            ),
        ),
        ("kernel", platform.release()),
        ("OS", _first_match("/etc/os-release", r'^PRETTY_NAME="?([^"\n]*)')),
        ("Python", platform.python_version()),
        ("s3server", f"{_version('s3server')} (git {git}, {src_note})"),
        (
            "libraries",
            ", ".join(
                f"{p} {_version(p)}"
                for p in (
                    "waitress",
                    "falcon",
                    "lxml",
                    "boto3",
                    "moto",
                    "werkzeug",
                    "granian",
                )
            ),
        ),
        ("nginx", nginx or "not installed"),
        ("wrk", wrk[0] if wrk else "not installed"),
        (
            "load average at start",
            " ".join(f"{x:.2f}" for x in os.getloadavg()),
        ),
    ]
