"""The filesystem backend's multipart state on disk, and its file-to-file copies."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from s3core import errors
from s3core.backends.filesystem import FilesystemBackend
from s3core.backends.filesystem.copying import append_range, clone_or_copy
from s3core.backends.filesystem.meta import (
    Identity,
    Version,
    dump_sidecar,
    load_sidecar,
)
from s3core.models import ObjectMeta
from tests.backends.conftest import START, TickingClock, read_all
from tests.backends.test_uploads import complete, start, upload_part

BUCKET = "bucket"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data"


def backend_at(root: Path) -> FilesystemBackend:
    """A backend over ``root`` (a new one is what a restarted server makes)."""
    return FilesystemBackend(root, fsync=False, clock=TickingClock())


@pytest.fixture
def fs(root: Path) -> FilesystemBackend:
    backend = backend_at(root)
    backend.create_bucket(BUCKET, owner_id="owner", created=START)
    return backend


def files_under(path: Path) -> list[str]:
    """Every non-directory under ``path``, as sorted relative POSIX paths."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir())


def test_uploads_survive_a_restart(fs: FilesystemBackend, root: Path) -> None:
    """An upload and its parts are found by a new backend over the same directory."""
    upload = start(fs, BUCKET)
    parts = [upload_part(fs, BUCKET, upload, n, b"part %d " % n) for n in (1, 2)]
    again = backend_at(root)
    assert again.get_upload(BUCKET, upload.key, upload.upload_id) == upload
    assert again.list_parts(BUCKET, upload.key, upload.upload_id) == parts
    assert again.list_uploads(BUCKET) == [upload]
    complete(again, BUCKET, upload, parts)
    third = backend_at(root)
    assert third.head_object(BUCKET, upload.key).part_sizes == (7, 7)
    assert read_all(third, BUCKET, upload.key) == b"part 1 part 2 "


def test_upload_state_lives_in_the_reserved_area(
    fs: FilesystemBackend, root: Path
) -> None:
    """Parts are files under .s3server/uploads/<bucket>/<id>/, gone once completed."""
    upload = start(fs, BUCKET)
    parts = [upload_part(fs, BUCKET, upload, n, b"x" * n) for n in (1, 2)]
    area = root / ".s3server" / "uploads" / BUCKET / upload.upload_id
    names = files_under(area)
    assert [n for n in names if n.endswith(".json")] == [
        "00001.json",
        "00002.json",
        "upload.json",
    ]
    data_files = [n for n in names if n.endswith(".part")]
    assert [n.split("-")[0] for n in data_files] == ["00001", "00002"]
    assert files_under(root / BUCKET) == []
    complete(fs, BUCKET, upload, parts)
    assert not area.exists()
    assert files_under(root / BUCKET) == ["big/file"]
    assert files_under(root / ".s3server" / "tmp") == []


def test_abort_leaves_no_file(fs: FilesystemBackend, root: Path) -> None:
    """Aborting removes every file of the upload, staged ones included."""
    upload = start(fs, BUCKET)
    upload_part(fs, BUCKET, upload, 1, b"data")
    fs.abort_upload(BUCKET, upload.key, upload.upload_id)
    assert files_under(root / ".s3server" / "uploads") == []
    assert files_under(root / ".s3server" / "tmp") == []
    fs.delete_bucket(BUCKET)


def test_single_part_is_published_without_a_copy(
    fs: FilesystemBackend, root: Path
) -> None:
    """Completing one part renames its file into place: same inode, no copy."""
    upload = start(fs, BUCKET)
    part = upload_part(fs, BUCKET, upload, 1, b"only part")
    area = root / ".s3server" / "uploads" / BUCKET / upload.upload_id
    (data_file,) = [p for p in area.iterdir() if p.name.endswith(".part")]
    inode = data_file.stat().st_ino
    complete(fs, BUCKET, upload, [part])
    assert (root / BUCKET / "big" / "file").stat().st_ino == inode


def test_damaged_upload_record_is_no_upload(fs: FilesystemBackend, root: Path) -> None:
    """An unreadable upload.json makes the upload unknown, never a server error."""
    upload = start(fs, BUCKET)
    record = root / ".s3server" / "uploads" / BUCKET / upload.upload_id / "upload.json"
    record.write_bytes(b"{not json")
    with pytest.raises(errors.NoSuchUpload):
        fs.get_upload(BUCKET, upload.key, upload.upload_id)
    assert fs.list_uploads(BUCKET) == []


def test_crash_leftovers_are_removed_at_start(
    fs: FilesystemBackend, root: Path
) -> None:
    """A half-removed upload (*.trash) and an old half-made one (*.tmpdir) go."""
    tmp = root / ".s3server" / "tmp"
    (tmp / "a.trash").mkdir()
    (tmp / "a.trash" / "00001-x.part").write_bytes(b"data")
    (tmp / "b.tmpdir").mkdir()
    (tmp / "fresh.tmpdir").mkdir()
    old = time.time() - 3 * 24 * 3600
    os.utime(tmp / "b.tmpdir", (old, old))
    backend_at(root)
    assert sorted(p.name for p in tmp.iterdir()) == ["fresh.tmpdir"]


def test_part_boundaries_are_stored_compactly() -> None:
    """10000 equal parts and a short last one take two runs in the sidecar."""
    sizes = (5 << 20,) * 9999 + (7,)
    version = Version(
        identity=Identity(1, sum(sizes), 2),
        etag="e-10000",
        meta=ObjectMeta(),
        parts_count=10000,
        part_sizes=sizes,
    )
    data = dump_sidecar("k", (version,))
    assert len(data) < 1000
    assert load_sidecar(data, "k") == (version,)


def test_damaged_part_boundaries_drop_the_record() -> None:
    """Boundaries that do not add up to the size make the record unusable."""
    version = Version(
        identity=Identity(1, 10, 2), etag="e-2", parts_count=2, part_sizes=(4, 6)
    )
    data = dump_sidecar("k", (version,)).replace(b"[[4,1],[6,1]]", b"[[4,1],[7,1]]")
    assert load_sidecar(data, "k") == ()
    huge = dump_sidecar("k", (version,)).replace(b"[[4,1],[6,1]]", b"[[0,99999999]]")
    assert load_sidecar(huge, "k") == ()


# -- copying -----------------------------------------------------------------------


def _fd(path: Path, flags: int) -> int:
    return os.open(path, flags | os.O_CREAT, 0o600)


def test_append_range_copies_ranges_in_sequence(tmp_path: Path) -> None:
    """Ranges of a file are appended one after the other, exactly."""
    src_path, dst_path = tmp_path / "src", tmp_path / "dst"
    src_path.write_bytes(bytes(range(256)) * 64)
    src = _fd(src_path, os.O_RDONLY)
    dst = _fd(dst_path, os.O_WRONLY)
    try:
        append_range(src, dst, 10, 100)
        append_range(src, dst, 0, 0)
        append_range(src, dst, 16000, 384)
    finally:
        os.close(src)
        os.close(dst)
    data = src_path.read_bytes()
    assert dst_path.read_bytes() == data[10:110] + data[16000:16384]


def test_copies_refuse_a_short_source(tmp_path: Path) -> None:
    """Asking for more bytes than the source has raises InternalError."""
    src_path, dst_path = tmp_path / "src", tmp_path / "dst"
    src_path.write_bytes(b"short")
    src = _fd(src_path, os.O_RDONLY)
    dst = _fd(dst_path, os.O_WRONLY)
    try:
        with pytest.raises(errors.InternalError):
            append_range(src, dst, 2, 10)
        with pytest.raises(errors.InternalError):
            clone_or_copy(src, dst, 6)
    finally:
        os.close(src)
        os.close(dst)


def test_clone_or_copy_fills_an_empty_file(tmp_path: Path) -> None:
    """A whole-file copy (a reflink where the filesystem has them) is exact."""
    src_path, dst_path = tmp_path / "src", tmp_path / "dst"
    src_path.write_bytes(os.urandom(300_000))
    src = _fd(src_path, os.O_RDONLY)
    dst = _fd(dst_path, os.O_WRONLY)
    try:
        clone_or_copy(src, dst, 300_000)
        os.write(dst, b"tail")  # the file offset is at the end afterwards
    finally:
        os.close(src)
        os.close(dst)
    assert dst_path.read_bytes() == src_path.read_bytes() + b"tail"
