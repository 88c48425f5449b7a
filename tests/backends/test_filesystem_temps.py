"""Temporary files of the filesystem backend: orphans go at start, live ones stay.

A writer holds an ``flock`` on its temporary file until the file is published or
removed; the kernel drops the locks of a dead process, even one killed by SIGKILL. So
a backend starting on a data directory removes every unlocked temporary file at once,
whatever its age, and never one that a live writer (in this process or another) holds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from s3core.backends.filesystem import FilesystemBackend
from s3core.backends.filesystem.atomic import forget_temp, new_temp, remove_orphans
from s3core.models import ObjectMeta
from tests.backends.conftest import START, read_all

BUCKET = "bucket"

_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def tmp_names(root: Path) -> list[str]:
    return sorted(os.listdir(root / ".s3server" / "tmp"))


def test_unlocked_temporary_files_are_removed_at_start(tmp_path: Path) -> None:
    """A fresh temporary file nobody holds is removed at start, whatever its age."""
    root = tmp_path / "data"
    FilesystemBackend(root, fsync=False)
    tmp = root / ".s3server" / "tmp"
    (tmp / ("a" * 32 + ".tmp")).write_bytes(b"orphan")
    (tmp / "notes.txt").write_bytes(b"not ours")
    FilesystemBackend(root, fsync=False)
    assert tmp_names(root) == ["notes.txt"]


def test_a_live_writer_in_this_process_keeps_its_file(tmp_path: Path) -> None:
    """A backend starting in this process keeps a live writer's temporary file."""
    root = tmp_path / "data"
    first = FilesystemBackend(root, fsync=False)
    first.create_bucket(BUCKET, owner_id="o", created=START)
    writer = first.open_writer(BUCKET, "k")
    writer.write(b"in progress")
    (name,) = tmp_names(root)
    FilesystemBackend(root, fsync=False)
    assert tmp_names(root) == [name]
    writer.commit(ObjectMeta(), etag="e")
    assert read_all(first, BUCKET, "k") == b"in progress"
    assert tmp_names(root) == []


def test_a_file_locked_by_another_process_stays_until_it_dies(tmp_path: Path) -> None:
    """A file another process holds stays until that process is killed."""
    root = tmp_path / "data"
    FilesystemBackend(root, fsync=False)
    fd, path = new_temp(str(root / ".s3server" / "tmp"))
    os.close(fd)  # unlocked now, and no longer this process's: as if its writer died
    forget_temp(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, path], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        FilesystemBackend(root, fsync=False)
        remove_orphans(str(root / ".s3server" / "tmp"), stale_after=0)
        assert os.path.exists(path)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
    FilesystemBackend(root, fsync=False)
    assert tmp_names(root) == []


def test_staged_upload_directories_go_by_age(tmp_path: Path) -> None:
    """A half-made upload directory (no lock to tell) is removed only when old."""
    root = tmp_path / "data"
    FilesystemBackend(root, fsync=False)
    tmp = root / ".s3server" / "tmp"
    (tmp / "old.tmpdir").mkdir()
    (tmp / "new.tmpdir").mkdir()
    old = time.time() - 2 * 24 * 3600
    os.utime(tmp / "old.tmpdir", (old, old))
    FilesystemBackend(root, fsync=False)
    assert tmp_names(root) == ["new.tmpdir"]
