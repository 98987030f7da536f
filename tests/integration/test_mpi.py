"""MPI-launched tests with a real mpirun (Open MPI or MPICH) and mpi4py: a test marked
``fleet(mpi=2)`` passes only when every rank passes, fails with the failing rank's message
and traceback, and ends in ``timeout`` with every rank process gone when one rank hangs.
Each rank's output is kept as its own section."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testfleet.testing import eventually

pytestmark = [
    pytest.mark.skipif(
        shutil.which("mpirun") is None,
        reason="mpirun not installed (apt-get install -y openmpi-bin libopenmpi-dev)",
    ),
    pytest.mark.skipif(
        not any((Path(p) / "mpi4py").is_dir() for p in sys.path if p),
        reason="mpi4py not installed (pip install mpi4py)",
    ),
]

SUITE = """
import os, time, pytest

@pytest.mark.fleet(mpi=2)
def test_allreduce():
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    print(f"hello from rank {comm.Get_rank()}")
    assert comm.Get_size() == 2
    assert comm.allreduce(comm.Get_rank() + 1) == 3

@pytest.mark.fleet(mpi=2)
def test_rank_one_fails():
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    if comm.Get_rank() == 1:
        assert comm.Get_rank() == 0, "rank one disagrees"
    comm.Barrier()

@pytest.mark.fleet(mpi=2)
def test_rank_one_hangs():
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    with open(os.path.join(os.environ["PID_DIR"], f"{comm.Get_rank()}.pid"), "w") as f:
        f.write(str(os.getpid()))
    print(f"rank {comm.Get_rank()} reached the barrier", flush=True)
    if comm.Get_rank() == 1:
        time.sleep(600)
    comm.Barrier()

def test_plain():
    assert "TESTFLEET_MPI_DIR" not in os.environ
"""


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphaned rank waits to be reaped by init)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def run(
    root: Path, *args: str, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    report = root / "report.json"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TESTFLEET_", "PYTEST_"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "testfleet",
            "run",
            "--db",
            "none",
            "--report-json",
            str(report),
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=root,
        env={**full_env, **env},
        capture_output=True,
        text=True,
        timeout=240,
    )
    return proc, json.loads(report.read_text()) if report.exists() else {}


@pytest.mark.slow
def test_mpi_ranks_pass_fail_and_time_out_together(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_mpi_suite.py").write_text(SUITE)
    pids = tmp_path / "pids"
    pids.mkdir()
    proc, report = run(tmp_path, "-w", "4", "--timeout", "15", "-rP", env={"PID_DIR": str(pids)})
    out = proc.stdout + proc.stderr
    tests = {t["nodeid"].split("::")[1]: t for t in report["tests"]}
    assert {name: t["outcome"] for name, t in tests.items()} == {
        "test_allreduce": "passed",
        "test_rank_one_fails": "failed",
        "test_rank_one_hangs": "timeout",
        "test_plain": "passed",
    }, out
    assert proc.returncode == 1
    # Every rank's output, each in its own section.
    assert "Captured stdout call (rank 0)" in out and "hello from rank 0" in out
    assert "Captured stdout call (rank 1)" in out and "hello from rank 1" in out
    # The failing rank's message and traceback.
    failed = tests["test_rank_one_fails"]
    assert failed["message"] == "rank 1/2: AssertionError: rank one disagrees"
    assert 'assert comm.Get_rank() == 0, "rank one disagrees"' in out
    # The hang: a timeout with what the ranks printed so far, and no rank left running.
    hang = tests["test_rank_one_hangs"]
    assert hang["message"].startswith("Timeout: the test ran longer than 15s")
    assert "rank 1 reached the barrier" in out and "rank 0 reached the barrier" in out
    rank_pids = [int((pids / f"{k}.pid").read_text()) for k in range(2)]
    eventually(
        lambda: not any(running(p) for p in rank_pids),
        timeout=10,
        message=f"rank processes {rank_pids} still running after the timeout",
    )
