"""The collection, as the controller receives it: waiting for it (serving workers that are
ready early later), and re-emitting it through pytest's hooks and terminal reporter as a plain
run would (collection errors, deselected items, the count)."""

from __future__ import annotations

import selectors
from typing import Any

import pytest

from testfleet.controller.transport import Transport
from testfleet.ledger import Ledger
from testfleet.messages import Channel
from testfleet.outcomes import one_line
from testfleet.rebuild import from_dict
from testfleet.worker.items import expand


class DeselectedItem:
    """Stands for an item the collector deselected (-k, -m, plugins) in the controller's
    ``pytest_deselected``: the items themselves live in the collector."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid

    def __repr__(self) -> str:
        return f"<DeselectedItem {self.nodeid}>"


class CollectionFailed(Exception):
    def __init__(self, exitcode: int, log: str) -> None:
        super().__init__(f"collection failed with exit code {exitcode}")
        self.exitcode = exitcode
        self.log = log


class Collection(Transport):
    """Start-up's second step: the collection arrives, and pytest is told about it."""

    def _wait_for_collection(self) -> dict[str, Any]:
        while True:
            for kind, chan, msg in self._poll(0.2):
                if kind != "msg":
                    continue
                if msg["t"] == "collected":
                    assert isinstance(chan, Channel)  # a new connection's first message
                    self.executor.attach_collector(chan)
                    self.sel.modify(chan.sock, selectors.EVENT_READ, ("collector", chan))
                    return dict(msg)
                if msg["t"] == "failed":
                    raise CollectionFailed(int(msg["exitcode"]), self.executor.collector_log())
                if msg["t"] == "hello" and isinstance(chan, Channel):
                    self.early_hellos.append((chan, msg))  # served once the scheduler exists
            code = self.executor.collector_exit()
            if code is not None:
                # Give a last message in flight a chance, then give up.
                for kind, chan, msg in self._poll(0.2):
                    if kind == "msg" and msg["t"] == "collected":
                        assert isinstance(chan, Channel)
                        self.executor.attach_collector(chan)
                        return dict(msg)
                raise CollectionFailed(code or 3, self.executor.collector_log())
            if self.kill_requested or self.stop_requested:
                raise KeyboardInterrupt

    def _emit_collection(self, session: pytest.Session, msg: dict[str, Any]) -> None:
        config = self.config
        for warning in msg.get("warnings", ()):  # the collector's, as pytest records them (compat/)
            self.state.warning(warning)
        for data in msg["errors"]:
            rep = self._report(data)
            config.hook.pytest_collectreport(report=rep)
            self.state.collection_report(
                rep.nodeid, "skipped" if rep.skipped else "error", one_line(rep) or rep.outcome
            )
        if msg["deselected"]:
            # Plugins read what they are given (hypothesis looks into each one's __dict__).
            config.hook.pytest_deselected(items=[DeselectedItem(nodeid) for nodeid in msg["deselected"]])
        self.items = expand(msg["items"], msg["extra"])
        self.ledger = Ledger(len(self.items))
        self.state.collected(self.items, msg.get("seconds", 0.0), msg["hash"], len(msg["deselected"]))
        session.testscollected = len(self.items)
        tr = config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            # pytest subtracts the deselected (cli edit)
            tr._numcollected = len(self.items) + len(msg["deselected"])
            if tr.verbosity <= 0:
                tr.showfspath = False
            tr.report_collect(True)
            tr.write_line(
                f"testfleet: {self.settings.workers} worker{'s' if self.settings.workers != 1 else ''} "
                f"({self.executor.backend}, {self.settings.start}), collected in {msg.get('seconds', 0):.2f}s"
            )

    def _report(self, data: dict[str, Any]) -> Any:
        return from_dict(self.config, data)
