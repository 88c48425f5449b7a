"""DeleteObjects: up to 1000 keys in one request, with per-key results.

This module owns the batch delete: its integrity-header rule, per-key outcomes (each
key succeeds or fails on its own, as S3 does) and Quiet mode. Single-key DeleteObject
lives with the other object operations.
"""

from __future__ import annotations

import base64
import hashlib

from s3core import errors, xml_in, xml_out
from s3core.bodies import read_all
from s3core.checksums import new_checksum, parse_content_md5, requested_checksums
from s3core.http import Response
from s3core.names import validate_key
from s3core.operations.common import xml_response
from s3core.operations.context import Call

__all__ = ["delete_objects"]

# 1000 keys of up to 1024 bytes each, escaped, in XML: a few MiB at most.
_BODY_LIMIT = 4 * 1024 * 1024


def delete_objects(call: Call) -> Response:
    """DeleteObjects.

    Raises:
        InvalidRequest (no Content-MD5 or checksum), InvalidDigest, BadDigest,
        MalformedXML, NoSuchBucket.
    """
    body = read_all(call.body, _BODY_LIMIT)
    _verify_integrity(call, body)
    request = xml_in.parse_delete(body)
    deleted: list[tuple[str, str | None]] = []
    failed: list[xml_out.DeleteError] = []
    for obj in request.objects:
        try:
            validate_key(obj.key)
            # An unversioned bucket has one version of each object, called "null".
            if obj.version_id not in (None, "null"):
                raise errors.NoSuchVersion()
            call.backend.delete_object(call.bucket, obj.key)
        except errors.NoSuchBucket:
            raise
        except errors.S3Error as err:
            failed.append(
                xml_out.DeleteError(
                    key=obj.key,
                    version_id=obj.version_id,
                    code=err.code,
                    message=err.message,
                )
            )
        else:
            deleted.append((obj.key, obj.version_id))
    return xml_response(xml_out.delete_result(deleted, failed, quiet=request.quiet))


def _verify_integrity(call: Call, body: bytes) -> None:
    """DeleteObjects requires Content-MD5 or an x-amz-checksum-* header."""
    md5 = parse_content_md5(call.headers)
    checksums = requested_checksums(call.headers)
    if md5 is None and not checksums:
        # "The Content-MD5 or x-amz-sdk-checksum-algorithm header is required for
        # Multi-Object Delete requests" (DeleteObjects).
        raise errors.InvalidRequest(
            "Missing required header for this request: Content-MD5"
        )
    if md5 is not None and hashlib.md5(body, usedforsecurity=False).digest() != md5:
        raise errors.BadDigest()
    for algorithm, expected in checksums.items():
        checksum = new_checksum(algorithm)
        checksum.update(body)
        if base64.b64encode(checksum.digest()).decode() != expected:
            raise errors.BadDigest(
                f"The {algorithm} you specified did not match the calculated checksum."
            )
