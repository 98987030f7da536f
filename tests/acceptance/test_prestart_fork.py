"""``testfleet run`` forks its collector once pytest is imported (``executor/forked.py``),
or execs ``python -m testfleet.worker.collector`` (``TESTFLEET_COLLECTOR_START=exec``): the
collector sees the same process either way (its ``__main__``, a session of its own, stdin
from /dev/null, stdout and stderr to its log), and so do the tests its workers run."""

from __future__ import annotations

import json
from typing import Any

import pytest

# Imported in the controller, the collector and the workers; only the collector writes.
CONFTEST = """\
import json, os, sys

if os.environ.get("TESTFLEET_ROLE") == "collector":
    main = sys.modules["__main__"]
    with open(os.environ["SEEN"], "a") as fh:
        fh.write(json.dumps({
            "main": getattr(getattr(main, "__spec__", None), "name", None),
            "argv0": os.path.basename(sys.argv[0]),
            "session_leader": os.getsid(0) == os.getpid(),
            "stdin_is_null": os.path.samestat(os.fstat(0), os.stat(os.devnull)),
            # -s: no capture, so these are the collector's own stdout and stderr.
            "stdout": os.path.basename(os.readlink("/proc/self/fd/1")),
            "stderr": os.path.basename(os.readlink("/proc/self/fd/2")),
        }) + "\\n")
"""

SPAWN = """\
import multiprocessing


def square(x):
    return x * x


def test_a_spawned_pool_imports_the_main_module():
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        assert pool.map(square, [1, 2, 3]) == [1, 4, 9]
"""


@pytest.mark.parametrize("start", ["fork", "exec"])
def test_the_collector_is_the_same_process_forked_or_execed(fleet: Any, start: str) -> None:
    fleet.write("conftest.py", CONFTEST)
    fleet.write("test_spawn.py", SPAWN)
    seen = fleet.root / "seen.jsonl"
    env = {"SEEN": str(seen), "TESTFLEET_COLLECTOR_START": start}
    run = fleet.run("-w", "1", "--db", "none", "-s", env=env)
    assert run.code == 0, run.out + run.err
    lines = [json.loads(line) for line in seen.read_text().splitlines()]
    assert lines == [
        {
            "main": "testfleet.worker.collector",
            "argv0": "collector.py",
            "session_leader": True,
            "stdin_is_null": True,
            "stdout": "collector.log",
            "stderr": "collector.log",
        }
    ]
