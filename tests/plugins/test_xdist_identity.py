"""Workers carry pytest-xdist's identity, and plugins ship data to a worker and back
through testfleet's node hooks (the worker-side plugin API of docs/plugins.md)."""

from __future__ import annotations

import json

from _suite import Suite

CONFTEST = """
import json, os

def pytest_testfleet_worker_input(config, worker_id):  # controller: data for each worker
    return {"greeting": "hello " + worker_id}

def pytest_testfleet_worker_stopping(config, worker_id):  # worker: data back
    config.workeroutput["ran_in"] = config.workerinput["workerid"]

def pytest_testfleet_worker_output(config, worker_id, output):  # controller: what came back
    with open(os.path.join(os.environ["OUT_DIR"], worker_id + ".json"), "w") as fh:
        json.dump(output, fh)
"""

TEST = """
import json, os

def _record(request, n):
    info = request.config.workerinput
    with open(os.path.join(os.environ["OUT_DIR"], f"test{n}.json"), "w") as fh:
        json.dump({"env": os.environ["PYTEST_XDIST_WORKER"], "count": os.environ["PYTEST_XDIST_WORKER_COUNT"],
                   "uid": os.environ["PYTEST_XDIST_TESTRUNUID"], "run": os.environ["TESTFLEET_RUN_ID"],
                   "workerid": info["workerid"], "workercount": info["workercount"],
                   "testrunuid": info["testrunuid"], "greeting": info["greeting"],
                   "instance": os.environ["TESTFLEET_WORKER_INSTANCE"]}, fh)

"""


def test_workers_have_xdist_identity_and_node_hooks_carry_data(suite: Suite) -> None:
    out = suite.root / "out"
    out.mkdir(parents=True)
    suite.write("conftest.py", CONFTEST)
    suite.write(
        "test_id.py",
        TEST + "".join(f"def test_{n}(request):\n    _record(request, {n})\n\n" for n in range(6)),
    )
    fleet = suite.fleet(env={"OUT_DIR": str(out)})
    assert fleet.code == 0 and fleet.summary == "6 passed", fleet.out
    seen = [json.loads((out / f"test{n}.json").read_text()) for n in range(6)]
    workers = set()
    for rec in seen:
        assert rec["env"] == rec["workerid"] in ("gw0", "gw1")
        assert (rec["count"], rec["workercount"]) == ("2", 2)
        assert rec["uid"] == rec["testrunuid"] == rec["run"] != ""
        assert rec["greeting"] == "hello " + rec["instance"]  # pytest_testfleet_worker_input, per worker
        workers.add((rec["instance"], rec["workerid"]))
    assert len({rec["run"] for rec in seen}) == 1
    for instance, workerid in workers:  # pytest_testfleet_worker_output: each worker's workeroutput
        assert json.loads((out / f"{instance}.json").read_text()) == {"ran_in": workerid}
