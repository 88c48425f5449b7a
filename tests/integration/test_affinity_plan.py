"""s3server.affinity.plan: which CPU each server process is given.

Real processes: a parent kept on one CPU starts a child allowed every CPU (as a test
run or a benchmark starts a server), and the child reports the plan it makes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ALLOWED = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(ALLOWED) < 2, reason="needs 2 CPUs"
)

# The parent: pinned to argv[1]; starts the child with every CPU allowed, waits.
_PARENT = """
import json, os, subprocess, sys
os.sched_setaffinity(0, {int(sys.argv[1])})
allowed = json.loads(sys.argv[2])
child = subprocess.run(
    [sys.executable, "-c", sys.argv[3], sys.argv[4]],
    preexec_fn=lambda: os.sched_setaffinity(0, allowed),
    capture_output=True, text=True, check=True,
)
print(child.stdout, end="")
"""
_CHILD = """
import json, sys
from s3server import affinity
print(json.dumps(affinity.plan(int(sys.argv[1]))))
"""


def plan_under_parent_on(cpu: int, processes: int) -> list[int] | None:
    done = subprocess.run(
        [
            *(sys.executable, "-c", _PARENT, str(cpu), json.dumps(ALLOWED)),
            *(_CHILD, str(processes)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("parent", ALLOWED[:4])
def test_single_server_avoids_its_parents_cpu(parent: int) -> None:
    """One process: the CPU after the parent's (the parent is often the client)."""
    (chosen,) = plan_under_parent_on(parent, 1) or [None]
    assert chosen == ALLOWED[(ALLOWED.index(parent) + 1) % len(ALLOWED)]


def test_workers_get_distinct_cpus_parents_last() -> None:
    """As many workers as CPUs: one each, the parent's CPU given last."""
    parent = ALLOWED[0]
    got = plan_under_parent_on(parent, len(ALLOWED))
    assert got is not None
    assert sorted(got) == ALLOWED
    assert got[-1] == parent


def test_no_plan_with_more_processes_than_cpus() -> None:
    assert plan_under_parent_on(ALLOWED[0], len(ALLOWED) + 1) is None
