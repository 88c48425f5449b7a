"""The Markdown report of a bench_compare.py run: tables, ratios, issue-7 targets.

This module owns turning the run's nested result dicts into the text printed and
written to ``results/<date>.md``. It computes ratios only; it must not run anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import shlex
from typing import Any

OPS = ("PUT", "GET", "HEAD", "DELETE")
NAN = float("nan")


def _get(report: dict[str, Any], server: str, *path: str) -> Any:
    node: Any = report["servers"].get(server, {})
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _num(value: Any, fmt: str = ".0f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt)


def _ratio(a: Any, b: Any) -> float:
    if not a or not b:
        return NAN
    return float(a) / float(b)


def _small(report: dict[str, Any], names: list[str]) -> list[str]:
    lines = [
        "| server | op | ops/s (best) | median | p50 ms | p99 ms | vs moto "
        "| vs nginx | server CPU % | client CPU % | keys | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: |",
    ]
    for name in names:
        small = _get(report, name, "small")
        if small is None:
            continue
        if "error" in small:
            lines.append(f"| {name} | all | failed: {small['error']} ||||||||||")
            continue
        for op in OPS:
            r = small.get(op)
            if r is None:
                continue
            moto = _get(report, "moto", "small", op, "ops")
            nginx = _get(report, "nginx", "small", op, "ops")
            lines.append(
                f"| {name} | {op} | {r['ops']:.0f} | {r['ops_median']:.0f} "
                f"| {r['p50_ms']:.1f} "
                f"| {r['p99_ms']:.1f} | {_num(_ratio(r['ops'], moto), '.2f')}x "
                f"| {_num(_ratio(r['ops'], nginx), '.3f')}x "
                f"| {r['server_cpu']:.0f} | {r['client_cpu']:.0f} | {r['keys']} "
                f"| {r['errors']} |"
            )
    return lines


def _put_rounds(report: dict[str, Any], names: list[str]) -> list[str]:
    """PUT ops/s of each round beside the cost of creating one file just before it."""
    rows = []
    for name in names:
        put = _get(report, name, "small", "PUT")
        if put is None or not put.get("round_create_us"):
            continue
        cells = [
            f"{ops:.0f} @ {_num(create)}"
            for ops, create in zip(
                put["round_ops"], put["round_create_us"], strict=True
            )
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    width = max(row.count("|") - 2 for row in rows)
    return [
        "| server | "
        + " | ".join(f"round {i + 1}: PUT/s @ create us" for i in range(width))
        + " |",
        "| --- |" + " ---: |" * width,
        *rows,
    ]


def _big(
    report: dict[str, Any], names: list[str], args: argparse.Namespace
) -> list[str]:
    lines = [
        f"Disk baseline (copy the {args.big_mib} MiB file on the same disk, then "
        f"fsync): {_num(report.get('disk_mbs'))} MB/s.",
        "",
        "| server | PUT MB/s | last byte sent after s | response after last byte s "
        "| GET MB/s | PUT % of nginx | GET % of nginx "
        "| peak RSS MiB: before / after PUT / after GET |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    nginx_put = _get(report, "nginx", "big", "put_mbs")
    nginx_get = _get(report, "nginx", "big", "get_mbs")
    for name in names:
        big = _get(report, name, "big")
        if big is None:
            continue
        if "error" in big:
            lines.append(f"| {name} | failed: {big['error']} |||||||")
            continue
        lines.append(
            f"| {name} | {big['put_mbs']:.0f} | {big['put_sent_s']:.2f} "
            f"| {big['put_after_last_byte_s']:.2f} | {big['get_mbs']:.0f} "
            f"| {_num(100 * _ratio(big['put_mbs'], nginx_put))} "
            f"| {_num(100 * _ratio(big['get_mbs'], nginx_get))} "
            f"| {big['rss_before']:.0f} / {big['rss_after_put']:.0f} "
            f"/ {big['rss_after_get']:.0f} |"
        )
    return lines


def _listing(
    report: dict[str, Any], names: list[str], args: argparse.Namespace
) -> list[str]:
    lines = [
        f"{args.list_keys:,} keys, 1000 per page, median of {args.list_repeats} "
        "walks (time in requests only).",
        "",
        "| server | no delimiter: pages | total ms | ms/page | vs moto "
        "| delimiter /: pages | total ms | ms/page | vs moto | fill PUT ops/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    moto_flat = _get(report, "moto", "list", "flat_ms")
    moto_delim = _get(report, "moto", "list", "delimiter_ms")
    for name in names:
        lst = _get(report, name, "list")
        if lst is None:
            continue
        if "error" in lst:
            lines.append(f"| {name} | failed: {lst['error']} |||||||||")
            continue
        lines.append(
            f"| {name} | {lst['flat_pages']} | {lst['flat_ms']:.0f} "
            f"| {lst['flat_ms_per_page']:.1f} "
            f"| {_num(_ratio(moto_flat, lst['flat_ms']), '.2f')}x faster "
            f"| {lst['delimiter_pages']} | {lst['delimiter_ms']:.0f} "
            f"| {lst['delimiter_ms_per_page']:.1f} "
            f"| {_num(_ratio(moto_delim, lst['delimiter_ms']), '.2f')}x faster "
            f"| {lst['fill_ops']:.0f} |"
        )
    return lines


def _fixture(report: dict[str, Any]) -> list[str]:
    fixture = report.get("fixture")
    if not fixture:
        return []
    lines = [
        "| fixture | import ms | cold: start to first 200, ms | warm ms | processes |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    labels = {"ours": "s3server.ServerThread", "moto": "moto ThreadedMotoServer"}
    for which, r in fixture.items():
        lines.append(
            f"| {labels[which]} | {r['import_ms']:.0f} | {r['cold_ms']:.1f} "
            f"| {r['warm_ms']:.1f} | {r['samples']} |"
        )
    return lines


def _targets(report: dict[str, Any], args: argparse.Namespace) -> list[str]:
    lines = ["| target | figures from this run | met? |", "| --- | --- | --- |"]

    def ratios(server: str, base: str) -> dict[str, float]:
        return {
            op: _ratio(
                _get(report, server, "small", op, "ops"),
                _get(report, base, "small", op, "ops"),
            )
            for op in OPS
        }

    def row(target: str, values: dict[str, float], fmt: str, ok: bool) -> None:
        shown = ", ".join(f"{k} {format(v, fmt)}" for k, v in values.items())
        finite = [v for v in values.values() if not math.isnan(v)]
        verdict = "-" if not finite else ("yes" if ok else "no")
        lines.append(f"| {target} | {shown} | {verdict} |")

    # The granian rows measure another HTTP loop under our app, not our server.
    for server in (
        "ours-memory",
        "ours-fs",
        "ours-fs-nofsync",
        "ours-granian-memory",
        "ours-granian-fs",
    ):
        r = ratios(server, "moto")
        row(f"small ops >= 5x moto ({server})", r, ".2f", min(r.values()) >= 5)
    for server in ("ours-fs", "ours-fs-nofsync", "ours-fs-2cpu", "ours-fs-unpinned"):
        put = _ratio(
            _get(report, server, "big", "put_mbs"),
            _get(report, "nginx", "big", "put_mbs"),
        )
        get = _ratio(
            _get(report, server, "big", "get_mbs"),
            _get(report, "nginx", "big", "get_mbs"),
        )
        values = {"PUT %": 100 * put, "GET %": 100 * get}
        row(
            f"{args.big_mib} MiB >= 70 % of nginx ({server})",
            values,
            ".0f",
            min(values.values()) >= 70,
        )
    growth = {}
    # The memory backend keeps the object in memory by design: not part of it.
    for server in ("ours-fs", "ours-fs-nofsync", "ours-fs-w2"):
        big = _get(report, server, "big")
        if big and "error" not in big:
            growth[server] = big["rss_after_get"] - big["rss_before"]
    if growth:
        # Flat: the peak grows by less than a few buffers, not by the object.
        row(
            f"memory flat in object size (peak RSS growth, MiB, {args.big_mib} MiB "
            "object)",
            growth,
            ".0f",
            max(growth.values()) < 64,
        )
    # The whole machine against the whole machine: ours as it best uses two cores,
    # moto as it best does (per op, the faster of one core and two).
    moto_best = {
        op: max(
            (_get(report, name, "small", op, "ops") or 0.0)
            for name in ("moto", "moto-2cpu")
        )
        for op in OPS
    }
    machine = {
        op: _ratio(_get(report, "ours-fs-w2", "small", op, "ops"), moto_best[op])
        for op in OPS
    }
    row(
        "small ops >= 5x moto, both on the whole machine (ours-fs-w2 vs the faster "
        "of moto, moto-2cpu)",
        machine,
        ".2f",
        min(machine.values()) >= 5,
    )
    for base in ("ours-fs", "ours-fs-2cpu"):
        r = ratios("ours-fs-w2", base)
        row(
            f"--workers 2 >= 1.7x single process ({base})",
            r,
            ".2f",
            min(r.values()) >= 1.7,
        )
    fixture = report.get("fixture", {}).get("ours")
    if fixture:
        values = {"cold ms": fixture["cold_ms"], "warm ms": fixture["warm_ms"]}
        row(
            "fixture start to first request < 50 ms",
            values,
            ".1f",
            fixture["cold_ms"] < 50,
        )
    return lines


def render(
    report: dict[str, Any],
    args: argparse.Namespace,
    machine: list[tuple[str, str]],
    argv: list[str],
) -> str:
    """The whole report as Markdown."""
    names = [s.name for s in report["specs"]]
    load_after = " ".join(f"{x:.2f}" for x in report["load_after"])
    out = [
        f"# Comparison benchmark, {dt.date.today().isoformat()}",
        "",
        f"Command: `python {' '.join(shlex.quote(a) for a in argv)}` "
        f"({report['seconds'] / 60:.1f} min).",
        "",
        "The load average at the start (machine table) tells whether other jobs "
        f"shared the machine; at the end it was {load_after}, mostly this run's own "
        "servers and client. On this kind of machine (2 virtual cores) absolute "
        "figures move by tens of per cent between runs of the same code: ratios "
        "within one run are what to read.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *[f"| {label} | {value} |" for label, value in machine],
        "",
        "## Set-up",
        "",
        f"- Pinning (`taskset`): servers on CPU {args.server_cpus}, the client (wrk, "
        f"the HEAD load generator, this script) on CPU {args.client_cpus}. "
        f"`--workers 2` needs both cores: it runs on CPUs {args.two_cpus} and "
        f"shares CPU {args.client_cpus} with the client; `ours-fs-2cpu` is one "
        "process allowed the same CPUs, for a like-with-like ratio.",
        f"- Small objects: {args.connections} connections, {args.duration:g} s per "
        "phase (PUT and DELETE: one request per key, as many keys as the warm-up "
        f"rate x duration, {args.min_keys}..{args.max_keys}); PUT/GET/DELETE by "
        "wrk, HEAD by bench/_loadgen.py (wrk hangs on HEAD responses). Every "
        "request is a presigned SigV4 URL; only ours verifies it. "
        f"{args.rounds} rounds, interleaved across servers; the table shows the "
        "best round (its latencies and CPU) and the median ops/s; ratios use the "
        "best rounds.",
        f"- Big objects: {args.big_rounds} rounds, interleaved; best round per "
        "direction, peak RSS as the high-water mark over all rounds.",
        "- CPU columns: percent of one core over the phase (server: its whole "
        "process tree; client: wrk or the load generator).",
        "",
        "| server | what | CPUs | its threads' CPUs at the end | verifies SigV4 |",
        "| --- | --- | --- | --- | --- |",
        *[
            f"| {s.name} | {s.description} | {s.cpus} | "
            f"{_get(report, s.name, 'thread_cpus') or '-'} | "
            f"{'yes' if s.kind in ('ours', 'granian') else 'no'} |"
            for s in report["specs"]
        ],
        "",
        f"## Small objects: 4 KiB, {args.connections} connections",
        "",
        *_small(report, names),
        "",
        "PUT rounds and the disk: each round's PUT ops/s beside the wall time (us) "
        "to create one empty file on the scratch disk, measured just before that "
        "phase. A small PUT on the filesystem (ours or nginx's) creates one file, "
        "so its rate follows this cost, which moves with what the disk did in the "
        "last minute.",
        "",
        *_put_rounds(report, names),
        "",
        f"## Big objects: {args.big_mib} MiB PUT and GET",
        "",
        *_big(report, names, args),
        "",
        "## Listing: ListObjectsV2",
        "",
        *_listing(report, names, args),
        "",
        "## Fixture start-up",
        "",
        *_fixture(report),
        "",
        "## Issue 7 targets",
        "",
        *_targets(report, args),
        "",
    ]
    failures = [
        f"- {name}: {r['error']}"
        for name, r in report["servers"].items()
        if isinstance(r, dict) and "error" in r
    ]
    if failures:
        out += ["## Failures", "", *failures, ""]
    return "\n".join(out)
