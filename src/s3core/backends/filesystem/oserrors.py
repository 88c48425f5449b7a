"""The one place where the filesystem backend turns ``OSError`` into S3 errors.

This module owns the translation table. Every public entry point of the backend (its
verbs, its readers' and writers' methods, the listing iterator) runs inside
``translate_os_errors``; nothing above it catches ``OSError``. Below it, helpers handle
only the errors they expect as answers (``ENOENT`` meaning "absent", ``EEXIST`` meaning
"someone else won") and let the rest rise to here. The messages go to clients, so they
name the condition, never a server path; the original error stays chained for the log.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

from s3core import errors

__all__ = ["translate_os_errors"]

# A full disk is XMinioStorageFull (507, which SDKs do not retry: retrying into a
# full disk only re-sends the body; see errors). No S3 error means "the server may
# not write its own files": these are server faults, not the client's, so they are
# answered as InternalError (500, which SDKs retry) with a message that says what is
# wrong. Running out of descriptors is load, so it is SlowDown (503): SDKs back off
# and retry.
_FULL_MESSAGES: dict[int, str] = {
    errno.ENOSPC: "The server's storage is full (no space left on device).",
    errno.EDQUOT: "The server's storage quota is exhausted (disk quota full).",
}
_INTERNAL_MESSAGES: dict[int, str] = {
    errno.EROFS: "The server's storage is read-only.",
    errno.EACCES: "The server is not permitted to access its storage.",
    errno.EPERM: "The server is not permitted to access its storage.",
    errno.EXDEV: "The server's data directory spans several filesystems.",
    errno.EIO: "The server's storage reported an I/O error.",
}
_SLOW_DOWN_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.EAGAIN, errno.ENOLCK})


def _translate(exc: OSError) -> errors.S3Error:
    code = exc.errno if exc.errno is not None else -1
    if code in _SLOW_DOWN_ERRNOS:
        return errors.SlowDown()
    if code in _FULL_MESSAGES:
        return errors.XMinioStorageFull(_FULL_MESSAGES[code])
    message = _INTERNAL_MESSAGES.get(code)
    if message is None:
        name = errno.errorcode.get(code, str(code))
        message = f"The server's storage failed ({name})."
    return errors.InternalError(message)


@contextlib.contextmanager
def translate_os_errors() -> Iterator[None]:
    """Run the body, re-raising any ``OSError`` as the matching ``S3Error``."""
    try:
        yield
    except OSError as exc:
        raise _translate(exc) from exc
