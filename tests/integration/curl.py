"""Run the real ``curl`` against the test server, as a person with a URL would.

Presigned URLs and form uploads are meant for clients that know nothing of AWS: these
tests hand them to ``/usr/bin/curl`` in a subprocess and read what it got back.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import attrs
from lxml import etree

CURL = "/usr/bin/curl"


@attrs.frozen
class Reply:
    """What curl received: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def error_code(self) -> str | None:
        """The ``<Code>`` of an S3 error body, if the body is one."""
        if not self.body.startswith(b"<?xml"):
            return None
        return etree.fromstring(self.body).findtext("Code")

    def error_field(self, name: str) -> str | None:
        """Another element of an S3 error body (``Message``, ``StringToSign``...)."""
        return etree.fromstring(self.body).findtext(name)


def curl(
    url: str,
    *,
    method: str = "GET",
    upload: bytes | None = None,
    headers: Sequence[tuple[str, str]] = (),
    extra: Sequence[str] = (),
) -> Reply:
    """Fetch ``url`` with curl.

    ``upload`` is sent with ``--upload-file`` (curl's PUT, with no Content-Type of
    its own); ``HEAD`` uses ``--head`` so curl does not wait for a body.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out, head, source = Path(tmp, "body"), Path(tmp, "headers"), Path(tmp, "up")
        args = [CURL, "--silent", "--show-error", "--globoff", "-o", str(out)]
        args += ["-D", str(head), "-w", "%{http_code}"]
        if method == "HEAD":
            args.append("--head")
        else:
            args += ["-X", method]
        if upload is not None:
            source.write_bytes(upload)
            args += ["--upload-file", str(source)]
        for name, value in headers:
            args += ["-H", f"{name}: {value}" if value else f"{name};"]
        args += [*extra, url]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        body = out.read_bytes() if out.exists() else b""
        dumped = head.read_bytes().decode("latin-1") if head.exists() else ""
        if method == "HEAD":
            # With --head curl writes the header block as the output instead.
            dumped, body = body.decode("latin-1"), b""
        return Reply(status=int(done.stdout), headers=_headers(dumped), body=body)


def _headers(text: str) -> dict[str, str]:
    # With "100 Continue" curl writes two header blocks; the last one is the answer.
    blocks = [b for b in text.split("\r\n\r\n") if b.strip()]
    block = blocks[-1] if blocks else ""
    fields: dict[str, str] = {}
    for line in block.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return fields
