"""Multipart checksums (COMPOSITE and FULL_OBJECT) through boto3, on both backends."""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any

import botocore.exceptions
import pytest
from awscrt import checksums as crt
from botocore.config import Config

from s3server.server import ServerThread
from tests.integration.conftest import error_code
from tests.integration.uploads import (
    PART,
    blob,
    create,
    finish,
    send_parts,
)

ClientError = botocore.exceptions.ClientError


def test_composite_checksums(client: Any, bucket: str) -> None:
    """A SHA256 upload checks parts and gives the checksum of part checksums, -N."""
    data = [blob(PART, 1), b"last"]
    upload_id = create(client, bucket, ChecksumAlgorithm="SHA256")
    parts = []
    for number, part in enumerate(data, 1):
        response = client.upload_part(
            Bucket=bucket,
            Key="big",
            UploadId=upload_id,
            PartNumber=number,
            Body=part,
            ChecksumAlgorithm="SHA256",
        )
        digest = base64.b64encode(hashlib.sha256(part).digest()).decode()
        assert response["ChecksumSHA256"] == digest
        parts.append(
            {"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": digest}
        )
    with pytest.raises(ClientError) as exc:
        without = {"PartNumber": 1, "ETag": parts[0]["ETag"]}
        finish(client, bucket, "big", upload_id, [without, parts[1]])
    assert error_code(exc) == ("InvalidRequest", 400)
    listed = client.list_parts(Bucket=bucket, Key="big", UploadId=upload_id)
    assert listed["ChecksumAlgorithm"] == "SHA256"
    assert [p["ChecksumSHA256"] for p in listed["Parts"]] == [
        p["ChecksumSHA256"] for p in parts
    ]
    done = finish(client, bucket, "big", upload_id, parts)
    joined = b"".join(hashlib.sha256(p).digest() for p in data)
    expected = base64.b64encode(hashlib.sha256(joined).digest()).decode() + "-2"
    assert done["ChecksumSHA256"] == expected
    head = client.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert (head["ChecksumSHA256"], head["ChecksumType"]) == (expected, "COMPOSITE")


def test_part_checksum_must_match_the_upload(client: Any, bucket: str) -> None:
    """A part checksummed with another algorithm than the upload's is refused."""
    upload_id = create(client, bucket, ChecksumAlgorithm="SHA256")
    with pytest.raises(ClientError) as exc:
        client.upload_part(
            Bucket=bucket,
            Key="big",
            UploadId=upload_id,
            PartNumber=1,
            Body=b"x",
            ChecksumAlgorithm="CRC32",
        )
    assert error_code(exc) == ("InvalidRequest", 400)
    assert (
        client.list_parts(Bucket=bucket, Key="big", UploadId=upload_id).get("Parts", [])
        == []
    )


def test_full_object_checksums(server: ServerThread, client: Any, bucket: str) -> None:
    """FULL_OBJECT CRCs, and the default ones, are the whole object's CRCs."""
    data = [blob(PART, 1), blob(1234, 2)]
    whole = b"".join(data)
    crc32 = base64.b64encode(zlib.crc32(whole).to_bytes(4, "big")).decode()
    crc64 = base64.b64encode(crt.crc64nvme(whole).to_bytes(8, "big")).decode()
    # A client that sends no checksum of its own unless an operation requires one.
    plain = server.client(config=Config(request_checksum_calculation="when_required"))
    full_crc32 = {"ChecksumAlgorithm": "CRC32", "ChecksumType": "FULL_OBJECT"}
    cases = [
        (client, "full", full_crc32, "ChecksumCRC32", crc32),
        # boto3 sends CRC32 part checksums by default: they combine.
        (client, "boto-default", {}, "ChecksumCRC32", crc32),
        # Parts without checksums get S3's default, CRC64NVME.
        (plain, "no-checksums", {}, "ChecksumCRC64NVME", crc64),
    ]
    for sender, key, kwargs, field, value in cases:
        upload_id = create(sender, bucket, key, **kwargs)
        parts = send_parts(sender, bucket, key, upload_id, dict(enumerate(data, 1)))
        finish(sender, bucket, key, upload_id, parts)
        head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert (head[field], head["ChecksumType"]) == (value, "FULL_OBJECT")
        got = client.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert got["Body"].read() == whole  # botocore validates the CRC here


def test_invalid_checksum_settings(client: Any, bucket: str) -> None:
    """Unknown algorithms and impossible algorithm/type pairs are InvalidRequest."""
    for kwargs in (
        {"ChecksumAlgorithm": "SHA256", "ChecksumType": "FULL_OBJECT"},
        {"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "COMPOSITE"},
    ):
        with pytest.raises(ClientError) as exc:
            create(client, bucket, **kwargs)
        assert error_code(exc) == ("InvalidRequest", 400)
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
