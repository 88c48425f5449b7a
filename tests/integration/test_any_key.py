"""Any valid S3 key round-trips through the real server, on both backends.

Each key the filesystem layout must work for (file and directory at once, markers,
empty and dot segments, long segments, 1024-byte keys, URL and XML metacharacters,
control characters, non-BMP Unicode, names of the escape scheme itself) is put,
headed, read, listed with and without a delimiter, copied both ways and deleted with
boto3 over HTTP. On the filesystem backend, nothing may appear outside the bucket's
directory and the reserved area, and deletes leave the bucket directory empty.
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from tests.integration.conftest import error_code
from tests.integration.disk import assert_contained, files_under, temp_files

ClientError = botocore.exceptions.ClientError

_KEYS: list[tuple[str, str]] = [
    ("a", "plain"),
    ("dir/", "directory-marker"),
    ("a//b", "empty-segment"),
    ("/a", "leading-slash"),
    ("/", "only-slash"),
    ("//", "two-slashes"),
    (".", "dot"),
    ("..", "dot-dot"),
    ("../x", "dot-dot-up"),
    ("../../../x", "dot-dot-far-up"),
    ("a/./b/../c", "dot-segments-inside"),
    ("x" * 255, "segment-255-bytes-plain"),
    ("x" * 256, "segment-256-bytes-hashed"),
    ("\x01" + "a" * 248, "segment-escaped-to-255-bytes"),
    ("\x01" + "a" * 249, "segment-escaped-to-256-bytes-hashed"),
    ("x" * 300, "segment-300-bytes"),
    ("d/" + "\u00e9" * 200 + "/f", "segment-400-bytes-escaped"),
    ("k" * 1024, "1024-bytes-flat"),
    ("\U0001f600" * 256, "1024-bytes-non-bmp"),
    ("a/" * 512, "1024-bytes-513-levels"),
    ("y" * 600 + "/" + "z" * 423, "1024-bytes-two-long-segments"),
    ("100%", "percent"),
    ("%2F%2e%2E", "percent-escapes"),
    ("a+b", "plus"),
    ("a b", "space"),
    (" ", "only-space"),
    ("ctl\x01\x02\x1b\x1f", "control-characters"),
    ("tab\tline\nreturn\r", "whitespace-controls"),
    ("\x7f", "delete-character"),
    ("\U0001f600/\U00010348", "non-bmp"),
    ("caf\u00e9/\u65e5\u672c", "latin-and-cjk"),
    ("?x=1&y=2#z", "url-metacharacters"),
    ("<&>\"'", "xml-metacharacters"),
    ("~", "tilde"),
    (".s3~", "escape-marker"),
    (".s3~!self", "self-name"),
    ("a/.s3~!self", "self-name-nested"),
    (".s3~!h" + "0" * 64, "hashed-name"),
    (".s3~!m" + "0" * 64, "move-name"),
    (".s3~%2E", "escape-of-dot"),
    (".s3server", "reserved-directory"),
    (".s3server/tmp/x.tmp", "reserved-path"),
]
KEYS = [pytest.param(key, id=name) for key, name in _KEYS]
_copies = itertools.count()


def data_root(server: Any) -> Path | None:
    """The filesystem backend's data directory, ``None`` for the memory backend."""
    root = getattr(server.backend, "root", None)
    return Path(root) if root is not None else None


def all_keys(client: Any, bucket: str, **kwargs: Any) -> tuple[list[str], list[str]]:
    """Every key and common prefix of a ListObjectsV2 listing, all pages."""
    keys: list[str] = []
    prefixes: list[str] = []
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, **kwargs)
    for page in pages:
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return keys, prefixes


def body_of(key: str) -> bytes:
    """A body that differs per key."""
    return b"body of " + key.encode("utf-8")


def etag_of(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


def check_stored(client: Any, bucket: str, key: str, data: bytes) -> None:
    """``key`` holds ``data``: HEAD and GET agree on bytes, size and ETag."""
    head = client.head_object(Bucket=bucket, Key=key)
    assert (head["ContentLength"], head["ETag"]) == (len(data), etag_of(data))
    got = client.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == data
    assert got["ETag"] == etag_of(data)


@pytest.mark.parametrize("key", KEYS)
def test_key_round_trips(
    server: Any, client: Any, bucket: str, tmp_path: Path, key: str
) -> None:
    """Put, head, get, list, copy both ways and delete work for the key."""
    data = body_of(key)
    assert client.put_object(Bucket=bucket, Key=key, Body=data)["ETag"] == etag_of(data)
    check_stored(client, bucket, key, data)
    assert all_keys(client, bucket) == ([key], [])
    parent = key[: key.rfind("/") + 1]
    assert all_keys(client, bucket, Prefix=parent, Delimiter="/") == ([key], [])
    assert all_keys(client, bucket, Prefix=key) == ([key], [])
    first = key.find("/")
    top = ([], [key[: first + 1]]) if first >= 0 else ([key], [])
    assert all_keys(client, bucket, Delimiter="/") == top
    root = data_root(server)
    if root is not None:
        assert len(files_under(root / bucket)) == 1
        assert_contained(tmp_path, root, [bucket])
    # CopyObject from the key, then back onto the key from a plain source.
    copy = f"copy-{next(_copies)}"
    client.copy_object(
        Bucket=bucket, Key=copy, CopySource={"Bucket": bucket, "Key": key}
    )
    check_stored(client, bucket, copy, data)
    client.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(ClientError) as exc:
        client.head_object(Bucket=bucket, Key=key)
    assert error_code(exc) == ("404", 404)
    assert all_keys(client, bucket) == ([copy], [])
    client.copy_object(
        Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": copy}
    )
    check_stored(client, bucket, key, data)
    assert all_keys(client, bucket) == (sorted([key, copy]), [])
    client.delete_object(Bucket=bucket, Key=copy)
    client.delete_object(Bucket=bucket, Key=key)
    assert all_keys(client, bucket) == ([], [])
    if root is not None:
        assert files_under(root / bucket) == []
        assert temp_files(root) == []
        assert_contained(tmp_path, root, [bucket])


@pytest.mark.parametrize("first", ["a", "a/b"])
def test_file_and_directory_keys_in_either_order(
    server: Any, client: Any, bucket: str, first: str
) -> None:
    """'a' and 'a/b' coexist whichever is created first, and each deletes alone."""
    second = "a/b" if first == "a" else "a"
    for key in (first, second):
        client.put_object(Bucket=bucket, Key=key, Body=body_of(key))
    for key in ("a", "a/b"):
        check_stored(client, bucket, key, body_of(key))
    assert all_keys(client, bucket) == (["a", "a/b"], [])
    assert all_keys(client, bucket, Delimiter="/") == (["a"], ["a/"])
    assert all_keys(client, bucket, Prefix="a/", Delimiter="/") == (["a/b"], [])
    client.delete_object(Bucket=bucket, Key=first)
    check_stored(client, bucket, second, body_of(second))
    assert all_keys(client, bucket) == ([second], [])
    client.put_object(Bucket=bucket, Key=first, Body=b"again")
    client.delete_object(Bucket=bucket, Key=second)
    check_stored(client, bucket, first, b"again")
    assert all_keys(client, bucket) == ([first], [])


def test_all_keys_in_one_bucket(
    server: Any, client: Any, bucket: str, tmp_path: Path
) -> None:
    """Every key at once: each keeps its own bytes and listings page in byte order."""
    keys = sorted({key for key, _ in _KEYS} | {"a/b", "dir", "dir/x", "a-b", "a0"})
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=body_of(key))
    for key in keys:
        check_stored(client, bucket, key, body_of(key))
    assert all_keys(client, bucket, PaginationConfig={"PageSize": 7}) == (keys, [])
    tops = sorted({k[: k.find("/") + 1] for k in keys if "/" in k})
    flat = [k for k in keys if "/" not in k]
    assert all_keys(
        client, bucket, Delimiter="/", PaginationConfig={"PageSize": 3}
    ) == (flat, tops)
    v1 = [
        o["Key"]
        for page in client.get_paginator("list_objects").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 5}
        )
        for o in page.get("Contents", [])
    ]
    assert v1 == keys
    root = data_root(server)
    if root is not None:
        assert len(files_under(root / bucket)) == len(keys)
        assert_contained(tmp_path, root, [bucket])
    for key in keys:
        client.delete_object(Bucket=bucket, Key=key)
    assert all_keys(client, bucket) == ([], [])
    if root is not None:
        assert files_under(root / bucket) == []


def test_key_of_1025_bytes_is_refused(
    server: Any, client: Any, bucket: str, tmp_path: Path
) -> None:
    """A 1025-byte key is KeyTooLongError 400 for every write, storing nothing."""
    client.put_object(Bucket=bucket, Key="src", Body=b"source")
    for key in ("k" * 1025, "\U0001f600" * 256 + "k", "a/" * 512 + "b"):
        assert len(key.encode("utf-8")) == 1025
        attempts = [
            lambda k=key: client.put_object(Bucket=bucket, Key=k, Body=b"x"),
            lambda k=key: client.copy_object(
                Bucket=bucket, Key=k, CopySource={"Bucket": bucket, "Key": "src"}
            ),
            lambda k=key: client.create_multipart_upload(Bucket=bucket, Key=k),
        ]
        for attempt in attempts:
            with pytest.raises(ClientError) as exc:
                attempt()
            assert error_code(exc) == ("KeyTooLongError", 400)
    assert all_keys(client, bucket) == (["src"], [])
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    root = data_root(server)
    if root is not None:
        assert files_under(root / bucket) == ["src"]
        assert temp_files(root) == []
        assert_contained(tmp_path, root, [bucket])
