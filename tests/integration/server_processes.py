"""Real ``s3server`` processes for the multi-process tests: start, look into, stop.

A ``ServerProcess`` is the ``s3server`` command in a subprocess (with ``--workers N``,
a supervisor and its N forked workers), over a data directory several of them may
share. Its workers and the process that accepted a given TCP connection are read from
``/proc`` (Linux), so tests prove which process served a request without any help
from the server. Every process started here is stopped by ``stop`` (SIGTERM, then
SIGKILL of the process group it was started in).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

# (access key, secret key) of the users every server here knows.
USERS = (
    ("ALICEKEY", "alice-secret"),
    ("BOBKEY", "bob-secret"),
)
REGION = "us-east-1"
_BANNER = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


def write_users(path: Path) -> Path:
    """Write the users file all servers of a test share; returns ``path``."""
    path.write_text(
        "".join(
            f'[[users]]\naccess_key = "{key}"\nsecret_key = "{secret}"\n'
            f'display_name = "{key.lower()}"\n\n'
            for key, secret in USERS
        )
    )
    return path


def make_client(
    endpoint_url: str, user: int = 0, *, session: Any = None, **config: Any
) -> Any:
    """A boto3 client (of ``session``, else of a new one: sessions are not
    thread-safe, but clients made from one in one thread are, and much quicker)."""
    key, secret = USERS[user]
    settings: dict[str, Any] = {
        "signature_version": "s3v4",
        "s3": {"addressing_style": "path"},
        # Races are the point: a retried request would hide which one lost.
        "retries": {"max_attempts": 1, "mode": "standard"},
        "max_pool_connections": 4,
        "connect_timeout": 10,
        "read_timeout": 60,
    }
    settings.update(config)
    return (session or boto3.session.Session()).client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(**settings),
    )


class ServerProcess:
    """``python -m s3server.cli`` on 127.0.0.1, port 0, over ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        users_file: Path,
        *,
        log: Path,
        workers: int = 1,
        args: Sequence[str] = (),
        startup_timeout: float = 60.0,
    ) -> None:
        self.log_path = log
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "s3server.cli", "--port", "0"),
                *("--data-dir", str(data_dir), "--users", str(users_file)),
                *("--workers", str(workers), *args),
            ],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            # Its own process group: stop() can kill the workers too, even when
            # the supervisor itself is gone.
            start_new_session=True,
        )
        self.pid = self.proc.pid
        try:
            self.port = self._await_banner(startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.endpoint_url = f"http://127.0.0.1:{self.port}"

    def _await_banner(self, timeout: float) -> int:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        first = self.proc.stdout.readline() if ready else ""
        match = _BANNER.search(first)
        if match is None:
            raise RuntimeError(f"no banner: {first!r}; log: {self.log_text()}")
        return int(match.group(1))

    def client(self, user: int = 0, **config: Any) -> Any:
        """A boto3 client of this server."""
        return make_client(self.endpoint_url, user, **config)

    def log_text(self) -> str:
        """What the server wrote to standard error so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def workers(self) -> list[int]:
        """The live worker processes (children of the supervisor), by pid."""
        return live_children(self.pid)

    def wait_workers(self, count: int, timeout: float = 30.0) -> list[int]:
        """The workers, once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.workers()
            if len(pids) == count:
                return pids
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(pids)} workers, not {count}: {pids}")
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; SIGKILL the process group if that is not enough."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout)
            kill_group(self.pid)
            return self.proc.wait(timeout)
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self._log.close()


def refused_start(*args: str) -> str:
    """Run ``s3server`` with ``args``, expecting it to refuse to start: its stderr.

    A refusal is exit status 1 with a message, no traceback and no banner.
    """
    done = subprocess.run(
        [sys.executable, "-m", "s3server.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert "listening" not in done.stdout, done.stdout
    return done.stderr


def kill_group(pgid: int) -> None:
    """SIGKILL what is left of a process group this module started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rpartition(")")[2].split()


def is_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def live_children(parent: int) -> list[int]:
    """Pids of the live (not zombie) children of ``parent``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields and int(fields[1]) == parent and fields[0] not in ("Z", "X"):
                found.append(int(entry))
    return sorted(found)


def _tcp_inode(local_port: int, remote_port: int) -> int | None:
    """The inode of the IPv4 socket 127.0.0.1:local_port <-> :remote_port."""
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], int(fields[9])
            if (
                int(local.split(":")[1], 16) == local_port
                and int(remote.split(":")[1], 16) == remote_port
                and inode != 0
            ):
                return inode
    return None


def serving_pid(conn: socket.socket, server_port: int, pids: Sequence[int]) -> int:
    """Which of ``pids`` holds the server end of the open connection ``conn``.

    The accepted socket is made by ``accept`` in one worker after the fork, so
    exactly one process has a descriptor for it.
    """
    inode = _tcp_inode(server_port, conn.getsockname()[1])
    if inode is None:
        raise AssertionError("the server end of the connection is not in /proc")
    target = f"socket:[{inode}]"
    owners = []
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            links = [os.readlink(fd_dir / name) for name in os.listdir(fd_dir)]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if target in links:
            owners.append(pid)
    if len(owners) != 1:
        raise AssertionError(f"socket {inode} is held by {owners}, not one worker")
    return owners[0]


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port`` (binding it again works)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # As any server would: connections the old one closed may linger in
        # TIME_WAIT, which must not count as "still listening".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def abandon_put(endpoint: str, bucket: str, key: str, size: int, sent: int) -> None:
    """Send a signed PUT of ``size`` bytes, but only ``sent`` of them, and hang up.

    A client that dies mid-upload: the server must store nothing and keep no
    temporary file of it.
    """
    url = urlsplit(endpoint)
    path = f"/{bucket}/{quote(key)}"
    request = AWSRequest(
        method="PUT",
        url=f"{endpoint}{path}",
        headers={
            "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
            "Content-Length": str(size),
        },
    )
    S3SigV4Auth(Credentials(*USERS[0]), "s3", REGION).add_auth(request)
    head = f"PUT {path} HTTP/1.1\r\nHost: {url.netloc}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in request.headers.items()
    )
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(head.encode() + b"\r\n" + bytes(sent))
        conn.shutdown(socket.SHUT_RDWR)
