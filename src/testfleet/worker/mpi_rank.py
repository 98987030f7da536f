"""One MPI rank of a ``fleet(mpi=N)`` test: ``python -m testfleet.worker.mpi_rank OUTDIR NODEID [pytest args]``.

Started by ``mpirun`` from the worker (:mod:`testfleet.worker.mpi`). The rank runs pytest
on that one node id and writes, to ``OUTDIR/rank-K.jsonl``, one JSON line per report as it
happens (so a rank that hangs has still told what it finished). It dies with its
``mpirun`` (``PR_SET_PDEATHSIG``) and with its worker (a watchdog on the worker's pid), so
a worker killed at a timeout leaves no rank running. A rank whose test failed while others
may wait for it in a collective ends the MPI job (``MPI_Abort``) once its reports are
written.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import Any

import pytest

DIR_ENV = "TESTFLEET_MPI_DIR"
WORKER_PID_ENV = "TESTFLEET_MPI_WORKER_PID"
_RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "MV2_COMM_WORLD_RANK", "SLURM_PROCID")
_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE", "SLURM_NTASKS")


def rank_and_size(environ: dict[str, str] | None = None) -> tuple[int, int]:
    """This process's rank and the job's size, from the launcher's environment."""
    env = os.environ if environ is None else environ
    rank = next((int(env[v]) for v in _RANK_VARS if env.get(v, "").isdigit()), 0)
    size = next((int(env[v]) for v in _SIZE_VARS if env.get(v, "").isdigit()), 1)
    return rank, size


def die_with_parent() -> None:
    """SIGKILL this process when its parent (mpirun) dies (Linux; elsewhere a no-op)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def watch(pid: int, interval: float = 0.2) -> None:
    """End this process as soon as process ``pid`` (the worker) is gone."""

    def loop() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(137)
            except PermissionError:
                pass

    threading.Thread(target=loop, name="testfleet-mpi-watchdog", daemon=True).start()


class RankPlugin:
    """Writes this rank's reports, one JSON line each, as they come."""

    def __init__(self, path: str) -> None:
        self.out = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open for the session
        self.failed = False
        self.config: pytest.Config | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config

    def _write(self, data: dict[str, Any]) -> None:
        self.out.write(json.dumps(data, default=repr) + "\n")
        self.out.flush()

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        assert self.config is not None
        self.failed = self.failed or report.failed
        self._write(
            {"report": self.config.hook.pytest_report_to_serializable(config=self.config, report=report)}
        )

    @pytest.hookimpl(trylast=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.failed = True
            self._write({"collect_error": f"{report.nodeid or 'collection'}: {report.longreprtext.strip()}"})

    def close(self, code: int) -> None:
        self._write({"exit": code})
        self.out.close()


def abort_job_if_failed(failed: bool) -> None:
    """Other ranks may wait for this one in a collective that never comes: end the job."""
    mpi = sys.modules.get("mpi4py.MPI")
    if not failed or mpi is None:
        return
    try:
        if mpi.Is_initialized() and not mpi.Is_finalized() and mpi.COMM_WORLD.Get_size() > 1:
            sys.stdout.flush()
            sys.stderr.flush()
            mpi.COMM_WORLD.Abort(1)
    except Exception:  # noqa: BLE001 - best effort; the worker reads the reports either way
        pass


def main(argv: list[str]) -> int:
    outdir, nodeid, *args = argv
    die_with_parent()
    worker = os.environ.get(WORKER_PID_ENV, "")
    if worker.isdigit():
        watch(int(worker))
    rank, _size = rank_and_size()
    with open(os.path.join(outdir, f"rank-{rank}.pid"), "w", encoding="utf-8") as f:
        f.write(str(os.getpid()))
    plugin = RankPlugin(os.path.join(outdir, f"rank-{rank}.jsonl"))
    code = int(pytest.main([*args, nodeid], plugins=[plugin]))
    plugin.close(code)
    abort_job_if_failed(plugin.failed)
    return 0  # the verdict is in the reports; a non-zero exit would make mpirun kill the other ranks


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
