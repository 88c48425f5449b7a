"""Check that a data directory can be shared by several s3server processes and hosts.

Run: python check_shared_fs.py /mnt/s3data    (exit 0: fit; 1: not fit; 2: usage)

It reads how the directory is mounted (Linux /proc/self/mountinfo) and judges the
filesystem type and mount options against what the layout needs (README.md in this
directory), then tries each primitive the server relies on in a scratch directory
under <data>/.s3server/: O_EXCL create, hard links, mkdir as a test-and-set, rename
over an existing file, fsync, flock between two processes, case-sensitive names of
255 bytes, and the file server's clock against this host's. It can only test this
host: that another host honours the same locks is promised by the mount options, not
observable from here. Warnings do not fail the check; problems do.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

# Filesystems one host can use, but which are not shared with other hosts.
LOCAL = {"ext4", "xfs", "btrfs", "zfs", "tmpfs", "overlay", "f2fs", "ext3"}
# Shared filesystems whose flock/rename semantics hold across clients.
SHARED = {"nfs", "nfs4", "ceph", "fuse.ceph-fuse", "gpfs", "lustre"}
# Tolerated clock difference between this host and the file server (seconds).
MAX_SKEW = 5.0


def mount_of(path: str, mountinfo: str) -> tuple[str, str, set[str]]:
    """(mount point, filesystem type, options) of the mount holding ``path``."""
    best = ("", "", set[str]())
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        point = left.split()[4].replace("\\040", " ")
        fstype, _source, super_opts = [*right.split(), "", ""][:3]
        options = set(left.split()[5].split(",")) | set(super_opts.split(","))
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[0]):
            best = (point, fstype, options)
    return best


def judge_mount(fstype: str, options: set[str]) -> tuple[list[str], list[str]]:
    """(problems, warnings) about a filesystem type and its mount options."""
    problems: list[str] = []
    warnings: list[str] = []
    named = {o.partition("=")[0]: o.partition("=")[2] for o in options}
    if fstype in LOCAL:
        warnings.append(
            f"{fstype} is local: fine for several processes on this host, "
            "not for several hosts"
        )
    elif fstype not in SHARED:
        problems.append(f"{fstype}: cross-host locks and atomic renames not known")
    if fstype.startswith("nfs"):
        if named.get("local_lock", "none") != "none":
            problems.append(
                f"local_lock={named['local_lock']}: locks stay on this host; "
                "mount with local_lock=none (the default)"
            )
        if "nolock" in named:
            problems.append("nolock: locks stay on this host; remove it")
        if named.get("vers", named.get("nfsvers", "4")).startswith("3"):
            warnings.append("NFSv3: locks need rpc.statd/lockd running on all hosts")
        uncached = "noac" in named or named.get("actimeo") == "0"
        if named.get("lookupcache") != "none" or not uncached:
            warnings.append(
                "attribute/lookup caching: another host may see a new object only "
                "after the cache timeout; lookupcache=none,actimeo=0 makes "
                "reads after writes consistent across hosts"
            )
    return problems, warnings


def _flock_held_elsewhere(path: Path) -> bool:
    """Whether another process is refused a lock this process holds on ``path``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        probe = (
            "import fcntl, os, sys\n"
            f"fd = os.open({str(path)!r}, os.O_RDWR)\n"
            "try:\n"
            "    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)\n"
            "except BlockingIOError:\n"
            "    sys.exit(0)\n"
            "sys.exit(1)\n"
        )
        return subprocess.run([sys.executable, "-c", probe], timeout=30).returncode == 0
    finally:
        os.close(fd)


def try_primitives(scratch: Path) -> list[str]:
    """Problems found exercising, in ``scratch``, each primitive the layout uses."""
    problems = []
    a, b = scratch / "a", scratch / "b"
    fd = os.open(a, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.write(fd, b"old")
    os.fsync(fd)
    os.close(fd)
    try:
        os.close(os.open(a, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        problems.append("O_EXCL create of an existing file succeeded")
    except FileExistsError:
        pass
    try:
        os.link(a, b)
        os.link(a, b)
        problems.append("a hard link over an existing name succeeded")
    except FileExistsError:
        pass
    except OSError as exc:
        problems.append(f"hard links are not supported: {exc}")
    try:
        os.mkdir(scratch / "d")
        os.mkdir(scratch / "d")
        problems.append("mkdir of an existing directory succeeded")
    except FileExistsError:
        pass
    reader = os.open(a, os.O_RDONLY)
    new = scratch / "new"
    new.write_bytes(b"new")
    os.replace(new, a)
    if os.pread(reader, 3, 0) != b"old" or a.read_bytes() != b"new":
        problems.append("rename over an open file is not atomic")
    os.close(reader)
    long_name = "x" * 255
    (scratch / long_name).write_bytes(b"")
    (scratch / "c").write_bytes(b"lower")
    (scratch / "C").write_bytes(b"upper")
    if (scratch / "c").read_bytes() != b"lower":
        problems.append("names are case-insensitive: keys differing in case collide")
    if not _flock_held_elsewhere(scratch / "lock"):
        problems.append("flock does not exclude another process")
    skew = abs(os.stat(a).st_mtime - time.time())
    if skew > MAX_SKEW:
        problems.append(f"the file server's clock is {skew:.0f} s off this host's")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: check_shared_fs.py DATA_DIR", file=sys.stderr)
        return 2
    data = Path(argv[1]).resolve()
    problems: list[str] = []
    warnings: list[str] = []
    if Path("/proc/self/mountinfo").exists():
        info = Path("/proc/self/mountinfo").read_text()
        point, fstype, options = mount_of(str(data), info)
        print(f"{data}: {fstype} mounted at {point}")
        problems, warnings = judge_mount(fstype, options)
    else:
        warnings.append("no /proc/self/mountinfo: mount options not checked")
    scratch = data / ".s3server" / f"fscheck-{secrets.token_hex(4)}"
    scratch.mkdir(parents=True)
    try:
        problems += try_primitives(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for text in warnings:
        print(f"warning: {text}")
    for text in problems:
        print(f"PROBLEM: {text}")
    print("ok" if not problems else "not fit for s3server")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
