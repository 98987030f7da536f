"""Scheduling rules with real workers: placement, unschedulable, dependencies, exclusivity,
groups, retries, orders, deadlines, the circuit breaker, and bad marker input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

RECORD = """
import json, os, time
HERE = os.path.dirname(__file__)
def record(name, seconds):
    start = time.time()
    time.sleep(seconds)
    with open(os.path.join(HERE, "spans.jsonl"), "a") as fh:
        fh.write(json.dumps({"name": name, "start": start, "end": time.time(),
                             "worker": os.environ["TESTFLEET_WORKER"]}) + "\\n")
"""


def spans(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / "spans.jsonl").read_text().splitlines()]


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def test_tagged_tests_go_only_to_workers_with_the_tag(fleet: Any) -> None:
    fleet.write("pyproject.toml", '[tool.testfleet]\nworker_tags = {1 = ["browser"]}\n')
    fleet.write(
        "test_tags.py",
        """
import os, pytest
@pytest.mark.fleet(tags=["browser"])
@pytest.mark.parametrize("n", range(6))
def test_browser(n):
    assert os.environ["TESTFLEET_WORKER"] == "w1"
    assert "browser" in os.environ["TESTFLEET_TAGS"].split(",")
@pytest.mark.parametrize("n", range(6))
def test_any(n): pass
""",
    )
    run = fleet.run("-w", "2", "--db", "none")
    assert run.code == 0, run.out
    assert run.report["counts"] == {"passed": 12}
    assert {t["worker"] for t in run.report["tests"] if "browser" in t["nodeid"]} == {"w1"}


def test_unschedulable_names_the_missing_capability_and_fails(fleet: Any) -> None:
    fleet.write(
        "test_gpu.py",
        """
import pytest
@pytest.mark.fleet(requires={"gpu": 1})
def test_needs_gpu(): pass
@pytest.mark.fleet(tags=["quantum"])
def test_needs_tag(): pass
def test_ok(): pass
""",
    )
    run = fleet.run("-w", "2", "--db", "none")
    assert run.code == 1
    assert run.report["counts"] == {"passed": 1, "unschedulable": 2}
    assert "gpu=1" in run.outcome("test_needs_gpu")["message"]
    assert "'quantum'" in run.outcome("test_needs_tag")["message"]
    allowed = fleet.run("-w", "2", "--db", "none", "--allow-unschedulable")
    assert allowed.code == 0
    assert allowed.report["counts"] == {"passed": 1, "unschedulable": 2}


def test_fake_gpus_place_gpu_tests_with_their_own_cuda_devices(fleet: Any) -> None:
    fleet.write(
        "test_gpu.py",
        """
import os, pytest
@pytest.mark.fleet(requires={"gpu": 1})
@pytest.mark.parametrize("n", range(4))
def test_gpu(n):
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"
    assert os.environ["TESTFLEET_WORKER"] == "w0"
def test_cpu_worker_sees_no_gpu():
    if os.environ["TESTFLEET_WORKER"] == "w1":
        assert os.environ["CUDA_VISIBLE_DEVICES"] == ""
""",
    )
    # Exclusive isolation: each slot its own GPUs (w0 the only one), hidden from the others.
    # The shared default (every worker sees a GPU) is in test_hardware.py.
    run = fleet.run(
        "-w",
        "2",
        "--db",
        "none",
        "--gpu-isolation",
        "exclusive",
        env={"TESTFLEET_FAKE_GPUS": "1", "CUDA_VISIBLE_DEVICES": "0"},
    )
    assert run.code == 0, run.out
    assert run.report["counts"] == {"passed": 5}


def test_dependency_failure_skips_the_dependent_with_a_reason(fleet: Any) -> None:
    fleet.write(
        "test_deps.py",
        """
import pytest
def test_setup_db(): assert False, "db down"
@pytest.mark.fleet(after=["test_setup_db"])
def test_query(): pass
@pytest.mark.fleet(after=["test_query"])
def test_report(): pass
def test_base(): pass
@pytest.mark.fleet(after=["test_deps.py::test_base"])
def test_after_base(): pass
""",
    )
    run = fleet.run("-w", "2", "--db", "none")
    assert run.code == 1
    assert run.report["counts"] == {"passed": 2, "failed": 1, "skipped": 2}
    assert (
        run.outcome("test_query")["message"] == "depends on test_deps.py::test_setup_db, which ended failed"
    )
    assert run.outcome("test_report")["message"] == "depends on test_deps.py::test_query, which ended skipped"


def test_dependents_start_only_after_their_dependencies_finish(fleet: Any) -> None:
    fleet.write("helpers_record.py", RECORD)
    fleet.write(
        "test_order.py",
        """
import pytest
from helpers_record import record
def test_first(): record("first", 0.5)
@pytest.mark.fleet(after=["test_first"])
def test_second(): record("second", 0.1)
""",
    )
    run = fleet.run("-w", "2", "--db", "none")
    assert run.code == 0, run.out
    by_name = {s["name"]: s for s in spans(fleet.root)}
    assert by_name["second"]["start"] >= by_name["first"]["end"]


def test_pytest_dependency_marker_is_understood(fleet: Any) -> None:
    fleet.write(
        "conftest.py",
        "def pytest_configure(config):\n"
        "    config.addinivalue_line('markers', 'dependency(name=None, depends=[]): x')\n",
    )
    fleet.write(
        "test_pd.py",
        """
import pytest
@pytest.mark.dependency(name="login")
def test_login(): assert False
@pytest.mark.dependency(depends=["login"])
def test_profile(): pass
""",
    )
    run = fleet.run("-w", "2", "--db", "none")
    assert run.outcome("test_profile")["outcome"] == "skipped"
    assert "test_login" in run.outcome("test_profile")["message"]


def test_exclusive_tests_run_alone(fleet: Any) -> None:
    fleet.write("helpers_record.py", RECORD)
    fleet.write(
        "test_excl.py",
        """
import pytest
from helpers_record import record
@pytest.mark.fleet(exclusive=True)
@pytest.mark.parametrize("n", range(2))
def test_alone(n): record(f"alone{n}", 0.4)
@pytest.mark.parametrize("n", range(8))
def test_crowd(n): record(f"crowd{n}", 0.15)
""",
    )
    run = fleet.run("-w", "3", "--db", "none")
    assert run.code == 0, run.out
    all_spans = spans(fleet.root)
    assert len(all_spans) == 10
    for s in all_spans:
        if s["name"].startswith("alone"):
            others = [o for o in all_spans if o is not s]
            assert not [o for o in others if overlaps(s, o)], s


def test_group_members_never_overlap(fleet: Any) -> None:
    fleet.write("helpers_record.py", RECORD)
    fleet.write(
        "test_group.py",
        """
import pytest
from helpers_record import record
@pytest.mark.fleet(group="db")
@pytest.mark.parametrize("n", range(4))
def test_db(n): record(f"db{n}", 0.2)
@pytest.mark.parametrize("n", range(4))
def test_free(n): record(f"free{n}", 0.2)
""",
    )
    run = fleet.run("-w", "3", "--db", "none")
    assert run.code == 0, run.out
    db = [s for s in spans(fleet.root) if s["name"].startswith("db")]
    assert len(db) == 4
    assert not [(a, b) for a in db for b in db if a is not b and overlaps(a, b)]


def test_cpus_requirement_occupies_two_slots(fleet: Any) -> None:
    fleet.write("helpers_record.py", RECORD)
    fleet.write(
        "test_cpus.py",
        """
import pytest
from helpers_record import record
@pytest.mark.fleet(requires={"cpus": 2})
def test_wide(): record("wide", 0.5)
@pytest.mark.parametrize("n", range(6))
def test_narrow(n): record(f"narrow{n}", 0.15)
""",
    )
    run = fleet.run("-w", "2", "--db", "none")
    assert run.code == 0, run.out
    all_spans = spans(fleet.root)
    wide = next(s for s in all_spans if s["name"] == "wide")
    assert not [o for o in all_spans if o is not wide and overlaps(wide, o)]


def test_retry_then_pass_is_marked_flaky(fleet: Any) -> None:
    fleet.write(
        "test_flaky.py",
        """
import os
HERE = os.path.dirname(__file__)
def test_flaky():
    marker = os.path.join(HERE, "attempted")
    if not os.path.exists(marker):
        open(marker, "w").write(os.environ["TESTFLEET_WORKER"])
        assert False, "first attempt fails"
def test_crash_once():
    marker = os.path.join(HERE, "crashed")
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(9)
""",
    )
    run = fleet.run("-w", "2", "--db", "none", "--retries", "2")
    assert run.code == 0, run.out
    t = run.outcome("test_flaky")
    assert t["outcome"] == "passed" and t["flaky"] is True and t["attempts"] == 2
    first_worker = (fleet.root / "attempted").read_text()
    assert t["worker"] != first_worker  # retried on the other worker
    c = run.outcome("test_crash_once")
    assert c["outcome"] == "passed" and c["flaky"] is True
    assert (
        "FLAKY test_flaky.py::test_flaky - attempt 1 failed: AssertionError: first attempt fails" in run.out
    )


def test_retries_exhausted_keep_the_failure(fleet: Any) -> None:
    fleet.write("test_bad.py", "def test_bad(): assert False\n")
    run = fleet.run("-w", "2", "--db", "none", "--retries", "2")
    assert run.code == 1
    t = run.outcome("test_bad")
    assert t["outcome"] == "failed" and t["attempts"] == 3 and t["flaky"] is False


def test_order_collection_and_random_are_deterministic(fleet: Any) -> None:
    fleet.write(
        "test_many.py", "import pytest\n@pytest.mark.parametrize('n', range(12))\ndef test_n(n): pass\n"
    )
    a = fleet.run("-w", "1", "--db", "none", "--order", "random:7", "-v")
    b = fleet.run("-w", "1", "--db", "none", "--order", "random:7", "-v")
    c = fleet.run("-w", "1", "--db", "none", "--order", "collection", "-v")
    order = lambda run: [ln.split()[0] for ln in run.out.splitlines() if " PASSED" in ln]  # noqa: E731
    assert order(a) == order(b)
    assert order(c) == [f"test_many.py::test_n[{i}]" for i in range(12)]
    assert order(a) != order(c)


def test_deadline_lists_tests_that_did_not_fit(fleet: Any) -> None:
    fleet.write(
        "test_slow.py",
        "import time, pytest\n@pytest.mark.parametrize('n', range(6))\ndef test_slow(n): time.sleep(1.0)\n",
    )
    db = str(fleet.root / "r.duckdb")
    first = fleet.run("-w", "1", "--db", db)
    assert first.code == 0
    run = fleet.run("-w", "1", "--db", db, "--deadline", "3s")
    counts = run.report["counts"]
    assert counts["not_run"] >= 2 and counts["passed"] >= 1
    assert sum(counts.values()) == 6
    assert "did not fit in the --deadline" in run.out
    assert run.code == 2  # the run did not finish: interrupted, as the docs say (issue 13)


def test_circuit_breaker_stops_workers_that_keep_dying(fleet: Any) -> None:
    fleet.write(
        "conftest.py",
        """
import os
def pytest_testfleet_worker_started(config, worker_id):
    os._exit(17)
""",
    )
    fleet.write("test_x.py", "def test_x(): pass\n")
    run = fleet.run("-w", "2", "--db", "none", timeout=60)
    assert run.code == 3
    assert "workers in a row died before running any test" in run.out
    assert "exited with code 17" in run.out
    assert run.report["counts"] == {"not_run": 1}


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("@pytest.mark.fleet(color='red')", "unknown key 'color' in @pytest.mark.fleet"),
        ("@pytest.mark.fleet(requires={'gpu': -1})", "fleet requirement 'gpu'=-1 is negative"),
        ("@pytest.mark.fleet(requires={'gpu': 'many'})", "fleet requirement 'gpu'='many' is not a number"),
        ("@pytest.mark.fleet(after=['test_nope'])", "depends on 'test_nope', which is not a collected test"),
    ],
)
def test_bad_marker_is_a_usage_error_and_nothing_runs(fleet: Any, marker: str, message: str) -> None:
    fleet.write(
        "test_m.py",
        f"import pytest, os\n{marker}\ndef test_m():\n"
        f"    open(os.path.join(os.path.dirname(__file__), 'ran'), 'w').close()\n",
    )
    run = fleet.run("-w", "1", "--db", "none")
    assert run.code == 4
    assert message in run.err
    assert not (fleet.root / "ran").exists()


def test_dependency_cycle_prints_the_cycle(fleet: Any) -> None:
    fleet.write(
        "test_cycle.py",
        """
import pytest
@pytest.mark.fleet(after=["test_b"])
def test_a(): pass
@pytest.mark.fleet(after=["test_a"])
def test_b(): pass
""",
    )
    run = fleet.run("-w", "1", "--db", "none")
    assert run.code == 4
    assert (
        "dependency cycle: test_cycle.py::test_a -> test_cycle.py::test_b -> test_cycle.py::test_a" in run.err
    )


def test_bad_deadline_is_a_usage_error(fleet: Any) -> None:
    fleet.write("test_ok.py", "def test_ok(): pass\n")
    run = fleet.run("-w", "1", "--db", "none", "--deadline", "soonish")
    assert run.code == 4
    assert "--deadline: 'soonish' is not a duration" in run.err


def test_strict_markers_accepts_the_fleet_marker(fleet: Any) -> None:
    fleet.write("test_ok.py", "import pytest\n@pytest.mark.fleet(group='g')\ndef test_ok(): pass\n")
    run = fleet.run("-w", "1", "--db", "none", "--strict-markers")
    assert run.code == 0, run.out + run.err


def test_pytest_dependency_marker_passes_a_test_whose_dependency_ran_on_another_worker(fleet: Any) -> None:
    """Issue 13 point 8: pytest-dependency's own check skipped a dependent test whose
    dependency passed on another worker (plain pytest passes it)."""
    pytest.importorskip("pytest_dependency")
    fleet.write(
        "test_dep.py",
        """
import time, pytest

@pytest.mark.dependency(name="base")
def test_base():
    time.sleep(0.3)

@pytest.mark.dependency(depends=["base"])
@pytest.mark.parametrize("n", range(8))
def test_uses_base(n):
    time.sleep(0.1)
""",
    )
    run = fleet.run("-w", "2", "--db", "none")
    assert run.report is not None, run.out[-2000:]
    outcomes = {t["nodeid"]: (t["outcome"], t["worker"]) for t in run.report["tests"]}
    assert {o for o, _ in outcomes.values()} == {"passed"}, outcomes
    assert len({w for _, w in outcomes.values()}) == 2  # dependants ran on both workers
    assert run.code == 0
