"""``testfleet flaky`` against a real results file written through the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testfleet.cli.main import main
from testfleet.model import RunInfo
from testfleet.model import TestResult as Result
from testfleet.store import open_store

# (run id, commit, {nodeid: outcome}), oldest first
HISTORY = [
    ("aaaa00000001", "c1", {"t.py::test_wobbly": "passed", "t.py::test_fixed": "failed", "t.py::test_ok": "passed"}),
    ("aaaa00000002", "c1", {"t.py::test_wobbly": "timeout", "t.py::test_fixed": "failed", "t.py::test_ok": "passed"}),
    ("aaaa00000003", "c2", {"t.py::test_wobbly": "passed", "t.py::test_fixed": "passed", "t.py::test_ok": "passed"}),
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "results.duckdb"
    store = open_store(path, rootdir=tmp_path)
    for i, (run_id, commit, outcomes) in enumerate(HISTORY):
        store.start_run(RunInfo(run_id=run_id, start=1_700_000_000.0 + 100 * i, git_commit=commit))
        store.add_results([Result(run_id, nodeid, outcome, message=f"{outcome} in run {i + 1}")
                           for nodeid, outcome in outcomes.items()])
        if i == 2:  # and one retried flake in the last run
            store.add_results([Result(run_id, "t.py::test_retry", "failed", attempt=1, final=False),
                               Result(run_id, "t.py::test_retry", "passed", attempt=2, flaky=True)])
        store.finish_run(run_id, "finished", 1_700_000_050.0 + 100 * i, 0, {})
    store.close()
    return path


def test_flaky_lists_retried_flakes_and_same_commit_flips(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flaky", "--db", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2 flaky tests in the last 3 runs"
    assert out[1:] == [
        "  t.py::test_wobbly: 2 passed / 1 failed, 2 flips, 1 on the same commit; last passed",
        "      last failure: timeout in run 2",
        "  t.py::test_retry: 1 passed / 0 failed, 0 flips, passed on a retry in 1 run; last passed",
    ]


def test_flaky_json_and_window(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flaky", "--db", str(db), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["runs"] == ["aaaa00000003", "aaaa00000002", "aaaa00000001"]
    assert [f["nodeid"] for f in data["flaky"]] == ["t.py::test_wobbly", "t.py::test_retry"]
    # The last two runs only: test_wobbly flipped once, across commits: a fix, not a flake.
    assert main(["flaky", "--db", str(db), "--runs", "2", "--format", "json"]) == 0
    assert [f["nodeid"] for f in json.loads(capsys.readouterr().out)["flaky"]] == ["t.py::test_retry"]


def test_flaky_bad_window_is_a_usage_error(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flaky", "--db", str(db), "--runs", "1"]) == 4
    assert capsys.readouterr().err == "testfleet: error: --runs 1: flakiness needs at least 2 runs\n"


def test_show_groups_failures_that_look_like_one_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "results.duckdb"
    store = open_store(path, rootdir=tmp_path)
    store.start_run(RunInfo(run_id="bbbb00000001", start=1_700_000_000.0, collected=5))
    store.add_results([
        Result("bbbb00000001", f"t.py::test_conn[{i}]", "failed",
               message=f"ConnectionRefusedError: [Errno 111] connect to 127.0.0.1:{40000 + i} refused")
        for i in range(4)
    ] + [Result("bbbb00000001", "t.py::test_other", "failed", message="KeyError: 'x'")])
    store.finish_run("bbbb00000001", "finished", 1_700_000_010.0, 1, {"failed": 5})
    store.close()
    assert main(["show", "--db", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    start = out.index("failure clusters (1): failures that look like one problem")
    assert out[start + 1:start + 6] == [
        "  4x ConnectionRefusedError: [Errno #] connect to #.#.#.#:# refused (failed)",
        "      t.py::test_conn[0]",
        "      t.py::test_conn[1]",
        "      t.py::test_conn[2]",
        "      ... 1 more",
    ]
