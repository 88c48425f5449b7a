"""Listings through boto3 over real HTTP: v2, v1, versions, encoding, paging."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from s3server.server import ServerThread
from tests.integration.conftest import error_code

ClientError = botocore.exceptions.ClientError

# Also against the standalone `s3server` process, the way users run it.
SERVER_KINDS = ("memory", "filesystem", "standalone")

# Keys whose order differs between naive path sorting and UTF-8 byte order, and keys
# that need url encoding (space, '+', '%', unicode, a control character).
KEYS = [
    "a-b",
    "a/b",
    "a/c/d",
    "a0",
    "b b",
    "b+b",
    "b%2Fb",
    "caf\u00e9",
    "dir/",
    "dir/x",
    "\U0001f600",
    "tab\tkey",
]


@pytest.fixture
def filled(client: Any, bucket: str) -> str:
    """A bucket holding KEYS, each with its own name as body."""
    for key in KEYS:
        client.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def _all_v2(client: Any, bucket: str, **kwargs: Any) -> tuple[list[str], list[str]]:
    keys: list[str] = []
    prefixes: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, **kwargs
    ):
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return keys, prefixes


def test_order_is_utf8_bytes(client: Any, filled: str) -> None:
    """Keys come back in UTF-8 byte order (a-b < a/b < a0) and survive encoding."""
    keys, _ = _all_v2(client, filled)
    assert keys == sorted(KEYS, key=lambda k: k.encode("utf-8"))


@pytest.mark.parametrize("page_size", [1, 2, 3, 1000])
def test_v2_paging_with_delimiter(client: Any, filled: str, page_size: int) -> None:
    """Any page size yields the same keys and common prefixes, each once."""
    keys, prefixes = _all_v2(
        client, filled, Delimiter="/", PaginationConfig={"PageSize": page_size}
    )
    assert keys == sorted(
        (k for k in KEYS if "/" not in k), key=lambda k: k.encode("utf-8")
    )
    assert prefixes == ["a/", "dir/"]


def test_v2_prefix_and_start_after(client: Any, filled: str) -> None:
    """Prefix narrows, StartAfter skips, and a nested delimiter rolls up."""
    keys, prefixes = _all_v2(client, filled, Prefix="a/", Delimiter="/")
    assert keys == ["a/b"]
    assert prefixes == ["a/c/"]
    keys, _ = _all_v2(client, filled, StartAfter="b b")
    assert keys[:2] == ["b%2Fb", "b+b"]
    page = client.list_objects_v2(Bucket=filled, MaxKeys=2)
    assert page["KeyCount"] == 2
    assert page["IsTruncated"] is True
    assert page["MaxKeys"] == 2
    assert "NextContinuationToken" in page


def test_v2_fetch_owner(client: Any, filled: str) -> None:
    """Owner appears in Contents only with FetchOwner."""
    plain = client.list_objects_v2(Bucket=filled)
    assert "Owner" not in plain["Contents"][0]
    owned = client.list_objects_v2(Bucket=filled, FetchOwner=True)
    assert owned["Contents"][0]["Owner"]["DisplayName"] == "alice"


def test_v2_contents_fields(client: Any, bucket: str) -> None:
    """Contents carry size, quoted ETag, LastModified and STANDARD storage class."""
    put = client.put_object(Bucket=bucket, Key="f", Body=b"12345")
    (entry,) = client.list_objects_v2(Bucket=bucket)["Contents"]
    assert entry["Size"] == 5
    assert entry["ETag"] == put["ETag"]
    assert entry["StorageClass"] == "STANDARD"
    head = client.head_object(Bucket=bucket, Key="f")
    assert entry["LastModified"] == head["LastModified"]


def test_v1_marker_paging(client: Any, filled: str) -> None:
    """ListObjects v1 pages with markers and returns every key once."""
    keys: list[str] = []
    prefixes: list[str] = []
    for page in client.get_paginator("list_objects").paginate(
        Bucket=filled, Delimiter="/", PaginationConfig={"PageSize": 2}
    ):
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert prefixes == ["a/", "dir/"]
    assert len(keys) == len([k for k in KEYS if "/" not in k])
    first = client.list_objects(Bucket=filled, MaxKeys=1, Delimiter="/")
    assert first["IsTruncated"] is True
    assert first["NextMarker"] == "a-b"
    no_delimiter = client.list_objects(Bucket=filled, MaxKeys=1)
    assert "NextMarker" not in no_delimiter


def test_versions_on_unversioned_bucket(client: Any, filled: str) -> None:
    """ListObjectVersions shows each object once as version null, latest."""
    versions: list[dict[str, Any]] = []
    for page in client.get_paginator("list_object_versions").paginate(
        Bucket=filled, PaginationConfig={"PageSize": 5}
    ):
        versions += page.get("Versions", [])
    assert sorted(v["Key"] for v in versions) == sorted(KEYS)
    assert {v["VersionId"] for v in versions} == {"null"}
    assert all(v["IsLatest"] for v in versions)


def test_bad_listing_arguments(client: Any, bucket: str) -> None:
    """A negative max-keys and a forged continuation token are InvalidArgument 400."""
    with pytest.raises(ClientError) as exc:
        client.list_objects_v2(Bucket=bucket, MaxKeys=-1)
    assert error_code(exc) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as exc:
        client.list_objects_v2(Bucket=bucket, ContinuationToken="%%%")
    assert error_code(exc) == ("InvalidArgument", 400)


def test_delete_objects(client: Any, filled: str) -> None:
    """DeleteObjects removes and reports each key; missing keys count as deleted."""
    result = client.delete_objects(
        Bucket=filled,
        Delete={"Objects": [{"Key": "a-b"}, {"Key": "b b"}, {"Key": "never"}]},
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a-b", "b b", "never"]
    keys, _ = _all_v2(client, filled)
    assert "a-b" not in keys
    assert "b b" not in keys
    assert len(keys) == len(KEYS) - 2


def test_delete_objects_quiet_and_versions(client: Any, filled: str) -> None:
    """Quiet mode reports only errors; VersionId null works, another is an error."""
    result = client.delete_objects(
        Bucket=filled,
        Delete={
            "Objects": [
                {"Key": "a0", "VersionId": "null"},
                {"Key": "a-b", "VersionId": "3HL4kqtJlcpXroDTDmJ"},
            ],
            "Quiet": True,
        },
    )
    assert "Deleted" not in result
    assert result["Errors"] == [
        {
            "Key": "a-b",
            "VersionId": "3HL4kqtJlcpXroDTDmJ",
            "Code": "NoSuchVersion",
            "Message": "The specified version does not exist.",
        }
    ]
    keys, _ = _all_v2(client, filled)
    assert "a0" not in keys
    assert "a-b" in keys


def test_delete_objects_limits(server: ServerThread, client: Any, bucket: str) -> None:
    """Over 1000 keys is MalformedXML; no integrity header is InvalidRequest."""
    import urllib.error
    import urllib.request

    from tests.integration.signing import signed_request

    objects = [{"Key": f"k{i}"} for i in range(1001)]
    with pytest.raises(ClientError) as exc:
        client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert error_code(exc) == ("MalformedXML", 400)
    body = b"<Delete><Object><Key>a</Key></Object></Delete>"
    req = signed_request(server, "POST", f"/{bucket}?delete", body=body)
    with pytest.raises(urllib.error.HTTPError) as http_exc:
        urllib.request.urlopen(req)
    assert http_exc.value.code == 400
    assert b"<Code>InvalidRequest</Code>" in http_exc.value.read()
