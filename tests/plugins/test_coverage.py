"""Coverage: the combined coverage of every process that ran tests (issue 18, 1).

The suite has code run only at import (collection, in the collector) and code run only by
tests (in the workers): a total equal to plain pytest's needs both."""

from __future__ import annotations

import re

import pytest
from _suite import Result, Suite, need

CALC = """
TABLE = {n: n * n for n in range(4)}  # runs at import


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    total = 0
    for _ in range(b):
        total += a
    return total


def never_called(x):
    if x:
        return 1
    return 2
"""

TESTS = """
from pkg.calc import add, sub, mul


def test_add():
    assert add(1, 2) == 3


def test_sub():
    assert sub(3, 2) == 1


def test_mul():
    assert mul(3, 4) == 12


def test_more():
    assert add(0, 0) == 0
"""


def _write(suite: Suite) -> None:
    suite.write("pkg/__init__.py", "")
    suite.write("pkg/calc.py", CALC)
    suite.write("tests/test_calc.py", TESTS)


def total(result: Result) -> tuple[int, int, str]:
    """(statements, missed, percent) of the TOTAL row of coverage's terminal report."""
    m = result.expect_line(r"^TOTAL\s+(\d+)\s+(\d+)\s+(\d+%)")
    return int(m[1]), int(m[2]), m[3]


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_pytest_cov_total_equals_plain_pytest(suite: Suite, start: str) -> None:
    need("pytest_cov")
    _write(suite)
    args = ["-p", "pytest_cov.plugin", "--cov=pkg", "--cov-report=term", "tests"]
    plain = suite.plain(*args)
    fleet = suite.fleet("--start", start, *args)
    assert plain.code == 0 and fleet.code == 0, fleet.out
    assert total(plain)[1] > 0 and total(plain)[2] != "100%"  # the suite misses some lines
    assert total(fleet) == total(plain), fleet.out
    assert "No data was collected" not in fleet.out
    assert not list(suite.root.glob(".coverage.*")), "workers' data files must be combined away"


def test_cov_fail_under_behaves_as_plain(suite: Suite) -> None:
    need("pytest_cov")
    _write(suite)
    pct = int(total(suite.plain("-p", "pytest_cov.plugin", "--cov=pkg", "tests"))[2].rstrip("%"))  # rounded
    for limit, code in ((pct - 10, 0), (pct + 5, 1)):
        args = ["-p", "pytest_cov.plugin", "--cov=pkg", f"--cov-fail-under={limit}", "tests"]
        plain, fleet = suite.plain(*args), suite.fleet(*args)
        assert (plain.code, fleet.code) == (code, code), fleet.out
        word = "FAIL Required" if code else "Required"
        pattern = rf"^{word} test coverage of {limit}% (not )?reached\. Total coverage: (\d+\.\d\d)%"
        assert fleet.expect_line(pattern)[2] == plain.expect_line(pattern)[2]


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_coverage_run_of_testfleet_measures_the_whole_run(suite: Suite, start: str) -> None:
    need("coverage")
    _write(suite)
    report = ["coverage", "report"]
    plain = suite.run(
        *_py("coverage", "run", "--source=pkg", "-m", "pytest", "-p", "no:cacheprovider", "tests")
    )
    assert plain.code == 0, plain.out
    plain_total = total(suite.run(*_py(*report)))
    suite.run(*_py("coverage", "erase"))
    fleet = suite.run(
        *_py(
            "coverage",
            "run",
            "--source=pkg",
            "-m",
            "testfleet",
            "run",
            "-w",
            "2",
            "--start",
            start,
            "--db",
            "none",
            "-p",
            "no:cacheprovider",
            "tests",
        )
    )
    assert fleet.code == 0, fleet.out
    assert "No data was collected" not in fleet.out and "Combined" not in fleet.out, fleet.out
    assert total(suite.run(*_py(*report))) == plain_total
    assert not [p.name for p in suite.root.iterdir() if re.match(r"\.coverage\..", p.name)]


def _py(*args: str) -> list[str]:
    import sys

    return [sys.executable, "-m", *args]
