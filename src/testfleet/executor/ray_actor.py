"""The node side of the Ray backend: the worker-slot actor and the worker entry point.

Each worker slot of a Ray run is one :class:`WorkerHost` actor, created with the resources of
the work it will take. The actor does not run tests itself: on its node it launches a
spawn-mode worker subprocess (``python -m testfleet.executor.ray_actor``), which collects the
suite, connects to the controller over TCP and runs the ordinary worker loop
(:func:`testfleet.worker.loop.run_worker`). The actor waits for the subprocess to exit and
reports how it ended, kills its process group on request and dumps its Python stacks on
request (SIGUSR1, read from ``<worker>.stacks`` in the node-local work directory).

The subprocess dies with its actor (``PR_SET_PDEATHSIG``), so a lost node takes its workers
down with it, as a lost machine would.

This module runs on Ray nodes: it imports only the standard library, pytest and the worker
side of testfleet (with :mod:`~testfleet.executor.ray_env` and the pure
:mod:`~testfleet.executor.ray_placement`); ``ray`` only inside the actor's methods.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from testfleet.diagnostics import describe_exit, read_tail
from testfleet.executor.ray_env import node_env
from testfleet.executor.ray_placement import slot_caps

# Tails of these files go back to the controller with the exit status.
WORKER_FILES = ("fd1", "fd2", "log", "crash")
FILE_TAIL = 64 * 1024
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """preexec_fn: SIGKILL this child when the thread that launched it goes away."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass


def _tail(path: str, limit: int = FILE_TAIL) -> str | None:
    return read_tail(path, limit, marker=False)


def node_path(path: str, root: str | None, here: str) -> str:
    """A controller-side path under the shipped ``root`` -> the same path in ``here``."""
    if root is None or not os.path.isabs(path):
        return path
    rel = os.path.relpath(path, root)
    if rel == "." or not rel.startswith(".."):
        return os.path.normpath(os.path.join(here, rel))
    return path


class _Launched:
    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.error: str | None = None
        self.started = threading.Event()
        self.done = threading.Event()
        self.code: int | None = None


class WorkerHost:
    """One worker slot on a Ray node (wrapped with ``ray.remote`` by the controller side).

    ``reserved`` is what the actor was created with in testfleet's terms (``gpu``,
    ``memory_gb`` and custom resource amounts); it becomes part of the worker's ``caps``.
    """

    def __init__(self, reserved: dict[str, float]) -> None:
        self.reserved = dict(reserved)
        self.workdir = tempfile.mkdtemp(prefix="testfleet-ray-")
        self.here = os.getcwd()
        self.launched: dict[str, _Launched] = {}
        self.lock = threading.Lock()
        self._caps: dict[str, Any] | None = None

    # --- what this slot is ---
    def caps(self) -> dict[str, Any]:
        """Capabilities advertised in the worker's hello, on top of the detected ones."""
        if self._caps is not None:
            return self._caps
        import ray

        ctx = ray.get_runtime_context()
        node_id = ctx.get_node_id()
        node: dict[str, Any] = {}
        try:
            node = next((n for n in ray.nodes() if n.get("NodeID") == node_id), {})
        except Exception:  # noqa: BLE001 - node details are informative only
            node = {}
        gpu_ids = [str(g) for g in ray.get_gpu_ids()]
        caps = slot_caps(
            self.reserved,
            node_id,
            node.get("NodeManagerAddress") or ray.util.get_node_ip_address(),
            node.get("Resources") or {},
            gpu_ids,
        )
        caps["host_cpus"] = os.cpu_count() or 1
        self._caps = caps
        return caps

    # --- one worker process ---
    def launch(self, worker_id: str, spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
        """Start the worker subprocess; returns its pid and where it runs."""
        caps = self.caps()
        root = spec.get("root")
        child = dict(spec)
        child.pop("root", None)
        child["cwd"] = node_path(spec["cwd"], root, self.here)
        child["args"] = [node_path(a, root, self.here) for a in spec["args"]]
        child["workdir"] = self.workdir
        child["caps"] = caps
        full_env = node_env(os.environ, env, child, caps)
        entry = self._entry(worker_id)
        # The launching thread lives as long as the child, so PDEATHSIG fires only when the
        # actor process itself goes.
        threading.Thread(
            target=self._run,
            args=(entry, worker_id, child["cwd"], full_env),
            name=f"testfleet-{worker_id}",
            daemon=True,
        ).start()
        entry.started.wait()
        if entry.error is not None:
            raise RuntimeError(entry.error)
        assert entry.proc is not None
        return {
            "pid": entry.proc.pid,
            "node": caps["node"],
            "node_ip": caps["node_ip"],
            "host": platform.node(),
            "workdir": self.workdir,
        }

    def _entry(self, worker_id: str) -> _Launched:
        with self.lock:
            return self.launched.setdefault(worker_id, _Launched())

    def _run(self, entry: _Launched, worker_id: str, cwd: str, env: dict[str, str]) -> None:
        try:
            with open(os.path.join(self.workdir, f"{worker_id}.spawn.log"), "wb") as out:
                entry.proc = subprocess.Popen(
                    [sys.executable, "-m", "testfleet.executor.ray_actor"],
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
        except OSError as exc:
            entry.error = f"cannot start the worker on {platform.node()}: {exc}"
            entry.started.set()
            entry.done.set()
            return
        entry.started.set()
        entry.code = entry.proc.wait()
        entry.done.set()

    def wait_exit(self, worker_id: str) -> dict[str, Any]:
        """Block until the worker exits; its status line and the tails of its files."""
        entry = self._entry(worker_id)  # calls run concurrently: this may come before launch
        entry.done.wait()
        status = entry.error or describe_exit(entry.code if entry.code is not None else -9)
        files = {s: _tail(os.path.join(self.workdir, f"{worker_id}.{s}")) for s in WORKER_FILES}
        spawn_log = _tail(os.path.join(self.workdir, f"{worker_id}.spawn.log"), 8000)
        if spawn_log and not files.get("log"):
            files["log"] = spawn_log
        return {"status": status, "files": files}

    def kill(self, worker_id: str) -> None:
        entry = self.launched.get(worker_id)
        if entry is None or entry.proc is None:
            return
        pid = entry.proc.pid
        for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            try:
                target()
                return
            except OSError:
                continue

    def dump_stacks(self, worker_id: str, wait: float = 1.0) -> str:
        entry = self.launched.get(worker_id)
        if entry is None or entry.proc is None:
            return ""
        from testfleet.worker.capture import dump_stacks

        return dump_stacks(entry.proc.pid, os.path.join(self.workdir, f"{worker_id}.stacks"), wait)

    def stop(self, wait: float = 5.0) -> None:
        """End of the run: give workers ``wait`` seconds, then kill what is left."""
        deadline = time.monotonic() + wait
        for entry in self.launched.values():
            entry.done.wait(max(0.0, deadline - time.monotonic()))
        for entry in self.launched.values():
            if entry.proc is not None:
                try:
                    os.killpg(entry.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
        shutil.rmtree(self.workdir, ignore_errors=True)


# --------------------------------------------------------------------- the worker process
def main() -> None:
    """``python -m testfleet.executor.ray_actor``: a spawn-mode worker that advertises its
    Ray slot's capabilities."""
    import traceback

    import pytest

    from testfleet.worker.collector import CollectorPlugin

    spec = json.loads(os.environ.pop("TESTFLEET_SPEC"))
    os.environ["TESTFLEET_ROLE"] = "worker"
    os.chdir(spec["cwd"])
    plugins: list[Any] = [CollectorPlugin(spec)]  # role "worker": collects, then serves
    if not _plugin_installed():
        plugins.append("testfleet.plugin")  # testfleet was shipped, not installed, on this node
    try:
        code = pytest.main(spec["args"], plugins=plugins)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        code = 3
    # pytest returned: it never reached the run loop (usage error, conftest error, ...).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code) or 3)


def _plugin_installed() -> bool:
    from importlib.metadata import entry_points

    return any(ep.name == "testfleet" for ep in entry_points(group="pytest11"))


if __name__ == "__main__":
    main()
