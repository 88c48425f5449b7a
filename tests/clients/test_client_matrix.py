"""tools/client_matrix.py: the README's client table comes from a real pytest run.

A tiny suite of two fake client modules (one passing, failing and skipping, one
skipped whole at collection) runs under pytest into JUnit XML; the tool's table
must report exactly what happened. This module declares no ``CLIENT``, so the
tool leaves it out of the matrix.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tools import client_matrix as matrix

_GOOD = '''
"""A fake client."""
import pytest

CLIENT = "Fake | client"
VERSIONS = ("pip:pytest", "pip:no-such-distribution-here")
EXERCISED = "put and get"
SETTINGS = ("`path_style = true`",)
CANNOT = {"presigned GET": "no presign API"}


def test_put():
    """put stores the bytes."""


@pytest.mark.parametrize("key", ["a+b", "c"])
def test_get(key):
    """get returns the bytes."""
    assert key == "c", "wrong bytes for " + key


def test_later():
    """a step for later."""
    pytest.skip("needs a newer client")
'''

_MISSING = '''
"""A client that is not installed."""
import pytest

pytest.importorskip("no_such_client_module", reason="fake is not installed")
CLIENT = "Missing client"


def test_anything():
    """anything works."""
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(suite directory, JUnit XML) of a real pytest run of the fake suite."""
    suite = tmp_path_factory.mktemp("suite")
    (suite / "test_fake_good.py").write_text(_GOOD)
    (suite / "test_fake_missing.py").write_text(_MISSING)
    junit = suite / "junit.xml"
    subprocess.run(
        [
            *(
                sys.executable,
                "-m",
                "pytest",
                str(suite),
                "-q",
                "-p",
                "no:cacheprovider",
            ),
            *("-o", "addopts=", "--rootdir", str(suite), f"--junitxml={junit}"),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    return suite, junit


def _modules(suite: Path) -> list[matrix.ModuleInfo]:
    return [
        matrix.read_module(suite / f"test_fake_{n}.py") for n in ("good", "missing")
    ]


def test_module_constants_and_docstrings_are_read_from_source(
    run: tuple[Path, Path],
) -> None:
    """read_module gives CLIENT, VERSIONS, CANNOT and each test's first doc line."""
    good, missing = _modules(run[0])
    assert (good.client, good.exercised, good.settings) == (
        "Fake | client",
        "put and get",
        ("`path_style = true`",),
    )
    assert good.cannot == {"presigned GET": "no presign API"}
    assert good.docs["test_get"] == "get returns the bytes."
    assert (missing.client, missing.versions) == ("Missing client", ())


def test_outcomes_follow_the_run(run: tuple[Path, Path]) -> None:
    """Each test case's status and message come from the JUnit XML."""
    got = {(o.module, o.test): o for o in matrix.outcomes_from_junit(run[1])}
    assert got["test_fake_good", "test_put"].status == "pass"
    failed = got["test_fake_good", "test_get[a+b]"]
    assert failed.status == "fail" and "wrong bytes for a+b" in failed.message
    assert got["test_fake_good", "test_get[c]"].status == "pass"
    later = got["test_fake_good", "test_later"]
    assert (later.status, later.message) == ("skip", "needs a newer client")
    whole = got["test_fake_missing", "*"]
    assert (whole.status, whole.message) == ("skip", "fake is not installed")


def test_table_reports_failures_skips_and_cannot(run: tuple[Path, Path]) -> None:
    """One row per client: versions, FAIL with the error, skip reason, cannot."""
    text = matrix.render(matrix.outcomes_from_junit(run[1]), _modules(run[0]))
    rows = [line for line in text.splitlines() if line.startswith("| Fake \\|")]
    header = rows[0]
    assert "Fake \\| client" in header  # a '|' in a cell is escaped
    assert f"pytest {pytest.__version__}" in header
    assert "no-such-distribution-here (not installed)" in header
    assert "**FAIL**: 1 of 4 tests failed" in header
    assert "`test_get[a+b]`: AssertionError: wrong bytes for a+b" in header
    assert "cannot presigned GET: no presign API" in header
    missing = next(line for line in text.splitlines() if "| Missing client |" in line)
    assert "skipped: fake is not installed" in missing
    assert "get returns the bytes. (`a+b`)" in text
    assert "- **Fake | client**: `path_style = true`." in text
    assert "1 failed" in text.splitlines()[0]


def test_readme_block_is_replaced_between_the_markers(tmp_path: Path) -> None:
    """write_readme rewrites only the marked block; no markers is an error."""
    readme = tmp_path / "README.md"
    readme.write_text(f"# Top\n{matrix.START}\nold table\n{matrix.END}\n## Next\n")
    matrix.write_readme(readme, "new table\n")
    assert readme.read_text() == (
        f"# Top\n{matrix.START}\nnew table\n{matrix.END}\n## Next\n"
    )
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="markers"):
        matrix.write_readme(readme, "new table\n")
    assert readme.read_text() == "# no markers\n"


def test_exit_status(run: tuple[Path, Path], tmp_path: Path) -> None:
    """main exits 2 for a missing JUnit file and 1 when a test of the run failed."""
    assert matrix.main(["--junit", str(tmp_path / "none.xml")]) == 2
    assert matrix.main(["--junit", str(run[1])]) == 1


def test_this_module_is_not_a_client() -> None:
    """Modules without CLIENT (like this one) stay out of the matrix."""
    names = [m.name for m in matrix.modules_in(Path(__file__).parent)]
    assert "test_client_matrix" not in names
    assert names[:2] == ["test_boto3", "test_aws_cli"]
