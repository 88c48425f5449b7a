"""The request payload, verified as the client's signature says it must be.

This module owns the choice of body readers for each ``x-amz-content-sha256`` mode: a
hex digest is checked against the body (``XAmzContentSHA256Mismatch``),
``UNSIGNED-PAYLOAD`` passes through, and the ``STREAMING-*`` modes are aws-chunked
bodies decoded by ``s3core.auth.chunked`` (chunk signatures chained from the seed
signature, trailers announced by ``x-amz-trailer``). Every mode also gets the
exact-length reader. The readers raise at the end of the body, before an operation
can publish anything. Checking a trailer's checksum is the operation's business
(``s3core.operations.ingest``), not this module's.
"""

from __future__ import annotations

import re

import attrs

from s3core import errors
from s3core.auth.chunked import ChunkedDecoder, ChunkedReader, ChunkSigner
from s3core.auth.verify import AuthContext
from s3core.bodies import DigestCheckReader, ExactLengthReader
from s3core.checksums import ALGORITHMS
from s3core.http import Headers, Readable, Request

__all__ = ["declared_trailers", "verified_body"]

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_UNSIGNED = "UNSIGNED-PAYLOAD"
_CHECKSUM_PREFIX = "x-amz-checksum-"


@attrs.frozen
class _Streaming:
    signed: bool
    trailer: bool


# The aws-chunked modes of x-amz-content-sha256 ("Authenticating Requests: Using the
# Authorization Header", table of x-amz-content-sha256 values). The ECDSA modes are
# SigV4a, which this server does not speak.
_STREAMING = {
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": _Streaming(signed=True, trailer=False),
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": _Streaming(signed=True, trailer=True),
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER": _Streaming(signed=False, trailer=True),
}


def verified_body(request: Request, auth: AuthContext) -> Readable:
    """Stack the readers that make the body exactly what the client declared.

    Raises:
        InvalidArgument: a malformed ``x-amz-content-sha256`` or
            ``x-amz-decoded-content-length``.
        InvalidRequest: ``x-amz-trailer`` names something other than one
            checksum, or comes without a ``STREAMING-...-TRAILER`` mode.
        NotImplemented: the SigV4a (ECDSA) streaming modes.
        IncompleteBody, XAmzContentSHA256Mismatch, SignatureDoesNotMatch,
            MalformedTrailerError, InvalidChunkSizeError: later, from the readers,
            while the body is read.
    """
    body: Readable = request.body
    length = request.headers.get("content-length")
    if length is not None and length.isdigit():
        body = ExactLengthReader(body, int(length))
    payload_hash = auth.payload_hash
    trailers = declared_trailers(request.headers)
    streaming = _STREAMING.get(payload_hash)
    if trailers and (streaming is None or not streaming.trailer):
        # Trailing headers only exist in the aws-chunked framing of the -TRAILER
        # modes; any other body would leave the announced checksum unchecked.
        raise errors.InvalidRequest(
            "x-amz-trailer requires x-amz-content-sha256 "
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER or "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
        )
    if streaming is not None:
        return _chunked(request.headers, body, auth, streaming, trailers)
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
            "SigV4a (ECDSA) streaming payloads are not supported",
            extra={"Header": "x-amz-content-sha256"},
        )
    raise errors.InvalidArgument(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a valid "
        "sha256 value.",
        extra={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": payload_hash},
    )


def declared_trailers(headers: Headers) -> frozenset[str]:
    """The trailing headers ``x-amz-trailer`` announces, lower-case.

    Raises:
        InvalidRequest: a name that is not ``x-amz-checksum-<algorithm>`` of an
            algorithm S3 knows (S3 takes checksum trailers only).
    """
    names: set[str] = set()
    for value in headers.get_all("x-amz-trailer"):
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            algorithm = name.removeprefix(_CHECKSUM_PREFIX).upper()
            if not name.startswith(_CHECKSUM_PREFIX) or algorithm not in ALGORITHMS:
                raise errors.InvalidRequest(
                    "The value specified in the x-amz-trailer header is not supported"
                )
            names.add(name)
    return frozenset(names)


def _chunked(
    headers: Headers,
    body: Readable,
    auth: AuthContext,
    streaming: _Streaming,
    trailers: frozenset[str],
) -> ChunkedReader:
    decoded = headers.get("x-amz-decoded-content-length")
    if decoded is not None and not decoded.isdigit():
        raise errors.InvalidArgument(
            extra={
                "ArgumentName": "x-amz-decoded-content-length",
                "ArgumentValue": decoded,
            }
        )
    signer = (
        ChunkSigner(
            key=auth.signing_key,
            amz_date=auth.amz_date,
            scope=auth.scope,
            seed_signature=auth.seed_signature,
        )
        if streaming.signed
        else None
    )
    decoder = ChunkedDecoder(
        signer=signer,
        trailer=streaming.trailer,
        trailer_names=trailers,
        decoded_length=int(decoded) if decoded is not None else None,
    )
    return ChunkedReader(body, decoder)
