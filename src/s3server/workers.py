"""Pre-fork serving: several processes accepting connections on one socket.

This module owns ``--workers N``: the parent binds the listening socket once, forks N
children and supervises them; each child builds its own ``S3Service`` after the fork
and runs a waitress server on the inherited socket. Nothing is shared in memory: all
state is on disk, which the filesystem backend is built for (DESIGN.md, "Several
processes on one data directory"). The parent never serves requests itself; it
restarts a child that dies and stops them all on SIGTERM or SIGINT; a child whose
supervisor is gone (killed with SIGKILL, say) stops on its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

from s3core.service import S3Service
from s3server import affinity
from s3server.app import create_app
from s3server.inline import quick_request_predicate
from s3server.server import CannotListen, create_waitress_server

__all__ = ["serve_workers"]

log = logging.getLogger("s3server")

# A child that dies sooner than this after its start is not restarted at once: a
# worker that cannot start (bad data directory, say) would otherwise fork in a loop.
_MIN_LIFETIME = 1.0
# How often a worker checks that its supervisor is still there.
_PARENT_POLL = 0.5
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def serve_workers(
    make_service: Callable[[], S3Service],
    *,
    host: str,
    port: int,
    threads: int,
    workers: int,
    pin_cpus: bool = True,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve with ``workers`` processes until SIGTERM or SIGINT.

    Args:
        make_service: builds the service in each child, after the fork.
        host: interface to bind.
        port: TCP port; 0 picks a free one (printed through ``on_ready``).
        threads: waitress threads per worker.
        workers: number of worker processes (at least 1).
        pin_cpus: keep each worker on a CPU of its own (``s3server.affinity``).
        on_ready: called in the parent with the endpoint URL once the sockets
            listen.

    Raises:
        CannotListen: the address cannot be bound (nothing was forked).
    """
    try:
        listeners = _listen(host, port, workers)
    except OSError as err:
        raise CannotListen(f"{host}:{port}", err) from err
    if on_ready is not None:
        shown = f"[{host}]" if ":" in host else host
        on_ready(f"http://{shown}:{listeners[0].getsockname()[1]}")
    cpus = affinity.plan(workers) if pin_cpus else None
    supervisor = _Supervisor(listeners, make_service, threads, cpus)
    try:
        supervisor.run(workers)
    finally:
        for listener in set(listeners):
            listener.close()


def _listen(host: str, port: int, workers: int) -> list[socket.socket]:
    """One listening socket per worker (``SO_REUSEPORT``), or one they share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if workers == 1 or not sys.platform.startswith("linux"):
        # BSD and macOS have SO_REUSEPORT without Linux's load balancing.
        shared = socket.create_server((host, port), family=family, backlog=2048)
        return [shared] * workers
    # Why one socket each: on a shared socket, whichever worker wakes first accepts;
    # a client opening its connections in a burst (a benchmark, a test run's pool)
    # could find them all on one worker while the other idles. Linux spreads the
    # connections of SO_REUSEPORT sockets across them by a hash of the addresses.
    # A plain bind first: it fails if anything holds the port, where a second
    # server with SO_REUSEPORT would silently share it; with port 0, it picks one.
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As create_server does: connections of an earlier run in TIME_WAIT must
        # not block a restart (a listening socket still does).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        port = probe.getsockname()[1]
    listeners: list[socket.socket] = []
    try:
        for _ in range(workers):
            listeners.append(
                socket.create_server(
                    (host, port), family=family, backlog=2048, reuse_port=True
                )
            )
    except BaseException:
        for listener in listeners:
            listener.close()
        raise
    return listeners


class _Supervisor:
    """Forks the workers, restarts the ones that die, stops them all on a signal."""

    def __init__(
        self,
        listeners: list[socket.socket],
        make_service: Callable[[], S3Service],
        threads: int,
        cpus: list[int] | None,
    ) -> None:
        self.listeners = listeners
        self.make_service = make_service
        self.threads = threads
        self.cpus = cpus
        # pid -> (slot, start time); a restarted worker takes its slot's socket and CPU.
        self.children: dict[int, tuple[int, float]] = {}
        self.supervisor_pid = os.getpid()
        self.stopping = False

    def run(self, workers: int) -> None:
        previous = {sig: signal.signal(sig, self._stop) for sig in _STOP_SIGNALS}
        try:
            for slot in range(workers):
                self._spawn(slot)
            while self.children:
                try:
                    pid, status = os.wait()
                except ChildProcessError:
                    break
                child = self.children.pop(pid, None)
                if child is None or self.stopping:
                    continue
                slot, started = child
                log.warning("worker %d exited (status %d); restarting", pid, status)
                if time.monotonic() - started < _MIN_LIFETIME:
                    time.sleep(_MIN_LIFETIME)
                if not self.stopping:
                    self._spawn(slot)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._signal_children(signal.SIGTERM)

    def _spawn(self, slot: int) -> None:
        # SIGTERM and SIGINT wait until each side has set itself up: in the parent
        # a signal between the fork and the child's registration would leave that
        # child running; in the child, the inherited handler would signal its
        # siblings.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            raise
        if pid == 0:  # the child: serve until killed, never return into the parent
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
                if self.cpus is not None:  # before any thread: they inherit it
                    affinity.pin(self.cpus[slot])
                threading.Thread(
                    target=_exit_with_parent,
                    args=(self.supervisor_pid,),
                    name="s3server-parent-watch",
                    daemon=True,
                ).start()
                service = self.make_service()
                server = create_waitress_server(
                    create_app(service),
                    threads=self.threads,
                    sockets=[self.listeners[slot]],
                    run_inline=quick_request_predicate(service.config.domain),
                )
                server.run()
                code = 0
            except BaseException:
                log.exception("worker %d failed", os.getpid())
            finally:
                os._exit(code)
        self.children[pid] = (slot, time.monotonic())
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        self._signal_children(signal.SIGTERM)

    def _signal_children(self, sig: int) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def _exit_with_parent(parent: int) -> None:
    """Stop this worker once its supervisor is gone.

    Nobody else would ever stop it: it would keep the port and serve on, orphaned,
    after its supervisor was killed with SIGKILL (gunicorn's workers check too).
    """
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL)
    log.warning("worker %d: supervisor %d is gone; exiting", os.getpid(), parent)
    os.kill(os.getpid(), signal.SIGTERM)
