"""The servers bench_compare.py races: ours in several set-ups, moto's server, nginx.

This module owns starting and stopping each server as a subprocess pinned with
``taskset``, creating the benchmark bucket on it, and knowing what it can be asked
(nginx has no ListObjectsV2). Every process is stopped by its pid (``stop``), never by
name. It measures nothing itself.

nginx comes from Debian (``apt-get install -y nginx``); it runs in the foreground
(``daemon off``) with a config generated in a scratch directory: one worker process,
static GET and HEAD from the data directory, PUT and DELETE through the WebDAV module
(``dav_methods PUT DELETE``), request bodies spooled on the same filesystem so a PUT
is written once and renamed into place, no access log, ``sendfile on``.

The ``ours-granian-*`` contenders serve our application (``_granian_app.py``) with
granian, a Rust HTTP server from PyPI (the ``bench`` extra), one process, 8 threads
for the application: what our server would do with an HTTP loop that is not Python.
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import _common

BUCKET = "bench"


@dataclass
class Running:
    """A started server: where it listens and how to stop it."""

    name: str
    proc: subprocess.Popen[str]
    endpoint: str
    access_key: str
    secret_key: str
    data_dir: Path
    cpus: str
    verifies_signatures: bool
    lists: bool = True

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def port(self) -> int:
        return int(urlsplit(self.endpoint).port or 80)

    def stop(self) -> None:
        _common.stop(self.proc)

    def sign(self, method: str, key: str, bucket: str = BUCKET, **query: str) -> str:
        """A presigned request target for this server (its own host and port)."""
        return _common.presigned_target(
            method=method,
            endpoint=self.endpoint,
            bucket=bucket,
            key=key,
            access_key=self.access_key,
            secret_key=self.secret_key,
            now=_SIGNING_TIME,
            query=query or None,
        )

    def create_bucket(self, bucket: str = BUCKET) -> None:
        """Create ``bucket`` (a signed PUT; a directory for nginx)."""
        if self.name == "nginx":
            (self.data_dir / bucket).mkdir(parents=True, exist_ok=True)
            return
        status, body = request(self.endpoint, "PUT", self.sign("PUT", "", bucket))
        if status != 200:
            raise RuntimeError(f"{self.name}: CreateBucket answered {status}: {body!r}")


# One signing time for a whole run: every target stays valid for a week.
_SIGNING_TIME = dt.datetime.now(dt.timezone.utc)


def request(
    endpoint: str, method: str, target: str, body: bytes | None = None
) -> tuple[int, bytes]:
    """One request on a fresh connection: (status, body)."""
    conn = http.client.HTTPConnection(urlsplit(endpoint).netloc, timeout=60)
    try:
        conn.request(method, target, body=body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_for_port(proc: subprocess.Popen[str], port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port} within {timeout} s")


def _spawn_listening(
    command: list[str],
    port: int,
    env: dict[str, str] | None = None,
    *,
    timeout: float = 60,
) -> subprocess.Popen[str]:
    """Start ``command`` (output discarded) and wait until it listens on ``port``."""
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_for_port(proc, port, timeout)
    except BaseException:
        _common.stop(proc)
        raise
    return proc


@dataclass(frozen=True)
class ServerSpec:
    """One contender: how to start it and which scenarios it takes part in."""

    name: str
    description: str
    kind: str  # ours, moto, nginx
    cpus: str
    backend: str = "filesystem"
    workers: int = 1
    fsync: bool = True
    extra_args: tuple[str, ...] = ()
    scenarios: frozenset[str] = field(
        default_factory=lambda: frozenset({"small", "big", "list"})
    )

    def start(self, scratch: Path) -> Running:
        data = scratch / f"data-{self.name}"
        data.mkdir(parents=True, exist_ok=True)
        if self.kind == "ours":
            return self._start_ours(data)
        if self.kind == "moto":
            return self._start_moto(data)
        if self.kind == "granian":
            return self._start_granian(data)
        return self._start_nginx(scratch, data)

    def _start_ours(self, data: Path) -> Running:
        key, secret = "BENCH" + secrets.token_hex(6).upper(), secrets.token_hex(20)
        proc, endpoint = _common.start_ours(
            backend=self.backend,
            data_dir=data if self.backend == "filesystem" else None,
            access_key=key,
            secret_key=secret,
            cpus=self.cpus,
            workers=self.workers,
            fsync=self.fsync,
            extra_args=self.extra_args,
        )
        return Running(self.name, proc, endpoint, key, secret, data, self.cpus, True)

    def _start_granian(self, data: Path) -> Running:
        key, secret = "BENCH" + secrets.token_hex(6).upper(), secrets.token_hex(20)
        port = _common.free_port()
        command = [sys.executable, "-m", "granian", "--interface", "wsgi"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        command += ["--blocking-threads", "8", "--log-level", "warning"]
        command += ["_granian_app:app"]
        env = {
            **os.environ,
            "PYTHONPATH": str(Path(__file__).resolve().parent),
            "S3BENCH_ACCESS_KEY": key,
            "S3BENCH_SECRET_KEY": secret,
            "S3BENCH_BACKEND": self.backend,
            "S3BENCH_DATA_DIR": str(data),
            "S3BENCH_FSYNC": "on" if self.fsync else "off",
        }
        proc = _spawn_listening(_common.pinned(command, self.cpus), port, env)
        endpoint = f"http://127.0.0.1:{port}"
        return Running(self.name, proc, endpoint, key, secret, data, self.cpus, True)

    def _start_moto(self, data: Path) -> Running:
        port = _common.free_port()
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1"]
        command += ["-p", str(port)]
        # moto logs every request on stderr; that is its default, kept.
        proc = _spawn_listening(_common.pinned(command, self.cpus), port)
        endpoint = f"http://127.0.0.1:{port}"
        return Running(
            self.name, proc, endpoint, "AKMOTO", "moto-secret", data, self.cpus, False
        )

    def _start_nginx(self, scratch: Path, data: Path) -> Running:
        conf_dir = scratch / "nginx"
        conf_dir.mkdir(exist_ok=True)
        body_tmp = data / ".nginx-body"
        body_tmp.mkdir(exist_ok=True)
        port = _common.free_port()
        conf = conf_dir / "nginx.conf"
        conf.write_text(nginx_config(conf_dir, data, body_tmp, port))
        command = ["nginx", "-p", str(conf_dir), "-e", str(conf_dir / "error.log")]
        command += ["-c", str(conf)]
        proc = _spawn_listening(_common.pinned(command, self.cpus), port, timeout=30)
        endpoint = f"http://127.0.0.1:{port}"
        return Running(
            self.name, proc, endpoint, "AKNGINX", "nginx", data, self.cpus, False, False
        )


def nginx_config(conf_dir: Path, root: Path, body_tmp: Path, port: int) -> str:
    """A foreground, one-worker nginx: static GET/HEAD, WebDAV PUT/DELETE."""
    user = "user root;" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {conf_dir / name};"
        for name in ("proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
daemon off;
worker_processes 1;
{user}
pid {conf_dir / "nginx.pid"};
error_log {conf_dir / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    default_type application/octet-stream;
    client_max_body_size 0;
    # On the data directory's filesystem: a PUT body is written once, then renamed.
    client_body_temp_path {body_tmp};
{temp}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }}
    }}
}}
"""


def all_specs(server_cpus: str, two_cpus: str) -> list[ServerSpec]:
    """Every contender, in the order they run."""
    small_big = frozenset({"small", "big"})
    return [
        ServerSpec(
            "ours-memory", "ours, memory backend", "ours", server_cpus, "memory"
        ),
        ServerSpec(
            "ours-fs", "ours, filesystem, 1 process (fsync on)", "ours", server_cpus
        ),
        ServerSpec(
            "ours-fs-nofsync",
            "ours, filesystem, 1 process, --fsync off",
            "ours",
            server_cpus,
            fsync=False,
            scenarios=small_big,
        ),
        ServerSpec(
            "ours-fs-2cpu",
            "ours, filesystem, 1 process allowed both cores (as --workers 2); "
            "it keeps itself on one (--cpu-pinning on, the default)",
            "ours",
            two_cpus,
            scenarios=small_big,
        ),
        ServerSpec(
            "ours-fs-unpinned",
            "ours, filesystem, 1 process on both cores, --cpu-pinning off",
            "ours",
            two_cpus,
            extra_args=("--cpu-pinning", "off"),
            scenarios=small_big,
        ),
        ServerSpec(
            "ours-fs-w2",
            "ours, filesystem, --workers 2 on both cores",
            "ours",
            two_cpus,
            workers=2,
            scenarios=small_big,
        ),
        ServerSpec(
            "ours-granian-memory",
            "our app (create_app), memory backend, served by granian (Rust HTTP "
            "loop), 1 process, 8 threads: not a supported server, a measurement",
            "granian",
            server_cpus,
            "memory",
            scenarios=frozenset({"small"}),
        ),
        ServerSpec(
            "ours-granian-fs",
            "the same with the filesystem backend (fsync on)",
            "granian",
            server_cpus,
            scenarios=frozenset({"small"}),
        ),
        ServerSpec(
            "moto", "moto[server] 5.2.5 (python -m moto.server)", "moto", server_cpus
        ),
        # Is one core moto's best on this machine? Its server is one Python process,
        # so a second core can only help it where the GIL is released.
        ServerSpec(
            "moto-2cpu",
            "the same, allowed both cores",
            "moto",
            two_cpus,
            scenarios=frozenset({"small"}),
        ),
        ServerSpec(
            "nginx",
            "nginx (Debian), static GET + WebDAV PUT/DELETE, 1 worker",
            "nginx",
            server_cpus,
            scenarios=small_big,
        ),
    ]
