"""``testfleet flaky``, ``show``'s clusters and ``report`` against real results files written
through the store."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from testfleet.analysis.clusters import cluster_id
from testfleet.cli.main import main
from testfleet.model import RunInfo, WorkerInfo
from testfleet.model import TestResult as Result
from testfleet.store import open_store

# (run id, commit, {nodeid: outcome}), oldest first
HISTORY = [
    (
        "aaaa00000001",
        "c1",
        {"t.py::test_wobbly": "passed", "t.py::test_fixed": "failed", "t.py::test_ok": "passed"},
    ),
    (
        "aaaa00000002",
        "c1",
        {"t.py::test_wobbly": "timeout", "t.py::test_fixed": "failed", "t.py::test_ok": "passed"},
    ),
    (
        "aaaa00000003",
        "c2",
        {"t.py::test_wobbly": "passed", "t.py::test_fixed": "passed", "t.py::test_ok": "passed"},
    ),
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "results.duckdb"
    store = open_store(path, rootdir=tmp_path)
    for i, (run_id, commit, outcomes) in enumerate(HISTORY):
        store.start_run(RunInfo(run_id=run_id, start=1_700_000_000.0 + 100 * i, git_commit=commit))
        store.add_results(
            [
                Result(run_id, nodeid, outcome, message=f"{outcome} in run {i + 1}")
                for nodeid, outcome in outcomes.items()
            ]
        )
        if i == 2:  # and one retried flake in the last run
            store.add_results(
                [
                    Result(run_id, "t.py::test_retry", "failed", attempt=1, final=False),
                    Result(run_id, "t.py::test_retry", "passed", attempt=2, flaky=True),
                ]
            )
        store.finish_run(run_id, "finished", 1_700_000_050.0 + 100 * i, 0, {})
    store.close()
    return path


def test_flaky_lists_retried_flakes_and_same_commit_flips(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flaky", "--db", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "2 flaky tests, 0 broken tests in the last 3 runs",
        "  flaky    75.0% [14.7%, 100.0%]  t.py::test_retry",  # Beta(1.5, 0.5)
        "          failed 1 of 1 run, 1 retried, pass+fail on 1 commit, 0 flips",
        "  flaky    37.5% [3.9%, 82.3%]  t.py::test_wobbly",  # Beta(1.5, 2.5)
        "          failed 1 of 3 runs, pass+fail on 1 commit, 2 flips",
    ]


def test_flaky_json_and_window(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flaky", "--db", str(db), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["runs"] == ["aaaa00000001", "aaaa00000002", "aaaa00000003"]
    assert [(f["nodeid"], f["status"]) for f in data["tests"]] == [
        ("t.py::test_retry", "flaky"),
        ("t.py::test_wobbly", "flaky"),
    ]
    wobbly = data["tests"][1]
    assert wobbly["probability"] == 0.375 and wobbly["evidence"]["same_commit"] == 1
    # The last two runs only: test_wobbly flipped once, across commits: a fix, not a flake.
    assert main(["flaky", "--db", str(db), "--runs", "2", "--format", "json", "--all"]) == 0
    tests = json.loads(capsys.readouterr().out)["tests"]
    assert [(f["nodeid"], f["status"]) for f in tests] == [
        ("t.py::test_retry", "flaky"),
        ("t.py::test_fixed", "healthy"),
        ("t.py::test_wobbly", "healthy"),
        ("t.py::test_ok", "healthy"),
    ]


def test_flaky_bad_window_is_a_usage_error(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flaky", "--db", str(db), "--runs", "1"]) == 4
    assert capsys.readouterr().err == "testfleet: error: --runs 1: give a number of runs of at least 2\n"


def test_show_groups_failures_that_look_like_one_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "results.duckdb"
    store = open_store(path, rootdir=tmp_path)
    store.start_run(RunInfo(run_id="bbbb00000001", start=1_700_000_000.0, collected=5))
    store.add_results(
        [
            Result(
                "bbbb00000001",
                f"t.py::test_conn[{i}]",
                "failed",
                message=f"ConnectionRefusedError: [Errno 111] connect to 127.0.0.1:{40000 + i} refused",
            )
            for i in range(4)
        ]
        + [Result("bbbb00000001", "t.py::test_other", "failed", message="KeyError: 'x'")]
    )
    store.finish_run("bbbb00000001", "finished", 1_700_000_010.0, 1, {"failed": 5})
    store.close()
    assert main(["show", "--db", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    start = out.index("failure clusters (1, 1 new): failures that look like one problem")
    sig = "ConnectionRefusedError: [Errno #] connect to #.#.#.#:# refused"
    assert out[start + 1 : start + 6] == [
        f"  4x {sig} (failed) [new {cluster_id(sig)}]",
        "      t.py::test_conn[0]",
        "      t.py::test_conn[1]",
        "      t.py::test_conn[2]",
        "      ... 1 more",
    ]


class _Page(HTMLParser):
    """Tags seen and the text of the page, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_writes_one_page_with_everything_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "results.duckdb"
    store = open_store(path, rootdir=tmp_path)
    run_id = "cccc00000001"
    store.start_run(
        RunInfo(run_id=run_id, start=1_700_000_000.0, collected=4, workers=2, git_commit="abc123")
    )
    store.add_workers([WorkerInfo(run_id, "w0", "box", 11, {"cpu_count": 2, "tags": ["gpu_sim"]})])
    store.add_results(
        [
            Result(run_id, "t.py::test_ok", "passed", worker="w0", call_duration=1.25),
            Result(
                run_id,
                "t.py::test_xss[<script>alert(1)</script>]",
                "failed",
                worker="w0",
                message="AssertionError: <b>bold</b> & co",
                failure_text="E   assert '<i>' == '</i>'",
                stdout="printed <script>evil()</script>",
            ),
            Result(
                run_id, "t.py::test_dead", "crashed", message="Crashed: worker w0 (pid 11) killed by signal 9"
            ),
            Result(run_id, "t.py::test_flip", "failed", attempt=1, final=False),
            Result(run_id, "t.py::test_flip", "passed", attempt=2, flaky=True),
        ]
    )
    store.finish_run(run_id, "finished", 1_700_000_042.0, 1, {"passed": 2, "failed": 1, "crashed": 1})
    store.close()
    target = tmp_path / "out" / "report.html"
    target.parent.mkdir()
    assert main(["report", "--db", str(path), "-o", str(target)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {target} (run {run_id}, 4 tests)"
    page = _Page()
    page.feed(target.read_text(encoding="utf-8"))
    text = "".join(page.text)
    assert "script" not in page.tags  # the test's <script> is text, not markup
    assert "t.py::test_xss[<script>alert(1)</script>]" in text
    assert "AssertionError: <b>bold</b> & co" in text and "E   assert '<i>' == '</i>'" in text
    assert "printed <script>evil()</script>" in text
    assert (
        "Failures (2)" in text and "Flaky (1)" in text and "Workers (1)" in text and "All tests (4)" in text
    )
    assert "cpu_count=2, tags=['gpu_sim']" in text
    assert "finished, exit code 1" in text and "42.0s" in text


def test_report_to_an_unwritable_place_is_one_line_and_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    # exit 4 like audit's -o: the path the user gave is the mistake (issue 14: one code per failure)
    assert main(["report", "--db", str(db), "-o", str(tmp_path / "no" / "such" / "dir" / "r.html")]) == 4
    err = capsys.readouterr().err
    assert err.startswith("testfleet: error: -o: cannot write ") and err.count("\n") == 1


def test_clusters_keep_their_id_across_runs_and_only_new_ones_are_marked_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "results.duckdb"
    store = open_store(path, rootdir=tmp_path)
    for i in range(2):
        rid = f"dddd0000000{i}"
        store.start_run(RunInfo(run_id=rid, start=1_700_000_000.0 + i, collected=4))
        failures = [
            Result(
                rid,
                f"t.py::test_conn[{j}]",
                "failed",
                message=f"ConnectionRefusedError: connect to 127.0.0.1:{4000 + j + i} refused",
            )
            for j in range(2)
        ]
        if i == 1:  # a second problem appears in the second run
            failures += [
                Result(rid, f"t.py::test_key[{j}]", "error", message=f"KeyError: 'k{j}'") for j in range(2)
            ]
        store.add_results(failures)
        store.add_workers([WorkerInfo(rid, "w0", "box", 11, {"cpu_count": 2})])
        store.finish_run(rid, "finished", 1_700_000_010.0 + i, 1, {})
    store.close()
    assert main(["show", "--db", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    conn_sig, key_sig = "ConnectionRefusedError: connect to #.#.#.#:# refused", "KeyError: '…'"
    assert [(c["id"], c["signature"], c["new"]) for c in data["clusters"]] == [
        (cluster_id(conn_sig), conn_sig, False),
        (cluster_id(key_sig), key_sig, True),
    ]
    assert data["run"]["run_id"] == "dddd00000001" and data["run"]["partial"] is False
    assert main(["show", "dddd00000000", "--db", str(path), "--format", "json"]) == 0
    assert [(c["id"], c["new"]) for c in json.loads(capsys.readouterr().out)["clusters"]] == [
        (cluster_id(conn_sig), True)
    ]
    assert main(["show", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "failure clusters (2, 1 new)" in out
    assert f"  2x {conn_sig} (failed) [{cluster_id(conn_sig)}]" in out
    assert f"  2x {key_sig} (error) [new {cluster_id(key_sig)}]" in out
    assert main(["workers", "--db", str(path), "--format", "json"]) == 0
    workers = json.loads(capsys.readouterr().out)
    assert workers["run_id"] == "dddd00000001" and [w["worker_id"] for w in workers["workers"]] == ["w0"]
