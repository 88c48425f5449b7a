"""The client compatibility matrix: run the client suites, write a Markdown table.

This script owns turning a pytest run of ``tests/clients`` into the README's
"Tested clients" table: one row per client with the versions installed, what its
module exercises, and what happened (how many tests passed; each failure with
its error; the skip reason when the client is missing; the steps the client
cannot express, with why). Under the table it lists every test with its result,
and each client's settings. It runs pytest itself or reads the JUnit XML of a
finished run, and it can rewrite the block between ``<!-- client-matrix:start
-->`` and ``<!-- client-matrix:end -->`` in README.md. It must not decide results
itself: every result comes from the test run. It reads each module's constants
(``CLIENT``, ``VERSIONS``, ``EXERCISED``, ``SETTINGS``, ``CANNOT``) and test
docstrings from the source, without importing it.

Usage::

    python tools/client_matrix.py                  # run the suites, print
    python tools/client_matrix.py --junit run.xml  # read a finished run
    python tools/client_matrix.py --write-readme   # also rewrite README.md

Exit status: 0 when no test failed, 1 when one did (the table is printed and
written either way), 2 for a usage problem (no README markers, missing file).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
SUITE = "tests/clients"
START, END = "<!-- client-matrix:start -->", "<!-- client-matrix:end -->"
# The order; a module not named here comes after these, by name.
ORDER = (
    "test_boto3",
    "test_aws_cli",
    "test_s3cmd",
    "test_minio",
    "test_s3fs",
    "test_pyarrow",
    "test_obstore",
    "test_js_sdk",
    "test_rclone",
)


@attrs.frozen(kw_only=True)
class ModuleInfo:
    """What a client test module says about itself (read from its source).

    Attributes:
        name: the module name (``test_s3cmd``).
        client: the client's name for the table (``CLIENT``); empty for a module
            that is no client's (a test of this script, say).
        versions: where to read versions (``VERSIONS``): ``pip:<distribution>``,
            ``npm:<package>`` (from tests/clients/js/node_modules) or
            ``cmd:<command line>`` (the first line it prints).
        exercised: a summary of the calls the module makes (``EXERCISED``).
        settings: what the client needs set against this server (``SETTINGS``).
        cannot: scenario steps the client cannot express, with why (``CANNOT``).
        docs: test function name -> first line of its docstring.
    """

    name: str
    client: str
    versions: tuple[str, ...]
    exercised: str
    settings: tuple[str, ...]
    cannot: dict[str, str]
    docs: dict[str, str]


@attrs.frozen(kw_only=True)
class Outcome:
    """One test case of the run: which test, its status and the message."""

    module: str
    test: str
    status: str  # "pass", "fail", "error" or "skip"
    message: str = ""


def read_module(path: Path) -> ModuleInfo:
    """The ``ModuleInfo`` of a test module, from its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants: dict[str, object] = {}
    docs: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            with contextlib.suppress(ValueError, TypeError, SyntaxError):
                value = ast.literal_eval(node.value)
                constants.update(dict.fromkeys(names, value))
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            doc = ast.get_docstring(node) or node.name
            docs[node.name] = doc.strip().splitlines()[0]
    client, exercised, cannot = (
        constants.get(name) for name in ("CLIENT", "EXERCISED", "CANNOT")
    )
    return ModuleInfo(
        name=path.stem,
        client=client if isinstance(client, str) else "",
        versions=_strings(constants.get("VERSIONS")),
        exercised=exercised if isinstance(exercised, str) else "",
        settings=_strings(constants.get("SETTINGS")),
        cannot=(
            {str(k): str(v) for k, v in cannot.items()}
            if isinstance(cannot, dict)
            else {}
        ),
        docs=docs,
    )


def _strings(value: object) -> tuple[str, ...]:
    return tuple(map(str, value)) if isinstance(value, tuple | list) else ()


def version_of(source: str) -> str:
    """``name version`` for a version source, or ``name (not installed)``."""
    kind, _, name = source.partition(":")
    try:
        if kind == "pip":
            return f"{name} {metadata.version(name)}"
        if kind == "npm":
            manifest = ROOT / "tests/clients/js/node_modules" / name / "package.json"
            return f"{name} {json.loads(manifest.read_text())['version']}"
        if kind == "cmd":
            argv = name.split()
            out = (
                subprocess.run(
                    argv, capture_output=True, text=True, timeout=30, check=True
                )
                .stdout.splitlines()[0]
                .strip()
            )
            return out if out.startswith(argv[0]) else f"{argv[0]} {out}"
    except (metadata.PackageNotFoundError, OSError, subprocess.SubprocessError):
        pass
    except (KeyError, ValueError, IndexError):  # a manifest or output we cannot read
        pass
    return f"{name.split()[0]} (not installed)"


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    flat = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    return flat.replace("|", "\\|")


def _skip_reason(element: ET.Element) -> str:
    # A module skipped at collection keeps the reason only in the element text:
    # "('/path/test_x.py', 12, 'Skipped: <reason>')"; a test skipped in a fixture
    # has it in the message.
    match = re.search(r"Skipped: (.*)'\)\s*$", element.text or "", re.S)
    return match.group(1) if match else element.get("message", "")


def outcomes_from_junit(junit: Path) -> list[Outcome]:
    """Every test case of the run, in run order."""
    out: list[Outcome] = []
    for case in ET.parse(junit).iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        # A module skipped whole at collection has its dotted name as the name.
        module = (classname or name).rsplit(".", 1)[-1]
        problem = next(iter(case.findall("failure") + case.findall("error")), None)
        skipped = case.find("skipped")
        test = name if classname else "*"
        if problem is not None:
            message = problem.get("message") or (problem.text or "")
            status = "fail" if problem.tag == "failure" else "error"
            out.append(
                Outcome(module=module, test=test, status=status, message=message)
            )
        elif skipped is not None:
            out.append(
                Outcome(
                    module=module,
                    test=test,
                    status="skip",
                    message=_skip_reason(skipped),
                )
            )
        else:
            out.append(Outcome(module=module, test=test, status="pass"))
    return out


def _describe(info: ModuleInfo, test: str) -> str:
    base, _, param = test.partition("[")
    return info.docs.get(base, base) + (f" (`{param[:-1]}`)" if param else "")


def _result(info: ModuleInfo, mine: Sequence[Outcome]) -> str:
    """The table's result cell for one client."""
    passed = sum(o.status == "pass" for o in mine)
    bad = [o for o in mine if o.status in ("fail", "error")]
    skips = [o for o in mine if o.status == "skip"]
    if not mine:
        parts = ["not run"]
    elif bad:
        parts = [f"**FAIL**: {len(bad)} of {len(mine)} tests failed"] + [
            f"`{o.test}`: {_one_line(o.message)}" for o in bad
        ]
    elif skips and not passed:
        parts = [f"skipped: {_one_line(skips[0].message)}"]
    else:
        parts = [f"pass ({passed} of {len(mine)} tests)"]
        parts += [f"skipped `{o.test}`: {_one_line(o.message)}" for o in skips]
    parts += [f"cannot {step}: {_one_line(why)}" for step, why in info.cannot.items()]
    return "<br>".join(parts)


def render(outcomes: Sequence[Outcome], modules: Sequence[ModuleInfo]) -> str:
    """The Markdown block: a summary, the client table, every test, the settings."""
    by_module = {m.name: [o for o in outcomes if o.module == m.name] for m in modules}
    counted = [o for o in outcomes if o.module in by_module]
    totals = {
        word: sum(o.status in kinds for o in counted)
        for word, kinds in (
            ("passed", ("pass",)),
            ("failed", ("fail", "error")),
            ("skipped", ("skip",)),
        )
    }
    day = dt.datetime.now(dt.timezone.utc).date().isoformat()
    python = ".".join(map(str, sys.version_info[:3]))
    lines = [
        f"Generated by `python tools/client_matrix.py --write-readme` on {day} from a"
        f" run of `{SUITE}` (Python {python}): "
        + ", ".join(f"{n} {word}" for word, n in totals.items())
        + ".",
        "",
        "| client | version | what was exercised | result |",
        "| --- | --- | --- | --- |",
    ]
    for info in modules:
        versions = "<br>".join(version_of(v) for v in info.versions) or "?"
        lines.append(
            f"| {_one_line(info.client)} | {_one_line(versions)} "
            f"| {_one_line(info.exercised, 600)} "
            f"| {_result(info, by_module[info.name])} |"
        )
    lines += ["", "<details><summary>Every test and its result</summary>", ""]
    lines += ["| client | test: what must hold | result |", "| --- | --- | --- |"]
    for info in modules:
        for outcome in by_module[info.name]:
            result = outcome.status
            if outcome.message:
                result += f": {_one_line(outcome.message)}"
            what = (
                "(whole module)"
                if outcome.test == "*"
                else _describe(info, outcome.test)
            )
            lines.append(f"| {_one_line(info.client)} | {_one_line(what)} | {result} |")
    lines += [
        "",
        "</details>",
        "",
        "Settings each client needs against this server:",
        "",
    ]
    for info in modules:
        if info.settings:
            lines.append(f"- **{info.client}**: " + "; ".join(info.settings) + ".")
    return "\n".join(lines) + "\n"


def run_pytest(junit: Path, extra: Sequence[str]) -> int:
    """Run the client suites into ``junit``; pytest's exit code."""
    command = [sys.executable, "-m", "pytest", SUITE, f"--junitxml={junit}", "-q"]
    # pytest's own report goes to stderr: stdout carries only the table.
    return subprocess.run(
        [*command, *extra], cwd=ROOT, stdout=sys.stderr, check=False
    ).returncode


def write_readme(readme: Path, block: str) -> None:
    """Replace the text between the client-matrix markers in ``readme``.

    Raises:
        ValueError: the markers are missing or out of order.
    """
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{readme}: no {START} ... {END} markers")
    readme.write_text(
        text[: start + len(START)] + "\n" + block + text[end:], encoding="utf-8"
    )


def modules_in(suite: Path) -> list[ModuleInfo]:
    """Every client module of the suite, in the issue's order."""
    paths = sorted(suite.glob("test_*.py"))
    rank = {name: n for n, name in enumerate(ORDER)}
    paths.sort(key=lambda p: (rank.get(p.stem, len(ORDER)), p.stem))
    return [info for info in map(read_module, paths) if info.client]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--junit", type=Path, help="read this JUnit XML, do not run")
    parser.add_argument(
        "--write-readme",
        nargs="?",
        const=ROOT / "README.md",
        type=Path,
        help="rewrite the marked block of this file (default README.md)",
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments")
    args = parser.parse_args(argv)
    modules = modules_in(ROOT / SUITE)
    if args.junit is not None:
        if not args.junit.exists():
            print(f"{args.junit}: no such file", file=sys.stderr)
            return 2
        outcomes = outcomes_from_junit(args.junit)
    else:
        with tempfile.TemporaryDirectory() as scratch:
            junit = Path(scratch) / "clients.xml"
            run_pytest(junit, args.pytest_args)
            if not junit.exists():
                print("pytest wrote no JUnit XML", file=sys.stderr)
                return 2
            outcomes = outcomes_from_junit(junit)
    block = render(outcomes, modules)
    print(block, end="")
    if args.write_readme is not None:
        try:
            write_readme(args.write_readme, block)
        except (OSError, ValueError) as problem:
            print(problem, file=sys.stderr)
            return 2
    return 1 if any(o.status in ("fail", "error") for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
