"""The S3 service: one request in, one response out, no I/O of its own.

This module owns the order in which a request is handled: route it, authenticate it,
stack the verifying readers on its body, check the caller owns the bucket, run the
operation, and turn any ``S3Error`` into S3's error response (no body for HEAD). Any
other exception is a bug: it is logged with the request id and answered
``InternalError`` 500, never a traceback. The clock is injected; the body stream is
whatever the adapter hands in.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import random
from collections.abc import Callable, Sequence

import attrs

from s3core import errors, xml_out
from s3core.auth.credentials import CredentialStore, StaticCredentials, User
from s3core.auth.verify import authenticate
from s3core.backends.base import Backend
from s3core.config import ServiceConfig
from s3core.http import Request, Response
from s3core.names import validate_bucket_name
from s3core.operations import OPERATIONS, Call
from s3core.operations.form_context import FormCall
from s3core.operations.post_object import post_object
from s3core.payload import verified_body
from s3core.routing import Route, resolve
from s3core.timefmt import http_date

__all__ = ["S3Service"]

log = logging.getLogger("s3core")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class S3Service:
    """Handles S3 requests against a backend.

    Args:
        backend: the store.
        users: who may sign requests (their access keys, secrets and owner ids).
        config: region, virtual-host domain, limits.
        clock: returns the current UTC time (injected so tests never patch time).
    """

    def __init__(
        self,
        backend: Backend,
        users: Sequence[User],
        *,
        config: ServiceConfig | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.credentials: CredentialStore = StaticCredentials(users)
        self.backend = backend
        self.config = config or ServiceConfig()
        self.clock = clock
        self._display_names = {u.id: u.display_name for u in users}

    def handle(self, request: Request) -> Response:
        """Answer one request. Never raises for anything a client can cause."""
        # Only has to be unique enough to find a request in logs: the module's
        # generator (reseeded after fork) costs no system call, unlike secrets.
        request_id = f"{random.getrandbits(64):016X}"
        now = self.clock()
        try:
            response = self._dispatch(request, now)
        except errors.S3Error as err:
            response = self.error_response(err, request, request_id)
        except Exception:
            log.exception(
                "request %s failed: %s %s", request_id, request.method, request.path
            )
            response = self.error_response(errors.InternalError(), request, request_id)
        return _with_common_headers(response, request_id, now)

    def _dispatch(self, request: Request, now: dt.datetime) -> Response:
        route = resolve(request, domain=self.config.domain)
        if route.operation == "PostObject":
            # The form carries its own credentials and policy signature.
            return post_object(
                FormCall(
                    request=request,
                    route=route,
                    backend=self.backend,
                    credentials=self.credentials,
                    config=self.config,
                    now=now,
                )
            )
        auth = authenticate(
            request,
            credentials=self.credentials,
            region=self.config.region,
            now=now,
            domain=self.config.domain,
        )
        body = verified_body(request, auth)
        if route.bucket is not None:
            validate_bucket_name(route.bucket)
            if route.operation != "CreateBucket":
                self._check_owner(route, auth.user)
        call = Call(
            request=request,
            route=route,
            user=auth.user,
            backend=self.backend,
            config=self.config,
            display_names=self._display_names,
            now=now,
            body=body,
        )
        return OPERATIONS[route.operation](call)

    def _check_owner(self, route: Route, user: User) -> None:
        assert route.bucket is not None
        info = self.backend.get_bucket(route.bucket)
        if info.owner_id != user.id:
            raise errors.AccessDenied()

    def error_response(
        self, err: errors.S3Error, request: Request, request_id: str
    ) -> Response:
        """S3's error response for ``err``: XML body, or none for HEAD."""
        headers = [*err.headers.items()]
        if request.method == "HEAD":
            return Response(status=err.status, headers=tuple(headers), content_length=0)
        body = xml_out.error_body(err, resource=request.resource, request_id=request_id)
        headers.append(("Content-Type", "application/xml"))
        return Response.of_bytes(err.status, body, headers)


def _with_common_headers(
    response: Response, request_id: str, now: dt.datetime
) -> Response:
    extra = (
        ("x-amz-request-id", request_id),
        ("x-amz-id-2", base64.b64encode(request_id.encode()).decode()),
        ("Date", http_date(now)),
        ("Server", "s3server"),
    )
    return attrs.evolve(response, headers=response.headers + extra)
