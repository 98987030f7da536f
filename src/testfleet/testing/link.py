"""One proxied TCP connection of a :class:`~testfleet.testing.faults.FaultProxy`.

Each direction is a reader thread (socket -> queue, stamped with the time it may leave) and a writer
thread (queue -> socket, after the delay, the blackhole and the bandwidth limit allow). Sockets use
short timeouts, so every thread notices an abort within ~50 ms; an abort closes both sockets with
SO_LINGER 0, which sends a TCP RST to both peers.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import struct
import threading
import time
from typing import Protocol

UP = "upstream"  # client -> server
DOWN = "downstream"  # server -> client

_CHUNK = 65536
_TICK = 0.05
_EOF = b""


class LinkOwner(Protocol):
    """What a link asks of its proxy (the fault settings are read for every chunk)."""

    upstream: tuple[str, int]
    connect_timeout: float

    def delay(self, direction: str) -> float: ...

    def bandwidth(self, direction: str) -> float | None: ...

    def wait_open(self, direction: str, link: Link) -> bool: ...

    def count(self, direction: str, nbytes: int) -> None: ...

    def forget(self, link: Link) -> None: ...


class Link:
    """A client connection and, once connected, its upstream connection."""

    def __init__(self, client: socket.socket, owner: LinkOwner) -> None:
        self.client = client
        self.server: socket.socket | None = None
        self.owner = owner
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._finished: set[str] = set()
        client.settimeout(_TICK)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def start(self) -> None:
        threading.Thread(target=self._connect, daemon=True, name="testfleet-proxy-connect").start()

    def _connect(self) -> None:
        if not self.owner.wait_open(UP, self):
            return
        try:
            server = socket.create_connection(self.owner.upstream, timeout=self.owner.connect_timeout)
        except OSError:
            self.abort()
            return
        server.settimeout(_TICK)
        with self._lock:
            if self.closed:
                server.close()
                return
            self.server = server
        for direction, src, dst in ((UP, self.client, server), (DOWN, server, self.client)):
            chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()
            threading.Thread(target=self._read, args=(direction, src, chunks), daemon=True).start()
            threading.Thread(target=self._write, args=(direction, dst, chunks), daemon=True).start()

    def abort(self) -> None:
        """Close both sockets with a TCP RST. Idempotent."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            sockets = [s for s in (self.client, self.server) if s is not None]
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        self.owner.forget(self)

    def _finish(self, direction: str) -> None:
        """One direction delivered its EOF; when both have, close normally."""
        with self._lock:
            self._finished.add(direction)
            done = len(self._finished) == 2 and not self._closed.is_set()
            if done:
                self._closed.set()
        if done:
            self.client.close()
            if self.server is not None:
                self.server.close()
            self.owner.forget(self)

    def _read(self, direction: str, src: socket.socket, chunks: queue.Queue[tuple[float, bytes]]) -> None:
        last_due = 0.0
        while self.owner.wait_open(direction, self):
            try:
                data = src.recv(_CHUNK)
            except TimeoutError:
                continue
            except OSError:  # reset by the peer, or closed by abort()
                self.abort()
                return
            last_due = max(time.monotonic() + self.owner.delay(direction), last_due)
            chunks.put((last_due, data))
            if not data:
                return

    def _write(self, direction: str, dst: socket.socket, chunks: queue.Queue[tuple[float, bytes]]) -> None:
        next_free = time.monotonic()
        while not self.closed:
            try:
                due, data = chunks.get(timeout=_TICK)
            except queue.Empty:
                continue
            if self._closed.wait(max(0.0, due - time.monotonic())):
                return
            if not self.owner.wait_open(direction, self):
                return
            if data == _EOF:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
                self._finish(direction)
                return
            next_free = self._send(direction, dst, memoryview(data), next_free)
            if next_free < 0:
                self.abort()
                return

    def _send(self, direction: str, dst: socket.socket, view: memoryview, next_free: float) -> float:
        """Send all of ``view`` at the allowed rate; the time the link is free again, or -1 on error."""
        while view and not self.closed:
            rate = self.owner.bandwidth(direction)
            piece = view if rate is None else view[: max(1, int(rate * _TICK))]
            if rate is not None and self._closed.wait(max(0.0, next_free - time.monotonic())):
                return -1.0
            try:
                sent = dst.send(piece)
            except TimeoutError:
                continue
            except OSError:
                return -1.0
            view = view[sent:]
            self.owner.count(direction, sent)
            if rate is not None:
                next_free = max(next_free, time.monotonic()) + sent / rate
        return next_free
