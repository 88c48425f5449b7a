"""Can another WSGI server carry S3 requests faithfully? Four probes, one table.

The comparison benchmark shows our application doing 1.5-2x more small requests
under granian (a Rust HTTP loop) than under waitress. Throughput is one half of the
choice of server; the other is whether the server hands the application what S3
needs. This script starts each server with a small echo application and checks:

- raw target: the request path exactly as sent (SigV4 signs the encoded path; a
  decoded PATH_INFO cannot tell ``a%2Bb`` from ``a+b`` or ``%2F`` from ``/``);
- header bytes: a header value with UTF-8 bytes arrives byte for byte (signed
  headers and user metadata; PEP 3333 passes them as latin-1 text);
- 100-continue: ``Expect: 100-continue`` is answered before the body is sent
  (boto3 sends it on every PutObject and UploadPart; without it botocore waits a
  second per request);
- chunked body: a ``Transfer-Encoding: chunked`` request body reaches the
  application decoded (SDKs send bodies of unknown length that way).

Servers: waitress with our settings (``s3server.server.create_waitress_server``),
granian (the ``bench`` extra), and uWSGI if ``--uwsgi`` names its binary (``pip
install pyuwsgi`` gives one; it is not a dependency). Run by hand:

    python bench/server_fidelity.py [--uwsgi /path/to/uwsgi]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _common

ECHO_APP = """
import json


def app(environ, start_response):
    body = environ["wsgi.input"].read()
    seen = {
        "raw": environ.get("REQUEST_URI") or environ.get("RAW_URI"),
        "path": environ.get("PATH_INFO"),
        "note": environ.get("HTTP_X_AMZ_META_NOTE"),
        "body": body.decode("latin-1"),
    }
    data = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]
"""

WAITRESS_MAIN = """
import sys
from s3server.server import create_waitress_server
import echo_app
create_waitress_server(echo_app.app, port=int(sys.argv[1]), threads=4).run()
"""

RAW_PATH = "/bucket/a%2Bb+c%2Fd%20e"
NOTE = "caf\u00e9 \u6587".encode()  # UTF-8 bytes, as a client sends them


def _exchange(port: int, head: bytes, body: bytes = b"", wait: float = 0.0) -> bytes:
    """Send ``head``, wait up to ``wait`` s for an interim answer, send ``body``;
    everything the server sent until its final response is complete."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        data = b""
        if wait:
            sock.settimeout(wait)
            with contextlib.suppress(TimeoutError):
                data = sock.recv(65536)
            sock.settimeout(10)
        sock.sendall(body)
        interim = b"HTTP/1.1 100 Continue\r\n\r\n"
        while True:
            final = data[len(interim) :] if data.startswith(interim) else data
            head_end = final.find(b"\r\n\r\n") + 4
            if head_end >= 4:
                length = int(
                    final.lower().split(b"content-length:")[1].split(b"\r\n")[0]
                )
                if len(final) - head_end >= length:
                    return data
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk


def _seen(response: bytes) -> dict[str, str | None]:
    return json.loads(response[response.rfind(b"\r\n\r\n") + 4 :])  # type: ignore[no-any-return]


def probe(port: int) -> dict[str, str]:
    """Each probe's verdict for the server on ``port``."""
    host = f"Host: 127.0.0.1:{port}\r\n".encode()
    out: dict[str, str] = {}
    seen = _seen(
        _exchange(port, b"GET " + RAW_PATH.encode() + b" HTTP/1.1\r\n" + host + b"\r\n")
    )
    out["raw target"] = (
        "yes" if seen["raw"] == RAW_PATH else f"no (only PATH_INFO {seen['path']!r})"
    )
    seen = _seen(
        _exchange(
            port,
            b"GET / HTTP/1.1\r\n" + host + b"X-Amz-Meta-Note: " + NOTE + b"\r\n\r\n",
        )
    )
    note = seen["note"]
    if note is not None and note.encode("latin-1", "replace") == NOTE:
        out["header bytes"] = "yes"
    else:
        out["header bytes"] = f"no (got {note!r})"
    body = b"x" * (1 << 20)
    head = (
        b"PUT /bucket/key HTTP/1.1\r\n" + host + b"Expect: 100-continue\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    started = time.monotonic()
    response = _exchange(port, head, body, wait=2.0)
    waited = time.monotonic() - started
    if response.startswith(b"HTTP/1.1 100"):
        out["100-continue"] = "yes"
    else:
        out["100-continue"] = f"no (no 100; the client waits, here {waited:.1f} s)"
    head = (
        b"PUT /bucket/key HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    seen = _seen(_exchange(port, head, b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"))
    out["chunked body"] = (
        "yes" if seen["body"] == "abcdefg" else f"no (got {seen['body']!r})"
    )
    return out


def _wait_listening(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uwsgi", help="a uwsgi binary (pip install pyuwsgi)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="s3fidelity-"))
    (scratch / "echo_app.py").write_text(ECHO_APP)
    (scratch / "waitress_main.py").write_text(WAITRESS_MAIN)
    commands: dict[str, Callable[[int], list[str]]] = {
        "waitress (ours)": lambda port: [
            sys.executable,
            str(scratch / "waitress_main.py"),
            str(port),
        ],
        "granian (wsgi)": lambda port: [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "echo_app:app",
        ],
    }
    if args.uwsgi:
        commands["uwsgi (http11-socket)"] = lambda port: [
            args.uwsgi,
            "--http11-socket",
            f"127.0.0.1:{port}",
            "--module",
            "echo_app:app",
            "--threads",
            "4",
            "--http-chunked-input",
            "--disable-logging",
        ]
    rows = []
    for name, command in commands.items():
        port = _common.free_port()
        proc = subprocess.Popen(
            command(port),
            cwd=scratch,
            env={**os.environ, "PYTHONPATH": str(scratch)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_listening(proc, port)
            rows.append((name, probe(port)))
        finally:
            _common.stop(proc)
    names = list(rows[0][1])
    print("| server | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    for name, verdicts in rows:
        print(f"| {name} | " + " | ".join(verdicts[n] for n in names) + " |")


if __name__ == "__main__":
    main()
