"""s3server: the HTTP side of the S3 service (Falcon app, waitress server, CLI, pytest).

The S3 behaviour lives in ``s3core``; this package only adapts it to WSGI.
"""

from __future__ import annotations

from s3server.app import create_app
from s3server.server import ServerThread, make_user, serve

__all__ = ["ServerThread", "create_app", "make_user", "serve"]
