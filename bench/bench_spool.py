"""What waitress's request-body spool costs a big PUT (issue 7).

Run by hand (never a test)::

    python bench/bench_spool.py [--size-mib 1024] [--repeats 2] [--dir DIR]

waitress reads a whole request body before it calls the application: up to
``inbuf_overflow`` (512 KiB) in memory, beyond that into a temporary file (in
``TMPDIR``). The application then reads the body back from that file and the
filesystem backend writes it a second time, so the PUT is answered only after the
object has been written twice (and read once more). This script puts a number on it:
the same app and backend served by

* ``stock``: waitress's own ``HTTPChannel`` (the spool), and
* ``current``: the channel ``s3server.server.create_waitress_server`` installs in
  this tree (with a streaming channel, bodies flow to the application as they
  arrive);

each with ``--fsync`` on and off. For each it PUTs the file (``http.client`` with
``sendfile``, presigned, UNSIGNED-PAYLOAD) and prints when the last body byte was
sent, how long the response took after that (for ``stock``: reading the spool back,
hashing and writing the object, fsync), MB/s and the server's peak RSS.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import _common
from _common import make_source
from _servers import Running
from bench_compare import big_objects


def serve(args: argparse.Namespace) -> int:
    """The server side (``--serve stock|current``): serve the data dir until killed."""
    import waitress.channel

    from s3core.backends.filesystem import FilesystemBackend
    from s3core.config import ServiceConfig
    from s3core.service import S3Service
    from s3server.app import create_app
    from s3server.server import create_waitress_server, make_user

    user = make_user(args.access_key, args.secret_key)
    backend = FilesystemBackend(
        Path(args.data_dir), fsync=args.fsync == "on", default_owner_id=user.id
    )
    service = S3Service(backend, [user], config=ServiceConfig(region=_common.REGION))
    server = create_waitress_server(create_app(service), threads=8)
    if args.serve == "stock":
        server.channel_class = waitress.channel.HTTPChannel
    print(f"channel {server.channel_class.__mro__[:3]}", flush=True)
    print(f"listening on http://127.0.0.1:{server.effective_port}", flush=True)
    server.run()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--cpus", default="0", help="server CPUs (taskset)")
    parser.add_argument("--serve", choices=("stock", "current"), help=argparse.SUPPRESS)
    parser.add_argument("--fsync", default="on", help=argparse.SUPPRESS)
    parser.add_argument("--access-key", help=argparse.SUPPRESS)
    parser.add_argument("--secret-key", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args)
    scratch = Path(tempfile.mkdtemp(prefix="s3bench-spool-", dir=args.dir))
    size = args.size_mib * _common.MIB
    rows = []
    try:
        source = scratch / "source.bin"
        md5 = make_source(source, size)
        print(f"spool directory (TMPDIR): {tempfile.gettempdir()}", flush=True)
        for channel in ("stock", "current"):
            for fsync in ("on", "off"):
                key, secret = "BENCH" + secrets.token_hex(6), secrets.token_hex(20)
                data = scratch / "data"
                command = [sys.executable, __file__, "--serve", channel, "--fsync"]
                command += [fsync, "--access-key", key, "--secret-key", secret]
                command += ["--data-dir", str(data)]
                proc = None
                try:
                    proc, endpoint = _common.start_with_banner(
                        _common.pinned(command, args.cpus)
                    )
                    running = Running(
                        channel, proc, endpoint, key, secret, data, args.cpus, True
                    )
                    running.create_bucket()
                    for _ in range(args.repeats):
                        r = big_objects(running, source, size, md5)
                        rows.append((channel, fsync, r))
                        print(
                            f"{channel:8} fsync {fsync:3}: last byte sent after "
                            f"{r['put_sent_s']:.2f} s, response "
                            f"{r['put_after_last_byte_s']:.2f} s later, "
                            f"{r['put_mbs']:.0f} MB/s, peak RSS "
                            f"{r['rss_after_put']:.0f} MiB",
                            flush=True,
                        )
                finally:
                    _common.stop(proc)
                    shutil.rmtree(scratch / "data", ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"\n| channel | fsync | last byte sent s | response after last byte s "
        f"| PUT MB/s ({args.size_mib} MiB) | peak RSS MiB |\n"
        "| --- | --- | ---: | ---: | ---: | ---: |"
    )
    for channel, fsync, r in rows:
        print(
            f"| {channel} | {fsync} | {r['put_sent_s']:.2f} "
            f"| {r['put_after_last_byte_s']:.2f} | {r['put_mbs']:.0f} "
            f"| {r['rss_after_put']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
