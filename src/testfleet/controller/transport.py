"""The transport: one selector round turned into events for the loop.

The controller listens on the executor's sockets. A new connection is a ``Channel`` until its
first message says what it is: the collector (``collected``), a worker (``hello``), or nothing
(it is dropped). Each round gives a list of events, in the order they were read:

- ``("msg", worker, message)``: a message from a worker that said hello;
- ``("msg", "collector", message)``: a message from the collector;
- ``("msg", channel, message)``: the first messages of a new connection (``hello``,
  ``collected``, ``failed``);
- ``("eof", worker, None)`` / ``("eof", "collector", channel)``: the peer closed its side.

Plain tuples, typed by :data:`Event`: the loop handles several per test, and a tuple costs
least to make and unpack.
"""

from __future__ import annotations

import selectors
import socket
from typing import Any, Literal

from testfleet.controller.base import ControllerBase
from testfleet.controller.workers import Worker
from testfleet.messages import Channel

# Who an event comes from: a worker, the collector, or a connection not yet either.
Source = Worker | Channel | Literal["collector"]
Event = tuple[Literal["msg", "eof"], Source, Any]


class Transport(ControllerBase):
    """Reads the executor's sockets (registered by the loop) and yields :data:`Event` lists."""

    def _poll(self, timeout: float) -> list[Event]:
        """One selector round: accept connections, read messages, note EOFs."""
        out: list[Event] = []
        try:
            events = self.sel.select(timeout)
        except InterruptedError:
            return out
        for key, _ in events:
            kind, ref = key.data
            if kind == "listen":
                while True:
                    try:
                        conn, _addr = key.fileobj.accept()  # type: ignore[union-attr]
                    except (BlockingIOError, InterruptedError):
                        break
                    conn.setblocking(False)
                    if conn.family != socket.AF_UNIX:
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    chan = Channel(conn)
                    self.sel.register(conn, selectors.EVENT_READ, ("new", chan))
                continue
            if kind == "new":
                chan = ref
                alive = chan.feed()
                for msg in chan.messages():
                    out.append(("msg", chan, msg))
                    if msg["t"] == "hello":
                        # The rest of this connection's messages belong to a worker.
                        break
                # A connection that closed without becoming a worker or the collector is done.
                # (One that did is kept: its EOF is seen again under its new role.)
                if not alive and not any(
                    ref2 is chan and m2["t"] in ("hello", "collected") for _kind, ref2, m2 in out
                ):
                    self._drop(chan)
                continue
            if kind == "collector":
                chan = ref
                alive = chan.feed()
                for msg in chan.messages():
                    out.append(("msg", "collector", msg))
                if not alive:
                    self.sel.unregister(chan.sock)
                    out.append(("eof", "collector", chan))  # which one, with --collectors K
                continue
            if kind == "worker":
                w = self.workers[ref]
                assert w.chan is not None
                alive = w.chan.feed()
                for msg in w.chan.messages():
                    out.append(("msg", w, msg))
                if not alive:
                    try:
                        self.sel.unregister(w.chan.sock)
                    except (KeyError, ValueError):
                        pass
                    out.append(("eof", w, None))
        return self._expand(out)

    def _drop(self, chan: Channel) -> None:
        try:
            self.sel.unregister(chan.sock)
        except (KeyError, ValueError):
            pass
        chan.close()

    def _expand(self, events: list[Event]) -> list[Event]:
        # A new connection's messages after its hello belong to the worker it became.
        out: list[tuple[Any, Any, Any]] = []
        for kind, ref, msg in events:
            out.append((kind, ref, msg))
            if kind == "msg" and isinstance(ref, Channel) and msg["t"] == "hello":
                rest = ref.messages()
                wid = msg["worker"]
                for later in rest:
                    out.append(("msg", ("later", wid), later))
        final: list[Event] = []
        for kind, ref, msg in out:
            if isinstance(ref, tuple) and ref and ref[0] == "later":
                w = self.workers.get(ref[1])
                if w is not None:
                    final.append((kind, w, msg))
            else:
                final.append((kind, ref, msg))
        return final
