"""S3 operations, one module per family, and the table that names them.

Each operation is a function ``Call -> Response``; ``OPERATIONS`` maps the operation
names that ``s3core.routing`` produces to them.
"""

from __future__ import annotations

from collections.abc import Callable

from s3core.http import Response
from s3core.operations import (
    buckets,
    copy,
    deletes,
    listing,
    multipart,
    multipart_complete,
    multipart_listing,
    objects,
    presign_endpoint,
)
from s3core.operations.context import Call

__all__ = ["OPERATIONS", "Call", "Operation"]

Operation = Callable[[Call], Response]

OPERATIONS: dict[str, Operation] = {
    "AbortMultipartUpload": multipart.abort_multipart_upload,
    "CompleteMultipartUpload": multipart_complete.complete_multipart_upload,
    "CopyObject": copy.copy_object,
    "CreateBucket": buckets.create_bucket,
    "CreateMultipartUpload": multipart.create_multipart_upload,
    "DeleteBucket": buckets.delete_bucket,
    "DeleteObject": objects.delete_object,
    "DeleteObjects": deletes.delete_objects,
    "GetBucketLocation": buckets.get_bucket_location,
    "GetBucketVersioning": buckets.get_bucket_versioning,
    "GetObject": objects.get_object,
    "HeadBucket": buckets.head_bucket,
    "HeadObject": objects.head_object,
    "ListBuckets": buckets.list_buckets,
    "ListMultipartUploads": multipart_listing.list_multipart_uploads,
    "ListObjectVersions": listing.list_object_versions,
    "ListObjects": listing.list_objects,
    "ListObjectsV2": listing.list_objects_v2,
    "ListParts": multipart_listing.list_parts,
    "PresignUrl": presign_endpoint.presign_url,
    "PutObject": objects.put_object,
    "UploadPart": multipart.upload_part,
    "UploadPartCopy": multipart.upload_part_copy,
}
