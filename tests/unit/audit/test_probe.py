"""The ``--run`` probe's per-test check counts, on a pytest run whose order is fixed.

A check is a passing assert of the suite (test module, conftest, helper) or a call of
``unittest``/mock/``pytest.raises`` made by it. An assert that testfleet's worker executes while a
test tears down is not that test's check: pytest rewrites testfleet's modules (an installed plugin),
so that assert reaches ``pytest_assertion_pass`` inside the test's protocol. The conftest below runs
each test as testfleet's worker runs the tail of a "late" batch: ``nextitem`` is a ``LateNext`` that
asks for the next test when the running test tears down (the order-dependent miscount of
``test_clamp_smoke`` in ``tests/acceptance/test_audit_cli.py``).
"""

from __future__ import annotations

import json

import pytest

CONFTEST = """
import pytest
from _pytest.runner import runtestprotocol

from testfleet.worker.loop import LateNext, WorkQueue


class _Channel:
    def __init__(self, reply):
        self.reply = reply

    def poll(self):
        return []

    def send(self, msg):
        pass

    def recv(self):
        return self.reply


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    items = item.session.items
    head = items.index(item)
    reply = {"t": "run", "items": [head + 1]} if nextitem is not None else {"t": "stop"}
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    runtestprotocol(item, nextitem=LateNext(WorkQueue(_Channel(reply)), items, head))
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


@pytest.fixture
def checked_teardown():
    yield 3
    assert 3 == 1 + 2  # the suite's own check, in a fixture's teardown: it counts
"""
TESTS = """
import unittest.mock


def test_checks():
    assert 1 + 1 == 2


def test_smoke():
    len([1])


def test_mock_only():
    m = unittest.mock.Mock()
    m(1)
    m.assert_called_once_with(1)


def test_fixture_checks(checked_teardown):
    len([checked_teardown])
"""


def test_checks_counted_per_test_exclude_the_workers_own_asserts(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = pytester.path / "audit"
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_order=TESTS)
    monkeypatch.setenv("TESTFLEET_AUDIT_DIR", str(out))
    monkeypatch.setenv("TESTFLEET_AUDIT_SOURCE", str(pytester.path / "nothing-measured"))
    monkeypatch.delenv("TESTFLEET_AUDIT_COVRC", raising=False)
    monkeypatch.delenv("COVERAGE_PROCESS_START", raising=False)
    # a fresh rewrite of testfleet's modules, with the pass hook (as measure.probe_env does)
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(pytester.path / "pycache"))
    result = pytester.runpytest_subprocess(
        "-p",
        "testfleet.audit.probe",
        "-o",
        "enable_assertion_pass_hook=true",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=4)
    records = [
        json.loads(line)
        for f in sorted(out.glob("tests-*.jsonl"))
        for line in f.read_text(encoding="utf-8").splitlines()
    ]
    assert [(r["nodeid"], r["outcome"], r["checks"]) for r in records] == [
        ("test_order.py::test_checks", "passed", 1),
        ("test_order.py::test_smoke", "passed", 0),
        ("test_order.py::test_mock_only", "passed", 1),
        ("test_order.py::test_fixture_checks", "passed", 1),
    ]
