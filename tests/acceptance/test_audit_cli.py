"""``testfleet audit`` end to end: exit codes, formats, --run and --mutate on small real suites."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testfleet.cli.main import main

SRC = """
def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def record(x, sink):
    sink.append(x)
    return 2 * x
"""
TESTS = """
from mini.calc import clamp, record


def test_clamp_low():
    assert clamp(-1, 0, 10) == 0


def test_clamp_smoke():
    clamp(5, 0, 10)


def test_dead_assert():
    if clamp(1, 0, 2) == 3:
        assert False


def test_record():
    assert record(2, []) == 4
"""


def _project(tmp_path: Path, tests: str = TESTS, src: str = SRC) -> Path:
    (tmp_path / "src" / "mini").mkdir(parents=True)
    (tmp_path / "src" / "mini" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "src" / "mini" / "calc.py").write_text(src, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text(tests, encoding="utf-8")
    return tmp_path


def _cli(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [
                str(tmp_path / "src"),
                str(Path(__file__).resolve().parents[2] / "src"),
                os.environ.get("PYTHONPATH", ""),
            ]
        ),
    )
    return subprocess.run(
        [sys.executable, "-m", "testfleet", "audit", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_fail_on_and_fail_under_gate_the_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    # static only: static 0.75 x 0.35 = 2.6 proven; the unmeasured 0.65 counts only at the high end
    assert main(["audit", "tests", "--fail-under", "2.5"]) == 0
    assert main(["audit", "tests", "--fail-on", "weak-assert"]) == 0
    assert main(["audit", "tests", "--fail-on", "cannot-fail,weak-assert"]) == 1
    assert main(["audit", "tests", "--fail-under", "5"]) == 1
    err = capsys.readouterr().err
    assert "FAIL: 1 finding(s) of --fail-on rule(s): cannot-fail" in err
    assert (
        "FAIL: score 2.6-6.5/10 (checks, stability, coverage, mutation not measured) is below "
        "--fail-under 5.0 (the low end counts)"
    ) in err


def test_unknown_rule_is_a_usage_error_naming_accepted_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["audit", ".", "--fail-on", "no-such-rule"]) == 4
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith(
        "testfleet: error: --fail-on: unknown rule(s) no-such-rule; accepted: cannot-fail,"
    )


def test_json_report_to_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["audit", "tests", "--format", "json", "-o", "audit.json"]) == 0
    assert capsys.readouterr().out.strip() == (
        "audit: score 2.6-6.5/10 (checks, stability, coverage, mutation not "
        "measured), 4 tests, 1 findings; report written to audit.json"
    )
    data = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    # test_dead_assert has an explicit `assert False`: statically it can fail (--run shows it never does)
    assert [(f["rule"], f["path"], f["line"], f["test"]) for f in data["findings"]] == [
        ("cannot-fail", "tests/test_calc.py", 9, "test_clamp_smoke")
    ]


@pytest.mark.slow
def test_run_measures_coverage_and_zero_check_passes(tmp_path: Path) -> None:
    _project(tmp_path)
    proc = _cli(tmp_path, "tests", "--run", "--format", "json", "-o", "a.json")
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["measurement"]
    assert m["ran"] is True and m["exit_code"] == 0
    # record() fully, clamp() except `return hi`: 8 of 9 statements, 3 of 4 branches
    assert (m["covered_statements"], m["total_statements"]) == (8, 9)
    assert (m["covered_branches"], m["total_branches"]) == (3, 4)
    # test_dead_assert contains an assert, but never executes it
    assert sorted(m["zero_check_passes"]) == [
        "tests/test_calc.py::test_clamp_smoke",
        "tests/test_calc.py::test_dead_assert",
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("via", "progress"), [("fleet", "mutants/s) on the fleet"), ("pytest", "ETA")])
def test_mutate_reports_score_and_pseudo_tested(tmp_path: Path, via: str, progress: str) -> None:
    _project(tmp_path)
    proc = _cli(tmp_path, "tests", "--mutate=10", "--mutate-via", via, "--format", "json", "-o", "a.json")
    assert proc.returncode == 0, proc.stderr
    assert progress in proc.stderr
    m = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["measurement"]
    outcomes = {(r["function"], r["kind"]): r["outcome"] for r in m["mutant_results"]}
    assert outcomes[("clamp", "default-return")] == "killed"
    assert outcomes[("record", "drop-call")] == "survived"  # nobody checks the sink
    assert m["mutants_run"] == len(outcomes)
    assert m["mutation_score"] == pytest.approx(m["mutants_killed"] / m["mutants_run"])
    assert m["pseudo_tested"] == []


DRAIN_SRC = """
def drain(items):
    while items:
        items.pop()
    return len(items)
"""
DRAIN_TESTS = """
from mini.calc import drain


def test_drain():
    xs = [1, 2]
    assert drain(xs) == 0
    assert xs == []
"""


@pytest.mark.slow
@pytest.mark.parametrize("via", ["fleet", "pytest"])
def test_mutant_that_never_ends_is_stopped_and_counted_timeout(tmp_path: Path, via: str) -> None:
    _project(tmp_path, tests=DRAIN_TESTS, src=DRAIN_SRC)
    proc = _cli(tmp_path, "tests", "--mutate=5", "--mutate-via", via, "--format", "json", "-o", "a.json")
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["measurement"]
    # drop-call turns `items.pop()` into `pass`: `while items` never ends; the time limit stops it
    assert {(r["function"], r["kind"]): r["outcome"] for r in m["mutant_results"]} == {
        ("drain", "default-return"): "killed",
        ("drain", "drop-call"): "timeout",
    }
    assert (m["mutants_run"], m["mutants_killed"]) == (2, 2)  # a timeout is a kill


@pytest.mark.slow
def test_suite_that_fails_to_collect_still_gets_a_static_report(tmp_path: Path) -> None:
    _project(tmp_path, tests="import does_not_exist\n\n\ndef test_x():\n    pass\n")
    proc = _cli(tmp_path, "tests", "--mutate=3", "--format", "md")
    assert proc.returncode == 0, proc.stderr
    assert "placeholder" in proc.stdout
    assert "## Not measured, and why" in proc.stdout
    assert "no test was executed by the measured run" in proc.stdout
    assert "| mutation score >= 70.0% | not measured |" in proc.stdout


SHOP_SRC = """
class Cart:
    def __init__(self, notifier):
        self.items = []
        self.notifier = notifier

    def add(self, name, price, qty=1):
        if qty < 1:
            raise ValueError("qty must be >= 1")
        self.items.append((name, price, qty))
        self.notifier.send("added", name)

    def total(self):
        return sum(price * qty for _, price, qty in self.items)

    def checkout(self):
        total = self.total()
        self.notifier.send("checkout", total)
        return total


def apply_discount(total, percent):
    if percent < 0 or percent > 100:
        raise ValueError("percent out of range")
    return round(total * (100 - percent) / 100, 2)


def add_tax(total, rate):
    return round(total * (1 + rate), 2)


def shipping(total):
    if total >= 50:
        return 0
    return 5
"""
SHOP_TESTS = """
from unittest import mock

from shop.cart import Cart


def test_add_notifies():
    notifier = mock.Mock()
    cart = Cart(notifier)
    cart.add("apple", 2.0)
    notifier.send.assert_called_once_with("added", "apple")


def test_checkout_notifies():
    notifier = mock.Mock()
    cart = Cart(notifier)
    cart.add("pear", 3.0, 2)
    cart.checkout()
    assert notifier.send.called


def test_cart_builds():
    cart = Cart(mock.Mock())
    assert cart is not None
"""


@pytest.mark.slow
def test_shop_with_mock_only_and_did_not_crash_tests_scores_at_most_5(tmp_path: Path) -> None:
    """Issue 22: this project scored 9.1/10 with only the `is not None` test flagged."""
    (tmp_path / "src" / "shop").mkdir(parents=True)
    (tmp_path / "src" / "shop" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "src" / "shop" / "cart.py").write_text(SHOP_SRC, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_shop.py").write_text(SHOP_TESTS, encoding="utf-8")
    proc = _cli(tmp_path, ".", "--run", "--format", "json", "-o", "a.json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert sorted((f["test"], f["rule"]) for f in data["findings"]) == [
        ("test_add_notifies", "mock-only"),
        ("test_cart_builds", "did-not-crash"),
        ("test_checkout_notifies", "mock-only"),
    ]
    assert data["measurement"]["ran"] is True
    assert data["score"] <= data["score_high"] <= 5.0
    assert data["unmeasured"] == ["mutation"]
    assert data["score_cap"] < 10
    assert f"score {data['score']:.1f}-{data['score_high']:.1f}/10 (mutation not measured)" in proc.stdout


KIDS_SRC = """
def in_fork_pool(x):
    y = x * 2
    return y + 1


def in_spawn_pool(x):
    y = x * 3
    return y + 1


def in_subprocess(x):
    z = x + 40
    return z


def in_nested_worker(x):
    w = x - 1
    return w


if __name__ == "__main__":
    import sys
    print(in_subprocess(int(sys.argv[1])))
"""
KIDS_TESTS = """
import multiprocessing
import os
import subprocess
import sys

from kids.work import in_fork_pool, in_spawn_pool


def _map(method, fn, args):
    # close + join, not the context manager's terminate(): a SIGTERM can cut a child's data file
    pool = multiprocessing.get_context(method).Pool(1)
    try:
        return pool.map(fn, args)
    finally:
        pool.close()
        pool.join()


def test_fork_pool():
    assert _map("fork", in_fork_pool, [1, 2]) == [3, 5]


def test_spawn_pool():
    assert _map("spawn", in_spawn_pool, [2]) == [7]


def test_python_subprocess():
    out = subprocess.run([sys.executable, "-m", "kids.work", "2"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "42"


def test_nested_testfleet_run(tmp_path):
    (tmp_path / "test_inner.py").write_text(
        "from kids.work import in_nested_worker\\n\\ndef test_inner():\\n    assert in_nested_worker(2) == 1\\n")
    proc = subprocess.run([sys.executable, "-m", "testfleet", "run", "-w", "1", "--db", "none", "-q",
                           "-p", "no:cacheprovider", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
"""


@pytest.mark.slow
def test_run_measures_code_that_runs_only_in_child_processes(tmp_path: Path) -> None:
    """Issue 22: coverage in multiprocessing children (fork and spawn), Python subprocesses and the
    workers of a testfleet run that a test starts (forks that leave through os._exit)."""
    (tmp_path / "src" / "kids").mkdir(parents=True)
    (tmp_path / "src" / "kids" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "src" / "kids" / "work.py").write_text(KIDS_SRC, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_kids.py").write_text(KIDS_TESTS, encoding="utf-8")
    proc = _cli(tmp_path, "tests", "--run", "--format", "json", "-o", "a.json")
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["measurement"]
    assert m["exit_code"] == 0, m["problems"]
    hits = {f["name"].rsplit(":", 1)[1]: (f["covered_statements"], f["statements"]) for f in m["functions"]}
    # each function body has 2 statements and runs only in a child process
    assert hits == {
        "in_fork_pool": (2, 2),
        "in_spawn_pool": (2, 2),
        "in_subprocess": (2, 2),
        "in_nested_worker": (2, 2),
    }
