"""What plugins written for pytest-xdist look for in a worker, set in every fleet worker.

pytest-xdist gives each worker ``config.workerinput`` (``workerid`` ``gw0``, ``gw1``...,
``workercount``, ``testrunuid``, ``mainargv``), an empty ``config.workeroutput`` dict the
controller receives when the worker ends, and the environment variables
``PYTEST_XDIST_WORKER``, ``PYTEST_XDIST_WORKER_COUNT`` and ``PYTEST_XDIST_TESTRUNUID``.
Plugins use them to tell workers apart (pytest-django suffixes its test databases with the
``workerid``) and tests to share out resources. A fleet worker gets the same, set when it
starts (after the fork): ``gw<slot>`` names the worker slot, so a worker that replaces a
crashed one has the same id (and the same database) as the one it replaces.

What is not emulated: xdist's node objects and its ``pytest_configure_node`` /
``pytest_testnodedown`` hooks (per-plugin adapters in this package do that work instead;
testfleet's own ``pytest_testfleet_worker_input`` / ``pytest_testfleet_worker_output`` are
their equivalents for plugins that support testfleet), so plugins that only check
``config.workerinput`` in their ``pytest_configure`` see a plain pytest process there (the
collector is not a worker).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import pytest

ENV_WORKER = "PYTEST_XDIST_WORKER"
ENV_COUNT = "PYTEST_XDIST_WORKER_COUNT"
ENV_RUN_UID = "PYTEST_XDIST_TESTRUNUID"
ENV_INPUT = "TESTFLEET_WORKERINPUT"  # JSON: what plugins gave pytest_testfleet_worker_input


def slot_of(worker_id: str) -> int:
    """The worker's slot: ``w3`` and its replacements ``w3.1``, ``w3.2`` are slot 3."""
    name = os.environ.get("TESTFLEET_WORKER") or worker_id
    digits = name.lstrip("w").split(".", 1)[0]
    return int(digits) if digits.isdigit() else 0


def input_env(config: pytest.Config, worker_id: str) -> dict[str, str]:
    """In the controller: the worker's share of plugins' data, as its environment."""
    given: dict[str, Any] = {}
    for part in config.hook.pytest_testfleet_worker_input(config=config, worker_id=worker_id):
        if part:
            given.update(part)
    return {ENV_INPUT: json.dumps(given)} if given else {}


def workerinput_for(worker_id: str) -> dict[str, Any]:
    """``config.workerinput`` of a fleet worker, from what the controller put in its environment."""
    count = os.environ.get("TESTFLEET_WORKERS", "1")
    given = json.loads(os.environ.get(ENV_INPUT) or "{}")
    return {
        **given,
        "workerid": f"gw{slot_of(worker_id)}",
        "workercount": int(count) if count.isdigit() else 1,
        "testrunuid": os.environ.get("TESTFLEET_RUN_ID", ""),
        "mainargv": list(sys.argv),
        "testfleet_worker": worker_id,
    }


def install(config: pytest.Config, worker_id: str) -> dict[str, Any]:
    """Give this worker process xdist's identity; returns its ``workerinput``."""
    info = workerinput_for(worker_id)
    setattr(config, "workerinput", info)  # noqa: B010 - an attribute pytest.Config does not declare
    setattr(config, "workeroutput", {})  # noqa: B010
    os.environ[ENV_WORKER] = info["workerid"]
    os.environ[ENV_COUNT] = str(info["workercount"])
    os.environ[ENV_RUN_UID] = info["testrunuid"]
    return info


def workeroutput(config: pytest.Config) -> dict[str, Any]:
    out = getattr(config, "workeroutput", None)
    return out if isinstance(out, dict) else {}
