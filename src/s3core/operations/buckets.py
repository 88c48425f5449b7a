"""Bucket operations: create, head, delete, list, location, versioning state.

This module owns S3's bucket semantics: naming and region rules, ownership answers and
the response shapes. Storage is reached only through the ``Backend`` protocol.
"""

from __future__ import annotations

from s3core import errors, xml_in, xml_out
from s3core.bodies import read_all
from s3core.http import Response
from s3core.names import validate_bucket_name
from s3core.operations.common import owner, xml_response
from s3core.operations.context import Call

__all__ = [
    "create_bucket",
    "delete_bucket",
    "get_bucket_location",
    "get_bucket_versioning",
    "head_bucket",
    "list_buckets",
]

_US_EAST_1 = "us-east-1"
# The legacy alias S3 still accepts for eu-west-1 ("EU" in LocationConstraint).
_REGION_ALIASES = {"EU": "eu-west-1"}
_CONFIG_LIMIT = 64 * 1024


def create_bucket(call: Call) -> Response:
    """CreateBucket.

    Raises:
        InvalidBucketName, InvalidLocationConstraint,
        IllegalLocationConstraintException, BucketAlreadyOwnedByYou,
        BucketAlreadyExists, MalformedXML.
    """
    name = call.bucket
    validate_bucket_name(name)
    constraint = xml_in.parse_create_bucket_configuration(
        read_all(call.body, _CONFIG_LIMIT)
    )
    _check_location(constraint or None, call.config.region)
    try:
        call.backend.create_bucket(name, owner_id=call.user.id, created=call.now)
    except errors.BucketAlreadyExists:
        # S3 answers 200 here in us-east-1 for legacy reasons; we answer
        # BucketAlreadyOwnedByYou everywhere, as S3 does in every other region, so
        # that test suites see a re-create as the conflict it is.
        if call.backend.get_bucket(name).owner_id == call.user.id:
            raise errors.BucketAlreadyOwnedByYou(extra={"BucketName": name}) from None
        raise
    return Response(status=200, headers=(("Location", f"/{name}"),))


def _check_location(constraint: str | None, region: str) -> None:
    """Enforce CreateBucket's region rules against this endpoint's region."""
    if constraint is None:
        # No configuration means us-east-1; a regional endpoint refuses it.
        if region != _US_EAST_1:
            raise errors.IllegalLocationConstraintException(
                "The unspecified location constraint is incompatible for the region "
                "specific endpoint this request was sent to."
            )
        return
    # "us-east-1" is never a valid LocationConstraint: buckets there are created with
    # no configuration at all.
    if constraint == _US_EAST_1:
        raise errors.InvalidLocationConstraint(extra={"LocationConstraint": constraint})
    if _REGION_ALIASES.get(constraint, constraint) != region:
        raise errors.IllegalLocationConstraintException(
            f"The {constraint} location constraint is incompatible for the region "
            "specific endpoint this request was sent to."
        )


def head_bucket(call: Call) -> Response:
    """HeadBucket: the service has already checked the bucket exists and is ours."""
    return Response(
        status=200,
        headers=(
            ("x-amz-bucket-region", call.config.region),
            ("x-amz-access-point-alias", "false"),
        ),
    )


def delete_bucket(call: Call) -> Response:
    """DeleteBucket.

    Raises:
        NoSuchBucket, BucketNotEmpty.
    """
    call.backend.delete_bucket(call.bucket)
    return Response(status=204)


def list_buckets(call: Call) -> Response:
    """ListBuckets: the caller's own buckets, by name."""
    mine = [b for b in call.backend.list_buckets() if b.owner_id == call.user.id]
    return xml_response(xml_out.list_buckets(mine, owner(call, call.user.id)))


def get_bucket_location(call: Call) -> Response:
    """GetBucketLocation: every bucket lives in the endpoint's region."""
    return xml_response(xml_out.location_constraint(call.config.region))


def get_bucket_versioning(call: Call) -> Response:
    """GetBucketVersioning: this server never versions a bucket.

    PutBucketVersioning is not implemented (it answers NotImplemented), so every
    bucket is in the state S3 reports for one that was never versioned.
    """
    return xml_response(xml_out.versioning_configuration())
