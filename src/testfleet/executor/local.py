"""The local executor: one collector process that forks workers (or spawned workers).

The controller owns the listening socket; the collector and every worker connect to it and
identify themselves with their first message. Worker exits are reported by the collector
(the workers' parent) in fork mode, and found by ``poll`` on the children in spawn mode.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from testfleet.config import Settings
from testfleet.diagnostics import describe_exit
from testfleet.messages import Channel, ChannelClosed

if TYPE_CHECKING:
    from collections.abc import Sequence

    from testfleet.scheduler.protocol import TestSpec


@dataclass
class LaunchSpec:
    args: list[str]
    cwd: str
    start: str = "fork"  # or "spawn"
    gc_freeze: bool = True
    env: dict[str, str] = field(default_factory=dict)
    collectors: int = 1  # --collectors K: K collectors, each collecting a share of the files
    threads: int = 0  # threads for numeric libraries in the collector and its workers (0: as set)


# The thread pools of numeric libraries (OpenMP, OpenBLAS, MKL, Accelerate, numexpr): each
# sizes itself to every CPU of the machine when its library loads, so N workers on N CPUs run
# N x N threads (networkx's suite on 2 CPUs: 10% more CPU, 12% longer). Set where the user has
# not, before the collector imports anything, as Ray does for its workers.
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def thread_env(threads: int, environ: Mapping[str, str]) -> dict[str, str]:
    """``threads`` for each of THREAD_VARS that ``environ`` does not set (none for 0)."""
    if threads <= 0:
        return {}
    return {var: str(threads) for var in THREAD_VARS if var not in environ}


class Endpoint:
    """A run's work directory and the controller's listening socket in it."""

    def __init__(self) -> None:
        self.workdir = tempfile.mkdtemp(prefix="testfleet-")
        self.address = os.path.join(self.workdir, "ctl.sock")
        self.token = secrets.token_hex(8)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.address)
        self.listener.listen(64)
        self.listener.setblocking(False)


class Prestarted:
    """A collector started by ``testfleet run`` before pytest itself has started up in the
    controller, so the two start-ups overlap (about half a second saved on every run). It
    is forked from ``testfleet run`` once pytest and the collector's module are imported
    there (``executor/forked.py``: no interpreter start-up and no imports of its own; the
    caller passes the module), or, without it or where there is no ``fork``, started as
    ``python -m testfleet.worker.collector``.

    The executor adopts it only if it was started for exactly the run pytest then
    configures (same arguments, directory and collector settings); otherwise it is killed
    and a collector is started as usual. :meth:`discard` removes one nobody adopted.
    """

    current: Prestarted | None = None

    def __init__(self, spec: LaunchSpec, collector: ModuleType | None = None) -> None:
        self.spec = spec
        self.adopted = False
        self.endpoint = Endpoint()
        self.procs: list[Any] = [
            _fork_collector(collector, spec, self.endpoint, collector_log_name(k), k)
            if collector is not None and hasattr(os, "fork")
            else _popen_collector(spec, self.endpoint, "collector", None, {}, collector_log_name(k), k)
            for k in range(spec.collectors)
        ]

    @classmethod
    def start(cls, spec: LaunchSpec, collector: ModuleType | None = None) -> Prestarted:
        """``collector``: the module ``testfleet.worker.collector``, to fork collectors that
        run it; None: spawn them."""
        cls.current = cls(spec, collector)
        return cls.current

    @classmethod
    def take(cls, spec: LaunchSpec) -> Prestarted | None:
        found, cls.current = cls.current, None
        if found is None:
            return None

        def key(s: LaunchSpec) -> tuple[Any, ...]:
            return (s.args, s.cwd, s.gc_freeze, s.env, s.collectors, s.threads)

        if key(found.spec) == key(spec):
            found.adopted = True
            return found
        found.discard()
        return None

    def discard(self) -> None:
        """Kill the collector and remove its work directory, unless an executor adopted it."""
        if Prestarted.current is self:
            Prestarted.current = None
        if self.adopted:
            return
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
        self.procs = []
        self.endpoint.listener.close()
        shutil.rmtree(self.endpoint.workdir, ignore_errors=True)


def collector_log_name(k: int) -> str:
    return "collector.log" if k == 0 else f"collector{k}.log"


def _child_spec(
    spec: LaunchSpec, endpoint: Endpoint, role: str, worker: str | None, collector: int = 0
) -> dict[str, Any]:
    split = {"collector": collector, "collectors": spec.collectors} if spec.collectors > 1 else {}
    return {
        **split,
        "role": role,
        "args": spec.args,
        "cwd": spec.cwd,
        "address": endpoint.address,
        "workdir": endpoint.workdir,
        "token": endpoint.token,
        "worker": worker,
        "gc_freeze": spec.gc_freeze,
    }


def _fork_collector(
    module: ModuleType, spec: LaunchSpec, endpoint: Endpoint, log: str, collector: int
) -> Any:
    """:func:`_popen_collector`'s collector, forked (see :class:`Prestarted`)."""
    from testfleet.executor.forked import fork_collector

    env = dict(spec.env)
    env.update(thread_env(spec.threads, {**os.environ, **env}))
    env["TESTFLEET_SPEC"] = json.dumps(_child_spec(spec, endpoint, "collector", None, collector))
    env["PYTHONUNBUFFERED"] = "1"
    return fork_collector(module, env, spec.cwd, os.path.join(endpoint.workdir, log), [endpoint.listener])


def _popen_collector(
    spec: LaunchSpec,
    endpoint: Endpoint,
    role: str,
    worker: str | None,
    env_extra: dict[str, str],
    log: str,
    collector: int = 0,
) -> subprocess.Popen[bytes]:
    """``python -m testfleet.worker.collector`` as a collector (``collector``: its index, with
    ``--collectors K``), or as a spawned worker."""
    env = dict(os.environ)
    env.update(spec.env)
    env.update(thread_env(spec.threads, env))
    env.update(env_extra)
    env["TESTFLEET_SPEC"] = json.dumps(_child_spec(spec, endpoint, role, worker, collector))
    env["PYTHONUNBUFFERED"] = "1"
    out = open(os.path.join(endpoint.workdir, log), "wb")  # noqa: SIM115
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "testfleet.worker.collector"],
            cwd=spec.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        out.close()


def process_state(pid: int) -> str | None:
    """The state letter of a process (R, S, T, Z, ...), None when there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc: ask the kernel whether it exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except OSError:
            pass
        return "?"
    fields = data.rpartition(b")")[2].split()
    return fields[0].decode() if fields else "?"


def collector_ended(code: int, group: int | None = None) -> str:
    """How the collector process ended, in words: "the collector process exited with code 3",
    "... was killed by signal 9 (SIGKILL)" (wording from :func:`testfleet.diagnostics.describe_exit`);
    ``group``: with ``--collectors K``, "collector 1's process ..."."""
    words = describe_exit(code)
    who = "the collector process" if group is None else f"collector {group}'s process"
    return f"{who} {'was ' + words if code < 0 else words}"


class LocalExecutor:
    """Starts the collector, forks/spawns workers, kills them, dumps their stacks."""

    backend = "local"

    def __init__(self, spec: LaunchSpec, settings: Settings | None = None) -> None:
        self.spec = spec
        # The run's settings: a local executor settles nothing they left open, so they are the
        # controller's own (the Ray executor keeps a copy it completes, see executor/ray.py).
        self.settings = settings if settings is not None else Settings()
        early = Prestarted.take(spec)
        self.endpoint = early.endpoint if early is not None else Endpoint()
        self.workdir = self.endpoint.workdir
        self.address = self.endpoint.address
        self.token = self.endpoint.token
        self.listener = self.endpoint.listener
        count = max(1, spec.collectors if spec.start == "fork" else 1)
        # One collector per group (--collectors K; K = 1 by default): its process and channel.
        self.collectors: list[subprocess.Popen[bytes] | None] = (
            list(early.procs) if early is not None else [None] * count
        )
        self.collector_chans: list[Channel | None] = [None] * count
        self.spawned: dict[str, subprocess.Popen[bytes]] = {}
        self.pids: dict[str, int] = {}
        self.fork_requested: dict[str, float] = {}
        self.listeners = [self.listener]
        self.timings: dict[str, Any] = {}
        self.placed = False  # the controller's own slots (RunState.slot_caps)

    # --- start-up ---
    def _child_spec(self, role: str, worker: str | None = None) -> dict[str, Any]:
        return _child_spec(self.spec, self.endpoint, role, worker)

    def _popen(
        self, role: str, worker: str | None, env_extra: dict[str, str], log: str
    ) -> subprocess.Popen[bytes]:
        return _popen_collector(self.spec, self.endpoint, role, worker, env_extra, log)

    @property
    def collector(self) -> subprocess.Popen[bytes] | None:
        return self.collectors[0]

    @property
    def collector_chan(self) -> Channel | None:
        return self.collector_chans[0]

    def start_collector(self) -> None:
        for k, proc in enumerate(self.collectors):
            if proc is None:  # else prestarted by `testfleet run`
                self.collectors[k] = _popen_collector(
                    self.spec, self.endpoint, "collector", None, {}, collector_log_name(k), k
                )

    def attach_collector(self, chan: Channel, group: int = 0) -> None:
        self.collector_chans[group] = chan

    def collector_log(self, limit: int = 4000, group: int = 0) -> str:
        try:
            with open(os.path.join(self.workdir, collector_log_name(group)), "rb") as fh:
                data = fh.read()
        except OSError:
            return ""
        return data.decode("utf-8", "replace")[-limit:]

    def collector_exit(self, group: int = 0) -> int | None:
        proc = self.collectors[group]
        return None if proc is None else proc.poll()

    # --- workers ---
    def start_worker(self, worker_id: str, env: dict[str, str]) -> None:
        self.fork_requested[worker_id] = time.perf_counter()
        if self.spec.start == "spawn":
            self.spawned[worker_id] = self._popen("worker", worker_id, env, f"{worker_id}.spawn.log")
            self.pids[worker_id] = self.spawned[worker_id].pid
            return
        chan = self.collector_chans[int(env.get("TESTFLEET_COLLECTOR", "0"))]  # its group's
        assert chan is not None
        chan.send({"t": "fork", "worker": worker_id, "env": env})

    def forked(self, worker_id: str, pid: int) -> None:
        self.pids[worker_id] = pid

    def poll_exits(self) -> list[tuple[str, str]]:
        """Spawn mode: workers that exited since the last call, with a status line."""
        out = []
        for wid, proc in list(self.spawned.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.spawned[wid]
            if code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = str(-code)
                out.append((wid, f"killed by signal {-code} ({name})"))
            else:
                out.append((wid, f"exited with code {code}"))
        return out

    # --- slots: this machine's, as the run state describes them
    def early_workers(self) -> int:
        return 0

    def plan(self, specs: Sequence[TestSpec]) -> bool:
        return True

    def slot_caps(self, slot: int) -> dict[str, Any]:
        return {}

    def can_start(self, slot: int) -> bool:
        return True

    def lost(self, worker_id: str) -> dict[str, Any] | None:
        return None  # a local worker's machine does not go away

    def forked_pid(self, worker_id: str) -> int | None:
        return self.pids.get(worker_id)

    def exited(self, worker_id: str) -> bool:
        """The worker's process is gone (or a zombie nobody reaps): for when no exit status
        can come, its parent being stopped or dead."""
        pid = self.pids.get(worker_id)
        return pid is None or process_state(pid) in (None, "Z", "X")

    def pause(self, worker_id: str) -> bool:
        """Stop the worker's process group (SIGSTOP); True if it was signalled."""
        return self._signal_group(worker_id, signal.SIGSTOP)

    def resume(self, worker_id: str) -> bool:
        return self._signal_group(worker_id, signal.SIGCONT)

    def _signal_group(self, worker_id: str, sig: int) -> bool:
        pid = self.pids.get(worker_id)
        if pid is None:
            return False
        try:
            os.killpg(pid, sig)
        except OSError:
            return False
        return True

    def collector_health(self, group: int = 0) -> str | None:
        """None while the collector is alive and running. A stopped collector (SIGSTOP,
        e.g. by a test in one of its workers) is continued; a dead one is described."""
        proc = self.collectors[group]
        if proc is None:
            return None
        code = proc.poll()
        if code is not None:
            return collector_ended(code, group if len(self.collectors) > 1 else None)
        if process_state(proc.pid) in ("T", "t"):
            try:
                os.kill(proc.pid, signal.SIGCONT)
            except OSError:
                pass
        return None

    def kill(self, worker_id: str) -> None:
        pid = self.pids.get(worker_id)
        if pid is None:
            return
        try:
            os.killpg(pid, signal.SIGKILL)  # the worker and whatever it left in its group
        except OSError:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def dump_stacks(self, worker_id: str, wait: float = 1.0) -> str:
        """Python stacks of every thread of the worker, via faulthandler on SIGUSR1."""
        from testfleet.worker.capture import dump_stacks

        pid = self.pids.get(worker_id)
        if pid is None:
            return ""
        return dump_stacks(pid, os.path.join(self.workdir, f"{worker_id}.stacks"), wait)

    def worker_file(self, worker_id: str, suffix: str) -> str:
        return os.path.join(self.workdir, f"{worker_id}.{suffix}")

    # --- end ---
    def shutdown(self, wait: float = 5.0) -> None:
        for chan in self.collector_chans:
            if chan is not None:
                try:
                    chan.send({"t": "shutdown"})
                except ChannelClosed:
                    pass
        deadline = time.monotonic() + wait
        procs = list(self.spawned.values()) + [p for p in self.collectors if p is not None]
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        # Whatever a test left behind in a worker's process group goes too.
        for pid in list(self.pids.values()) + [p.pid for p in procs]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        for proc in procs:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        try:
            self.listener.close()
        except OSError:
            pass
        shutil.rmtree(self.workdir, ignore_errors=True)
