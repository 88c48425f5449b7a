"""Where the filesystem backend keeps an object's record, and that both places agree.

A commit keeps the record (ETag, content type, user metadata) in an extended attribute
of the data file, published by the same rename as the bytes; where the filesystem
refuses the attribute (here: a record over Linux's 64 KiB attribute limit, refused on
every filesystem) or the backend is told not to use attributes, in a sidecar file.
Readers take either, so data written one way reads the other way, and a record that
no longer describes its file (moved or copied by hand with its attributes) is never
trusted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3core.backends.filesystem import FilesystemBackend, xattr
from s3core.backends.filesystem.layout import Paths
from s3core.backends.filesystem.meta import load_sidecar
from s3core.backends.filesystem.xattr import decode
from s3core.models import ObjectMeta
from tests.backends.conftest import START, TickingClock, put, read_all

BUCKET = "bucket"
# Over XATTR_SIZE_MAX (64 KiB): setxattr answers E2BIG on any Linux filesystem.
_UNFIT = "x" * 70_000

pytestmark = pytest.mark.skipif(not xattr.SUPPORTED, reason="no os.setxattr here")


def _backend(root: Path, *, xattrs: bool) -> FilesystemBackend:
    return FilesystemBackend(root, fsync=False, clock=TickingClock(), xattrs=xattrs)


def _attribute(path: Path) -> bytes | None:
    try:
        return os.getxattr(path, xattr.NAME)
    except OSError:
        return None


def _sidecar(root: Path, key: str) -> Path:
    return Path(Paths(os.path.realpath(root)).sidecar(BUCKET, key))


def _md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    _backend(root, xattrs=True).create_bucket(BUCKET, owner_id="o", created=START)
    return root


def test_a_commit_keeps_its_record_in_the_data_file_only(root: Path) -> None:
    """With attributes, a PUT writes one file: the record is its attribute, and no
    sidecar exists; without, the file has no attribute and the sidecar holds it."""
    meta = ObjectMeta(content_type="text/x-one", user_metadata=(("a", "1"),))
    put(_backend(root, xattrs=True), BUCKET, "k1", b"one", etag="e1", meta=meta)
    put(_backend(root, xattrs=False), BUCKET, "k2", b"two", etag="e2", meta=meta)

    (record,) = decode(_attribute(root / BUCKET / "k1") or b"", "k1")
    assert (record.etag, record.meta) == ("e1", meta)
    assert record.identity.ino == (root / BUCKET / "k1").stat().st_ino
    assert not _sidecar(root, "k1").exists()

    assert _attribute(root / BUCKET / "k2") is None
    (record,) = load_sidecar(_sidecar(root, "k2").read_bytes(), "k2")
    assert (record.etag, record.meta) == ("e2", meta)


def test_a_record_the_filesystem_refuses_goes_to_the_sidecar(root: Path) -> None:
    """A record too large for an attribute is kept in the sidecar, and overwrites in
    either direction read back exactly, in this backend and another."""
    fs = _backend(root, xattrs=True)
    big = ObjectMeta(content_disposition=_UNFIT)
    put(fs, BUCKET, "k", b"big", etag="e-big", meta=big)
    assert _attribute(root / BUCKET / "k") is None
    assert _sidecar(root, "k").exists()
    assert fs.head_object(BUCKET, "k").meta == big

    small = ObjectMeta(content_type="text/x-small")
    put(fs, BUCKET, "k", b"small", etag="e-small", meta=small)
    assert _attribute(root / BUCKET / "k") is not None
    for reader in (fs, _backend(root, xattrs=False)):
        info = reader.head_object(BUCKET, "k")
        assert (info.etag, info.meta, info.size) == ("e-small", small, 5)

    put(fs, BUCKET, "k", b"big again", etag="e-big2", meta=big)
    info = _backend(root, xattrs=True).head_object(BUCKET, "k")
    assert (info.etag, info.meta, info.size) == ("e-big2", big, 9)

    fs.delete_object(BUCKET, "k")
    assert not _sidecar(root, "k").exists()


def test_a_file_moved_or_copied_by_hand_leaves_its_record_behind(root: Path) -> None:
    """The attribute travels with ``mv`` and ``cp --preserve=xattr``, but it names
    another key or another inode: the file is described afresh (MD5, guessed type)."""
    fs = _backend(root, xattrs=True)
    bdir = root / BUCKET
    meta = ObjectMeta(content_type="x/kept")
    for key in ("a.txt", "b.txt"):
        put(fs, BUCKET, key, b"body", etag="not-an-md5", meta=meta)
    shutil.copy2(bdir / "a.txt", bdir / "copied.txt")  # copies the attribute too
    assert _attribute(bdir / "copied.txt") == _attribute(bdir / "a.txt")
    os.rename(bdir / "b.txt", bdir / "moved.txt")  # same inode, size and mtime
    # Put back over its own key: the same name, size, mtime and attribute, but
    # another inode (the original is still there while the copy is made).
    shutil.copy2(bdir / "a.txt", root / "restored")
    os.replace(root / "restored", bdir / "a.txt")

    for key in ("copied.txt", "moved.txt", "a.txt"):
        info = fs.head_object(BUCKET, key)
        assert (info.etag, info.meta.content_type) == (_md5(b"body"), "text/plain")


@st.composite
def _steps(draw: st.DrawFn) -> list[tuple[bool, str, bytes | None, ObjectMeta, bool]]:
    """(write with attributes?, key, body or None for a delete, metadata, MD5 ETag?).

    Plain records (an MD5 ETag, a content type, a checksum) are packed in the
    attribute; others (user metadata, a disposition) are JSON, in it or beside it.
    """
    count = draw(st.integers(min_value=1, max_value=8))
    steps = []
    for _ in range(count):
        with_attributes = draw(st.booleans())
        key = draw(st.sampled_from(["k", "d/k", "d/k/x"]))
        body = draw(st.none() | st.binary(max_size=16))
        meta = ObjectMeta(
            content_type=draw(st.sampled_from(["x/a", "binary/octet-stream"])),
            content_disposition=draw(st.sampled_from([None, "inline", _UNFIT])),
            user_metadata=draw(
                st.lists(st.tuples(st.sampled_from("mn"), st.text(max_size=3)))
                .map(dict)
                .map(lambda d: tuple(sorted(d.items())))
            ),
            checksums=draw(st.sampled_from([(), (("CRC32", "PhB3wQ=="),)])),
        )
        steps.append((with_attributes, key, body, meta, draw(st.booleans())))
    return steps


@settings(max_examples=60, deadline=None)
@given(steps=_steps())
def test_records_read_the_same_whichever_way_they_were_written(
    steps: list[tuple[bool, str, bytes | None, ObjectMeta, bool]],
) -> None:
    """Any sequence of writes and deletes, each by a backend with or without
    attributes (records that fit or not), reads back the same from both kinds."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        both = (_backend(root, xattrs=True), _backend(root, xattrs=False))
        both[0].create_bucket(BUCKET, owner_id="o", created=START)
        model: dict[str, tuple[bytes, str, ObjectMeta]] = {}
        for n, (with_attributes, key, body, meta, md5_etag) in enumerate(steps):
            writer = both[0] if with_attributes else both[1]
            if body is None:
                writer.delete_object(BUCKET, key)
                model.pop(key, None)
            else:
                etag = _md5(b"%d" % n) if md5_etag else f"etag{n}"
                put(writer, BUCKET, key, body, etag=etag, meta=meta)
                model[key] = (body, etag, meta)
            for reader in both:
                listed = {e.key: e.etag for e in reader.iter_entries(BUCKET)}
                assert listed == {k: etag for k, (_, etag, _) in model.items()}
                for k, (expected, etag, expected_meta) in model.items():
                    info = reader.head_object(BUCKET, k)
                    assert (info.etag, info.meta) == (etag, expected_meta)
                    assert read_all(reader, BUCKET, k) == expected
