"""The S3 error hierarchy: every failure a client can cause, with its AWS code and
status.

This module owns the table of S3 errors. Each class is named after the AWS error code it
sends (``NoSuchBucket`` sends ``NoSuchBucket``) and carries the HTTP status S3 answers
with, so no other module keeps a code-to-status mapping. Backends, auth and operations
raise these directly; the service renders them as S3's XML error body. Anything that is
not an ``S3Error`` reaching the service is a bug and is answered ``InternalError`` 500.

The tree::

    S3Error(Exception)
    ├── AccessDenied 403
    ├── AuthorizationHeaderMalformed 400
    ├── AuthorizationQueryParametersError 400
    ├── BadDigest 400
    ├── BucketAlreadyExists 409
    ├── BucketAlreadyOwnedByYou 409
    ├── BucketNotEmpty 409
    ├── EntityTooLarge 400
    ├── EntityTooSmall 400
    ├── IllegalLocationConstraintException 400
    ├── IncompleteBody 400
    ├── InternalError 500
    ├── InvalidAccessKeyId 403
    ├── InvalidArgument 400
    ├── InvalidBucketName 400
    ├── InvalidChunkSizeError 400
    ├── InvalidDigest 400
    ├── InvalidLocationConstraint 400
    ├── InvalidPart 400
    ├── InvalidPartNumber 416
    ├── InvalidPartOrder 400
    ├── InvalidRange 416
    ├── InvalidRequest 400
    ├── InvalidStorageClass 400
    ├── InvalidURI 400
    ├── KeyTooLongError 400
    ├── MalformedTrailerError 400
    ├── MalformedXML 400
    ├── MethodNotAllowed 405
    ├── MissingContentLength 411
    ├── MissingSecurityHeader 400
    ├── NoSuchBucket 404
    ├── NoSuchKey 404
    ├── NoSuchUpload 404
    ├── NotImplementedOperation 501 (code "NotImplemented")
    ├── PreconditionFailed 412
    ├── RequestTimeTooSkewed 403
    ├── SignatureDoesNotMatch 403
    ├── SlowDown 503
    ├── XAmzContentSHA256Mismatch 400
    ├── InvalidPolicyDocument 400
    ├── MalformedPOSTRequest 400
    ├── MaxPostPreDataLengthExceededError 400
    └── XMinioStorageFull 507 (not an AWS code: S3 never fills up)

``NotModified`` (304) is deliberately not an error: it is a normal conditional-GET
outcome without a body, so operations return it as a response.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDenied",
    "AuthorizationHeaderMalformed",
    "AuthorizationQueryParametersError",
    "BadDigest",
    "BucketAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "BucketNotEmpty",
    "EntityTooLarge",
    "EntityTooSmall",
    "IllegalLocationConstraintException",
    "IncompleteBody",
    "InternalError",
    "InvalidAccessKeyId",
    "InvalidArgument",
    "InvalidBucketName",
    "InvalidChunkSizeError",
    "InvalidDigest",
    "InvalidLocationConstraint",
    "InvalidPart",
    "InvalidPartNumber",
    "InvalidPartOrder",
    "InvalidPolicyDocument",
    "InvalidRange",
    "InvalidRequest",
    "InvalidStorageClass",
    "InvalidURI",
    "KeyTooLongError",
    "MalformedPOSTRequest",
    "MalformedTrailerError",
    "MalformedXML",
    "MaxPostPreDataLengthExceededError",
    "MetadataTooLarge",
    "MethodNotAllowed",
    "MissingContentLength",
    "MissingSecurityHeader",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchUpload",
    "NoSuchVersion",
    "NotImplementedOperation",
    "PreconditionFailed",
    "RequestTimeTooSkewed",
    "S3Error",
    "SignatureDoesNotMatch",
    "SlowDown",
    "XAmzContentSHA256Mismatch",
    "XMinioStorageFull",
]


class S3Error(Exception):
    """Base of every error a client can cause.

    Attributes:
        code: the AWS error code sent in ``<Code>``.
        status: the HTTP status S3 answers with.
        message: the human text sent in ``<Message>``.
        extra: further elements S3 puts in the error body, in order (for example
            ``BucketName``, ``StringToSign``, ``CanonicalRequest``).
        headers: extra response headers (for example ``x-amz-bucket-region``).
    """

    code: ClassVar[str] = "InternalError"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = (
        "We encountered an internal error. Please try again."
    )

    def __init__(
        self,
        message: str | None = None,
        *,
        extra: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.extra: dict[str, str] = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.message)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # The class name is the AWS code unless the class says otherwise.
        if "code" not in cls.__dict__:
            cls.code = cls.__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class AccessDenied(S3Error):
    status = 403
    default_message = "Access Denied"


class AuthorizationHeaderMalformed(S3Error):
    status = 400
    default_message = "The authorization header is malformed."


class AuthorizationQueryParametersError(S3Error):
    status = 400
    default_message = "Error parsing the X-Amz-Credential parameter."


class BadDigest(S3Error):
    status = 400
    default_message = "The Content-MD5 you specified did not match what we received."


class BucketAlreadyExists(S3Error):
    status = 409
    default_message = (
        "The requested bucket name is not available. The bucket namespace is shared "
        "by all users of the system. Please select a different name and try "
        "again."
    )


class BucketAlreadyOwnedByYou(S3Error):
    status = 409
    default_message = (
        "Your previous request to create the named bucket succeeded and you "
        "already own it."
    )


class BucketNotEmpty(S3Error):
    status = 409
    default_message = "The bucket you tried to delete is not empty"


class EntityTooLarge(S3Error):
    status = 400
    default_message = "Your proposed upload exceeds the maximum allowed size"


class EntityTooSmall(S3Error):
    status = 400
    default_message = "Your proposed upload is smaller than the minimum allowed size"


class IllegalLocationConstraintException(S3Error):
    status = 400
    default_message = (
        "The location constraint is incompatible with the region specific endpoint "
        "this request was sent to."
    )


class IncompleteBody(S3Error):
    status = 400
    default_message = (
        "You did not provide the number of bytes specified by the Content-Length "
        "HTTP header"
    )


class InternalError(S3Error):
    status = 500
    default_message = "We encountered an internal error. Please try again."


class InvalidAccessKeyId(S3Error):
    status = 403
    default_message = (
        "The AWS Access Key Id you provided does not exist in our records."
    )


class InvalidArgument(S3Error):
    status = 400
    default_message = "Invalid Argument"


class InvalidBucketName(S3Error):
    status = 400
    default_message = "The specified bucket is not valid."


class InvalidDigest(S3Error):
    status = 400
    default_message = "The Content-MD5 you specified was invalid."


class InvalidLocationConstraint(S3Error):
    status = 400
    default_message = "The specified location-constraint is not valid"


class InvalidPart(S3Error):
    status = 400
    default_message = (
        "One or more of the specified parts could not be found. The part may not have"
        " been uploaded, or the specified entity tag may not match the part's"
        " entity tag."
    )


class InvalidPartOrder(S3Error):
    status = 400
    default_message = (
        "The list of parts was not in ascending order. The parts list must be "
        "specified in order by part number."
    )


class InvalidRange(S3Error):
    status = 416
    default_message = "The requested range is not satisfiable"


class InvalidRequest(S3Error):
    status = 400
    default_message = "Invalid Request"


class InvalidStorageClass(S3Error):
    status = 400
    default_message = "The storage class you specified is not valid"


class InvalidURI(S3Error):
    status = 400
    default_message = "Couldn't parse the specified URI."


class KeyTooLongError(S3Error):
    status = 400
    default_message = "Your key is too long"


class MalformedXML(S3Error):
    status = 400
    default_message = (
        "The XML you provided was not well-formed or did not validate against our "
        "published schema"
    )


class MethodNotAllowed(S3Error):
    status = 405
    default_message = "The specified method is not allowed against this resource."


class MissingContentLength(S3Error):
    status = 411
    default_message = "You must provide the Content-Length HTTP header."


class MissingSecurityHeader(S3Error):
    status = 400
    default_message = "Your request is missing a required header."


class NoSuchBucket(S3Error):
    status = 404
    default_message = "The specified bucket does not exist"


class NoSuchKey(S3Error):
    status = 404
    default_message = "The specified key does not exist."


class NoSuchUpload(S3Error):
    status = 404
    default_message = (
        "The specified upload does not exist. The upload ID may be invalid, or the"
        " upload may have been aborted or completed."
    )


class NotImplementedOperation(S3Error):
    code = "NotImplemented"
    status = 501
    default_message = (
        "A header or query you provided implies functionality that is not implemented."
    )


class PreconditionFailed(S3Error):
    status = 412
    default_message = "At least one of the pre-conditions you specified did not hold"


class RequestTimeTooSkewed(S3Error):
    status = 403
    default_message = (
        "The difference between the request time and the current time is too large."
    )


class SignatureDoesNotMatch(S3Error):
    status = 403
    default_message = (
        "The request signature we calculated does not match the signature you "
        "provided. Check your key and signing method."
    )


class SlowDown(S3Error):
    status = 503
    default_message = "Please reduce your request rate."


class XAmzContentSHA256Mismatch(S3Error):
    status = 400
    default_message = (
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    )


class MetadataTooLarge(S3Error):
    status = 400
    default_message = "Your metadata headers exceed the maximum allowed metadata size."


class NoSuchVersion(S3Error):
    status = 404
    default_message = "The specified version does not exist."


class MalformedTrailerError(S3Error):
    # The trailing headers of an aws-chunked body (x-amz-trailer) are unreadable,
    # undeclared, repeated or missing.
    status = 400
    default_message = (
        "The request contained trailing data that was not well-formed or did not "
        "conform to our published schema."
    )


class InvalidChunkSizeError(S3Error):
    # aws-chunked bodies: every chunk but the last must carry at least 8 KiB.
    status = 400
    default_message = (
        "Only the last chunk is allowed to have a size less than 8192 bytes"
    )


class InvalidPolicyDocument(S3Error):
    status = 400
    default_message = (
        "The content of the form does not meet the conditions specified in the "
        "policy document."
    )


class MalformedPOSTRequest(S3Error):
    status = 400
    default_message = (
        "The body of your POST request is not well-formed multipart/form-data."
    )


class MaxPostPreDataLengthExceededError(S3Error):
    status = 400
    default_message = (
        "Your POST request fields preceding the upload file were too large."
    )


class InvalidPartNumber(S3Error):
    # GetObject / HeadObject with a partNumber the object does not have.
    status = 416
    default_message = "The requested partnumber is not satisfiable"


class XMinioStorageFull(S3Error):
    # S3 never runs out of space, so AWS defines no code for a full disk. MinIO
    # answers one with this code and 507 Insufficient Storage (RFC 4918, 11.5), so
    # tools that know MinIO already understand it. SDKs and tools retry 500 and 503
    # (botocore, the AWS CLI, rclone, s3transfer) but not 507: a client learns at
    # once that the disk is full, instead of re-sending its body into it.
    status = 507
    default_message = (
        "The server's storage is full. Please delete some objects to proceed."
    )
