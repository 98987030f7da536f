"""What a user at an 80-column terminal sees (issue 19), rendered by a terminal emulator (pyte)
from a real pseudo-terminal: no line of testfleet's wraps, ``[100%]`` ends the progress line,
the runs and workers tables wrap by cell."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from _pty import run_in_pty

SUITE = """
import pytest

@pytest.mark.parametrize("n", range(40))
def test_a_rather_long_test_function_name_for_the_terminal(n):
    if n in (3, 17):
        pytest.skip("not today")
    if n == 21:
        pytest.xfail("known")
    assert n != 30
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "a_project_directory_with_a_long_name" / "and_another_level"
    root.mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "test_display_of_a_module_with_a_long_name.py").write_text(SUITE)
    return root


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "testfleet", *args]


def test_run_output_fits_80_columns(project: Path) -> None:
    code, lines = run_in_pty(cli("run", "-w", "2"), project)
    assert code == 1, "\n".join(lines)
    screen = "\n".join(lines)
    assert not any(line.strip() == "[100%]" for line in lines), screen
    progress = [line for line in lines if line.endswith("[100%]")]
    assert len(progress) == 1 and len(progress[0]) >= 79 and progress[0].startswith("."), screen
    counts = [ln for ln in lines if ln.startswith(("testfleet: 40 collected:", "--")) and "collected:" in ln]
    assert len(counts) == 1 and counts[0].rstrip("-").rstrip().endswith(
        "36 passed, 1 failed, 2 skipped, 1 xfailed"
    ), screen
    stored = [i for i, ln in enumerate(lines) if "stored in" in ln]
    assert len(stored) == 1, screen
    # a path that does not fit goes on its own line instead of wrapping mid-word
    assert lines[stored[0]].endswith("stored in") or lines[stored[0]].endswith("results.duckdb"), screen


def table_from(lines: list[str], header: str) -> list[str]:
    return lines[next(i for i, ln in enumerate(lines) if ln.startswith(header)) :]


def test_runs_and_workers_tables_wrap_by_cell(project: Path) -> None:
    run_in_pty(cli("run", "-w", "2", "-q"), project)
    run_in_pty(cli("run", "-w", "2", "-q", "-k", "not 30"), project)  # a partial run
    outcomes = [
        "36 passed, 2 skipped, 1 xfailed",
        "36 passed, 1 failed, 2 skipped, 1 xfailed",
    ]  # newest first
    code, lines = run_in_pty(cli("runs"), project)
    screen = "\n".join(lines)
    assert code == 0, screen
    assert all(len(ln) <= 80 for ln in lines), screen
    table = table_from(lines, "run ")
    # at 80 columns "started" goes: testfleet's run ids (YYYYMMDD-HHMMSS-xxxx) already say it
    assert table[0].split() == ["run", "took", "status", "tests", "exit", "commit", "outcomes"], screen
    at = table[0].index("outcomes")
    legend = [ln for ln in table if ln.startswith("* partial run")]
    assert len(legend) == 1, screen
    cells: dict[str, list[str]] = {}
    for line in table[1 : table.index(legend[0])]:
        if line[:1].isdigit():
            row = line.split()
            cells[row[0]] = [row[3]]  # the tests cell, then the outcome lines
        else:
            assert line[:at].strip() == "", screen  # a row's other cells stay on one line
        # outcome items are never split: every line of the column starts with a count
        assert line[at:].split()[0].isdigit(), screen
        cells[list(cells)[-1]].append(line[at:].strip())
    assert len(cells) == 2 and all(re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", run) for run in cells), screen
    assert [c[0] for c in cells.values()] == ["39*", "40"], screen  # the -k run is marked partial
    assert [" ".join(c[1:]) for c in cells.values()] == outcomes, screen
    assert all(len(c) - 1 <= 2 for c in cells.values()), screen  # at least two outcomes a line

    code, lines = run_in_pty(cli("runs"), project, columns=120)  # wide: every column, a line a run
    screen = "\n".join(lines)
    table = table_from(lines, "run ")
    assert table[0].split() == ["run", "started", "took", "status", "tests", "exit", "commit", "outcomes"], (
        screen
    )
    assert [ln[table[0].index("outcomes") :] for ln in table[1:3]] == outcomes, screen
    assert table[3].startswith("* partial run") and len(table) == 4, screen

    code, lines = run_in_pty(cli("workers"), project)
    screen = "\n".join(lines)
    assert code == 0, screen
    assert all(len(ln) <= 80 for ln in lines), screen
    table = table_from(lines, "worker ")
    assert [ln.split()[0] for ln in table if ln[:1] != " "] == ["worker", "w0", "w1"], screen
    at = table[0].index("capabilities")
    assert all("=" in ln[at:].split()[0] for ln in table[1:]), screen  # whole key=value items a line
    assert all(ln[:at].strip() == "" for ln in table[1:] if ln[:1] == " "), screen


def test_workers_table_with_ray_node_ids_wraps_by_cell(tmp_path: Path) -> None:
    """Ray nodes: 56-character node ids and long host names used to squeeze the capabilities
    column to one character per line. At 80 columns the GPUs and tags join the capabilities,
    the node id and host name are shortened; wide, each has its column, in full."""
    from testfleet.model import RunInfo, WorkerInfo
    from testfleet.store import open_store

    db = tmp_path / "r.duckdb"
    store = open_store(db, rootdir=tmp_path)
    store.start_run(RunInfo(run_id="20261204-120000-abcd", start=1_700_000_000.0))
    node, host = "f" * 56, "ip-10-0-12-34.eu-west-1.compute.internal"
    caps = {  # what a Ray worker slot advertises (executor/ray_placement.slot_caps)
        "node": node,
        "node_ip": "10.0.12.34",
        "tags": ["browser", "ssd"],
        "browser": True,
        "ssd": True,
        "gpu": 2,
        "gpu_ids": ["0", "1"],
        "cpus": 16,
        "memory_gb": 62.5,
        "platform": "linux",
        "python": "3.11.7",
    }
    store.add_workers(
        [WorkerInfo("20261204-120000-abcd", f"w{i}", host, 4000 + i, caps, node=node) for i in range(2)]
    )
    store.finish_run("20261204-120000-abcd", "finished", 1_700_000_010.0, 0, {"passed": 1})
    store.close()
    items = "cpus=16 memory_gb=62.5 node_ip=10.0.12.34 platform=linux python=3.11.7"

    code, lines = run_in_pty(cli("workers", "--db", str(db)), tmp_path)
    screen = "\n".join(lines)
    assert code == 0, screen
    assert all(len(ln) <= 80 for ln in lines), screen
    assert not any(len(ln.strip()) <= 2 for ln in lines if ln.strip()), screen  # no one-character lines
    header, rows = workers_rows(lines)
    assert header == ["worker", "host", "node", "pid", "capabilities"], screen
    assert rows == {
        f"w{i}": ["ip-10-0-12-34", "ffffffff\u2026", str(4000 + i), f"gpus=0,1 tags=browser,ssd {items}"]
        for i in range(2)
    }, screen

    code, lines = run_in_pty(cli("workers", "--db", str(db)), tmp_path, columns=120)
    screen = "\n".join(lines)
    assert code == 0 and all(len(ln) <= 120 for ln in lines), screen
    header, rows = workers_rows(lines)  # 120: the host name in full; the node id stays short
    assert header == ["worker", "host", "node", "pid", "capabilities"], screen
    assert rows["w0"] == [host, "ffffffff\u2026", "4000", f"gpus=0,1 tags=browser,ssd {items}"], screen

    code, lines = run_in_pty(cli("workers", "--db", str(db)), tmp_path, columns=220)
    screen = "\n".join(lines)
    header, rows = workers_rows(lines)  # room for all: GPUs and tags in their own columns, a line a worker
    assert header == ["worker", "host", "node", "pid", "gpus", "tags", "capabilities"], screen
    assert rows["w0"] == [host, node, "4000", "0,1", "browser,ssd", items], screen
    assert len(table_from(lines, "worker ")) == 3, screen


def workers_rows(lines: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The header and each worker's cells of a ``testfleet workers`` screen, the capabilities'
    lines joined; asserts that the other cells keep one line and capability lines start with
    a whole ``key=value`` item."""
    table = table_from(lines, "worker ")
    at = table[0].index("capabilities")
    rows: dict[str, list[str]] = {}
    for line in table[1:]:
        if line[:1] != " ":
            rows[line.split()[0]] = [*line[:at].split()[1:], line[at:]]
        else:
            assert line[:at].strip() == "" and "=" in line[at:].split()[0], "\n".join(lines)
            rows[list(rows)[-1]][-1] += " " + line[at:]
    return table[0].split(), rows
