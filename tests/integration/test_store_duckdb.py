"""The DuckDB store on real files: round trip, batching, locking by another process, corrupt
and unwritable files, a SIGKILLed writer, migrations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from storehelpers import LockHolder, wait_for

from testfleet.errors import StoreError, UsageError
from testfleet.model import RunInfo, WorkerInfo
from testfleet.model import TestResult as Result
from testfleet.store import DuckDBStore, MemoryStore, Store, open_store
from testfleet.store.liveness import this_host
from testfleet.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate


def history(store: Store) -> None:
    """Two runs with every kind of value; the second continues the first."""
    store.start_run(
        RunInfo(
            run_id="aaaa00001111",
            start=1000.25,
            args=["-x", "tests/ünï"],
            rootdir="/src",
            git_commit="c0ffee",
            git_branch="main",
            host="h1",
            pid=123,
            collected=4,
            workers=2,
            backend="local",
        )
    )
    store.add_workers(
        [
            WorkerInfo(
                "aaaa00001111",
                "w0",
                "h1",
                11,
                {"cpu_count": 8, "memory": 2**34, "gpus": [0, 1], "tags": ["x"]},
            ),
            WorkerInfo("aaaa00001111", "w1", "h1", None, {}, node="node-9"),
        ]
    )
    store.add_results(
        [
            Result(
                "aaaa00001111",
                "t.py::test_a[1-é]",
                "passed",
                worker="w0",
                start=1000.5,
                setup_duration=0.001,
                call_duration=1 / 3,
                teardown_duration=0.002,
            ),
            Result(
                "aaaa00001111",
                "t.py::test_b",
                "failed",
                attempt=1,
                final=False,
                worker="w1",
                start=1001.0,
                call_duration=2.0,
                message="AssertionError: 1 != 2",
                failure_text="E   assert 1 == 2\n",
                stdout="out\n",
                stderr="err\x00\n",
            ),
            Result(
                "aaaa00001111",
                "t.py::test_b",
                "passed",
                attempt=2,
                flaky=True,
                worker="w0",
                start=1003.0,
                call_duration=1.0,
            ),
            Result("aaaa00001111", "t.py::test_c", "not_run"),
        ]
    )
    store.finish_run("aaaa00001111", "interrupted", 1010.0, 2, {"passed": 2, "not_run": 1})
    store.start_run(RunInfo(run_id="bbbb00002222", start=2000.0, parent_run="aaaa00001111"))
    store.add_results(
        [
            Result("bbbb00002222", "t.py::test_c", "failed", start=2000.5, call_duration=4.0, message="boom"),
            Result("bbbb00002222", "t.py::test_a[1-é]", "error", start=2001.0),
        ]
    )
    store.flush()


def snapshot(store: Store) -> dict[str, object]:
    return {
        "runs": store.runs(),
        "latest": store.latest_run_id(),
        "prefix": store.get_run("bbbb"),
        "results": [store.results("aaaa00001111"), store.results("bbbb00002222")],
        "workers": store.workers("aaaa00001111"),
        "durations": store.durations(),
        "durations_some": store.durations(["t.py::test_b"], last_runs=1),
        "last": store.last_outcomes(),
        "last_some": store.last_outcomes(["t.py::test_c"]),
        "completed": store.completed_nodeids("bbbb00002222"),
    }


def test_round_trip_matches_the_memory_store_exactly(tmp_path: Path) -> None:
    memory = MemoryStore()
    history(memory)
    store = open_store(tmp_path / "r.duckdb", rootdir=tmp_path)
    assert isinstance(store, DuckDBStore)
    history(store)
    store.close()
    reopened = open_store(tmp_path / "r.duckdb", rootdir=tmp_path, readonly=True)
    assert snapshot(reopened) == snapshot(memory)
    first = reopened.results("aaaa00001111")
    assert first[0].call_duration == 1 / 3  # doubles survive exactly
    assert first[1].stderr == "err\x00\n"
    reopened.close()


def test_default_path_is_under_rootdir_and_the_directory_is_created(tmp_path: Path) -> None:
    store = open_store(None, rootdir=tmp_path)
    store.start_run(RunInfo(run_id="r1", start=1.0))
    store.close()
    assert (tmp_path / ".testfleet" / "results.duckdb").is_file()


def test_add_results_buffers_and_the_writer_flushes_by_rows_and_by_time(tmp_path: Path) -> None:
    path = tmp_path / "b.duckdb"
    writer = open_store(path, rootdir=tmp_path, batch_rows=100, flush_interval=3600)
    writer.start_run(RunInfo(run_id="r1", start=1.0))  # urgent: written with whatever is queued
    writer.flush()

    def stored() -> int:
        reader = open_store(path, rootdir=tmp_path, readonly=True)
        try:
            return sum(1 for _ in reader.results("r1"))
        finally:
            reader.close()

    writer.add_results([Result("r1", f"t{i}", "passed") for i in range(99)])
    assert stored() == 0  # under the batch size and long before the interval: buffered
    writer.add_results([Result("r1", "t99", "passed")])
    wait_for(lambda: stored() == 100, what="a full batch written in the background")
    writer.close()

    timed = open_store(path, rootdir=tmp_path, batch_rows=10_000, flush_interval=0.2)
    timed.add_results([Result("r1", "late", "passed")])
    wait_for(lambda: stored() == 101, what="a partial batch written after the interval")
    timed.close()


def test_locked_file_gives_one_line_error_with_the_holders_pid(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    open_store(path, rootdir=tmp_path).close()
    with LockHolder(path) as holder:
        started = time.monotonic()
        with pytest.raises(StoreError) as info:
            open_store(path, rootdir=tmp_path, readonly=True, lock_timeout=0.5)
        assert time.monotonic() - started >= 0.5  # it retried before giving up
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path} is locked by another process (pid {holder.pid}); gave up after")


def test_open_waits_for_a_lock_that_is_released_in_time(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    open_store(path, rootdir=tmp_path).close()
    holder = LockHolder(path)
    import threading

    releaser = threading.Timer(0.5, holder.release)
    releaser.start()
    try:
        store = open_store(path, rootdir=tmp_path, lock_timeout=20)
    finally:
        releaser.join()
        holder.release()
    store.start_run(RunInfo(run_id="r1", start=1.0))
    store.close()
    assert holder.proc.returncode == 0


def test_a_lock_held_during_the_run_never_raises_into_add_results(tmp_path: Path) -> None:
    path = tmp_path / "f.duckdb"
    store = open_store(path, rootdir=tmp_path, lock_timeout=0.2, flush_interval=0.05)
    assert isinstance(store, DuckDBStore)
    store.start_run(RunInfo(run_id="r1", start=1.0))
    store.add_results([Result("r1", "before", "passed")])
    store.flush()
    with LockHolder(path):
        store.add_results([Result("r1", f"during{i}", "passed") for i in range(5)])
        wait_for(lambda: store.last_error is not None, what="a failed background write")
        assert "locked by another process" in (store.last_error or "")
        store.add_results([Result("r1", "still-accepted", "passed")])
        with pytest.raises(StoreError, match=r"locked by another process .*\(6 result rows not stored\)$"):
            store.close()
    reader = open_store(path, rootdir=tmp_path, readonly=True)
    assert [r.nodeid for r in reader.results("r1")] == ["before"]  # what was written stays
    reader.close()


def test_another_process_reads_the_file_while_a_run_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "live.duckdb"
    store = open_store(path, rootdir=tmp_path, flush_interval=0.05)
    store.start_run(
        RunInfo(run_id="feedbeef0001", start=time.time(), host=this_host(), pid=os.getpid(), collected=3)
    )
    store.add_results([Result("feedbeef0001", "t::a", "passed")])
    store.flush()
    proc = subprocess.run(
        [sys.executable, "-m", "testfleet", "runs", "--db", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    store.close()
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("feedbeef0001"))
    assert "running" in row and "1 passed" in row


WRITER = """
import os, sys, time
from testfleet.model import RunInfo, TestResult
from testfleet.store import open_store
from testfleet.store.liveness import this_host
path, run_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = open_store(path, rootdir=os.path.dirname(path), flush_interval=3600, batch_rows=10**6)
store.start_run(RunInfo(run_id=run_id, start=time.time(), host=this_host(), pid=os.getpid()))
for batch in range(5):
    store.add_results([TestResult(run_id, f"t{batch}_{i}", "passed", start=1000.0 + batch,
                                  call_duration=0.5) for i in range(n)])
    store.flush()
store.add_results([TestResult(run_id, f"unflushed{i}", "passed") for i in range(n)])
print("flushed", flush=True)
time.sleep(600)
"""


def test_a_sigkilled_writer_loses_at_most_its_last_batch_and_is_marked_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "k.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "dead0000beef", "200"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "flushed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    store = open_store(path, rootdir=tmp_path)
    assert isinstance(store, DuckDBStore)
    assert store.interrupted_runs == ["dead0000beef"]
    run = store.get_run("dead0000beef")
    assert run is not None
    assert run.status == "interrupted"
    assert run.end == 1004.5  # the end of its last stored result
    assert run.counts == {"passed": 1000}
    assert len(store.results("dead0000beef")) == 1000  # the 5 flushed batches; not the 6th
    store.close()


def test_running_runs_of_live_controllers_or_other_hosts_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    mine = open_store(path, rootdir=tmp_path)
    mine.start_run(RunInfo(run_id="live", start=time.time(), host=this_host(), pid=os.getpid()))
    mine.start_run(RunInfo(run_id="remote", start=1.0, host="some-other-host", pid=999_999_999))
    mine.flush()
    other = open_store(path, rootdir=tmp_path)
    assert [(r.run_id, r.status) for r in other.runs()] == [("live", "running"), ("remote", "running")]
    other.close()
    mine.close()


def test_two_processes_can_write_runs_to_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    open_store(path, rootdir=tmp_path).close()
    script = WRITER.replace("time.sleep(600)", "store.close()")
    others = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path), f"proc{k}", "50"], stdout=subprocess.DEVNULL
        )
        for k in range(2)
    ]
    mine = open_store(path, rootdir=tmp_path, flush_interval=0.01)
    mine.start_run(RunInfo(run_id="mine", start=1.0))
    for i in range(200):
        mine.add_results([Result("mine", f"m{i}", "passed")])
    assert [p.wait(timeout=120) for p in others] == [0, 0]
    mine.close()
    reader = open_store(path, rootdir=tmp_path, readonly=True)
    assert len(reader.results("mine")) == 200
    assert len(reader.results("proc0")) == len(reader.results("proc1")) == 300
    reader.close()


def test_a_corrupt_file_is_named_in_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "c.duckdb"
    path.write_bytes(b"\x00garbage, not a database\n" * 500)
    for readonly in (False, True):
        with pytest.raises(StoreError) as info:
            open_store(path, rootdir=tmp_path, readonly=readonly)
        assert str(info.value) == (
            f"{path} is not a DuckDB database (corrupt, or another kind "
            "of file); move it away or pass another --db"
        )


def test_an_empty_file_becomes_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / "e.duckdb"
    path.touch()
    store = open_store(path, rootdir=tmp_path)
    store.start_run(RunInfo(run_id="r1", start=1.0))
    assert store.latest_run_id() == "r1"
    store.close()


def test_a_directory_that_cannot_exist_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(
        StoreError,
        match=r"^cannot create the results directory .*a-file/\.testfleet"
        r" for results\.duckdb: Not a directory$",
    ):
        open_store(None, rootdir=blocker)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories anyway")
def test_a_read_only_directory_is_a_store_error(tmp_path: Path) -> None:
    locked = tmp_path / ".testfleet"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="is not writable"):
            open_store(None, rootdir=tmp_path)
    finally:
        locked.chmod(0o700)


def test_read_only_stores_refuse_writes_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"^no results store at .*missing\.duckdb$"):
        open_store(tmp_path / "missing.duckdb", rootdir=tmp_path, readonly=True)
    open_store(tmp_path / "x.duckdb", rootdir=tmp_path).close()
    reader = open_store(tmp_path / "x.duckdb", rootdir=tmp_path, readonly=True)
    with pytest.raises(StoreError, match="opened read-only"):
        reader.add_results([Result("r", "t", "passed")])
    reader.close()


def test_an_older_schema_file_is_migrated_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(path))
    migrate(conn, MIGRATIONS[:1])
    conn.execute("INSERT INTO runs (id, start, status, counts) VALUES ('old1', 5.0, 'finished', '{}')")
    conn.execute(
        "INSERT INTO results (run_id, nodeid, outcome, attempt, final, setup_duration, "
        "call_duration, teardown_duration) VALUES ('old1', 't', 'passed', 1, true, 0, 2, 0)"
    )
    conn.close()
    store = open_store(path, rootdir=tmp_path, readonly=True)  # upgrades even when reading
    assert store.get_run("old1") is not None
    assert store.durations() == {"t": 2.0}
    store.close()
    conn = duckdb.connect(str(path), read_only=True)
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == (SCHEMA_VERSION,)
    assert conn.execute("SELECT nodeid, duration FROM final_results").fetchall() == [("t", 2.0)]
    conn.close()


def test_a_newer_schema_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    open_store(path, rootdir=tmp_path).close()
    conn = duckdb.connect(str(path))
    conn.execute("INSERT INTO schema_version VALUES (?, 0, 'from the future')", [SCHEMA_VERSION + 7])
    conn.close()
    for readonly in (False, True):
        with pytest.raises(StoreError) as info:
            open_store(path, rootdir=tmp_path, readonly=readonly)
        assert str(info.value) == (
            f"{path}: its schema version {SCHEMA_VERSION + 7} is newer than "
            f"this testfleet supports ({SCHEMA_VERSION}); upgrade testfleet "
            "to read it"
        )


def test_ambiguous_prefixes_are_usage_errors(tmp_path: Path) -> None:
    store = open_store(tmp_path / "p.duckdb", rootdir=tmp_path)
    for run_id in ("abc111", "abc222"):
        store.start_run(RunInfo(run_id=run_id, start=1.0))
    with pytest.raises(UsageError, match="ambiguous"):
        store.get_run("abc")
    run = store.get_run("abc2")
    assert run is not None and run.run_id == "abc222"
    store.close()


def test_writes_after_close_are_refused(tmp_path: Path) -> None:
    store = open_store(tmp_path / "z.duckdb", rootdir=tmp_path)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.add_results([Result("r", "t", "passed")])


def test_unicode_and_quotes_in_the_path(tmp_path: Path) -> None:
    path = tmp_path / textwrap.dedent("it's ünïcode") / "r.duckdb"
    store = open_store(path, rootdir=tmp_path)
    store.start_run(RunInfo(run_id="r1", start=1.0))
    store.close()
    reader = open_store(path, rootdir=tmp_path, readonly=True)
    assert reader.latest_run_id() == "r1"
    reader.close()
