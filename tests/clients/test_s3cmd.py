"""s3cmd (the command-line tool from PyPI) against the real server.

The shared scenario through the s3cmd commands people type: mb, put, get, ls, la,
cp, signurl, sync, del --recursive, rb, and the errors s3cmd prints. The config
file is written by the test: path-style addressing (``host_bucket`` equal to
``host_base``), plain HTTP, SigV4 (s3cmd's default).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from s3server.server import ServerThread
from tests.clients.conftest import (
    ACCESS_KEY,
    NESTED_OBJECTS,
    NESTED_PREFIXES,
    REGION,
    SCENARIO_KEYS,
    SECRET_KEY,
    TOP_LEVEL_OBJECTS,
    TOP_LEVEL_PREFIXES,
    WRONG_SECRET,
    BigFile,
    bucket_names,
    client_env,
    curl_get,
    ok,
    read_tree,
    run,
    sha256_bytes,
    sha256_file,
    stored_keys,
    utf8_sorted,
    write_scenario_tree,
)

CLIENT = "s3cmd"
# Where tools/client_matrix.py reads the versions this ran with.
VERSIONS = ("pip:s3cmd",)
EXERCISED = (
    "mb, put --recursive, put (20 MiB multipart), get, get --continue (Range), ls "
    "(one level and --recursive), la, cp (server-side), signurl + curl, sync (up, "
    "changes only, down), del --recursive, rb; errors SignatureDoesNotMatch, "
    "NoSuchKey, NoSuchBucket, BucketNotEmpty"
)
SETTINGS = (
    "`host_base` and `host_bucket` both `127.0.0.1:PORT` (no `%(bucket)s`: "
    "path-style addressing)",
    "`use_https = False`",
    "`bucket_location = us-east-1`; SigV4 is the default (`signature_v2 = False`)",
)
CANNOT: dict[str, str] = {}

BUCKET = "s3cmd-bucket"
URI = f"s3://{BUCKET}"


def _s3cmd_path() -> str:
    # The script beside this interpreter first: a pyenv shim would pick whatever
    # Python the shell's version file names.
    found = shutil.which("s3cmd", path=str(Path(sys.executable).parent)) or (
        shutil.which("s3cmd")
    )
    if found is None:
        pytest.skip("s3cmd is not installed (pip install s3cmd)")
    return found


class S3cmd:
    """s3cmd bound to a config file written for one server."""

    def __init__(self, exe: str, server: ServerThread, home: Path, secret: str) -> None:
        self.exe = exe
        self.home = home
        self.config = home / ("s3cfg" if secret == SECRET_KEY else "s3cfg-other")
        host = f"{server.host}:{server.port}"
        home.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "[default]\n"
            f"access_key = {ACCESS_KEY}\n"
            f"secret_key = {secret}\n"
            f"host_base = {host}\n"
            # No "%(bucket)s" in host_bucket: s3cmd then addresses path-style.
            f"host_bucket = {host}\n"
            "use_https = False\n"
            f"bucket_location = {REGION}\n"
            "signature_v2 = False\n"
        )
        self.env = client_env(home)

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run([self.exe, "-c", str(self.config), *args], self.env)


@pytest.fixture
def s3cmd(server: ServerThread, tmp_path: Path) -> S3cmd:
    """s3cmd configured for the test server with the right secret."""
    return S3cmd(_s3cmd_path(), server, tmp_path / "home", SECRET_KEY)


@pytest.fixture
def filled(s3cmd: S3cmd, tmp_path: Path) -> dict[str, bytes]:
    """The scenario bucket, made and filled by s3cmd itself (mb, put --recursive)."""
    ok(s3cmd("mb", URI))
    tree = tmp_path / "tree"
    files = write_scenario_tree(tree)
    ok(s3cmd("put", "--recursive", f"{tree}/", f"{URI}/"))
    return files


def _listed(stdout: str) -> tuple[list[str], list[str]]:
    """(keys, prefixes) from `s3cmd ls` lines; prefixes are the DIR lines."""
    keys, prefixes = [], []
    for line in stdout.splitlines():
        if f"{URI}/" not in line:
            continue
        name = line[line.index(f"{URI}/") + len(URI) + 1 :]
        (prefixes if line.split()[0] == "DIR" else keys).append(name)
    return keys, prefixes


def test_bucket_made_listed_and_removed(s3cmd: S3cmd, oracle: Any) -> None:
    """`s3cmd mb` makes the bucket, `ls` lists it, `rb` removes it."""
    ok(s3cmd("mb", URI))
    assert BUCKET in bucket_names(oracle)
    assert URI in ok(s3cmd("ls")).split()
    ok(s3cmd("rb", URI))
    assert BUCKET not in bucket_names(oracle)
    assert URI not in ok(s3cmd("ls")).split()


def test_put_and_get_every_scenario_key(
    s3cmd: S3cmd, filled: dict[str, bytes], oracle: Any, tmp_path: Path
) -> None:
    """put --recursive stores every key as named; get returns the same SHA-256."""
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)
    for n, key in enumerate(SCENARIO_KEYS):
        dest = tmp_path / f"got-{n}"
        ok(s3cmd("get", f"{URI}/{key}", str(dest)))
        assert sha256_file(dest) == sha256_bytes(filled[key]), key


def test_large_file_goes_multipart_and_round_trips(
    s3cmd: S3cmd, big_file: BigFile, oracle: Any, tmp_path: Path
) -> None:
    """A 20 MiB put goes up in two 15 MiB-chunk parts; get gives the same SHA-256."""
    ok(s3cmd("mb", URI))
    ok(s3cmd("put", str(big_file.path), f"{URI}/big.bin"))
    # s3cmd's default multipart_chunk_size_mb is 15: 20 MiB is two parts, and a
    # multipart object's ETag ends in "-<part count>".
    assert oracle.head_object(Bucket=BUCKET, Key="big.bin")["ETag"].endswith('-2"')
    dest = tmp_path / "big.got"
    ok(s3cmd("get", f"{URI}/big.bin", str(dest)))
    assert sha256_file(dest) == big_file.sha256


def test_ls_with_and_without_delimiter(s3cmd: S3cmd, filled: dict[str, bytes]) -> None:
    """ls shows one level (DIR prefixes), ls --recursive and la show every key."""
    keys, prefixes = _listed(ok(s3cmd("ls", f"{URI}/")))
    assert keys == list(TOP_LEVEL_OBJECTS)
    assert prefixes == list(TOP_LEVEL_PREFIXES)
    keys, prefixes = _listed(ok(s3cmd("ls", f"{URI}/nested/")))
    assert (keys, prefixes) == (list(NESTED_OBJECTS), list(NESTED_PREFIXES))
    keys, prefixes = _listed(ok(s3cmd("ls", "--recursive", URI)))
    assert (keys, prefixes) == (utf8_sorted(SCENARIO_KEYS), [])
    keys, prefixes = _listed(ok(s3cmd("la", "--recursive")))
    assert (keys, prefixes) == (utf8_sorted(SCENARIO_KEYS), [])


def test_get_continue_reads_only_the_missing_range(
    s3cmd: S3cmd, filled: dict[str, bytes], tmp_path: Path
) -> None:
    """get --continue asks for `Range: bytes=N-` and appends only those bytes."""
    key = "with space.txt"
    body = filled[key]
    partial = tmp_path / "partial"
    # A local prefix that differs from the object: if the server ignored the Range
    # and sent the whole object, the result could not be marker + tail.
    marker = b"\0" * 1000
    partial.write_bytes(marker)
    ok(s3cmd("get", "--continue", f"{URI}/{key}", str(partial)))
    assert partial.read_bytes() == marker + body[len(marker) :]


def test_cp_copies_on_the_server(
    s3cmd: S3cmd, filled: dict[str, bytes], tmp_path: Path
) -> None:
    """cp makes a server-side copy (CopyObject) with the same bytes."""
    # s3cmd first asks GetObjectAcl, to carry the source's ACL over; it copies
    # without one when the server answers NotImplemented (501), as this one does.
    ok(s3cmd("cp", f"{URI}/plus+sign.txt", f"{URI}/copies/plus+sign copy.txt"))
    dest = tmp_path / "copy"
    ok(s3cmd("get", f"{URI}/copies/plus+sign copy.txt", str(dest)))
    assert dest.read_bytes() == filled["plus+sign.txt"]


@pytest.mark.parametrize(
    "key", ["plus+sign.txt", "unicodé/ñandú 文件.txt"], ids=["plus", "unicode"]
)
def test_signurl_fetched_with_curl(
    s3cmd: S3cmd, filled: dict[str, bytes], tmp_path: Path, key: str
) -> None:
    """A URL from `s3cmd signurl` (SigV2 query auth) fetched by curl gives the bytes."""
    url = ok(s3cmd("signurl", f"{URI}/{key}", "+600")).strip()
    got = curl_get(url, tmp_path)
    assert (got.status, got.body) == (200, filled[key])


def test_sync_up_changes_and_down(s3cmd: S3cmd, oracle: Any, tmp_path: Path) -> None:
    """sync uploads a tree, then only what changed; syncing down reproduces it."""
    ok(s3cmd("mb", URI))
    tree = tmp_path / "tree"
    write_scenario_tree(tree)
    ok(s3cmd("sync", f"{tree}/", f"{URI}/"))
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)
    (tree / "nested" / "top.txt").write_bytes(b"changed\n")
    out = ok(s3cmd("sync", f"{tree}/", f"{URI}/"))
    uploads = [line for line in out.splitlines() if line.startswith("upload:")]
    assert len(uploads) == 1 and "nested/top.txt" in uploads[0]
    down = tmp_path / "down"
    ok(s3cmd("sync", f"{URI}/", f"{down}/"))
    assert read_tree(down) == read_tree(tree)


def test_del_recursive_then_rb(
    s3cmd: S3cmd, filled: dict[str, bytes], oracle: Any
) -> None:
    """del --recursive --force empties the bucket; rb then removes it."""
    ok(s3cmd("del", "--recursive", "--force", f"{URI}/"))
    assert stored_keys(oracle, BUCKET) == []
    ok(s3cmd("rb", URI))
    assert BUCKET not in bucket_names(oracle)


def test_wrong_secret_reports_signature_does_not_match(
    server: ServerThread, s3cmd: S3cmd, tmp_path: Path
) -> None:
    """With a wrong secret s3cmd prints S3's code: 403 (SignatureDoesNotMatch)."""
    ok(s3cmd("mb", URI))
    bad = S3cmd(s3cmd.exe, server, tmp_path / "home", WRONG_SECRET)
    result = bad("ls", URI)
    assert result.returncode != 0
    assert "S3 error: 403 (SignatureDoesNotMatch)" in result.stderr


def test_missing_key_bucket_and_non_empty_bucket_report_s3_codes(
    s3cmd: S3cmd, filled: dict[str, bytes], oracle: Any
) -> None:
    """s3cmd prints NoSuchKey, NoSuchBucket and BucketNotEmpty; nothing is removed."""
    # `info` sends HEAD, and a HEAD error has no body: s3cmd names a 404 on HEAD
    # NoSuchKey itself (S3/S3.py object_info). The 404 is the server's.
    result = s3cmd("info", f"{URI}/no such key")
    assert result.returncode != 0
    assert "S3 error: 404 (NoSuchKey)" in result.stderr
    # These two codes come from the server's XML error body.
    result = s3cmd("ls", "s3://no-such-bucket")
    assert result.returncode != 0
    assert "S3 error: 404 (NoSuchBucket)" in result.stderr
    result = s3cmd("rb", URI)
    assert result.returncode != 0
    assert "S3 error: 409 (BucketNotEmpty)" in result.stderr
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)
