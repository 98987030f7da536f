"""The controller's side of the worker actors: one :class:`~testfleet.executor.ray_actor.WorkerHost`
per slot, the worker launches on it, and how each worker ended.

A slot's actor is created with its shape's resources (in the run's placement group once the
slots are planned) and hosts the slot's workers one after another: a replacement worker
reuses it. Each launch leaves two object refs: the launch's (pid, node, host) and the exit's
(status line and the tails of the worker's files). :meth:`SlotActors.poll_exits` reads the
exits that are ready; an actor that died means its node or raylet went away: the worker is
*lost* (:meth:`SlotActors.lost`), not crashed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from testfleet.executor.ray_connect import PLACEMENT_TIMEOUT, first_line
from testfleet.executor.ray_placement import Shape, ray_options

# How often worker exits are polled through Ray (each poll is a ray.wait on the driver). A
# crash is seen at once anyway: the worker's connection closes.
POLL_INTERVAL = 0.25
# Calls to one actor that may run at once (launch, wait_exit, kill, dump_stacks, stop).
ACTOR_CONCURRENCY = 8


def _kill(actor: Any) -> None:
    import ray

    try:
        ray.kill(actor)
    except Exception:  # noqa: BLE001 - already gone
        pass


class SlotActors:
    """Worker-slot actors and the workers launched on them (see the module docstring)."""

    def __init__(self, write_file: Callable[[str, str, str], None]) -> None:
        self.write_file = write_file  # (worker id, suffix, text): a worker file's tail, locally
        self.actors: dict[int, Any] = {}
        self.exit_refs: dict[Any, str] = {}
        self.launch_refs: dict[str, Any] = {}
        self.launch_info: dict[str, dict[str, Any]] = {}
        self.requested: dict[str, float] = {}
        self.slot_of: dict[str, int] = {}
        self.pids: dict[str, int] = {}
        self.lost_info: dict[str, dict[str, Any]] = {}
        self._last_poll = 0.0

    def _new_actor(self, slot: int, shape: Shape, group: Any) -> Any:
        import ray
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        from testfleet.executor.ray_actor import WorkerHost

        opts = ray_options(shape)
        opts.update(max_concurrency=ACTOR_CONCURRENCY, max_restarts=0, max_task_retries=0)
        if group is not None:
            opts["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                group, placement_group_bundle_index=slot
            )
        return ray.remote(WorkerHost).options(**opts).remote(dict(shape))

    def launch(
        self, worker_id: str, slot: int, shape: Shape, group: Any, spec: dict[str, Any], env: dict[str, str]
    ) -> None:
        """Start ``worker_id`` on its slot's actor (created first if the slot has none)."""
        actor = self.actors.get(slot)
        if actor is None:
            actor = self.actors[slot] = self._new_actor(slot, shape, group)
        self.slot_of[worker_id] = slot
        self.requested[worker_id] = time.monotonic()
        self.launch_refs[worker_id] = actor.launch.remote(worker_id, spec, env)
        self.exit_refs[actor.wait_exit.remote(worker_id)] = worker_id

    def has(self, slot: int) -> bool:
        return slot in self.actors

    def discard(self) -> None:
        """Every actor goes and every worker is forgotten (the planned workers start again
        under the same ids)."""
        if self.actors:
            for actor in self.actors.values():
                _kill(actor)
        self.actors.clear()
        self.exit_refs.clear()
        for per_worker in (self.launch_refs, self.launch_info, self.slot_of, self.pids, self.requested):
            per_worker.clear()

    def poll_exits(self) -> list[tuple[str, str]]:
        """Workers that ended since the last call, with a status line (rate-limited)."""
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
                out.append((wid, f"failed on Ray: {first_line(exc)}"))
                continue
            for suffix, text in result["files"].items():
                if text is not None:
                    self.write_file(wid, suffix, text)
            out.append((wid, result["status"]))
        # A worker that never got onto a node in time: report it gone, so the run ends.
        for ref, wid in list(self.exit_refs.items()):
            if wid in self.pids or now - self.requested.get(wid, now) < PLACEMENT_TIMEOUT:
                continue
            done, _ = ray.wait([self.launch_refs[wid]], timeout=0)
            if not done:
                del self.exit_refs[ref]
                self.drop(self.slot_of[wid])
                out.append((wid, f"could not be placed on the Ray cluster within {PLACEMENT_TIMEOUT:g}s"))
        return out

    def _launch(self, wid: str) -> dict[str, Any]:
        """Where the worker was launched (pid, node, node_ip, host), once known."""
        import ray

        if wid not in self.launch_info:
            ref = self.launch_refs.get(wid)
            try:
                done, _ = ray.wait([ref], timeout=0) if ref is not None else ([], [])
                self.launch_info[wid] = ray.get(done[0]) if done else {}
            except Exception:  # noqa: BLE001 - the actor is gone: nothing known
                self.launch_info[wid] = {}
        return self.launch_info[wid]

    def _node_alive(self, node: str) -> bool | None:
        import ray

        try:
            return next((n.get("Alive") for n in ray.nodes() if n.get("NodeID") == node), None)
        except Exception:  # noqa: BLE001
            return None

    def _on_lost(self, wid: str, exc: BaseException) -> str:
        info = self._launch(wid)
        node = info.get("node")
        alive = self._node_alive(node) if node else None
        if node and alive is False:
            reason = f"the Ray node at {info.get('node_ip', '?')} (host {info.get('host', '?')}) died"
        else:
            reason = f"the worker's Ray actor died ({first_line(exc)})"
        self.lost_info[wid] = {
            "node": node,
            "node_ip": info.get("node_ip"),
            "host": info.get("host"),
            "reason": reason,
        }
        self.drop(self.slot_of[wid])
        return f"lost: {reason}"

    def drop(self, slot: int) -> None:
        actor = self.actors.pop(slot, None)
        if actor is not None:
            _kill(actor)

    def lost(self, worker_id: str) -> dict[str, Any] | None:
        return self.lost_info.get(worker_id)

    def kill(self, worker_id: str) -> None:
        actor = self.actors.get(self.slot_of.get(worker_id, -1))
        if actor is not None:
            actor.kill.remote(worker_id)

    def dump_stacks(self, worker_id: str, wait: float) -> str:
        import ray

        actor = self.actors.get(self.slot_of.get(worker_id, -1))
        if actor is None:
            return ""
        try:
            return str(ray.get(actor.dump_stacks.remote(worker_id, wait), timeout=wait + 10))
        except Exception:  # noqa: BLE001 - no stacks rather than no verdict
            return ""

    def stop(self, wait: float) -> None:
        """End of the run: each actor gives its workers ``wait`` seconds, then all go."""
        if not self.actors:
            return
        import ray

        stops = [a.stop.remote(wait) for a in self.actors.values()]
        if stops:
            ray.wait(stops, num_returns=len(stops), timeout=wait + 5)
        for actor in self.actors.values():
            _kill(actor)
        self.actors.clear()
