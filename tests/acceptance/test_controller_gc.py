"""The controller's loop runs without the automatic cyclic GC (``controller/verdicts.py``,
FREEZE_EVERY and GC_SECONDS): it collects at its own pace, and the GC is back on after the run."""

from __future__ import annotations

import json
from typing import Any

# Loaded into every process of the run; only the controller (no ``workerinput``) writes.
WATCH = """\
import gc, json, os

seen = []

def pytest_runtest_logreport(report):
    seen.append(gc.isenabled())

def pytest_unconfigure(config):
    if hasattr(config, "workerinput"):
        return
    with open(os.environ["GCWATCH"], "w") as fh:
        json.dump({"during": seen, "after": gc.isenabled()}, fh)
"""


def test_no_automatic_gc_while_the_loop_runs_and_back_on_after(fleet: Any) -> None:
    fleet.write("gcwatch.py", WATCH)
    fleet.write("test_many.py", "".join(f"def test_{i}():\n    assert {i} >= 0\n\n" for i in range(30)))
    out = fleet.root / "gc.json"
    run = fleet.run(
        "-w", "2", "--db", "none", "-p", "gcwatch", env={"PYTHONPATH": str(fleet.root), "GCWATCH": str(out)}
    )
    assert run.code == 0, run.out + run.err
    seen = json.loads(out.read_text())
    assert len(seen["during"]) == 90  # setup, call and teardown of each test, in the controller
    assert not any(seen["during"])
    assert seen["after"] is True
