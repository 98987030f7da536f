"""Warnings and the collected line: what pytest prints, testfleet prints (issue 18, 5-6)."""

from __future__ import annotations

import pytest
from _suite import Suite

WARNS = """
import warnings

def test_one():
    warnings.warn(UserWarning("one is deprecated"))

def test_two():
    warnings.warn(DeprecationWarning("two is old"))
"""


def test_worker_warnings_reach_the_warnings_summary_with_counts(suite: Suite) -> None:
    suite.write("test_w.py", WARNS)
    plain = suite.plain("-q")
    fleet = suite.fleet("-q")
    assert plain.summary == "2 passed, 2 warnings"
    assert fleet.summary == plain.summary, fleet.out
    for result in (plain, fleet):
        assert "warnings summary" in result.out
        result.expect_line(r"^test_w.py::test_one$")
        result.expect_line(r"test_w.py:5: UserWarning: one is deprecated")
        result.expect_line(r"test_w.py:8: DeprecationWarning: two is old")


def test_controller_warnings_go_to_the_summary_not_into_the_progress_line(suite: Suite) -> None:
    # A conftest plugin that warns in the controller (only it calls this hook) while the run
    # loop draws the progress line.
    suite.write(
        "conftest.py",
        """
import warnings

def pytest_testfleet_result(config, result):
    warnings.warn(RuntimeWarning("controller side"))
""",
    )
    suite.write("test_a.py", "def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    fleet = suite.fleet()
    assert fleet.code == 0, fleet.out
    assert fleet.summary == "2 passed, 1 warning", fleet.out  # once per location, as Python's default
    before, summary = fleet.out.split("warnings summary", 1)
    assert "RuntimeWarning: controller side" in summary
    assert "Warning" not in before, fleet.out  # nothing printed into the progress line
    assert any(ln.startswith("..") and ln.rstrip().endswith("[100%]") for ln in before.splitlines()), (
        fleet.out
    )


def test_collected_line_under_k_matches_plain_pytest(suite: Suite) -> None:
    suite.write("test_k.py", "".join(f"def test_{n}():\n    pass\n\n" for n in ("a", "b", "c", "skip_me")))
    plain = suite.plain("-k", "not skip_me")
    fleet = suite.fleet("-k", "not skip_me")
    line = r"^collected 4 items / 1 deselected / 3 selected"
    plain.expect_line(line)
    fleet.expect_line(line)
    assert plain.summary == fleet.summary == "3 passed, 1 deselected"


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_collection_warnings_reach_the_summary_once(suite: Suite, start: str) -> None:
    # Two workers: each has the collection's warnings too (forked after it, or collecting
    # again when spawned); the summary shows them once, as plain pytest.
    suite.write(
        "test_c.py",
        """
import warnings

warnings.warn(UserWarning("at import"))


class TestNotCollected:
    def __init__(self):
        pass


def test_x():
    warnings.warn(UserWarning("in the test"))


def test_y():
    pass


def test_z():
    pass
""",
    )
    plain, fleet = suite.plain(), suite.fleet("--start", start)
    assert plain.summary == "3 passed, 3 warnings", plain.out
    assert fleet.summary == plain.summary, fleet.out
    for result in (plain, fleet):
        result.expect_line(r"test_c.py:4: UserWarning: at import")
        result.expect_line(r"PytestCollectionWarning: cannot collect test class 'TestNotCollected'")
        result.expect_line(r"test_c.py:13: UserWarning: in the test")
