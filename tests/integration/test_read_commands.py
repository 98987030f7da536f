"""``testfleet runs / show / workers`` against real result files, through cli.main.main."""

from __future__ import annotations

from pathlib import Path

import pytest
from storehelpers import LockHolder

from testfleet.cli import storeopts
from testfleet.cli.main import main
from testfleet.model import RunInfo, WorkerInfo
from testfleet.model import TestResult as Result
from testfleet.store import open_store

OLD, NEW = "0123456789ab", "fedcba987654"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "results.duckdb"
    store = open_store(path, rootdir=tmp_path)
    store.start_run(RunInfo(run_id=OLD, start=1_700_000_000.0, collected=1, git_commit="abcdef1234"))
    store.add_results([Result(OLD, "t.py::test_ok", "passed", call_duration=0.5)])
    store.finish_run(OLD, "finished", 1_700_000_010.0, 0, {"passed": 1})
    store.start_run(RunInfo(run_id=NEW, start=1_700_000_100.0, collected=4, host="box", pid=42, workers=2))
    store.add_workers(
        [
            WorkerInfo(NEW, "gw0", "box", 4242, {"cpu_count": 8, "memory": 2**33, "tags": ["gpu"]}),
            WorkerInfo(NEW, "gw1", "box", 4343, {}, node="ray-node-1"),
        ]
    )
    store.add_results(
        [
            Result(NEW, "t.py::test_ok", "passed", worker="gw0", call_duration=3.0),
            Result(
                NEW,
                "t.py::test_bad[x]",
                "failed",
                worker="gw1",
                call_duration=1.5,
                message="AssertionError: assert 1 == 2",
                failure_text="def test_bad():\n>   assert 1 == 2",
            ),
            Result(NEW, "t.py::test_flip", "failed", attempt=1, final=False, call_duration=9.0),
            Result(NEW, "t.py::test_flip", "passed", attempt=2, flaky=True, call_duration=0.25),
            Result(NEW, "t.py::test_dead", "crashed", message="worker gw1 died (signal 9)"),
        ]
    )
    store.finish_run(NEW, "finished", 1_700_000_120.0, 1, {"passed": 2, "failed": 1, "crashed": 1})
    store.close()
    return path


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_runs_lists_runs_newest_first(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--db", str(db)]) == 0
    out = lines(capsys.readouterr().out)
    assert out[0].split()[:5] == ["run", "started", "took", "status", "tests"]
    rows = [line for line in out if line[:12] in (OLD, NEW)]
    assert [row[:12] for row in rows] == [NEW, OLD]
    assert rows[0].split()[3:7] == ["20.0s", "finished", "4", "1"]
    assert "2 passed," in rows[0]
    # at 80 columns the commit is left out: these run ids do not tell the start, so "started"
    # (with its year) stays, and the outcomes keep 20 columns (tests/unit/cli/test_tables.py)
    assert rows[1].split()[3:8] == ["10.0s", "finished", "1", "0", "1"] and "commit" not in out[0]


def test_runs_limit(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--db", str(db), "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert NEW in out and OLD not in out
    assert main(["runs", "--db", str(db), "--limit", "0"]) == 4
    assert capsys.readouterr().err == "testfleet: error: --limit must be a positive number of runs, got 0\n"


def test_show_defaults_to_the_latest_run(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "--db", str(db)]) == 0
    out = lines(capsys.readouterr().out)
    assert out[0] == f"run {NEW}: finished, exit code 1"
    assert "outcomes: 2 passed, 1 failed, 1 crashed (4 collected)" in out
    assert "failures (2):" in out
    assert "  CRASHED t.py::test_dead - worker gw1 died (signal 9)" in out
    assert "  FAILED t.py::test_bad[x] - AssertionError: assert 1 == 2" in out
    assert ">   assert 1 == 2" not in "\n".join(out)  # failure text only with -v
    assert "  t.py::test_flip (passed on attempt 2)" in out
    slowest = out[out.index("slowest 4:") + 1 :]
    assert [line.split()[:2] for line in slowest] == [
        ["3.00s", "t.py::test_ok"],
        ["1.50s", "t.py::test_bad[x]"],
        ["0.25s", "t.py::test_flip"],
        ["0.00s", "t.py::test_dead"],
    ]


def test_show_verbose_prints_failure_text_and_accepts_a_prefix(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "0123", "-v", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"run {OLD}: finished, exit code 0\n")
    assert main(["show", NEW[:4], "-v", "--db", str(db)]) == 0
    assert "      >   assert 1 == 2" in lines(capsys.readouterr().out)


def test_workers_lists_host_node_pid_and_capabilities(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workers", "--db", str(db)]) == 0
    out = lines(capsys.readouterr().out)
    gw0 = next(line for line in out if line.startswith("gw0"))
    gw1 = next(line for line in out if line.startswith("gw1"))
    assert gw0.split()[:4] == ["gw0", "box", "-", "4242"]
    assert gw0.split()[4:7] == ["-", "gpu", "cpu_count=8"]  # gpus, tags, then the other capabilities
    assert "cpu_count=8 memory=8.0 GiB" in gw0
    assert gw1.split() == ["gw1", "box", "ray-node-1", "4343", "-", "-", "-"]
    assert main(["workers", OLD, "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"run {OLD} recorded no workers\n"


@pytest.mark.parametrize("command", ["show", "workers"])
def test_unknown_and_ambiguous_run_ids_are_usage_errors(
    db: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "zzz", "--db", str(db)]) == 4
    assert capsys.readouterr().err == (
        f"testfleet: error: no run 'zzz' in {db}; `testfleet runs` lists the runs\n"
    )


def test_ambiguous_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(tmp_path / "r.duckdb", rootdir=tmp_path)
    store.start_run(RunInfo(run_id="aa11", start=1.0))
    store.start_run(RunInfo(run_id="aa22", start=2.0))
    store.close()
    assert main(["show", "aa", "--db", str(tmp_path / "r.duckdb")]) == 4
    assert capsys.readouterr().err.startswith("testfleet: error: run id prefix 'aa' is ambiguous")


def test_missing_db_empty_db_and_db_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.duckdb"
    for command in ("runs", "show", "workers"):
        assert main([command, "--db", str(missing)]) == 4
        err = capsys.readouterr().err
        assert err.startswith(f"testfleet: error: no results store at {missing} ") and err.count("\n") == 1
    assert main(["show", "--db", "none"]) == 4
    assert "keeps no results" in capsys.readouterr().err
    open_store(tmp_path / "empty.duckdb", rootdir=tmp_path).close()
    assert main(["runs", "--db", str(tmp_path / "empty.duckdb")]) == 0
    assert capsys.readouterr().out == f"no runs recorded in {tmp_path / 'empty.duckdb'}\n"
    assert main(["show", "--db", str(tmp_path / "empty.duckdb")]) == 4
    assert capsys.readouterr().err == f"testfleet: error: no runs recorded in {tmp_path / 'empty.duckdb'}\n"


def test_corrupt_and_locked_files_are_store_errors(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"garbage" * 1000)
    assert main(["runs", "--db", str(corrupt)]) == 1
    err = capsys.readouterr().err
    assert (
        err
        == f"testfleet: error: {corrupt} is not a DuckDB database (corrupt, or another kind of file); move it away or pass another --db\n"
    )
    monkeypatch.setattr(storeopts, "READ_LOCK_TIMEOUT", 0.3)
    with LockHolder(db) as holder:
        assert main(["runs", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"testfleet: error: {db} is locked by another process (pid {holder.pid})")
    assert err.count("\n") == 1


def test_default_db_is_found_under_the_project_root(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "proj"
    (project / ".testfleet").mkdir(parents=True)
    (project / "tox.ini").write_text("[tox]\n")
    db.rename(project / ".testfleet" / "results.duckdb")
    (project / "src" / "deep").mkdir(parents=True)
    monkeypatch.chdir(project / "src" / "deep")
    assert storeopts.find_rootdir() == project
    assert main(["runs"]) == 0
    assert NEW in capsys.readouterr().out
