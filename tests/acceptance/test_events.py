"""The controller publishes the run on the event bus: a conftest subscriber sees every test
start and finish once, the workers come up, and the run starts and finishes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CONFTEST = """
import json, pytest
from testfleet import events
from testfleet.plugin import event_bus

LOG = []

def pytest_configure(config):
    if config.option.fleet is None:
        return
    bus = event_bus(config)
    bus.subscribe(lambda e: LOG.append(events.to_json(e)))
    def broken(e):
        raise ValueError("a subscriber that raises")
    bus.subscribe(broken, events.TestFinished)

def pytest_unconfigure(config):
    if LOG:
        with open(config.rootpath / "events.json", "w") as f:
            json.dump(LOG, f)
"""

SUITE = """
import pytest
@pytest.mark.parametrize("n", range(6))
def test_n(n): assert n != 4
"""


def test_a_run_is_published_on_the_bus(fleet: Any) -> None:
    fleet.write("conftest.py", CONFTEST)
    fleet.write("test_bus.py", SUITE)
    run = fleet.run("-w", "2", "--db", "none")
    assert run.code == 1, run.out + run.err
    log = json.loads(Path(fleet.root, "events.json").read_text())
    kinds = [e["type"] for e in log]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
    assert kinds.count("Collected") == 1 and kinds.count("WorkerUp") == 2
    started = sorted(e["nodeid"] for e in log if e["type"] == "TestStarted")
    finished = {e["nodeid"]: e["outcome"] for e in log if e["type"] == "TestFinished"}
    nodeids = [f"test_bus.py::test_n[{n}]" for n in range(6)]
    assert started == sorted(nodeids)
    assert len([e for e in log if e["type"] == "TestFinished"]) == 6
    assert finished == {n: ("failed" if n.endswith("[4]") else "passed") for n in nodeids}
    collected = next(e for e in log if e["type"] == "Collected")
    assert collected["total"] == 6 and sorted(collected["nodeids"]) == sorted(nodeids)
    end = log[-1]
    assert end["exit_code"] == 1 and end["counts"] == {"passed": 5, "failed": 1}
