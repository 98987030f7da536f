"""GitHub job summary plumbing: the base run, partial runs, appending within the step's 1 MiB."""

from __future__ import annotations

from pathlib import Path

from testfleet.model import RunInfo, TestResult
from testfleet.report import github
from testfleet.report.summary_md import SummaryInput
from testfleet.store import MemoryStore


def run(
    run_id: str,
    start: float,
    branch: str | None,
    status: str = "finished",
    args: list[str] | None = None,
    store: MemoryStore | None = None,
) -> RunInfo:
    info = RunInfo(run_id=run_id, start=start, git_branch=branch, args=args or [])
    if store is not None:
        store.start_run(info)
        if status != "running":
            store.finish_run(run_id, status, start + 1, 0, {})
    return info


def test_shard_runs_are_partial() -> None:
    assert github.shard_of(run("a", 0, None, args=["--fleet", "2", "--fleet-shard", "2/4"])) == "2/4"
    assert github.shard_of(run("a", 0, None, args=["--fleet-shard=1/3"])) == "1/3"
    assert github.is_partial(run("a", 0, None, args=["--fleet-shard", "1/2"]))
    assert not github.is_partial(run("a", 0, None, args=["-k", "shard"]))


def test_base_run_is_the_newest_complete_finished_run_on_the_branch() -> None:
    store = MemoryStore()
    run("old", 1, "main", store=store)
    run("good", 2, "main", store=store)
    run("other", 3, "feature", store=store)
    run("shard", 4, "main", args=["--fleet-shard", "1/2"], store=store)
    run("broken", 5, "main", status="interrupted", store=store)
    run("head", 6, "main", status="running", store=store)
    found = github.find_base_run(store, "main", exclude="head")
    assert found is not None and found.run_id == "good"
    assert github.find_base_run(store, "release") is None


def test_base_branch_from_the_ci_environment() -> None:
    assert github.base_branch({"GITHUB_BASE_REF": "main"}) == "main"
    assert github.base_branch({"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "refs/heads/dev"}) == "dev"
    assert github.base_branch({"GITHUB_BASE_REF": ""}) is None
    assert github.step_summary_path({"GITHUB_STEP_SUMMARY": "/x"}) == "/x"
    assert github.step_summary_path({"GITHUB_STEP_SUMMARY": "/x"}, "none") is None


def test_appending_keeps_the_whole_file_under_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("earlier step\n" * 5000)  # 65,000 bytes already there
    results = [
        TestResult("r", f"t.py::test_{i}", "failed", message="m", failure_text="x" * 5000) for i in range(400)
    ]
    written = github.append_step_summary(path, SummaryInput("r", results), limit=200_000)
    assert written > 0 and path.stat().st_size <= 200_000
    assert path.read_text().startswith("earlier step\n")
    assert github.append_step_summary(path, SummaryInput("r", results), limit=200_000) == 0  # no room left
