"""The AWS SDK for JavaScript v3 works against the server, aws-chunked streams included.

``tests/clients/js/s3_smoke.mjs`` runs under node with the SDK that
``npm ci --prefix tests/clients/js`` installs from the committed package-lock.json;
it prints JSON that this test checks against values computed here. The SDK sends a
stream body as ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` with a CRC32 trailer over plain
HTTP too (unlike botocore, which does so only over HTTPS), so no TLS is needed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from s3server.server import ServerThread

JS_DIR = Path(__file__).resolve().parents[1] / "clients" / "js"
SCRIPT = JS_DIR / "s3_smoke.mjs"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (JS_DIR / "node_modules" / "@aws-sdk" / "client-s3").is_dir(),
        reason="the JS SDK is not installed: run npm ci --prefix tests/clients/js",
    ),
]


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _run(server: ServerThread, bucket: str) -> dict[str, Any]:
    assert NODE is not None
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "S3_ENDPOINT": server.endpoint_url,
        "S3_ACCESS_KEY": server.access_key,
        "S3_SECRET_KEY": server.secret_key,
        "S3_REGION": server.region,
        "S3_BUCKET": bucket,
    }
    done = subprocess.run(
        [NODE, str(SCRIPT)],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_js_sdk_put_get_head_list_delete(server: ServerThread, bucket: str) -> None:
    """String, Buffer and aws-chunked stream bodies round-trip with their CRC32s."""
    out = _run(server, bucket)
    size = out["expected"]["streamSize"]
    stream = bytes((i * 7) % 251 for i in range(size))
    expected = {
        "string.txt": b"hello from the JS SDK",
        "buffer.bin": b"a buffer body",
        "stream-known-length.bin": stream,
    }
    assert out["expected"]["streamSha256"] == hashlib.sha256(stream).hexdigest()
    for key, data in expected.items():
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        assert out["puts"][key] == {"etag": f'"{md5}"', "checksumCRC32": _crc32(data)}
        assert out["gets"][key] == {
            "length": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "checksumCRC32": _crc32(data),
            "contentEncoding": None,
        }
        assert out["heads"][key] == {
            "contentLength": len(data),
            "etag": f'"{md5}"',
            "checksumCRC32": _crc32(data),
        }
    assert out["listed"] == [
        {"key": key, "size": len(data)} for key, data in sorted(expected.items())
    ]
    assert out["listedAfterDelete"] == []


def test_js_sdk_sends_streams_as_aws_chunked_with_a_trailer(
    server: ServerThread, bucket: str
) -> None:
    """The stream went as aws-chunked + CRC32 trailer; the string with a header."""
    sent = _run(server, bucket)["sent"]
    stream = sent["stream-known-length.bin"]
    assert stream["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert stream["content-encoding"] == "aws-chunked"
    assert stream["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert stream["x-amz-decoded-content-length"] == str(3 * 1024 * 1024 + 123)
    text = sent["string.txt"]
    assert (
        text["x-amz-content-sha256"]
        == hashlib.sha256(b"hello from the JS SDK").hexdigest()
    )
    assert text["x-amz-checksum-crc32"] == _crc32(b"hello from the JS SDK")
