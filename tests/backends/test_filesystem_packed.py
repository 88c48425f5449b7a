"""The packed record: a plain object's record in 64 bytes, kept inside the inode.

``packed.pack`` either gives bytes that ``unpack`` turns back into the very same
record, for the same key only, or declines (the record then stays JSON); nothing a
damaged attribute holds makes ``unpack`` raise. Through the backend, a plain PUT's
record is packed, and on a filesystem that keeps small attributes in the inode the
object takes no more disk than its bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3core.backends.filesystem import FilesystemBackend, packed, xattr
from s3core.backends.filesystem.meta import Identity, Version
from s3core.models import ObjectMeta
from tests.backends.conftest import START, TickingClock, put

BUCKET = "bucket"
_CRC32 = ("CRC32", "PhB3wQ==")

_DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
_checksums = st.lists(
    st.sampled_from(sorted(_DIGEST_SIZES)).flatmap(
        lambda name: st.binary(
            min_size=_DIGEST_SIZES[name], max_size=_DIGEST_SIZES[name]
        ).map(lambda raw: (name, base64.b64encode(raw).decode()))
    ),
    max_size=2,
).map(tuple)
_versions = st.builds(
    Version,
    identity=st.builds(
        Identity,
        ino=st.integers(min_value=0, max_value=2**64 - 1),
        size=st.integers(min_value=0, max_value=5 * 2**40),
        mtime_ns=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    ),
    etag=st.one_of(
        st.binary(min_size=16, max_size=16).map(bytes.hex),
        st.text(string.hexdigits, min_size=30, max_size=34),
        st.just("d41d8cd98f00b204e9800998ecf8427e-2"),
    ),
    meta=st.builds(
        ObjectMeta,
        content_type=st.one_of(
            st.sampled_from(["binary/octet-stream", "application/octet-stream", ""]),
            st.text(max_size=20),
        ),
        content_language=st.sampled_from([None, "en"]),
        user_metadata=st.sampled_from([(), (("a", "1"),)]),
        checksums=st.one_of(_checksums, st.just((("CRC32", "not base64"),))),
    ),
    parts_count=st.sampled_from([None, 2]),
)


@given(version=_versions, key=st.text(max_size=30), other=st.text(max_size=30))
def test_a_packed_record_unpacks_to_itself_for_its_own_key_only(
    version: Version, key: str, other: str
) -> None:
    data = packed.pack(key, version)
    if data is None:
        # Declined: the attribute keeps the JSON form, which reads back the same.
        assert xattr.decode(xattr.encode(key, version), key) == (version,)
        return
    assert len(data) <= packed.LIMIT
    assert xattr.encode(key, version) == data
    assert packed.unpack(data, key) == version
    assert xattr.decode(data, key) == (version,)
    if other != key:
        assert packed.unpack(data, other) is None


def test_a_plain_put_record_is_packed() -> None:
    """What boto3 stores by default (no content type, a CRC32) fits, for an inode
    number and a size of 5 bytes each; so do a common type from the table and a
    short one spelled out. A multipart ETag, user metadata or a long type do not."""
    big = Identity(2**34, 5 * 2**30, 1_796_693_781_198_000_000)
    small = Identity(15_343_618, 4096, 1_796_693_781_198_000_000)
    md5 = hashlib.md5(b"x").hexdigest()
    key = "some/rather/long/key/name/of/an/object.bin" * 4
    fits = [
        (big, ObjectMeta(checksums=(_CRC32,))),
        (
            big,
            ObjectMeta(content_type="text/plain; charset=utf-8", checksums=(_CRC32,)),
        ),
        (small, ObjectMeta(content_type="application/yaml", checksums=(_CRC32,))),
    ]
    for identity, meta in fits:
        data = packed.pack(key, Version(identity=identity, etag=md5, meta=meta))
        assert data is not None, meta
        assert len(data) <= packed.LIMIT
    declined = [
        Version(identity=small, etag=md5 + "-2", parts_count=2),
        Version(identity=small, etag=md5, meta=ObjectMeta(user_metadata=(("a", "b"),))),
        Version(
            identity=small, etag=md5, meta=ObjectMeta(content_type="t/" + "x" * 40)
        ),
        Version(identity=small, etag="not-an-md5"),
    ]
    for version in declined:
        assert packed.pack(key, version) is None, version


@given(data=st.binary(max_size=80), key=st.text(max_size=10))
def test_damaged_attributes_unpack_to_nothing_rather_than_raise(
    data: bytes, key: str
) -> None:
    tagged = packed.TAG + hashlib.blake2b(key.encode(), digest_size=8).digest() + data
    for value in (data, tagged):
        result = xattr.decode(value, key)
        assert isinstance(result, tuple)


@pytest.mark.skipif(not xattr.SUPPORTED, reason="no os.setxattr here")
def test_a_small_object_takes_no_more_disk_than_its_bytes_with_a_packed_record(
    tmp_path: Path,
) -> None:
    """The JSON record (user metadata) needs an attribute block of its own on ext4;
    the packed one does not, so the object takes no more blocks than its bytes.
    Where both fit in the inode (XFS, tmpfs) the two are the same size."""
    root = tmp_path / "data"
    fs = FilesystemBackend(root, fsync=False, clock=TickingClock())
    fs.create_bucket(BUCKET, owner_id="o", created=START)
    body = b"x" * 4096
    md5 = hashlib.md5(body).hexdigest()
    put(fs, BUCKET, "plain", body, etag=md5, meta=ObjectMeta(checksums=(_CRC32,)))
    json_meta = ObjectMeta(user_metadata=(("a", "1"),), checksums=(_CRC32,))
    put(fs, BUCKET, "with-meta", body, etag=md5, meta=json_meta)

    plain, with_meta = root / BUCKET / "plain", root / BUCKET / "with-meta"
    value = os.getxattr(plain, xattr.NAME)
    assert value[:1] == packed.TAG and len(value) <= packed.LIMIT
    assert os.getxattr(with_meta, xattr.NAME)[:1] == b"{"
    data_blocks = -(-len(body) // 512)
    blocks = plain.stat().st_blocks
    assert blocks <= with_meta.stat().st_blocks
    small_in_inode, large_in_inode = _attributes_in_inode(tmp_path)
    if small_in_inode:  # ext4 with 256-byte inodes (its default), XFS, tmpfs, ...
        assert blocks == data_blocks
    if small_in_inode and not large_in_inode:  # ext4: the JSON record takes a block
        assert with_meta.stat().st_blocks > data_blocks
    assert fs.head_object(BUCKET, "plain").meta.checksums == (_CRC32,)


def _attributes_in_inode(directory: Path) -> tuple[bool, bool]:
    """Whether this filesystem keeps a 64-byte and a 400-byte attribute value in
    the inode (an empty file with it uses no blocks), probed with plain calls."""
    answers = []
    for size in (packed.LIMIT, 400):
        probe = directory / f"probe-{size}"
        probe.touch()
        os.setxattr(probe, xattr.NAME, b"v" * size)
        answers.append(probe.stat().st_blocks == 0)
        probe.unlink()
    return answers[0], answers[1]


@pytest.mark.skipif(not xattr.SUPPORTED, reason="no os.setxattr here")
def test_a_file_moved_by_hand_with_a_packed_record_is_described_afresh(
    tmp_path: Path,
) -> None:
    """``mv`` keeps the inode, size, mtime and attribute; the packed record names the
    old key, so under the new name the file gets its MD5 and a guessed type."""
    root = tmp_path / "data"
    fs = FilesystemBackend(root, fsync=False, clock=TickingClock())
    fs.create_bucket(BUCKET, owner_id="o", created=START)
    meta = ObjectMeta(content_type="x/kept")
    put(fs, BUCKET, "a.txt", b"body", etag=hashlib.md5(b"other").hexdigest(), meta=meta)
    assert os.getxattr(root / BUCKET / "a.txt", xattr.NAME)[:1] == packed.TAG
    os.rename(root / BUCKET / "a.txt", root / BUCKET / "b.txt")
    info = fs.head_object(BUCKET, "b.txt")
    assert (info.etag, info.meta.content_type) == (
        hashlib.md5(b"body").hexdigest(),
        "text/plain",
    )
