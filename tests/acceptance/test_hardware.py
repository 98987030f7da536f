"""GPUs and memory with real workers, on fake hardware (TESTFLEET_FAKE_GPUS,
TESTFLEET_FAKE_MEMORY_GB): every worker sees a GPU, GPU-marked tests hold theirs,
exclusive isolation, memory reservations, and ``testfleet workers`` showing the GPUs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

RECORD = """
import json, os, time
HERE = os.path.dirname(__file__)
def record(name, seconds=0.0, start=None):
    start = start or time.time()
    time.sleep(seconds)
    with open(os.path.join(HERE, "spans.jsonl"), "a") as fh:
        fh.write(json.dumps({"name": name, "start": start, "end": time.time(),
                             "cvd": os.environ.get("CUDA_VISIBLE_DEVICES"),
                             "worker": os.environ["TESTFLEET_WORKER"]}) + "\\n")
"""

# The suite, without torch: unmarked tests that would use CUDA when the worker has
# a device, CPU-only tests, and GPU-marked ones.
SUITE = """
import os, pytest
from helpers_record import record
def cuda_available():
    return bool(os.environ.get("CUDA_VISIBLE_DEVICES", "x"))
@pytest.mark.parametrize("n", range(6))
def test_uses_cuda_when_available(n):
    if not cuda_available():
        pytest.skip("no cuda (CUDA_VISIBLE_DEVICES='')")
    record(f"cuda{n}", 0.05)
@pytest.mark.parametrize("n", range(6))
def test_cpu_only(n):
    record(f"cpu{n}", 0.05)
@pytest.mark.fleet(requires={"gpu": 1})
@pytest.mark.parametrize("n", range(2))
def test_marked_gpu(n):
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"
    record(f"gpu{n}", 0.3)
"""


def spans(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / "spans.jsonl").read_text().splitlines()]


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


@pytest.fixture(autouse=True)
def no_inherited_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs must not inherit this process's own GPU settings (it may be a worker)."""
    for name in (
        "CUDA_VISIBLE_DEVICES",
        "TESTFLEET_FAKE_GPUS",
        "TESTFLEET_FAKE_MEMORY_GB",
        "TESTFLEET_GPU_ISOLATION",
    ):
        monkeypatch.delenv(name, raising=False)


def clean_env(**extra: str) -> dict[str, str]:
    return dict(extra)


def test_every_worker_sees_the_gpu_and_marked_tests_hold_it(fleet: Any) -> None:
    fleet.write("helpers_record.py", RECORD)
    fleet.write("test_suite.py", SUITE)
    db = fleet.root / "results.duckdb"
    run = fleet.run("-w", "4", "--db", str(db), env=clean_env(TESTFLEET_FAKE_GPUS="1"))
    assert run.code == 0, run.out + run.err
    assert run.report["counts"] == {"passed": 14}
    got = spans(fleet.root)
    assert len(got) == 14
    assert {s["cvd"] for s in got} == {"0"}, got  # nobody sees '' (or nothing)
    assert len({s["worker"] for s in got}) > 1  # the unmarked tests did spread over the workers
    gpu = [s for s in got if s["name"].startswith("gpu")]
    assert not overlaps(gpu[0], gpu[1])  # one GPU, held by one marked test at a time
    shown = subprocess.run(
        [sys.executable, "-m", "testfleet", "workers", "--db", str(db)],
        cwd=fleet.root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), shown.stdout
    rows = [line for line in lines if re.match(r"\s*w\d", line)]
    assert len(rows) >= 4, shown.stdout
    assert all("0:fake" in row for row in rows[:4]), shown.stdout


def test_exclusive_isolation_hides_a_slots_gpus_from_the_others(fleet: Any) -> None:
    fleet.write("helpers_record.py", RECORD)
    fleet.write(
        "test_excl.py",
        """
import os, pytest
from helpers_record import record
@pytest.mark.fleet(requires={"gpu": 1})
@pytest.mark.parametrize("n", range(2))
def test_gpu(n):
    assert os.environ["CUDA_VISIBLE_DEVICES"] == os.environ["TESTFLEET_WORKER"][1:]
    record(f"gpu{n}")
@pytest.mark.parametrize("n", range(6))
def test_any(n):
    record(f"any{n}", 0.05)
""",
    )
    run = fleet.run(
        "-w", "3", "--db", "none", "--gpu-isolation", "exclusive", env=clean_env(TESTFLEET_FAKE_GPUS="2")
    )
    assert run.code == 0, run.out + run.err
    by_worker = {s["worker"]: s["cvd"] for s in spans(fleet.root)}
    assert (
        by_worker.get("w0", "0") == "0" and by_worker.get("w1", "1") == "1" and by_worker.get("w2", "") == ""
    )
    assert {s["worker"] for s in spans(fleet.root) if s["name"].startswith("gpu")} <= {"w0", "w1"}


def test_memory_is_a_reservation_three_20gb_tests_on_23gb_never_overlap(fleet: Any) -> None:
    fleet.write("helpers_record.py", RECORD)
    fleet.write(
        "test_mem.py",
        """
import os, time, pytest
from helpers_record import HERE, record
def wait_for(name, seconds):
    deadline = time.time() + seconds
    while not os.path.exists(os.path.join(HERE, name)) and time.time() < deadline:
        time.sleep(0.02)
@pytest.mark.fleet(requires={"memory_gb": 20})
@pytest.mark.parametrize("n", range(3))
def test_big(n):
    start = time.time()
    wait_for("small-started", 3.0)  # a small test may start beside this one
    record(f"big{n}", max(0.0, 0.3 - (time.time() - start)), start)
@pytest.mark.fleet(requires={"memory_gb": 2})
@pytest.mark.parametrize("n", range(2))
def test_small(n):
    open(os.path.join(HERE, "small-started"), "w").close()
    record(f"small{n}", 0.3)
""",
    )
    run = fleet.run("-w", "3", "--db", "none", env=clean_env(TESTFLEET_FAKE_MEMORY_GB="23"))
    assert run.code == 0, run.out + run.err
    got = spans(fleet.root)
    big = [s for s in got if s["name"].startswith("big")]
    assert len(big) == 3
    assert not any(overlaps(a, b) for a in big for b in big if a is not b), big
    # A 2 GB test fits beside a 20 GB one, so the fleet was not serialised altogether.
    small = [s for s in got if s["name"].startswith("small")]
    assert any(overlaps(s, b) for s in small for b in big), got


def test_two_gpus_round_robin_whole_and_fractional_reservations(fleet: Any) -> None:
    fleet.write("helpers_record.py", RECORD)
    fleet.write(
        "test_two.py",
        """
import os, pytest
from helpers_record import record
@pytest.mark.fleet(requires={"gpu": 2})
def test_both_gpus():
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0,1"
    record("both")
@pytest.mark.fleet(requires={"gpu": 0.5})
@pytest.mark.parametrize("n", range(2))
def test_half(n):
    assert os.environ["CUDA_VISIBLE_DEVICES"] in ("0", "1")
    record(f"half{n}")
@pytest.mark.parametrize("n", range(4))
def test_unmarked(n):
    record(f"plain{n}", 0.05)
""",
    )
    run = fleet.run("-w", "2", "--db", "none", env=clean_env(TESTFLEET_FAKE_GPUS="2:40"))
    assert run.code == 0, run.out + run.err
    got = spans(fleet.root)
    plain = {s["worker"]: s["cvd"] for s in got if s["name"].startswith("plain")}
    # w0 sees GPU 0, w1 GPU 1, also after a GPU test ran on it (its own value is restored).
    assert all(cvd == worker[1:] for worker, cvd in plain.items()), plain
    assert {s["cvd"] for s in got if s["name"] == "both"} == {"0,1"}


def test_an_mpi_test_on_a_worker_without_mpirun_fails_saying_so(fleet: Any) -> None:
    fleet.write(
        "test_mpi_missing.py",
        """
import pytest
@pytest.mark.fleet(mpi=2)
def test_ranks():
    pass
def test_plain():
    pass
""",
    )
    run = fleet.run("-w", "2", "--db", "none", env=clean_env(TESTFLEET_MPIRUN="no-such-mpirun"))
    assert run.code == 1, run.out + run.err
    ranks = run.outcome("test_ranks")
    assert ranks["outcome"] == "failed"
    assert ranks["message"] == (
        "mpi=2: no-such-mpirun not found on PATH (install Open MPI or MPICH, or set TESTFLEET_MPIRUN)"
    )
    assert run.outcome("test_plain")["outcome"] == "passed"
