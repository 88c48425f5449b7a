"""Fixtures for the backend contract suite: every test runs against every backend.

Like falcon's tests run over app kinds, ``backend`` is parametrised over ``memory``,
``filesystem`` and ``filesystem-sidecars`` (records in sidecar files, as on a
filesystem without extended attributes), both under ``tmp_path`` and without fsync:
durability is not what these tests observe, and it would make them slow. All get a
``TickingClock``, so timestamps are predictable and no test patches time.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from s3core.backends.base import Backend
from s3core.backends.filesystem import FilesystemBackend
from s3core.backends.memory import MemoryBackend
from s3core.models import ObjectInfo, ObjectMeta, WriteCondition

BACKEND_KINDS = ["memory", "filesystem", "filesystem-sidecars"]
START = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


class TickingClock:
    """A clock that moves one second forward, exactly, each time it is read."""

    def __init__(self, start: dt.datetime = START) -> None:
        self._next = start
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            now, self._next = self._next, self._next + dt.timedelta(seconds=1)
            return now


def make_backend(kind: str, root: Path, clock: Callable[[], dt.datetime]) -> Backend:
    """A fresh, empty backend of ``kind`` (storing under ``root`` if it needs to)."""
    if kind == "memory":
        return MemoryBackend(clock=clock)
    return FilesystemBackend(
        root, fsync=False, clock=clock, xattrs=kind != "filesystem-sidecars"
    )


@pytest.fixture
def clock() -> TickingClock:
    """The clock the backend under test reads."""
    return TickingClock()


@pytest.fixture(params=BACKEND_KINDS)
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, clock: TickingClock
) -> Backend:
    """A fresh backend of each kind in turn."""
    return make_backend(request.param, tmp_path / "data", clock)


@pytest.fixture
def bucket(backend: Backend) -> str:
    """A bucket, created empty."""
    backend.create_bucket("bucket", owner_id="owner", created=START)
    return "bucket"


def put(
    backend: Backend,
    bucket: str,
    key: str,
    data: bytes = b"data",
    *,
    etag: str | None = None,
    meta: ObjectMeta | None = None,
    condition: WriteCondition | None = None,
) -> ObjectInfo:
    """Write one object in two chunks and commit it."""
    writer = backend.open_writer(bucket, key)
    try:
        writer.write(data[:3])
        writer.write(data[3:])
        return writer.commit(
            meta or ObjectMeta(),
            etag=etag or f"etag-{key}-{len(data)}",
            condition=condition,
        )
    except BaseException:
        writer.abort()
        raise


def read_all(backend: Backend, bucket: str, key: str) -> bytes:
    """The whole current content of an object."""
    reader = backend.open_object(bucket, key)
    try:
        return reader.read()
    finally:
        reader.close()
