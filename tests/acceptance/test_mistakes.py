"""The battery of a newcomer's mistakes (issue 19): each one is a single line
``testfleet: error: ...`` naming the flag, key or path and what is accepted, exit code 4 (or
the one the README gives), no traceback, no stray files, and pytest's summary kept where
tests ran."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SUITE = "def test_ok():\n    pass\n\ndef test_fail_me():\n    assert 1 == 2\n"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [ln for ln in self.err.splitlines() if ln.startswith("testfleet: error: ")]


def run_cli(
    root: Path, *args: str, env: dict[str, str] | None = None, module: str = "testfleet", pre: str = "pass"
) -> Result:
    code = (
        f"import sys; {pre}; import runpy; sys.argv = ['{module}', *sys.argv[1:]]; "
        f"runpy.run_module('{module}', run_name='__main__')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
        start_new_session=True,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "test_a.py").write_text(SUITE)
    return root


def listing(path: Path) -> set[str]:
    # pytest's own cache (written on a usage error by plain pytest too) is not a stray file
    return {
        str(p.relative_to(path))
        for p in path.rglob("*")
        if "__pycache__" not in p.parts and ".pytest_cache" not in p.parts
    }


def assert_usage_error(r: Result, fragment: str, code: int = 4) -> None:
    text = r.out + r.err
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    assert r.code == code, text
    assert len(r.error_lines) == 1, text
    assert fragment in r.error_lines[0], r.error_lines[0]


# (argv, fragment of the one error line)
COMMAND_LINE_MISTAKES = [
    (["rnu"], "'rnu' is not a command; choose from run, runs, "),
    (["rnu"], "(did you mean run?)"),
    (
        ["show", "--limit", "3"],
        "testfleet show has no option --limit; its options: --db, --format, --help, --runs, --verbose (testfleet runs has it)",
    ),
    (["flaky", "--runs", "abc"], "flaky --runs: 'abc' is not a whole number"),
    (["compare", "--min-ratio", "abc"], "compare --min-ratio: 'abc' is not a number"),
    (["runs", "--limit"], "runs --limit needs a value"),
    (["audit", "--format", "pdf"], "audit --format: 'pdf' is not a choice; choose from md, json, html"),
    (["run", "-w", "-q", "."], "-w needs a value (N|auto), not the option -q"),
    (["run", "--workrs", "2"], "unrecognized option --workrs (did you mean --workers?)"),
    (["run", "--retires", "2"], "unrecognized option --retires (did you mean --retries?)"),
    (["run", "-w", "0"], "-w: '0' is not a positive whole number or 'auto'"),
    (["run", "--workers", "many"], "--workers: 'many' is not a positive whole number or 'auto'"),
    (["run", "--timeout", "abc"], "--timeout: 'abc' is not a number of seconds"),
    (["run", "--order", "bogus"], "--order: 'bogus' is not one of collection, duration"),
    (["run", "--start", "thread"], "--start: 'thread' is not one of fork, spawn"),
    (["run", "--ray-no-ship=yes"], "--ray-no-ship takes no value"),
    (["run", "nothere.py"], "file or directory not found: nothere.py"),
]


@pytest.mark.parametrize(
    ("argv", "fragment"), COMMAND_LINE_MISTAKES, ids=lambda v: " ".join(v) if isinstance(v, list) else None
)
def test_command_line_mistake(project: Path, argv: list[str], fragment: str) -> None:
    before = listing(project)
    r = run_cli(project, *argv, *(["--db", "none"] if argv[0] == "run" else []))
    assert_usage_error(r, fragment)
    assert "usage:" not in r.err  # argparse's usage text is not printed
    assert listing(project) == before


def test_report_json_in_a_missing_directory(project: Path, tmp_path: Path) -> None:
    before = listing(tmp_path)
    r = run_cli(project, "run", "--db", "none", "--report-json", str(tmp_path / "missing" / "r.json"))
    assert_usage_error(
        r,
        f"--report-json: cannot write {tmp_path / 'missing' / 'r.json'}: directory "
        f"{tmp_path / 'missing'} does not exist",
    )
    assert listing(tmp_path) == before


def test_report_json_that_is_a_directory(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    before = listing(tmp_path)
    r = run_cli(project, "run", "--db", "none", "--report-json", str(target))
    assert_usage_error(r, f"--report-json: {target} is a directory; give a file path")
    assert listing(tmp_path) == before  # no out.tmpNNNN left beside it


def test_pytest_fleet_zero_speaks_of_fleet(project: Path) -> None:
    r = run_cli(project, "--fleet", "0", module="pytest")  # the plugin loads through its entry point
    assert r.code == 4
    assert "--fleet: '0' is not a positive whole number or 'auto'" in r.err
    assert "--workers" not in r.err and "Traceback" not in r.err


def test_env_var_errors_name_the_variable(project: Path) -> None:
    r = run_cli(project, "run", "--db", "none", env={"TESTFLEET_WORKERS": "0"})
    assert_usage_error(r, "TESTFLEET_WORKERS: '0' is not a positive whole number or 'auto'")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("workers = 0", "[tool.testfleet] workers: '0' is not a positive whole number or 'auto'"),
        ("wokers = 2", "[tool.testfleet]: unknown key 'wokers' (did you mean 'workers'?)"),
        ("tags = 3", "[tool.testfleet] tags: 3 is not a list of names"),
        ('timeout = "soon"', "[tool.testfleet] timeout: 'soon' is not a number of seconds"),
    ],
)
def test_pyproject_errors_name_the_key(project: Path, body: str, fragment: str) -> None:
    (project / "pyproject.toml").write_text(f"[tool.testfleet]\n{body}\n")
    assert_usage_error(run_cli(project, "run", "--db", "none"), fragment)


def test_tags_as_a_string_is_one_tag(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.testfleet]\ntags = "browser"\n')
    (project / "test_a.py").write_text(
        "import pytest\n\n@pytest.mark.fleet(tags=['browser'])\ndef test_needs_browser():\n    pass\n"
    )
    r = run_cli(project, "run", "--db", "none", "-w", "1")
    assert r.code == 0, r.out + r.err
    assert "1 passed" in r.out and "unschedulable" not in r.out


def test_audit_path_that_does_not_exist(project: Path) -> None:
    r = run_cli(project, "audit", "/nonexistent/tests")
    assert_usage_error(r, "audit: no such file or directory: /nonexistent/tests")
    assert r.out == ""  # no report of nothing


def test_audit_run_without_coverage(project: Path) -> None:
    r = run_cli(project, "audit", "--run", ".", pre="sys.modules['coverage'] = None")
    assert_usage_error(
        r,
        "audit --run needs coverage.py, which is not installed; install it with: "
        "pip install 'testfleet[audit]'",
    )


def test_usage_error_after_start_keeps_pytest_output_and_is_not_stored_finished(project: Path) -> None:
    r = run_cli(project, "run", "nothere.py")
    assert_usage_error(r, "file or directory not found: nothere.py")
    runs = run_cli(project, "runs")
    assert runs.code == 0, runs.err
    assert " error " in runs.out and " finished " not in runs.out


def test_tests_that_ran_keep_their_summary(project: Path) -> None:
    r = run_cli(project, "run", "--db", "none", "-w", "1", "-k", "fail_me")
    assert r.code == 1
    assert "collected 2 items / 1 deselected / 1 selected" in r.out
    assert "FAILED test_a.py::test_fail_me" in r.out and "1 failed, 1 deselected" in r.out
    assert "Traceback (most recent call last)" not in r.err
