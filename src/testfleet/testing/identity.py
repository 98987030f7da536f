"""Which testfleet worker this process is, read from the environment the controller sets.

The controller gives every worker process four variables (see :mod:`testfleet.testing.ports` for the
two port ones). Outside testfleet (plain ``pytest``) the process is the only worker, ``"local"``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from testfleet.testing.errors import ToolkitUsageError

ENV_WORKER = "TESTFLEET_WORKER"
ENV_WORKERS = "TESTFLEET_WORKERS"
ENV_PORT_BASE = "TESTFLEET_PORT_BASE"
ENV_PORT_COUNT = "TESTFLEET_PORT_COUNT"

LOCAL_WORKER_ID = "local"

_TRAILING_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class FleetWorker:
    """The identity of one worker process: its id (``"w3"``) and how many workers the run has."""

    id: str
    count: int

    def __post_init__(self) -> None:
        if not self.id:
            raise ToolkitUsageError("worker id must be a non-empty string")
        if self.count < 1:
            raise ToolkitUsageError(f"worker count must be >= 1, got {self.count}")

    @property
    def in_fleet(self) -> bool:
        """True when this process was started by testfleet, False under plain pytest."""
        return self.id != LOCAL_WORKER_ID

    @property
    def index(self) -> int:
        """The number at the end of the id (``"w3"`` -> 3); 0 outside testfleet or without a number."""
        match = _TRAILING_NUMBER.search(self.id)
        return int(match.group(1)) if match else 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FleetWorker:
        """Read ``TESTFLEET_WORKER`` and ``TESTFLEET_WORKERS``; ``FleetWorker("local", 1)`` without them."""
        env = os.environ if environ is None else environ
        worker_id = env.get(ENV_WORKER, "").strip()
        if not worker_id:
            return cls(LOCAL_WORKER_ID, 1)
        raw_count = env.get(ENV_WORKERS, "1").strip() or "1"
        try:
            count = int(raw_count)
        except ValueError:
            raise ToolkitUsageError(
                f"{ENV_WORKERS}={raw_count!r} is not an integer; expected the number of workers, e.g. 4"
            ) from None
        return cls(worker_id, count)
