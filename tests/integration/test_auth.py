"""Signature V4 checks over real HTTP: each refusal has S3's code, status and body."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from s3server.server import ServerThread, make_user
from tests.integration.conftest import error_code

ClientError = botocore.exceptions.ClientError

# Also against the standalone `s3server` process, the way users run it.
SERVER_KINDS = ("memory", "filesystem", "standalone")


def _client(server: ServerThread, **kwargs: Any) -> Any:
    return boto3.client(
        "s3", endpoint_url=server.endpoint_url, region_name="us-east-1", **kwargs
    )


def test_wrong_secret(server: ServerThread, bucket: str) -> None:
    """A wrong secret: SignatureDoesNotMatch 403 with StringToSign, CanonicalRequest."""
    client = _client(
        server, aws_access_key_id="ALICEKEY", aws_secret_access_key="wrong-secret"
    )
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert error_code(exc) == ("SignatureDoesNotMatch", 403)
    error = exc.value.response["Error"]
    assert error["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert error["CanonicalRequest"].startswith(f"PUT\n/{bucket}/k\n")
    assert error["AWSAccessKeyId"] == "ALICEKEY"
    assert "Contents" not in server.client().list_objects_v2(Bucket=bucket)


def test_unknown_access_key(server: ServerThread) -> None:
    """An access key nobody has is InvalidAccessKeyId 403."""
    client = _client(server, aws_access_key_id="NOBODY", aws_secret_access_key="x")
    with pytest.raises(ClientError) as exc:
        client.list_buckets()
    assert error_code(exc) == ("InvalidAccessKeyId", 403)
    assert exc.value.response["Error"]["AWSAccessKeyId"] == "NOBODY"


def test_anonymous_request(server: ServerThread, bucket: str) -> None:
    """An unsigned request is AccessDenied 403."""
    client = _client(server, config=Config(signature_version=UNSIGNED))
    with pytest.raises(ClientError) as exc:
        client.list_objects_v2(Bucket=bucket)
    assert error_code(exc) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="anon", Body=b"x")
    assert error_code(exc) == ("AccessDenied", 403)


def test_wrong_region_in_scope(server: ServerThread) -> None:
    """A credential scope naming another region is AuthorizationHeaderMalformed 400."""
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name="eu-central-1",
        aws_access_key_id="ALICEKEY",
        aws_secret_access_key="alice-secret",
    )
    with pytest.raises(ClientError) as exc:
        client.list_buckets()
    assert error_code(exc) == ("AuthorizationHeaderMalformed", 400)
    assert exc.value.response["Error"]["Region"] == "us-east-1"


def test_every_user_signs_with_own_secret(server: ServerThread) -> None:
    """Each configured user is verified against their own secret."""
    bob = _client(
        server, aws_access_key_id="BOBKEY", aws_secret_access_key="bob-secret"
    )
    bob.create_bucket(Bucket="bobs")
    assert [b["Name"] for b in bob.list_buckets()["Buckets"]] == ["bobs"]
    impostor = _client(
        server, aws_access_key_id="BOBKEY", aws_secret_access_key="alice-secret"
    )
    with pytest.raises(ClientError) as exc:
        impostor.list_buckets()
    assert error_code(exc) == ("SignatureDoesNotMatch", 403)


def test_generated_user_default(server_factory: Any) -> None:
    """A server started without users gets a random key pair that works."""
    server = server_factory()
    assert server.access_key.startswith("AK")
    assert server.client().list_buckets()["Buckets"] == []
    other = make_user()
    assert other.access_key != server.access_key
