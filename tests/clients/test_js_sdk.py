"""The AWS SDK for JavaScript v3 against the real server, run with node.

The shared scenario through ``@aws-sdk/client-s3`` (CreateBucket, PutObject,
paginated ListObjectsV2, ranged GetObject, CopyObject, DeleteObjects,
DeleteBucket), ``@aws-sdk/lib-storage``'s ``Upload`` (multipart, from a stream)
and ``@aws-sdk/s3-request-presigner``. ``tests/clients/js/scenario.mjs`` runs the
steps a test hands it and prints what the SDK returned or threw; the test checks
that against the server with boto3. ``npm ci --prefix tests/clients/js`` installs
the SDK from the committed lock file. Settings: ``endpoint``, ``region`` and the
credentials (an IP-address endpoint is addressed path-style). The SDK's
aws-chunked streaming is tested in ``tests/integration/test_js_sdk.py``.
"""

from __future__ import annotations

import base64
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
    curl,
    seed_scenario,
    sha256_bytes,
    stored_keys,
    utf8_sorted,
    write_scenario_tree,
)

CLIENT = "AWS SDK for JavaScript v3"
# Where tools/client_matrix.py reads the versions this ran with.
VERSIONS = (
    "cmd:node --version",
    "npm:@aws-sdk/client-s3",
    "npm:@aws-sdk/lib-storage",
    "npm:@aws-sdk/s3-request-presigner",
)
EXERCISED = (
    "client-s3: CreateBucket, PutObject, GetObject (whole and Range), HeadObject, "
    "paginateListObjectsV2 (with and without Delimiter), CopyObject, DeleteObjects, "
    "DeleteBucket; lib-storage Upload (20 MiB stream, 5 MiB parts); "
    "s3-request-presigner getSignedUrl + curl; errors NoSuchKey, NotFound (HEAD), "
    "BucketNotEmpty, SignatureDoesNotMatch"
)
SETTINGS = (
    "`new S3Client({endpoint: 'http://127.0.0.1:PORT', region: 'us-east-1', "
    "credentials: {...}})`: with an IP-address endpoint the SDK addresses buckets "
    "path-style by itself; with a host name it uses `bucket.<host>` (served for "
    "`localhost`, see `--domain`) unless `forcePathStyle: true`",
    "`CopySource` must be URL-encoded by the caller (S3's rule; the SDK sends it "
    "as given)",
)
CANNOT: dict[str, str] = {}

BUCKET = "js-sdk-bucket"
JS_DIR = Path(__file__).resolve().parent / "js"
SCRIPT = JS_DIR / "scenario.mjs"
PART = 5 * 1024 * 1024


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install nodejs)")
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "lib-storage").is_dir():
        pytest.skip("the JS SDK is not installed: npm ci --prefix tests/clients/js")
    return node


class JsSdk:
    """``scenario.mjs`` under node, configured for one server and secret."""

    def __init__(self, node: str, server: ServerThread, home: Path, secret: str):
        self.node = node
        self.env = client_env(
            home,
            {
                "S3_ENDPOINT": server.endpoint_url,
                "S3_ACCESS_KEY": ACCESS_KEY,
                "S3_SECRET_KEY": secret,
                "S3_REGION": REGION,
                "S3_BUCKET": BUCKET,
            },
        )

    def steps(self, *steps: dict[str, Any]) -> list[dict[str, Any]]:
        """Run the steps in one node process; each step's result, errors included."""
        done = subprocess.run(
            [self.node, str(SCRIPT), json.dumps(steps)],
            cwd=JS_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        results: list[dict[str, Any]] = json.loads(done.stdout)
        return results

    def ok(self, *steps: dict[str, Any]) -> list[dict[str, Any]]:
        """Run the steps; every one of them must have succeeded."""
        results = self.steps(*steps)
        assert len(results) == len(steps)
        failed = [
            (s, r["error"]) for s, r in zip(steps, results, strict=True) if "error" in r
        ]
        assert not failed, failed
        return results


@pytest.fixture
def js(server: ServerThread, tmp_path: Path) -> JsSdk:
    """The scenario script with the right secret."""
    return JsSdk(_node(), server, tmp_path / "home", SECRET_KEY)


@pytest.fixture
def seeded(oracle: Any) -> dict[str, bytes]:
    """The scenario bucket, filled with boto3 (the SDK's own puts have a test)."""
    return seed_scenario(oracle, BUCKET)


def test_create_and_delete_bucket(js: JsSdk, oracle: Any) -> None:
    """CreateBucket makes the bucket; DeleteBucket removes it."""
    js.ok({"op": "createBucket"})
    assert BUCKET in bucket_names(oracle)
    js.ok({"op": "deleteBucket"})
    assert BUCKET not in bucket_names(oracle)


def test_put_every_key_and_download_it(js: JsSdk, oracle: Any, tmp_path: Path) -> None:
    """PutObject stores every scenario key as named; GetObject gives the SHA-256."""
    files = write_scenario_tree(tmp_path / "tree")
    puts = [
        {"op": "put", "key": key, "file": str(tmp_path / "tree" / key)}
        for key in SCENARIO_KEYS
    ]
    gets = [
        {"op": "download", "key": key, "file": str(tmp_path / f"got-{n}")}
        for n, key in enumerate(SCENARIO_KEYS)
    ]
    results = js.ok({"op": "createBucket"}, *puts, *gets)
    assert utf8_sorted(stored_keys(oracle, BUCKET)) == utf8_sorted(SCENARIO_KEYS)
    downloads = results[1 + len(puts) :]
    assert [r["sha256"] for r in downloads] == [
        sha256_bytes(files[key]) for key in SCENARIO_KEYS
    ]


def test_lib_storage_upload_is_multipart(
    js: JsSdk, big_file: BigFile, oracle: Any, tmp_path: Path
) -> None:
    """Upload sends a 20 MiB stream in four 5 MiB parts; GetObject gives the SHA."""
    key = "big/big file.bin"
    dest = tmp_path / "big.got"
    _, upload, download = js.ok(
        {"op": "createBucket"},
        {"op": "upload", "key": key, "file": str(big_file.path), "partSize": PART},
        {"op": "download", "key": key, "file": str(dest)},
    )
    assert upload["parts"] == 4
    head = oracle.head_object(Bucket=BUCKET, Key=key)
    assert (head["ContentLength"], head["ETag"]) == (big_file.size, upload["etag"])
    assert head["ETag"].endswith('-4"')
    assert (download["length"], download["sha256"]) == (big_file.size, big_file.sha256)


def test_paginated_listing_with_and_without_delimiter(
    js: JsSdk, seeded: dict[str, bytes]
) -> None:
    """paginateListObjectsV2 (3 a page) lists every key; '/' lists one level."""
    flat, top, nested = js.ok(
        {"op": "list", "pageSize": 3},
        {"op": "list", "delimiter": "/"},
        {"op": "list", "prefix": "nested/", "delimiter": "/"},
    )
    assert (flat["pages"], flat["keys"]) == (3, utf8_sorted(SCENARIO_KEYS))
    assert (top["keys"], top["prefixes"]) == (
        list(TOP_LEVEL_OBJECTS),
        list(TOP_LEVEL_PREFIXES),
    )
    assert (nested["keys"], nested["prefixes"]) == (
        list(NESTED_OBJECTS),
        list(NESTED_PREFIXES),
    )


def test_ranged_get(js: JsSdk, seeded: dict[str, bytes]) -> None:
    """GetObject with Range answers 206 with exactly those bytes."""
    key = "unicodé/ñandú 文件.txt"
    body = seeded[key]
    (got,) = js.ok({"op": "range", "key": key, "range": "bytes=7-26"})
    assert (got["status"], got["contentRange"]) == (206, f"bytes 7-26/{len(body)}")
    assert base64.b64decode(got["base64"]) == body[7:27]


def test_copy_object(js: JsSdk, seeded: dict[str, bytes], oracle: Any) -> None:
    """CopyObject copies a '%' key to a unicode '+' key with the same bytes."""
    js.ok({"op": "copy", "source": "100% done.txt", "key": "copies/ñ+100%.txt"})
    got = oracle.get_object(Bucket=BUCKET, Key="copies/ñ+100%.txt")["Body"].read()
    assert got == seeded["100% done.txt"]


def test_presigned_get_fetched_with_curl(
    js: JsSdk, seeded: dict[str, bytes], tmp_path: Path
) -> None:
    """A getSignedUrl GetObject URL fetched by curl gives the object's bytes."""
    key = "plus+sign.txt"
    (signed,) = js.ok({"op": "presign", "key": key, "expiresIn": 600})
    got = curl(signed["url"], tmp_path)
    assert (got.status, got.body) == (200, seeded[key])


def test_delete_recursively_and_remove_bucket(
    js: JsSdk, seeded: dict[str, bytes], oracle: Any
) -> None:
    """DeleteObjects over the listing deletes every key; DeleteBucket then works."""
    deleted, _ = js.ok({"op": "deletePrefix", "prefix": ""}, {"op": "deleteBucket"})
    assert deleted == {"deleted": len(SCENARIO_KEYS), "errors": []}
    assert BUCKET not in bucket_names(oracle)


def test_errors_carry_s3_codes(
    server: ServerThread, js: JsSdk, seeded: dict[str, bytes], tmp_path: Path
) -> None:
    """The SDK's errors are named NoSuchKey, NotFound, BucketNotEmpty and so on."""
    missing, head, not_empty = js.steps(
        {"op": "range", "key": "no such key", "range": "bytes=0-1"},
        {"op": "head", "key": "no such key"},
        {"op": "deleteBucket"},
    )
    assert missing["error"]["name"] == "NoSuchKey"
    assert missing["error"]["status"] == 404
    assert missing["error"]["message"] == "The specified key does not exist."
    # A HEAD error has no body: the SDK names it from the status alone.
    assert (head["error"]["name"], head["error"]["status"]) == ("NotFound", 404)
    assert not_empty["error"]["name"] == "BucketNotEmpty"
    assert not_empty["error"]["status"] == 409
    bad = JsSdk(js.node, server, tmp_path / "home", WRONG_SECRET)
    (denied,) = bad.steps({"op": "list"})
    assert denied["error"]["name"] == "SignatureDoesNotMatch"
    assert denied["error"]["status"] == 403
