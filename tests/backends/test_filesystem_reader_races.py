"""A filesystem reader describes the file it opened, however often writers replace it.

A reader opens the data file, then reads that file's record. From a sidecar: each
writer keeps the previous record beside its own, so one overwrite in between is
harmless; two lose the opened file's record. These tests put real commits, from
another thread, exactly in that window: the reader must retry, and in the end read
the pair under the key's lock rather than hash the file and lose its metadata. From
the data file's own attribute, the same commits in the same window must not matter
at all: the record is read from the descriptor the reader holds.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from s3core.backends.filesystem import FilesystemBackend, xattr
from s3core.models import ObjectMeta
from tests.backends.conftest import START, TickingClock, put

BUCKET = "bucket"
# How long the interference waits for its two commits; under the key's lock they
# cannot happen, and the reader must go on without them.
_COMMIT_WAIT_SECONDS = 0.5


class _OverwriteBeforeRecordRead:
    """Wraps a record read (``Store.versions(bucket, key)`` or
    ``xattr.read(fd, key, st)``): before the reader's read, two writers commit."""

    def __init__(
        self, fs: FilesystemBackend, key: str, inner: Callable[..., object]
    ) -> None:
        self._fs = fs
        self._key = key
        self._inner = inner
        self._reader = threading.get_ident()
        self.commits = 0
        self.calls = 0
        self.writers: list[threading.Thread] = []

    def __call__(self, first: object, key: str, *rest: object) -> object:
        if threading.get_ident() == self._reader and key == self._key:
            self.calls += 1
            writer = threading.Thread(target=self._overwrite_twice, daemon=True)
            self.writers.append(writer)
            writer.start()
            writer.join(_COMMIT_WAIT_SECONDS)
        return self._inner(first, key, *rest)

    def _overwrite_twice(self) -> None:
        for _ in range(2):
            self.commits += 1
            body = f"v{self.commits}".encode()
            put(
                self._fs,
                BUCKET,
                self._key,
                body,
                etag=_md5(body),
                meta=ObjectMeta(content_type=f"x/v{self.commits}"),
            )


def _md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


@pytest.fixture(params=["sidecars", "xattrs"])
def fs(request: pytest.FixtureRequest, tmp_path: Path) -> FilesystemBackend:
    backend = FilesystemBackend(
        tmp_path / "data",
        fsync=False,
        clock=TickingClock(),
        xattrs=request.param == "xattrs",
    )
    backend.create_bucket(BUCKET, owner_id="owner", created=START)
    return backend


@pytest.mark.parametrize("verb", ["open_object", "head_object"])
def test_reader_keeps_metadata_while_writers_replace_the_file(
    fs: FilesystemBackend, monkeypatch: pytest.MonkeyPatch, verb: str
) -> None:
    """Two commits between a reader's open and its record read never give it
    another version's metadata (nor a hashed stand-in)."""
    put(fs, BUCKET, "k", b"v0", etag=_md5(b"v0"), meta=ObjectMeta(content_type="x/v0"))
    in_attributes = fs._store.xattrs
    if in_attributes:
        interfere = _OverwriteBeforeRecordRead(fs, "k", xattr.read)
        monkeypatch.setattr(xattr, "read", interfere)
    else:
        interfere = _OverwriteBeforeRecordRead(fs, "k", fs._store.versions)
        monkeypatch.setattr(fs._store, "versions", interfere)

    if verb == "open_object":
        with fs.open_object(BUCKET, "k") as reader:
            body = reader.read()
            info = reader.info
        assert info.meta.content_type == "x/" + body.decode()
        assert info.etag == _md5(body)
    else:
        info = fs.head_object(BUCKET, "k")
        # No body: the content type names a version that was current at some point,
        # and the ETag and size must be that same version's.
        version = info.meta.content_type.removeprefix("x/")
        assert version.startswith("v")
        assert (info.etag, info.size) == (_md5(version.encode()), len(version))
    if in_attributes:
        # The window was hit, and the first attempt's record was the right one.
        assert (interfere.calls, interfere.commits) == (1, 2)
        assert info.meta.content_type == "x/v0"
    else:
        # The window really was hit on every unlocked attempt.
        assert interfere.calls >= 3
        assert interfere.commits >= 4
    monkeypatch.undo()
    for writer in interfere.writers:
        writer.join()
    # The commits held back by the reader's lock landed once it let go.
    with fs.open_object(BUCKET, "k") as reader:
        final = reader.read()
        assert reader.info.meta.content_type == "x/" + final.decode()
