"""The Ray executor: worker slots are Ray actors, placed by the resources of their work.

The controller, scheduler, store and output are those of a local run; only the executor
differs. The pieces, one module each:

- **Collection** stays local: a collector process (the local executor's, over its AF_UNIX
  socket) sends the ``collected`` message and gives the reference collection hash.
- **Connection** (:mod:`~testfleet.executor.ray_connect`). ``--ray-address`` or
  ``$RAY_ADDRESS`` names a running cluster; without either a local Ray instance is started
  (bound to 127.0.0.1). Ray connects while the collector collects. The project root
  (:func:`testfleet.paths.find_rootdir`) is shipped with the runtime_env ``working_dir``
  (``.gitignore`` respected, plus ``--ray-exclude``), and testfleet itself with
  ``py_modules``; ``--ray-no-ship`` ships nothing. Ray's errors become one line.
- **Placement** (:mod:`~testfleet.executor.ray_placement`, pure). Each test's requirements
  map to Ray resources; every distinct requirement set some node can meet gets a slot (most
  common first), the other slots take one CPU. All slots are placed at once in a placement
  group, so a slot that needs a rare node is never crowded out by one that does not.
- **Workers** (:mod:`~testfleet.executor.ray_slots` here, :mod:`~testfleet.executor.ray_actor`
  on the nodes). Each slot's actor launches a spawn-mode worker on its node; the worker
  connects back over TCP to the controller's listener (with the run's token) and runs the
  ordinary worker loop, so results are batched exactly as a local worker's. A replacement
  worker reuses its slot's actor. The tails of a worker's capture and log files come back with
  its exit status, so the controller's crash and timeout reports read them as local files.
- **Lost nodes.** When a slot's actor dies (its node or raylet went away), the worker is
  reported gone with :meth:`RayExecutor.lost` set, so the controller re-queues its running
  test once instead of calling it crashed; the slot is replaced only if the cluster still
  has room for it (:meth:`RayExecutor.can_start`).

The executor never changes the :class:`~testfleet.config.Settings` it is given: what a Ray
run decides for itself (the fleet size from the cluster's CPUs, spawned workers) is in
:attr:`RayExecutor.settings`, a copy the executor owns.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from collections.abc import Sequence
from typing import Any

from testfleet.config import Settings
from testfleet.errors import UsageError
from testfleet.executor.local import LaunchSpec, LocalExecutor
from testfleet.executor.ray_connect import (
    PLACEMENT_TIMEOUT,
    Cluster,
    RayConnection,
    connect_error,
    no_cpus,
    require_ray,
    ship_env,
    where,
)
from testfleet.executor.ray_env import worker_env
from testfleet.executor.ray_placement import (
    PLAIN,
    Shape,
    bundle_of,
    fits,
    fleet_size,
    plan_slots,
    shortfall,
    slot_caps,
)
from testfleet.executor.ray_slots import SlotActors
from testfleet.messages import Channel
from testfleet.paths import SHIP_MARKERS, find_rootdir
from testfleet.scheduler.protocol import TestSpec

# A Ray worker is always a spawned process on its node, whatever --start said.
START_METHOD = "spawn"


class RayExecutor:
    """Worker slots as Ray actors; see the module docstring. ``cluster`` is the real one
    (:class:`RayConnection`) unless a test passes a fake."""

    backend = "ray"
    placed = True  # sizes and places its slots (plan, slot_caps)

    def __init__(self, spec: LaunchSpec, settings: Settings, cluster: Cluster | None = None) -> None:
        if cluster is None:
            require_ray()
        self.cluster: Cluster = cluster if cluster is not None else RayConnection()
        self.spec = spec
        self.given = settings
        # The run's settings as this executor resolves them; ``workers`` is final once connected.
        self.settings = dataclasses.replace(settings, start=START_METHOD)
        self.address = settings.ray_address or os.environ.get("RAY_ADDRESS") or None
        self.local = LocalExecutor(spec)
        self.root = str(find_rootdir(spec.cwd, SHIP_MARKERS))
        self.token = self.local.token
        # Bound in _connect to this node's Ray IP (which every node reaches), before the
        # controller first polls it.
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setblocking(False)
        self.ctl_host = ""
        # The controller listens on both: the collector comes over AF_UNIX, workers over TCP.
        self.listeners = [self.listener, self.local.listener]
        self.connected = False
        self.pg: Any = None
        self.shapes: list[Shape] = []
        self.slots = SlotActors(self._write_worker_file)
        self.timings: dict[str, Any] = {}
        self.early = False  # workers were started before the plan (early_workers)
        self.slot_nodes: dict[int, dict[str, Any]] = {}

    @property
    def workers(self) -> int:
        """How many worker slots the run has (``-w``, else the cluster's CPUs once connected)."""
        return self.settings.workers

    # --- start-up ---
    def start_collector(self) -> None:
        self.local.start_collector()
        self._connect()  # while the collector collects

    def _connect(self) -> None:
        t0 = time.perf_counter()
        runtime_env = ship_env(self.root, self.given.ray_exclude) if self.given.ray_ship else {}
        num_cpus = self.given.workers if self.given.workers_given else None
        try:
            self.cluster.connect(self.address, num_cpus, runtime_env)
        except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; each becomes one clear line
            raise connect_error(
                str(exc), type(exc).__name__, where(self.address, bool(self.given.ray_address)), self.root
            ) from None
        self.connected = True
        self.cluster.redirect_messages(self._ray_message)
        self.timings["ray_connect"] = time.perf_counter() - t0
        total = self.cluster.total_cpus()
        if total < 1:
            raise no_cpus(self.address)
        self.settings.workers = fleet_size(self.given.workers, self.given.workers_given, total)
        self.ctl_host = self.cluster.node_ip()
        self.listener.bind((self.ctl_host, 0))
        self.listener.listen(256)

    def _ray_message(self, data: dict[str, Any]) -> None:
        try:
            with open(os.path.join(self.local.workdir, "ray-messages.log"), "a", encoding="utf-8") as fh:
                for line in data.get("lines", []):
                    fh.write(f"({data.get('pid', '')}) {line}\n")
        except OSError:
            pass

    def attach_collector(self, chan: Channel, group: int = 0) -> None:
        self.local.attach_collector(chan, group)

    def collector_log(self, limit: int = 4000, group: int = 0) -> str:
        return self.local.collector_log(limit, group)

    def collector_exit(self, group: int = 0) -> int | None:
        return self.local.collector_exit(group)

    # --- placement ---
    def early_workers(self) -> int:
        """How many workers to start before the collection is known (each collects the suite
        itself, so they collect alongside the local collector): every slot, as a plain
        one-CPU slot. :meth:`plan` keeps them when the tests need nothing more."""
        self.shapes = [PLAIN] * self.workers
        self.early = True
        return self.workers

    def plan(self, specs: Sequence[TestSpec]) -> bool:
        """Decide each slot's resources from the collected tests and place them all. True
        when the workers started early (:meth:`early_workers`) fit the plan and stay."""
        nodes = self.cluster.nodes()
        shapes = plan_slots(specs, self.workers, [dict(n.get("Resources") or {}) for n in nodes])
        self.timings["slots"] = [dict(s) for s in shapes]
        if self.early and all(s == PLAIN for s in shapes):
            self.shapes = shapes
            return True
        kept = not self.early
        if self.early:
            self.slots.discard()  # the plan needs other shapes: the early actors go
            self.early = False
        self.shapes = shapes
        bundles = [bundle_of(s) for s in shapes]
        t0 = time.perf_counter()
        group = self.cluster.place(bundles, PLACEMENT_TIMEOUT)
        if group is None:
            raise UsageError(
                shortfall(self.workers, bundles, self.cluster.total_resources(), PLACEMENT_TIMEOUT)
            )
        self.pg = group
        self.timings["placement"] = time.perf_counter() - t0
        by_id = {n["NodeID"]: n for n in self.cluster.nodes()}
        self.slot_nodes = {
            i: by_id.get(nid, {"NodeID": nid}) for i, nid in self.cluster.bundle_nodes(group).items()
        }
        return kept

    def _shape(self, slot: int) -> Shape:
        return self.shapes[slot] if slot < len(self.shapes) else PLAIN

    def slot_caps(self, slot: int) -> dict[str, Any]:
        """What a slot will advertise, known once it is placed (the scheduler's fleet)."""
        node = self.slot_nodes.get(slot, {})
        return slot_caps(
            dict(self._shape(slot)),
            node.get("NodeID", ""),
            node.get("NodeManagerAddress", ""),
            node.get("Resources") or {},
        )

    def can_start(self, slot: int) -> bool:
        """After a lost node: is there still room on the cluster for this slot?"""
        if self.slots.has(slot):
            return True
        try:
            available = self.cluster.available_resources()
        except Exception:  # noqa: BLE001 - the cluster cannot say: no room
            return False
        return fits(bundle_of(self._shape(slot)), available)

    # --- workers ---
    def start_worker(self, worker_id: str, env: dict[str, str]) -> None:
        if self.pg is None and not self.shapes:
            self.shapes = [PLAIN] * self.workers
        slot = int(env.get("TESTFLEET_WORKER", worker_id)[1:].split(".")[0])
        spec = {
            "role": "worker",
            "args": self.spec.args,
            "cwd": self.spec.cwd,
            "root": self.root if self.given.ray_ship else None,
            "address": f"tcp:{self.ctl_host}:{self.listener.getsockname()[1]}",
            "token": self.token,
            "worker": worker_id,
        }
        # A slot's actor, when it is created, goes into the slot's placement-group bundle.
        group = self.pg if not self.slots.has(slot) else None
        self.slots.launch(worker_id, slot, self._shape(slot), group, spec, worker_env(os.environ, env))

    def forked(self, worker_id: str, pid: int) -> None:
        self.slots.pids[worker_id] = pid

    def poll_exits(self) -> list[tuple[str, str]]:
        return self.slots.poll_exits()

    # Executor protocol members a Ray worker cannot offer: its exit status always comes
    # from its actor, and a remote process cannot be paused from here.
    def collector_health(self, group: int = 0) -> str | None:
        return None

    def forked_pid(self, worker_id: str) -> int | None:
        return self.slots.pids.get(worker_id)

    def exited(self, worker_id: str) -> bool:
        return False

    def pause(self, worker_id: str) -> bool:
        return False

    def resume(self, worker_id: str) -> bool:
        return False

    def lost(self, worker_id: str) -> dict[str, Any] | None:
        """Where and why a worker was lost with its node (None: it ended on its own)."""
        return self.slots.lost(worker_id)

    def kill(self, worker_id: str) -> None:
        self.slots.kill(worker_id)

    def dump_stacks(self, worker_id: str, wait: float = 1.0) -> str:
        return self.slots.dump_stacks(worker_id, wait)

    def worker_file(self, worker_id: str, suffix: str) -> str:
        return self.local.worker_file(worker_id, suffix)

    def _write_worker_file(self, worker_id: str, suffix: str, text: str) -> None:
        with open(self.worker_file(worker_id, suffix), "w", encoding="utf-8") as fh:
            fh.write(text)

    # --- end ---
    def shutdown(self, wait: float = 5.0) -> None:
        t0 = time.perf_counter()
        try:
            if self.connected:
                self.slots.stop(wait)
                self.timings["shutdown_stop"] = time.perf_counter() - t0
                if self.pg is not None:
                    self.cluster.remove(self.pg)
                self.timings["shutdown_kill"] = time.perf_counter() - t0
                self.cluster.shutdown()
        finally:
            self.timings["shutdown"] = time.perf_counter() - t0
            try:
                self.listener.close()
            except OSError:
                pass
            self.local.shutdown(wait)
