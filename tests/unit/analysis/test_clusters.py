"""Failure clusters: which failures share a signature."""

from __future__ import annotations

import pytest

from testfleet.analysis.clusters import cluster_failures, signature
from testfleet.model import TestResult as Result


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("AssertionError: assert 3 == 4", "AssertionError: assert # == #"),
        (
            "Crashed: worker w1 (pid 812) killed by signal 11 (SIGSEGV) while running this test.",
            "Crashed: worker w# (pid #) killed by signal # (SIGSEGV) while running this test.",
        ),
        ("KeyError: 'user-42'", "KeyError: '…'"),
        ("OSError: cannot open /tmp/pytest-of-root/pytest-7/f.txt", "OSError: cannot open /tmp/…"),
        ("ValueError: object at 0x7f3a2c1b9e50 is closed", "ValueError: object at <addr> is closed"),
        ("RuntimeError: run 20261203fe01a7b2 lost", "RuntimeError: run <id> lost"),
    ],
)
def test_signature_drops_what_varies(message: str, expected: str) -> None:
    assert signature("failed", message) == expected


def test_a_failure_without_a_message_is_its_outcome() -> None:
    assert signature("timeout", None) == "timeout"


def test_clusters_group_final_failures_biggest_first() -> None:
    results = [
        Result("r", "t::a", "failed", message="AssertionError: assert 1 == 2"),
        Result("r", "t::b", "failed", message="AssertionError: assert 5 == 6"),
        Result("r", "t::c", "error", message="AssertionError: assert 7 == 8"),
        Result("r", "t::d", "crashed", message="Crashed: worker w0 (pid 1) killed by signal 9"),
        Result("r", "t::e", "crashed", message="Crashed: worker w1 (pid 2) killed by signal 9"),
        Result("r", "t::f", "failed", message="TypeError: nope"),  # alone: no cluster
        Result("r", "t::g", "passed"),
        Result("r", "t::h", "failed", message="AssertionError: assert 0 == 1", attempt=1, final=False),
    ]
    clusters = cluster_failures(results)
    assert [(c.signature, c.nodeids, c.outcomes) for c in clusters] == [
        ("AssertionError: assert # == #", ("t::a", "t::b", "t::c"), ("error", "failed")),
        ("Crashed: worker w# (pid #) killed by signal #", ("t::d", "t::e"), ("crashed",)),
    ]
    assert clusters[0].example == "AssertionError: assert 1 == 2"
    assert len(cluster_failures(results, min_size=1)) == 3
