"""``s3server --workers N``: N processes on one port, supervised, stopped together.

Which process answered a request is read from ``/proc``: the worker holding the
accepted socket of a connection the test keeps open, so the proof needs nothing
from the server but its ordinary answers.
"""

from __future__ import annotations

import collections
import hashlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.integration.server_processes import (
    REGION,
    USERS,
    ServerProcess,
    is_alive,
    live_children,
    make_client,
    port_is_free,
    refused_start,
    serving_pid,
    write_users,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc"
)

Start = Callable[..., ServerProcess]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """Start ``s3server`` processes over one data directory; all stopped after."""
    users = write_users(tmp_path / "users.toml")
    started: list[ServerProcess] = []

    def run(workers: int, *args: str) -> ServerProcess:
        log = tmp_path / f"server{len(started)}.log"
        server = ServerProcess(
            tmp_path / "data", users, log=log, workers=workers, args=args
        )
        started.append(server)
        return server

    yield run
    for server in started:
        server.stop()


def list_buckets_on(conn: http.client.HTTPConnection, port: int) -> bytes:
    """Send a SigV4-signed ListBuckets on ``conn`` (kept open); the 200 body."""
    key, secret = USERS[0]
    host = f"127.0.0.1:{port}"
    request = AWSRequest(method="GET", url=f"http://{host}/", data=b"")
    request.headers["x-amz-content-sha256"] = hashlib.sha256(b"").hexdigest()
    S3SigV4Auth(Credentials(key, secret), "s3", REGION).add_auth(request)
    conn.request("GET", "/", headers=dict(request.headers.items()))
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, body
    return body


def pids_serving(
    server: ServerProcess, pids: list[int], *, want: set[int], limit: int = 300
) -> collections.Counter[int]:
    """Open connections (kept open) until requests were answered by ``want``.

    Returns how many connections each worker answered.
    """
    served: collections.Counter[int] = collections.Counter()
    conns = []
    try:
        for _ in range(limit):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conns.append(conn)
            body = list_buckets_on(conn, server.port)
            assert b"<ListAllMyBucketsResult" in body
            assert conn.sock is not None
            served[serving_pid(conn.sock, server.port, pids)] += 1
            if want <= set(served) and sum(served.values()) >= 10:
                break
    finally:
        for conn in conns:
            conn.close()
    return served


def test_two_workers_serve_one_port(start: Start) -> None:
    """--workers 2 forks two processes that both answer requests on the one port."""
    server = start(2)
    pids = server.wait_workers(2)
    assert server.pid not in pids
    served = pids_serving(server, pids, want=set(pids))
    assert set(served) == set(pids), served
    # The supervisor itself never holds a client connection.
    assert len(os.listdir(f"/proc/{server.pid}/task")) == 1


def test_workers_share_one_store(start: Start) -> None:
    """An object written through one worker is read through the other."""
    server = start(2)
    pids = server.wait_workers(2)
    session = boto3.session.Session()
    client = make_client(server.endpoint_url, session=session)
    client.create_bucket(Bucket="shared")
    for i in range(20):
        client.put_object(Bucket="shared", Key=f"k{i}", Body=b"v%d" % i)
    # A client of its own per read: fresh connections, each answered by whichever
    # worker accepts it.
    for i in range(20):
        reader = make_client(server.endpoint_url, session=session)
        got = reader.get_object(Bucket="shared", Key=f"k{i}")["Body"].read()
        assert got == b"v%d" % i
    assert server.wait_workers(2) == pids


def test_killed_worker_is_replaced(start: Start) -> None:
    """A worker killed with SIGKILL is restarted; the new one serves requests."""
    server = start(2)
    before = server.wait_workers(2)
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        after = server.workers()
        if len(after) == 2 and victim not in after:
            break
        assert time.monotonic() < deadline, f"not replaced: {after}"
        time.sleep(0.05)
    (new,) = set(after) - set(before)
    assert f"worker {victim} exited" in server.log_text()
    served = pids_serving(server, after, want={new})
    assert new in served, served


def test_sigterm_stops_supervisor_and_workers(start: Start) -> None:
    """SIGTERM ends the supervisor (status 0) and every worker, and frees the port."""
    server = start(3)
    pids = server.wait_workers(3)
    idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    list_buckets_on(idle, server.port)  # a kept-alive connection must not hold it up
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=15) == 0
    idle.close()
    assert not [pid for pid in pids if is_alive(pid)]
    assert port_is_free(server.port)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()


def test_workers_exit_when_supervisor_is_killed(start: Start) -> None:
    """Workers whose supervisor was SIGKILLed exit on their own, freeing the port."""
    server = start(2)
    pids = server.wait_workers(2)
    os.kill(server.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while any(is_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, "orphaned workers kept running"
        time.sleep(0.1)
    assert port_is_free(server.port)


def test_workers_from_environment(start: Start, tmp_path: Path) -> None:
    """S3SERVER_WORKERS sets the number of workers like --workers does."""
    users = write_users(tmp_path / "env-users.toml")
    env = {**os.environ, "S3SERVER_WORKERS": "2"}
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "s3server.cli", "--port", "0"),
            *("--data-dir", str(tmp_path / "env-data"), "--users", str(users)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(4)]
        assert "workers:        2 processes" in banner[3], banner
        deadline = time.monotonic() + 30
        while len(live_children(proc.pid)) != 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        proc.stdout.close()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--workers", "2", "--backend", "memory"), "needs the filesystem backend"),
        (("--workers", "0"), "--workers must be at least 1"),
    ],
)
def test_refused_worker_settings(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """Workers over the memory backend, or fewer than one, exit 1 with a reason."""
    stderr = refused_start("--port", "0", "--data-dir", str(tmp_path / "data"), *args)
    assert message in stderr
    assert not (tmp_path / "data").exists()


# --- one socket and one CPU per worker ---------------------------------------------

ALLOWED = sorted(os.sched_getaffinity(0))
needs_two_cpus = pytest.mark.skipif(len(ALLOWED) < 2, reason="needs two CPUs")


def thread_cpus(pid: int) -> set[frozenset[int]]:
    """The CPU sets the threads of ``pid`` may run on (one entry if they agree)."""
    return {
        frozenset(os.sched_getaffinity(int(tid)))
        for tid in os.listdir(f"/proc/{pid}/task")
    }


def pinned_cpu(pid: int, timeout: float = 30.0) -> int:
    """The one CPU every thread of ``pid`` is kept on, once it has pinned itself."""
    deadline = time.monotonic() + timeout
    while True:
        sets = thread_cpus(pid)
        if len(sets) == 1 and len(next(iter(sets))) == 1:
            return next(iter(next(iter(sets))))
        assert time.monotonic() < deadline, f"{pid} not pinned: {sets}"
        time.sleep(0.05)


@needs_two_cpus
def test_each_worker_on_a_cpu_of_its_own(start: Start) -> None:
    """Two workers on two CPUs: one each, every thread; a replacement takes its CPU."""
    server = start(2)
    pids = server.wait_workers(2)
    cpus = {pid: pinned_cpu(pid) for pid in pids}
    assert len(set(cpus.values())) == 2 and set(cpus.values()) <= set(ALLOWED)
    # Serving (waitress's threads started) does not undo it.
    pids_serving(server, pids, want=set(pids))
    assert {pid: pinned_cpu(pid) for pid in pids} == cpus
    # The supervisor only waits: it is left where it was.
    assert thread_cpus(server.pid) == {frozenset(ALLOWED)}
    victim = pids[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while len(after := server.workers()) != 2 or victim in after:
        assert time.monotonic() < deadline, f"not replaced: {after}"
        time.sleep(0.05)
    (new,) = set(after) - set(pids)
    assert pinned_cpu(new) == cpus[victim]


@needs_two_cpus
def test_single_process_is_pinned(start: Start) -> None:
    """Without --workers the server process keeps its threads on one CPU.

    All but the threads that hash large bodies: those may run on every CPU.
    """
    server = start(1)
    cpu = pinned_cpu(server.pid)
    assert cpu in ALLOWED
    client = server.client()
    assert client.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert thread_cpus(server.pid) == {frozenset({cpu})}
    # A body of several chunks is hashed on a digest thread allowed every CPU.
    client.create_bucket(Bucket="big")
    body = os.urandom(3 * 1024 * 1024 + 5)
    put = client.put_object(Bucket="big", Key="k", Body=body)
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert client.get_object(Bucket="big", Key="k")["Body"].read() == body
    assert thread_cpus(server.pid) == {frozenset({cpu}), frozenset(ALLOWED)}


def test_cpu_pinning_off(start: Start) -> None:
    """--cpu-pinning off leaves every worker free to run on any allowed CPU."""
    server = start(2, "--cpu-pinning", "off")
    pids = server.wait_workers(2)
    pids_serving(server, pids, want=set(pids))  # past the point they would pin
    for pid in [server.pid, *pids]:
        assert thread_cpus(pid) == {frozenset(ALLOWED)}


def test_more_workers_than_cpus_are_not_pinned(start: Start) -> None:
    """With fewer CPUs than workers there is no one-to-one plan: none is pinned."""
    server = start(len(ALLOWED) + 1)
    pids = server.wait_workers(len(ALLOWED) + 1)
    pids_serving(server, pids, want=set(pids))
    for pid in pids:
        assert thread_cpus(pid) == {frozenset(ALLOWED)}


def test_burst_of_connections_reaches_every_worker(start: Start) -> None:
    """16 connections opened at once are spread over both workers, not one.

    On one shared socket, whichever worker woke first could accept them all while
    the other idled. With a socket each, Linux spreads connections by a hash of
    their addresses: all 16 on one worker has odds of 2 in 65536.
    """
    server = start(2)
    pids = server.wait_workers(2)
    conns = [
        http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        for _ in range(16)
    ]
    try:
        for conn in conns:
            conn.connect()  # all connected before any request is sent
        served: collections.Counter[int] = collections.Counter()
        for conn in conns:
            list_buckets_on(conn, server.port)
            assert conn.sock is not None
            served[serving_pid(conn.sock, server.port, pids)] += 1
    finally:
        for conn in conns:
            conn.close()
    assert set(served) == set(pids), served


@pytest.mark.parametrize("workers", [1, 2])
def test_port_in_use_is_refused(start: Start, tmp_path: Path, workers: int) -> None:
    """A second server on a port already served exits 1 instead of sharing it.

    Sockets bound with SO_REUSEPORT could otherwise quietly split the first
    server's connections with the second.
    """
    first = start(2)
    users = write_users(tmp_path / "second-users.toml")
    stderr = refused_start(
        *("--port", str(first.port), "--workers", str(workers)),
        *("--data-dir", str(tmp_path / "second"), "--users", str(users)),
    )
    assert f"cannot listen on 127.0.0.1:{first.port}" in stderr
    assert first.client().list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_restart_on_the_same_port(start: Start) -> None:
    """A stopped server's port serves again at once, connections in TIME_WAIT or not.

    The server closes the kept-alive connection when it stops, so the server side
    of it lingers in TIME_WAIT on the port; a restart must still bind.
    """
    first = start(2)
    idle = http.client.HTTPConnection("127.0.0.1", first.port, timeout=10)
    list_buckets_on(idle, first.port)
    first.proc.send_signal(signal.SIGTERM)
    assert first.proc.wait(timeout=15) == 0
    idle.close()
    again = start(2, "--port", str(first.port))
    assert again.port == first.port
    assert again.client().list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
