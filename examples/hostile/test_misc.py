"""Tests that misbehave without dying: an exception that cannot be pickled, a leaked child."""

import subprocess
import threading


class LockedError(Exception):
    """An exception that pickle cannot round-trip: it holds a lock and a lambda."""

    def __init__(self, what: str, *, lock: threading.Lock) -> None:  # keyword-only: breaks unpickling too
        super().__init__(what)
        self.lock = lock
        self.callback = lambda: what


def test_raises_unpicklable_exception() -> None:
    raise LockedError("holding a lock and a lambda", lock=threading.Lock())


def test_leaves_child_process() -> None:
    # Starts a child that outlives the test and is never waited for. The worker (or its
    # process group) must not let it keep the run alive.
    child = subprocess.Popen(["sleep", "300"])
    assert child.poll() is None
