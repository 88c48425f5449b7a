"""s3core: an S3-compatible object store as a library, with no web framework.

The package's front door: ``S3Service`` (in ``s3core.service``) answers
``s3core.http.Request`` values, and ``presign_url`` makes a SigV4 presigned URL
with the signer the service verifies with. Everything else lives in the submodules;
this module only re-exports and must not grow behaviour of its own.
"""

from __future__ import annotations

from s3core.auth.presign import presign_url

__all__ = ["presign_url"]
