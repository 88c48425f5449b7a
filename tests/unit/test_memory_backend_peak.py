"""A memory-backend object costs its size in memory once, not twice, while stored.

Measured in a fresh process (its peak resident size, ``VmHWM``), so that nothing
else the test run allocated counts: 256 MiB written in 1 MiB chunks, through an
object writer, through a part writer, and as four parts completed into one object.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc/self/status"
)

_MEASURE = """
import datetime as dt, re, sys
from s3core.backends.memory import MemoryBackend
from s3core.models import ObjectMeta

def peak_mib():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) / 1024

backend = MemoryBackend()
when = dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc)
backend.create_bucket("b", owner_id="o", created=when)
chunk = bytes(range(256)) * 4096  # 1 MiB
before = peak_mib()
if sys.argv[1] == "object":
    writer = backend.open_writer("b", "k")
    for i in range(256):
        writer.write(chunk[:-1] + bytes([i]))  # a new object each, as from a socket
    writer.commit(ObjectMeta(), etag="e")
    reader = backend.open_object("b", "k")
    assert reader.info.size == 256 * len(chunk)
    reader.seek(255 * len(chunk))
    assert reader.read() == chunk[:-1] + bytes([255])
elif sys.argv[1] == "part":
    upload = backend.create_upload(
        "b", "k", initiated=when, owner_id="o", meta=ObjectMeta()
    )
    writer = backend.open_part_writer("b", "k", upload.upload_id, 1)
    for i in range(256):
        writer.write(chunk[:-1] + bytes([i]))
    part = writer.commit(etag="e")
    assert part.size == 256 * len(chunk)
else:  # four parts of 64 MiB, then the upload completed into one object
    upload = backend.create_upload(
        "b", "k", initiated=when, owner_id="o", meta=ObjectMeta()
    )
    parts = []
    for number in range(1, 5):
        writer = backend.open_part_writer("b", "k", upload.upload_id, number)
        for i in range(64):
            writer.write(chunk[:-1] + bytes([number]))
        parts.append(writer.commit(etag=f"e{number}"))
    info = backend.complete_upload(
        "b", "k", upload.upload_id, parts, meta=ObjectMeta(), etag="e-4"
    )
    assert info.size == 256 * len(chunk) and info.part_sizes == (64 << 20,) * 4
    reader = backend.open_object("b", "k")
    for number in range(1, 5):
        reader.seek((number * 64 - 1) * len(chunk))
        assert reader.read(len(chunk)) == chunk[:-1] + bytes([number])
print(peak_mib() - before)
"""


@pytest.mark.parametrize("writer", ["object", "part", "completed upload"])
def test_stored_bytes_peak_near_their_size(writer: str) -> None:
    """256 MiB stored: the process peak grows by well under 2 x 256 MiB."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, writer],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    growth = float(done.stdout)
    assert 250 < growth < 1.3 * 256, growth
