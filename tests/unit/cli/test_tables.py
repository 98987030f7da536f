"""The runs and workers tables laid out within a terminal width (issue 19: 80 columns, wrapped
by cell, never inside an item)."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from rich.console import Console

from testfleet.cli.render import wrap_items
from testfleet.cli.runs import id_tells_start, outcome_items, runs_table
from testfleet.cli.workers import short_host, workers_table
from testfleet.model import WorkerInfo


def render(table: Any, width: int) -> list[str]:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, highlight=False).print(table)
    return [line.rstrip() for line in buffer.getvalue().splitlines()]


def test_wrap_items_breaks_between_items_and_long_items_after_commas() -> None:
    items = outcome_items("147 passed, 3 failed, 2 skipped, 1 xfailed")
    assert items == ["147 passed,", "3 failed,", "2 skipped,", "1 xfailed"]
    assert wrap_items(items, 21).splitlines() == ["147 passed, 3 failed,", "2 skipped, 1 xfailed"]
    assert wrap_items(items, 11).splitlines() == items  # one a line, none cut
    long = ["cpus=2", "node_resources=CPU=16.0,GPU=2.0,memory=47244640256.0", "python=3.11"]
    assert wrap_items(long, 30).splitlines() == [
        "cpus=2",
        "node_resources=CPU=16.0,",
        "  GPU=2.0,memory=47244640256.0",
        "python=3.11",
    ]


def run_row(run_id: str, outcomes: str, partial: bool = False) -> dict[str, str]:
    return {
        "run": run_id,
        "started": "12-05 07:00",
        "took": "12.5s",
        "status": "interrupted",
        "tests": "40*" if partial else "40 ",
        "exit": "2",
        "commit": "abcdef1",
        "outcomes": outcomes,
    }


@pytest.mark.parametrize(
    ("width", "start_in_id", "header"),
    [
        (120, True, ["run", "started", "took", "status", "tests", "exit", "commit", "outcomes"]),
        (80, True, ["run", "took", "status", "tests", "exit", "commit", "outcomes"]),
        (80, False, ["run", "started", "took", "status", "tests", "outcomes"]),
        (60, True, ["run", "status", "tests", "outcomes"]),
    ],
)
def test_runs_table_leaves_out_optional_columns_as_the_terminal_narrows(
    width: int, start_in_id: bool, header: list[str]
) -> None:
    rows = [
        run_row("20261205-070044-036c", "36 passed, 1 failed, 2 skipped, 1 xfailed, 4 not run"),
        run_row("20261205-070042-c2d5", "1234 unschedulable", partial=True),
    ]
    lines = render(runs_table(rows, width, start_in_id=start_in_id), width)
    assert lines[0].split() == header
    assert all(len(line) <= width for line in lines)
    at = lines[0].index("outcomes")
    assert all(line[at:].split()[0].isdigit() for line in lines[1:])  # each line starts an item
    assert [line.split()[0] for line in lines if line[:1] != " "][1:] == [r["run"] for r in rows]  # never cut
    assert " ".join(line[at:] for line in lines[1:]).startswith(rows[0]["outcomes"])


def test_id_tells_start() -> None:
    start = time.mktime((2026, 12, 5, 7, 0, 44, 0, 0, -1))
    assert id_tells_start("20261205-070044-036c", start + 0.4)
    assert not id_tells_start("20261205-070044-036c", start + 3600)
    assert not id_tells_start("0123456789ab", start)


def test_workers_table_without_ray_has_no_node_column_and_keeps_worker_order() -> None:
    caps = {"cpus": 2, "platform": "linux", "python": "3.11.7", "tags": ["gpu"]}
    workers = [WorkerInfo("r", f"w{i}", "vm", 100 + i, caps) for i in (10, 2, 1)]
    lines = render(workers_table(workers, 80, "workers of run r"), 80)
    assert lines[1].split() == ["worker", "host", "pid", "gpus", "tags", "capabilities"]
    assert [line.split()[:2] for line in lines[2:]] == [["w1", "vm"], ["w2", "vm"], ["w10", "vm"]]
    assert lines[2].split()[3:] == ["-", "gpu", "cpus=2", "platform=linux", "python=3.11.7"]


def test_short_host_keeps_ip_addresses() -> None:
    assert short_host("ip-10-0-12-34.eu-west-1.compute.internal") == "ip-10-0-12-34"
    assert short_host("10.0.12.34") == "10.0.12.34"
    assert short_host("fe80::1") == "fe80::1"
    assert short_host("box") == "box"
