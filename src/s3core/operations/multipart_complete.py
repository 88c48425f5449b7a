"""CompleteMultipartUpload: which parts make a valid object, and its ETag and checksum.

This module owns S3's rules for completing an upload: the body lists parts in
ascending order (``InvalidPartOrder``), each part exists with the ETag (and checksum)
the client names (``InvalidPart``), every part but the last has at least 5 MiB
(``EntityTooSmall``), and a COMPOSITE upload's body names every part's checksum. It
computes the object's ETag (the MD5 of the parts' binary MD5s, then ``-N``) and
checksum (a checksum of the parts' checksums, ``-N`` suffixed, for COMPOSITE; the CRCs
combined into the whole object's CRC for FULL_OBJECT, and for uploads that named no
algorithm: CRC64NVME, S3's default, unless the parts all carry another CRC). The
backend then publishes the parts atomically; no part's bytes pass through here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
from collections.abc import Callable, Sequence
from urllib.parse import quote

import attrs
from awscrt import checksums as crt

from s3core import errors, xml_in, xml_out
from s3core.bodies import read_all
from s3core.checksums import new_checksum, requested_checksums
from s3core.http import Response
from s3core.models import Part, Upload
from s3core.names import validate_key
from s3core.operations.common import xml_response
from s3core.operations.context import Call
from s3core.operations.objects import write_condition

__all__ = ["MIN_PART_SIZE", "complete_multipart_upload", "multipart_etag"]

# "Part size: 5 MiB to 5 GiB. There is no minimum size limit on the last part of your
# multipart upload" (S3 User Guide, "Amazon S3 multipart upload limits").
MIN_PART_SIZE = 5 * 1024 * 1024

# Combining two CRCs: (crc of A, crc of B, length of B) -> crc of A followed by B.
_COMBINE: dict[str, Callable[[int, int, int], int]] = {
    "CRC32": crt.combine_crc32,
    "CRC32C": crt.combine_crc32c,
    "CRC64NVME": crt.combine_crc64nvme,
}


def multipart_etag(parts: Sequence[Part]) -> str:
    """The ETag of an object made of ``parts``: MD5 of their binary MD5s, ``-N``."""
    md5 = hashlib.md5(usedforsecurity=False)
    for part in parts:
        md5.update(bytes.fromhex(part.etag))
    return f"{md5.hexdigest()}-{len(parts)}"


def complete_multipart_upload(call: Call) -> Response:
    """CompleteMultipartUpload: publish the listed parts as the object.

    Raises:
        NoSuchBucket, NoSuchUpload, MalformedXML, InvalidPartOrder, InvalidPart,
        EntityTooSmall, InvalidRequest (a COMPOSITE upload's part without its
        checksum), BadDigest (a stated whole-object checksum that does not match),
        PreconditionFailed, NoSuchKey (If-Match / If-None-Match).
    """
    validate_key(call.key)
    upload = call.backend.get_upload(call.bucket, call.key, call.query["uploadId"])
    requested = xml_in.parse_complete_multipart(
        read_all(call.body, xml_in.MAX_COMPLETE_MULTIPART_BODY)
    )
    numbers = [r.part_number for r in requested]
    # "Parts must be ordered by part number" (CompleteMultipartUpload); a repeated
    # number is out of order too.
    if any(a >= b for a, b in itertools.pairwise(numbers)):
        raise errors.InvalidPartOrder(extra={"UploadId": upload.upload_id})
    condition = write_condition(call.headers)
    stored = {
        p.part_number: p
        for p in call.backend.list_parts(call.bucket, call.key, upload.upload_id)
    }
    parts = [_match(upload, stored.get(r.part_number), r) for r in requested]
    _check_sizes(parts)
    checksum = _object_checksum(upload, parts)
    _check_stated(call, checksum)
    meta = attrs.evolve(upload.meta, checksums=(checksum,) if checksum else ())
    info = call.backend.complete_upload(
        call.bucket,
        call.key,
        upload.upload_id,
        parts,
        meta=meta,
        etag=multipart_etag(parts),
        condition=condition,
    )
    location = f"http://{call.request.host}/{call.bucket}/{quote(call.key)}"
    body = xml_out.complete_multipart_upload(
        location,
        call.bucket,
        call.key,
        info.etag,
        checksum=checksum,
        checksum_type=_type(upload),
    )
    return xml_response(body)


def _invalid_part(upload: Upload, number: int, etag: str) -> errors.InvalidPart:
    return errors.InvalidPart(
        extra={"UploadId": upload.upload_id, "PartNumber": str(number), "ETag": etag}
    )


def _match(upload: Upload, part: Part | None, wanted: xml_in.CompletedPart) -> Part:
    """The stored part the body names, if its ETag and checksums match."""
    if part is None or part.etag != wanted.etag:
        raise _invalid_part(upload, wanted.part_number, wanted.etag)
    for algorithm, value in wanted.checksums:
        if part.checksum != (algorithm, value):
            raise _invalid_part(upload, wanted.part_number, wanted.etag)
    if _type(upload) == "COMPOSITE" and not wanted.checksums:
        algorithm = (upload.checksum_algorithm or "").lower()
        raise errors.InvalidRequest(
            f"The upload was created using a {algorithm} checksum. The complete "
            "request must include the checksum for each part. It was missing for "
            f"part {wanted.part_number} in the request."
        )
    return part


def _check_sizes(parts: Sequence[Part]) -> None:
    for part in parts[:-1]:
        if part.size < MIN_PART_SIZE:
            raise errors.EntityTooSmall(
                extra={
                    "ProposedSize": str(part.size),
                    "MinSizeAllowed": str(MIN_PART_SIZE),
                    "PartNumber": str(part.part_number),
                    "ETag": part.etag,
                }
            )


def _type(upload: Upload) -> str:
    """The object's checksum type: uploads that named no algorithm get a
    FULL_OBJECT one, as S3's default integrity protection for new objects is."""
    return upload.checksum_type or "FULL_OBJECT"


def _object_checksum(upload: Upload, parts: Sequence[Part]) -> tuple[str, str] | None:
    """(algorithm, value) of the completed object, or ``None`` if the parts do not
    all carry a checksum of one algorithm that combines (possible only when the
    upload named none)."""
    algorithm = upload.checksum_algorithm or _parts_crc(parts)
    if algorithm is None:
        return None
    raws = [_raw(part, algorithm) for part in parts]
    if any(raw is None for raw in raws):
        return None
    if _type(upload) == "COMPOSITE":
        combined = new_checksum(algorithm)
        for raw in raws:
            combined.update(raw or b"")
        value = base64.b64encode(combined.digest()).decode()
        return algorithm, f"{value}-{len(parts)}"
    crc, width = 0, len(new_checksum(algorithm).digest())
    for part, raw in zip(parts, raws, strict=True):
        crc = _COMBINE[algorithm](crc, int.from_bytes(raw or b"", "big"), part.size)
    return algorithm, base64.b64encode(crc.to_bytes(width, "big")).decode()


def _parts_crc(parts: Sequence[Part]) -> str | None:
    """For an upload that named no algorithm: the CRC every part carries (parts get
    CRC64NVME by default, but clients may name their own per part), if they agree
    on one that combines."""
    names = {part.checksum[0] if part.checksum else None for part in parts}
    if len(names) != 1:
        return None
    (name,) = names
    return name if name in _COMBINE else None


def _raw(part: Part, algorithm: str) -> bytes | None:
    if part.checksum is None or part.checksum[0] != algorithm:
        return None
    try:
        return base64.b64decode(part.checksum[1], validate=True)
    except (binascii.Error, ValueError):
        return None


def _check_stated(call: Call, checksum: tuple[str, str] | None) -> None:
    """A whole-object ``x-amz-checksum-*`` header on the request must match.

    Raises:
        BadDigest: it names another value (or a checksum the object will not have).
    """
    for algorithm, value in requested_checksums(call.headers).items():
        if checksum is None or checksum != (algorithm, value):
            raise errors.BadDigest(
                f"The {algorithm} you specified did not match the calculated checksum."
            )
