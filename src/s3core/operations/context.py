"""The per-request context every operation receives.

This module owns ``Call``: the authenticated request, its route, the caller, the backend
and the clock reading, gathered once by the service so that each operation is a plain
function ``Call -> Response``. It holds values only and does no work.
"""

from __future__ import annotations

import datetime as dt

import attrs

from s3core.auth.credentials import User
from s3core.backends.base import Backend
from s3core.config import ServiceConfig
from s3core.http import Headers, Readable, Request
from s3core.routing import Route

__all__ = ["Call"]


@attrs.frozen(kw_only=True)
class Call:
    """One operation invocation.

    Attributes:
        request: the HTTP request.
        route: operation, bucket, key and decoded query.
        user: the authenticated caller.
        backend: the store.
        config: the service configuration.
        display_names: canonical user id -> display name, for ``Owner`` elements.
        now: the time the request arrived (UTC).
        body: the request body, already wrapped in the verifying readers.
    """

    request: Request
    route: Route
    user: User
    backend: Backend
    config: ServiceConfig
    display_names: dict[str, str]
    now: dt.datetime
    body: Readable

    @property
    def headers(self) -> Headers:
        """The request headers."""
        return self.request.headers

    @property
    def bucket(self) -> str:
        """The addressed bucket (routing guarantees one for bucket/object ops)."""
        assert self.route.bucket is not None
        return self.route.bucket

    @property
    def key(self) -> str:
        """The addressed key (routing guarantees one for object ops)."""
        assert self.route.key is not None
        return self.route.key

    @property
    def query(self) -> dict[str, str]:
        """Decoded query parameters."""
        return self.route.query
