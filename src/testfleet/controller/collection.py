"""The collection, as the controller receives it: waiting for it (serving workers that are
ready early later), and re-emitting it through pytest's hooks and terminal reporter as a plain
run would (collection errors, deselected items, the count)."""

from __future__ import annotations

import selectors
from typing import Any

import pytest

from testfleet.controller.transport import Transport
from testfleet.errors import TestfleetError
from testfleet.ledger import Ledger
from testfleet.messages import Channel
from testfleet.outcomes import one_line
from testfleet.rebuild import from_dict
from testfleet.split import collection_hash, dedupe, global_indices, merge_order
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
        if self.settings.collectors > 1:
            return self._merge(self._wait_for_collections(self.settings.collectors))
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

    def _wait_for_collections(self, count: int) -> list[dict[str, Any]]:
        """--collectors K: every collector's ``collected``, by collector. One that fails, or
        exits without sending it, fails the collection (as one collector's would)."""
        parts: dict[int, dict[str, Any]] = {}
        while len(parts) < count:
            for kind, chan, msg in self._poll(0.2):
                if kind != "msg":
                    continue
                if msg["t"] == "collected":
                    assert isinstance(chan, Channel)
                    k = int(msg.get("collector", 0))
                    self.executor.attach_collector(chan, k)
                    self.collector_chans[k] = chan
                    self.sel.modify(chan.sock, selectors.EVENT_READ, ("collector", chan))
                    parts[k] = dict(msg)
                elif msg["t"] == "failed":
                    k = int(msg.get("collector", 0))
                    raise CollectionFailed(int(msg["exitcode"]), self.executor.collector_log(group=k))
            for k in range(count):
                if k in parts:
                    continue
                code = self.executor.collector_exit(k)
                if code is not None:
                    for kind, chan, msg in self._poll(0.2):  # a last message in flight
                        if kind == "msg" and msg["t"] == "collected" and int(msg.get("collector", 0)) == k:
                            assert isinstance(chan, Channel)
                            self.executor.attach_collector(chan, k)
                            self.collector_chans[k] = chan
                            self.sel.modify(chan.sock, selectors.EVENT_READ, ("collector", chan))
                            parts[k] = dict(msg)
                    if k not in parts:
                        raise CollectionFailed(code or 3, self.executor.collector_log(group=k))
            if self.kill_requested or self.stop_requested:
                raise KeyboardInterrupt
        return [parts[k] for k in range(count)]

    def _merge(self, parts: list[dict[str, Any]]) -> dict[str, Any]:
        """One collection from K: items by (their file's place in the tree, their position in their collector),
        errors likewise, deselected items and warnings of all. Each collector is told where
        its items are in it (``layout``), before it forks any worker."""
        if len({p.get("split") for p in parts}) > 1:
            # They saw other files, or other sizes (a file changed while they started): some
            # file would run twice or not at all.
            raise TestfleetError(
                "the collectors split the files differently (files changed while they "
                "collected?); run again, or with --collectors 1"
            )
        order = merge_order([p["keys"] for p in parts])
        expanded = [expand(p["items"], p["extra"]) for p in parts]
        items = [expanded[k][pos] for k, pos in order]
        nodeids = [it["nodeid"] for it in items]
        extra = {
            str(g): {f: v for f, v in it.items() if f != "nodeid"}
            for g, it in enumerate(items)
            if len(it) > 1
        }
        digest = collection_hash(nodeids)
        self.groups = [k for k, _pos in order]
        sizes = [len(p["items"]) for p in parts]
        self.group_order = [k for k, n in enumerate(sizes) if n]
        for k, indices in enumerate(global_indices(order, sizes)):
            chan = self.collector_chans[k]
            chan.send({"t": "layout", "indices": indices, "total": len(items), "hash": digest})
        keyed = [
            (key, k, pos, e)
            for k, p in enumerate(parts)
            for pos, (key, e) in enumerate(zip(p["error_keys"], p["errors"], strict=True))
        ]
        errors = [e for _key, _k, _pos, e in sorted(keyed, key=lambda x: x[:3])]
        return {
            "t": "collected",
            "items": nodeids,
            "extra": extra,
            "errors": errors,
            "deselected": [d for p in parts for d in p["deselected"]],
            "hash": digest,
            # Wall time from the first collector's start-up to the end of the last one's
            # collection: one collector's measure, from its start-up to its collection.
            "seconds": max(p["span"][1] for p in parts) - min(p["span"][0] for p in parts),
            "warnings": dedupe([w for p in parts for w in p.get("warnings", ())]),
            "fork_hazard": next((p["fork_hazard"] for p in parts if p.get("fork_hazard")), None),
        }

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
                + (f" by {self.settings.collectors} collectors" if self.groups is not None else "")
            )

    def _report(self, data: dict[str, Any]) -> Any:
        return from_dict(self.config, data)
