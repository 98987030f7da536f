"""A TCP proxy on 127.0.0.1 that injects network faults between a client and a server.

::

    with FaultProxy(("127.0.0.1", server_port)) as proxy:
        client = connect(proxy.port)      # talk to the server through the proxy
        proxy.set_latency(0.1)            # every chunk waits 100 ms in each direction
        proxy.blackhole()                 # partition: accepted, never forwarded
        proxy.heal()                      # everything back to normal; held data flows again

Directions: ``"upstream"`` is client -> server, ``"downstream"`` server -> client, ``"both"`` both.
A blackhole stops reading, so bytes wait in kernel buffers (as TCP retransmits through a real
partition) and arrive after :meth:`FaultProxy.heal` unless the peers gave up first.
The proxy runs in daemon threads and closes itself after ``lifetime`` seconds.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from testfleet.testing.errors import ProxyError, ToolkitUsageError
from testfleet.testing.link import DOWN, UP, Link
from testfleet.testing.ports import LOOPBACK, PortRange

Direction = Literal["both", "upstream", "downstream"]

_POLL = 0.1


@dataclass(frozen=True)
class ProxyStats:
    """Counters since the proxy started: connections accepted, dropped on arrival, open now, and bytes
    forwarded (delivered to the other side; bytes held by a blackhole or a delay are not counted yet)."""

    accepted: int
    dropped: int
    active: int
    bytes_upstream: int
    bytes_downstream: int


def _directions(direction: Direction) -> tuple[str, ...]:
    if direction == "both":
        return (UP, DOWN)
    if direction == "upstream":
        return (UP,)
    if direction == "downstream":
        return (DOWN,)
    raise ToolkitUsageError(f"direction must be 'both', 'upstream' or 'downstream', got {direction!r}")


class FaultProxy:
    """Forward ``127.0.0.1:port`` to ``upstream``, with faults switched on and off by the test.

    ``port=0`` lets the OS choose; ``ports`` (a :class:`PortRange`) takes a free port from the range.
    """

    def __init__(
        self,
        upstream: tuple[str, int] | int,
        *,
        port: int = 0,
        ports: PortRange | None = None,
        lifetime: float | None = 600.0,
        connect_timeout: float = 5.0,
        seed: int | None = None,
    ) -> None:
        self.upstream = (LOOPBACK, upstream) if isinstance(upstream, int) else upstream
        self._requested_port = ports.free_port() if ports is not None and port == 0 else port
        self._lifetime = lifetime
        self.connect_timeout = connect_timeout
        self._rng = random.Random(seed)
        self._cond = threading.Condition()
        self._latency: dict[str, tuple[float, float]] = {UP: (0.0, 0.0), DOWN: (0.0, 0.0)}
        self._bandwidth: dict[str, float | None] = {UP: None, DOWN: None}
        self._blackholed: dict[str, bool] = {UP: False, DOWN: False}
        self._drop_new = False
        self._links: set[Link] = set()
        self._accepted = 0
        self._dropped = 0
        self._bytes = {UP: 0, DOWN: 0}
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # ----- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        if self._stopping.is_set():
            raise ProxyError("a closed FaultProxy cannot be started again; create a new one")
        if self._listener is not None:
            raise ProxyError("FaultProxy.start() called twice")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((LOOPBACK, self._requested_port))
        except OSError as error:
            listener.close()
            raise ProxyError(f"cannot listen on {LOOPBACK}:{self._requested_port}: {error}") from error
        listener.listen(128)
        listener.settimeout(_POLL)
        self._listener = listener
        deadline = None if self._lifetime is None else time.monotonic() + self._lifetime
        self._thread = threading.Thread(
            target=self._accept_loop,
            args=(listener, deadline),
            daemon=True,
            name=f"testfleet-proxy-{self.port}",
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening and reset every open connection. Safe to call twice."""
        self._stopping.set()
        with self._cond:
            links = list(self._links)
            self._cond.notify_all()
        for link in links:
            link.abort()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)

    @property
    def closed(self) -> bool:
        return self._stopping.is_set()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect: ``("127.0.0.1", port)``."""
        if self._listener is None:
            raise ProxyError("FaultProxy is not started; use it as a context manager or call start()")
        return (LOOPBACK, self.port)

    @property
    def port(self) -> int:
        if self._listener is None:
            raise ProxyError("FaultProxy is not started; use it as a context manager or call start()")
        return int(self._listener.getsockname()[1])

    # ----- faults ----------------------------------------------------------------------------------

    def set_latency(self, delay: float, jitter: float = 0.0, direction: Direction = "both") -> None:
        """Hold every chunk ``delay`` plus a uniform 0..``jitter`` seconds (order is kept)."""
        if delay < 0 or jitter < 0:
            raise ToolkitUsageError(f"latency delay and jitter must be >= 0, got {delay!r}, {jitter!r}")
        with self._cond:
            for d in _directions(direction):
                self._latency[d] = (delay, jitter)

    def set_bandwidth(self, bytes_per_second: float | None, direction: Direction = "both") -> None:
        """Limit throughput to ``bytes_per_second`` (``None``: unlimited)."""
        if bytes_per_second is not None and bytes_per_second <= 0:
            raise ToolkitUsageError(f"bandwidth must be > 0 bytes/s or None, got {bytes_per_second!r}")
        with self._cond:
            for d in _directions(direction):
                self._bandwidth[d] = bytes_per_second

    def blackhole(self, direction: Direction = "both") -> None:
        """Partition: keep accepting, forward nothing in ``direction`` until :meth:`heal`.

        While upstream is blackholed, new connections are accepted but not connected to the server.
        """
        with self._cond:
            for d in _directions(direction):
                self._blackholed[d] = True

    def drop_new(self, enabled: bool = True) -> None:
        """Reset (TCP RST) every new connection right after accepting it."""
        with self._cond:
            self._drop_new = enabled

    def reset_all(self) -> int:
        """Reset every open connection (both peers see a TCP RST); returns how many were reset."""
        with self._cond:
            links = list(self._links)
        for link in links:
            link.abort()
        return len(links)

    def heal(self) -> None:
        """Remove every fault: no latency, no bandwidth limit, no blackhole, new connections accepted."""
        with self._cond:
            self._latency = {UP: (0.0, 0.0), DOWN: (0.0, 0.0)}
            self._bandwidth = {UP: None, DOWN: None}
            self._blackholed = {UP: False, DOWN: False}
            self._drop_new = False
            self._cond.notify_all()

    def stats(self) -> ProxyStats:
        with self._cond:
            return ProxyStats(
                self._accepted, self._dropped, len(self._links), self._bytes[UP], self._bytes[DOWN]
            )

    # ----- what the links ask ----------------------------------------------------------------------

    def delay(self, direction: str) -> float:
        with self._cond:
            base, jitter = self._latency[direction]
            return base + (self._rng.uniform(0.0, jitter) if jitter else 0.0)

    def bandwidth(self, direction: str) -> float | None:
        with self._cond:
            return self._bandwidth[direction]

    def wait_open(self, direction: str, link: Link) -> bool:
        """Block while ``direction`` is blackholed; False if the link or the proxy closed meanwhile."""
        with self._cond:
            while self._blackholed[direction] and not link.closed and not self._stopping.is_set():
                self._cond.wait(_POLL)
        return not link.closed and not self._stopping.is_set()

    def count(self, direction: str, nbytes: int) -> None:
        with self._cond:
            self._bytes[direction] += nbytes

    def forget(self, link: Link) -> None:
        with self._cond:
            self._links.discard(link)

    # ----- accepting -------------------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket, deadline: float | None) -> None:
        try:
            while not self._stopping.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    break
                with self._cond:
                    self._accepted += 1
                    drop = self._drop_new
                    if drop:
                        self._dropped += 1
                    link = Link(client, self)
                    if not drop:
                        self._links.add(link)
                if drop:
                    link.abort()
                else:
                    link.start()
        finally:
            listener.close()
            self.close()
