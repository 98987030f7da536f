"""Schedulers decide which test a worker runs next. Pure logic; see protocol.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from testfleet.scheduler.load import LoadScheduler
from testfleet.scheduler.protocol import Scheduler, TestSpec, WorkerSpec

__all__ = ["LoadScheduler", "Scheduler", "TestSpec", "WorkerSpec", "build_scheduler"]


def build_scheduler(tests: Sequence[TestSpec], settings: Any, history: Mapping[str, float],
                    last_outcomes: Mapping[str, str]) -> tuple[Scheduler, list[tuple[int, tuple[str, str]]]]:
    """The scheduler for a run, and tests settled before any worker starts (index, (outcome, text))."""
    longest_first = getattr(settings, "order", "duration") == "duration"
    return LoadScheduler(tests, history, longest_first=longest_first), []
