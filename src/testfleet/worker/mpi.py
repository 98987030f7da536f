"""MPI-launched tests: ``@pytest.mark.fleet(mpi=N)`` runs as N ranks under ``mpirun``.

The scheduler gives such a test N worker slots (as ``cpus=N``: the worker that runs it and
N-1 idle ones it keeps free). The worker does not run the test itself: it launches

    mpirun -n N [--oversubscribe --allow-run-as-root] python -m testfleet.worker.mpi_rank DIR NODEID ...

in which each rank runs pytest on that one node id and writes its reports to
``DIR/rank-K.jsonl`` (:mod:`testfleet.worker.mpi_rank`), then merges them into one verdict
(:func:`merge`): each phase passes only if it passed on every rank; the first failing
rank's report is the test's, its message prefixed with ``rank K/N:``; every rank's captured
output is kept as its own section (``Captured stdout call (rank 1)``). A rank that sent no
report fails the test with mpirun's output. ``mpirun`` runs in the worker's process group
and each rank dies with it, so the controller's timeout (SIGKILL to the group) leaves no
rank running.

``TESTFLEET_MPIRUN`` names another launcher (``mpiexec``, MPICH's hydra); extra launcher
arguments go in ``TESTFLEET_MPIRUN_ARGS``. Under plain pytest the marker does nothing: the
test runs once, as a single process.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pytest

from testfleet.worker.mpi_rank import DIR_ENV, WORKER_PID_ENV

PHASES = ("setup", "call", "teardown")


def mpi_ranks(item: pytest.Item) -> int | None:
    """N for a test marked ``fleet(mpi=N)`` (the closest mark that names it), else None."""
    for mark in item.iter_markers("fleet"):
        if "mpi" in mark.kwargs:
            n = mark.kwargs["mpi"]
            return int(n) if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else None
    return None


@lru_cache(maxsize=4)
def _flavour(exe: str) -> str:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    text = out.stdout + out.stderr
    return "openmpi" if "Open MPI" in text or "OpenRTE" in text else "mpich" if "HYDRA" in text else "unknown"


def launcher(n: int) -> list[str]:
    """``mpirun -n N`` with what this MPI needs to run N ranks on one machine."""
    name = os.environ.get("TESTFLEET_MPIRUN", "mpirun")
    exe = shutil.which(name)
    if exe is None:
        raise FileNotFoundError(
            f"{name} not found on PATH (install Open MPI or MPICH, or set TESTFLEET_MPIRUN)"
        )
    cmd = [exe, "-n", str(n)]
    if _flavour(exe) == "openmpi":
        cmd.append("--oversubscribe")
        if os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
    return cmd + shlex.split(os.environ.get("TESTFLEET_MPIRUN_ARGS", ""))


def rank_args(config: pytest.Config) -> list[str]:
    """pytest arguments for a rank: the run's configuration (rootdir, ini file, ``-p``,
    ``-o``), not its selection; output stays captured and goes to mpirun's as well."""
    args = [
        "--rootdir",
        str(config.rootpath),
        "-p",
        "no:cacheprovider",
        "--capture=tee-sys",
        "-q",
        "--no-header",
        "--no-summary",
    ]
    if config.inipath is not None:
        args += ["-c", str(config.inipath)]
    given = [str(a) for a in config.invocation_params.args]
    for flag, value in zip(given, given[1:], strict=False):
        if flag in ("-p", "-o") and not value.startswith("no:testfleet"):
            args += [flag, value]
    return args


def absolute_nodeid(config: pytest.Config, nodeid: str) -> str:
    path, sep, rest = nodeid.partition("::")
    return str(config.rootpath / path) + sep + rest


class MpiPlugin:
    """In a worker: runs ``fleet(mpi=N)`` tests under mpirun instead of in the worker."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        n = mpi_ranks(item)
        if n is None or os.environ.get(DIR_ENV):
            return None
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        for report in run_ranks(self.config, item, n):
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        _teardown_for(item, nextitem)
        return True


def _teardown_for(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """What the previous test left set up that the next one does not share: torn down
    now, as pytest's own protocol would have at the end of this test."""
    state = getattr(item.session, "_setupstate", None)
    if state is not None and state.stack:
        state.teardown_exact(nextitem)


class _Captured:
    """mpirun's output goes where a test's output goes: the worker's capture files, so a
    timeout's message shows the ranks' output so far; read (and cleared) when it ends."""

    def __init__(self, config: pytest.Config) -> None:
        capman = config.pluginmanager.getplugin("capturemanager")
        self.capman = capman if capman is not None and capman.is_globally_capturing() else None
        self.text = ""

    def __enter__(self) -> _Captured:
        if self.capman is not None:
            self.capman.resume_global_capture()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.capman is not None:
            self.capman.suspend_global_capture(in_=False)
            out, err = self.capman.read_global_capture()
            self.text = out + err


def run_ranks(config: pytest.Config, item: pytest.Item, n: int) -> list[pytest.TestReport]:
    """Run ``item`` as ``n`` ranks; its reports, merged."""
    start = time.time()
    try:
        mpirun = launcher(n)
    except FileNotFoundError as exc:
        return [_report(item, "call", "failed", f"mpi={n}: {exc}", start)]
    outdir = tempfile.mkdtemp(prefix="testfleet-mpi-")
    cmd = mpirun + [
        sys.executable,
        "-m",
        "testfleet.worker.mpi_rank",
        outdir,
        absolute_nodeid(config, item.nodeid),
        *rank_args(config),
    ]
    env = {**os.environ, DIR_ENV: outdir, WORKER_PID_ENV: str(os.getpid())}
    sys.stdout.flush()
    sys.stderr.flush()
    with _Captured(config) as captured:
        # Same process group as the worker: a timeout's SIGKILL to the group reaches
        # mpirun, and the ranks die with it.
        code = subprocess.run(
            cmd, cwd=str(config.invocation_params.dir), env=env, stdin=subprocess.DEVNULL
        ).returncode
    try:
        return merge(config, item, n, Path(outdir), code, captured.text, start)
    finally:
        shutil.rmtree(outdir, ignore_errors=True)


def read_rank(config: pytest.Config, path: Path) -> tuple[list[pytest.TestReport], list[str], int | None]:
    """A rank's reports, collection errors and pytest exit code (None: it did not finish)."""
    reports: list[pytest.TestReport] = []
    errors: list[str] = []
    code = None
    if not path.exists():
        return reports, errors, code
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by a kill
        if "report" in entry:
            reports.append(config.hook.pytest_report_from_serializable(config=config, data=entry["report"]))
        elif "collect_error" in entry:
            errors.append(entry["collect_error"])
        elif "exit" in entry:
            code = int(entry["exit"])
    return reports, errors, code


def merge(
    config: pytest.Config,
    item: pytest.Item,
    n: int,
    outdir: Path,
    mpirun_code: int,
    mpirun_output: str,
    start: float,
) -> list[pytest.TestReport]:
    """One set of setup/call/teardown reports from every rank's (see the module docstring)."""
    ranks = [read_rank(config, outdir / f"rank-{k}.jsonl") for k in range(n)]
    merged: list[pytest.TestReport] = []
    for when in PHASES:
        present = [(k, r) for k, (reps, _, _) in enumerate(ranks) for r in reps if r.when == when]
        if not present or (when == "call" and merged and not merged[0].passed):
            continue
        failing = [(k, r) for k, r in present if r.failed]
        k0, base = (failing or [(k, r) for k, r in present if r.skipped] or present)[0]
        sections = [(f"{title} (rank {k})", body) for k, r in present for title, body in r.sections]
        report = _copy(base, sections=sections, duration=max(r.duration for _, r in present))
        if failing:
            _prefix_message(report, f"rank {k0}/{n}: ")
        merged.append(report)
    set_up = bool(merged) and merged[0].when == "setup" and merged[0].passed
    silent = [k for k, (reps, _, _) in enumerate(ranks) if not any(r.when == "call" for r in reps)]
    if (set_up or not merged) and silent and not any(r.failed for r in merged):
        # A rank that never ran the test: it crashed, or could not import or collect it.
        errors = [e for _, errs, _ in ranks for e in errs]
        text = (
            f"rank {silent[0]}/{n}: ran no test; mpirun exited with code {mpirun_code}"
            + "".join(f"\n{e}" for e in errors)
            + (f"\n\nmpirun output:\n{mpirun_output.strip()}" if mpirun_output.strip() else "")
        )
        call = _report(item, "call", "failed", text, start)
        merged = (
            [r for r in merged if r.when == "setup"] + [call] + [r for r in merged if r.when == "teardown"]
        )
    elif mpirun_output.strip() and any(r.failed for r in merged):
        merged[-1].sections.append(("Captured stdout call (mpirun)", mpirun_output))
    return merged


def _copy(report: pytest.TestReport, **changes: Any) -> pytest.TestReport:
    new = pytest.TestReport(
        report.nodeid,
        report.location,
        report.keywords,
        report.outcome,
        report.longrepr,
        report.when,
        list(changes.get("sections", report.sections)),
        changes.get("duration", report.duration),
        report.start,
        report.stop,
        list(report.user_properties),
    )
    for key, value in report.__dict__.items():
        if key not in new.__dict__:
            setattr(new, key, value)
    return new


def _prefix_message(report: pytest.TestReport, prefix: str) -> None:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None) is not None:
        try:
            crash.message = prefix + crash.message
            return
        except (AttributeError, TypeError):
            try:
                report.longrepr.reprcrash = replace(crash, message=prefix + crash.message)  # type: ignore[union-attr]
                return
            except (AttributeError, TypeError):
                pass
    report.longrepr = prefix + str(report.longrepr)


def _report(
    item: pytest.Item,
    when: Literal["setup", "call", "teardown"],
    outcome: Literal["passed", "failed"],
    text: str,
    start: float,
) -> pytest.TestReport:
    now = time.time()
    return pytest.TestReport(
        item.nodeid,
        item.location,
        {k: 1 for k in item.keywords},
        outcome,
        text,
        when,
        [],
        now - start,
        start,
        now,
    )
