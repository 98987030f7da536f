"""mutant_plugin: one collection becomes (mutant, covering test) items; the mutant is applied only
around its own items, by swapping the function's code (plain pytest here; the fleet runs the same)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

LIB = """
def double(x):
    return 2 * x


class Box:
    @staticmethod
    def size(items):
        return len(items)


def make_adder(n):
    def add(x):
        return x + n
    return add
"""
TESTS = """
import pytest
from lib import Box, double, make_adder


@pytest.mark.parametrize("x", [1, 2])
def test_double(x):
    assert double(x) == 2 * x


def test_size():
    assert Box.size([1, 2]) == 2


def test_adder():
    assert make_adder(1)(1) == 2


def test_double_untouched():
    assert double(3) == 6
"""


def _plan(tmp: Path, lib: Path) -> Path:
    src = LIB.replace("return 2 * x", "return 3 * x").replace("return len(items)", "return len(items) + 0")
    adder = LIB.replace("return x + n", "return x - n")
    plan = [
        {
            "id": 0,
            "file": str(lib),
            "function": "double",
            "source": src,
            "tests": ["test_lib.py::test_double[1]", "test_lib.py::test_double[2]"],
        },
        {
            "id": 1,
            "file": str(lib),
            "function": "Box.size",
            "source": src,
            "tests": ["test_lib.py::test_size"],
        },
        {
            "id": 2,
            "file": str(lib),
            "function": "make_adder.<locals>.add",
            "source": adder,
            "tests": ["test_lib.py::test_adder"],
        },
    ]
    path = tmp / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


def test_mutants_become_items_apply_only_around_them_and_stop_at_the_first_kill(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = pytester.makepyfile(lib=LIB)
    pytester.makepyfile(test_lib=TESTS)
    monkeypatch.setenv("TESTFLEET_AUDIT_MUTANTS", str(_plan(pytester.path, lib)))
    monkeypatch.setenv("TESTFLEET_AUDIT_MUTANT_DIR", str(pytester.path))
    result = pytester.runpytest_subprocess(
        "-p", "testfleet.audit.mutant_plugin", "-p", "no:cacheprovider", "-rA"
    )
    outcomes = {
        line.split(" ", 1)[1].split(" - ")[0]: line.split(" ", 1)[0]
        for line in result.outlines
        if line.startswith(("PASSED", "FAILED", "SKIPPED"))
    }
    assert outcomes == {
        "test_lib.py::test_double@m0[1]": "FAILED",  # 3 * 1 != 2
        # stops at the first kill: the mutant's next covering test does not run
        "[1] test_lib.py:5: mutant 0 already killed": "SKIPPED",
        "test_lib.py::test_size@m1": "PASSED",  # an equivalent mutant survives
        "[1] test_lib.py: mutant could not be applied": "SKIPPED",  # a closure: not swapped
    }
    assert (pytester.path / "unapplied-2").exists()
    assert not (pytester.path / "unapplied-0").exists()
    assert sorted(p.name for p in pytester.path.glob("killed-*")) == ["killed-0"]
