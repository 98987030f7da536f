"""First runs without history, and runs with weak history, are balanced (issue 13, points 5
and 7): a test never waits behind a running test on its worker while another is idle."""

from __future__ import annotations

from collections import Counter
from typing import Any

TWO_LONG = """
import time
def test_long_a(): time.sleep(2)
def test_long_b(): time.sleep(2)
def test_empty(): pass
"""


def test_two_long_tests_run_side_by_side_first_run_and_later(fleet: Any) -> None:
    fleet.write("test_two.py", TWO_LONG)
    db = str(fleet.root / "r.duckdb")
    for _ in range(2):  # no history, then history
        run = fleet.run("-w", "2", "--db", db)
        assert run.code == 0, run.out[-2000:]
        a, b = run.outcome("test_long_a"), run.outcome("test_long_b")
        assert a["worker"] != b["worker"], (a, b)
        assert run.report is not None and run.report["makespan_seconds"] < 3.9, run.report["makespan_seconds"]


def test_unknown_tests_do_not_borrow_a_fast_modules_history(fleet: Any) -> None:
    """Issue 13 point 7: after one run of a single fast test, new tests of its module took
    its ~0 s median and up to 64 of them went to one worker."""
    fleet.write("test_m.py", "def test_fast(): pass\n")
    db = str(fleet.root / "r.duckdb")
    assert fleet.run("-w", "2", "--db", db).code == 0
    fleet.write(
        "test_m.py",
        "import time, pytest\ndef test_fast(): pass\n"
        "@pytest.mark.parametrize('n', range(12))\ndef test_slow(n): time.sleep(0.3)\n",
    )
    run = fleet.run("-w", "2", "--db", db)
    assert run.code == 0, run.out[-2000:]
    assert run.report is not None
    per_worker = Counter(t["worker"] for t in run.report["tests"] if "test_slow" in t["nodeid"])
    assert len(per_worker) == 2 and min(per_worker.values()) >= 4, per_worker


def test_idle_workers_take_back_tests_queued_on_another_worker(fleet: Any) -> None:
    """Issue 13 point 5: trivial tests then slow ones in one module, no history: the slow
    ones were queued deep behind the trivial ones on one worker while the other idled."""
    body = ["import time\n"] + [f"def test_fast_{i}(): pass\n" for i in range(300)]
    body += [f"def test_slow_{i}(): time.sleep(0.3)\n" for i in range(12)]
    fleet.write("test_mix.py", "".join(body))
    run = fleet.run("-w", "2", "--db", "none")
    assert run.code == 0, run.out[-2000:]
    assert run.report is not None
    per_worker = Counter(t["worker"] for t in run.report["tests"] if "test_slow" in t["nodeid"])
    assert len(per_worker) == 2 and min(per_worker.values()) >= 3, per_worker
