"""Fixtures for integration tests: the real server on 127.0.0.1:0, driven by boto3.

Every test that takes ``server`` runs twice, once per backend (memory and filesystem),
the way falcon's suite runs over app kinds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from s3server.server import ServerThread, make_user

_names = itertools.count()


@pytest.fixture(params=["memory", "filesystem"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    """The backend the server under test uses."""
    return str(request.param)


@pytest.fixture
def server(backend_kind: str, tmp_path: Path) -> Iterator[ServerThread]:
    """A running server with two users (alice first, bob second)."""
    users = [
        make_user("ALICEKEY", "alice-secret", display_name="alice"),
        make_user("BOBKEY", "bob-secret", display_name="bob"),
    ]
    data_dir = tmp_path / "data" if backend_kind == "filesystem" else None
    with ServerThread(data_dir=data_dir, users=users) as srv:
        yield srv


@pytest.fixture
def client(server: ServerThread) -> Any:
    """A boto3 client: default configuration but the endpoint and no retries.

    botocore retries some 400s (BadDigest, for one) with back-off; the tests
    provoke those errors on purpose, so retrying would only cost time.
    """
    return server.client(config=Config(retries={"max_attempts": 1}))


@pytest.fixture
def bucket(client: Any) -> str:
    """A fresh bucket owned by the first user."""
    name = f"bucket-{next(_names)}"
    client.create_bucket(Bucket=name)
    return name


def error_code(exc_info: pytest.ExceptionInfo[Any]) -> tuple[str, int]:
    """The S3 error code and HTTP status a botocore ClientError carries."""
    response = exc_info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def server_factory(backend_kind: str, tmp_path: Path) -> Iterator[Any]:
    """Start more servers with custom settings (same backend kind); stopped after."""
    started: list[ServerThread] = []

    def start(**kwargs: Any) -> ServerThread:
        if backend_kind == "filesystem":
            kwargs.setdefault("data_dir", tmp_path / f"data{len(started)}")
        server = ServerThread(**kwargs).start()
        started.append(server)
        return server

    yield start
    for srv in started:
        srv.stop()
