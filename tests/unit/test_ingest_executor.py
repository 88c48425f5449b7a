"""ingest with a digest executor: the same digests, errors and writes as without.

The executor only moves the hashing to another thread (s3server gives one whose
threads run off the pinned CPU); what ingest returns, raises and writes must not
depend on it. The bodies are real bytes in chunks of bodies.CHUNK_SIZE, the writer a
memory backend's.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3core import errors
from s3core.backends.memory import MemoryBackend
from s3core.bodies import CHUNK_SIZE
from s3core.http import Headers
from s3core.operations.ingest import Ingested, ingest

WHEN = dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2, thread_name_prefix="digest-test") as pool:
        yield pool


class RecordingExecutor(Executor):
    """Runs jobs on a real pool and records which thread ran each."""

    def __init__(self, pool: Executor) -> None:
        self.pool = pool
        self.threads: list[str] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        def run() -> Any:
            self.threads.append(threading.current_thread().name)
            return fn(*args, **kwargs)

        return self.pool.submit(run)


def store(data: bytes, headers: Headers, executor: Executor | None) -> Ingested:
    """ingest ``data`` into a fresh memory-backend writer; what it returned."""
    backend = MemoryBackend()
    backend.create_bucket("b", owner_id="o", created=WHEN)
    writer = backend.open_writer("b", "k")
    try:
        return ingest(headers, io.BytesIO(data), writer, executor)
    finally:
        writer.abort()


def content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


@settings(max_examples=25, deadline=None)
@given(
    size=st.sampled_from([0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1])
    | st.integers(0, 4 * CHUNK_SIZE + 7),
    algorithm=st.sampled_from(["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]),
)
def test_same_result_with_and_without_executor(
    executor: ThreadPoolExecutor, size: int, algorithm: str
) -> None:
    """Size, MD5 and checksum agree for bodies of one chunk and of several."""
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    headers = Headers((("x-amz-sdk-checksum-algorithm", algorithm),))
    inline = store(data, headers, None)
    offloaded = store(data, headers, executor)
    assert offloaded == inline
    assert inline.md5_hex == hashlib.md5(data).hexdigest()
    assert inline.size == size


def test_hashing_runs_on_the_executor_after_the_first_chunk(
    executor: ThreadPoolExecutor,
) -> None:
    """A one-chunk body never uses the executor; a 3.5-chunk body hashes 3 there."""
    recording = RecordingExecutor(executor)
    store(b"x" * 1000, Headers(), recording)
    assert recording.threads == []
    store(b"x" * (3 * CHUNK_SIZE + CHUNK_SIZE // 2), Headers(), recording)
    assert len(recording.threads) == 3
    assert all(name.startswith("digest-test") for name in recording.threads)


def test_wrong_content_md5_is_refused(executor: ThreadPoolExecutor) -> None:
    """BadDigest for a multi-chunk body hashed on the executor, as inline."""
    data = b"y" * (2 * CHUNK_SIZE + 3)
    headers = Headers((("content-md5", content_md5(data + b"!")),))
    for chosen in (None, executor):
        with pytest.raises(errors.BadDigest):
            store(data, headers, chosen)
    good = Headers((("content-md5", content_md5(data)),))
    assert store(data, good, executor).md5_hex == hashlib.md5(data).hexdigest()


def test_error_in_a_hashing_job_reaches_the_caller(
    executor: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job that fails (here: the checksum) fails the ingest, not silently."""
    from s3core.operations import ingest as ingest_module

    real = ingest_module.new_checksum

    class Failing:
        def __init__(self) -> None:
            self.inner = real("CRC32")
            self.calls = 0

        def update(self, data: bytes) -> None:
            self.calls += 1
            if self.calls == 2:  # the first chunk is inline, the second on the pool
                raise RuntimeError("checksum failed")
            self.inner.update(data)

        def digest(self) -> bytes:
            return self.inner.digest()

    monkeypatch.setattr(ingest_module, "new_checksum", lambda name: Failing())
    with pytest.raises(RuntimeError, match="checksum failed"):
        store(b"z" * (3 * CHUNK_SIZE), Headers(), executor)


class BrokenBody(io.RawIOBase):
    """Gives ``good`` bytes, then fails as a client that went away does."""

    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        if self.left <= 0:
            raise errors.IncompleteBody()
        n = min(self.left, CHUNK_SIZE if size is None or size < 0 else size)
        self.left -= n
        return b"q" * n


def test_body_error_waits_for_the_pending_job(executor: ThreadPoolExecutor) -> None:
    """A body failing midway raises its error; no hashing job outlives ingest."""
    started = threading.Event()
    release = threading.Event()
    finished: list[bool] = []

    class SlowExecutor(Executor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            def run() -> Any:
                started.set()
                release.wait(5)
                fn(*args, **kwargs)
                finished.append(True)

            return executor.submit(run)

    backend = MemoryBackend()
    backend.create_bucket("b", owner_id="o", created=WHEN)
    writer = backend.open_writer("b", "k")
    threading.Timer(0.2, release.set).start()
    with pytest.raises(errors.IncompleteBody):
        ingest(Headers(), BrokenBody(2 * CHUNK_SIZE), writer, SlowExecutor())
    writer.abort()
    assert started.is_set()
    assert finished == [True]  # ingest returned only after the job had finished
    with pytest.raises(errors.NoSuchKey):
        backend.head_object("b", "k")
