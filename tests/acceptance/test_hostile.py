"""One acceptance test per hostile behaviour: the run over examples/hostile finishes, every
test gets exactly one honest outcome, and the controller survives."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from _fleet import EXAMPLES, Run, run_testfleet


@pytest.fixture(scope="module")
def hostile() -> Run:
    return run_testfleet(
        ["-w", "2", "--timeout", "3", "--db", "none", "-q"], EXAMPLES / "hostile", timeout=180
    )


def test_run_finishes_with_counts_that_add_up(hostile: Run) -> None:
    assert hostile.code == 1, hostile.out[-3000:] + hostile.err
    assert hostile.report is not None
    counts = hostile.report["counts"]
    assert sum(counts.values()) == hostile.report["collected"] == 13
    assert counts == {"passed": 4, "failed": 3, "crashed": 4, "timeout": 2}
    assert "testfleet: 13 collected: 4 passed, 3 failed, 4 crashed, 2 timeout" in hostile.out


@pytest.mark.parametrize(
    ("test", "signal_text"),
    [
        ("test_segfault", "killed by signal 11 (SIGSEGV)"),
        ("test_os_exit", "exited with code 3"),
        ("test_sigkill_self", "killed by signal 9 (SIGKILL)"),
        ("test_killpg_sigterm", "killed by signal 15 (SIGTERM)"),
    ],
)
def test_worker_death_is_a_crash_naming_the_signal(hostile: Run, test: str, signal_text: str) -> None:
    t = hostile.outcome(f"test_crash.py::{test}")
    assert t["outcome"] == "crashed"
    assert signal_text in t["message"]
    assert t["attempts"] == 1


def test_segfault_report_shows_the_fatal_python_error(hostile: Run) -> None:
    section = hostile.out.split("test_crash.py::test_segfault [CRASHED]", 1)[1]
    assert "Fatal Python error: Segmentation fault" in section.split("[CRASHED]", 1)[0]


def test_signal_to_own_process_group_does_not_reach_the_controller(hostile: Run) -> None:
    # The controller printed its summary and every other test ran.
    assert hostile.outcome("test_normal.py::test_passes")["outcome"] == "passed"
    assert "testfleet: 13 collected" in hostile.out


@pytest.mark.parametrize("test", ["test_blocks_signals_and_sleeps", "test_busy_loop_forever"])
def test_hanging_test_is_stopped_by_the_controller_with_stacks(hostile: Run, test: str) -> None:
    t = hostile.outcome(f"test_hang.py::{test}")
    assert t["outcome"] == "timeout"
    assert "longer than 3s" in t["message"]
    section = hostile.out.split(f"test_hang.py::{test} [TIMEOUT]", 1)[1].split("[TIMEOUT]", 1)[0]
    assert "Python stacks of every thread" in section
    # The stack of the test thread names the test function; testfleet's own helper thread is
    # folded away (-vv shows it: tests/acceptance/test_summaries.py).
    assert f"in {test}" in section
    assert section.count("Thread 0x") + section.count("Current thread 0x") == 1
    assert "(1 thread of testfleet's worker not shown; -vv shows them)" in section


def test_closing_fd1_fails_only_that_test(hostile: Run) -> None:
    t = hostile.outcome("test_output.py::test_close_stdout_then_print")
    assert t["outcome"] == "failed"
    assert "Bad file descriptor" in t["message"]


def test_printing_20mb_passes(hostile: Run) -> None:
    assert hostile.outcome("test_output.py::test_prints_20mb")["outcome"] == "passed"


def test_non_utf8_output_passes(hostile: Run) -> None:
    assert hostile.outcome("test_output.py::test_writes_non_utf8_to_stdout")["outcome"] == "passed"


def test_unpicklable_exception_is_an_ordinary_failure(hostile: Run) -> None:
    t = hostile.outcome("test_misc.py::test_raises_unpicklable_exception")
    assert t["outcome"] == "failed"
    assert "holding a lock and a lambda" in t["message"]


def test_leftover_child_process_is_killed_at_the_end(hostile: Run) -> None:
    assert hostile.outcome("test_misc.py::test_leaves_child_process")["outcome"] == "passed"
    procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    assert not [p for p in procs if p.strip() == "sleep 300"]


def test_each_test_has_exactly_one_entry(hostile: Run) -> None:
    assert hostile.report is not None
    ids: list[Any] = [t["nodeid"] for t in hostile.report["tests"]]
    assert len(ids) == len(set(ids)) == 13
