"""Service configuration values.

This module owns ``ServiceConfig``, the settings the S3 service itself needs (region,
virtual-host domain, limits). Settings of the HTTP server (host, port, threads) belong
to ``s3server``; how settings are read (flags, environment, files) is the CLI's
business.
"""

from __future__ import annotations

from concurrent.futures import Executor

import attrs

__all__ = ["MAX_PUT_SIZE", "ServiceConfig"]

# "Upload an object in a single operation ... up to 5 GB" (S3 User Guide, "Uploading
# objects"); above it PutObject answers EntityTooLarge.
MAX_PUT_SIZE = 5 * 1024**3


@attrs.frozen(kw_only=True)
class ServiceConfig:
    """What the S3 service needs to know about its deployment.

    Attributes:
        region: the region this endpoint serves; credential scopes and bucket
            location constraints must name it.
        domain: base domain for virtual-hosted-style requests (``bucket.<domain>``).
        max_put_size: largest single PutObject body.
        digest_executor: where the MD5 and checksum of a large body are computed,
            overlapping its transfer (``None``: in the request's thread). The
            standalone server gives one whose threads run off the request threads'
            CPU.
    """

    region: str = "us-east-1"
    domain: str = "localhost"
    max_put_size: int = MAX_PUT_SIZE
    digest_executor: Executor | None = attrs.field(default=None, eq=False)
