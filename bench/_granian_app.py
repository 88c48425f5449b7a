"""Our WSGI application for granian, the ``ours-granian-*`` contenders of bench_compare.

granian (a Rust HTTP server) imports ``_granian_app:app``; the settings come from
the environment the benchmark starts it with. Only the HTTP loop differs from the
``ours-*`` contenders: the same ``create_app``, service and backends, SigV4
verified on every request. This measures what the server loop costs (waitress reads,
parses and dispatches each request in Python); it is not a supported way to serve.
"""

from __future__ import annotations

import os
from pathlib import Path

from s3core.auth.credentials import User
from s3core.backends.base import Backend
from s3core.backends.filesystem import FilesystemBackend
from s3core.backends.memory import MemoryBackend
from s3server.app import create_app

_user = User(
    access_key=os.environ["S3BENCH_ACCESS_KEY"],
    secret_key=os.environ["S3BENCH_SECRET_KEY"],
    id="b" * 64,
    display_name="bench",
)
_backend: Backend = (
    MemoryBackend()
    if os.environ["S3BENCH_BACKEND"] == "memory"
    else FilesystemBackend(
        Path(os.environ["S3BENCH_DATA_DIR"]),
        fsync=os.environ["S3BENCH_FSYNC"] == "on",
        default_owner_id=_user.id,
    )
)
app = create_app(backend=_backend, users=[_user])
