"""S3 operations, one module per family, and the table that names them.

Each operation is a function ``Call -> Response``; ``OPERATIONS`` maps the operation
names that ``s3core.routing`` produces to them.
"""

from __future__ import annotations

from collections.abc import Callable

from s3core.http import Response
from s3core.operations import buckets, deletes, listing, objects, presign_endpoint
from s3core.operations.context import Call

__all__ = ["OPERATIONS", "Call", "Operation"]

Operation = Callable[[Call], Response]

OPERATIONS: dict[str, Operation] = {
    "CreateBucket": buckets.create_bucket,
    "DeleteBucket": buckets.delete_bucket,
    "DeleteObject": objects.delete_object,
    "DeleteObjects": deletes.delete_objects,
    "GetBucketLocation": buckets.get_bucket_location,
    "GetObject": objects.get_object,
    "HeadBucket": buckets.head_bucket,
    "HeadObject": objects.head_object,
    "ListBuckets": buckets.list_buckets,
    "ListObjectVersions": listing.list_object_versions,
    "ListObjects": listing.list_objects,
    "ListObjectsV2": listing.list_objects_v2,
    "PresignUrl": presign_endpoint.presign_url,
    "PutObject": objects.put_object,
}
