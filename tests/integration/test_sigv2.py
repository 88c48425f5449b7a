"""SigV2 end to end: boto3's default presigned URLs with curl, and SigV2 headers.

boto3 1.43 presigns with SigV2 (``AWSAccessKeyId``/``Signature``/``Expires``)
whenever no ``signature_version`` is configured and the region is one whose S3
endpoint still lists SigV2 (us-east-1 among them), custom ``endpoint_url`` or not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.auth import HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from s3server.server import ServerThread
from tests.integration.conftest import error_code
from tests.integration.curl import curl

ClientError = botocore.exceptions.ClientError


def _default(server: ServerThread, secret: str | None = None, **kwargs: Any) -> Any:
    """A boto3 client as users make it: no signature_version configured."""
    user = server.users[0]
    kwargs.setdefault("endpoint_url", server.endpoint_url)
    return boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=user.access_key,
        aws_secret_access_key=secret or user.secret_key,
        **kwargs,
    )


def _keys(server: ServerThread, bucket: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_boto3_default_presigns_v2_for_every_method(
    server: ServerThread, bucket: str
) -> None:
    """boto3's default URLs are SigV2 and work with curl for PUT, GET, HEAD, DELETE."""
    client = _default(server)
    key = "v2/a b+ü%.txt"

    def url(operation: str) -> str:
        params = {"Bucket": bucket, "Key": key}
        made: str = client.generate_presigned_url(
            operation, Params=params, ExpiresIn=60
        )
        assert "AWSAccessKeyId=" in made and "X-Amz-" not in made
        return made

    assert curl(url("put_object"), method="PUT", upload=b"two").status == 200
    got = curl(url("get_object"))
    assert (got.status, got.body) == (200, b"two")
    head = curl(url("head_object"), method="HEAD")
    assert (head.status, head.headers["content-length"]) == (200, "3")
    assert curl(url("delete_object"), method="DELETE").status == 204
    assert _keys(server, bucket) == []


def test_v2_url_with_content_type_and_metadata(
    server: ServerThread, bucket: str
) -> None:
    """A V2 PUT URL signs Content-Type (a header) and x-amz-meta-* (in the URL)."""
    url = _default(server).generate_presigned_url(
        "put_object",
        Params={
            "Bucket": bucket,
            "Key": "typed",
            "ContentType": "text/csv",
            "Metadata": {"colour": "blue"},
        },
        ExpiresIn=60,
    )
    assert "x-amz-meta-colour=blue" in url
    refused = curl(url, method="PUT", upload=b"a,b")
    assert (refused.status, refused.error_code()) == (403, "SignatureDoesNotMatch")
    assert refused.error_field("StringToSign") is not None
    assert _keys(server, bucket) == []
    ok = curl(url, method="PUT", upload=b"a,b", headers=[("Content-Type", "text/csv")])
    assert ok.status == 200
    assert server.client().head_object(Bucket=bucket, Key="typed")["ContentType"] == (
        "text/csv"
    )


def test_v2_url_with_response_overrides(server: ServerThread, bucket: str) -> None:
    """response-* parameters are signed sub-resources and override the headers."""
    server.client().put_object(Bucket=bucket, Key="doc", Body=b"x")
    url = _default(server).generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": "doc",
            "ResponseContentType": "text/x-test",
            "ResponseContentDisposition": 'attachment; filename="d.txt"',
        },
        ExpiresIn=60,
    )
    reply = curl(url)
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/x-test"
    assert reply.headers["content-disposition"] == 'attachment; filename="d.txt"'
    tampered = curl(url.replace("text%2Fx-test", "text%2Fhtml"))
    assert (tampered.status, tampered.error_code()) == (403, "SignatureDoesNotMatch")


def test_v2_virtual_hosted_url(server: ServerThread, bucket: str) -> None:
    """A virtual-hosted V2 URL signs /bucket/key; the server finds it from Host."""
    server.client().put_object(Bucket=bucket, Key="vh", Body=b"hosted")
    client = _default(
        server,
        endpoint_url=f"http://localhost:{server.port}",
        config=Config(s3={"addressing_style": "virtual"}),
    )
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "vh"}, ExpiresIn=60
    )
    assert url.startswith(f"http://{bucket}.localhost:{server.port}/vh?")
    host = f"{bucket}.localhost:{server.port}:127.0.0.1"
    reply = curl(url, extra=["--resolve", host])
    assert (reply.status, reply.body) == (200, b"hosted")


def _expired_url(server: ServerThread, bucket: str, method: str) -> str:
    user = server.users[0]
    request = AWSRequest(method=method, url=f"{server.endpoint_url}/{bucket}/late")
    request.auth_path = f"/{bucket}/late"
    auth = HmacV1QueryAuth(Credentials(user.access_key, user.secret_key))
    auth._get_date = lambda: str(int(time.time()) - 10)  # type: ignore[method-assign]
    auth.add_auth(request)
    return str(request.url)


def test_expired_v2_url_is_access_denied(server: ServerThread, bucket: str) -> None:
    """An Expires in the past: AccessDenied "Request has expired"; nothing stored."""
    reply = curl(_expired_url(server, bucket, "PUT"), method="PUT", upload=b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert reply.error_field("Message") == "Request has expired"
    assert reply.error_field("Expires") is not None
    assert _keys(server, bucket) == []


def test_v2_header_auth_end_to_end(server: ServerThread, bucket: str) -> None:
    """A client signing every request with SigV2 headers (s3cmd's way) works."""
    client = _default(server, config=Config(signature_version="s3"))
    client.put_object(Bucket=bucket, Key="a/1", Body=b"one", Metadata={"k": "v"})
    client.put_object(Bucket=bucket, Key="a/2", Body=b"two", ContentType="text/plain")
    assert client.get_object(Bucket=bucket, Key="a/1")["Body"].read() == b"one"
    head = client.head_object(Bucket=bucket, Key="a/2")
    assert (head["ContentType"], head["ContentLength"]) == ("text/plain", 3)
    listing = client.list_objects_v2(Bucket=bucket, Prefix="a/")
    assert [o["Key"] for o in listing["Contents"]] == ["a/1", "a/2"]
    deleted = client.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a/1"}, {"Key": "a/2"}]}
    )
    assert len(deleted["Deleted"]) == 2
    assert _keys(server, bucket) == []


def test_v2_header_wrong_secret(server: ServerThread, bucket: str) -> None:
    """A wrong secret with SigV2: SignatureDoesNotMatch 403 with S3's StringToSign."""
    client = _default(server, secret="wrong", config=Config(signature_version="s3"))
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert error_code(exc) == ("SignatureDoesNotMatch", 403)
    to_sign = exc.value.response["Error"]["StringToSign"]
    assert to_sign.startswith("PUT\n") and to_sign.endswith(f"\n/{bucket}/k")
    assert _keys(server, bucket) == []


def test_v2_unknown_access_key(server: ServerThread, bucket: str) -> None:
    """An unknown key with SigV2: InvalidAccessKeyId 403."""
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="NOBODY",
        aws_secret_access_key="x",
        config=Config(signature_version="s3"),
    )
    with pytest.raises(ClientError) as exc:
        client.list_objects_v2(Bucket=bucket)
    assert error_code(exc) == ("InvalidAccessKeyId", 403)


@pytest.mark.skipif(shutil.which("s3cmd") is None, reason="s3cmd is not installed")
def test_s3cmd_with_signature_v2(server: ServerThread, tmp_path: Path) -> None:
    """s3cmd with `signature_v2 = True` (header SigV2 throughout) round-trips a file."""
    user = server.users[0]
    host = f"{server.host}:{server.port}"
    config = tmp_path / "s3cfg"
    config.write_text(
        f"[default]\naccess_key = {user.access_key}\nsecret_key = {user.secret_key}\n"
        f"host_base = {host}\nhost_bucket = {host}\nuse_https = False\n"
        "bucket_location = us-east-1\nsignature_v2 = True\n"
    )
    source = tmp_path / "f.txt"
    source.write_bytes(b"sigv2 via s3cmd\n")
    env = {"HOME": str(tmp_path), "PATH": os.environ["PATH"]}

    def s3cmd(*args: str) -> str:
        done = subprocess.run(
            ["s3cmd", "-c", str(config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    s3cmd("mb", "s3://s3cmd-v2")
    s3cmd("put", str(source), "s3://s3cmd-v2/dir/f x.txt")
    assert "s3://s3cmd-v2/dir/f x.txt" in s3cmd("ls", "-r", "s3://s3cmd-v2")
    s3cmd("get", "s3://s3cmd-v2/dir/f x.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_bytes() == source.read_bytes()
    s3cmd("del", "s3://s3cmd-v2/dir/f x.txt")
    s3cmd("rb", "s3://s3cmd-v2")
    assert not server.client().list_buckets()["Buckets"]
