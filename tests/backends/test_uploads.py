"""The Backend contract for multipart uploads and copies, run against each backend."""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3core import errors
from s3core.backends.base import Backend, is_upload_id, prefix_upper_bound
from s3core.models import ObjectInfo, ObjectMeta, Part, Upload, WriteCondition
from tests.backends.conftest import (
    BACKEND_KINDS,
    START,
    TickingClock,
    make_backend,
    put,
    read_all,
)

META = ObjectMeta(content_type="text/plain", user_metadata=(("color", "blue"),))


def start(backend: Backend, bucket: str, key: str = "big/file") -> Upload:
    """A new upload of ``key`` with ``META``."""
    return backend.create_upload(
        bucket,
        key,
        initiated=START,
        owner_id="owner",
        meta=META,
        checksum_algorithm="CRC32",
        checksum_type="COMPOSITE",
    )


def upload_part(
    backend: Backend, bucket: str, upload: Upload, n: int, data: bytes
) -> Part:
    """Store ``data`` as part ``n`` in two chunks."""
    writer = backend.open_part_writer(bucket, upload.key, upload.upload_id, n)
    try:
        writer.write(data[:2])
        writer.write(data[2:])
        return writer.commit(
            etag=f"etag-{n}-{len(data)}", checksum=("CRC32", "AAAAAA==")
        )
    except BaseException:
        writer.abort()
        raise


def complete(
    backend: Backend,
    bucket: str,
    upload: Upload,
    parts: list[Part],
    condition: WriteCondition | None = None,
) -> ObjectInfo:
    """Complete ``upload`` with ``parts`` under a fixed ETag and the upload's meta."""
    return backend.complete_upload(
        bucket,
        upload.key,
        upload.upload_id,
        parts,
        meta=upload.meta,
        etag="final-etag-2",
        condition=condition,
    )


# -- uploads ---------------------------------------------------------------------


def test_created_upload_is_found(backend: Backend, bucket: str) -> None:
    """An upload keeps key, owner, metadata and checksum settings; its id is fresh."""
    upload = start(backend, bucket)
    assert is_upload_id(upload.upload_id)
    assert upload.initiated == START
    assert (upload.key, upload.owner_id, upload.meta) == ("big/file", "owner", META)
    assert (upload.checksum_algorithm, upload.checksum_type) == ("CRC32", "COMPOSITE")
    assert backend.get_upload(bucket, "big/file", upload.upload_id) == upload
    assert start(backend, bucket).upload_id != upload.upload_id
    assert backend.list_parts(bucket, "big/file", upload.upload_id) == []


def test_unknown_uploads_raise_no_such_upload(backend: Backend, bucket: str) -> None:
    """Another key's id, a made-up id and a path-like id all raise NoSuchUpload."""
    upload = start(backend, bucket)
    bad = [
        ("other/key", upload.upload_id),
        ("big/file", "0" * 52),
        ("big/file", "../../buckets"),
        ("big/file", upload.upload_id + "/x"),
    ]
    for key, upload_id in bad:
        with pytest.raises(errors.NoSuchUpload):
            backend.get_upload(bucket, key, upload_id)
        with pytest.raises(errors.NoSuchUpload):
            backend.list_parts(bucket, key, upload_id)
        with pytest.raises(errors.NoSuchUpload):
            backend.open_part_writer(bucket, key, upload_id, 1)
        with pytest.raises(errors.NoSuchUpload):
            backend.abort_upload(bucket, key, upload_id)
        with pytest.raises(errors.NoSuchUpload):
            backend.complete_upload(
                bucket, key, upload_id, [], meta=META, etag="e", condition=None
            )
    assert backend.get_upload(bucket, "big/file", upload.upload_id) == upload


def test_upload_verbs_on_a_missing_bucket(backend: Backend) -> None:
    """Every upload verb on a missing bucket raises NoSuchBucket."""
    upload_id = "0" * 52
    calls = [
        lambda: backend.create_upload(
            "nope", "k", initiated=START, owner_id="o", meta=META
        ),
        lambda: backend.get_upload("nope", "k", upload_id),
        lambda: backend.open_part_writer("nope", "k", upload_id, 1),
        lambda: backend.list_parts("nope", "k", upload_id),
        lambda: backend.list_uploads("nope"),
        lambda: backend.abort_upload("nope", "k", upload_id),
    ]
    for call in calls:
        with pytest.raises(errors.NoSuchBucket):
            call()


def test_parts_are_listed_in_order_and_replaced(backend: Backend, bucket: str) -> None:
    """list_parts orders by number; a part uploaded again replaces the first one."""
    upload = start(backend, bucket)
    upload_part(backend, bucket, upload, 3, b"three")
    upload_part(backend, bucket, upload, 1, b"one")
    upload_part(backend, bucket, upload, 3, b"THREE!")
    parts = backend.list_parts(bucket, upload.key, upload.upload_id)
    assert [(p.part_number, p.size, p.etag) for p in parts] == [
        (1, 3, "etag-1-3"),
        (3, 6, "etag-3-6"),
    ]
    assert all(p.checksum == ("CRC32", "AAAAAA==") for p in parts)
    assert all(p.last_modified.microsecond % 1000 == 0 for p in parts)


def test_complete_publishes_the_concatenation(backend: Backend, bucket: str) -> None:
    """Completion publishes the chosen parts in order, with their boundaries."""
    upload = start(backend, bucket)
    one = upload_part(backend, bucket, upload, 1, b"first part ")
    upload_part(backend, bucket, upload, 2, b"left out ")
    three = upload_part(backend, bucket, upload, 3, b"third")
    info = complete(backend, bucket, upload, [one, three])
    assert read_all(backend, bucket, "big/file") == b"first part third"
    assert (info.size, info.etag, info.meta) == (16, "final-etag-2", META)
    assert (info.parts_count, info.part_sizes) == (2, (11, 5))
    assert backend.head_object(bucket, "big/file") == info
    listed = [e for e in backend.iter_entries(bucket) if isinstance(e, ObjectInfo)]
    assert listed == [info]
    with pytest.raises(errors.NoSuchUpload):
        backend.get_upload(bucket, upload.key, upload.upload_id)
    assert backend.list_uploads(bucket) == []


def test_complete_with_one_part(backend: Backend, bucket: str) -> None:
    """A single part becomes the object, and stays after the upload is gone."""
    put(backend, bucket, "big/file", b"old object")
    reader = backend.open_object(bucket, "big/file")
    upload = start(backend, bucket)
    part = upload_part(backend, bucket, upload, 7, b"the only part")
    info = complete(backend, bucket, upload, [part])
    assert (info.parts_count, info.part_sizes) == (1, (13,))
    assert read_all(backend, bucket, "big/file") == b"the only part"
    assert reader.read() == b"old object"  # a reader keeps the version it opened
    reader.close()


def test_complete_refuses_parts_that_changed(backend: Backend, bucket: str) -> None:
    """A part replaced or never stored fails with InvalidPart; nothing is published."""
    put(backend, bucket, "big/file", b"old object")
    upload = start(backend, bucket)
    first = upload_part(backend, bucket, upload, 1, b"one")
    upload_part(backend, bucket, upload, 1, b"one, again")
    missing = Part(part_number=2, size=3, etag="x", last_modified=START)
    for parts in ([first], [missing]):
        with pytest.raises(errors.InvalidPart):
            complete(backend, bucket, upload, parts)
    assert read_all(backend, bucket, "big/file") == b"old object"
    current = backend.list_parts(bucket, upload.key, upload.upload_id)
    assert complete(backend, bucket, upload, current).size == 10


def test_complete_checks_the_write_condition(backend: Backend, bucket: str) -> None:
    """A failed condition publishes nothing and leaves the upload open."""
    put(backend, bucket, "big/file", b"old object")
    upload = start(backend, bucket)
    part = upload_part(backend, bucket, upload, 1, b"new")
    with pytest.raises(errors.PreconditionFailed):
        complete(backend, bucket, upload, [part], WriteCondition(if_none_match=True))
    assert read_all(backend, bucket, "big/file") == b"old object"
    assert backend.list_parts(bucket, upload.key, upload.upload_id) == [part]
    complete(backend, bucket, upload, [part], WriteCondition(if_match="*"))
    assert read_all(backend, bucket, "big/file") == b"new"


def test_complete_joins_the_parts_as_named(backend: Backend, bucket: str) -> None:
    """The object is the named parts in the given order, a part named twice twice
    (the service refuses that with InvalidPartOrder; the backend still joins what it
    is given), and unnamed parts are dropped with the upload."""
    upload = start(backend, bucket)
    one = upload_part(backend, bucket, upload, 1, b"first")
    upload_part(backend, bucket, upload, 2, b"unused")
    three = upload_part(backend, bucket, upload, 3, b"third")
    info = complete(backend, bucket, upload, [one, three, one])
    assert info.size == 15
    assert read_all(backend, bucket, "big/file") == b"firstthirdfirst"
    with pytest.raises(errors.NoSuchUpload):
        backend.list_parts(bucket, upload.key, upload.upload_id)


def test_abort_forgets_the_upload(backend: Backend, bucket: str) -> None:
    """After an abort the upload and its parts are gone; a late part is refused."""
    upload = start(backend, bucket)
    upload_part(backend, bucket, upload, 1, b"one")
    late = backend.open_part_writer(bucket, upload.key, upload.upload_id, 2)
    late.write(b"late bytes")
    backend.abort_upload(bucket, upload.key, upload.upload_id)
    with pytest.raises(errors.NoSuchUpload):
        late.commit(etag="e")
    late.abort()
    with pytest.raises(errors.NoSuchUpload):
        backend.abort_upload(bucket, upload.key, upload.upload_id)
    with pytest.raises(errors.NoSuchUpload):
        backend.list_parts(bucket, upload.key, upload.upload_id)
    assert list(backend.iter_entries(bucket)) == []


def test_aborted_part_writer_stores_nothing(backend: Backend, bucket: str) -> None:
    """A part writer aborted (or dropped) before commit leaves no part."""
    upload = start(backend, bucket)
    writer = backend.open_part_writer(bucket, upload.key, upload.upload_id, 1)
    writer.write(b"partial")
    writer.abort()
    writer.abort()
    with pytest.raises(ValueError):
        writer.write(b"more")
    assert backend.list_parts(bucket, upload.key, upload.upload_id) == []


def test_list_uploads_orders_by_key_then_initiation(
    backend: Backend, bucket: str
) -> None:
    """Uploads list by key, then oldest first; a prefix selects keys."""
    made = []
    for i, key in enumerate(["b", "a/2", "b", "a/1", "c"]):
        made.append(
            backend.create_upload(
                bucket,
                key,
                initiated=START + dt.timedelta(seconds=i),
                owner_id="o",
                meta=META,
            )
        )
    listed = backend.list_uploads(bucket)
    assert [u.key for u in listed] == ["a/1", "a/2", "b", "b", "c"]
    assert [u.upload_id for u in listed if u.key == "b"] == [
        made[0].upload_id,
        made[2].upload_id,
    ]
    assert [u.key for u in backend.list_uploads(bucket, prefix="a/")] == ["a/1", "a/2"]


def test_open_upload_keeps_the_bucket(backend: Backend, bucket: str) -> None:
    """A bucket with an open upload cannot be deleted; once aborted it can."""
    upload = start(backend, bucket)
    with pytest.raises(errors.BucketNotEmpty):
        backend.delete_bucket(bucket)
    backend.abort_upload(bucket, upload.key, upload.upload_id)
    backend.delete_bucket(bucket)
    backend.create_bucket(bucket, owner_id="new", created=START)
    assert backend.list_uploads(bucket) == []


def test_expire_uploads(backend: Backend, bucket: str) -> None:
    """expire_uploads aborts exactly the uploads initiated before the cutoff."""
    old = backend.create_upload(
        bucket, "old", initiated=START - dt.timedelta(days=3), owner_id="o", meta=META
    )
    upload_part(backend, bucket, old, 1, b"old part")
    new = start(backend, bucket, "new")
    assert backend.expire_uploads(initiated_before=START - dt.timedelta(days=1)) == 1
    assert [u.upload_id for u in backend.list_uploads(bucket)] == [new.upload_id]
    with pytest.raises(errors.NoSuchUpload):
        backend.list_parts(bucket, "old", old.upload_id)


@pytest.mark.parametrize("kind", BACKEND_KINDS)
def test_stale_uploads_are_swept_on_create(kind: str, tmp_path: Path) -> None:
    """A backend with an expiry aborts uploads older than it when a new one starts."""
    clock = TickingClock()
    backend = make_backend(kind, tmp_path / "data", clock)
    backend.create_bucket("bucket", owner_id="o", created=START)
    old = backend.create_upload(
        "bucket", "k", initiated=START - dt.timedelta(days=8), owner_id="o", meta=META
    )
    assert backend.list_uploads("bucket") == [old]
    if kind != "memory":  # a process sweeps on its first create, then hourly
        backend = make_backend(kind, tmp_path / "data", clock)
    fresh = start(backend, "bucket")
    assert backend.list_uploads("bucket") == [fresh]


def test_concurrent_parts_all_land(backend: Backend, bucket: str) -> None:
    """Parts uploaded by concurrent threads are all stored and assemble in order."""
    upload = start(backend, bucket)
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def send(i: int) -> None:
        try:
            barrier.wait()
            for n in range(i * 5 + 1, i * 5 + 6):
                upload_part(backend, bucket, upload, n, f"<{n}>".encode())
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    parts = backend.list_parts(bucket, upload.key, upload.upload_id)
    assert [p.part_number for p in parts] == list(range(1, 21))
    complete(backend, bucket, upload, parts)
    expected = "".join(f"<{n}>" for n in range(1, 21)).encode()
    assert read_all(backend, bucket, "big/file") == expected


@settings(max_examples=25)
@given(
    kind=st.sampled_from(BACKEND_KINDS),
    sizes=st.lists(st.integers(0, 40), min_size=1, max_size=8),
    chosen=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_any_ascending_selection_of_parts_assembles(
    kind: str, sizes: list[int], chosen: list[bool]
) -> None:
    """Completing any ascending subset of parts publishes exactly their bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        backend = make_backend(kind, Path(tmp), TickingClock())
        backend.create_bucket("b", owner_id="o", created=START)
        upload = start(backend, "b", "k")
        parts, expected = [], b""
        for n, size in enumerate(sizes, start=1):
            data = bytes([n]) * size
            part = upload_part(backend, "b", upload, n, data)
            if chosen[n - 1] or n == len(sizes):
                parts.append(part)
                expected += data
        info = complete(backend, "b", upload, parts)
        assert read_all(backend, "b", "k") == expected
        assert info.part_sizes == tuple(p.size for p in parts)


# -- copies --------------------------------------------------------------------------


def test_copy_object(backend: Backend, bucket: str) -> None:
    """A copy has the source's bytes, the given metadata and ETag, no parts."""
    backend.create_bucket("other", owner_id="owner", created=START)
    put(backend, bucket, "src", b"source bytes")
    reader = backend.open_object(bucket, "src")
    try:
        info = backend.copy_object(reader, "other", "dst/copy", meta=META, etag="e1")
    finally:
        reader.close()
    assert read_all(backend, "other", "dst/copy") == b"source bytes"
    assert (info.size, info.etag, info.meta, info.part_sizes) == (12, "e1", META, ())
    assert backend.head_object("other", "dst/copy") == info
    assert read_all(backend, bucket, "src") == b"source bytes"


def test_copy_reads_the_opened_version(backend: Backend, bucket: str) -> None:
    """A copy publishes the snapshot its reader opened, even if the source changed."""
    put(backend, bucket, "src", b"version one")
    reader = backend.open_object(bucket, "src")
    put(backend, bucket, "src", b"version two is longer")
    backend.copy_object(reader, bucket, "dst", meta=META, etag="e")
    reader.close()
    assert read_all(backend, bucket, "dst") == b"version one"


def test_copy_onto_itself_and_conditions(backend: Backend, bucket: str) -> None:
    """Copying onto the source key replaces it; a failing condition stores nothing."""
    put(backend, bucket, "k", b"same bytes", etag="e0")
    reader = backend.open_object(bucket, "k")
    with pytest.raises(errors.PreconditionFailed):
        backend.copy_object(
            reader,
            bucket,
            "k",
            meta=META,
            etag="e1",
            condition=WriteCondition(if_match="x"),
        )
    info = backend.copy_object(reader, bucket, "k", meta=META, etag="e1")
    reader.close()
    assert (info.meta, read_all(backend, bucket, "k")) == (META, b"same bytes")


def test_copy_of_an_empty_object(backend: Backend, bucket: str) -> None:
    """An empty object copies to an empty object."""
    put(backend, bucket, "empty", b"")
    reader = backend.open_object(bucket, "empty")
    info = backend.copy_object(reader, bucket, "copy", meta=META, etag="e")
    reader.close()
    assert (info.size, read_all(backend, bucket, "copy")) == (0, b"")


def test_copy_to_a_missing_bucket(backend: Backend, bucket: str) -> None:
    """Copying into a bucket that does not exist raises NoSuchBucket."""
    put(backend, bucket, "src")
    reader = backend.open_object(bucket, "src")
    with pytest.raises(errors.NoSuchBucket):
        backend.copy_object(reader, "nope", "dst", meta=META, etag="e")
    reader.close()


# -- helpers -------------------------------------------------------------------------


@given(prefix=st.text(max_size=6), other=st.text(max_size=8))
def test_prefix_upper_bound(prefix: str, other: str) -> None:
    """Every string from the prefix up to the bound starts with the prefix."""
    bound = prefix_upper_bound(prefix)
    if other.startswith(prefix):
        assert bound is None or other < bound
    elif prefix <= other:
        assert bound is not None and other >= bound
