"""The Backend contract: what every backend must do, run against each of them."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections.abc import Callable

import pytest

from s3core import errors
from s3core.backends.base import Backend
from s3core.models import (
    BucketInfo,
    ObjectInfo,
    ObjectMeta,
    WriteCondition,
)
from tests.backends.conftest import START, put, read_all

# -- buckets -------------------------------------------------------------------


def test_create_get_and_list_buckets(backend: Backend) -> None:
    """A created bucket is returned by get_bucket and listed in name order."""
    created = START.replace(microsecond=123_456)
    for name in ("zeta", "alpha", "mid"):
        info = backend.create_bucket(name, owner_id="o-" + name, created=created)
        assert info == BucketInfo(name, "o-" + name, START.replace(microsecond=123_000))
    assert backend.get_bucket("mid") == BucketInfo(
        "mid", "o-mid", START.replace(microsecond=123_000)
    )
    assert [b.name for b in backend.list_buckets()] == ["alpha", "mid", "zeta"]


def test_create_existing_bucket_fails(backend: Backend, bucket: str) -> None:
    """Creating a taken name raises BucketAlreadyExists and keeps the first owner."""
    with pytest.raises(errors.BucketAlreadyExists):
        backend.create_bucket(bucket, owner_id="other", created=START)
    assert backend.get_bucket(bucket).owner_id == "owner"


def test_missing_bucket_raises_no_such_bucket(backend: Backend) -> None:
    """Every verb on a missing bucket raises NoSuchBucket."""
    calls: list[Callable[[], object]] = [
        lambda: backend.get_bucket("nope"),
        lambda: backend.delete_bucket("nope"),
        lambda: backend.open_writer("nope", "k"),
        lambda: backend.head_object("nope", "k"),
        lambda: backend.open_object("nope", "k"),
        lambda: backend.delete_object("nope", "k"),
        lambda: backend.iter_entries("nope"),
    ]
    for call in calls:
        with pytest.raises(errors.NoSuchBucket):
            call()


def test_delete_bucket(backend: Backend, bucket: str) -> None:
    """A non-empty bucket cannot be deleted; once emptied it can, and is gone."""
    put(backend, bucket, "dir/key")
    with pytest.raises(errors.BucketNotEmpty):
        backend.delete_bucket(bucket)
    backend.delete_object(bucket, "dir/key")
    backend.delete_bucket(bucket)
    with pytest.raises(errors.NoSuchBucket):
        backend.get_bucket(bucket)
    assert backend.list_buckets() == []


def test_recreated_bucket_is_empty(backend: Backend, bucket: str) -> None:
    """A bucket deleted and created again has its new owner and no objects."""
    put(backend, bucket, "k")
    backend.delete_object(bucket, "k")
    backend.delete_bucket(bucket)
    backend.create_bucket(bucket, owner_id="new", created=START)
    assert backend.get_bucket(bucket).owner_id == "new"
    assert list(backend.iter_entries(bucket)) == []


def test_concurrent_bucket_creation_has_one_winner(backend: Backend) -> None:
    """Of threads creating one bucket at once, exactly one succeeds."""
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def create(i: int) -> None:
        barrier.wait()
        try:
            backend.create_bucket("race", owner_id=f"o{i}", created=START)
            outcomes.append("won")
        except errors.BucketAlreadyExists:
            outcomes.append("lost")

    _run_threads(create, 4)
    assert sorted(outcomes) == ["lost", "lost", "lost", "won"]


# -- writing and reading ---------------------------------------------------------


def test_put_then_head_and_read(backend: Backend, bucket: str) -> None:
    """A committed object has its bytes, size, ETag, metadata and commit time."""
    meta = ObjectMeta(
        content_type="text/plain",
        cache_control="no-cache",
        content_disposition="inline",
        content_encoding="gzip",
        content_language="fr",
        expires="Thu, 01 Dec 1994 16:00:00 GMT",
        user_metadata=(("color", "blue"), ("shape", "ça")),
        checksums=(("CRC32", "AAAAAA=="),),
    )
    writer = backend.open_writer(bucket, "docs/a.txt")
    writer.write(b"hello ")
    writer.write(b"world")
    info = writer.commit(meta, etag="abc-2", parts_count=2)
    expected = ObjectInfo(
        key="docs/a.txt",
        size=11,
        etag="abc-2",
        last_modified=info.last_modified,
        meta=meta,
        parts_count=2,
    )
    assert info == expected
    assert info.last_modified.tzinfo is not None
    assert info.last_modified.microsecond % 1000 == 0
    assert backend.head_object(bucket, "docs/a.txt") == expected
    reader = backend.open_object(bucket, "docs/a.txt")
    assert reader.info == expected
    assert reader.read() == b"hello world"
    reader.close()
    reader.close()  # idempotent


def test_last_modified_comes_from_the_clock(backend: Backend, bucket: str) -> None:
    """LastModified is the injected clock's time at commit, to the millisecond."""
    info = put(backend, bucket, "k")
    assert START <= info.last_modified < START + dt.timedelta(seconds=10)
    assert backend.head_object(bucket, "k").last_modified == info.last_modified


def test_empty_object(backend: Backend, bucket: str) -> None:
    """A zero-byte object is stored and read back as empty."""
    writer = backend.open_writer(bucket, "empty")
    info = writer.commit(ObjectMeta(), etag="d41d8cd98f00b204e9800998ecf8427e")
    assert info.size == 0
    assert read_all(backend, bucket, "empty") == b""


def test_seek_and_partial_reads(backend: Backend, bucket: str) -> None:
    """read(n) returns at most n bytes from the position; seek moves it."""
    put(backend, bucket, "k", b"0123456789")
    reader = backend.open_object(bucket, "k")
    assert reader.read(3) == b"012"
    assert reader.read(3) == b"345"
    reader.seek(8)
    assert reader.read(5) == b"89"
    assert reader.read(5) == b""
    reader.seek(2)
    assert reader.read() == b"23456789"
    reader.seek(0)
    assert reader.read(0) == b""
    reader.close()


def test_overwrite_replaces_the_object(backend: Backend, bucket: str) -> None:
    """A second commit at a key replaces bytes and metadata."""
    put(backend, bucket, "k", b"first", meta=ObjectMeta(content_type="a/b"))
    put(backend, bucket, "k", b"second!", meta=ObjectMeta(content_type="c/d"))
    info = backend.head_object(bucket, "k")
    assert (info.size, info.meta.content_type) == (7, "c/d")
    assert read_all(backend, bucket, "k") == b"second!"


def test_abort_publishes_nothing(backend: Backend, bucket: str) -> None:
    """An aborted write leaves the old object intact and no new key visible."""
    put(backend, bucket, "old", b"old bytes")
    for key in ("old", "new"):
        writer = backend.open_writer(bucket, key)
        writer.write(b"never seen")
        writer.abort()
        writer.abort()  # idempotent
    assert read_all(backend, bucket, "old") == b"old bytes"
    with pytest.raises(errors.NoSuchKey):
        backend.head_object(bucket, "new")
    assert [e.key for e in _objects(backend, bucket)] == ["old"]


def test_exception_before_commit_publishes_nothing(
    backend: Backend, bucket: str
) -> None:
    """A writer dropped without commit or abort publishes nothing."""
    put(backend, bucket, "old", b"old bytes")

    def failing_upload() -> None:
        writer = backend.open_writer(bucket, "old")
        writer.write(b"partial")
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        failing_upload()
    assert read_all(backend, bucket, "old") == b"old bytes"


def test_finished_writer_rejects_more(backend: Backend, bucket: str) -> None:
    """After commit, write and commit raise; abort is a no-op."""
    writer = backend.open_writer(bucket, "k")
    writer.write(b"x")
    writer.commit(ObjectMeta(), etag="e")
    with pytest.raises(ValueError):
        writer.write(b"y")
    with pytest.raises(ValueError):
        writer.commit(ObjectMeta(), etag="e")
    writer.abort()
    assert read_all(backend, bucket, "k") == b"x"


def test_reader_keeps_its_version(backend: Backend, bucket: str) -> None:
    """A reader opened before an overwrite or a delete still reads the old bytes."""
    put(backend, bucket, "k", b"version one")
    before_overwrite = backend.open_object(bucket, "k")
    put(backend, bucket, "k", b"version two, longer")
    before_delete = backend.open_object(bucket, "k")
    backend.delete_object(bucket, "k")
    assert before_overwrite.read() == b"version one"
    assert before_overwrite.info.size == len(b"version one")
    assert before_delete.read() == b"version two, longer"
    before_overwrite.close()
    before_delete.close()


def test_delete_object(backend: Backend, bucket: str) -> None:
    """A deleted object is gone; deleting a missing key is not an error."""
    put(backend, bucket, "a/b/c")
    backend.delete_object(bucket, "a/b/c")
    backend.delete_object(bucket, "a/b/c")
    backend.delete_object(bucket, "never")
    for call in (backend.head_object, backend.open_object):
        with pytest.raises(errors.NoSuchKey):
            call(bucket, "a/b/c")
    assert list(backend.iter_entries(bucket)) == []


def test_keys_that_are_prefixes_of_each_other(backend: Backend, bucket: str) -> None:
    """'a', 'a/', 'a/b' and 'a//b' are four independent objects."""
    keys = ["a/b", "a", "a/", "a//b"]
    for key in keys:
        put(backend, bucket, key, key.encode())
    for key in keys:
        assert read_all(backend, bucket, key) == key.encode()
    backend.delete_object(bucket, "a/b")
    backend.delete_object(bucket, "a//b")
    assert read_all(backend, bucket, "a") == b"a"
    assert [e.key for e in _objects(backend, bucket)] == ["a", "a/"]


# -- conditional writes ---------------------------------------------------------


def test_if_none_match(backend: Backend, bucket: str) -> None:
    """If-None-Match: * creates a missing key and refuses an existing one."""
    only_new = WriteCondition(if_none_match=True)
    put(backend, bucket, "k", b"first", condition=only_new)
    with pytest.raises(errors.PreconditionFailed):
        put(backend, bucket, "k", b"second", condition=only_new)
    assert read_all(backend, bucket, "k") == b"first"


def test_if_match(backend: Backend, bucket: str) -> None:
    """If-Match replaces only the object with that ETag; '*' matches any."""
    put(backend, bucket, "k", b"one", etag="e1")
    with pytest.raises(errors.PreconditionFailed):
        put(
            backend,
            bucket,
            "k",
            b"two",
            etag="e2",
            condition=WriteCondition(if_match="x"),
        )
    assert read_all(backend, bucket, "k") == b"one"
    put(
        backend, bucket, "k", b"two", etag="e2", condition=WriteCondition(if_match="e1")
    )
    put(
        backend,
        bucket,
        "k",
        b"three",
        etag="e3",
        condition=WriteCondition(if_match="*"),
    )
    assert read_all(backend, bucket, "k") == b"three"


def test_if_match_on_missing_key(backend: Backend, bucket: str) -> None:
    """If-Match on a missing key raises NoSuchKey and creates nothing."""
    with pytest.raises(errors.NoSuchKey):
        put(backend, bucket, "k", condition=WriteCondition(if_match="*"))
    assert list(backend.iter_entries(bucket)) == []


def test_concurrent_if_none_match_has_one_winner(backend: Backend, bucket: str) -> None:
    """Of threads committing If-None-Match on one key at once, exactly one wins."""
    for round_ in range(10):
        key = f"race/{round_}"
        winners = _commit_at_once(backend, bucket, key, 4)
        assert len(winners) == 1
        assert read_all(backend, bucket, key) == f"writer {winners[0]}".encode()


def _commit_at_once(backend: Backend, bucket: str, key: str, n: int) -> list[int]:
    """Stage n writers, then commit them If-None-Match together: who won."""
    writers = [backend.open_writer(bucket, key) for _ in range(n)]
    for i, writer in enumerate(writers):
        writer.write(f"writer {i}".encode())
    barrier = threading.Barrier(n)
    winners: list[int] = []

    def commit(i: int) -> None:
        barrier.wait()
        try:
            writers[i].commit(
                ObjectMeta(), etag=f"e{i}", condition=WriteCondition(if_none_match=True)
            )
            winners.append(i)
        except errors.PreconditionFailed:
            writers[i].abort()

    _run_threads(commit, n)
    return winners


def test_concurrent_puts_and_deletes_of_siblings(backend: Backend, bucket: str) -> None:
    """Writers and deleters racing in one directory never lose a committed key."""

    def churn(i: int) -> None:
        for n in range(15):
            put(backend, bucket, f"d/e/{i}-{n}")
            backend.delete_object(bucket, f"d/e/{i}-{n}")
        put(backend, bucket, f"d/e/{i}-final")

    _run_threads(churn, 4)
    assert [e.key for e in _objects(backend, bucket)] == [
        f"d/e/{i}-final" for i in range(4)
    ]


def test_objects_stay_visible_while_other_keys_are_written(
    backend: Backend, bucket: str
) -> None:
    """Reading 'k' never fails while 'k/child' is written (a file becoming a dir)."""
    n = 100
    for i in range(n):
        put(backend, bucket, f"k{i}", b"parent")
    done = threading.Event()
    misses: list[str] = []

    def work(role: int) -> None:
        if role == 0:
            for i in range(n):
                put(backend, bucket, f"k{i}/child")
            done.set()
            return
        while not done.is_set():
            for i in range(n - 1, -1, -1):
                try:
                    if read_all(backend, bucket, f"k{i}") != b"parent":
                        misses.append(f"k{i} changed")
                except errors.NoSuchKey:
                    misses.append(f"k{i} missing")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: make the race likely
    try:
        _run_threads(work, 4)
    finally:
        sys.setswitchinterval(interval)
    assert misses == []


def _objects(backend: Backend, bucket: str) -> list[ObjectInfo]:
    return [e for e in backend.iter_entries(bucket) if isinstance(e, ObjectInfo)]


def _run_threads(target: Callable[[int], None], n: int) -> None:
    errors_seen: list[BaseException] = []

    def run(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:
            errors_seen.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors_seen:
        raise errors_seen[0]
