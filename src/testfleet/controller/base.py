"""The controller's state: what every layer of the controller reads and changes.

The controller is one class, :class:`~testfleet.controller.loop.Controller`, built in layers,
one module each; every layer uses only itself and the layers below it::

    loop        Controller: start-up, the selector loop, stalls, signals, shutdown
    lifecycle   workers start, say hello, exit, time out, are lost; the collector's health
    results     worker and collector messages: start, done, next, returned, bye
    dispatch    what each worker's queue holds: feeding, prefetch depth, steal-back, halt
    verdicts    the one verb that gives a test its outcome (_settle) and what builds verdicts
    collection  waiting for the collection and re-emitting it through pytest's hooks
    transport   the selector round: accepted connections, messages and EOFs as events
    base        this module: the run's state, and a few questions every layer asks

One object, not objects passing messages: the per-result path (a ``done`` message to its
verdict) is a few method calls on ``self``, as before the split.
"""

from __future__ import annotations

import selectors
from typing import TYPE_CHECKING, Any

from testfleet.controller.hookcall import PassBatch, ReportHooks
from testfleet.controller.workers import DEAD, Worker
from testfleet.ledger import Ledger
from testfleet.messages import Channel
from testfleet.rebuild import fallback_location

if TYPE_CHECKING:
    import pytest

    from testfleet.config import Settings
    from testfleet.executor.protocol import Executor
    from testfleet.run_state import RunState
    from testfleet.scheduler.protocol import Scheduler


class ControllerBase:
    """The state of one fleet run in the controller (see the module docstring)."""

    session: pytest.Session  # set when the run starts (Controller.run)
    executor: Executor  # made when the run starts (Controller.run)

    def __init__(self, config: pytest.Config, settings: Settings, state: RunState) -> None:
        self.config = config
        self.settings = settings
        self.state = state
        self.sel = selectors.DefaultSelector()
        self.workers: dict[str, Worker] = {}
        self.slots: dict[int, str] = {}
        self.items: list[dict[str, Any]] = []
        self.locations = state.locations  # from the workers' start messages; the summary reads them too
        self.scheduler: Scheduler | None = None
        self.stop_requested = False
        self.kill_requested = False
        self.kill_requested_at = 0.0
        self.early_deaths = 0
        self.breaker_message: str | None = None
        self.requeued_lost: set[int] = set()  # tests already moved once off a lost node
        self.early_hellos: list[tuple[Channel, dict[str, Any]]] = []  # workers ready before the collection
        self._settled_since_freeze = 0
        self._collected_at = 0.0  # the loop's last cyclic-GC pass (verdicts.FREEZE_EVERY)
        self._cycles_found = False  # and whether it found garbage cycles
        self._rounds = 0  # loop rounds so far (--report-json's loop.rounds)
        # Workers whose queues this loop round's messages shortened: topped up once at the end
        # of the round (_feed_round), with one ``run`` message each, not after every message.
        self.to_feed: dict[str, Worker] = {}
        self.feed_idle = False
        self.ledger = Ledger(0)  # where each test is; made for the collection (see ledger.py)
        # Worker exits seen in a loop round, handled after every message of the round: a
        # worker's last results and its exit often arrive in the same round, on two channels.
        self.exits: list[tuple[str, str]] = []
        self.collector_gone: str | None = None  # why no worker can be started any more
        # --collectors K (K > 1): each test's group (its collector), the groups that have
        # tests (slots are dealt out over them), the groups whose collector is gone (why),
        # and each collector's channel.
        self.groups: list[int] | None = None
        self.group_order: list[int] = []
        self.groups_gone: dict[int, str] = {}
        self.collector_chans: dict[int, Channel] = {}  # group -> its collector's channel
        self._next_health = 0.0
        self.observed: dict[str, float] = {}  # module -> what its tests took so far in this run
        self.observed_n: dict[str, int] = {}  # module -> how many of its tests ran so far
        self.hooks = ReportHooks(config)  # the per-test report hooks, called cheaply (hookcall.py)
        self.passes = PassBatch(config, self.hooks)  # clean passes, reported once per loop round

    def _stopping(self) -> bool:
        """Ctrl-C, SIGTERM, -x/--maxfail or a plugin asked the run to stop dispatching."""
        return bool(
            self.stop_requested or self.kill_requested or self.session.shouldfail or self.session.shouldstop
        )

    def _work_remains(self) -> bool:
        assert self.scheduler is not None
        return not self._stopping() and self.scheduler.pending() > 0

    def _can_start_workers(self, slot: int = 0) -> bool:
        """False once the collector that forks workers (for ``slot``) is gone."""
        if self.groups is not None:
            return self._slot_group(slot) not in self.groups_gone
        return (
            self.collector_gone is None or self.settings.start != "fork" or self.settings.backend != "local"
        )

    def _slot_group(self, slot: int) -> int:
        """--collectors K: the group (collector) whose workers fill ``slot``: slots are dealt
        out over the groups that have tests, so workers spread evenly (5 over 2: 3 + 2)."""
        order = self.group_order
        return order[slot % len(order)] if order else 0

    def _live(self) -> list[Worker]:
        return [w for w in self.workers.values() if w.status is not DEAD]

    def _location(self, idx: int) -> tuple[str, int | None, str]:
        loc = self.locations.get(idx)
        return loc if loc is not None else fallback_location(self.items[idx]["nodeid"])
