"""Helpers for tests that look at the filesystem backend's data directory on disk.

They walk a data directory without following symbolic links (iteratively: a 1024-byte
key can be 513 directories deep), start and ``kill -9`` the real ``s3server`` process
over a data directory of the test's choosing, and mount small filesystems.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from s3core.auth.credentials import User
from s3server.server import make_user

USER = make_user("CRASHKEY", "crash-secret", display_name="crash")


def entries_under(top: Path) -> list[Path]:
    """Every entry (file, directory, link, special file) below ``top``, unfollowed."""
    found: list[Path] = []
    pending = [top]
    while pending:
        here = pending.pop()
        with os.scandir(here) as it:
            for entry in it:
                path = Path(entry.path)
                found.append(path)
                if entry.is_dir(follow_symlinks=False):
                    pending.append(path)
    return found


def files_under(top: Path) -> list[str]:
    """Every non-directory below ``top``, as sorted paths relative to it."""
    return sorted(
        str(p.relative_to(top))
        for p in entries_under(top)
        if not stat.S_ISDIR(p.lstat().st_mode)
    )


def assert_contained(top: Path, root: Path, buckets: list[str]) -> None:
    """Everything below ``top`` lies in ``root``'s bucket or reserved directories."""
    allowed = [root / name for name in (*buckets, ".s3server")]
    for path in entries_under(top):
        inside = any(path == a or a in path.parents for a in allowed)
        assert inside or path in (root, *root.parents), f"outside: {path}"


def temp_files(root: Path) -> list[str]:
    """The names in the reserved area's ``tmp/`` (staged files and directories)."""
    return sorted(os.listdir(root / ".s3server" / "tmp"))


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``predicate`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a condition")
        time.sleep(0.002)


class Process:
    """The ``s3server`` command over ``data_dir`` in a subprocess: start, kill -9.

    Its log (stderr) goes to ``log`` so a failing test can show it.
    """

    def __init__(self, data_dir: Path, log: Path, *args: str) -> None:
        self.data_dir = data_dir
        self.log = log
        self.user: User = USER
        with open(log, "ab") as err:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "s3server.cli", "--port", "0"),
                    *("--data-dir", str(data_dir)),
                    *("--access-key", USER.access_key),
                    *("--secret-key", USER.secret_key),
                    *args,
                ],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", first)
        assert match, f"no banner: {first!r}; log: {log.read_text()}"
        self.endpoint_url = f"http://127.0.0.1:{match.group(1)}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def client(self, **config: Any) -> Any:
        """A boto3 client for this server, without retries unless ``retries=None``
        (botocore's defaults) or other ``retries`` are given."""
        settings: dict[str, Any] = {
            "signature_version": "s3v4",
            "s3": {"addressing_style": "path"},
            "retries": {"max_attempts": 1},
            **config,
        }
        if settings["retries"] is None:
            del settings["retries"]
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=self.user.access_key,
            aws_secret_access_key=self.user.secret_key,
            config=Config(**settings),
        )

    def kill(self) -> None:
        """``kill -9``: no handler, no cleanup, no flush."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close()

    def stop(self) -> None:
        """SIGTERM and wait (killed if it does not stop)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextlib.contextmanager
def processes(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """Start ``Process``es (log in ``tmp_path``); every one is stopped after."""
    started: list[Process] = []

    def start(data_dir: Path, *args: str) -> Process:
        proc = Process(data_dir, tmp_path / "server.log", *args)
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.stop()


def mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a tmpfs of ``size`` at ``where``; the reason it failed, or ``None``."""
    where.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return result.stderr.strip() or f"mount exited {result.returncode}"
    return None


def unmount(where: Path) -> None:
    """Unmount ``where`` (lazily if something still holds it)."""
    result = subprocess.run(["umount", str(where)], capture_output=True, check=False)
    if result.returncode != 0:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=True)
