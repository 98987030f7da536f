"""Value types shared by the controller, the store and the analysis code.

Nothing here imports pytest, so the store and the analysis run without it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Outcome(str, enum.Enum):
    """The one final outcome every collected test ends with."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # setup or teardown failed
    SKIPPED = "skipped"
    XFAILED = "xfailed"
    XPASSED = "xpassed"
    CRASHED = "crashed"  # the worker died during the test
    TIMEOUT = "timeout"  # stopped by the controller after --timeout
    UNSCHEDULABLE = "unschedulable"  # no worker can satisfy its requirements
    NOT_RUN = "not_run"  # interrupted, or past a deadline


FAILURE_OUTCOMES = frozenset(
    {Outcome.FAILED, Outcome.ERROR, Outcome.CRASHED, Outcome.TIMEOUT, Outcome.UNSCHEDULABLE}
)
FAILURE_VALUES = frozenset(o.value for o in FAILURE_OUTCOMES)  # as stored: plain strings
# Order used in summaries.
OUTCOME_ORDER = [o.value for o in Outcome]


class RunStatus(str, enum.Enum):
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    ERROR = "error"  # ended in a usage error (exit code 4) before or while it started


@dataclass
class TestResult:
    """One attempt of one test, as stored.

    ``attempt`` counts from 1; a test retried twice has three rows. ``flaky`` is set on the
    final passing attempt of a test that failed before in the same run.
    """

    __test__ = False  # not a pytest test class, whatever a test module imports it as

    run_id: str
    nodeid: str
    outcome: str
    attempt: int = 1
    worker: str | None = None
    start: float | None = None  # epoch seconds
    setup_duration: float = 0.0
    call_duration: float = 0.0
    teardown_duration: float = 0.0
    message: str | None = None  # one line
    failure_text: str | None = None  # full longrepr
    stdout: str | None = None
    stderr: str | None = None
    flaky: bool = False
    final: bool = True  # False for attempts that were retried

    @property
    def duration(self) -> float:
        return self.setup_duration + self.call_duration + self.teardown_duration


@dataclass
class WorkerInfo:
    """A worker slot and the capabilities it advertised."""

    run_id: str
    worker_id: str
    host: str
    pid: int | None
    capabilities: dict[str, Any] = field(default_factory=dict)
    node: str | None = None  # Ray node id, or None for local workers


@dataclass
class RunInfo:
    run_id: str
    start: float
    end: float | None = None
    args: list[str] = field(default_factory=list)
    rootdir: str = ""
    git_commit: str | None = None
    git_branch: str | None = None
    host: str = ""
    pid: int | None = None  # controller pid, to detect a killed controller
    status: str = RunStatus.RUNNING.value
    exit_code: int | None = None
    collected: int = 0
    workers: int = 0
    backend: str = "local"
    parent_run: str | None = None  # set on a --resume continuation
    counts: dict[str, int] = field(default_factory=dict)
    # -k/-m, explicit node ids, a shard or a resumed part: not the whole suite, so history
    # statistics (trends, regressions, flaky, forecast) leave it out unless asked.
    partial: bool = False


def outcome_counts(results: Iterable[TestResult]) -> dict[str, int]:
    """Number of tests per final outcome (the analysis, the report and the CLI use it)."""
    counts: dict[str, int] = {}
    for r in results:
        if r.final:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return counts


@dataclass(slots=True)
class TestSpec:
    """What the scheduler knows about one collected test. Treated as read-only (not frozen:
    a frozen dataclass's constructor costs three times as much, for every collected test)."""

    index: int
    nodeid: str
    module: str = ""
    parent: str = ""
    name: str = ""
    scope: str | None = None  # widest shared fixture scope: "module", "class" or None
    estimate: float | None = None  # seconds, from history; None when unknown
    requires: Mapping[str, float] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    after: tuple[str, ...] = ()
    exclusive: bool = False
    group: str | None = None

    @property
    def slots(self) -> int:
        return max(1, int(self.requires.get("cpus", 1)))


@dataclass
class WorkerSpec:
    """A worker as the scheduler sees it."""

    id: str
    capabilities: dict[str, Any] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
