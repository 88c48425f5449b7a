"""Response bodies of copies and multipart uploads, one small builder per shape.

This module owns CopyObjectResult, CopyPartResult, InitiateMultipartUploadResult,
CompleteMultipartUploadResult, ListPartsResult and ListMultipartUploadsResult: their
element names, order and optional parts (checksums appear only when there is one).
``xml_out`` re-exports every builder, so callers use that one module. Like it, this
module builds lxml trees only and decides nothing about a request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from lxml import etree

from s3core.models import Part, Upload
from s3core.timefmt import iso8601
from s3core.xml_build import (
    S3,
    Encoder,
    Owner,
    boolean,
    common_prefix_elements,
    delimiter_element,
    document,
    optional,
    quoted,
)
from s3core.xml_text import text_element as _text

__all__ = [
    "complete_multipart_upload",
    "copy_object_result",
    "copy_part_result",
    "initiate_multipart_upload",
    "list_multipart_uploads",
    "list_parts",
]


def _checksum(checksum: tuple[str, str] | None) -> list[etree._Element]:
    """``<ChecksumCRC32>`` (or the algorithm's element) when there is a checksum."""
    return (
        [] if checksum is None else [_text(S3, "Checksum" + checksum[0], checksum[1])]
    )


def copy_object_result(
    etag: str,
    last_modified: dt.datetime,
    *,
    checksum: tuple[str, str] | None = None,
    checksum_type: str | None = None,
) -> bytes:
    """CopyObject's ``CopyObjectResult``: the new object's ETag and LastModified,
    and its checksum when one is given."""
    root = S3.CopyObjectResult(
        S3.LastModified(iso8601(last_modified)),
        S3.ETag(quoted(etag)),
        *optional("ChecksumType", checksum_type if checksum else None),
        *_checksum(checksum),
    )
    return document(root)


def copy_part_result(
    etag: str,
    last_modified: dt.datetime,
    *,
    checksum: tuple[str, str] | None = None,
) -> bytes:
    """UploadPartCopy's ``CopyPartResult``: the new part's ETag and LastModified,
    and its checksum when one is given."""
    root = S3.CopyPartResult(
        S3.LastModified(iso8601(last_modified)),
        S3.ETag(quoted(etag)),
        *_checksum(checksum),
    )
    return document(root)


def initiate_multipart_upload(bucket: str, key: str, upload_id: str) -> bytes:
    """CreateMultipartUpload's ``InitiateMultipartUploadResult``."""
    root = S3.InitiateMultipartUploadResult(
        _text(S3, "Bucket", bucket),
        _text(S3, "Key", key),
        _text(S3, "UploadId", upload_id),
    )
    return document(root)


def complete_multipart_upload(
    location: str,
    bucket: str,
    key: str,
    etag: str,
    *,
    checksum: tuple[str, str] | None = None,
    checksum_type: str | None = None,
) -> bytes:
    """CompleteMultipartUpload's ``CompleteMultipartUploadResult``, with the
    object's checksum (``-N`` suffixed when composite) and its type when given."""
    root = S3.CompleteMultipartUploadResult(
        _text(S3, "Location", location),
        _text(S3, "Bucket", bucket),
        _text(S3, "Key", key),
        S3.ETag(quoted(etag)),
        *_checksum(checksum),
        *optional("ChecksumType", checksum_type if checksum else None),
    )
    return document(root)


def _person(tag: str, owner: Owner) -> etree._Element:
    """``<Initiator>`` or ``<Owner>``: ID and DisplayName."""
    return S3(
        tag, _text(S3, "ID", owner.id), _text(S3, "DisplayName", owner.display_name)
    )


def _upload_checksum(upload: Upload) -> list[etree._Element]:
    return [
        *optional("ChecksumAlgorithm", upload.checksum_algorithm),
        *optional("ChecksumType", upload.checksum_type),
    ]


def list_parts(
    *,
    bucket: str,
    upload: Upload,
    initiator: Owner,
    part_number_marker: int,
    next_part_number_marker: int | None,
    max_parts: int,
    is_truncated: bool,
    parts: Sequence[Part],
) -> bytes:
    """ListParts' ``ListPartsResult``: the page of parts and the upload's settings.

    ``next_part_number_marker`` is sent when given (the last part on the page).
    """
    root = S3.ListPartsResult(
        _text(S3, "Bucket", bucket),
        _text(S3, "Key", upload.key),
        _text(S3, "UploadId", upload.upload_id),
        S3.PartNumberMarker(str(part_number_marker)),
        *optional(
            "NextPartNumberMarker",
            None if next_part_number_marker is None else str(next_part_number_marker),
        ),
        S3.MaxParts(str(max_parts)),
        S3.IsTruncated(boolean(is_truncated)),
        *(
            S3.Part(
                S3.PartNumber(str(part.part_number)),
                S3.LastModified(iso8601(part.last_modified)),
                S3.ETag(quoted(part.etag)),
                S3.Size(str(part.size)),
                *_checksum(part.checksum if upload.checksum_algorithm else None),
            )
            for part in parts
        ),
        _person("Initiator", initiator),
        _person("Owner", initiator),
        S3.StorageClass("STANDARD"),
        *_upload_checksum(upload),
    )
    return document(root)


def list_multipart_uploads(
    *,
    bucket: str,
    prefix: str,
    delimiter: str | None,
    key_marker: str,
    upload_id_marker: str,
    max_uploads: int,
    is_truncated: bool,
    uploads: Sequence[tuple[Upload, Owner]],
    common_prefixes: Sequence[str],
    next_key_marker: str | None = None,
    next_upload_id_marker: str | None = None,
    encoding_type: str | None = None,
) -> bytes:
    """ListMultipartUploads' ``ListMultipartUploadsResult``.

    ``uploads`` pairs each upload with its initiator. Under ``encoding_type="url"``
    Key, Prefix, Delimiter, KeyMarker and NextKeyMarker are URL-encoded.

    Raises:
        InvalidArgument: ``encoding_type`` is neither ``None`` nor ``"url"``.
    """
    encode = Encoder(encoding_type)
    next_key = None if next_key_marker is None else encode(next_key_marker)
    root = S3.ListMultipartUploadsResult(
        _text(S3, "Bucket", bucket),
        _text(S3, "KeyMarker", encode(key_marker)),
        _text(S3, "UploadIdMarker", upload_id_marker),
        *optional("NextKeyMarker", next_key),
        *optional("NextUploadIdMarker", next_upload_id_marker),
        _text(S3, "Prefix", encode(prefix)),
        *delimiter_element(delimiter, encode),
        S3.MaxUploads(str(max_uploads)),
        S3.IsTruncated(boolean(is_truncated)),
        *encode.element(),
        *(
            S3.Upload(
                _text(S3, "Key", encode(upload.key)),
                _text(S3, "UploadId", upload.upload_id),
                _person("Initiator", initiator),
                _person("Owner", initiator),
                S3.StorageClass("STANDARD"),
                S3.Initiated(iso8601(upload.initiated)),
                *_upload_checksum(upload),
            )
            for upload, initiator in uploads
        ),
        *common_prefix_elements(common_prefixes, encode),
    )
    return document(root)
