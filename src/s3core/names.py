"""Bucket and key naming rules.

This module owns what a valid bucket name and a valid object key are, as pure checks
that raise the S3 error a client would get. It does not know how names map to storage
(that is each backend's business) or how they arrive in a URL (that is routing's).
"""

from __future__ import annotations

import ipaddress
import re

from s3core import errors

__all__ = ["MAX_KEY_BYTES", "validate_bucket_name", "validate_key"]

# "Object key names ... up to 1,024 bytes long" (S3 User Guide, "Naming objects"),
# counted in UTF-8.
MAX_KEY_BYTES = 1024

# "Bucket names must be between 3 and 63 characters long", "can consist only of
# lowercase letters, numbers, dots (.), and hyphens (-)", "must begin and end with a
# letter or number" (S3 User Guide, "Bucket naming rules").
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def validate_bucket_name(name: str) -> None:
    """Check a bucket name against S3's general-purpose bucket naming rules.

    Raises:
        InvalidBucketName: the name breaks a rule.
    """
    if not _BUCKET_RE.fullmatch(name) or ".." in name or _is_ip_address(name):
        raise errors.InvalidBucketName(extra={"BucketName": name})
    # "must not contain two adjacent periods"; also ".-" and "-." are rejected by S3
    # because they make invalid DNS labels.
    if ".-" in name or "-." in name:
        raise errors.InvalidBucketName(extra={"BucketName": name})


def _is_ip_address(name: str) -> bool:
    # "must not be formatted as an IP address (for example, 192.168.5.4)".
    # Only digits and dots can be one: most names are not, and the parser below
    # answers them with a raised exception, which costs more than this test.
    if not name.replace(".", "").isdigit():
        return False
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def validate_key(key: str) -> None:
    """Check an object key.

    Raises:
        KeyTooLongError: the key is over 1024 bytes in UTF-8.
        InvalidURI: the key is not valid UTF-8 text (lone surrogates).
    """
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise errors.InvalidURI() from None
    if size > MAX_KEY_BYTES:
        raise errors.KeyTooLongError(
            extra={"Size": str(size), "MaxSizeAllowed": str(MAX_KEY_BYTES)}
        )
