"""POST Object (browser form uploads) over real HTTP, with the fields boto3 generates.

Forms are posted as a browser would: a multipart/form-data body built by hand (to
control every byte) or by ``curl -F``, to the URL ``generate_presigned_post`` gave.
"""

from __future__ import annotations

import hashlib
import http.client
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import boto3
import pytest
from botocore.config import Config
from lxml import etree

from s3server.server import ServerThread
from tests.integration.curl import CURL, curl

# boto3 with no signature_version presigns posts with SigV2 in us-east-1.
VERSIONS = ("default-v2", "s3v4")


def _client(server: ServerThread, version: str, user_index: int = 0) -> Any:
    user = server.users[user_index]
    config = Config(signature_version="s3v4") if version == "s3v4" else None
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=user.access_key,
        aws_secret_access_key=user.secret_key,
        config=config,
    )


@attrs.frozen
class Answer:
    """The server's answer to a form POST."""

    status: int
    headers: dict[str, str]
    body: bytes

    def code(self) -> str | None:
        return etree.fromstring(self.body).findtext("Code") if self.body else None

    def message(self) -> str | None:
        return etree.fromstring(self.body).findtext("Message")


def _multipart(
    fields: Sequence[tuple[str, str]],
    file: tuple[str, bytes] | None,
    after: Sequence[tuple[str, str]] = (),
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser lays it out, and its content type."""
    boundary = boundary or f"----s3test{uuid.uuid4().hex}"
    out = bytearray()

    def field(name: str, value: str) -> bytes:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        return head.encode() + value.encode() + b"\r\n"

    for name, value in fields:
        out += field(name, value)
    if file is not None:
        filename, data = file
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        out += data + b"\r\n"
    for name, value in after:
        out += field(name, value)
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _post(url: str, body: bytes, content_type: str, host: str | None = None) -> Answer:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        headers = {"Content-Type": content_type}
        if host is not None:
            headers["Host"] = host
        connection.request("POST", parts.path or "/", body=body, headers=headers)
        response = connection.getresponse()
        return Answer(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=response.read(),
        )
    finally:
        connection.close()


def _form(
    post: dict[str, Any],
    data: bytes = b"hello form",
    filename: str = "a.txt",
    extra: Sequence[tuple[str, str]] = (),
    after: Sequence[tuple[str, str]] = (),
) -> Answer:
    fields = [*post["fields"].items(), *extra]
    body, content_type = _multipart(fields, (filename, data), after)
    return _post(post["url"], body, content_type)


def _keys(server: ServerThread, bucket: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


@pytest.mark.parametrize("version", VERSIONS)
def test_presigned_post_stores_the_file(
    server: ServerThread, bucket: str, version: str
) -> None:
    """boto3's presigned post (default V2, and s3v4) stores the file: 204, ETag."""
    post = _client(server, version).generate_presigned_post(bucket, "up/a.txt")
    assert ("x-amz-signature" in post["fields"]) == (version == "s3v4")
    answer = _form(post)
    assert answer.status == 204
    assert answer.headers["etag"] == f'"{hashlib.md5(b"hello form").hexdigest()}"'
    assert answer.headers["location"] == f"{server.endpoint_url}/{bucket}/up/a.txt"
    got = server.client().get_object(Bucket=bucket, Key="up/a.txt")
    assert got["Body"].read() == b"hello form"
    assert got["ContentType"] == "binary/octet-stream"


def test_success_action_status_201_answers_post_response(
    server: ServerThread, bucket: str
) -> None:
    """success_action_status=201: 201 and a PostResponse (Location, Bucket, Key...)."""
    post = _client(server, "s3v4").generate_presigned_post(
        bucket,
        "r/x y.txt",
        Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}],
    )
    answer = _form(post)
    assert answer.status == 201
    root = etree.fromstring(answer.body)
    assert root.tag == "PostResponse"
    assert root.findtext("Bucket") == bucket
    assert root.findtext("Key") == "r/x y.txt"
    assert root.findtext("ETag") == answer.headers["etag"]
    assert root.findtext("Location") == f"{server.endpoint_url}/{bucket}/r/x%20y.txt"


def test_success_action_status_200_is_empty(server: ServerThread, bucket: str) -> None:
    """success_action_status=200: an empty 200."""
    post = _client(server, "default-v2").generate_presigned_post(
        bucket,
        "k",
        Fields={"success_action_status": "200"},
        Conditions=[{"success_action_status": "200"}],
    )
    answer = _form(post)
    assert (answer.status, answer.body) == (200, b"")
    assert _keys(server, bucket) == ["k"]


def test_success_action_redirect(server: ServerThread, bucket: str) -> None:
    """success_action_redirect: 303 to it with bucket, key and etag appended."""
    target = "https://example.com/done?from=form"
    post = _client(server, "s3v4").generate_presigned_post(
        bucket,
        "redirected",
        Fields={"success_action_redirect": target},
        Conditions=[{"success_action_redirect": target}],
    )
    answer = _form(post)
    assert answer.status == 303
    location = answer.headers["location"]
    assert location.startswith(target + "&")
    query = parse_qs(urlsplit(location).query)
    assert query["bucket"] == [bucket]
    assert query["key"] == ["redirected"]
    assert query["etag"] == [answer.headers["etag"]]


def test_metadata_fields_are_stored(server: ServerThread, bucket: str) -> None:
    """Content-Type and x-amz-meta-* fields become the object's metadata."""
    post = _client(server, "default-v2").generate_presigned_post(
        bucket,
        "meta",
        Fields={"Content-Type": "image/png", "x-amz-meta-colour": "red"},
        Conditions=[
            ["starts-with", "$Content-Type", "image/"],
            {"x-amz-meta-colour": "red"},
        ],
    )
    assert _form(post).status == 204
    head = server.client().head_object(Bucket=bucket, Key="meta")
    assert (head["ContentType"], head["Metadata"]) == ("image/png", {"colour": "red"})


def test_filename_substitution_with_curl(
    server: ServerThread, bucket: str, tmp_path: Path
) -> None:
    """curl -F with ${filename}: the key takes the uploaded file's name."""
    import subprocess

    post = _client(server, "s3v4").generate_presigned_post(
        bucket, "uploads/${filename}"
    )
    source = tmp_path / "photo 1.jpg"
    source.write_bytes(b"\xff\xd8jpeg" * 1000)
    args = [CURL, "--silent", "--show-error", "-o", "/dev/null", "-w", "%{http_code}"]
    for name, value in post["fields"].items():
        args += ["--form-string", f"{name}={value}"]
    args += ["-F", f"file=@{source}", post["url"]]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.stdout == "204", done.stderr
    got = server.client().get_object(Bucket=bucket, Key="uploads/photo 1.jpg")
    assert got["Body"].read() == b"\xff\xd8jpeg" * 1000


def test_fields_after_the_file_are_ignored(server: ServerThread, bucket: str) -> None:
    """Fields below the file are ignored, even ones no condition names."""
    post = _client(server, "s3v4").generate_presigned_post(bucket, "k")
    answer = _form(post, after=[("x-amz-meta-late", "1"), ("key", "elsewhere")])
    assert answer.status == 204
    assert _keys(server, bucket) == ["k"]
    assert server.client().head_object(Bucket=bucket, Key="k")["Metadata"] == {}


def test_multi_mebibyte_file(server: ServerThread, bucket: str) -> None:
    """A 3 MiB file streams through intact, its MD5 the ETag."""
    data = bytes(range(256)) * (3 * 4096)
    post = _client(server, "default-v2").generate_presigned_post(bucket, "big")
    answer = _form(post, data=data)
    assert answer.status == 204
    assert answer.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    # Read back with curl, which closes its connection: waitress keeps a large
    # response's spill file with a kept-alive connection until it is closed.
    url = server.client().generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "big"}
    )
    assert curl(url).body == data


def test_virtual_hosted_post(server: ServerThread, bucket: str) -> None:
    """A form posted to http://<bucket>.localhost/ stores into that bucket."""
    post = _client(server, "s3v4").generate_presigned_post(bucket, "vh")
    body, content_type = _multipart(list(post["fields"].items()), ("f", b"v"))
    host = f"{bucket}.localhost:{server.port}"
    answer = _post(f"{server.endpoint_url}/", body, content_type, host=host)
    assert answer.status == 204
    assert answer.headers["location"] == f"http://{host}/vh"
    assert _keys(server, bucket) == ["vh"]


# --- refusals: S3's error, and nothing stored ---------------------------------------


def _refused(
    server: ServerThread, bucket: str, answer: Answer, status: int, code: str
) -> Answer:
    assert (answer.status, answer.code()) == (status, code), answer.body
    assert _keys(server, bucket) == []
    return answer


@pytest.mark.parametrize(
    ("size", "code", "element"),
    [(11, "EntityTooLarge", "MaxSizeAllowed"), (2, "EntityTooSmall", "MinSizeAllowed")],
)
def test_content_length_range(
    server: ServerThread, bucket: str, size: int, code: str, element: str
) -> None:
    """A file outside content-length-range: EntityTooLarge / EntityTooSmall."""
    post = _client(server, "s3v4").generate_presigned_post(
        bucket, "sized", Conditions=[["content-length-range", 3, 10]]
    )
    answer = _refused(server, bucket, _form(post, data=b"x" * size), 400, code)
    assert etree.fromstring(answer.body).findtext("ProposedSize") == str(size)
    assert etree.fromstring(answer.body).findtext(element) in ("3", "10")


@pytest.mark.parametrize("version", VERSIONS)
def test_condition_failure(server: ServerThread, bucket: str, version: str) -> None:
    """A key outside the policy's prefix: AccessDenied quoting the condition."""
    post = _client(server, version).generate_presigned_post(bucket, "ok/${filename}")
    post["fields"]["key"] = "elsewhere/x"
    answer = _refused(server, bucket, _form(post), 403, "AccessDenied")
    assert answer.message() == (
        'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", '
        '"ok/"]'
    )


def test_expired_policy(server: ServerThread, bucket: str) -> None:
    """A policy past its expiration: AccessDenied "... Policy expired."."""
    post = _client(server, "default-v2").generate_presigned_post(
        bucket, "k", ExpiresIn=-60
    )
    answer = _refused(server, bucket, _form(post), 403, "AccessDenied")
    assert answer.message() == "Invalid according to Policy: Policy expired."


def test_extra_field_not_in_policy(server: ServerThread, bucket: str) -> None:
    """A field the policy does not name: AccessDenied "Extra input fields"."""
    post = _client(server, "s3v4").generate_presigned_post(bucket, "k")
    answer = _form(post, extra=[("x-amz-meta-sneaky", "1")])
    _refused(server, bucket, answer, 403, "AccessDenied")
    assert answer.message() == (
        "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_tampered_signature(server: ServerThread, bucket: str, version: str) -> None:
    """A signature that does not match the policy: SignatureDoesNotMatch 403."""
    post = _client(server, version).generate_presigned_post(bucket, "k")
    name = "x-amz-signature" if version == "s3v4" else "signature"
    post["fields"][name] = (
        "0" * 64 if version == "s3v4" else "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    )
    _refused(server, bucket, _form(post), 403, "SignatureDoesNotMatch")


def test_form_of_another_user(server: ServerThread, bucket: str) -> None:
    """A form signed by a user who does not own the bucket: AccessDenied."""
    post = _client(server, "s3v4", user_index=1).generate_presigned_post(bucket, "k")
    _refused(server, bucket, _form(post), 403, "AccessDenied")


def test_missing_key_and_missing_file(server: ServerThread, bucket: str) -> None:
    """No key field, or no file: InvalidArgument naming the missing field."""
    post = _client(server, "s3v4").generate_presigned_post(bucket, "k")
    without_key = [(n, v) for n, v in post["fields"].items() if n != "key"]
    body, content_type = _multipart(without_key, ("a", b"x"))
    answer = _refused(
        server, bucket, _post(post["url"], body, content_type), 400, "InvalidArgument"
    )
    assert etree.fromstring(answer.body).findtext("ArgumentName") == "key"
    body, content_type = _multipart(list(post["fields"].items()), None)
    answer = _refused(
        server, bucket, _post(post["url"], body, content_type), 400, "InvalidArgument"
    )
    assert answer.message() == "POST requires exactly one file upload per request."


def test_broken_multipart_is_malformed_post_request(
    server: ServerThread, bucket: str
) -> None:
    """A body cut short inside the file part: MalformedPOSTRequest; nothing stored."""
    post = _client(server, "s3v4").generate_presigned_post(bucket, "k")
    body, content_type = _multipart(list(post["fields"].items()), ("a", b"data" * 100))
    cut = body[: body.rindex(b"\r\n--")]
    _refused(
        server,
        bucket,
        _post(post["url"], cut, content_type),
        400,
        "MalformedPOSTRequest",
    )


def test_not_multipart_is_precondition_failed(
    server: ServerThread, bucket: str
) -> None:
    """A POST to a bucket that is not multipart/form-data: PreconditionFailed 412."""
    answer = _post(
        f"{server.endpoint_url}/{bucket}", b"key=k", "application/x-www-form-urlencoded"
    )
    _refused(server, bucket, answer, 412, "PreconditionFailed")
    assert etree.fromstring(answer.body).findtext("Condition") == (
        "Bucket POST must be of the enclosure-type multipart/form-data"
    )


def test_oversized_fields_before_the_file(server: ServerThread, bucket: str) -> None:
    """Over 64 KiB of fields before the file: MaxPostPreDataLengthExceededError."""
    post = _client(server, "s3v4").generate_presigned_post(bucket, "k")
    answer = _form(post, extra=[("x-ignore-padding", "p" * 70000)])
    _refused(server, bucket, answer, 400, "MaxPostPreDataLengthExceededError")


def test_form_to_a_missing_bucket(server: ServerThread) -> None:
    """A form posted to a bucket that does not exist: NoSuchBucket 404."""
    post = _client(server, "s3v4").generate_presigned_post("not-there", "k")
    answer = _form(post)
    assert (answer.status, answer.code()) == (404, "NoSuchBucket")


def test_empty_key_is_invalid_argument(server: ServerThread, bucket: str) -> None:
    """A key that ${filename} leaves empty: InvalidArgument, nothing stored."""
    post = _client(server, "s3v4").generate_presigned_post(bucket, "${filename}")
    answer = _form(post, filename="")
    _refused(server, bucket, answer, 400, "InvalidArgument")
    assert answer.message() == "User key must have a length greater than 0."
