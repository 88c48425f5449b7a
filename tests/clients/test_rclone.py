"""rclone (Debian's package, the Go AWS SDK inside) against the real server.

The shared scenario through rclone's commands: mkdir, copy, copyto, ls, lsf,
lsjson, check, cat with offset/count, link, sync, purge, rmdir. The remote is
configured only through ``RCLONE_CONFIG_<NAME>_*`` variables: provider ``Other``,
the endpoint, keys, region and path-style addressing. The environment has no
``AWS_CA_BUNDLE``: rclone refuses to start when it names a file it cannot use.
"""

from __future__ import annotations

import json
import shutil
import subprocess
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

CLIENT = "rclone"
# Where tools/client_matrix.py reads the versions this ran with.
VERSIONS = ("cmd:rclone version",)
EXERCISED = (
    "mkdir, lsd, rmdir, copy (up and down), copyto (20 MiB multipart; remote to "
    "remote, server-side), ls (with and without --fast-list), lsf, lsjson, check, cat "
    "--offset --count (range), link + curl, sync, purge, deletefile; errors "
    "SignatureDoesNotMatch, BucketNotEmpty, not found"
)
SETTINGS = (
    "`type = s3`, `provider = Other`, `endpoint = http://127.0.0.1:PORT`",
    "`region = us-east-1`, `force_path_style = true` (rclone's default)",
    "*test only*: `--s3-upload-cutoff 5Mi --s3-chunk-size 5Mi` so the 20 MiB file "
    "goes multipart (rclone's own cutoff is 200 MiB)",
)
CANNOT: dict[str, str] = {}

BUCKET = "rclone-bucket"
REMOTE = f"s3t:{BUCKET}"
# Below rclone's 200 MiB default so the 20 MiB file takes the multipart path.
_MULTIPART = ("--s3-upload-cutoff", "5Mi", "--s3-chunk-size", "5Mi")


def _rclone_path() -> str:
    found = shutil.which("rclone")
    if found is None:
        pytest.skip("rclone is not installed (apt-get install rclone)")
    return found


class Rclone:
    """rclone with the remote ``s3t:`` defined in its environment."""

    def __init__(self, exe: str, server: ServerThread, home: Path, secret: str) -> None:
        self.exe = exe
        home.mkdir(parents=True, exist_ok=True)
        config = home / "rclone.conf"
        config.touch()
        self.env = client_env(
            home,
            {
                "RCLONE_CONFIG": str(config),
                "RCLONE_CONFIG_S3T_TYPE": "s3",
                "RCLONE_CONFIG_S3T_PROVIDER": "Other",
                "RCLONE_CONFIG_S3T_ENDPOINT": server.endpoint_url,
                "RCLONE_CONFIG_S3T_ACCESS_KEY_ID": ACCESS_KEY,
                "RCLONE_CONFIG_S3T_SECRET_ACCESS_KEY": secret,
                "RCLONE_CONFIG_S3T_REGION": REGION,
                "RCLONE_CONFIG_S3T_FORCE_PATH_STYLE": "true",
                # One try each: a failure shows at once instead of after rclone's
                # 3 retries x 10 low-level retries with back-off.
                "RCLONE_RETRIES": "1",
                "RCLONE_LOW_LEVEL_RETRIES": "1",
            },
        )

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run([self.exe, *args], self.env)

    def cat(self, *args: str) -> bytes:
        """`rclone cat` output as bytes (objects need not be text)."""
        result = subprocess.run(
            [self.exe, "cat", *args],
            env=self.env,
            capture_output=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        return result.stdout


@pytest.fixture
def rclone(server: ServerThread, tmp_path: Path) -> Rclone:
    """rclone configured for the test server with the right secret."""
    return Rclone(_rclone_path(), server, tmp_path / "home", SECRET_KEY)


@pytest.fixture
def filled(rclone: Rclone, tmp_path: Path) -> dict[str, bytes]:
    """The scenario bucket, made and filled by rclone (mkdir, copy)."""
    ok(rclone("mkdir", REMOTE))
    tree = tmp_path / "tree"
    files = write_scenario_tree(tree)
    ok(rclone("copy", str(tree), REMOTE))
    return files


def test_mkdir_lsd_rmdir_bucket(rclone: Rclone, oracle: Any) -> None:
    """mkdir makes the bucket, lsd lists it, rmdir removes it."""
    ok(rclone("mkdir", REMOTE))
    assert BUCKET in bucket_names(oracle)
    assert BUCKET in ok(rclone("lsd", "s3t:")).split()
    ok(rclone("rmdir", REMOTE))
    assert BUCKET not in bucket_names(oracle)


def test_copy_stores_every_key_and_check_matches(
    rclone: Rclone, filled: dict[str, bytes], oracle: Any, tmp_path: Path
) -> None:
    """copy stores every key as named; check agrees; copy back has equal SHA-256s."""
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)
    # `check` compares sizes and MD5 hashes (the ETags) of both sides.
    ok(rclone("check", str(tmp_path / "tree"), REMOTE))
    back = tmp_path / "back"
    ok(rclone("copy", REMOTE, str(back)))
    got = read_tree(back)
    assert {k: sha256_bytes(v) for k, v in got.items()} == {
        k: sha256_bytes(v) for k, v in filled.items()
    }


def test_large_file_multipart_round_trip(
    rclone: Rclone, big_file: BigFile, oracle: Any, tmp_path: Path
) -> None:
    """20 MiB goes up in four 5 MiB parts and comes back with the same SHA-256."""
    ok(rclone("mkdir", REMOTE))
    ok(rclone("copyto", *_MULTIPART, str(big_file.path), f"{REMOTE}/big.bin"))
    assert oracle.head_object(Bucket=BUCKET, Key="big.bin")["ETag"].endswith('-4"')
    dest = tmp_path / "big.got"
    ok(rclone("copyto", f"{REMOTE}/big.bin", str(dest)))
    assert sha256_file(dest) == big_file.sha256


def test_listing_with_and_without_delimiter(
    rclone: Rclone, filled: dict[str, bytes]
) -> None:
    """lsf/lsjson list one level (delimiter); ls and --fast-list list every key."""
    top = ok(rclone("lsf", REMOTE)).splitlines()
    # rclone shows prefixes as directories "name/" after listing with "/".
    assert sorted(top) == sorted([*TOP_LEVEL_OBJECTS, *TOP_LEVEL_PREFIXES])
    nested = json.loads(ok(rclone("lsjson", f"{REMOTE}/nested")))
    assert sorted((e["Path"], e["IsDir"]) for e in nested) == sorted(
        [(k.removeprefix("nested/"), False) for k in NESTED_OBJECTS]
        + [(p.removeprefix("nested/").rstrip("/"), True) for p in NESTED_PREFIXES]
    )
    # `ls` walks recursively; --fast-list makes it one listing without delimiter.
    for extra in ((), ("--fast-list",)):
        lines = ok(rclone("ls", *extra, REMOTE)).splitlines()
        assert sorted(line.split(maxsplit=1)[1] for line in lines) == sorted(
            SCENARIO_KEYS
        )


def test_cat_offset_count_is_a_ranged_read(
    rclone: Rclone, filled: dict[str, bytes]
) -> None:
    """cat --offset --count returns exactly that byte range."""
    key = "100% done.txt"
    got = rclone.cat("--offset", "7", "--count", "20", f"{REMOTE}/{key}")
    assert got == filled[key][7:27]


def test_copyto_between_keys_is_a_server_side_copy(
    rclone: Rclone, filled: dict[str, bytes]
) -> None:
    """copyto remote->remote copies on the server (CopyObject) with the same bytes."""
    src, dst = f"{REMOTE}/with space.txt", f"{REMOTE}/copies/with space copy.txt"
    ok(rclone("copyto", src, dst))
    assert rclone.cat(dst) == filled["with space.txt"]


def test_link_presigned_url_fetched_with_curl(
    rclone: Rclone, filled: dict[str, bytes], tmp_path: Path
) -> None:
    """A presigned URL from `rclone link` (SigV4 query) fetched by curl gives bytes."""
    key = "plus+sign.txt"
    url = ok(rclone("link", "--expire", "10m", f"{REMOTE}/{key}")).strip()
    assert "X-Amz-Signature=" in url
    got = curl_get(url, tmp_path)
    assert (got.status, got.body) == (200, filled[key])


def test_sync_uploads_changes_and_deletes_extras(
    rclone: Rclone, filled: dict[str, bytes], oracle: Any, tmp_path: Path
) -> None:
    """sync makes the bucket equal to the tree: changed files sent, extras deleted."""
    tree = tmp_path / "tree"
    (tree / "nested" / "top.txt").write_bytes(b"changed\n")
    (tree / "small.txt").unlink()
    ok(rclone("sync", str(tree), REMOTE))
    assert "small.txt" not in stored_keys(oracle, BUCKET)
    body = oracle.get_object(Bucket=BUCKET, Key="nested/top.txt")["Body"].read()
    assert body == b"changed\n"
    ok(rclone("check", str(tree), REMOTE))


def test_purge_deletes_recursively_and_the_bucket(
    rclone: Rclone, filled: dict[str, bytes], oracle: Any
) -> None:
    """purge deletes every object and then the bucket."""
    ok(rclone("purge", REMOTE))
    assert BUCKET not in bucket_names(oracle)


def test_wrong_secret_reports_signature_does_not_match(
    server: ServerThread, rclone: Rclone, tmp_path: Path
) -> None:
    """With a wrong secret rclone prints S3's code SignatureDoesNotMatch and 403."""
    ok(rclone("mkdir", REMOTE))
    bad = Rclone(rclone.exe, server, tmp_path / "home", WRONG_SECRET)
    result = bad("ls", REMOTE)
    assert result.returncode != 0
    assert "SignatureDoesNotMatch:" in result.stderr
    assert "status code: 403" in result.stderr


def test_rmdir_non_empty_bucket_reports_bucket_not_empty(
    rclone: Rclone, filled: dict[str, bytes], oracle: Any
) -> None:
    """rmdir on a bucket with objects prints BucketNotEmpty (409); nothing removed."""
    result = rclone("rmdir", REMOTE)
    assert result.returncode != 0
    assert "BucketNotEmpty:" in result.stderr
    assert "status code: 409" in result.stderr
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)


def test_missing_key_and_bucket_report_not_found(
    rclone: Rclone, filled: dict[str, bytes]
) -> None:
    """A missing key and a missing bucket fail with rclone's own not-found errors."""
    # rclone looks objects up with HEAD, whose 404 carries no body and so no S3
    # code: all rclone can say is that the key does not exist.
    result = rclone("deletefile", f"{REMOTE}/no such key")
    assert result.returncode != 0
    assert "doesn't exist" in result.stderr
    # A listing's NoSuchBucket XML code is what rclone's S3 backend turns into
    # "directory not found", exit code 3 (rclone docs, "Exit Code").
    result = rclone("ls", "s3t:no-such-bucket")
    assert result.returncode == 3
    assert "directory not found" in result.stderr
