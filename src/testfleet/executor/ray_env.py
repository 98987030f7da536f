"""The environment of a Ray worker: what goes from the controller, what the node adds.

The controller's environment goes to the workers (as it does to local workers), except what
describes this machine or this process rather than the run (:data:`NOT_FORWARDED`). On the
node, the worker's environment is the node's own, then what was forwarded, then the run's
``TESTFLEET_*`` variables (:func:`node_env`). Standard library only: this runs on nodes too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

NOT_FORWARDED = frozenset(
    {
        "PATH",
        "HOME",
        "PWD",
        "OLDPWD",
        "SHELL",
        "SHLVL",
        "USER",
        "LOGNAME",
        "HOSTNAME",
        "MAIL",
        "_",
        "TMPDIR",
        "TEMP",
        "TMP",
        "TERM",
        "DISPLAY",
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONEXECUTABLE",
        "CUDA_VISIBLE_DEVICES",
        "OMP_NUM_THREADS",
        "PYTEST_CURRENT_TEST",
        "TESTFLEET_SPEC",
        "TESTFLEET_ROLE",
    }
)
NOT_FORWARDED_PREFIXES = ("RAY_", "LD_", "SSH_", "XDG_", "CONDA", "DYLD_")


def forwarded_env(environ: Mapping[str, str]) -> dict[str, str]:
    """What of the controller's environment goes to the workers."""
    return {
        k: v
        for k, v in environ.items()
        if k not in NOT_FORWARDED and not k.startswith(NOT_FORWARDED_PREFIXES)
    }


def worker_env(controller_environ: Mapping[str, str], run_env: Mapping[str, str]) -> dict[str, str]:
    """Controller side: the forwarded environment with the run's variables for one worker
    (``TESTFLEET_WORKER``, its port range, ...) on top."""
    return {**forwarded_env(controller_environ), **run_env}


def node_env(
    node_environ: Mapping[str, str],
    sent: Mapping[str, str],
    child_spec: Mapping[str, Any],
    caps: Mapping[str, Any],
) -> dict[str, str]:
    """Node side: the worker subprocess's environment (the node's own under what was sent)."""
    env = dict(node_environ)
    env.update(sent)
    env["TESTFLEET_SPEC"] = json.dumps(dict(child_spec))
    env["PYTHONUNBUFFERED"] = "1"
    env["TESTFLEET_RAY_NODE"] = str(caps["node"])
    env["TESTFLEET_RAY_NODE_IP"] = str(caps["node_ip"])
    if caps.get("gpu_ids"):
        env["TESTFLEET_GPUS"] = ",".join(caps["gpu_ids"])
    return env
