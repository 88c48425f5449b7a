"""The filesystem backend's on-disk layout: browsable, hand-editable, contained."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import multiprocessing
import os
import socket
import time
from pathlib import Path

import pytest

from s3core import errors
from s3core.backends.filesystem import FilesystemBackend
from s3core.backends.filesystem.layout import digest, move_name
from s3core.models import ObjectInfo, ObjectMeta, WriteCondition
from tests.backends.conftest import START, TickingClock, put, read_all

BUCKET = "bucket"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def fs(root: Path) -> FilesystemBackend:
    backend = FilesystemBackend(root, fsync=False, clock=TickingClock())
    backend.create_bucket(BUCKET, owner_id="owner", created=START)
    return backend


@pytest.fixture
def bdir(fs: FilesystemBackend, root: Path) -> Path:
    """The bucket's directory."""
    return root / BUCKET


def files_under(path: Path) -> list[str]:
    """Every non-directory under ``path``, as sorted relative POSIX paths."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir())


def keys(fs: FilesystemBackend, **kwargs: str) -> list[str]:
    return [
        e.key if isinstance(e, ObjectInfo) else f"<{e.prefix}>"
        for e in fs.iter_entries(BUCKET, **kwargs)
    ]


def objects(fs: FilesystemBackend, bucket: str = BUCKET) -> list[ObjectInfo]:
    return [e for e in fs.iter_entries(bucket) if isinstance(e, ObjectInfo)]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# -- browsable ------------------------------------------------------------------


def test_objects_are_plain_files_at_their_key(
    fs: FilesystemBackend, bdir: Path
) -> None:
    """photos/2024/a.jpg is the file <root>/<bucket>/photos/2024/a.jpg."""
    put(fs, BUCKET, "photos/2024/a.jpg", b"jpeg bytes")
    assert (bdir / "photos" / "2024" / "a.jpg").read_bytes() == b"jpeg bytes"
    assert files_under(bdir) == ["photos/2024/a.jpg"]


def test_file_copied_in_by_hand_is_an_object(fs: FilesystemBackend, bdir: Path) -> None:
    """A hand-placed file is listed and read, with an MD5 ETag and a guessed type."""
    (bdir / "img").mkdir()
    (bdir / "img" / "cat.jpg").write_bytes(b"meow")
    (bdir / "notes.txt").write_bytes(b"hello")
    (bdir / "blob").write_bytes(b"?")
    assert keys(fs) == ["blob", "img/cat.jpg", "notes.txt"]
    info = fs.head_object(BUCKET, "img/cat.jpg")
    assert (info.etag, info.size) == (md5(b"meow"), 4)
    assert info.meta.content_type == "image/jpeg"
    assert fs.head_object(BUCKET, "notes.txt").meta.content_type == "text/plain"
    assert fs.head_object(BUCKET, "blob").meta.content_type == "binary/octet-stream"
    assert read_all(fs, BUCKET, "img/cat.jpg") == b"meow"
    mtime = (bdir / "notes.txt").stat().st_mtime_ns // 1_000_000
    assert fs.head_object(BUCKET, "notes.txt").last_modified == dt.datetime(
        1970, 1, 1, tzinfo=dt.timezone.utc
    ) + dt.timedelta(milliseconds=mtime)


def test_file_edited_by_hand_is_seen_as_changed(
    fs: FilesystemBackend, bdir: Path
) -> None:
    """Editing a file (even keeping its size) gives a new ETag and default type."""
    put(fs, BUCKET, "doc", b"v1 bytes", etag="e1", meta=ObjectMeta(content_type="x/y"))
    (bdir / "doc").write_bytes(b"v2 bytes")
    info = fs.head_object(BUCKET, "doc")
    assert info.etag == md5(b"v2 bytes")
    assert [e.etag for e in objects(fs)] == [md5(b"v2 bytes")]
    (bdir / "doc").write_bytes(b"version 3")
    assert fs.head_object(BUCKET, "doc").etag == md5(b"version 3")


def test_file_deleted_by_hand_is_gone(fs: FilesystemBackend, bdir: Path) -> None:
    """Removing the file removes the object."""
    put(fs, BUCKET, "a/b")
    (bdir / "a" / "b").unlink()
    with pytest.raises(errors.NoSuchKey):
        fs.head_object(BUCKET, "a/b")
    assert keys(fs) == []


def test_metadata_survives_a_new_backend(root: Path, fs: FilesystemBackend) -> None:
    """State is on disk: another backend (process) over the root sees it all."""
    meta = ObjectMeta(content_type="a/b", user_metadata=(("k", "v"),))
    info = put(fs, BUCKET, "k", meta=meta, etag="etag-9")
    other = FilesystemBackend(root, fsync=False)
    assert other.head_object(BUCKET, "k") == info
    assert other.get_bucket(BUCKET) == fs.get_bucket(BUCKET)


# -- any key is storable ----------------------------------------------------------


@pytest.mark.parametrize("first", ["a", "a/b"])
def test_file_and_directory_keys_coexist(
    fs: FilesystemBackend, bdir: Path, first: str
) -> None:
    """'a' and 'a/b' coexist in both orders; 'a' then lives at a/.s3~!self."""
    second = "a/b" if first == "a" else "a"
    put(fs, BUCKET, first, first.encode())
    put(fs, BUCKET, second, second.encode())
    assert files_under(bdir) == ["a/.s3~!self", "a/b"]
    assert read_all(fs, BUCKET, "a") == b"a"
    assert read_all(fs, BUCKET, "a/b") == b"a/b"
    assert keys(fs) == ["a", "a/b"]
    fs.delete_object(BUCKET, "a")
    assert files_under(bdir) == ["a/b"]
    put(fs, BUCKET, "a", b"again")
    fs.delete_object(BUCKET, "a/b")
    assert read_all(fs, BUCKET, "a") == b"again"


def test_reader_survives_the_move_into_a_directory(fs: FilesystemBackend) -> None:
    """A reader of 'a' opened before 'a/b' moved it keeps reading it."""
    put(fs, BUCKET, "a", b"old a")
    reader = fs.open_object(BUCKET, "a")
    put(fs, BUCKET, "a/b")
    assert reader.read() == b"old a"
    reader.close()


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("dir/", "dir/.s3~"),
        ("a//b", "a/.s3~/b"),
        (".", ".s3~%2E"),
        ("..", ".s3~%2E%2E"),
        ("../x", ".s3~%2E%2E/x"),
        ("/", ".s3~/.s3~"),
        ("ctl\x01/\x7f", ".s3~ctl%01/.s3~%7F"),
        ("100%", "100%"),
        (".s3~!self", ".s3~%2Es3%7E%21self"),
        (".s3~%2E", ".s3~%2Es3%7E%252E"),
        ("x/.s3~!h" + "0" * 64, "x/.s3~%2Es3%7E%21h" + "0" * 64),
        (".s3server/x", ".s3server/x"),
    ],
)
def test_keys_that_need_escaping(
    fs: FilesystemBackend, root: Path, bdir: Path, key: str, path: str
) -> None:
    """Awkward keys map to escaped names inside the bucket, and list back."""
    put(fs, BUCKET, key, b"payload")
    assert files_under(bdir) == [path]
    assert keys(fs) == [key]
    assert read_all(fs, BUCKET, key) == b"payload"
    assert sorted(os.listdir(root)) == [".s3server", BUCKET]
    fs.delete_object(BUCKET, key)
    assert files_under(bdir) == []


def test_long_segments_are_hashed_and_listed(fs: FilesystemBackend, bdir: Path) -> None:
    """A 300-byte segment becomes a hashed name; listings recover the key."""
    long = "x" * 300
    for key in (long, f"{long}/child", f"d/{long}"):
        put(fs, BUCKET, key, key.encode())
    name = ".s3~!h" + digest(long)
    assert files_under(bdir) == sorted(
        [f"d/{name}", f"{name}/.s3~!self", f"{name}/child"]
    )
    assert keys(fs) == sorted([long, f"{long}/child", f"d/{long}"])
    assert keys(fs, delimiter="/") == ["<d/>", long, f"<{long}/>"]
    assert read_all(fs, BUCKET, f"{long}/child") == f"{long}/child".encode()


def test_hashed_names_are_decodable_by_other_processes(
    fs: FilesystemBackend, root: Path
) -> None:
    """Hashed-name records are on disk per bucket, also for a re-created bucket."""
    long = "y" * 256
    put(fs, BUCKET, long)
    fs.create_bucket("other", owner_id="o", created=START)
    put(fs, "other", long)
    fs.delete_object(BUCKET, long)
    fs.delete_bucket(BUCKET)
    fs.create_bucket(BUCKET, owner_id="o", created=START)
    put(fs, BUCKET, f"{long}/z")
    fresh = FilesystemBackend(root, fsync=False)
    assert [e.key for e in objects(fresh, "other")] == [long]
    assert [e.key for e in objects(fresh)] == [f"{long}/z"]


def test_hand_made_non_canonical_names_are_not_objects(
    fs: FilesystemBackend, bdir: Path
) -> None:
    """Names no key maps to (bad escapes, reserved, control chars) are skipped."""
    for name in [".s3~abc", ".s3~%zz", ".s3~!junk", "tab\there", ".s3~!h" + "1" * 64]:
        (bdir / name).write_bytes(b"x")
    (bdir / "ok").write_bytes(b"x")
    assert keys(fs) == ["ok"]


# -- containment and odd files --------------------------------------------------


def test_symlinks_are_never_followed(
    fs: FilesystemBackend, bdir: Path, tmp_path: Path
) -> None:
    """Links out of the bucket (to files or dirs) are not listed, read or written."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    (bdir / "file-link").symlink_to(outside / "secret")
    (bdir / "dir-link").symlink_to(outside)
    assert keys(fs) == []
    for key in ("file-link", "dir-link/secret"):
        with pytest.raises(errors.NoSuchKey):
            fs.head_object(BUCKET, key)
    put(fs, BUCKET, "dir-link/new", b"inside")
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (bdir / "dir-link" / "new").read_bytes() == b"inside"
    assert (bdir / "dir-link").is_dir() and not (bdir / "dir-link").is_symlink()
    assert (outside / "secret").read_bytes() == b"secret"


def test_special_files_are_skipped(fs: FilesystemBackend, bdir: Path) -> None:
    """FIFOs, sockets and broken symlinks are not objects and never block."""
    os.mkfifo(bdir / "fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock_path = bdir / "sock"
    with contextlib.suppress(OSError):  # a path too long for AF_UNIX: no socket
        sock.bind(str(sock_path))
    (bdir / "broken").symlink_to(bdir / "nowhere")
    put(fs, BUCKET, "real")
    assert keys(fs) == ["real"]
    for key in ("fifo", "sock", "broken"):
        with pytest.raises(errors.NoSuchKey):
            fs.open_object(BUCKET, key)
    sock.close()


def test_no_temporary_files_are_left(fs: FilesystemBackend, root: Path) -> None:
    """Aborted, failed, dropped and committed writes leave nothing in tmp/."""
    put(fs, BUCKET, "k")
    writer = fs.open_writer(BUCKET, "k")
    writer.write(b"x")
    writer.abort()
    with pytest.raises(errors.PreconditionFailed):
        put(fs, BUCKET, "k", condition=WriteCondition(if_none_match=True))
    dropped = fs.open_writer(BUCKET, "dropped")
    dropped.write(b"x")
    del dropped
    gc.collect()
    assert os.listdir(root / ".s3server" / "tmp") == []
    assert keys(fs) == ["k"]


def test_deletes_prune_empty_directories(fs: FilesystemBackend, bdir: Path) -> None:
    """Deleting the last object in a directory removes the emptied directories."""
    put(fs, BUCKET, "a/b/c/d")
    put(fs, BUCKET, "a/x")
    fs.delete_object(BUCKET, "a/b/c/d")
    assert sorted(os.listdir(bdir / "a")) == ["x"]
    fs.delete_object(BUCKET, "a/x")
    assert os.listdir(bdir) == []


def test_interrupted_move_is_still_readable_and_completed(
    fs: FilesystemBackend, bdir: Path
) -> None:
    """A crash between the two renames of a move loses nothing."""
    put(fs, BUCKET, "a", b"object a")
    middle = bdir / move_name("a")
    middle.mkdir()
    (bdir / "a").rename(middle / ".s3~!self")  # as a crash would leave it
    assert read_all(fs, BUCKET, "a") == b"object a"
    put(fs, BUCKET, "a/b")
    assert files_under(bdir) == ["a/.s3~!self", "a/b"]
    assert read_all(fs, BUCKET, "a") == b"object a"


# -- buckets --------------------------------------------------------------------


def test_reserved_directory_is_not_a_bucket(fs: FilesystemBackend) -> None:
    """.s3server is never listed, found or creatable as a bucket."""
    assert [b.name for b in fs.list_buckets()] == [BUCKET]
    with pytest.raises(errors.NoSuchBucket):
        fs.get_bucket(".s3server")
    for bad in (".s3server", "..", "a/b", ""):
        with pytest.raises(errors.InvalidBucketName):
            fs.create_bucket(bad, owner_id="o", created=START)
        with pytest.raises(errors.NoSuchBucket):
            fs.delete_bucket(bad)
        with pytest.raises(errors.NoSuchBucket):
            fs.delete_object(bad, "k")
        with pytest.raises(errors.NoSuchBucket):
            fs.open_writer(bad, "k")


def test_hand_made_bucket_directory_is_adopted(root: Path) -> None:
    """A directory made by hand is a bucket of the default owner, with its files."""
    (root / "manual" / "sub").mkdir(parents=True)
    (root / "manual" / "sub" / "f.txt").write_bytes(b"hi")
    (root / "not-a-bucket").write_bytes(b"file")
    fs = FilesystemBackend(
        root, fsync=False, clock=TickingClock(), default_owner_id="d"
    )
    assert fs.list_buckets()[0].name == "manual"
    info = fs.get_bucket("manual")
    assert (info.owner_id, info.created) == ("d", START)
    assert fs.get_bucket("manual") == info
    assert [e.key for e in objects(fs, "manual")] == ["sub/f.txt"]


def test_bucket_record_changed_on_disk_is_read_again(
    fs: FilesystemBackend, root: Path
) -> None:
    """A record another process replaced, or a hand edit of the same size, is seen
    at the next get_bucket (the parsed record is reused only while its stat holds)."""
    assert fs.get_bucket(BUCKET).owner_id == "owner"
    other = FilesystemBackend(root, fsync=False, clock=TickingClock())
    other.delete_bucket(BUCKET)
    other.create_bucket(BUCKET, owner_id="other", created=START)
    assert fs.get_bucket(BUCKET).owner_id == "other"
    record = root / ".s3server" / "buckets" / f"{BUCKET}.json"
    # In place, same length: only the timestamps tell. Wait out their granularity
    # (the kernel's clock tick), which no hand edit beats.
    time.sleep(0.05)
    with open(record, "r+b") as f:
        text = f.read()
        f.seek(0)
        f.write(text.replace(b'"other"', b'"third"'))
    assert fs.get_bucket(BUCKET).owner_id == "third"
    record.unlink()  # no record: the directory is adopted afresh
    assert fs.get_bucket(BUCKET).owner_id == ""  # the default owner


def test_delete_bucket_cleans_up(fs: FilesystemBackend, root: Path, bdir: Path) -> None:
    """Deleting a bucket removes its directory, record and metadata."""
    put(fs, BUCKET, "a/b/c")
    fs.delete_object(BUCKET, "a/b/c")
    (bdir / "empty" / "dirs").mkdir(parents=True)
    fs.delete_bucket(BUCKET)
    assert os.listdir(root) == [".s3server"]
    reserved = root / ".s3server"
    assert not (reserved / "buckets" / f"{BUCKET}.json").exists()
    assert not (reserved / "meta" / BUCKET).exists()


def test_bucket_with_only_special_files_is_not_empty(
    fs: FilesystemBackend, bdir: Path
) -> None:
    """A bucket holding anything but directories is not deleted."""
    (bdir / "d").mkdir()
    os.mkfifo(bdir / "d" / "fifo")
    with pytest.raises(errors.BucketNotEmpty):
        fs.delete_bucket(BUCKET)
    assert (bdir / "d" / "fifo").exists()


def test_fsync_mode_works(root: Path) -> None:
    """With fsync on (the default), the full cycle works the same."""
    fs = FilesystemBackend(root)
    fs.create_bucket("durable", owner_id="o", created=START)
    put(fs, "durable", "a", b"1")
    put(fs, "durable", "a/b", b"2")
    assert read_all(fs, "durable", "a") == b"1"
    fs.delete_object("durable", "a")
    fs.delete_object("durable", "a/b")
    fs.delete_bucket("durable")
    assert fs.list_buckets() == []


def test_full_disk_is_a_clean_s3_error(fs: FilesystemBackend) -> None:
    """A full disk (ENOSPC) surfaces as XMinioStorageFull, never as OSError."""
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    writer = fs.open_writer(BUCKET, "k")
    full = os.open("/dev/full", os.O_WRONLY)
    # Swap the staging descriptor for /dev/full, which fails every write: ENOSPC.
    writer._handle.fd, real = full, writer._handle.fd
    with pytest.raises(errors.XMinioStorageFull, match="full"):
        writer.write(b"x" * 10)
    writer._handle.fd = real
    os.close(full)
    writer.abort()


# -- several processes ----------------------------------------------------------


def _race(root: str, key: str, barrier: object) -> bool:
    fs = FilesystemBackend(root, fsync=False)
    writer = fs.open_writer(BUCKET, key)
    writer.write(str(os.getpid()).encode())
    barrier.wait()  # type: ignore[attr-defined]
    try:
        writer.commit(
            ObjectMeta(), etag="e", condition=WriteCondition(if_none_match=True)
        )
    except errors.PreconditionFailed:
        return False
    return True


def test_processes_racing_if_none_match_have_one_winner(
    fs: FilesystemBackend, root: Path
) -> None:
    """Across processes, exactly one If-None-Match commit on a key wins."""
    ctx = multiprocessing.get_context("spawn")
    n = 3
    with ctx.Manager() as manager:
        barrier = manager.Barrier(n)
        with ctx.Pool(n) as pool:
            results = pool.starmap(_race, [(str(root), "a/b", barrier)] * n)
    assert sorted(results) == [False, False, True]
    assert len(read_all(fs, BUCKET, "a/b")) > 0
