"""Threads of numeric libraries in local workers (``executor/local.py: thread_env``,
``config.worker_threads``): the usable CPUs shared out among the workers, and never over what
the user set."""

from __future__ import annotations

import pytest

from testfleet import config
from testfleet.executor.local import THREAD_VARS, thread_env


@pytest.mark.parametrize(
    ("cpus", "workers", "threads"), [(16, 4, 4), (16, 3, 5), (2, 2, 1), (2, 8, 1), (8, 1, 8)]
)
def test_the_cpus_are_shared_out_among_the_workers(
    monkeypatch: pytest.MonkeyPatch, cpus: int, workers: int, threads: int
) -> None:
    monkeypatch.setattr(config, "usable_cpus", lambda: cpus)
    assert config.worker_threads(workers) == threads


def test_every_library_gets_the_cap_unless_the_user_set_it() -> None:
    assert thread_env(2, {}) == dict.fromkeys(THREAD_VARS, "2")
    assert set(THREAD_VARS) >= {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}
    mine = thread_env(2, {"OMP_NUM_THREADS": "6", "PATH": "/bin"})
    assert "OMP_NUM_THREADS" not in mine and mine["OPENBLAS_NUM_THREADS"] == "2"
    assert thread_env(0, {}) == {}  # Ray's workers: Ray sets them
