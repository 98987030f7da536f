"""The Ray executor: worker slots are Ray actors, placed by the resources of their work.

The controller, scheduler, store and output are those of a local run; only the executor
differs. The pieces:

- **Collection** stays local: a collector process (the local executor's, over its AF_UNIX
  socket) sends the ``collected`` message and gives the reference collection hash.
- **Connection.** ``--ray-address`` or ``$RAY_ADDRESS`` names a running cluster; without
  either a local Ray instance is started (bound to 127.0.0.1). Ray connects while the
  collector collects. The project (``config.rootpath``) is shipped with the runtime_env
  ``working_dir`` (``.gitignore`` respected, plus ``--ray-exclude``), and testfleet itself
  with ``py_modules`` unless it lies inside the project; ``--ray-no-ship`` ships nothing.
- **Placement** (:func:`plan_slots`). Each test's requirements map to Ray resources:
  ``gpu`` -> ``num_gpus``, ``memory_gb`` -> ``memory``, any other number -> the custom
  resource of that name, and a tag that is a custom resource of some node -> a sliver
  (:data:`TAG_AMOUNT`) of it. Every distinct requirement set some node can meet gets a slot
  (most common first); the other slots take one CPU. All slots are placed at once in a
  placement group, so a slot that needs a rare node is never crowded out by one that does
  not. The actor's reservation and its node's custom resources become its ``caps``.
- **Workers.** Each slot's :class:`~testfleet.executor.ray_actor.WorkerHost` launches a
  spawn-mode worker on its node; the worker connects back over TCP to the controller's
  listener (with the run's token) and runs the ordinary worker loop. A replacement worker
  reuses its slot's actor. Exits, kills and stack dumps go through the actor; the tails of
  a worker's capture and log files come back with its exit status, so the controller's
  crash and timeout reports read them as local files.
- **Lost nodes.** When a slot's actor dies (its node or raylet went away), the worker is
  reported gone with :meth:`RayExecutor.lost` set, so the controller re-queues its running
  test once instead of calling it crashed; the slot is replaced only if the cluster still
  has room for it (:meth:`RayExecutor.can_start`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from testfleet.config import Settings
from testfleet.errors import UsageError
from testfleet.executor.local import LaunchSpec, LocalExecutor
from testfleet.messages import Channel
from testfleet.scheduler.protocol import TestSpec

# A tag is a capability, not a quantity: a slot asks for this much of the tag's resource,
# so any number of slots fit on a node that has it.
TAG_AMOUNT = 0.01
PLACEMENT_TIMEOUT = 60.0
# How often worker exits are polled through Ray (each poll is a ray.wait on the driver). A
# crash is seen at once anyway: the worker's connection closes.
POLL_INTERVAL = 0.25
BUILTIN = frozenset({"CPU", "GPU", "memory", "object_store_memory"})

Shape = tuple[tuple[str, float], ...]

# The controller's environment goes to the workers (as it does to local workers), except
# what describes this machine or this process rather than the run.
NOT_FORWARDED = frozenset({
    "PATH", "HOME", "PWD", "OLDPWD", "SHELL", "SHLVL", "USER", "LOGNAME", "HOSTNAME", "MAIL", "_",
    "TMPDIR", "TEMP", "TMP", "TERM", "DISPLAY", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME",
    "PYTHONEXECUTABLE", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "PYTEST_CURRENT_TEST",
    "TESTFLEET_SPEC", "TESTFLEET_ROLE"})
NOT_FORWARDED_PREFIXES = ("RAY_", "LD_", "SSH_", "XDG_", "CONDA", "DYLD_")


def forwarded_env(environ: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items()
            if k not in NOT_FORWARDED and not k.startswith(NOT_FORWARDED_PREFIXES)}


def _missing_ray() -> UsageError:
    return UsageError("--backend ray needs Ray, which is not installed; install it with: "
                      "pip install 'testfleet[ray]'")


def requirement_shape(spec: TestSpec, custom: frozenset[str]) -> Shape:
    """A test's requirements as testfleet-named reservations (see :func:`ray_options`)."""
    want: dict[str, float] = {}
    for name, amount in spec.requires.items():
        if name == "cpus" or amount <= 0:
            continue  # cpus=k is k worker slots, handled by the scheduler
        want[name] = float(amount)
    for tag in spec.tags:
        if tag in custom and tag not in want:
            want[tag] = TAG_AMOUNT
    return tuple(sorted(want.items()))


def ray_options(shape: Shape) -> dict[str, Any]:
    """testfleet reservations -> ``num_cpus``/``num_gpus``/``memory``/``resources``."""
    opts: dict[str, Any] = {"num_cpus": 1}
    resources: dict[str, float] = {}
    for name, amount in shape:
        if name == "gpu":
            opts["num_gpus"] = amount
        elif name == "memory_gb":
            opts["memory"] = int(amount * 2**30)
        else:
            resources[name] = amount
    if resources:
        opts["resources"] = resources
    return opts


def bundle_of(shape: Shape) -> dict[str, float]:
    opts = ray_options(shape)
    bundle: dict[str, float] = {"CPU": float(opts["num_cpus"])}
    if "num_gpus" in opts:
        bundle["GPU"] = float(opts["num_gpus"])
    if "memory" in opts:
        bundle["memory"] = float(opts["memory"])
    bundle.update(opts.get("resources", {}))
    return bundle


def fits(bundle: dict[str, float], resources: dict[str, float]) -> bool:
    return all(resources.get(k, 0.0) >= v for k, v in bundle.items())


def plan_slots(specs: Sequence[TestSpec], workers: int, nodes: Sequence[dict[str, float]]) -> list[Shape]:
    """One shape per worker slot: each distinct requirement some node can meet, most common
    first (at most one slot each), then plain one-CPU slots."""
    custom = frozenset(k for n in nodes for k in n if k not in BUILTIN and not k.startswith("node:"))
    counts = Counter(requirement_shape(s, custom) for s in specs)
    counts.pop((), None)
    slots: list[Shape] = []
    for shape, _n in counts.most_common():
        if len(slots) >= workers:
            break
        if any(fits(bundle_of(shape), n) for n in nodes):
            slots.append(shape)
    while len(slots) < workers:
        slots.append(())
    return slots


ROOT_MARKERS = ("pyproject.toml", "pytest.ini", "tox.ini", "setup.cfg", ".git")


def project_root(cwd: str) -> str:
    """What gets shipped: the nearest directory at or above ``cwd`` that holds a project or
    pytest configuration file (else ``cwd``)."""
    here = os.path.abspath(cwd)
    probe = here
    while True:
        if any(os.path.exists(os.path.join(probe, m)) for m in ROOT_MARKERS):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return here
        probe = parent


class RayExecutor:
    """Worker slots as Ray actors; see the module docstring."""

    backend = "ray"
    placed = True  # sizes and places its slots (plan, slot_caps)

    def __init__(self, spec: LaunchSpec, settings: Settings) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise _missing_ray() from None
        self.spec = spec
        self.settings = settings
        self.address = settings.ray_address or os.environ.get("RAY_ADDRESS") or None
        self.local = LocalExecutor(spec)
        self.root = project_root(spec.cwd)
        self.token = self.local.token
        # Bound in _connect to this node's Ray IP (which every node reaches), before the
        # controller first polls it.
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setblocking(False)
        self.ctl_host = ""
        # The controller listens on both: the collector comes over AF_UNIX, workers over TCP.
        self.listeners = [self.listener, self.local.listener]
        self.started_ray = False
        self.connected = False
        self.pg: Any = None
        self.shapes: list[Shape] = []
        self.actors: dict[int, Any] = {}
        self.actor_nodes: dict[int, str] = {}
        self.exit_refs: dict[Any, str] = {}
        self.launch_refs: dict[str, Any] = {}
        self.launch_info: dict[str, dict[str, Any]] = {}
        self.requested: dict[str, float] = {}
        self.slot_of: dict[str, int] = {}
        self.pids: dict[str, int] = {}
        self.lost_info: dict[str, dict[str, Any]] = {}
        self.timings: dict[str, Any] = {}
        self.early = False  # workers were started before the plan (early_workers)
        self.slot_nodes: dict[int, dict[str, Any]] = {}
        self._last_poll = 0.0
        settings.start = "spawn"  # what a Ray worker is, whatever --start said

    # --- start-up ---
    def start_collector(self) -> None:
        self.local.start_collector()
        self._connect()  # while the collector collects

    def _ship_env(self) -> dict[str, Any]:
        if not self.settings.ray_ship:
            return {}
        import testfleet

        excludes = [".git", ".testfleet", *self.settings.ray_exclude]
        # testfleet itself goes too, so nodes run the controller's version of the worker.
        pkg = os.path.dirname(os.path.abspath(testfleet.__file__))
        return {"working_dir": self.root, "excludes": excludes, "py_modules": [pkg]}

    def _connect(self) -> None:
        import ray

        t0 = time.perf_counter()
        runtime_env = self._ship_env()
        kwargs: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False,
                                  "namespace": "testfleet", "runtime_env": runtime_env or None}
        try:
            if self.address is None:
                num_cpus = self.settings.workers if self.settings.workers_given else None
                ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **kwargs)
                self.started_ray = True
            else:
                ray.init(address=self.address, **kwargs)
        except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; each becomes one clear line
            text = str(exc)
            if "exceeds the maximum size" in text:
                raise UsageError(self._too_big(text)) from None
            where = f"--ray-address {self.address}" if self.settings.ray_address else (
                f"RAY_ADDRESS={self.address}" if self.address else "a local Ray instance")
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            detail = lines[-1] if lines and "Failed to set up runtime environment" in lines[0] else (
                lines[0] if lines else type(exc).__name__)
            raise UsageError(f"--backend ray: {where}: {detail}") from None
        self.connected = True
        # Ray prints cluster error messages (a node died, ...) on the driver's stdout, which is
        # pytest's terminal here: they go to a log file instead.
        import ray._private.worker as ray_worker

        ray_worker.print_to_stdstream = self._ray_message
        self.timings["ray_connect"] = time.perf_counter() - t0
        total = int(ray.cluster_resources().get("CPU", 0))
        if total < 1:
            raise UsageError(f"the Ray cluster at {self.address or 'localhost'} has no CPUs for workers")
        if not self.settings.workers_given:
            self.settings.workers = total
        self.ctl_host = ray.util.get_node_ip_address()
        self.listener.bind((self.ctl_host, 0))
        self.listener.listen(256)

    def _ray_message(self, data: dict[str, Any], ignore_prefix: bool = False) -> None:
        try:
            with open(os.path.join(self.local.workdir, "ray-messages.log"), "a", encoding="utf-8") as fh:
                for line in data.get("lines", []):
                    fh.write(f"({data.get('pid', '')}) {line}\n")
        except OSError:
            pass

    def _too_big(self, message: str) -> str:
        size = message.split("Package size (", 1)[1].split(")", 1)[0] if "Package size (" in message else "too large"
        limit = message.split("maximum size of", 1)[1].split(". ", 1)[0].strip()
        return (f"--backend ray: the project {self.root} is {size} packed, over Ray's limit of {limit}. "
                f"Leave large paths out with --ray-exclude PATTERN (or [tool.testfleet] ray_exclude, .gitignore, "
                f".rayignore), or pass --ray-no-ship if the Ray nodes share this filesystem")

    def attach_collector(self, chan: Channel) -> None:
        self.local.attach_collector(chan)

    def collector_log(self, limit: int = 4000) -> str:
        return self.local.collector_log(limit)

    def collector_exit(self) -> int | None:
        return self.local.collector_exit()

    # --- placement ---
    def _node_resources(self) -> list[dict[str, float]]:
        import ray

        return [dict(n.get("Resources") or {}) for n in ray.nodes() if n.get("Alive")]

    def early_workers(self) -> int:
        """How many workers to start before the collection is known (each collects the suite
        itself, so they collect alongside the local collector): every slot, as a plain
        one-CPU slot. :meth:`plan` keeps them when the tests need nothing more."""
        self.shapes = [()] * self.settings.workers
        self.early = True
        return self.settings.workers

    def _discard_early(self) -> None:
        """The plan needs other shapes: the early workers' actors go, and Ray forgets them."""
        import ray

        for ref, wid in list(self.exit_refs.items()):
            if wid in self.slot_of:
                del self.exit_refs[ref]
        for actor in self.actors.values():
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001
                pass
        self.actors.clear()
        for per_worker in (self.launch_refs, self.launch_info, self.slot_of, self.pids, self.requested):
            per_worker.clear()  # the planned workers start again under the same ids
        self.early = False

    def plan(self, specs: Sequence[TestSpec]) -> bool:
        """Decide each slot's resources from the collected tests and place them all. True
        when the workers started early (:meth:`early_workers`) fit the plan and stay."""
        import ray
        from ray.util.placement_group import placement_group, remove_placement_group

        nodes = self._node_resources()
        shapes = plan_slots(specs, self.settings.workers, nodes)
        if self.early and all(s == () for s in shapes):
            self.shapes = shapes
            self.timings["slots"] = [dict(s) for s in self.shapes]
            return True
        kept = not self.early
        if self.early:
            self._discard_early()
        self.shapes = shapes
        bundles = [bundle_of(s) for s in self.shapes]
        t0 = time.perf_counter()
        pg = placement_group(bundles, strategy="SPREAD")
        ready, _ = ray.wait([pg.ready()], timeout=PLACEMENT_TIMEOUT)
        if not ready:
            remove_placement_group(pg)
            want = Counter(tuple(sorted(b.items())) for b in bundles)
            raise UsageError(
                f"--backend ray: the cluster cannot hold {self.settings.workers} workers with these resources "
                f"within {PLACEMENT_TIMEOUT:g}s: {', '.join(f'{n} x {dict(b)}' for b, n in want.items())}; "
                f"the cluster has {ray.cluster_resources()}. Pass fewer workers with -w")
        self.pg = pg
        self.timings["placement"] = time.perf_counter() - t0
        from ray.util.placement_group import placement_group_table

        where = placement_group_table(pg).get("bundles_to_node_id", {})
        nodes_by_id = {n["NodeID"]: n for n in ray.nodes() if n.get("Alive")}
        self.slot_nodes = {int(i): nodes_by_id.get(nid, {"NodeID": nid}) for i, nid in where.items()}
        self.timings["slots"] = [dict(s) for s in self.shapes]
        return kept

    def slot_caps(self, slot: int) -> dict[str, Any]:
        """What a slot will advertise, known once it is placed (the scheduler's fleet)."""
        from testfleet.executor.ray_actor import slot_caps

        shape = self.shapes[slot] if slot < len(self.shapes) else ()
        node = self.slot_nodes.get(slot, {})
        return slot_caps(dict(shape), node.get("NodeID", ""), node.get("NodeManagerAddress", ""),
                         node.get("Resources") or {})

    def _new_actor(self, slot: int) -> Any:
        import ray
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        from testfleet.executor.ray_actor import WorkerHost

        shape = self.shapes[slot] if slot < len(self.shapes) else ()
        opts = ray_options(shape)
        opts.update(max_concurrency=8, max_restarts=0, max_task_retries=0)
        if self.pg is not None and slot not in self.actors:
            opts["scheduling_strategy"] = PlacementGroupSchedulingStrategy(self.pg, placement_group_bundle_index=slot)
        return ray.remote(WorkerHost).options(**opts).remote(dict(shape))

    def can_start(self, slot: int) -> bool:
        """After a lost node: is there still room on the cluster for this slot?"""
        import ray

        if slot in self.actors:
            return True
        shape = self.shapes[slot] if slot < len(self.shapes) else ()
        try:
            available = ray.available_resources()
        except Exception:  # noqa: BLE001
            return False
        return fits(bundle_of(shape), available)

    # --- workers ---
    def start_worker(self, worker_id: str, env: dict[str, str]) -> None:
        if self.pg is None and not self.shapes:
            self.shapes = [()] * self.settings.workers
        slot = int(env.get("TESTFLEET_WORKER", worker_id)[1:].split(".")[0])
        actor = self.actors.get(slot)
        if actor is None:
            actor = self._new_actor(slot)
            self.actors[slot] = actor
        self.slot_of[worker_id] = slot
        self.requested[worker_id] = time.monotonic()
        spec = {"role": "worker", "args": self.spec.args, "cwd": self.spec.cwd,
                "root": self.root if self.settings.ray_ship else None,
                "address": f"tcp:{self.ctl_host}:{self.listener.getsockname()[1]}",
                "token": self.token, "worker": worker_id}
        self.launch_refs[worker_id] = actor.launch.remote(worker_id, spec, {**forwarded_env(dict(os.environ)), **env})
        self.exit_refs[actor.wait_exit.remote(worker_id)] = worker_id

    def forked(self, worker_id: str, pid: int) -> None:
        self.pids[worker_id] = pid

    def poll_exits(self) -> list[tuple[str, str]]:
        now = time.monotonic()
        if not self.exit_refs or now - self._last_poll < POLL_INTERVAL:
            return []
        self._last_poll = now
        import ray

        out: list[tuple[str, str]] = []
        ready, _ = ray.wait(list(self.exit_refs), num_returns=len(self.exit_refs), timeout=0)
        for ref in ready:
            wid = self.exit_refs.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                out.append((wid, self._on_lost(wid, exc)))
                continue
            except ray.exceptions.RayError as exc:
                out.append((wid, f"failed on Ray: {str(exc).strip().splitlines()[0]}"))
                continue
            for suffix, text in result["files"].items():
                if text is not None:
                    with open(self.worker_file(wid, suffix), "w", encoding="utf-8") as fh:
                        fh.write(text)
            out.append((wid, result["status"]))
        # A worker that never got onto a node in time: report it gone, so the run ends.
        for ref, wid in list(self.exit_refs.items()):
            if wid in self.pids or now - self.requested.get(wid, now) < PLACEMENT_TIMEOUT:
                continue
            done, _ = ray.wait([self.launch_refs[wid]], timeout=0)
            if not done:
                del self.exit_refs[ref]
                self._drop_slot(self.slot_of[wid])
                out.append((wid, f"could not be placed on the Ray cluster within {PLACEMENT_TIMEOUT:g}s"))
        return out

    def _launch(self, wid: str) -> dict[str, Any]:
        import ray

        if wid not in self.launch_info:
            ref = self.launch_refs.get(wid)
            try:
                done, _ = ray.wait([ref], timeout=0) if ref is not None else ([], [])
                self.launch_info[wid] = ray.get(done[0]) if done else {}
            except Exception:  # noqa: BLE001
                self.launch_info[wid] = {}
        return self.launch_info[wid]

    def _on_lost(self, wid: str, exc: BaseException) -> str:
        import ray

        info = self._launch(wid)
        node = info.get("node")
        alive = None
        if node:
            try:
                alive = next((n.get("Alive") for n in ray.nodes() if n.get("NodeID") == node), None)
            except Exception:  # noqa: BLE001
                alive = None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if node and alive is False:
            reason = f"the Ray node at {info.get('node_ip', '?')} (host {info.get('host', '?')}) died"
        else:
            reason = f"the worker's Ray actor died ({first})"
        self.lost_info[wid] = {"node": node, "node_ip": info.get("node_ip"), "host": info.get("host"),
                               "reason": reason}
        self._drop_slot(self.slot_of[wid])
        return f"lost: {reason}"

    def _drop_slot(self, slot: int) -> None:
        import ray

        actor = self.actors.pop(slot, None)
        if actor is not None:
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001
                pass

    # Executor protocol members a Ray worker cannot offer: its exit status always comes
    # from its actor, and a remote process cannot be paused from here.
    def collector_health(self) -> str | None:
        return None

    def forked_pid(self, worker_id: str) -> int | None:
        return self.pids.get(worker_id)

    def exited(self, worker_id: str) -> bool:
        return False

    def pause(self, worker_id: str) -> bool:
        return False

    def resume(self, worker_id: str) -> bool:
        return False

    def lost(self, worker_id: str) -> dict[str, Any] | None:
        """Where and why a worker was lost with its node (None: it ended on its own)."""
        return self.lost_info.get(worker_id)

    def kill(self, worker_id: str) -> None:
        actor = self.actors.get(self.slot_of.get(worker_id, -1))
        if actor is not None:
            actor.kill.remote(worker_id)

    def dump_stacks(self, worker_id: str, wait: float = 1.0) -> str:
        import ray

        actor = self.actors.get(self.slot_of.get(worker_id, -1))
        if actor is None:
            return ""
        try:
            return str(ray.get(actor.dump_stacks.remote(worker_id, wait), timeout=wait + 10))
        except Exception:  # noqa: BLE001
            return ""

    def worker_file(self, worker_id: str, suffix: str) -> str:
        return self.local.worker_file(worker_id, suffix)

    # --- end ---
    def shutdown(self, wait: float = 5.0) -> None:
        t0 = time.perf_counter()
        try:
            if self.connected:
                import ray

                stops = [a.stop.remote(wait) for a in self.actors.values()]
                if stops:
                    ray.wait(stops, num_returns=len(stops), timeout=wait + 5)
                self.timings["shutdown_stop"] = time.perf_counter() - t0
                for actor in self.actors.values():
                    try:
                        ray.kill(actor)
                    except Exception:  # noqa: BLE001
                        pass
                self.actors.clear()
                if self.pg is not None:
                    from ray.util.placement_group import remove_placement_group

                    try:
                        remove_placement_group(self.pg)
                    except Exception:  # noqa: BLE001
                        pass
                self.timings["shutdown_kill"] = time.perf_counter() - t0
                ray.shutdown()
        finally:
            self.timings["shutdown"] = time.perf_counter() - t0
            try:
                self.listener.close()
            except OSError:
                pass
            self.local.shutdown(wait)
