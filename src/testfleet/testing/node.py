"""One node of a :class:`~testfleet.testing.cluster.ProcessCluster`: what it knows, and its process.

A node is either a command or a Python callable run in a fresh interpreter; both are started with
:mod:`subprocess` and run in their own session, hence their own process group, so signals
reach the node and everything it started, and nothing the node does reaches the test process.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from testfleet.testing.errors import ClusterError

ENV_NODE_INDEX = "TESTFLEET_NODE_INDEX"
ENV_NODE_NAME = "TESTFLEET_NODE_NAME"
ENV_NODE_PORTS = "TESTFLEET_NODE_PORTS"
ENV_NODE_PEERS = "TESTFLEET_NODE_PEERS"
ENV_NODE_LOG = "TESTFLEET_NODE_LOG"
ENV_NODE_RESTARTS = "TESTFLEET_NODE_RESTARTS"

NodeTarget = Callable[["NodeContext"], object]


@dataclass(frozen=True)
class NodeContext:
    """What a node is told about itself: passed to a callable node, or read with :meth:`from_env`.

    ``peers[k]`` are the ports of node ``k`` (this node included), so peer-to-peer nodes can find
    each other without any discovery.
    """

    index: int
    name: str
    ports: tuple[int, ...]
    peers: tuple[tuple[int, ...], ...]
    log_path: str
    restarts: int = 0

    @property
    def port(self) -> int:
        """The node's first port."""
        if not self.ports:
            raise ClusterError(f"node {self.name} has no ports; start the cluster with ports_per_node >= 1")
        return self.ports[0]

    @property
    def peer_ports(self) -> tuple[int, ...]:
        """The first port of every other node."""
        return tuple(p[0] for k, p in enumerate(self.peers) if k != self.index and p)

    def to_env(self) -> dict[str, str]:
        return {
            ENV_NODE_INDEX: str(self.index),
            ENV_NODE_NAME: self.name,
            ENV_NODE_PORTS: ",".join(map(str, self.ports)),
            ENV_NODE_PEERS: ";".join(",".join(map(str, p)) for p in self.peers),
            ENV_NODE_LOG: self.log_path,
            ENV_NODE_RESTARTS: str(self.restarts),
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NodeContext:
        """Rebuild the context inside a command node from the ``TESTFLEET_NODE_*`` variables."""
        env = os.environ if environ is None else environ
        if ENV_NODE_INDEX not in env:
            raise ClusterError(f"{ENV_NODE_INDEX} is not set: this process was not started by ProcessCluster")

        def ports(text: str) -> tuple[int, ...]:
            return tuple(int(p) for p in text.split(",") if p)

        return cls(
            index=int(env[ENV_NODE_INDEX]),
            name=env.get(ENV_NODE_NAME, ""),
            ports=ports(env.get(ENV_NODE_PORTS, "")),
            peers=tuple(ports(chunk) for chunk in env.get(ENV_NODE_PEERS, "").split(";"))
            if env.get(ENV_NODE_PEERS)
            else (),
            log_path=env.get(ENV_NODE_LOG, ""),
            restarts=int(env.get(ENV_NODE_RESTARTS, "0")),
        )


class _Process(Protocol):
    pid: int | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float) -> int | None: ...


class _Subprocess:
    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid: int | None = popen.pid

    def poll(self) -> int | None:
        return self._popen.poll()

    def wait(self, timeout: float) -> int | None:
        try:
            return self._popen.wait(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            return None


def _target_reference(target: NodeTarget) -> tuple[str, str] | NodeTarget:
    """Send a module-level function by name (so import errors land in the node's log), else pickled."""
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", "")
    if module and qualname and "<" not in qualname:
        return (module, qualname)
    return target


def _resolve(reference: tuple[str, str] | NodeTarget) -> NodeTarget:
    if not isinstance(reference, tuple):
        return reference
    module_name, qualname = reference
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[no-any-return]


def _watch_parent(parent_pid: int) -> None:
    """Kill this node's whole group if the test process dies without cleaning up."""
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os.killpg(os.getpgrp(), signal.SIGKILL)


_BOOTSTRAP = "from testfleet.testing.node import _node_main; _node_main()"


def _node_main() -> None:
    """Entry point of a callable node: read (context, target, sys.path) from stdin and run it."""
    context, reference, path, parent = pickle.loads(sys.stdin.buffer.read())
    sys.path[:] = path
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="testfleet-parent-watch").start()
    _resolve(reference)(context)


def _payload(target: NodeTarget, context: NodeContext) -> bytes:
    path = [os.path.abspath(p) if p in ("", ".") else p for p in sys.path]
    try:
        return pickle.dumps((context, _target_reference(target), path, os.getpid()))
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ClusterError(
            f"cannot send {target!r} to node {context.name}: {error}; "
            "use a module-level function (not a lambda or a nested function) or a picklable callable"
        ) from error


def launch(
    target: Sequence[str] | NodeTarget,
    context: NodeContext,
    *,
    extra_args: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None,
) -> _Process:
    """Start one node process in its own session, its output appended to ``context.log_path``.

    A callable runs in a fresh interpreter (``python -c``, like multiprocessing's spawn but without
    re-importing the test's ``__main__``); it gets the test process's ``sys.path``.
    """
    payload = _payload(target, context) if callable(target) else None
    argv = [sys.executable, "-c", _BOOTSTRAP] if callable(target) else [*target, *extra_args]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **context.to_env(), **env}
    with open(context.log_path, "ab") as log:
        try:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if payload is not None else subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=full_env,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as error:
            raise ClusterError(f"cannot start node {context.name} with {argv!r}: {error}") from error
    if payload is not None:
        assert popen.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            popen.stdin.write(payload)
        popen.stdin.close()
    return _Subprocess(popen)


def signal_group(pid: int, sig: int) -> bool:
    """Send ``sig`` to the process group led by ``pid``; False if it is gone."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def wait_stopped_state(pid: int, stopped: bool, timeout: float = 1.0) -> None:
    """Best effort (Linux /proc): return once ``pid`` is stopped (``T``) or running again."""
    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if (state in ("T", "t")) == stopped:
            return
        time.sleep(0.005)
