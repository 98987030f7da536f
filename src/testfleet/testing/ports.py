"""Disjoint TCP port ranges, one per testfleet worker, so parallel tests never fight over a port.

The controller computes the ranges with :func:`ranges_for_workers` and hands each worker its own
through ``TESTFLEET_PORT_BASE`` / ``TESTFLEET_PORT_COUNT``. Inside a test, :meth:`PortRange.from_env`
reads them back; under plain pytest it probes 127.0.0.1 for a range that is free right now.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from testfleet.testing.errors import NoFreePortError, PortRangeError
from testfleet.testing.identity import ENV_PORT_BASE, ENV_PORT_COUNT, ENV_WORKER, ENV_WORKERS

MAX_PORT = 65535
DEFAULT_COUNT = 100
LOOPBACK = "127.0.0.1"
# Probed ranges start here, below the kernel's ephemeral range, so outgoing connections don't take them.
_PROBE_LOW = 20000
_EPHEMERAL_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True if a TCP socket can bind ``host:port`` right now (without SO_REUSEADDR, so TIME_WAIT counts as busy)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class PortRange:
    """The ports ``base`` .. ``base + count - 1``.

    ``port(i)`` is pure arithmetic; ``free_port()`` walks the range with a cursor (thread-safe) and
    returns the next port that is bindable on 127.0.0.1 right now, so two calls never hand out the same
    port until the range wraps around.
    """

    def __init__(self, base: int, count: int) -> None:
        if isinstance(base, bool) or not isinstance(base, int) or not 1 <= base <= MAX_PORT:
            raise PortRangeError(f"port range base must be an integer in 1..{MAX_PORT}, got {base!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise PortRangeError(f"port range count must be an integer >= 1, got {count!r}")
        if base + count - 1 > MAX_PORT:
            raise PortRangeError(
                f"port range {base}..{base + count - 1} goes past {MAX_PORT}; lower the base or the count"
            )
        self.base = base
        self.count = count
        self._cursor = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PortRange(base={self.base}, count={self.count})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PortRange):
            return NotImplemented
        return (self.base, self.count) == (other.base, other.count)

    def __hash__(self) -> int:
        return hash((self.base, self.count))

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.base, self.base + self.count))

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.base <= port < self.base + self.count

    @property
    def last(self) -> int:
        """The highest port of the range."""
        return self.base + self.count - 1

    def port(self, i: int) -> int:
        """The ``i``-th port of the range (0-based); negative ``i`` counts from the end."""
        if not -self.count <= i < self.count:
            raise PortRangeError(
                f"port index {i} is outside {self!r}; accepted: {-self.count}..{self.count - 1}"
            )
        return self.base + (i % self.count)

    def free_port(self, host: str = LOOPBACK) -> int:
        """The next port of the range that can be bound on ``host`` right now; busy ports are skipped.

        Raises :class:`NoFreePortError` when every port of the range is busy.
        """
        with self._lock:
            for _ in range(self.count):
                candidate = self.base + self._cursor
                self._cursor = (self._cursor + 1) % self.count
                if port_is_free(candidate, host):
                    return candidate
        raise NoFreePortError(f"all {self.count} ports of {self!r} are busy on {host}")

    def split(self, parts: int) -> list[PortRange]:
        """Cut this range into ``parts`` disjoint equal sub-ranges (the remainder is left unused)."""
        if parts < 1 or parts > self.count:
            raise PortRangeError(f"cannot split {self!r} into {parts} parts; accepted: 1..{self.count}")
        size = self.count // parts
        return [PortRange(self.base + k * size, size) for k in range(parts)]

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, default_count: int = DEFAULT_COUNT
    ) -> PortRange:
        """This worker's range from ``TESTFLEET_PORT_BASE``/``TESTFLEET_PORT_COUNT``.

        Without them (plain pytest, a script) it returns :meth:`probe` ``(default_count)``.
        """
        env = os.environ if environ is None else environ
        raw_base = env.get(ENV_PORT_BASE, "").strip()
        if not raw_base:
            return cls.probe(default_count)
        raw_count = env.get(ENV_PORT_COUNT, "").strip() or str(default_count)
        try:
            base, count = int(raw_base), int(raw_count)
        except ValueError:
            raise PortRangeError(
                f"{ENV_PORT_BASE}={raw_base!r} / {ENV_PORT_COUNT}={raw_count!r} must be integers "
                f"(worker {env.get(ENV_WORKER, '?')!r})"
            ) from None
        return cls(base, count)

    @classmethod
    def probe(cls, count: int = DEFAULT_COUNT, *, attempts: int = 64, host: str = LOOPBACK) -> PortRange:
        """A range of ``count`` ports, all bindable on ``host`` right now, below the ephemeral range.

        The start is random, so two processes probing at once rarely pick the same range; nothing
        reserves it, so prefer the controller's ranges when running under testfleet.
        """
        if count < 1:
            raise PortRangeError(f"probe count must be >= 1, got {count}")
        low, high = _probe_window(count)
        rng = random.Random()
        for _ in range(attempts):
            base = rng.randint(low, high - count + 1)
            if all(port_is_free(p, host) for p in range(base, base + count)):
                return cls(base, count)
        raise NoFreePortError(
            f"found no {count} consecutive free ports in {low}..{high} after {attempts} tries"
        )


def _probe_window(count: int) -> tuple[int, int]:
    """The ports to probe in: from 20000 up to just below the kernel's ephemeral range."""
    ephemeral_low = 32768
    with contextlib.suppress(OSError, ValueError, IndexError):
        ephemeral_low = int(_EPHEMERAL_FILE.read_text().split()[0])
    high = ephemeral_low - 1
    if high - _PROBE_LOW + 1 >= count:
        return _PROBE_LOW, high
    return 1024, MAX_PORT  # an unusual ephemeral range: fall back to every unprivileged port


_shared: dict[tuple[str, str], PortRange] = {}
_shared_lock = threading.Lock()


def shared_range() -> PortRange:
    """This process's one :meth:`PortRange.from_env` object, so every user shares one cursor.

    The ``fleet_ports`` fixture and ``ProcessCluster`` (when given no ``ports``) use it, so
    two of them never hand out the same port. Read again if the environment variables change.
    """
    key = (os.environ.get(ENV_PORT_BASE, ""), os.environ.get(ENV_PORT_COUNT, ""))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = PortRange.from_env()
        return _shared[key]


def ranges_for_workers(n: int, base: int, count: int) -> list[PortRange]:
    """``n`` disjoint consecutive ranges of ``count`` ports starting at ``base``: worker k gets the k-th.

    Raises :class:`PortRangeError` when the last port, ``base + n*count - 1``, would exceed 65535.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise PortRangeError(f"number of workers must be an integer >= 1, got {n!r}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise PortRangeError(f"ports per worker must be an integer >= 1, got {count!r}")
    if isinstance(base, bool) or not isinstance(base, int) or base < 1:
        raise PortRangeError(f"port base must be an integer >= 1, got {base!r}")
    last = base + n * count - 1
    if last > MAX_PORT:
        fitting = max(0, (MAX_PORT - base + 1) // count)
        raise PortRangeError(
            f"{n} workers x {count} ports from base {base} need ports up to {last}, past {MAX_PORT}; "
            f"at most {fitting} workers fit, or lower the base / ports per worker"
        )
    return [PortRange(base + k * count, count) for k in range(n)]


def worker_env(worker_id: str, workers: int, ports: PortRange) -> dict[str, str]:
    """The environment variables the controller sets for one worker (merge into its environment)."""
    return {
        ENV_WORKER: worker_id,
        ENV_WORKERS: str(workers),
        ENV_PORT_BASE: str(ports.base),
        ENV_PORT_COUNT: str(ports.count),
    }
