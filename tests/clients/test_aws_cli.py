"""The AWS CLI (v1, the ``awscli`` package) against the real server, as subprocesses.

The shared scenario through the commands people type: ``aws s3`` mb, cp
(recursive, multipart over 8 MiB, server-side copy), ls, sync, mv, presign,
rm --recursive and rb --force, and ``aws s3api`` for head-object,
list-objects-v2, ranged get-object and the multipart calls one by one. The
environment has only the keys and the region; ``--endpoint-url`` names the
server (or ``AWS_ENDPOINT_URL_S3``). Transfer and signing settings stay the
CLI's defaults. The AWS CLI's own auth and streaming tests are in
``tests/integration/test_aws_cli*.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
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
    curl,
    ok,
    read_tree,
    run,
    seed_scenario,
    sha256_bytes,
    sha256_file,
    stored_keys,
    utf8_sorted,
    write_scenario_tree,
)

CLIENT = "AWS CLI v1"
# Where tools/client_matrix.py reads the versions this ran with.
VERSIONS = ("pip:awscli", "pip:botocore")
EXERCISED = (
    "`aws s3`: mb, ls (one level and --recursive), cp (--recursive; 20 MiB multipart; "
    "S3 to S3), mv, sync (up, --delete, down), presign + curl, rm --recursive, rb, rb "
    "--force; `aws s3api`: head-object, list-objects-v2 (--delimiter, --page-size), "
    "get-object --range, create-multipart-upload, upload-part, list-parts, "
    "complete-multipart-upload; errors NoSuchKey, BucketNotEmpty, "
    "SignatureDoesNotMatch"
)
SETTINGS = (
    "`--endpoint-url http://127.0.0.1:PORT` (or `AWS_ENDPOINT_URL_S3`), "
    "`AWS_DEFAULT_REGION=us-east-1` and the keys; nothing else",
)
CANNOT: dict[str, str] = {}

BUCKET = "awscli-bucket"
URI = f"s3://{BUCKET}"


def _aws_path() -> str:
    # The script beside this interpreter first: a pyenv shim would pick whatever
    # Python the shell's version file names.
    beside = Path(sys.executable).parent / "aws"
    found = str(beside) if beside.exists() else shutil.which("aws")
    if found is None:
        pytest.skip("the AWS CLI is not installed (pip install awscli)")
    return found


class Aws:
    """``aws`` with the keys in its environment and the server as endpoint."""

    def __init__(self, exe: str, server: ServerThread, home: Path, secret: str):
        self.exe = exe
        self.endpoint = server.endpoint_url
        missing = str(home / "no-aws-config")
        self.env = client_env(
            home,
            {
                "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_CONFIG_FILE": missing,
                "AWS_SHARED_CREDENTIALS_FILE": missing,
                # One attempt: errors show at once instead of after retries.
                "AWS_MAX_ATTEMPTS": "1",
            },
        )

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run([self.exe, "--endpoint-url", self.endpoint, *args], self.env)

    def json(self, *args: str) -> Any:
        """The parsed JSON an ``aws s3api`` command printed."""
        return json.loads(ok(self(*args)))


@pytest.fixture
def aws(server: ServerThread, tmp_path: Path) -> Aws:
    """The AWS CLI configured for the test server with the right secret."""
    return Aws(_aws_path(), server, tmp_path / "home", SECRET_KEY)


@pytest.fixture
def filled(aws: Aws, tmp_path: Path) -> dict[str, bytes]:
    """The scenario bucket, made and filled by the CLI (mb, cp --recursive)."""
    ok(aws("s3", "mb", URI))
    tree = tmp_path / "tree"
    files = write_scenario_tree(tree)
    ok(aws("s3", "cp", "--recursive", str(tree), f"{URI}/"))
    return files


@pytest.fixture
def seeded(oracle: Any) -> dict[str, bytes]:
    """The scenario bucket, filled with boto3 (each CLI call costs a second)."""
    return seed_scenario(oracle, BUCKET)


def _ls_names(stdout: str) -> tuple[list[str], list[str]]:
    """(objects, prefixes) from `aws s3 ls` lines: `PRE name/` or `date time size`."""
    objects, prefixes = [], []
    for line in stdout.splitlines():
        if line.strip().startswith("PRE "):
            prefixes.append(line.strip()[4:])
        elif line.strip():
            objects.append(line.split(maxsplit=3)[3])
    return objects, prefixes


def test_mb_ls_rb(aws: Aws, oracle: Any) -> None:
    """`aws s3 mb` makes the bucket, `aws s3 ls` lists it, `rb` removes it."""
    assert ok(aws("s3", "mb", URI)).strip() == f"make_bucket: {BUCKET}"
    assert BUCKET in ok(aws("s3", "ls")).split()
    ok(aws("s3", "rb", URI))
    assert BUCKET not in bucket_names(oracle)


def test_cp_recursive_stores_every_key_and_downloads_them(
    aws: Aws, filled: dict[str, bytes], oracle: Any, tmp_path: Path
) -> None:
    """cp --recursive stores every key as named; copying back gives equal SHA-256s."""
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)
    down = tmp_path / "down"
    ok(aws("s3", "cp", "--recursive", f"{URI}/", str(down)))
    assert {k: sha256_bytes(v) for k, v in read_tree(down).items()} == {
        k: sha256_bytes(v) for k, v in filled.items()
    }


def test_cp_large_file_is_multipart(
    aws: Aws, big_file: BigFile, oracle: Any, tmp_path: Path
) -> None:
    """20 MiB goes up in three 8 MiB-chunk parts and comes back with the SHA-256."""
    ok(aws("s3", "mb", URI))
    ok(aws("s3", "cp", str(big_file.path), f"{URI}/big/big file.bin"))
    # The CLI's multipart_threshold and chunksize are 8 MiB: 8 + 8 + 4 MiB.
    head = aws.json(
        *("s3api", "head-object", "--bucket", BUCKET, "--key", "big/big file.bin")
    )
    assert (head["ContentLength"], head["ETag"][-3:]) == (big_file.size, '-3"')
    dest = tmp_path / "big.got"
    ok(aws("s3", "cp", f"{URI}/big/big file.bin", str(dest)))
    assert sha256_file(dest) == big_file.sha256


def test_ls_and_list_objects_v2_with_and_without_delimiter(
    aws: Aws, seeded: dict[str, bytes]
) -> None:
    """`s3 ls` lists one level (PRE lines), --recursive every key; s3api agrees."""
    assert _ls_names(ok(aws("s3", "ls", f"{URI}/"))) == (
        list(TOP_LEVEL_OBJECTS),
        [p.rstrip("/") + "/" for p in TOP_LEVEL_PREFIXES],
    )
    objects, prefixes = _ls_names(ok(aws("s3", "ls", "--recursive", f"{URI}/")))
    assert (objects, prefixes) == (utf8_sorted(SCENARIO_KEYS), [])
    listed = aws.json(
        *("s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", "nested/"),
        *("--delimiter", "/"),
    )
    assert [o["Key"] for o in listed["Contents"]] == list(NESTED_OBJECTS)
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == list(NESTED_PREFIXES)
    # --page-size makes the CLI follow continuation tokens over three pages.
    paged = aws.json(
        *("s3api", "list-objects-v2", "--bucket", BUCKET, "--page-size", "3")
    )
    assert [o["Key"] for o in paged["Contents"]] == utf8_sorted(SCENARIO_KEYS)


def test_head_object_and_ranged_get_object(
    aws: Aws, seeded: dict[str, bytes], tmp_path: Path
) -> None:
    """s3api head-object gives the size; get-object --range gives those bytes."""
    key = "unicodé/ñandú 文件.txt"
    body = seeded[key]
    head = aws.json("s3api", "head-object", "--bucket", BUCKET, "--key", key)
    assert head["ContentLength"] == len(body)
    out = tmp_path / "range.bin"
    got = aws.json(
        *("s3api", "get-object", "--bucket", BUCKET, "--key", key),
        *("--range", "bytes=7-26", str(out)),
    )
    assert got["ContentRange"] == f"bytes 7-26/{len(body)}"
    assert out.read_bytes() == body[7:27]


def test_s3api_multipart_calls(aws: Aws, oracle: Any, tmp_path: Path) -> None:
    """create-multipart-upload, upload-part x2, list-parts, complete: one object."""
    ok(aws("s3", "mb", URI))
    parts = [tmp_path / "p1", tmp_path / "p2"]
    parts[0].write_bytes(b"a" * (5 * 1024 * 1024))
    parts[1].write_bytes(b"b" * 1000)
    key = "multi part+.bin"
    upload = aws.json(
        "s3api", "create-multipart-upload", "--bucket", BUCKET, "--key", key
    )["UploadId"]
    etags = [
        aws.json(
            *("s3api", "upload-part", "--bucket", BUCKET, "--key", key),
            *("--upload-id", upload, "--part-number", str(n), "--body", str(part)),
        )["ETag"]
        for n, part in enumerate(parts, start=1)
    ]
    listed = aws.json(
        *("s3api", "list-parts", "--bucket", BUCKET, "--key", key),
        *("--upload-id", upload),
    )
    assert [(p["PartNumber"], p["ETag"]) for p in listed["Parts"]] == [
        (1, etags[0]),
        (2, etags[1]),
    ]
    layout = {"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]}
    done = aws.json(
        *("s3api", "complete-multipart-upload", "--bucket", BUCKET, "--key", key),
        *("--upload-id", upload, "--multipart-upload", json.dumps(layout)),
    )
    assert done["ETag"].endswith('-2"')
    got = oracle.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert got == parts[0].read_bytes() + parts[1].read_bytes()


def test_cp_and_mv_between_keys_copy_on_the_server(
    aws: Aws, seeded: dict[str, bytes], oracle: Any
) -> None:
    """s3->s3 cp copies (CopyObject); mv copies then deletes the source."""
    ok(aws("s3", "cp", f"{URI}/plus+sign.txt", f"{URI}/copies/plus+sign copy.txt"))
    ok(aws("s3", "mv", f"{URI}/100% done.txt", f"{URI}/moved/100% done.txt"))
    keys = stored_keys(oracle, BUCKET)
    assert "100% done.txt" not in keys
    for key, source in (
        ("copies/plus+sign copy.txt", "plus+sign.txt"),
        ("moved/100% done.txt", "100% done.txt"),
    ):
        body = oracle.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert body == seeded[source], key


def test_sync_up_changes_and_down(aws: Aws, oracle: Any, tmp_path: Path) -> None:
    """sync uploads a tree, then only what changed (--delete removes); down again."""
    ok(aws("s3", "mb", URI))
    tree = tmp_path / "tree"
    write_scenario_tree(tree)
    # sync re-sends a file whose mtime is later than the object's LastModified,
    # which S3 gives in whole seconds: files made this very second would all go
    # again. An hour-old tree is the usual case.
    for path in tree.rglob("*"):
        os.utime(path, (time.time() - 3600,) * 2)
    ok(aws("s3", "sync", str(tree), URI))
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)
    (tree / "nested" / "top.txt").write_bytes(b"changed, and longer than before\n")
    (tree / "small.txt").unlink()
    out = ok(aws("s3", "sync", "--delete", str(tree), URI))
    actions = sorted(line.split(":")[0] for line in out.splitlines() if ":" in line)
    assert actions == ["delete", "upload"], out
    assert "small.txt" not in stored_keys(oracle, BUCKET)
    down = tmp_path / "down"
    ok(aws("s3", "sync", URI, str(down)))
    assert read_tree(down) == read_tree(tree)


def test_presign_fetched_with_curl(
    aws: Aws, seeded: dict[str, bytes], tmp_path: Path
) -> None:
    """A URL from `aws s3 presign` fetched by curl gives the object's bytes."""
    key = "with space.txt"
    url = ok(aws("s3", "presign", f"{URI}/{key}", "--expires-in", "600")).strip()
    got = curl(url, tmp_path)
    assert (got.status, got.body) == (200, seeded[key])


def test_rm_recursive_then_rb_and_rb_force(
    aws: Aws, seeded: dict[str, bytes], oracle: Any
) -> None:
    """rm --recursive empties a prefix and then the bucket; rb --force does both."""
    ok(aws("s3", "rm", "--recursive", f"{URI}/nested/"))
    assert not [k for k in stored_keys(oracle, BUCKET) if k.startswith("nested/")]
    ok(aws("s3", "rm", "--recursive", URI))
    assert stored_keys(oracle, BUCKET) == []
    ok(aws("s3", "rb", URI))
    ok(aws("s3", "mb", URI))
    oracle.put_object(Bucket=BUCKET, Key="left over.txt", Body=b"x")
    ok(aws("s3", "rb", "--force", URI))
    assert BUCKET not in bucket_names(oracle)


def test_errors_print_s3_codes(
    aws: Aws, seeded: dict[str, bytes], server: ServerThread, tmp_path: Path
) -> None:
    """The CLI prints NoSuchKey, BucketNotEmpty and SignatureDoesNotMatch; exit 255."""
    missing = aws(
        *("s3api", "get-object", "--bucket", BUCKET, "--key", "no such key"),
        str(tmp_path / "nothing"),
    )
    assert missing.returncode == 255
    assert (
        "An error occurred (NoSuchKey) when calling the GetObject operation: "
        "The specified key does not exist." in missing.stderr
    )
    not_empty = aws("s3api", "delete-bucket", "--bucket", BUCKET)
    assert not_empty.returncode == 255
    assert "(BucketNotEmpty)" in not_empty.stderr
    bad = Aws(aws.exe, server, tmp_path / "home", WRONG_SECRET)
    denied = bad("s3", "ls", f"{URI}/")
    assert denied.returncode != 0
    assert "(SignatureDoesNotMatch)" in denied.stderr
