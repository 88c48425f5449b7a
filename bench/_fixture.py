"""Fixture start-up time: a server thread started to its first successful request.

Run by bench_compare.py in a fresh process per sample::

    python bench/_fixture.py ours|moto RUNS

This module owns one measurement: it imports the server package (timed on its own),
then ``RUNS`` times starts an in-process server (``s3server.ServerThread`` or moto's
``ThreadedMotoServer``) and sends a SigV4-presigned ListBuckets (``GET /``) on a new
connection until one answers 200, then stops the server. The first run in the
process is "cold" (what a test session's first fixture pays after the imports), the
others "warm". It prints one JSON line of milliseconds and must do nothing else.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import sys
import time
from typing import Any

import _common


def _first_ok(port: int, target: str) -> None:
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", target)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.001)


def _ours() -> tuple[float, Any]:
    started = time.perf_counter()
    from s3server import ServerThread

    imported = time.perf_counter() - started

    def one() -> float:
        started = time.perf_counter()
        server = ServerThread()
        server.start()
        try:
            target = _common.presigned_target(
                method="GET",
                endpoint=server.endpoint_url,
                bucket="",
                key="",
                access_key=server.access_key,
                secret_key=server.secret_key,
                now=dt.datetime.now(dt.timezone.utc),
            )
            _first_ok(server.port, target)
            return time.perf_counter() - started
        finally:
            server.stop()

    return imported, one


def _moto() -> tuple[float, Any]:
    started = time.perf_counter()
    from moto.server import ThreadedMotoServer

    imported = time.perf_counter() - started

    def one() -> float:
        # ThreadedMotoServer needs a port number (it reports the one it was given).
        port = _common.free_port()
        started = time.perf_counter()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            target = _common.presigned_target(
                method="GET",
                endpoint=f"http://127.0.0.1:{port}",
                bucket="",
                key="",
                access_key="AKMOTO",
                secret_key="moto-secret",
                now=dt.datetime.now(dt.timezone.utc),
            )
            _first_ok(port, target)
            return time.perf_counter() - started
        finally:
            server.stop()

    return imported, one


def main(argv: list[str]) -> int:
    which, runs = argv[0], int(argv[1])
    imported, one = {"ours": _ours, "moto": _moto}[which]()
    samples = [one() * 1e3 for _ in range(runs)]
    print(
        json.dumps(
            {"import_ms": imported * 1e3, "cold_ms": samples[0], "warm_ms": samples[1:]}
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
