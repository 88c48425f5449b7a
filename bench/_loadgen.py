"""A closed-loop HTTP/1.1 load generator for what wrk cannot drive: HEAD.

wrk 4.1 (and h2load) parse a HEAD response as if its announced ``Content-Length``
bytes were coming, and hang. This module owns the replacement bench_compare.py uses
for HEAD: one process, ``--connections`` keep-alive sockets driven by one
``selectors`` loop, each sending the next request target of a file (cycling) as soon
as its previous response is complete, precomputed request bytes, no parsing beyond
the status line and ``Content-Length``. It prints the same JSON line as
``wrk_requests.lua``. It must stay small and fast (measured: tens of thousands of
requests per second on one core, far above the Python servers it drives); it is not a
general HTTP client (no chunked bodies, no redirects, no TLS).

Usage: python bench/_loadgen.py HOST PORT METHOD TARGETS CONNECTIONS DURATION LIMIT
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
import time

# A response not complete after this long counts as a timeout (wrk: --timeout).
_TIMEOUT_NS = 60 * 10**9


def _percentile(sorted_values: list[int], pct: float) -> int:
    if not sorted_values:
        return 0
    index = min(len(sorted_values) - 1, int(len(sorted_values) * pct / 100))
    return sorted_values[index]


class _Conn:
    __slots__ = ("buffer", "close_after", "need", "sent_at", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.need = -1  # bytes of the whole response once its head is parsed
        self.close_after = False  # the response said "Connection: close"
        self.sent_at = 0


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def run(
    host: str,
    port: int,
    method: str,
    targets: list[str],
    connections: int,
    duration: float,
    limit: int,
) -> dict[str, float]:
    """Drive the server; the counts and latency percentiles (microseconds)."""
    requests = [
        f"{method} {t} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        for t in targets
    ]
    selector = selectors.DefaultSelector()
    latencies: list[int] = []
    status_errors = read_errors = timeout_errors = 0
    next_index = 0
    started = time.perf_counter_ns()
    deadline = started + int(duration * 1e9)
    last = started

    def send(conn: _Conn) -> None:
        nonlocal next_index
        request = requests[next_index % len(requests)]
        next_index += 1
        conn.sent_at = time.perf_counter_ns()
        conn.sock.sendall(request)

    def reconnect(conn: _Conn) -> None:
        # Like wrk: a server that closes (or says it will) gets a new connection.
        selector.unregister(conn.sock)
        conn.sock.close()
        conn.sock = _connect(host, port)
        conn.buffer, conn.need, conn.close_after = b"", -1, False
        selector.register(conn.sock, selectors.EVENT_READ, conn)

    conns = []
    for _ in range(connections):
        conn = _Conn(_connect(host, port))
        conns.append(conn)
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        send(conn)
    active = set(conns)
    head_only = method == "HEAD"
    while active:
        for key, _ in selector.select(timeout=1.0):
            conn = key.data
            try:
                chunk = conn.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                read_errors += 1
                reconnect(conn)
                send(conn)
                continue
            conn.buffer += chunk
            if conn.need < 0:
                end = conn.buffer.find(b"\r\n\r\n")
                if end < 0:
                    continue
                head = conn.buffer[:end].decode("latin-1")
                status = int(head[9:12])
                if not 200 <= status < 400:
                    status_errors += 1
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    name, value = name.strip().lower(), value.strip().lower()
                    if name == "content-length" and not head_only:
                        length = int(value)
                    elif name == "connection" and value == "close":
                        conn.close_after = True
                conn.need = end + 4 + length
            if len(conn.buffer) < conn.need:
                continue
            now = time.perf_counter_ns()
            latencies.append((now - conn.sent_at) // 1000)
            last = now
            conn.buffer = conn.buffer[conn.need :]
            conn.need = -1
            if now >= deadline or (limit and next_index >= limit):
                selector.unregister(conn.sock)
                active.discard(conn)
                continue
            if conn.close_after:
                reconnect(conn)
            send(conn)
        stuck = [c for c in active if time.perf_counter_ns() - c.sent_at > _TIMEOUT_NS]
        for conn in stuck:
            timeout_errors += 1
            reconnect(conn)
            send(conn)
    for conn in conns:
        conn.sock.close()
    latencies.sort()
    return {
        "responses": len(latencies),
        "elapsed_us": (last - started) // 1000,
        "requests": len(latencies),
        "status_errors": status_errors,
        "read_errors": read_errors,
        "connect_errors": 0,
        "write_errors": 0,
        "timeout_errors": timeout_errors,
        "p50_us": _percentile(latencies, 50),
        "p90_us": _percentile(latencies, 90),
        "p99_us": _percentile(latencies, 99),
        "mean_us": sum(latencies) / len(latencies) if latencies else 0.0,
        "max_us": latencies[-1] if latencies else 0,
    }


def main(argv: list[str]) -> int:
    host, port, method, path, conns, duration, limit = argv
    with open(path) as f:
        targets = [line.strip() for line in f if line.strip()]
    result = run(
        host, int(port), method, targets, int(conns), float(duration), int(limit)
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
