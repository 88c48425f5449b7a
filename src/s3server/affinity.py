"""Which CPU each server process runs on (``--cpu-pinning``).

A CPython process runs Python on one core at a time (the GIL), yet left to the
scheduler its threads (waitress's event loop and the request threads) run on
different cores and hand the GIL from core to core on every request. Measured on two
cores (4 KiB requests, bench/results): one process allowed both cores served 35-55 %
fewer requests per second than the same process kept on one, while using more CPU.
So each server process is kept on one CPU of its own: worker ``i`` on the ``i``-th
CPU counted from the one after its parent's (see ``plan``). With more processes
than CPUs nothing is pinned: there is no one-to-one plan, and the scheduler
balances better than a guess. Separate servers started from one shell would all
choose the same CPU: give each its own with ``taskset -c N`` (a process allowed one
CPU is left as it is), or start them with ``--cpu-pinning off``.

The hashing of large bodies is the exception: a process pinned to one CPU hashes
them on threads allowed the other CPUs (``digest_executor``), so one big PUT can
still use two cores.

Linux only (``sched_setaffinity``); elsewhere these do nothing.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, ThreadPoolExecutor

__all__ = ["digest_executor", "pin", "plan"]

# The CPUs this process could run on before ``pin`` narrowed them (None: not pinned).
_allowed: set[int] | None = None


def plan(processes: int) -> list[int] | None:
    """One CPU for each of ``processes`` server processes, or ``None``."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < max(processes, 2):
        return None  # too few CPUs, or only one: nothing to choose
    # The parent's CPU comes last: whatever started the server (a test run, a
    # benchmark) is often its busiest client, and a pinned server could not move
    # away from it.
    parent = _last_cpu(os.getppid())
    start = (allowed.index(parent) + 1) % len(allowed) if parent in allowed else 0
    return [allowed[(start + i) % len(allowed)] for i in range(processes)]


def pin(cpu: int) -> None:
    """Keep the calling thread, and every thread it starts afterwards, on ``cpu``.

    Linux sets the affinity of one thread, and new threads inherit it: call this
    before the process starts any thread, and the whole process stays on ``cpu``.
    """
    global _allowed
    if _allowed is None:
        _allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})


def digest_executor(max_workers: int) -> Executor | None:
    """Threads that hash large bodies off the pinned CPU; ``None`` if not pinned.

    On one CPU, a big PUT's MD5 (hashlib releases the GIL) would wait for the
    reading and writing of the body and they for it; on the other CPUs it runs
    beside them (``ServiceConfig.digest_executor``). Unpinned, the request thread's
    own hashing already lets the other threads run elsewhere.
    """
    if _allowed is None:
        return None
    return ThreadPoolExecutor(
        max_workers, thread_name_prefix="s3server-digest", initializer=_unpin
    )


def _unpin() -> None:
    # A new thread inherits the pinned CPU of the thread that started it.
    if _allowed is not None:
        os.sched_setaffinity(0, _allowed)


def _last_cpu(pid: int) -> int | None:
    """The CPU process ``pid`` last ran on (field 39 of /proc/<pid>/stat)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is field 3 (state): field 39 is fields[36].
    return int(fields[36]) if len(fields) > 36 else None
