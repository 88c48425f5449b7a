"""ListParts and ListMultipartUploads through boto3, on both backends."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import unquote_plus

import botocore.exceptions

from tests.integration.uploads import (
    create,
    send_parts,
)

ClientError = botocore.exceptions.ClientError


def test_list_parts_pages(client: Any, bucket: str) -> None:
    """ListParts pages by part number with max-parts and part-number-marker."""
    upload_id = create(client, bucket)
    send_parts(client, bucket, "big", upload_id, {n: b"p%d" % n for n in range(1, 6)})
    seen: list[int] = []
    marker = 0
    while True:
        page = client.list_parts(
            Bucket=bucket,
            Key="big",
            UploadId=upload_id,
            MaxParts=2,
            PartNumberMarker=marker,
        )
        numbers = [p["PartNumber"] for p in page["Parts"]]
        assert all(p["Size"] == 2 for p in page["Parts"])
        assert page["PartNumberMarker"] == marker
        seen += numbers
        if not page["IsTruncated"]:
            break
        marker = page["NextPartNumberMarker"]
        assert marker == numbers[-1]
    assert seen == [1, 2, 3, 4, 5]
    assert page["Initiator"]["DisplayName"] == "alice"
    assert page["Owner"]["DisplayName"] == "alice"
    assert page["StorageClass"] == "STANDARD"
    etags = [
        p["ETag"]
        for p in client.list_parts(Bucket=bucket, Key="big", UploadId=upload_id)[
            "Parts"
        ]
    ]
    assert etags == [f'"{hashlib.md5(b"p%d" % n).hexdigest()}"' for n in range(1, 6)]


def test_list_multipart_uploads(client: Any, bucket: str) -> None:
    """Uploads list by key then initiation, with prefix, delimiter and pages."""
    keys = ["b", "a/2", "b", "a/1", "c", "a/1/deep"]
    ids = [create(client, bucket, key) for key in keys]
    listed = client.list_multipart_uploads(Bucket=bucket)
    pairs = [(u["Key"], u["UploadId"]) for u in listed["Uploads"]]
    assert [k for k, _ in pairs] == ["a/1", "a/1/deep", "a/2", "b", "b", "c"]
    assert [u for k, u in pairs if k == "b"] == [ids[0], ids[2]]
    assert listed["Uploads"][0]["Initiator"]["DisplayName"] == "alice"
    rolled = client.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["a/"]
    assert [u["Key"] for u in rolled["Uploads"]] == ["b", "b", "c"]
    inner = client.list_multipart_uploads(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [p["Prefix"] for p in inner["CommonPrefixes"]] == ["a/1/"]
    assert [u["Key"] for u in inner["Uploads"]] == ["a/1", "a/2"]
    seen: list[tuple[str, str]] = []
    kwargs: dict[str, str] = {}
    while True:
        page = client.list_multipart_uploads(Bucket=bucket, MaxUploads=2, **kwargs)
        seen += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
        if not page["IsTruncated"]:
            break
        kwargs = {
            "KeyMarker": page["NextKeyMarker"],
            "UploadIdMarker": page["NextUploadIdMarker"],
        }
    assert seen == pairs


def test_list_uploads_pages_over_common_prefixes(client: Any, bucket: str) -> None:
    """A page that ends on a common prefix resumes after all of its uploads."""
    for key in ["a/1", "a/2", "b/1", "c"]:
        create(client, bucket, key)
    first = client.list_multipart_uploads(Bucket=bucket, Delimiter="/", MaxUploads=1)
    assert [p["Prefix"] for p in first["CommonPrefixes"]] == ["a/"]
    assert first["IsTruncated"] and first["NextKeyMarker"] == "a/"
    rest = client.list_multipart_uploads(Bucket=bucket, Delimiter="/", KeyMarker="a/")
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["b/"]
    assert [u["Key"] for u in rest["Uploads"]] == ["c"]


def test_list_uploads_url_encoding(client: Any, bucket: str) -> None:
    """EncodingType=url lists keys and markers form-encoded, as on S3."""
    create(client, bucket, "sp ace+%/ü")
    listed = client.list_multipart_uploads(
        Bucket=bucket, EncodingType="url", KeyMarker="a b"
    )
    assert [u["Key"] for u in listed["Uploads"]] == ["sp+ace%2B%25/%C3%BC"]
    assert unquote_plus(listed["Uploads"][0]["Key"]) == "sp ace+%/ü"
    assert (listed["KeyMarker"], listed["EncodingType"]) == ("a+b", "url")
