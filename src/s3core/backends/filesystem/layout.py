"""Where the filesystem backend puts things: key <-> path names, and the reserved area.

This module owns the mapping from an object key to the names of the path components
under its bucket directory, and the paths of everything in the reserved ``.s3server``
directory. It is pure string computation and must not touch the filesystem: the one
lookup it needs (the segment behind a hashed name) is passed in by the caller.

The rule: a key is split on ``/`` and each segment maps to one path component. A *plain*
segment (non-empty, not ``.`` or ``..``, at most 255 UTF-8 bytes, no control character,
not starting with ``.s3~``) maps to itself. Any other segment maps to ``.s3~`` followed
by its UTF-8 bytes with every byte outside ``[A-Za-z0-9_-]`` written ``%XX``, or, when
that exceeds 255 bytes, to ``.s3~!h`` + the SHA-256 hex of the segment. The escape never
writes ``!``, so names starting ``.s3~!`` belong to the backend: ``.s3~!self`` is the
object whose key is its directory's own key (``a`` beside ``a/b``), ``.s3~!h...`` a
hashed segment and ``.s3~!m...`` a file being moved into a directory of its name.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable

import attrs

__all__ = [
    "HASHED_PREFIX",
    "MARKER",
    "MAX_NAME_BYTES",
    "RESERVED_DIR",
    "RESERVED_PREFIX",
    "SELF_NAME",
    "Paths",
    "decode_name",
    "digest",
    "encode_segment",
    "hashed_digest",
    "is_storable",
    "key_to_names",
    "move_name",
    "names_to_key",
]

# The reserved top-level directory: a leading dot is never valid in a bucket name, so
# it cannot collide with a bucket.
RESERVED_DIR = ".s3server"
MARKER = ".s3~"
RESERVED_PREFIX = ".s3~!"
SELF_NAME = ".s3~!self"
HASHED_PREFIX = ".s3~!h"
MOVE_PREFIX = ".s3~!m"
# NAME_MAX of ext4, XFS, btrfs, APFS and most network filesystems.
MAX_NAME_BYTES = 255

_SAFE_BYTES = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
)
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_ESCAPED = re.compile(r"(?:[A-Za-z0-9_-]|%[0-9A-F]{2})*")
_HEX64 = re.compile("[0-9a-f]{64}")


def digest(text: str) -> str:
    """The SHA-256 hex digest of ``text``'s UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_storable(key: str) -> bool:
    """Whether ``key`` is a Unicode string the layout can store (no lone surrogates)."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_plain(segment: str, raw: bytes) -> bool:
    return (
        raw not in (b"", b".", b"..")
        and len(raw) <= MAX_NAME_BYTES
        and not segment.startswith(MARKER)
        # Control characters are legal in POSIX names but break terminals, shells
        # and the tools people browse the data directory with.
        and _CONTROL.search(segment) is None
    )


def encode_segment(segment: str) -> str:
    """The path component for one key segment (see the module docstring)."""
    raw = segment.encode("utf-8")
    if _is_plain(segment, raw):
        return segment
    escaped = MARKER + "".join(chr(b) if b in _SAFE_BYTES else f"%{b:02X}" for b in raw)
    if len(escaped) <= MAX_NAME_BYTES:  # ASCII, so characters are bytes
        return escaped
    return HASHED_PREFIX + hashlib.sha256(raw).hexdigest()


def hashed_digest(name: str) -> str | None:
    """The segment digest a hashed name carries, or ``None`` if it is not one."""
    rest = name[len(HASHED_PREFIX) :]
    if name.startswith(HASHED_PREFIX) and _HEX64.fullmatch(rest):
        return rest
    return None


def decode_name(name: str) -> str | None:
    """The segment a directory entry's name stands for.

    ``None`` when the name is reserved (hashed names are resolved by the caller) or is
    not the canonical encoding of any segment: such an entry is not part of any key,
    which keeps the mapping one-to-one even for names created by hand.
    """
    if not name.startswith(MARKER):
        try:
            raw = name.encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes on disk come back as surrogates
            return None
        return name if _is_plain(name, raw) else None
    body = name[len(MARKER) :]
    if name.startswith(RESERVED_PREFIX) or not _ESCAPED.fullmatch(body):
        return None
    try:
        segment = _unescape(body).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return segment if encode_segment(segment) == name else None


def _unescape(body: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(body):
        if body[i] == "%":
            out.append(int(body[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(ord(body[i]))
            i += 1
    return bytes(out)


def key_to_names(key: str) -> tuple[str, ...]:
    """The path components of ``key`` under its bucket directory, outermost first."""
    return tuple(encode_segment(segment) for segment in key.split("/"))


def names_to_key(
    names: tuple[str, ...], resolve: Callable[[str], str | None]
) -> str | None:
    """The key whose components are ``names``, or ``None`` if one is not canonical.

    ``resolve`` maps a hashed name's digest to its segment (``None`` if unknown).
    """
    segments: list[str] = []
    for name in names:
        hashed = hashed_digest(name)
        segment = resolve(hashed) if hashed is not None else decode_name(name)
        if segment is None or encode_segment(segment) != name:
            return None
        segments.append(segment)
    return "/".join(segments)


def move_name(name: str) -> str:
    """The reserved name a file ``name`` passes through when it becomes a directory."""
    return MOVE_PREFIX + digest(name)


@attrs.frozen
class Paths:
    """Absolute paths under a data root: bucket directories and the reserved area.

    ``<root>/<bucket>/`` is a bucket. ``<root>/.s3server/`` holds ``buckets/`` (bucket
    records), ``meta/<bucket>/`` (object sidecars and hashed-name records),
    ``uploads/<bucket>/<upload id>/`` (open multipart uploads), ``tmp/`` (staged
    files: on the data's filesystem so ``rename`` is atomic) and ``locks/``.

    The directories are joined once, here: every request asks for several of these
    paths, and ``os.path.join`` cost a DELETE ten calls. Callers pass bucket names
    and upload ids that are single path components (checked before), so appending
    to a directory's path with ``/`` is what joining would give.
    """

    root: str
    reserved: str = attrs.field(init=False, eq=False, repr=False)
    tmp: str = attrs.field(init=False, eq=False, repr=False)
    records: str = attrs.field(init=False, eq=False, repr=False)
    locks: str = attrs.field(init=False, eq=False, repr=False)
    all_uploads: str = attrs.field(init=False, eq=False, repr=False)
    _root_dir: str = attrs.field(init=False, eq=False, repr=False)
    _meta_dir: str = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # Frozen: the derived fields are set once, as attrs' own __init__ would.
        set_ = object.__setattr__
        reserved = os.path.join(self.root, RESERVED_DIR)
        set_(self, "reserved", reserved)
        set_(self, "tmp", os.path.join(reserved, "tmp"))
        set_(self, "records", os.path.join(reserved, "buckets"))
        set_(self, "locks", os.path.join(reserved, "locks"))
        set_(self, "all_uploads", os.path.join(reserved, "uploads"))
        set_(self, "_root_dir", os.path.join(self.root, ""))
        set_(self, "_meta_dir", os.path.join(reserved, "meta", ""))

    def bucket(self, bucket: str) -> str:
        return self._root_dir + bucket

    def record(self, bucket: str) -> str:
        return f"{self.records}/{bucket}.json"

    def meta(self, bucket: str) -> str:
        return self._meta_dir + bucket

    def sidecar(self, bucket: str, key: str) -> str:
        # Two hex characters of fan-out keep directories small for big buckets.
        h = digest(key)
        return f"{self._meta_dir}{bucket}/{h[:2]}/{h}.json"

    def name_record(self, bucket: str, segment_digest: str) -> str:
        return f"{self._meta_dir}{bucket}/names/{segment_digest}"

    def uploads(self, bucket: str) -> str:
        return f"{self.all_uploads}/{bucket}"

    def upload(self, bucket: str, upload_id: str) -> str:
        # Callers pass only ids checked by ``base.is_upload_id`` (hex): never a path.
        return f"{self.all_uploads}/{bucket}/{upload_id}"

    def upload_lock(self, bucket: str, upload_id: str) -> str:
        # 256 stripes per bucket, apart from the key locks: completing an upload
        # holds its upload lock while publishing takes a key lock.
        return f"{self.locks}/{bucket}~u{upload_id[-2:]}.lock"

    def bucket_lock(self, bucket: str) -> str:
        return f"{self.locks}/{bucket}.lock"

    def key_lock(self, bucket: str, key: str) -> str:
        # 256 stripes per bucket: writers of different keys rarely wait on each
        # other, and the number of lock files stays bounded (they are never deleted,
        # since unlinking a lock file others wait on breaks mutual exclusion).
        return f"{self.locks}/{bucket}~{digest(key)[:2]}.lock"
