"""Bucket operations through boto3 over real HTTP, on both backends."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from s3server.server import ServerThread
from tests.integration.conftest import error_code

ClientError = botocore.exceptions.ClientError

# Also against the standalone `s3server` process, the way users run it.
SERVER_KINDS = ("memory", "filesystem", "standalone")


def test_create_list_head_delete(client: Any) -> None:
    """A created bucket is listed, answers HEAD with its region, and can be deleted."""
    client.create_bucket(Bucket="photos")
    names = [b["Name"] for b in client.list_buckets()["Buckets"]]
    assert names == ["photos"]
    head = client.head_bucket(Bucket="photos")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    client.delete_bucket(Bucket="photos")
    assert client.list_buckets()["Buckets"] == []


def test_list_buckets_sorted_with_owner(client: Any) -> None:
    """ListBuckets names the caller as owner and sorts buckets by name."""
    for name in ("zeta", "alpha", "mid.dle"):
        client.create_bucket(Bucket=name)
    result = client.list_buckets()
    assert [b["Name"] for b in result["Buckets"]] == ["alpha", "mid.dle", "zeta"]
    assert result["Owner"]["DisplayName"] == "alice"
    assert len(result["Owner"]["ID"]) == 64
    assert all(b["CreationDate"].tzinfo is not None for b in result["Buckets"])


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "Upper",
        "under_score",
        "-dash",
        "dash-",
        "two..dots",
        "192.168.5.4",
        "dot.-dash",
    ],
)
def test_invalid_bucket_names(client: Any, name: str) -> None:
    """A name breaking S3's naming rules is refused with InvalidBucketName 400."""
    # Only names botocore lets through are listed: it refuses some (like "a!b")
    # itself, before anything reaches the server.
    with pytest.raises(ClientError) as exc:
        client.create_bucket(Bucket=name)
    assert error_code(exc) == ("InvalidBucketName", 400)
    assert client.list_buckets()["Buckets"] == []


def test_valid_edge_names(client: Any) -> None:
    """3- and 63-character names with dots and hyphens inside are accepted."""
    for name in ("abc", "a" * 63, "a.b-c.d", "1-2-3"):
        client.create_bucket(Bucket=name)
    assert len(client.list_buckets()["Buckets"]) == 4


def test_create_twice_is_owned_by_you(client: Any) -> None:
    """Re-creating your own bucket is BucketAlreadyOwnedByYou 409."""
    client.create_bucket(Bucket="mine")
    with pytest.raises(ClientError) as exc:
        client.create_bucket(Bucket="mine")
    assert error_code(exc) == ("BucketAlreadyOwnedByYou", 409)


def test_create_taken_by_other_user(server: ServerThread, client: Any) -> None:
    """Another user's bucket name is BucketAlreadyExists 409."""
    client.create_bucket(Bucket="taken")
    bob = server.client(server.users[1])
    with pytest.raises(ClientError) as exc:
        bob.create_bucket(Bucket="taken")
    assert error_code(exc) == ("BucketAlreadyExists", 409)


def test_other_users_bucket_is_access_denied(server: ServerThread, client: Any) -> None:
    """Bob can neither list, read, write nor delete Alice's bucket, nor see it."""
    client.create_bucket(Bucket="alices")
    client.put_object(Bucket="alices", Key="k", Body=b"secret")
    bob = server.client(server.users[1])
    for call in (
        lambda: bob.list_objects_v2(Bucket="alices"),
        lambda: bob.get_object(Bucket="alices", Key="k"),
        lambda: bob.put_object(Bucket="alices", Key="k", Body=b"x"),
        lambda: bob.delete_object(Bucket="alices", Key="k"),
        lambda: bob.delete_bucket(Bucket="alices"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as exc:
        bob.head_bucket(Bucket="alices")
    assert error_code(exc) == ("403", 403)
    assert bob.list_buckets()["Buckets"] == []
    assert client.get_object(Bucket="alices", Key="k")["Body"].read() == b"secret"


def test_delete_non_empty_bucket(client: Any) -> None:
    """Deleting a bucket with an object is BucketNotEmpty 409 and keeps the object."""
    client.create_bucket(Bucket="full")
    client.put_object(Bucket="full", Key="a/b", Body=b"1")
    with pytest.raises(ClientError) as exc:
        client.delete_bucket(Bucket="full")
    assert error_code(exc) == ("BucketNotEmpty", 409)
    assert client.get_object(Bucket="full", Key="a/b")["Body"].read() == b"1"
    client.delete_object(Bucket="full", Key="a/b")
    client.delete_bucket(Bucket="full")


def test_missing_bucket(client: Any) -> None:
    """Operations on a missing bucket answer NoSuchBucket 404 (HEAD: 404, no body)."""
    with pytest.raises(ClientError) as exc:
        client.list_objects_v2(Bucket="nothere")
    assert error_code(exc) == ("NoSuchBucket", 404)
    assert exc.value.response["Error"]["BucketName"] == "nothere"
    with pytest.raises(ClientError) as exc:
        client.delete_bucket(Bucket="nothere")
    assert error_code(exc) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as exc:
        client.head_bucket(Bucket="nothere")
    assert error_code(exc) == ("404", 404)


def test_location_constraints_us_east_1(client: Any) -> None:
    """In us-east-1 only an absent constraint works, as on S3."""
    with pytest.raises(ClientError) as exc:
        client.create_bucket(
            Bucket="loc1", CreateBucketConfiguration={"LocationConstraint": "us-east-1"}
        )
    assert error_code(exc) == ("InvalidLocationConstraint", 400)
    with pytest.raises(ClientError) as exc:
        client.create_bucket(
            Bucket="loc2", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    assert error_code(exc) == ("IllegalLocationConstraintException", 400)
    assert client.list_buckets()["Buckets"] == []
    client.create_bucket(Bucket="loc3")
    location = client.get_bucket_location(Bucket="loc3")
    assert location["LocationConstraint"] is None


def test_location_constraint_other_region(server_factory: Any) -> None:
    """A server in eu-west-1 takes a matching constraint and refuses none or another."""
    server = server_factory(region="eu-west-1")
    client = server.client()
    client.create_bucket(
        Bucket="euro", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    assert client.get_bucket_location(Bucket="euro")["LocationConstraint"] == (
        "eu-west-1"
    )
    head = client.head_bucket(Bucket="euro")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"
    with pytest.raises(ClientError) as exc:
        client.create_bucket(
            Bucket="other",
            CreateBucketConfiguration={"LocationConstraint": "us-west-2"},
        )
    assert error_code(exc) == ("IllegalLocationConstraintException", 400)
    with pytest.raises(ClientError) as exc:
        client.create_bucket(Bucket="none")
    assert error_code(exc) == ("IllegalLocationConstraintException", 400)


def test_malformed_bucket_configuration(server: ServerThread, client: Any) -> None:
    """A CreateBucket body that is not XML is MalformedXML 400, nothing created."""
    import urllib.request

    from tests.integration.signing import signed_request

    req = signed_request(server, "PUT", "/badxml", body=b"<not-xml")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req)
    assert exc.value.code == 400
    assert b"<Code>MalformedXML</Code>" in exc.value.read()
    assert client.list_buckets()["Buckets"] == []
