"""pytest-benchmark: results from every worker reach the table, the JSON and the compare
gate (issue 18, 4); never silently dropped."""

from __future__ import annotations

import json

from _suite import Suite, need

BENCH = """
import time

def work(n):
    {body}
    return sum(range(n))

def test_a(benchmark):
    assert benchmark(work, 10) == 45

def test_b(benchmark):
    assert benchmark(work, 20) == 190

def test_c(benchmark):
    assert benchmark(work, 30) == 435

def test_d(benchmark):
    assert benchmark(work, 40) == 780
"""
QUICK = [
    "-p",
    "pytest_benchmark.plugin",
    "--benchmark-min-rounds=3",
    "--benchmark-max-time=0.001",
    "--benchmark-warmup=off",
    "--benchmark-storage=file://./bench",
]


def _names(path: str, suite: Suite) -> list[str]:
    data = json.loads((suite.root / path).read_text())
    return [b["name"] for b in data["benchmarks"]]  # in collection order, as plain pytest


def test_results_from_every_worker_reach_table_and_json(suite: Suite) -> None:
    need("pytest_benchmark")
    suite.write("test_bench.py", BENCH.format(body="pass"))
    plain = suite.plain(*QUICK, "--benchmark-json=plain.json")
    fleet = suite.fleet(*QUICK, "--benchmark-json=fleet.json")
    assert plain.code == 0 and fleet.code == 0, fleet.out
    assert (
        _names("fleet.json", suite) == _names("plain.json", suite) == ["test_a", "test_b", "test_c", "test_d"]
    )
    rounds = json.loads((suite.root / "fleet.json").read_text())["benchmarks"][0]["stats"]
    assert rounds["rounds"] >= 3 and len(rounds["data"]) == rounds["rounds"]
    for result in (plain, fleet):
        result.expect_line(r"benchmark: 4 tests")
        for name in ("test_a", "test_b", "test_c", "test_d"):
            result.expect_line(rf"^{name}\s+\d")  # a row of the table


def test_compare_fail_gate_fails_as_under_plain_pytest(suite: Suite) -> None:
    need("pytest_benchmark")
    suite.write("test_bench.py", BENCH.format(body="pass"))
    base = suite.plain(*QUICK, "--benchmark-save=base")
    assert base.code == 0, base.out
    suite.write("test_bench.py", BENCH.format(body="time.sleep(0.002)"))  # 100x slower
    gate = [*QUICK, "--benchmark-compare=0001", "--benchmark-compare-fail=mean:50%"]
    plain, fleet = suite.plain(*gate), suite.fleet(*gate)
    assert plain.code == 1, plain.out
    assert fleet.code == 1, fleet.out
    for result in (plain, fleet):
        result.expect_line(r"Performance has regressed")
        for name in ("test_a", "test_b", "test_c", "test_d"):
            result.expect_line(rf"{name} \(0001_base\) - Field 'mean' has failed PercentageRegressionCheck")
