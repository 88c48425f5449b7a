"""The request payload, verified as the client's signature says it must be.

This module owns the choice of body readers for each ``x-amz-content-sha256`` mode: a
hex digest is checked against the body (``XAmzContentSHA256Mismatch``),
``UNSIGNED-PAYLOAD`` passes through, and the ``STREAMING-*`` modes are aws-chunked
bodies to decode. Every mode also gets the exact-length reader. The readers raise at
the end of the body, before an operation can publish anything.
"""

from __future__ import annotations

import re

from s3core import errors
from s3core.auth.verify import AuthContext
from s3core.bodies import DigestCheckReader, ExactLengthReader
from s3core.http import Readable, Request

__all__ = ["verified_body"]

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_UNSIGNED = "UNSIGNED-PAYLOAD"


def verified_body(request: Request, auth: AuthContext) -> Readable:
    """Stack the readers that make the body exactly what the client declared."""
    body: Readable = request.body
    length = request.headers.get("content-length")
    if length is not None and length.isdigit():
        body = ExactLengthReader(body, int(length))
    payload_hash = auth.payload_hash
    if payload_hash == _UNSIGNED:
        return body
    if _HEX_SHA256.fullmatch(payload_hash):
        expected = bytes.fromhex(payload_hash)

        def mismatch(computed: bytes) -> errors.S3Error:
            return errors.XAmzContentSHA256Mismatch(
                extra={
                    "ClientComputedContentSHA256": payload_hash,
                    "S3ComputedContentSHA256": computed.hex(),
                }
            )

        return DigestCheckReader(body, expected, on_mismatch=mismatch)
    if payload_hash.startswith("STREAMING-"):
        raise errors.NotImplementedOperation(
            "aws-chunked streaming payloads are not supported yet",
            extra={"Header": "x-amz-content-sha256"},
        )
    raise errors.InvalidArgument(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a valid "
        "sha256 value.",
        extra={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": payload_hash},
    )
