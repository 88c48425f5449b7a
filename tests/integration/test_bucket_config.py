"""Bucket configuration sub-resources the clients read: GetBucketVersioning.

s3fs asks ``GET /<bucket>?versioning`` before a recursive ``rm`` of a bucket (to
decide whether object versions must go too). This server never versions a
bucket, so it answers what S3 answers for a bucket whose versioning state was
never set: an empty ``VersioningConfiguration``. Setting the state
(PutBucketVersioning) stays NotImplemented.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lxml import etree

from s3server.server import ServerThread
from tests.integration.conftest import error_code
from tests.integration.signing import signed_request

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def test_versioning_of_a_new_bucket_is_an_empty_configuration(
    server: ServerThread, bucket: str
) -> None:
    """GET ?versioning is 200 with an empty namespaced VersioningConfiguration."""
    with urllib.request.urlopen(
        signed_request(server, "GET", f"/{bucket}?versioning")
    ) as response:
        status, content_type, body = (
            response.status,
            response.headers["Content-Type"],
            response.read(),
        )
    assert (status, content_type) == (200, "application/xml")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = etree.fromstring(body)
    assert root.tag == f"{NS}VersioningConfiguration"
    # Never versioned: no Status and no MfaDelete element, no text.
    assert (len(root), root.text) == (0, None)


def test_boto3_reads_no_status(client: Any, bucket: str) -> None:
    """boto3's get_bucket_versioning has no Status or MFADelete for our buckets."""
    answer = client.get_bucket_versioning(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert not {"Status", "MFADelete"} & answer.keys()


def test_versioning_of_a_missing_bucket_is_no_such_bucket(client: Any) -> None:
    """GetBucketVersioning of a missing bucket is NoSuchBucket 404."""
    with pytest.raises(ClientError) as caught:
        client.get_bucket_versioning(Bucket="no-such-bucket")
    assert error_code(caught) == ("NoSuchBucket", 404)


def test_versioning_of_another_users_bucket_is_access_denied(
    server: ServerThread, bucket: str
) -> None:
    """Another user's GetBucketVersioning is AccessDenied 403 with S3's XML body."""
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(
            signed_request(server, "GET", f"/{bucket}?versioning", user_index=1)
        )
    assert caught.value.code == 403
    assert etree.fromstring(caught.value.read()).findtext("Code") == "AccessDenied"


def test_setting_versioning_is_not_implemented_and_changes_nothing(
    client: Any, bucket: str
) -> None:
    """PutBucketVersioning is NotImplemented 501; the state read back is unchanged."""
    with pytest.raises(ClientError) as caught:
        client.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        )
    assert error_code(caught) == ("NotImplemented", 501)
    assert "Status" not in client.get_bucket_versioning(Bucket=bucket)
