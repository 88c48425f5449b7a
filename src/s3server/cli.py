"""The ``s3server`` command: run the server, and the tools around it.

This module owns the command line: flags, their environment-variable fallbacks, reading
the users file, and the generated key pair kept in the data directory. ``serve`` builds
an ``S3Service`` and hands it to ``serve``; ``presign`` prints a presigned URL made by
the library's signer, for a bucket the signing user owns. It has no S3 behaviour of its
own.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import attrs

from s3core import errors
from s3core.auth.credentials import User
from s3core.auth.presign import presign_url
from s3core.auth.verify import MAX_EXPIRES
from s3core.backends.base import Backend
from s3core.backends.filesystem import FilesystemBackend, atomic
from s3core.backends.filesystem.layout import Paths
from s3core.backends.memory import MemoryBackend
from s3core.config import ServiceConfig
from s3core.service import S3Service
from s3server import affinity, logs
from s3server.server import CannotListen, make_user, serve
from s3server.workers import serve_workers

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["build_parser", "load_users", "main"]

# The internal area of the data directory (DESIGN.md: a name no bucket can have).
INTERNAL_DIR = ".s3server"
CREDENTIALS_FILE = "credentials.json"

# (flag, environment variable, default, help); one table for every serve setting.
_SERVE_OPTIONS: tuple[tuple[str, str, str | None, str], ...] = (
    ("--host", "S3SERVER_HOST", "127.0.0.1", "interface to listen on"),
    ("--port", "S3SERVER_PORT", "9000", "TCP port"),
    ("--data-dir", "S3SERVER_DATA_DIR", "./data", "directory holding the buckets"),
    ("--region", "S3SERVER_REGION", "us-east-1", "region the server serves"),
    ("--threads", "S3SERVER_THREADS", "8", "worker threads"),
    ("--workers", "S3SERVER_WORKERS", "1", "server processes on one port (filesystem)"),
    ("--fsync", "S3SERVER_FSYNC", "on", "on: writes are durable when acknowledged"),
    (
        "--cpu-pinning",
        "S3SERVER_CPU_PINNING",
        "on",
        "on: keep each server process on a CPU of its own",
    ),
    (
        "--upload-expiry-hours",
        "S3SERVER_UPLOAD_EXPIRY_HOURS",
        "168",
        "abort multipart uploads older than this; 0 keeps them",
    ),
    ("--backend", "S3SERVER_BACKEND", "filesystem", "filesystem or memory"),
    ("--domain", "S3SERVER_DOMAIN", "localhost", "base domain of bucket.<domain>"),
    ("--access-key", "S3SERVER_ACCESS_KEY", None, "access key of the single user"),
    ("--secret-key", "S3SERVER_SECRET_KEY", None, "secret key of the single user"),
    ("--users", "S3SERVER_USERS", None, "TOML file with [[users]] tables"),
)
# `presign` reads the server's own settings (same flags, same environment) and where
# clients reach the server.
_PRESIGN_FLAGS = frozenset(
    {
        "--host",
        "--port",
        "--data-dir",
        "--region",
        "--backend",
        "--access-key",
        "--secret-key",
        "--users",
    }
)
_ENDPOINT_OPTION = (
    "--endpoint-url",
    "S3SERVER_ENDPOINT_URL",
    None,
    "URL clients reach the server at (default http://HOST:PORT)",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``s3server [serve] [options]``)."""
    parser = argparse.ArgumentParser(
        prog="s3server",
        description="An S3-compatible object store over a directory of plain files.",
    )
    sub = parser.add_subparsers(dest="command")
    serve_parser = sub.add_parser("serve", help="run the server (the default)")
    for p in (parser, serve_parser):
        for flag, env, default, text in _SERVE_OPTIONS:
            p.add_argument(
                flag,
                default=os.environ.get(env, default),
                help=f"{text} (env {env}; default {default})",
            )
    _add_presign_parser(sub)
    return parser


def _add_presign_parser(sub: Any) -> None:
    presign = sub.add_parser(
        "presign",
        help="print a presigned URL for s3://bucket/key",
        description="Print a SigV4 presigned URL, signed with a configured user's "
        "key, for a bucket that user owns.",
    )
    presign.add_argument("target", help="s3://bucket/key (or s3://bucket)")
    presign.add_argument(
        "--expires",
        type=int,
        default=3600,
        help=f"seconds the URL stays valid, 1 to {MAX_EXPIRES} (default 3600)",
    )
    presign.add_argument(
        "--method",
        type=str.upper,
        choices=("GET", "PUT", "HEAD", "DELETE"),
        default="GET",
        help="the HTTP method the URL is for (default GET)",
    )
    presign.add_argument(
        "--content-type", help="a Content-Type the PUT must carry (it is signed)"
    )
    presign.add_argument(
        "--signer", help="access key of the user to sign as (default: the first)"
    )
    for flag, env, default, text in (*_SERVE_OPTIONS, _ENDPOINT_OPTION):
        if flag in _PRESIGN_FLAGS or flag == _ENDPOINT_OPTION[0]:
            presign.add_argument(
                flag,
                default=os.environ.get(env, default),
                help=f"{text} (env {env}; default {default})",
            )


def load_users(path: Path) -> list[User]:
    """Users from a TOML file of ``[[users]]`` tables.

    Each table has ``access_key`` and ``secret_key``, and optionally ``id`` (the
    canonical user id returned as Owner ID) and ``display_name``.
    """
    with path.open("rb") as f:
        data = tomllib.load(f)
    users = []
    for i, table in enumerate(data.get("users", [])):
        try:
            users.append(
                make_user(
                    table["access_key"],
                    table["secret_key"],
                    user_id=table.get("id"),
                    display_name=table.get("display_name"),
                )
            )
        except KeyError as missing:
            raise SystemExit(f"{path}: users[{i}] has no {missing}") from None
    if not users:
        raise SystemExit(f"{path}: no [[users]] tables")
    return users


def _users(args: argparse.Namespace, data_dir: Path | None) -> tuple[list[User], str]:
    """The configured users and where they came from."""
    if args.users:
        return load_users(Path(args.users)), f"users file {args.users}"
    if args.access_key or args.secret_key:
        if not (args.access_key and args.secret_key):
            raise SystemExit("--access-key and --secret-key go together")
        return [make_user(args.access_key, args.secret_key)], "command line"
    if data_dir is None:
        return [make_user()], "generated for this run (memory backend)"
    return [_stored_or_new_user(data_dir)], f"{data_dir / INTERNAL_DIR}"


def _stored_or_new_user(data_dir: Path) -> User:
    """The key pair kept in the data directory, generated on first start (mode 0600).

    Processes starting together on a fresh data directory (README "Several
    processes") all end up with the pair the first of them published.
    """
    path = data_dir / INTERNAL_DIR / CREDENTIALS_FILE
    if not path.exists():
        _publish_new_pair(path, Paths(str(data_dir)).tmp)
    try:
        stored = json.loads(path.read_bytes())
        return make_user(stored["access_key"], stored["secret_key"])
    except (ValueError, KeyError, TypeError) as err:
        raise SystemExit(f"{path}: not a credentials file ({err!r})") from None


def _publish_new_pair(path: Path, tmp_dir: str) -> None:
    """Publish a new key pair at ``path`` unless another process already has."""
    # Written whole and fsynced under a temporary name, then hard-linked to the
    # final name: link(2) fails with EEXIST if the name exists, so the first process
    # wins and the others read its pair, and the name never shows a half-written
    # file. An O_EXCL create of the final name lets others read it empty; a rename
    # lets the last writer replace a pair another process already serves. Hard
    # links (atomic over NFS too) are what the backend publishes records with, and
    # its temporary files are locked, so the next start sweeps one a crash left.
    os.makedirs(tmp_dir, exist_ok=True)
    user = make_user()
    data = json.dumps({"access_key": user.access_key, "secret_key": user.secret_key})
    fd, temp = atomic.new_temp(tmp_dir)
    try:
        os.fchmod(fd, 0o600)  # before the secret is in it, whatever the umask
        atomic.write_all(fd, data.encode())
        os.fsync(fd)
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        atomic.unlink_quietly(temp)
        os.close(fd)
        atomic.forget_temp(temp)
    # The name must survive a crash, or the next start would make another pair.
    atomic.fsync_path_dir(str(path))


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``s3server`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "presign":
        return _presign(args)
    logs.configure()
    backend_name = args.backend.lower()
    if backend_name not in ("filesystem", "memory"):
        raise SystemExit(f"unknown backend {args.backend!r}: filesystem or memory")
    workers = int(args.workers)
    if workers < 1:
        raise SystemExit("--workers must be at least 1")
    if workers > 1 and backend_name == "memory":
        # Each process would hold its own store: clients would see objects come and
        # go depending on which process answers.
        raise SystemExit("--workers > 1 needs the filesystem backend")
    fsync = _on_off("--fsync", args.fsync)
    pin_cpus = _on_off("--cpu-pinning", args.cpu_pinning)
    hours = float(args.upload_expiry_hours)
    expiry = dt.timedelta(hours=hours) if hours > 0 else None
    data_dir = Path(args.data_dir).resolve() if backend_name == "filesystem" else None
    users, source = _users(args, data_dir)
    config = ServiceConfig(region=args.region, domain=args.domain)

    def make_service() -> S3Service:
        backend: Backend
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            backend = FilesystemBackend(
                data_dir,
                fsync=fsync,
                default_owner_id=users[0].id,
                upload_expiry=expiry,
            )
        else:
            backend = MemoryBackend(upload_expiry=expiry)
        # After pinning (and, with workers, after the fork): its threads are new.
        executor = affinity.digest_executor(int(args.threads))
        return S3Service(
            backend, users, config=attrs.evolve(config, digest_executor=executor)
        )

    def banner(url: str) -> None:
        where = str(data_dir) if data_dir is not None else "(memory)"
        print(f"s3server listening on {url}", flush=True)
        print(f"  data directory: {where}", flush=True)
        print(f"  region:         {args.region}", flush=True)
        if workers > 1:
            print(f"  workers:        {workers} processes", flush=True)
        print(f"  credentials ({source}):", flush=True)
        for user in users:
            print(f"    AWS_ACCESS_KEY_ID={user.access_key}", flush=True)
            print(f"    AWS_SECRET_ACCESS_KEY={user.secret_key}", flush=True)

    try:
        return _serve(args, make_service, banner, workers=workers, pin_cpus=pin_cpus)
    except CannotListen as err:
        raise SystemExit(f"s3server: {err}") from None


def _serve(
    args: argparse.Namespace,
    make_service: Callable[[], S3Service],
    banner: Callable[[str], None],
    *,
    workers: int,
    pin_cpus: bool,
) -> int:
    if workers > 1:
        # The supervisor handles SIGTERM itself and forwards it to the workers.
        serve_workers(
            make_service,
            host=args.host,
            port=int(args.port),
            threads=int(args.threads),
            workers=workers,
            pin_cpus=pin_cpus,
            on_ready=banner,
        )
        return 0
    cpus = affinity.plan(1) if pin_cpus else None
    if cpus is not None:
        affinity.pin(cpus[0])  # before waitress starts its threads
    service = make_service()
    # SIGTERM (systemd, docker stop, kill) shuts down like Ctrl-C: waitress then
    # lets in-flight requests finish before the process exits.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        serve(
            service,
            host=args.host,
            port=int(args.port),
            threads=int(args.threads),
            on_ready=banner,
        )
    return 0


def _on_off(flag: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("on", "true", "1", "yes"):
        return True
    if lowered in ("off", "false", "0", "no"):
        return False
    raise SystemExit(f"{flag} must be on or off, not {value!r}")


def _presign(args: argparse.Namespace) -> int:
    """``s3server presign``: print the URL, or exit 1 with S3's error code."""
    bucket, key = _parse_target(args.target)
    if not 1 <= args.expires <= MAX_EXPIRES:
        raise SystemExit(f"--expires must be within 1..{MAX_EXPIRES}")
    backend_name = args.backend.lower()
    data_dir = Path(args.data_dir).resolve() if backend_name == "filesystem" else None
    users = _presign_users(args, data_dir)
    signer = users[0]
    if args.signer:
        chosen = [u for u in users if u.access_key == args.signer]
        if not chosen:
            raise SystemExit(f"no configured user has access key {args.signer!r}")
        signer = chosen[0]
    if data_dir is not None:
        # A URL for someone else's bucket would only ever answer AccessDenied; the
        # server refuses to make one at /.s3server/presign, and so does this.
        _check_owner(data_dir, users[0], signer, bucket)
    url = presign_url(
        method=args.method,
        endpoint_url=args.endpoint_url or _endpoint(args.host, args.port),
        bucket=bucket,
        key=key,
        access_key=signer.access_key,
        secret_key=signer.secret_key,
        region=args.region,
        expires=args.expires,
        now=dt.datetime.now(dt.timezone.utc),
        headers={"Content-Type": args.content_type} if args.content_type else None,
    )
    print(url)
    return 0


def _parse_target(target: str) -> tuple[str, str]:
    if not target.startswith("s3://") or not target[5:].split("/", 1)[0]:
        raise SystemExit(f"expected s3://bucket/key, not {target!r}")
    bucket, _, key = target[5:].partition("/")
    return bucket, key


def _presign_users(args: argparse.Namespace, data_dir: Path | None) -> list[User]:
    """The server's users; the stored pair is read, never generated, here."""
    if args.users or args.access_key or args.secret_key:
        return _users(args, data_dir)[0]
    if data_dir is None:
        raise SystemExit(
            "no credentials: give --access-key and --secret-key (or --users)"
        )
    if not (data_dir / INTERNAL_DIR / CREDENTIALS_FILE).exists():
        raise SystemExit(
            f"no credentials: {data_dir / INTERNAL_DIR / CREDENTIALS_FILE} does not "
            "exist (start the server once, or give --access-key and --secret-key)"
        )
    return [_stored_or_new_user(data_dir)]


def _check_owner(data_dir: Path, first: User, signer: User, bucket: str) -> None:
    """Exit with S3's error code unless ``signer`` owns ``bucket`` in ``data_dir``."""
    try:
        if not data_dir.is_dir():
            raise errors.NoSuchBucket(extra={"BucketName": bucket})
        # Buckets made by hand belong to the first user, as the server says.
        backend = FilesystemBackend(data_dir, default_owner_id=first.id)
        if backend.get_bucket(bucket).owner_id != signer.id:
            raise errors.AccessDenied()
    except errors.S3Error as err:
        raise SystemExit(f"s3server presign: {err.code}: {err.message}") from None


def _endpoint(host: str, port: str) -> str:
    # A server listening on every interface is reached on loopback from here.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


if __name__ == "__main__":
    sys.exit(main())
