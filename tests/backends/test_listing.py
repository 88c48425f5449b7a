"""The Backend listing contract (order, prefix, start_after, delimiters), per
backend."""

from __future__ import annotations

import pytest

from s3core.backends.base import Backend
from s3core.models import ListEntry, ObjectInfo
from tests.backends.conftest import put

ORDER_KEYS = ["a", "a-b", "a/b", "a/b/c", "a0", "b", "~", "é", "日本", "🎉"]


def _entries(backend: Backend, bucket: str, **kwargs: str) -> list[str]:
    return [_name(e) for e in backend.iter_entries(bucket, **kwargs)]


def _name(entry: ListEntry) -> str:
    return entry.key if isinstance(entry, ObjectInfo) else f"<{entry.prefix}>"


def _objects(backend: Backend, bucket: str) -> list[ObjectInfo]:
    return [e for e in backend.iter_entries(bucket) if isinstance(e, ObjectInfo)]


@pytest.fixture
def ordered(backend: Backend, bucket: str) -> str:
    for key in reversed(ORDER_KEYS):
        put(backend, bucket, key)
    return bucket


def test_listing_is_in_utf8_byte_order(backend: Backend, ordered: str) -> None:
    """Keys come in UTF-8 byte order: 'a' < 'a-b' < 'a/b' < 'a0' < 'é' < '🎉'."""
    assert sorted(ORDER_KEYS, key=str.encode) == ORDER_KEYS
    assert _entries(backend, ordered) == ORDER_KEYS
    infos = _objects(backend, ordered)
    assert infos[0] == backend.head_object(ordered, "a")


def test_listing_with_prefix(backend: Backend, ordered: str) -> None:
    """Only keys starting with the prefix are listed."""
    assert _entries(backend, ordered, prefix="a") == ["a", "a-b", "a/b", "a/b/c", "a0"]
    assert _entries(backend, ordered, prefix="a/") == ["a/b", "a/b/c"]
    assert _entries(backend, ordered, prefix="a/b") == ["a/b", "a/b/c"]
    assert _entries(backend, ordered, prefix="a/b/") == ["a/b/c"]
    assert _entries(backend, ordered, prefix="zz") == []
    assert _entries(backend, ordered, prefix="x/y/") == []


def test_listing_with_start_after(backend: Backend, ordered: str) -> None:
    """Only keys after start_after are listed, whether or not it is a key."""
    assert _entries(backend, ordered, start_after="a/b") == ORDER_KEYS[3:]
    assert _entries(backend, ordered, start_after="a.") == ORDER_KEYS[2:]
    assert _entries(backend, ordered, start_after="a", prefix="a/") == [
        "a/b",
        "a/b/c",
    ]
    assert _entries(backend, ordered, start_after="🎉") == []


def test_listing_with_slash_delimiter(backend: Backend, ordered: str) -> None:
    """With '/', keys below a level collapse into one CommonPrefix, in order."""
    assert _entries(backend, ordered, delimiter="/") == [
        "a",
        "a-b",
        "<a/>",
        "a0",
        "b",
        "~",
        "é",
        "日本",
        "🎉",
    ]
    assert _entries(backend, ordered, prefix="a/", delimiter="/") == ["a/b", "<a/b/>"]
    assert _entries(backend, ordered, start_after="a/b", delimiter="/") == [
        "<a/>",
        *ORDER_KEYS[4:],
    ]


def test_listing_with_other_delimiters(backend: Backend, bucket: str) -> None:
    """Delimiters other than '/', and of several characters, collapse the same."""
    for key in ["x-1", "x-2/y", "x/-z", "x//w", "x//v", "y", "xa-b"]:
        put(backend, bucket, key)
    assert _entries(backend, bucket, delimiter="-") == [
        "<x->",
        "<x/->",
        "x//v",
        "x//w",
        "<xa->",
        "y",
    ]
    assert _entries(backend, bucket, delimiter="//") == [
        "x-1",
        "x-2/y",
        "x/-z",
        "<x//>",
        "xa-b",
        "y",
    ]
    assert _entries(backend, bucket, prefix="x", delimiter="/-") == [
        "x-1",
        "x-2/y",
        "<x/->",
        "x//v",
        "x//w",
        "xa-b",
    ]


def test_empty_directories_are_not_common_prefixes(
    backend: Backend, bucket: str
) -> None:
    """A prefix whose only object was deleted is no longer listed."""
    put(backend, bucket, "gone/deep/k")
    put(backend, bucket, "kept/k")
    backend.delete_object(bucket, "gone/deep/k")
    assert _entries(backend, bucket, delimiter="/") == ["<kept/>"]


def test_prefix_held_only_by_a_former_parent_key(backend: Backend, bucket: str) -> None:
    """'p/' is a common prefix while 'p/b' exists, even once 'p/b/c' is gone
    (on disk, p/b is then a directory holding only its own object)."""
    put(backend, bucket, "p/b")
    put(backend, bucket, "p/b/c")
    backend.delete_object(bucket, "p/b/c")
    assert _entries(backend, bucket, delimiter="/") == ["<p/>"]
    assert _entries(backend, bucket, delimiter="/", start_after="p/a") == ["<p/>"]
    assert _entries(backend, bucket, delimiter="/", start_after="p/b") == []
    assert _entries(backend, bucket, delimiter="b") == ["<p/b>"]


def test_listing_is_lazy_and_resumable(backend: Backend, bucket: str) -> None:
    """Pages taken with start_after join up to the full listing."""
    keys = sorted(f"{d}/{n:02}" for d in "pqr" for n in range(7))
    for key in keys:
        put(backend, bucket, key)
    seen: list[str] = []
    after = ""
    while True:
        page = []
        for entry in backend.iter_entries(bucket, start_after=after):
            page.append(_name(entry))
            if len(page) == 4:
                break
        if not page:
            break
        seen += page
        after = page[-1]
    assert seen == keys
