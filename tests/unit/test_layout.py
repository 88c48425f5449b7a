"""Tests for the filesystem layout's key <-> path mapping (pure, no disk)."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3core.backends.filesystem import layout
from tests.strategies.keys import any_keys, tricky_keys, tricky_segments

keys = any_keys | tricky_keys


def _resolver(key: str) -> dict[str, str]:
    """The hashed-name records a commit of ``key`` would write."""
    return {layout.digest(segment): segment for segment in key.split("/")}


@given(keys)
def test_every_key_maps_to_a_path_and_back(key: str) -> None:
    """key -> names -> key is the identity, hashed segments resolved by record."""
    names = layout.key_to_names(key)
    assert layout.names_to_key(names, _resolver(key).get) == key


@given(keys)
def test_no_mapped_path_can_leave_the_bucket_directory(key: str) -> None:
    """Every component is a single, non-empty name other than '.' and '..'."""
    names = layout.key_to_names(key)
    for name in names:
        assert name not in ("", ".", "..")
        assert "/" not in name
        assert "\0" not in name
        assert len(name.encode("utf-8")) <= layout.MAX_NAME_BYTES
    path = posixpath.join("bucket", *names)
    assert posixpath.normpath(path) == path
    assert path.startswith("bucket/")


@given(keys)
def test_reserved_names_are_never_produced_except_hashed(key: str) -> None:
    """A mapped component starts with '.s3~!' only when it is a hashed name."""
    for name in layout.key_to_names(key):
        if name.startswith(layout.RESERVED_PREFIX):
            assert layout.hashed_digest(name) is not None
        assert name != layout.SELF_NAME


@given(keys, keys)
def test_different_keys_never_share_a_path(a: str, b: str) -> None:
    """The mapping is injective: distinct keys get distinct component lists."""
    if a != b:
        assert layout.key_to_names(a) != layout.key_to_names(b)


@given(tricky_segments, tricky_segments)
def test_different_segments_never_share_a_name(a: str, b: str) -> None:
    """Segment encoding is injective, including escapes and hashed names."""
    if a != b:
        assert layout.encode_segment(a) != layout.encode_segment(b)


@given(tricky_segments)
def test_decoding_accepts_exactly_the_canonical_name(segment: str) -> None:
    """decode_name inverts encode_segment (for names that are not hashed)."""
    name = layout.encode_segment(segment)
    if layout.hashed_digest(name) is None:
        assert layout.decode_name(name) == segment


@given(st.text(max_size=12))
def test_a_name_decodes_only_if_it_is_canonical(name: str) -> None:
    """A hand-made name decodes to a segment only if that segment encodes back to it."""
    segment = layout.decode_name(name)
    if segment is not None:
        assert layout.encode_segment(segment) == name


@pytest.mark.parametrize(
    ("segment", "name"),
    [
        ("photos", "photos"),
        (".hidden", ".hidden"),
        ("", ".s3~"),
        (".", ".s3~%2E"),
        ("..", ".s3~%2E%2E"),
        ("a\x01b", ".s3~a%01b"),
        (".s3~!self", ".s3~%2Es3%7E%21self"),
        ("é" * 127, "é" * 127),
    ],
    ids=["plain", "dotfile", "empty", "dot", "dotdot", "control", "reserved", "254B"],
)
def test_examples_of_the_segment_encoding(segment: str, name: str) -> None:
    """Plain segments are kept; the others get the documented escape."""
    assert layout.encode_segment(segment) == name


def test_long_segments_are_hashed() -> None:
    """A segment whose escape passes 255 bytes becomes .s3~!h + its SHA-256."""
    segment = "x" * 256
    assert layout.encode_segment(segment) == ".s3~!h" + layout.digest(segment)
    assert layout.encode_segment("x" * 255) == "x" * 255


@pytest.mark.parametrize(
    "name",
    [".s3~abc", ".s3~%2e", ".s3~%zz", ".s3~!self", ".s3~%", "a\nb", ".s3~%FF"],
)
def test_non_canonical_names_decode_to_nothing(name: str) -> None:
    """Names no key maps to (hand-made or reserved) stand for no segment."""
    assert layout.decode_name(name) is None


_roots = st.sampled_from(["/data", "/data/", "/", "relative/dir", "/a b/c"])
_buckets = st.from_regex(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", fullmatch=True)


@given(
    root=_roots,
    bucket=_buckets,
    key=any_keys,
    upload_id=st.text("0123456789abcdef", min_size=2, max_size=32),
)
def test_paths_are_the_joins_they_stand_for(
    root: str, bucket: str, key: str, upload_id: str
) -> None:
    """``Paths`` joins its directories once and appends to them; every path it
    gives is the ``os.path.join`` of its parts."""
    join = posixpath.join
    paths = layout.Paths(root)
    reserved = join(root, layout.RESERVED_DIR)
    h = layout.digest(key)
    assert paths.reserved == reserved
    assert paths.tmp == join(reserved, "tmp")
    assert paths.locks == join(reserved, "locks")
    assert paths.bucket(bucket) == join(root, bucket)
    assert paths.record(bucket) == join(reserved, "buckets", bucket + ".json")
    assert paths.meta(bucket) == join(reserved, "meta", bucket)
    assert paths.sidecar(bucket, key) == join(
        reserved, "meta", bucket, h[:2], h + ".json"
    )
    assert paths.name_record(bucket, h) == join(reserved, "meta", bucket, "names", h)
    assert paths.uploads(bucket) == join(reserved, "uploads", bucket)
    assert paths.upload(bucket, upload_id) == join(
        reserved, "uploads", bucket, upload_id
    )
    assert paths.upload_lock(bucket, upload_id) == join(
        reserved, "locks", f"{bucket}~u{upload_id[-2:]}.lock"
    )
    assert paths.bucket_lock(bucket) == join(reserved, "locks", bucket + ".lock")
    assert paths.key_lock(bucket, key) == join(
        reserved, "locks", f"{bucket}~{h[:2]}.lock"
    )
