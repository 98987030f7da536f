"""Merging the reports of N MPI ranks into one verdict (testfleet.worker.mpi.merge), from
rank files written as testfleet.worker.mpi_rank writes them; and the rank's own helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testfleet.worker.mpi import merge, mpi_ranks
from testfleet.worker.mpi_rank import rank_and_size


class FakeItem:
    """What merge and mpi_ranks read of an item (a real one needs a whole pytester session)."""

    nodeid = "test_m.py::test_func"
    location = ("test_m.py", 0, "test_func")
    keywords: dict[str, Any] = {"test_func": 1}

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def iter_markers(self, name: str) -> list[pytest.Mark]:
        return (
            [pytest.mark.fleet(mpi=2).mark, pytest.mark.fleet(requires={"gpu": 1}).mark]
            if name == "fleet"
            else []
        )


@pytest.fixture
def item(pytestconfig: pytest.Config) -> Any:
    return FakeItem(pytestconfig)


def rank_report(item: Any, when: str, outcome: str, longrepr: Any = None, out: str = "") -> pytest.TestReport:
    sections = [(f"Captured stdout {when}", out)] if out else []
    return pytest.TestReport(item.nodeid, item.location, {}, outcome, longrepr, when, sections, 0.5, 0.0, 0.5)  # type: ignore[arg-type]


def write_rank(
    tmp: Path,
    config: pytest.Config,
    k: int,
    reports: list[pytest.TestReport],
    code: int | None = 0,
    errors: tuple[str, ...] = (),
) -> None:
    lines = [{"report": config.hook.pytest_report_to_serializable(config=config, report=r)} for r in reports]
    lines += [{"collect_error": e} for e in errors]
    if code is not None:
        lines.append({"exit": code})
    (tmp / f"rank-{k}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def passing(item: Any, out: str = "") -> list[pytest.TestReport]:
    return [
        rank_report(item, "setup", "passed"),
        rank_report(item, "call", "passed", out=out),
        rank_report(item, "teardown", "passed"),
    ]


def test_the_marker_gives_the_number_of_ranks(item: Any) -> None:
    assert mpi_ranks(item) == 2


def test_every_rank_passing_passes_with_each_ranks_output(item: Any, tmp_path: Path) -> None:
    for k in range(2):
        write_rank(tmp_path, item.config, k, passing(item, out=f"hello from {k}\n"))
    got = merge(item.config, item, 2, tmp_path, 0, "", 0.0)
    assert [(r.when, r.outcome) for r in got] == [
        ("setup", "passed"),
        ("call", "passed"),
        ("teardown", "passed"),
    ]
    assert got[1].sections == [
        ("Captured stdout call (rank 0)", "hello from 0\n"),
        ("Captured stdout call (rank 1)", "hello from 1\n"),
    ]


def test_one_failing_rank_fails_the_test_with_its_message(item: Any, tmp_path: Path) -> None:
    write_rank(tmp_path, item.config, 0, passing(item))
    reports = passing(item)
    reports[1] = rank_report(
        item, "call", "failed", "def test_func():\n>   assert 1 == 0\nE   AssertionError: nope"
    )
    write_rank(tmp_path, item.config, 1, reports)
    got = merge(item.config, item, 2, tmp_path, 0, "mpirun says\n", 0.0)
    call = next(r for r in got if r.when == "call")
    assert call.failed
    assert str(call.longrepr).startswith("rank 1/2: def test_func():")
    assert "AssertionError: nope" in str(call.longrepr)
    assert ("Captured stdout call (mpirun)", "mpirun says\n") in got[-1].sections


def test_a_rank_that_ran_nothing_fails_the_test_naming_it(item: Any, tmp_path: Path) -> None:
    write_rank(tmp_path, item.config, 0, passing(item))
    write_rank(tmp_path, item.config, 1, [], code=4, errors=("test_x.py: ImportError: no module named cupy",))
    got = merge(item.config, item, 2, tmp_path, 1, "rank 1 traceback\n", 0.0)
    call = next(r for r in got if r.when == "call")
    assert call.failed
    text = str(call.longrepr)
    assert text.startswith("rank 1/2: ran no test; mpirun exited with code 1")
    assert "ImportError: no module named cupy" in text and "rank 1 traceback" in text


def test_a_setup_error_on_one_rank_is_the_tests_error(item: Any, tmp_path: Path) -> None:
    write_rank(tmp_path, item.config, 0, passing(item))
    write_rank(
        tmp_path,
        item.config,
        1,
        [rank_report(item, "setup", "failed", "fixture broke"), rank_report(item, "teardown", "passed")],
    )
    got = merge(item.config, item, 2, tmp_path, 0, "", 0.0)
    assert [(r.when, r.outcome) for r in got] == [("setup", "failed"), ("teardown", "passed")]
    assert str(got[0].longrepr) == "rank 1/2: fixture broke"


def test_rank_and_size_come_from_the_launcher() -> None:
    assert rank_and_size({"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4"}) == (3, 4)
    assert rank_and_size({"PMI_RANK": "1", "PMI_SIZE": "2"}) == (1, 2)
    assert rank_and_size({}) == (0, 1)
