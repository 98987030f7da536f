"""What the controller needs from an executor: every member it uses, and nothing it probes.

Two implementations: :class:`~testfleet.executor.local.LocalExecutor` (a collector that forks
workers on this machine, or spawns them) and :class:`~testfleet.executor.ray.RayExecutor`
(one actor per worker slot on a Ray cluster). ``make_executor`` returns one as this type.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any, Protocol

from testfleet.config import Settings
from testfleet.messages import Channel
from testfleet.scheduler.protocol import TestSpec


class Executor(Protocol):
    backend: str  # "local" or "ray", shown in the run's first line
    token: str  # the secret every worker and the collector send back in their first message
    listeners: list[socket.socket]  # sockets the controller accepts connections on
    timings: dict[str, Any]  # what the executor timed (Ray: connect, placement), for the report
    # The run's settings as the executor resolved them (Ray: the fleet's size from the cluster,
    # spawned workers); the controller adopts them once the collector has started.
    settings: Settings
    placed: bool  # True: the executor sizes and places the slots itself (plan, slot_caps)

    # --- the collectors (``group``: which one, with --collectors K; 0 otherwise)
    def start_collector(self) -> None: ...
    def attach_collector(self, chan: Channel, group: int = 0) -> None: ...
    def collector_log(self, limit: int = 4000, group: int = 0) -> str: ...
    def collector_exit(self, group: int = 0) -> int | None:
        """The collector's exit status (Popen style), None while it runs."""
        ...

    def collector_health(self, group: int = 0) -> str | None:
        """None while the collector is alive and running; else why not (a stopped one may be
        continued by the executor and count as alive)."""
        ...

    # --- slots (executors that place workers themselves)
    def early_workers(self) -> int:
        """Workers to start alongside the collector (they collect for themselves)."""
        ...

    def plan(self, specs: Sequence[TestSpec]) -> bool:
        """Size and place the slots for these tests; False if the early workers must go."""
        ...

    def slot_caps(self, slot: int) -> dict[str, Any]: ...
    def can_start(self, slot: int) -> bool:
        """Room to start a worker in ``slot`` now (Ray: its node may be gone)."""
        ...

    # --- workers
    def start_worker(self, worker_id: str, env: dict[str, str]) -> None: ...
    def forked(self, worker_id: str, pid: int) -> None: ...
    def forked_pid(self, worker_id: str) -> int | None: ...
    def poll_exits(self) -> list[tuple[str, str]]:
        """Workers that exited since the last call, with a status line."""
        ...

    def lost(self, worker_id: str) -> dict[str, Any] | None:
        """Why the worker's node went away (not the test's fault), or None."""
        ...

    def exited(self, worker_id: str) -> bool:
        """The worker's process is gone, for when no exit status can come (False: cannot tell)."""
        ...

    def pause(self, worker_id: str) -> bool:
        """Stop the worker where it is (SIGSTOP); False if this executor cannot."""
        ...

    def resume(self, worker_id: str) -> bool: ...
    def kill(self, worker_id: str) -> None: ...
    def dump_stacks(self, worker_id: str, wait: float = 1.0) -> str: ...
    def worker_file(self, worker_id: str, suffix: str) -> str: ...

    # --- end
    def shutdown(self, wait: float = 5.0) -> None: ...
