"""The filesystem backend: buckets and objects as plain directories and files.

This package owns storing S3 data in a directory people can look into: the object
``photos/2024/a.jpg`` of bucket ``b`` is the file ``<root>/b/photos/2024/a.jpg``, a file
copied in by hand is an object, and internal state lives under ``<root>/.s3server/``.
It must stay safe with several processes on one data directory, so it keeps no state
in memory that is not validated against the disk. The modules, outermost first:
``backend`` (the verbs), ``buckets``, ``uploads`` (multipart state) and
``upload_records``, ``objects`` (readers, writers, deletes), ``walk`` (listing order),
``store`` (shared steps), ``tree`` (paths on disk), ``meta`` (the record format and
its identity check), ``xattr`` (records in the data file's attribute), ``layout``
(key <-> names, pure), ``copying`` (file-to-file copies), ``atomic``, ``locks`` and
``oserrors`` (the one ``OSError`` boundary).
"""

from __future__ import annotations

from s3core.backends.filesystem.backend import FilesystemBackend

__all__ = ["FilesystemBackend"]
