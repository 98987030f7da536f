"""Local workers run numeric libraries with their share of the CPUs (``executor/local.py:
THREAD_VARS``), set before the collector imports anything; what the user set stays."""

from __future__ import annotations

import json
from typing import Any

import pytest

from testfleet.config import usable_cpus
from testfleet.executor.local import THREAD_VARS

SEEN = """\
import json, os

def test_threads():
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    with open(os.environ["SEEN"], "w") as fh:
        json.dump({n: os.environ.get(n) for n in names}, fh)
"""


@pytest.mark.parametrize("start", ["fork", "exec"])
def test_workers_get_their_share_of_the_cpus_and_the_users_setting_wins(
    fleet: Any, start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in THREAD_VARS:  # this suite's own runner may have set them (testfleet does)
        monkeypatch.delenv(var, raising=False)
    fleet.write("test_threads.py", SEEN)
    seen = fleet.root / "seen.json"
    env = {"SEEN": str(seen), "TESTFLEET_COLLECTOR_START": start}
    run = fleet.run("-w", "1", "--db", "none", env=env)
    assert run.code == 0, run.out + run.err
    share = str(max(1, usable_cpus()))
    assert json.loads(seen.read_text()) == dict.fromkeys(
        ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), share
    )
    run = fleet.run("-w", "1", "--db", "none", env={**env, "OMP_NUM_THREADS": "7"})
    assert run.code == 0, run.out + run.err
    assert json.loads(seen.read_text()) == {
        "OMP_NUM_THREADS": "7",
        "OPENBLAS_NUM_THREADS": share,
        "MKL_NUM_THREADS": share,
    }
