"""SigV4 presigned URLs end to end: made by boto3, the library, the endpoint and the
CLI, used by plain curl against the real server."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from botocore.config import Config

import s3core
from s3server.server import ServerThread, make_user
from tests.integration.curl import curl
from tests.integration.signing import signed_request


def _v4(server: ServerThread, user_index: int = 0) -> Any:
    return server.client(
        server.users[user_index], config=Config(signature_version="s3v4")
    )


def _keys(server: ServerThread, bucket: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_boto3_v4_urls_work_for_every_method(server: ServerThread, bucket: str) -> None:
    """boto3 s3v4 URLs for PUT, GET, HEAD and DELETE all work with curl."""
    client = _v4(server)
    key = "dir/a b+c%.txt"

    def url(operation: str) -> str:
        params = {"Bucket": bucket, "Key": key}
        made: str = client.generate_presigned_url(
            operation, Params=params, ExpiresIn=60
        )
        assert "X-Amz-Signature=" in made
        return made

    assert curl(url("put_object"), method="PUT", upload=b"hello").status == 200
    got = curl(url("get_object"))
    assert (got.status, got.body) == (200, b"hello")
    head = curl(url("head_object"), method="HEAD")
    assert (head.status, head.headers["content-length"]) == (200, "5")
    assert curl(url("delete_object"), method="DELETE").status == 204
    assert _keys(server, bucket) == []


def test_signed_content_type_must_be_sent(server: ServerThread, bucket: str) -> None:
    """A PUT URL signed with a Content-Type works only when the PUT carries it."""
    url = _v4(server).generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": "typed", "ContentType": "text/csv"},
        ExpiresIn=60,
    )
    refused = curl(url, method="PUT", upload=b"a,b")
    assert (refused.status, refused.error_code()) == (403, "SignatureDoesNotMatch")
    assert _keys(server, bucket) == []
    accepted = curl(
        url, method="PUT", upload=b"a,b", headers=[("Content-Type", "text/csv")]
    )
    assert accepted.status == 200
    head = server.client().head_object(Bucket=bucket, Key="typed")
    assert head["ContentType"] == "text/csv"


def test_expired_url_is_access_denied(server: ServerThread, bucket: str) -> None:
    """An expired URL: AccessDenied "Request has expired"; the PUT stores nothing."""
    url = s3core.presign_url(
        method="PUT",
        endpoint_url=server.endpoint_url,
        bucket=bucket,
        key="late",
        access_key=server.access_key,
        secret_key=server.secret_key,
        region=server.region,
        expires=60,
        now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5),
    )
    reply = curl(url, method="PUT", upload=b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert reply.error_field("Message") == "Request has expired"
    assert reply.error_field("X-Amz-Expires") == "60"
    assert _keys(server, bucket) == []


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        (
            "604801",
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ),
        ("0", "X-Amz-Expires must be greater than 0"),
    ],
)
def test_expires_out_of_range_is_refused(
    server: ServerThread, bucket: str, expires: str, message: str
) -> None:
    """X-Amz-Expires outside 1..604800: AuthorizationQueryParametersError 400."""
    url = _v4(server).generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=604800
    )
    url = url.replace("X-Amz-Expires=604800", f"X-Amz-Expires={expires}")
    reply = curl(url, method="PUT", upload=b"x")
    assert (reply.status, reply.error_code()) == (
        400,
        "AuthorizationQueryParametersError",
    )
    assert reply.error_field("Message") == message
    assert _keys(server, bucket) == []


def test_tampered_url_is_signature_does_not_match(
    server: ServerThread, bucket: str
) -> None:
    """A URL pointed at another key than it was signed for: SignatureDoesNotMatch."""
    server.client().put_object(Bucket=bucket, Key="other", Body=b"secret")
    url = _v4(server).generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "mine"}, ExpiresIn=60
    )
    reply = curl(url.replace("/mine?", "/other?"))
    assert (reply.status, reply.error_code()) == (403, "SignatureDoesNotMatch")
    assert b"secret" not in reply.body


def test_url_of_another_user_is_refused_at_use(
    server: ServerThread, bucket: str
) -> None:
    """A URL bob signs (V4 or V2) for alice's bucket: AccessDenied when used."""
    bob = server.users[1]
    default = _boto(server.endpoint_url, bob.access_key, bob.secret_key)  # SigV2
    for client in (_v4(server, user_index=1), default):
        url = client.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "bobs"}, ExpiresIn=60
        )
        reply = curl(url, method="PUT", upload=b"x")
        assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert _keys(server, bucket) == []


def test_library_presign_url(server: ServerThread, bucket: str) -> None:
    """s3core.presign_url makes URLs curl can PUT to and GET from."""

    def url(method: str) -> str:
        return s3core.presign_url(
            method=method,
            endpoint_url=server.endpoint_url,
            bucket=bucket,
            key="lib/ü.txt",
            access_key=server.access_key,
            secret_key=server.secret_key,
            region=server.region,
            expires=30,
            now=dt.datetime.now(dt.timezone.utc),
        )

    assert curl(url("PUT"), method="PUT", upload=b"from the library").status == 200
    assert curl(url("GET")).body == b"from the library"
    assert s3core.__all__ == ["presign_url"]


# --- GET /.s3server/presign ---------------------------------------------------------


def _endpoint(server: ServerThread, user_index: int = 0, **params: str) -> Any:
    request = signed_request(
        server,
        "GET",
        "/.s3server/presign?" + urlencode(params, quote_via=quote),
        user_index=user_index,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


def test_endpoint_answers_a_url_curl_can_use(server: ServerThread, bucket: str) -> None:
    """The endpoint answers text/plain: a URL (and a newline) for the Host it got."""
    status, content_type, body = _endpoint(
        server,
        bucket=bucket,
        key="via endpoint",
        method="put",
        expires="120",
        **{"content-type": "text/plain"},
    )
    assert (status, content_type) == (200, "text/plain; charset=utf-8")
    url = body.decode()
    assert url.endswith("\n") and url.startswith(f"{server.endpoint_url}/{bucket}/")
    assert "X-Amz-Expires=120" in url
    put = curl(
        url.strip(), method="PUT", upload=b"v", headers=[("Content-Type", "text/plain")]
    )
    assert put.status == 200
    status, _, body = _endpoint(server, bucket=bucket, key="via endpoint")
    assert curl(body.decode().strip()).body == b"v"


def test_endpoint_refuses_a_bucket_of_another_user(
    server: ServerThread, bucket: str
) -> None:
    """Asking for a URL to someone else's bucket: AccessDenied 403."""
    status, _, body = _endpoint(server, user_index=1, bucket=bucket, key="k")
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"bucket": "no-such-bucket-here", "key": "k"}, 404, "NoSuchBucket"),
        ({"key": "k"}, 400, "InvalidArgument"),
        ({"bucket": "BUCKET", "key": "k"}, 400, "InvalidBucketName"),
        ({"bucket": "{bucket}", "key": "k", "method": "POST"}, 400, "InvalidArgument"),
        ({"bucket": "{bucket}", "expires": "604801"}, 400, "InvalidArgument"),
        ({"bucket": "{bucket}", "expires": "soon"}, 400, "InvalidArgument"),
    ],
)
def test_endpoint_errors(
    server: ServerThread, bucket: str, params: dict[str, str], status: int, code: str
) -> None:
    """Bad endpoint parameters get the S3 error for them."""
    params = {name: value.format(bucket=bucket) for name, value in params.items()}
    got_status, _, body = _endpoint(server, **params)
    assert got_status == status
    assert f"<Code>{code}</Code>".encode() in body


def test_endpoint_needs_authentication(server: ServerThread, bucket: str) -> None:
    """An unsigned call to the endpoint is AccessDenied like any other request."""
    reply = curl(f"{server.endpoint_url}/.s3server/presign?bucket={bucket}&key=k")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")


# --- s3server presign ---------------------------------------------------------------


def _cli(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "s3server.cli", "presign", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """``s3server serve`` on a data directory with generated credentials."""
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3server.cli", "--data-dir", str(data), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "AWS_SECRET_ACCESS_KEY" in line:
                break
        banner = "".join(lines)
        url = banner.split("listening on ", 1)[1].split()[0]
        stored = json.loads((data / ".s3server" / "credentials.json").read_text())
        yield url, data, stored
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def _boto(url: str, access_key: str, secret_key: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
    )


def test_cli_presign_uses_the_stored_credentials(
    standalone: tuple[str, Path, dict[str, str]],
) -> None:
    """`s3server presign` with only --data-dir and --port signs with the stored pair."""
    url, data, stored = standalone
    client = _boto(url, stored["access_key"], stored["secret_key"])
    client.create_bucket(Bucket="cli-bucket")
    client.put_object(Bucket="cli-bucket", Key="a/b.txt", Body=b"cli")
    port = url.rsplit(":", 1)[1]
    done = _cli("s3://cli-bucket/a/b.txt", "--data-dir", str(data), "--port", port)
    assert done.returncode == 0, done.stderr
    assert curl(done.stdout.strip()).body == b"cli"
    # The same through the environment, for a PUT.
    env = {"S3SERVER_DATA_DIR": str(data), "S3SERVER_PORT": port}
    done = _cli("s3://cli-bucket/new", "--method", "PUT", "--expires", "60", env=env)
    assert done.returncode == 0, done.stderr
    assert curl(done.stdout.strip(), method="PUT", upload=b"n").status == 200
    assert client.get_object(Bucket="cli-bucket", Key="new")["Body"].read() == b"n"


def test_cli_presign_refuses_what_it_cannot_sign(tmp_path: Path) -> None:
    """No bucket: NoSuchBucket; another user's bucket: AccessDenied; no keys: exit 1."""
    users = [make_user("ALICEKEY", "alice-secret"), make_user("BOBKEY", "bob-secret")]
    users_file = tmp_path / "users.toml"
    users_file.write_text(
        '[[users]]\naccess_key = "ALICEKEY"\nsecret_key = "alice-secret"\n'
        '[[users]]\naccess_key = "BOBKEY"\nsecret_key = "bob-secret"\n'
    )
    data = tmp_path / "data"
    with ServerThread(data_dir=data, users=users) as server:
        server.client(users[1]).create_bucket(Bucket="bobs")
        common = ("--data-dir", str(data), "--endpoint-url", server.endpoint_url)
        denied = _cli("s3://bobs/k", "--users", str(users_file), *common)
        assert denied.returncode == 1
        assert "AccessDenied" in denied.stderr
        ok = _cli(
            "s3://bobs/k", "--users", str(users_file), "--signer", "BOBKEY", *common
        )
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.startswith(f"{server.endpoint_url}/bobs/k?")
        missing = _cli("s3://nothing-here/k", "--users", str(users_file), *common)
        assert (missing.returncode, "NoSuchBucket" in missing.stderr) == (1, True)
    no_keys = _cli("s3://bobs/k", "--data-dir", str(tmp_path / "empty"))
    assert no_keys.returncode == 1
    assert "no credentials" in no_keys.stderr
    keys = ("--access-key", "A", "--secret-key", "S", "--backend", "memory")
    too_long = _cli("s3://bobs/k", "--expires", "604801", *keys)
    assert too_long.returncode == 1
    assert "--expires must be within" in too_long.stderr
    not_a_target = _cli("bobs/k", *keys)
    assert not_a_target.returncode == 1
    assert "expected s3://bucket/key" in not_a_target.stderr
