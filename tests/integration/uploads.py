"""Helpers for multipart tests: deterministic data and the upload steps via boto3."""

from __future__ import annotations

import hashlib
from typing import Any

import botocore.exceptions
import pytest

from tests.integration.conftest import error_code

MIB = 1024 * 1024
# Every part but the last must have at least 5 MiB.
PART = 5 * MIB


def blob(size: int, seed: int) -> bytes:
    """``size`` bytes that differ from one seed to another."""
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    return (block * (size // len(block) + 1))[:size]


def expected_etag(parts: list[bytes]) -> str:
    """S3's multipart ETag: MD5 of the concatenated binary part MD5s, then -N."""
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def create(client: Any, bucket: str, key: str = "big", **kwargs: Any) -> str:
    """Start an upload; its id."""
    return str(
        client.create_multipart_upload(Bucket=bucket, Key=key, **kwargs)["UploadId"]
    )


def send_parts(
    client: Any, bucket: str, key: str, upload_id: str, parts: dict[int, bytes]
) -> list[dict[str, Any]]:
    """Upload each part; the Parts list CompleteMultipartUpload takes."""
    done = []
    for number, data in parts.items():
        response = client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        done.append({"PartNumber": number, "ETag": response["ETag"]})
    return done


def finish(
    client: Any, bucket: str, key: str, upload_id: str, parts: list[dict[str, Any]]
) -> Any:
    """CompleteMultipartUpload with ``parts``."""
    return client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )


def assert_absent(client: Any, bucket: str, key: str = "big") -> None:
    """Nothing is stored at ``key``."""
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        client.head_object(Bucket=bucket, Key=key)
    assert error_code(exc) == ("404", 404)
