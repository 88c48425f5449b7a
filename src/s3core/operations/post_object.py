"""POST Object: browser form uploads authenticated by a signed policy document.

Placeholder until the form-upload work lands: the route exists so that the request is
answered NotImplemented rather than mistaken for another operation.
"""

from __future__ import annotations

from s3core import errors
from s3core.http import Response
from s3core.operations.form_context import FormCall

__all__ = ["post_object"]


def post_object(call: FormCall) -> Response:
    """POST Object.

    Raises:
        NotImplementedOperation: not implemented yet.
    """
    raise errors.NotImplementedOperation()
