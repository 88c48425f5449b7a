"""The context of a request that authenticates itself (form uploads).

POST Object carries its credentials and signature inside the multipart form, so the
service cannot authenticate it from headers first. It gets this context instead of a
``Call``: everything needed to authenticate the form and then act, and no user yet.
"""

from __future__ import annotations

import datetime as dt

import attrs

from s3core.auth.credentials import CredentialStore
from s3core.backends.base import Backend
from s3core.config import ServiceConfig
from s3core.http import Request
from s3core.routing import Route

__all__ = ["FormCall"]


@attrs.frozen(kw_only=True)
class FormCall:
    """An unauthenticated request and the means to authenticate it."""

    request: Request
    route: Route
    backend: Backend
    credentials: CredentialStore
    config: ServiceConfig
    now: dt.datetime
