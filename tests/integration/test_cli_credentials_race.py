"""Several ``s3server`` processes started at once on one fresh data directory.

Separate server processes over one data directory are a documented mode (README
"Several processes"). Started together with no ``--users`` and no ``--access-key``,
each finds no ``<data>/.s3server/credentials.json`` and generates a key pair; they
must all end up serving the one pair the first of them published, never crash on a
file another is still writing, keep the file at mode 0600 and leave no temporary
file behind. The processes are real: each imports the command, waits at a shared
start line (a file the test creates once all are ready, so that they reach the
credentials code within a millisecond of each other rather than a Python start-up
apart), then runs ``s3server.cli.main`` as the console script does.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.integration.disk import temp_files
from tests.integration.server_processes import kill_group, refused_start

PROCESSES = 4
ROUNDS = 3

# Import everything first, say so, then wait for the start line and run the command.
_LAUNCH = """
import os, sys, time
from s3server.cli import main
print("ready", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.0005)
sys.exit(main(sys.argv[2:]))
"""
_BANNER = re.compile(
    rb"listening on (http://127\.0\.0\.1:\d+)\n.*"
    rb"AWS_ACCESS_KEY_ID=(\S+)\n\s*AWS_SECRET_ACCESS_KEY=(\S+)\n",
    re.DOTALL,
)


class Launched:
    """One ``s3server`` process waiting at the start line, then serving."""

    def __init__(self, go: Path, data: Path, log: Path) -> None:
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-c", _LAUNCH, str(go)),
                *("--port", "0", "--data-dir", str(data)),
            ],
            stdout=subprocess.PIPE,
            stderr=self._log,
            # Its own process group, so that stop() leaves nothing behind.
            start_new_session=True,
        )
        self.output = b""

    def read_until(self, pattern: re.Pattern[bytes], timeout: float) -> re.Match[bytes]:
        """Read standard output until ``pattern`` matches it (or fail with the log)."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while (match := pattern.search(self.output)) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError(f"timed out; output {self.output!r}; {self.log()}")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(f"exited; output {self.output!r}; {self.log()}")
            self.output += chunk
        return match

    def log(self) -> str:
        """What the process wrote to standard error."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM by pid, then SIGKILL of its process group if it lingers."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(10)
            kill_group(self.proc.pid)
            self.proc.wait(10)
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self._log.close()


def client(endpoint: str, key: str, secret: str) -> Any:
    """A boto3 client of ``endpoint`` signing with ``key``/``secret``, no retries."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
        ),
    )


def race(root: Path) -> tuple[Path, list[tuple[str, str, str]]]:
    """Start PROCESSES servers at once on a fresh data dir; (data, banners).

    Each banner is (endpoint, access key, secret key) as the process printed them.
    """
    data = root / "data"
    go = root / "go"
    started: list[Launched] = []
    try:
        for i in range(PROCESSES):
            started.append(Launched(go, data, root / f"server-{i}.log"))
        for launched in started:
            launched.read_until(re.compile(rb"ready\n"), 60)
        go.touch()
        banners = []
        for launched in started:
            match = launched.read_until(_BANNER, 60)
            banners.append(tuple(group.decode() for group in match.groups()))
        check_served(data, banners)  # type: ignore[arg-type]
    finally:
        for launched in started:
            launched.stop()
    return data, banners  # type: ignore[return-value]


def check_served(data: Path, banners: list[tuple[str, str, str]]) -> None:
    """Every process serves the stored pair, over one shared data directory."""
    stored = (data / ".s3server" / "credentials.json").read_text()
    key = re.search(r'"access_key": "([^"]+)"', stored)
    secret = re.search(r'"secret_key": "([^"]+)"', stored)
    assert key is not None and secret is not None, stored
    assert {(k, s) for _, k, s in banners} == {(key.group(1), secret.group(1))}
    for i, (endpoint, _, _) in enumerate(banners):
        c = client(endpoint, key.group(1), secret.group(1))
        assert c.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
        c.create_bucket(Bucket=f"from-{i}")
    # Buckets made through each process are seen, as the signer's, by all of them.
    names = [f"from-{i}" for i in range(len(banners))]
    for endpoint, _, _ in banners:
        listed = client(endpoint, key.group(1), secret.group(1)).list_buckets()
        assert sorted(b["Name"] for b in listed["Buckets"]) == names


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_simultaneous_first_starts_agree_on_credentials(
    tmp_path: Path, round_: int
) -> None:
    """Servers started together on a fresh data dir all serve the one stored pair."""
    data, _ = race(tmp_path)
    internal = data / ".s3server"
    stored = internal / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    # The temporary file each process wrote its candidate pair to is gone.
    assert [n for n in os.listdir(internal) if "credentials" in n] == [stored.name]
    assert [n for n in os.listdir(internal) if n.endswith(".tmp")] == []
    assert temp_files(data) == []


# Each process runs the credentials step of the command over the same DIRECTORIES
# fresh data directories, in the same order: processes in step race on each one.
DIRECTORIES = 300
_STEPS = """
import os, sys, time
from pathlib import Path
from s3server.cli import _stored_or_new_user
root = Path(sys.argv[1])
print("ready", flush=True)
while not (root / "go").exists():
    time.sleep(0.0005)
for i in range(int(sys.argv[2])):
    try:
        user = _stored_or_new_user(root / f"d{i}")
        print(i, user.access_key, user.secret_key, flush=True)
    except BaseException as err:
        print(i, "ERROR", repr(err).replace(" ", "_"), flush=True)
print("done", flush=True)
"""


def test_many_racing_first_starts_agree(tmp_path: Path) -> None:
    """On each of many fresh data dirs, racing processes get one pair, no error."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _STEPS, str(tmp_path), str(DIRECTORIES)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n", proc.communicate(timeout=60)
        (tmp_path / "go").touch()
        outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
    seen: dict[str, set[str]] = {}
    for output in outputs:
        lines = output.splitlines()
        assert lines[-1] == "done"
        for line in lines[:-1]:
            index, rest = line.split(" ", 1)
            seen.setdefault(index, set()).add(rest)
    assert len(seen) == DIRECTORIES
    differing = {i: pairs for i, pairs in seen.items() if len(pairs) != 1}
    assert differing == {}
    errors = {i: pairs for i, pairs in seen.items() if "ERROR" in next(iter(pairs))}
    assert errors == {}
    for i in range(DIRECTORIES):
        internal = tmp_path / f"d{i}" / ".s3server"
        assert sorted(os.listdir(internal)) == ["credentials.json", "tmp"]
        assert os.listdir(internal / "tmp") == []
        mode = (internal / "credentials.json").stat().st_mode
        assert stat.S_IMODE(mode) == 0o600


def test_damaged_credentials_file_is_reported(tmp_path: Path) -> None:
    """A credentials file that is not a key pair stops the start with its path."""
    stored = tmp_path / "data" / ".s3server" / "credentials.json"
    stored.parent.mkdir(parents=True)
    stored.write_text('{"access_key": "AK"')
    stderr = refused_start("--port", "0", "--data-dir", str(tmp_path / "data"))
    assert f"{stored}: not a credentials file" in stderr
    assert stored.read_text() == '{"access_key": "AK"'
