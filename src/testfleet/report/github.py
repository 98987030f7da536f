"""GitHub Actions job summary, and the runs a summary is compared with.

Under GitHub Actions each step gets a file named by ``$GITHUB_STEP_SUMMARY``; Markdown
appended to it is shown on the run's page (up to 1 MiB per step). A fleet run appends
:func:`testfleet.report.summary_md.render` of itself there. The base run it is compared
with is the newest complete (not partial, finished) run in the store on the pull request's
target branch (``$GITHUB_BASE_REF``, GitLab's ``$CI_MERGE_REQUEST_TARGET_BRANCH_NAME``, Azure's
``$SYSTEM_PULLREQUEST_TARGETBRANCH``); without one, a failure is new when the test did not
fail the last time it ran.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from testfleet.model import RunInfo, TestResult
from testfleet.report.summary_md import STEP_SUMMARY_LIMIT, SummaryInput, render

BASE_BRANCH_VARS = (
    "GITHUB_BASE_REF",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "SYSTEM_PULLREQUEST_TARGETBRANCH",
)
SHARD_FLAGS = ("--fleet-shard", "--shard")
RUNS_SEARCHED = 200


def step_summary_path(env: Mapping[str, str], ci_choice: str = "auto") -> str | None:
    if ci_choice in ("none", "azure"):
        return None
    return env.get("GITHUB_STEP_SUMMARY") or None


def base_branch(env: Mapping[str, str]) -> str | None:
    for name in BASE_BRANCH_VARS:
        value = env.get(name, "").strip()
        if value:
            return value.removeprefix("refs/heads/")
    return None


def shard_of(run: RunInfo) -> str | None:
    """The ``I/K`` a run was a shard of, from its arguments (None: the whole selection)."""
    args = [str(a) for a in run.args]
    for i, arg in enumerate(args):
        for flag in SHARD_FLAGS:
            if arg == flag and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    return None


def is_partial(run: RunInfo) -> bool:
    return bool(getattr(run, "partial", False)) or shard_of(run) is not None


def find_base_run(store: Any, branch: str, exclude: str | None = None) -> RunInfo | None:
    """The newest finished, complete run on ``branch``."""
    run: RunInfo
    for run in store.runs(limit=RUNS_SEARCHED):
        if (
            run.run_id != exclude
            and run.git_branch == branch
            and run.status == "finished"
            and not is_partial(run)
        ):
            return run
    return None


def input_from_store(store: Any, run: RunInfo, base: RunInfo | None) -> SummaryInput:
    """What :func:`render` needs for a stored run (and its base, if any)."""
    seconds = (run.end - run.start) if run.end is not None else None
    shard = shard_of(run)
    return SummaryInput(
        run_id=run.run_id,
        results=store.results(run.run_id),
        seconds=seconds,
        partial=f"shard {shard}" if shard else None,
        base_run=base.run_id if base else None,
        base_label=base.git_branch if base else None,
        base_results=store.results(base.run_id) if base else None,
    )


def run_results(state: Any) -> list[TestResult]:
    """Every attempt of a live run (``RunState``), and the finals that had no attempt."""
    out = [a for attempts in state.attempts.values() for a in attempts]
    out += [r for idx, r in state.final.items() if idx not in state.attempts]
    return out


def input_from_state(state: Any, env: Mapping[str, str]) -> SummaryInput:
    shard = getattr(state.settings, "shard", None)
    inp = SummaryInput(
        run_id=state.run_id,
        results=run_results(state),
        seconds=state.wall_seconds(),
        partial=f"shard {shard}" if shard else None,
        previous_outcomes=dict(state.last_outcomes),
    )
    branch = base_branch(env)
    path = getattr(state.store, "path", None)
    if branch and path is not None and Path(path).is_file():
        _add_base(inp, Path(path), branch)
    return inp


def _add_base(inp: SummaryInput, path: Path, branch: str) -> None:
    from testfleet.store import open_store

    try:
        store = open_store(path, rootdir=path.parent, readonly=True, lock_timeout=5.0)
    except Exception:  # noqa: BLE001 - no comparison rather than no summary
        return
    try:
        base = find_base_run(store, branch, exclude=inp.run_id)
        if base is not None:
            inp.base_run, inp.base_label = base.run_id, base.git_branch
            inp.base_results = store.results(base.run_id)
    except Exception:  # noqa: BLE001
        return
    finally:
        store.close()


def append_step_summary(
    path: str | os.PathLike[str], inp: SummaryInput, limit: int = STEP_SUMMARY_LIMIT
) -> int:
    """Append the summary to the step summary file, within what is left of ``limit``; the bytes written."""
    target = Path(path)
    existing = target.stat().st_size if target.exists() else 0
    room = limit - existing - 2
    if room < 1024:
        return 0
    text = render(inp, room)
    data = ("\n" + text).encode("utf-8") if existing else text.encode("utf-8")
    with open(target, "ab") as out:
        out.write(data)
    return len(data)
