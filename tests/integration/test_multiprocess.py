"""Several server processes on one data directory, hammered at once over HTTP.

Two ways to run several processes are attacked: separate ``s3server`` processes on
their own ports sharing ``--data-dir`` ("processes"), and one ``s3server --workers
N`` ("workers", N processes accepting on one port). Each test races clients through
them and checks what S3 guarantees: no lost acknowledged write, no torn object, one
winner for each create-or-swap, and no temporary file left behind. The default run
is a few seconds per test; ``-m slow`` runs a longer, heavier storm.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from s3core.backends.filesystem.layout import RESERVED_DIR, digest
from tests.integration import cas, races, upload_races
from tests.integration.hammer import check_final, hammer, hammer_processes
from tests.integration.server_processes import (
    ServerProcess,
    make_client,
    write_users,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="servers in subprocesses, /proc"
)


@attrs.frozen
class Cluster:
    """Server processes over one data directory, and the URLs to reach them."""

    kind: str
    servers: list[ServerProcess]
    endpoints: list[str]
    data_dir: Path

    def bucket(self, name: str) -> str:
        """A fresh bucket (named after the test and the cluster kind)."""
        bucket = f"{name}-{self.kind}-{os.getpid()}"
        make_client(self.endpoints[0]).create_bucket(Bucket=bucket)
        return bucket


def start_cluster(base: Path, kind: str, count: int, *args: str) -> Cluster:
    """``count`` separate processes, or one with ``--workers count``."""
    users = write_users(base / "users.toml")
    data = base / "data"
    servers: list[ServerProcess] = []
    try:
        if kind == "processes":
            for i in range(count):
                log = base / f"server{i}.log"
                servers.append(ServerProcess(data, users, log=log, args=args))
        else:
            log = base / "server.log"
            servers.append(
                ServerProcess(data, users, log=log, workers=count, args=args)
            )
            servers[0].wait_workers(count)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return Cluster(kind, servers, [s.endpoint_url for s in servers], data)


@pytest.fixture(scope="module", params=["processes", "workers"])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Three servers over one data directory (fsync off: races, not durability)."""
    kind = request.param
    started = start_cluster(tmp_path_factory.mktemp(kind), kind, 3, "--fsync", "off")
    yield started
    for server in started.servers:
        server.stop()


def leftovers(data_dir: Path, endpoint: str, *, wait: float = 15.0) -> list[str]:
    """Temporary files, half-done moves, open uploads and orphaned sidecars.

    A server notices a client that hung up mid-body only when it next reads, so
    temporary files get ``wait`` seconds to go before they count.
    """
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and _temporary(data_dir):
        time.sleep(0.2)
    return _leftovers(data_dir, endpoint)


def _entries(directory: Path) -> list[Path]:
    return list(directory.iterdir()) if directory.exists() else []


def _temporary(data_dir: Path) -> list[Path]:
    return list((data_dir / RESERVED_DIR / "tmp").iterdir())


def _leftovers(data_dir: Path, endpoint: str) -> list[str]:
    found = []
    reserved = data_dir / RESERVED_DIR
    buckets = {p.name for p in data_dir.iterdir() if p.name != RESERVED_DIR}
    # State of a deleted bucket: its record, sidecars, uploads.
    for area, suffix in (("buckets", ".json"), ("meta", ""), ("uploads", "")):
        for path in _entries(reserved / area):
            name = path.name.removesuffix(suffix)
            if name not in buckets:
                found.append(f"{area} of a deleted bucket: {path.name}")
    found += [f"tmp: {p.name}" for p in (reserved / "tmp").iterdir()]
    for uploads in _entries(reserved / "uploads"):
        found += [f"upload: {uploads.name}/{p.name}" for p in uploads.iterdir()]
    for bucket in data_dir.iterdir():
        if bucket.name == RESERVED_DIR:
            continue
        found += [f"move leftover: {p}" for p in bucket.rglob(".s3~!m*") if p.exists()]
        keys = {digest(entry["Key"]) for entry in _listed(endpoint, bucket.name)}
        meta = reserved / "meta" / bucket.name
        for sidecar in meta.glob("??/*.json"):
            if sidecar.stem not in keys:
                found.append(f"sidecar of a deleted object: {sidecar.name}")
    return found


def _listed(endpoint: str, bucket: str) -> list[dict[str, str]]:
    client = make_client(endpoint)
    return [
        entry
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for entry in page.get("Contents", [])
    ]


@pytest.fixture
def clean(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster; after the test, nothing temporary may be left in its data."""
    yield cluster
    assert leftovers(cluster.data_dir, cluster.endpoints[0]) == []


def _print(name: str, what: object) -> None:
    print(f"\n{name}: {what}", file=sys.stderr)


# -- the default run: a few seconds each ------------------------------------------


def test_mixed_hammer_loses_and_tears_nothing(clean: Cluster) -> None:
    """Concurrent PUT/GET/HEAD/DELETE/LIST/multipart leave only allowed states."""
    bucket = clean.bucket("hammer")
    started = time.monotonic()
    report = hammer(clean.endpoints, bucket, threads=6, seconds=3, seed=1)
    took = time.monotonic() - started
    _print("hammer", (report.ops, report.counts, report.slowest, took))
    assert report.failures == []
    assert check_final(clean.endpoints[-1], bucket, report) == []
    assert {"put", "get", "head", "delete", "list"} <= set(report.counts)


def test_create_bucket_race_has_one_winner(clean: Cluster) -> None:
    """Racing CreateBucket of one name: one 200, the others 409 by account."""
    tally = races.create_bucket_race(races.Clients(clean.endpoints), rounds=6, racers=4)
    _print("create bucket", tally.outcomes)
    assert tally.problems == []


def test_delete_bucket_race_keeps_acknowledged_writes(clean: Cluster) -> None:
    """DeleteBucket racing PUTs: deleted only if no write was acknowledged."""
    tally = races.delete_bucket_race(
        races.Clients(clean.endpoints), rounds=12, writers=3
    )
    _print("delete bucket", tally.outcomes)
    assert tally.problems == []


def test_head_bucket_race_leaves_no_record(clean: Cluster) -> None:
    """Requests on a bucket racing its deletion leave none of its state behind."""
    tally = races.head_bucket_race(races.Clients(clean.endpoints), rounds=30, readers=6)
    _print("head bucket", tally.outcomes)
    assert tally.problems == []


def test_complete_race_publishes_one_whole_object(clean: Cluster) -> None:
    """Racing CompleteMultipartUpload (and abort) of one upload: one whole result."""
    bucket = clean.bucket("complete")
    tally = upload_races.complete_race(
        races.Clients(clean.endpoints), bucket, rounds=4, racers=3
    )
    _print("complete", tally.outcomes)
    assert tally.problems == []


def test_list_parts_race_lists_all_or_nothing(clean: Cluster) -> None:
    """ListParts racing the upload's end lists every part or says NoSuchUpload."""
    bucket = clean.bucket("parts")
    tally = upload_races.list_parts_race(
        races.Clients(clean.endpoints), bucket, rounds=2, parts=200, listers=4
    )
    _print("list parts", tally.outcomes)
    assert tally.problems == []


def test_if_none_match_race_has_one_winner(clean: Cluster) -> None:
    """If-None-Match: * from several processes on one key: exactly one creates it."""
    bucket = clean.bucket("inm")
    tally = cas.if_none_match_race(
        races.Clients(clean.endpoints), bucket, rounds=6, racers=4
    )
    _print("if-none-match", tally.outcomes)
    assert tally.problems == []


def test_if_match_race_has_one_winner(clean: Cluster) -> None:
    """If-Match: <etag> from several processes on one version: exactly one swaps."""
    bucket = clean.bucket("im")
    tally = cas.if_match_race(
        races.Clients(clean.endpoints), bucket, rounds=6, racers=4
    )
    _print("if-match", tally.outcomes)
    assert tally.problems == []


def test_compare_and_swap_counter_loses_no_increment(clean: Cluster) -> None:
    """A counter incremented with If-Match by four clients counts every increment."""
    bucket = clean.bucket("counter")
    tally = cas.cas_counter(clean.endpoints, bucket, clients=4, increments=6)
    _print("counter", tally.outcomes)
    assert tally.problems == []


# -- examples/multi_host/check_shared_fs.py --------------------------------------

CHECKER = Path(__file__).resolve().parents[2] / "examples/multi_host/check_shared_fs.py"


def _checker() -> Any:
    spec = importlib.util.spec_from_file_location("check_shared_fs", CHECKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shared_fs_checker_passes_a_local_directory(tmp_path: Path) -> None:
    """The checker finds every primitive working here, and leaves nothing behind."""
    done = subprocess.run(
        [sys.executable, str(CHECKER), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("ok")
    assert list((tmp_path / RESERVED_DIR).iterdir()) == []


@pytest.mark.parametrize(
    ("fstype", "options", "fit", "warned"),
    [
        ("nfs4", "vers=4.2,local_lock=none,lookupcache=none,actimeo=0", True, False),
        ("nfs4", "vers=4.2,local_lock=none", True, True),
        ("nfs4", "vers=4.1,local_lock=flock", False, True),
        ("nfs", "vers=3,nolock", False, True),
        ("ceph", "name=admin", True, False),
        ("cifs", "vers=3.0", False, False),
        ("ext4", "errors=remount-ro", True, True),
    ],
)
def test_shared_fs_checker_judges_mounts(
    fstype: str, options: str, fit: bool, warned: bool
) -> None:
    """Mounts that keep locks on one host are unfit; caching ones only warned."""
    problems, warnings = _checker().judge_mount(fstype, set(options.split(",")))
    assert (not problems) == fit, problems
    assert bool(warnings) == warned, warnings


def test_shared_fs_checker_finds_the_mount_of_a_path() -> None:
    """The deepest mount point holding the path is the one judged."""
    info = (
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        "40 22 0:50 / /mnt/s3data rw,relatime - nfs4 srv:/export "
        "rw,vers=4.2,local_lock=none\n"
        "41 22 0:51 / /mnt/s3 rw - tmpfs tmpfs rw\n"
    )
    point, fstype, options = _checker().mount_of("/mnt/s3data/bucket", info)
    assert (point, fstype) == ("/mnt/s3data", "nfs4")
    assert "local_lock=none" in options


# -- the long run: -m slow ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["processes", "workers"])
def test_long_storm(kind: str, tmp_path: Path) -> None:
    """Four servers (fsync on) and two client processes: a minute of every race."""
    storm = start_cluster(tmp_path, kind, 4)
    try:
        started = time.monotonic()
        bucket = storm.bucket("storm")
        report = hammer_processes(
            storm.endpoints,
            bucket,
            processes=2,
            threads=4,
            seconds=60,
            seed=100,
            multipart_share=0.02,
        )
        problems = report.failures + check_final(storm.endpoints[-1], bucket, report)
        clients = races.Clients(storm.endpoints)
        tallies = {
            "create bucket": races.create_bucket_race(clients, rounds=30, racers=4),
            "head bucket": races.head_bucket_race(clients, rounds=60, readers=6),
            "list parts": upload_races.list_parts_race(
                clients, storm.bucket("parts"), rounds=6, parts=200, listers=4
            ),
            "delete bucket": races.delete_bucket_race(clients, rounds=60, writers=4),
            "complete": upload_races.complete_race(
                clients, storm.bucket("complete"), rounds=12, racers=4
            ),
            "if-none-match": cas.if_none_match_race(
                clients, storm.bucket("inm"), rounds=40, racers=4
            ),
            "if-match": cas.if_match_race(
                clients, storm.bucket("im"), rounds=40, racers=4
            ),
            "counter": cas.cas_counter(
                storm.endpoints,
                storm.bucket("counter"),
                clients=4,
                increments=25,
                processes=True,
            ),
        }
        for name, tally in tallies.items():
            problems += [f"{name}: {p}" for p in tally.problems]
        problems += leftovers(storm.data_dir, storm.endpoints[0])
        ops = report.ops + sum(t.ops for t in tallies.values())
        _print(
            f"storm[{kind}]",
            f"{ops} requests in {time.monotonic() - started:.0f} s; hammer "
            f"{report.ops} ops {report.counts}; "
            + "; ".join(f"{n} {t.outcomes}" for n, t in tallies.items())
            + f"; {len(problems)} problems",
        )
        assert problems == []
    finally:
        for server in storm.servers:
            server.stop()
