"""The server's presign endpoint: a presigned URL for an authenticated caller.

Placeholder until the presign work lands.
"""

from __future__ import annotations

from s3core import errors
from s3core.http import Response
from s3core.operations.context import Call

__all__ = ["presign_url"]


def presign_url(call: Call) -> Response:
    """GET /.s3server/presign.

    Raises:
        NotImplementedOperation: not implemented yet.
    """
    raise errors.NotImplementedOperation()
