"""Files people put into a bucket directory by hand, seen through the real server.

A file or folder copied in is an object or a prefix (content type guessed from the
extension, ETag computed once and cached against the file's identity: inode, size and
mtime); a file edited or deleted by hand is seen as changed or gone; FIFOs, sockets,
device files, broken symlinks and names no key maps to are skipped; no symlink is ever
followed. Both the in-process server and the standalone ``s3server`` process are
driven with boto3 over HTTP.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import socket
import stat
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from s3core.backends.filesystem.layout import Paths
from tests.integration.conftest import error_code
from tests.integration.disk import files_under

ClientError = botocore.exceptions.ClientError

SERVER_KINDS = ("filesystem", "standalone")


def data_root(server: Any) -> Path:
    """The server's data directory."""
    root = getattr(server, "data_dir", None) or server.backend.root
    return Path(root).resolve()


@pytest.fixture
def bdir(server: Any, bucket: str) -> Path:
    """The bucket's directory on disk."""
    return data_root(server) / bucket


def etag_of(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


def listing(client: Any, bucket: str, **kwargs: Any) -> tuple[list[str], list[str]]:
    """Keys and common prefixes of a ListObjectsV2 listing, all pages."""
    keys: list[str] = []
    prefixes: list[str] = []
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, **kwargs)
    for page in pages:
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return keys, prefixes


def missing(client: Any, bucket: str, key: str) -> None:
    """GET of ``key`` is NoSuchKey 404."""
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key=key)
    assert error_code(exc) == ("NoSuchKey", 404)


def sidecar(server: Any, bucket: str, key: str) -> Path:
    """Where the backend caches ``key``'s metadata."""
    return Path(Paths(str(data_root(server))).sidecar(bucket, key))


# -- copied in by hand ------------------------------------------------------------


def test_hand_copied_files_and_folders_are_objects(
    client: Any, bucket: str, bdir: Path, tmp_path: Path
) -> None:
    """Copied-in files list and read back with MD5 ETags and guessed types."""
    source = tmp_path / "export"
    (source / "2024").mkdir(parents=True)
    files = {
        "report.pdf": b"%PDF-1.4 ...",
        "2024/cat.jpg": b"\xff\xd8\xff jpeg",
        "2024/dog.png": b"\x89PNG png",
        "2024/notes.txt": b"hello",
        "2024/page.html": b"<p>hi</p>",
        "2024/data.json": b"{}",
        "2024/README": b"no extension",
    }
    types = {
        "report.pdf": "application/pdf",
        "2024/cat.jpg": "image/jpeg",
        "2024/dog.png": "image/png",
        "2024/notes.txt": "text/plain",
        "2024/page.html": "text/html",
        "2024/data.json": "application/json",
        "2024/README": "binary/octet-stream",
    }
    for name, data in files.items():
        (source / name).write_bytes(data)
    shutil.copytree(source, bdir / "photos", dirs_exist_ok=True)
    (bdir / "top.txt").write_bytes(b"top")
    (bdir / "empty" / "folder").mkdir(parents=True)  # S3 has no empty folders
    expected = sorted(["top.txt", *(f"photos/{name}" for name in files)])
    assert listing(client, bucket) == (expected, [])
    assert listing(client, bucket, Delimiter="/") == (["top.txt"], ["photos/"])
    assert listing(client, bucket, Prefix="photos/", Delimiter="/") == (
        ["photos/report.pdf"],
        ["photos/2024/"],
    )
    for name, data in files.items():
        key = f"photos/{name}"
        got = client.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == data
        assert (got["ETag"], got["ContentType"]) == (etag_of(data), types[name])
        # Last-Modified (an HTTP date) has whole seconds.
        mtime = (bdir / "photos" / name).stat().st_mtime_ns // 1_000_000_000
        assert got["LastModified"] == dt.datetime.fromtimestamp(mtime, dt.timezone.utc)
    listed = client.list_objects_v2(Bucket=bucket, Prefix="photos/2024/cat")
    assert [(o["ETag"], o["Size"]) for o in listed["Contents"]] == [
        (etag_of(files["2024/cat.jpg"]), len(files["2024/cat.jpg"]))
    ]
    # Hand-placed objects are ordinary objects: copy, overwrite and delete work.
    client.copy_object(
        Bucket=bucket, Key="copy.jpg", CopySource=f"{bucket}/photos/2024/cat.jpg"
    )
    assert (
        client.get_object(Bucket=bucket, Key="copy.jpg")["Body"].read()
        == (files["2024/cat.jpg"])
    )
    client.delete_object(Bucket=bucket, Key="photos/report.pdf")
    assert not (bdir / "photos" / "report.pdf").exists()


def test_etag_is_computed_once_and_cached_against_identity(
    server: Any, client: Any, bucket: str, bdir: Path
) -> None:
    """The ETag is hashed once, then cached while inode, size and mtime stay."""
    path = bdir / "doc.txt"
    path.write_bytes(b"version one")
    record = sidecar(server, bucket, "doc.txt")
    assert not record.exists()
    head = client.head_object(Bucket=bucket, Key="doc.txt")
    assert head["ETag"] == etag_of(b"version one")
    # The hash was cached on disk with the identity of the file it describes.
    doc = json.loads(record.read_bytes())
    st = path.stat()
    (cached,) = doc["versions"]
    assert (cached["ino"], cached["size"], cached["mtime_ns"]) == (
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
    )

    def plant_marker() -> None:
        # Rewrite the cached ETag: if a read answers it, the cache was used, not
        # a fresh hash of the file.
        doc = json.loads(record.read_bytes())
        doc["versions"][0]["etag"] = "cached0000000000000000000000000000"
        record.write_text(json.dumps(doc))

    plant_marker()
    for _ in range(2):
        assert client.head_object(Bucket=bucket, Key="doc.txt")["ETag"] == (
            '"cached0000000000000000000000000000"'
        )
    listed = client.list_objects_v2(Bucket=bucket)["Contents"]
    assert listed[0]["ETag"] == '"cached0000000000000000000000000000"'

    # Edited in place, same size, new mtime: hashed again.
    path.write_bytes(b"version two")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000))
    assert client.head_object(Bucket=bucket, Key="doc.txt")["ETag"] == etag_of(
        b"version two"
    )
    # Same mtime, same size, other inode (a new file renamed over it): hashed again.
    plant_marker()
    st = path.stat()
    replacement = bdir / "doc.new"
    replacement.write_bytes(b"version 3!!")
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(replacement, path)
    got = client.get_object(Bucket=bucket, Key="doc.txt")
    assert (got["ETag"], got["Body"].read()) == (
        etag_of(b"version 3!!"),
        b"version 3!!",
    )
    # Same inode, same mtime, other size: hashed again.
    plant_marker()
    st = path.stat()
    with open(path, "ab") as f:
        f.write(b" and more")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    got = client.get_object(Bucket=bucket, Key="doc.txt")
    assert got["ETag"] == etag_of(b"version 3!! and more")
    assert got["Body"].read() == b"version 3!! and more"


def test_file_edited_by_hand_loses_its_stale_metadata(
    client: Any, bucket: str, bdir: Path
) -> None:
    """An object edited by hand reads as new bytes, MD5 ETag, guessed type."""
    client.put_object(
        Bucket=bucket,
        Key="notes.txt",
        Body=b"uploaded",
        ContentType="application/x-custom",
        Metadata={"owner": "alice"},
    )
    (bdir / "notes.txt").write_bytes(b"edited by hand, longer")
    got = client.get_object(Bucket=bucket, Key="notes.txt")
    assert got["Body"].read() == b"edited by hand, longer"
    assert got["ETag"] == etag_of(b"edited by hand, longer")
    assert (got["ContentType"], got["Metadata"]) == ("text/plain", {})
    assert got["ContentLength"] == len(b"edited by hand, longer")


def test_files_deleted_by_hand_are_gone(client: Any, bucket: str, bdir: Path) -> None:
    """Removing a file or a folder by hand removes the objects."""
    for key in ("a.txt", "dir/x", "dir/sub/y", "keep"):
        client.put_object(Bucket=bucket, Key=key, Body=key.encode())
    client.head_object(Bucket=bucket, Key="a.txt")  # cached metadata exists
    (bdir / "a.txt").unlink()
    shutil.rmtree(bdir / "dir")
    for key in ("a.txt", "dir/x", "dir/sub/y"):
        missing(client, bucket, key)
    assert listing(client, bucket) == (["keep"], [])
    assert listing(client, bucket, Delimiter="/") == (["keep"], [])
    # The key is free again, as after a DeleteObject.
    client.put_object(Bucket=bucket, Key="a.txt", Body=b"new")
    got = client.get_object(Bucket=bucket, Key="a.txt")
    assert (got["Body"].read(), got["ETag"]) == (b"new", etag_of(b"new"))


# -- what is not an object -------------------------------------------------------


def test_special_files_are_skipped(client: Any, bucket: str, bdir: Path) -> None:
    """FIFOs, sockets, devices, broken links, unmappable names are skipped."""
    (bdir / "sub").mkdir()
    (bdir / "only-special").mkdir()
    os.mkfifo(bdir / "fifo")
    os.mkfifo(bdir / "sub" / "fifo")
    os.mkfifo(bdir / "only-special" / "fifo")
    (bdir / "broken").symlink_to(bdir / "nowhere")
    (bdir / "sub" / "broken").symlink_to("../nowhere")
    sock = socket.socket(socket.AF_UNIX)
    with contextlib.suppress(OSError):  # AF_UNIX paths are short; skip if too long
        sock.bind(str(bdir / "sock"))
    with contextlib.suppress(PermissionError):  # needs root (CI runs as root)
        os.mknod(bdir / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    # Names no key maps to: a control character (its key lives at an escaped
    # name), the escape marker, the reserved prefix, bytes that are not UTF-8.
    for name in ("tab\there", ".s3~junk", ".s3~!other"):
        (bdir / name).write_bytes(b"x")
    fd = os.open(os.fsencode(bdir) + b"/bad\xffname", os.O_CREAT | os.O_WRONLY)
    os.close(fd)
    for key in ("real", "sub/real"):
        client.put_object(Bucket=bucket, Key=key, Body=b"r")
    try:
        assert listing(client, bucket) == (["real", "sub/real"], [])
        assert listing(client, bucket, Delimiter="/") == (["real"], ["sub/"])
        assert listing(client, bucket, Prefix="sub/") == (["sub/real"], [])
        assert listing(client, bucket, PaginationConfig={"PageSize": 1}) == (
            ["real", "sub/real"],
            [],
        )
        for key in ("fifo", "sub/fifo", "broken", "sub/broken", "sock", "null"):
            missing(client, bucket, key)
            with pytest.raises(ClientError) as exc:
                client.copy_object(
                    Bucket=bucket, Key="copy", CopySource=f"{bucket}/{key}"
                )
            assert error_code(exc) == ("NoSuchKey", 404)
            # Deleting what is not an object answers 204 and leaves it alone.
            client.delete_object(Bucket=bucket, Key=key)
        assert stat.S_ISFIFO((bdir / "fifo").lstat().st_mode)
        assert (bdir / "broken").is_symlink()
        # A bucket holding files it cannot list is still not empty.
        for key in ("real", "sub/real"):
            client.delete_object(Bucket=bucket, Key=key)
        with pytest.raises(ClientError) as exc:
            client.delete_bucket(Bucket=bucket)
        assert error_code(exc) == ("BucketNotEmpty", 409)
    finally:
        sock.close()


def test_symlinks_are_never_followed(
    server: Any, client: Any, bucket: str, bdir: Path, tmp_path: Path
) -> None:
    """No symlink is read, listed, written or deleted through."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    (bdir / "inside").write_bytes(b"inside")
    (bdir / "file-link").symlink_to(outside / "secret")
    (bdir / "dir-link").symlink_to(outside)
    (bdir / "inner-link").symlink_to(bdir / "inside")
    (bdir / "docs").mkdir()
    (bdir / "docs" / "up").symlink_to("../..")
    (bdir / "docs" / "page").write_bytes(b"page")
    root = data_root(server)
    (root / "linked-bucket").symlink_to(outside)

    assert listing(client, bucket) == (["docs/page", "inside"], [])
    assert listing(client, bucket, Delimiter="/") == (["inside"], ["docs/"])
    for key in ("file-link", "dir-link/secret", "inner-link", "docs/up/inside"):
        missing(client, bucket, key)
    names = [b["Name"] for b in client.list_buckets()["Buckets"]]
    assert "linked-bucket" not in names
    with pytest.raises(ClientError) as exc:
        client.list_objects_v2(Bucket="linked-bucket")
    assert error_code(exc) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket="linked-bucket", Key="secret", Body=b"overwrite")
    assert error_code(exc) == ("NoSuchBucket", 404)

    # Writing and deleting at those keys never touches what the links point to.
    client.put_object(Bucket=bucket, Key="dir-link/new", Body=b"stays inside")
    client.delete_object(Bucket=bucket, Key="file-link")
    client.delete_object(Bucket=bucket, Key="dir-link/secret")
    client.put_object(Bucket=bucket, Key="file-link", Body=b"replaces the link")
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_bytes() == b"secret"
    assert (bdir / "inside").read_bytes() == b"inside"
    got = client.get_object(Bucket=bucket, Key="dir-link/new")
    assert got["Body"].read() == b"stays inside"
    assert client.get_object(Bucket=bucket, Key="file-link")["Body"].read() == (
        b"replaces the link"
    )
    assert not (bdir / "file-link").is_symlink()
    assert all(not p.startswith("..") for p in files_under(bdir)), (
        "nothing written outside the bucket"
    )
