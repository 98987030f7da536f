"""Read commands find the store of the project they run in and say which one (issue 19)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from testfleet.cli.main import main
from testfleet.model import RunInfo
from testfleet.store import open_store
from testfleet.store.connection import translate
from testfleet.store.locate import find_store, last_store, remember_last_store


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("TESTFLEET_CACHE_DIR", str(cache))
    return cache


def make_store(path: Path, run_id: str = "0123456789ab") -> Path:
    store = open_store(path, rootdir=path.parent)
    store.start_run(RunInfo(run_id=run_id, start=1_700_000_000.0))
    store.finish_run(run_id, "finished", 1_700_000_001.0, 0, {"passed": 3})
    store.close()
    return path


def test_a_run_in_a_subproject_is_found_from_the_repository_root(tmp_path: Path) -> None:
    """The README's first command stores under examples/demo/; `testfleet runs` from the
    repository root reads that store, and says so."""
    repo = tmp_path / "repo"
    demo = repo / "examples" / "demo"
    demo.mkdir(parents=True)
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (demo / "pytest.ini").write_text("[pytest]\n")
    (demo / "test_x.py").write_text("def test_x():\n    pass\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "testfleet", "run", "-w", "1", "-q"],
        cwd=demo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    stored = demo / ".testfleet" / "results.duckdb"
    assert stored.is_file() and last_store() == stored
    runs = subprocess.run(
        [sys.executable, "-m", "testfleet", "runs"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert runs.returncode == 0, runs.stderr
    assert runs.stderr == f"testfleet: reading {stored}\n"
    assert " finished " in runs.stdout and "1 passed" in runs.stdout
    assert "1 collected" not in runs.stdout  # the table shows the count in its own column
    header, row = (line.split() for line in runs.stdout.splitlines()[:2])
    assert row[header.index("tests")] == "1"  # tests: stored with the number collected


def test_walks_up_to_the_nearest_store_before_the_last_run(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / "sub" / "deeper").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\n")
    mine = make_store(project / ".testfleet" / "results.duckdb")
    remember_last_store(make_store(tmp_path / "elsewhere.duckdb"))
    assert find_store(project / "sub" / "deeper") == (mine, "here")
    assert find_store(tmp_path / "other")[1] == "last run"


def test_without_any_store_the_default_path_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    monkeypatch.chdir(tmp_path)
    assert main(["runs"]) == 4
    assert capsys.readouterr().err == (
        f"testfleet: error: no results store at {tmp_path / '.testfleet' / 'results.duckdb'}"
        " (no run has stored results there yet; run `testfleet run` in this project,"
        " or pass --db PATH)\n"
    )


def test_an_empty_file_is_a_store_with_no_runs_for_reading_as_for_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    assert main(["runs", "--db", str(empty)]) == 0
    assert capsys.readouterr().out == f"no runs recorded in {empty}\n"
    assert main(["show", "--db", str(empty)]) == 4
    assert capsys.readouterr().err == f"testfleet: error: no runs recorded in {empty}\n"
    store = open_store(empty, rootdir=tmp_path)  # a run accepts it too, and makes it a store
    store.close()
    assert empty.stat().st_size > 0


def test_a_checksum_error_says_to_move_the_file_away(tmp_path: Path) -> None:
    path = tmp_path / "r.duckdb"
    exc = RuntimeError(
        "IO Error: Corrupt database file: computed checksum 123 does not match stored checksum 456"
    )
    message = str(translate(exc, path))
    assert message.startswith(f"{path} is corrupt (Corrupt database file: computed checksum")
    assert message.endswith(f"move it away (e.g. mv {path} {path}.corrupt): the next run starts a new store")


def test_the_ray_executor_ships_from_the_same_root_finder(tmp_path: Path) -> None:
    from testfleet.executor import ray
    from testfleet.paths import SHIP_MARKERS
    from testfleet.store.locate import find_rootdir

    assert ray.find_rootdir is find_rootdir and ray.SHIP_MARKERS is SHIP_MARKERS
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "a" / "b").mkdir(parents=True)
    assert find_rootdir(tmp_path / "repo" / "a" / "b", SHIP_MARKERS) == tmp_path / "repo"


def test_report_output_is_checked_before_the_store_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = make_store(tmp_path / "r.duckdb")
    assert main(["report", "--db", str(db), "-o", str(tmp_path / "no" / "r.html")]) == 4
    assert capsys.readouterr().err == (
        f"testfleet: error: -o: cannot write {tmp_path / 'no' / 'r.html'}: "
        f"directory {tmp_path / 'no'} does not exist\n"
    )
