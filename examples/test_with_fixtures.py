"""A downstream test suite using the pytest plugin's fixtures.

Installing s3server registers the plugin; nothing to configure. Run:
    python -m pytest examples/test_with_fixtures.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3


def save_report(bucket: str, text: str) -> None:
    """Code under test: it builds its own client from the environment."""
    boto3.client("s3").put_object(Bucket=bucket, Key="report.txt", Body=text.encode())


def test_report_is_saved(s3_env: Any, s3_client: Any, s3_bucket: str) -> None:
    """s3_env points default boto3 clients at the test server, never at real AWS."""
    save_report(s3_bucket, "all good")
    body = s3_client.get_object(Bucket=s3_bucket, Key="report.txt")["Body"].read()
    assert body == b"all good"


def test_files_on_disk(s3_server_factory: Any, tmp_path: Path) -> None:
    """A server over the filesystem backend stores objects as plain files."""
    server = s3_server_factory(data_dir=tmp_path)
    client = server.client()
    client.create_bucket(Bucket="docs")
    client.put_object(Bucket="docs", Key="a/b.txt", Body=b"hello")
    assert (tmp_path / "docs" / "a" / "b.txt").read_bytes() == b"hello"
