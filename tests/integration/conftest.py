"""Fixtures for integration tests: the real server on 127.0.0.1:0, driven by boto3.

Every test that takes ``server`` runs twice, once per backend (memory and filesystem),
the way falcon's suite runs over app kinds.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from s3core.auth.credentials import User
from s3server.server import ServerThread, make_user

_names = itertools.count()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run server tests per server kind; a module may add "standalone".

    The in-process kinds are a ``ServerThread`` over each backend. "standalone" is
    the ``s3server`` command in a subprocess over a data directory, the way users
    run it; modules list it in ``SERVER_KINDS`` to run against it too.
    """
    if "backend_kind" in metafunc.fixturenames:
        kinds = getattr(metafunc.module, "SERVER_KINDS", ("memory", "filesystem"))
        metafunc.parametrize("backend_kind", kinds)


def _users() -> list[User]:
    return [
        make_user("ALICEKEY", "alice-secret", display_name="alice"),
        make_user("BOBKEY", "bob-secret", display_name="bob"),
    ]


@pytest.fixture
def server(backend_kind: str, tmp_path: Path) -> Iterator[Any]:
    """A running server with two users (alice first, bob second)."""
    users = _users()
    if backend_kind == "standalone":
        with StandaloneServer(tmp_path, users) as standalone:
            yield standalone
        return
    data_dir = tmp_path / "data" if backend_kind == "filesystem" else None
    with ServerThread(data_dir=data_dir, users=users) as srv:
        yield srv


class StandaloneServer:
    """The ``s3server`` command in a subprocess, with ``ServerThread``'s interface."""

    region = "us-east-1"
    host = "127.0.0.1"

    def __init__(self, tmp_path: Path, users: list[User]) -> None:
        self.users = users
        users_file = tmp_path / "users.toml"
        users_file.write_text(
            "".join(
                f'[[users]]\naccess_key = "{u.access_key}"\n'
                f'secret_key = "{u.secret_key}"\nid = "{u.id}"\n'
                f'display_name = "{u.display_name}"\n\n'
                for u in users
            )
        )
        self.data_dir = tmp_path / "data"
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "s3server.cli", "--port", "0"),
                *("--data-dir", str(self.data_dir), "--users", str(users_file)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", first)
        assert match, f"no banner: {first!r}"
        self.port = int(match.group(1))
        self.endpoint_url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StandaloneServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.communicate(timeout=10)

    def client(self, user: User | None = None, **kwargs: Any) -> Any:
        """A boto3 client signing as ``user`` (default: the first)."""
        user = user or self.users[0]
        config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
        if "config" in kwargs:
            config = config.merge(kwargs.pop("config"))
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=user.access_key,
            aws_secret_access_key=user.secret_key,
            config=config,
            **kwargs,
        )


@pytest.fixture
def client(server: Any) -> Any:
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
