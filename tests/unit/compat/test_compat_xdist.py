from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from testfleet.compat import xdist


@pytest.mark.parametrize(
    ("env_worker", "worker_id", "slot"),
    [("w3", "w3.1", 3), (None, "w2", 2), (None, "w5.2", 5), (None, "odd", 0)],
)
def test_slot_names_the_worker_slot_replacements_included(
    monkeypatch: pytest.MonkeyPatch, env_worker: str | None, worker_id: str, slot: int
) -> None:
    if env_worker is None:
        monkeypatch.delenv("TESTFLEET_WORKER", raising=False)
    else:
        monkeypatch.setenv("TESTFLEET_WORKER", env_worker)
    assert xdist.slot_of(worker_id) == slot


def test_install_gives_the_worker_xdists_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTFLEET_WORKER", "w1")
    monkeypatch.setenv("TESTFLEET_WORKERS", "4")
    monkeypatch.setenv("TESTFLEET_RUN_ID", "20260101-000000-abcd")
    for name in (xdist.ENV_WORKER, xdist.ENV_COUNT, xdist.ENV_RUN_UID):
        monkeypatch.delenv(name, raising=False)
    config: Any = SimpleNamespace()
    info = xdist.install(config, "w1.2")
    assert config.workerinput == info
    assert (info["workerid"], info["workercount"], info["testrunuid"], info["testfleet_worker"]) == (
        "gw1",
        4,
        "20260101-000000-abcd",
        "w1.2",
    )
    assert config.workeroutput == {} and xdist.workeroutput(config) is config.workeroutput
    import os

    assert (os.environ[xdist.ENV_WORKER], os.environ[xdist.ENV_COUNT], os.environ[xdist.ENV_RUN_UID]) == (
        "gw1",
        "4",
        "20260101-000000-abcd",
    )


def test_workeroutput_of_a_process_that_is_no_worker_is_empty() -> None:
    assert xdist.workeroutput(SimpleNamespace()) == {}  # type: ignore[arg-type]
