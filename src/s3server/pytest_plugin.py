"""pytest fixtures for a real in-process S3 server (registered via ``pytest11``).

This module owns the fixtures test suites use: ``s3_server`` (one running server per
session, memory backend unless configured), ``s3_client`` (a boto3 client for it),
``s3_bucket`` (a fresh empty bucket per test, removed afterwards), ``s3_env`` (points
the standard AWS environment variables at the server for one test, so code under test
and subprocesses reach it and never real AWS), and ``s3_server_factory`` (more servers,
for example over the filesystem backend in ``tmp_path``). Signature checks stay on.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from s3server.server import ServerThread

__all__ = [
    "s3_bucket",
    "s3_client",
    "s3_env",
    "s3_server",
    "s3_server_factory",
]

_bucket_numbers = itertools.count()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``s3server_backend`` ini option (memory or filesystem)."""
    parser.addini(
        "s3server_backend",
        "backend of the session s3_server fixture: memory (default) or filesystem",
        default="memory",
    )


@pytest.fixture(scope="session")
def s3_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    """A running server for the whole session, on 127.0.0.1 and a free port."""
    backend = os.environ.get("S3SERVER_TEST_BACKEND") or str(
        request.config.getini("s3server_backend")
    )
    data_dir = tmp_path_factory.mktemp("s3data") if backend == "filesystem" else None
    # A temporary directory dies with the session: durability against power loss
    # buys nothing there, and fsync is most of a small PUT's cost.
    with ServerThread(data_dir=data_dir, fsync=False) as server:
        yield server


@pytest.fixture(scope="session")
def s3_client(s3_server: ServerThread) -> Any:
    """A boto3 S3 client bound to ``s3_server``."""
    return s3_server.client()


@pytest.fixture
def s3_bucket(s3_client: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of a fresh, empty bucket; emptied and deleted after the test."""
    name = f"test-{os.getpid()}-{next(_bucket_numbers)}"
    s3_client.create_bucket(Bucket=name)
    yield name
    _delete_bucket(s3_client, name)


def _delete_bucket(client: Any, name: str) -> None:
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=name)


@pytest.fixture
def s3_env(s3_server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> ServerThread:
    """Point the standard AWS environment at ``s3_server`` for this test.

    Sets ``AWS_ENDPOINT_URL_S3``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and
    ``AWS_DEFAULT_REGION``, and removes profile and session settings that could send
    the code under test to real AWS.
    """
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", s3_server.region)
    # No shared config or credentials file may override the above.
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return s3_server


@pytest.fixture
def s3_server_factory() -> Iterator[Any]:
    """Start extra servers: ``s3_server_factory(data_dir=tmp_path)``; stopped after."""
    started: list[ServerThread] = []

    def start(**kwargs: Any) -> ServerThread:
        if isinstance(kwargs.get("data_dir"), str):
            kwargs["data_dir"] = Path(kwargs["data_dir"])
        server = ServerThread(**kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
