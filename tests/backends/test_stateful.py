"""A Hypothesis state machine: each backend behaves like a sorted dict of keys.

Puts, copies, deletes, reads (whole and from an offset) and listing pages (prefix,
delimiter, start_after, page size) are applied to a backend and to a plain model;
every observation must agree. Keys come from a small alphabet, so the
file-vs-directory cases of the filesystem layout (``a`` beside ``a/b``, ``a/``
markers, ``a//b``) and shared prefixes happen in most runs.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from s3core import errors
from s3core.backends.base import Backend
from s3core.models import CommonPrefix, ListEntry, ObjectInfo, ObjectMeta
from tests.backends.conftest import START, TickingClock, make_backend
from tests.strategies.keys import (
    delimiters,
    small_keys,
    small_prefixes,
    tricky_keys,
    tricky_segments,
)

BUCKET = "bucket"


def model_listing(
    keys: list[str], prefix: str, start_after: str, delimiter: str
) -> list[str]:
    """What a listing must yield, computed the obvious way from sorted keys."""
    out: list[str] = []
    for key in sorted(keys):
        if not key.startswith(prefix) or key <= start_after:
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        name = key if cut < 0 else f"<{key[: cut + len(delimiter)]}>"
        if not out or out[-1] != name:
            out.append(name)
    return out


def _name(entry: ListEntry) -> str:
    return entry.key if isinstance(entry, ObjectInfo) else f"<{entry.prefix}>"


class BackendMachine(RuleBasedStateMachine):
    """Drives one backend kind (set by subclasses) against a dict model."""

    kind = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="s3-stateful-"))
        self.backend: Backend = make_backend(
            self.kind, self.tmp / "data", TickingClock()
        )
        self.backend.create_bucket(BUCKET, owner_id="o", created=START)
        self.model: dict[str, bytes] = {}
        self.etags: dict[str, str] = {}
        self.version = 0

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    @rule(key=small_keys)
    def put(self, key: str) -> None:
        self.version += 1
        data = f"{key}#{self.version}".encode()
        writer = self.backend.open_writer(BUCKET, key)
        writer.write(data)
        info = writer.commit(ObjectMeta(), etag=f"e{self.version}")
        assert (info.key, info.size) == (key, len(data))
        self.model[key] = data
        self.etags[key] = f"e{self.version}"

    @rule(key=small_keys)
    def abort(self, key: str) -> None:
        writer = self.backend.open_writer(BUCKET, key)
        writer.write(b"never visible")
        writer.abort()

    @rule(key=small_keys)
    def delete(self, key: str) -> None:
        self.backend.delete_object(BUCKET, key)
        self.model.pop(key, None)

    @rule(source=small_keys, destination=small_keys)
    def copy(self, source: str, destination: str) -> None:
        if source not in self.model:
            try:
                self.backend.open_object(BUCKET, source).close()
            except errors.NoSuchKey:
                return
            raise AssertionError(f"{source!r} should not exist")
        self.version += 1
        reader = self.backend.open_object(BUCKET, source)
        try:
            info = self.backend.copy_object(
                reader, BUCKET, destination, meta=ObjectMeta(), etag=f"e{self.version}"
            )
        finally:
            reader.close()
        assert (info.key, info.size) == (destination, len(self.model[source]))
        self.model[destination] = self.model[source]
        self.etags[destination] = f"e{self.version}"

    @rule(key=small_keys, offset=st.integers(0, 12))
    def get(self, key: str, offset: int) -> None:
        if key not in self.model:
            try:
                self.backend.head_object(BUCKET, key)
            except errors.NoSuchKey:
                return
            raise AssertionError(f"{key!r} should not exist")
        head = self.backend.head_object(BUCKET, key)
        assert (head.size, head.etag) == (len(self.model[key]), self.etags[key])
        reader = self.backend.open_object(BUCKET, key)
        try:
            assert reader.info == head
            assert reader.read() == self.model[key]
            reader.seek(offset)
            assert reader.read(3) == self.model[key][offset : offset + 3]
        finally:
            reader.close()

    @rule(
        prefix=small_prefixes,
        start_after=small_keys | st.just(""),
        delimiter=delimiters,
        page_size=st.integers(1, 5),
    )
    def list_page(
        self, prefix: str, start_after: str, delimiter: str, page_size: int
    ) -> None:
        expected = model_listing(list(self.model), prefix, start_after, delimiter)
        page: list[str] = []
        entries = self.backend.iter_entries(
            BUCKET, prefix=prefix, start_after=start_after, delimiter=delimiter
        )
        for entry in entries:
            page.append(_name(entry))
            if len(page) == page_size:
                break
        assert page == expected[:page_size]

    @invariant()
    def full_listing_matches(self) -> None:
        entries = list(self.backend.iter_entries(BUCKET))
        assert [_name(e) for e in entries] == sorted(self.model)
        assert all(isinstance(e, ObjectInfo) for e in entries)
        assert not any(isinstance(e, CommonPrefix) for e in entries)


class MemoryMachine(BackendMachine):
    kind = "memory"


class FilesystemMachine(BackendMachine):
    kind = "filesystem"


_settings = settings(max_examples=60, stateful_step_count=30)
TestMemoryBackend = MemoryMachine.TestCase
TestMemoryBackend.settings = _settings
TestFilesystemBackend = FilesystemMachine.TestCase
TestFilesystemBackend.settings = _settings
TestMemoryBackend.__doc__ = "The memory backend agrees with a sorted-dict model."
TestFilesystemBackend.__doc__ = (
    "The filesystem backend agrees with a sorted-dict model."
)


@settings(max_examples=40)
@given(
    keys=st.lists(tricky_keys, min_size=1, max_size=8, unique=True),
    prefix=tricky_segments,
    start_after=tricky_keys | st.just(""),
    delimiter=delimiters,
)
def test_tricky_keys_list_like_the_model(
    keys: list[str], prefix: str, start_after: str, delimiter: str
) -> None:
    """Escaped, hashed and clashing keys round-trip and list in model order."""
    with tempfile.TemporaryDirectory() as tmp:
        backend = make_backend("filesystem", Path(tmp), TickingClock())
        backend.create_bucket(BUCKET, owner_id="o", created=START)
        for key in keys:
            writer = backend.open_writer(BUCKET, key)
            writer.write(key.encode())
            writer.commit(ObjectMeta(), etag="e")
        for key in keys:
            reader = backend.open_object(BUCKET, key)
            assert reader.read() == key.encode()
            reader.close()
        for p in (prefix, keys[0][: len(keys[0]) // 2]):
            entries = backend.iter_entries(
                BUCKET, prefix=p, start_after=start_after, delimiter=delimiter
            )
            assert [_name(e) for e in entries] == model_listing(
                keys, p, start_after, delimiter
            )
        for key in keys:
            backend.delete_object(BUCKET, key)
        assert list(backend.iter_entries(BUCKET)) == []
        backend.delete_bucket(BUCKET)
