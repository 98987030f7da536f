"""Run progress on the terminal.

On a TTY: a live rich display with counts by outcome, elapsed/ETA and each worker's current
test; pytest's own output lines are printed above it. Not on a TTY (CI): one plain status
line at most every ``PLAIN_INTERVAL`` seconds, so a long run does not flood the log.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

PLAIN_INTERVAL = 10.0  # seconds between "N/M done" lines when stdout is not a terminal
FLUSH_INTERVAL = 0.1  # seconds; how stale plain output may be while results stream in


class Progress:
    """Counts and ETA shared by both displays.

    The ETA weighs tests by their estimated durations (the store's history; tests without
    history count as the median of those with one): the work left, in estimated seconds, at
    the pace the run has kept so far (elapsed time per estimated second done, counting the
    running tests' time up to their estimate). Without any history it falls back to counting
    tests.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.total = 0
        self.done = 0
        self.counts: Counter[str] = Counter()
        self.current: dict[str, str] = {}
        self.since: dict[str, float] = {}  # worker -> when its current test started
        self.t0 = time.monotonic()
        self.workers = 0
        self.estimates: dict[str, float] = {}
        self.default_estimate = 0.0
        self.expected_total = 0.0  # estimated seconds of all tests; 0: no history
        self.expected_done = 0.0

    def begin(
        self,
        total: int,
        workers: int,
        estimates: Mapping[str, float] | None = None,
        nodeids: Sequence[str] | None = None,
    ) -> None:
        self.total, self.workers = total, workers
        self.t0 = time.monotonic()
        if estimates is None or nodeids is None:
            estimates, nodeids = self._history()
        self.weigh(estimates, nodeids)

    def _history(self) -> tuple[Mapping[str, float], Sequence[str]]:
        from testfleet.stash import STATE_KEY

        stash = getattr(self.config, "stash", None)
        state = stash.get(STATE_KEY, None) if stash is not None else None
        if state is None:
            return {}, ()
        return getattr(state, "history", {}) or {}, [i["nodeid"] for i in getattr(state, "items", [])]

    def weigh(self, estimates: Mapping[str, float], nodeids: Sequence[str]) -> None:
        known = [estimates[n] for n in nodeids if n in estimates]
        if not known:
            return
        import statistics

        self.estimates = {n: estimates[n] for n in nodeids if n in estimates}
        self.default_estimate = statistics.median(known)
        self.expected_total = sum(self.estimates.get(n, self.default_estimate) for n in nodeids)

    def estimate(self, nodeid: str | None) -> float:
        return self.estimates.get(nodeid, self.default_estimate) if nodeid else self.default_estimate

    def started(self, worker: str, nodeid: str) -> None:
        self.current[worker] = nodeid
        self.since[worker] = time.monotonic()

    def finished(self, worker: str | None, outcome: str) -> None:
        self.done += 1
        self.counts[outcome] += 1
        nodeid = self.current.pop(worker, None) if worker is not None else None
        if worker is not None:
            self.since.pop(worker, None)
        self.expected_done += self.estimate(nodeid)

    def eta(self, now: float | None = None) -> float | None:
        now = time.monotonic() if now is None else now
        elapsed = now - self.t0
        if self.expected_total > 0:
            running = sum(
                min(now - self.since.get(w, now), self.estimate(n)) for w, n in self.current.items()
            )
            progress = self.expected_done + running
            left = max(0.0, self.expected_total - progress)
            if progress <= 0 or elapsed <= 0:
                return left / max(1, self.workers)
            return left * elapsed / progress
        if self.done == 0 or elapsed <= 0:
            return None
        return elapsed / self.done * (self.total - self.done)

    def line(self) -> str:
        from testfleet.formatting import seconds

        elapsed = time.monotonic() - self.t0
        eta = self.eta()
        parts = ", ".join(f"{n} {o}" for o, n in sorted(self.counts.items()))
        eta_text = f", ETA {seconds(eta)}" if eta is not None else ""
        return f"testfleet: {self.done}/{self.total} done ({parts or 'none yet'}), {seconds(elapsed)} elapsed{eta_text}"

    def tick(self) -> None:
        return None

    def note(self, text: str) -> None:
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line(text)
        else:
            sys.stderr.write(text + "\n")

    def end(self) -> None:
        return None


class _CoalescedFlush:
    """A file for pytest's TerminalWriter while results stream in: the reporter writes a
    letter and flushes after every test (a write system call per test: about a tenth of the
    controller's time on a large suite of short tests when stdout is a pipe, and with
    ``PYTHONUNBUFFERED=1``, common in containers and CI, every letter is a system call even
    without the flush). This keeps what is written and passes it on, with one flush, at most
    every ``interval`` seconds; :meth:`flush_due` (called by the loop) sends what is left."""

    def __init__(self, original: Any, interval: float = FLUSH_INTERVAL) -> None:
        self.original = original
        self.interval = interval
        self.pending = False
        self.held: list[str] = []
        self._last = time.monotonic()

    def write(self, text: str) -> int:
        self.held.append(text)
        return len(text)

    def flush(self) -> None:
        self.pending = True
        self.flush_due()

    def flush_due(self) -> None:
        if self.pending:
            now = time.monotonic()
            if now - self._last >= self.interval:
                self.flush_now(now)

    def flush_now(self, now: float | None = None) -> None:
        self.pending = False
        self._last = now if now is not None else time.monotonic()
        if self.held:
            text = "".join(self.held)
            self.held.clear()
            self.original.write(text)
        self.original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


class PlainProgress(Progress):
    def __init__(self, config: pytest.Config) -> None:
        super().__init__(config)
        self._last = time.monotonic()
        self.proxy: _CoalescedFlush | None = None
        self.interval = plain_interval(config)

    def begin(
        self,
        total: int,
        workers: int,
        estimates: Mapping[str, float] | None = None,
        nodeids: Sequence[str] | None = None,
    ) -> None:
        super().begin(total, workers, estimates, nodeids)
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None and self.proxy is None:
            self.proxy = _CoalescedFlush(tr._tw._file)
            tr._tw._file = self.proxy

    def end(self) -> None:
        proxy, self.proxy = self.proxy, None
        if proxy is None:
            return
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None and tr._tw._file is proxy:
            tr._tw._file = proxy.original
        proxy.flush_now()

    def tick(self) -> None:
        if self.proxy is not None:
            self.proxy.flush_due()
        now = time.monotonic()
        if now - self._last >= self.interval and self.total and self.done < self.total:
            self._last = now
            tr = self.config.pluginmanager.get_plugin("terminalreporter")
            if tr is not None:
                if tr._tw.width_of_current_line:
                    tr._tw.line()
                tr.write_line(self.line())


class _LineProxy:
    """A file for pytest's TerminalWriter that hands complete lines to the live console."""

    def __init__(self, console: Any, original: Any) -> None:
        self.console = console
        self.original = original
        self.buf = ""

    def write(self, text: str) -> int:
        self.buf += text
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            self.console.out(line, highlight=False)
        return len(text)

    def flush(self) -> None:
        return None

    def drain(self) -> None:
        if self.buf:
            self.console.out(self.buf, highlight=False)
            self.buf = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


class LiveProgress(Progress):
    def __init__(self, config: pytest.Config) -> None:
        super().__init__(config)
        self.live: Any = None
        self.proxy: _LineProxy | None = None

    def begin(
        self,
        total: int,
        workers: int,
        estimates: Mapping[str, float] | None = None,
        nodeids: Sequence[str] | None = None,
    ) -> None:
        super().begin(total, workers, estimates, nodeids)
        from rich.console import Console
        from rich.live import Live

        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        # pytest's global capture has fd 1; the terminal reporter holds the real terminal.
        out = tr._tw._file if tr is not None else sys.__stdout__
        console = Console(file=out, highlight=False, force_terminal=True)
        self.live = Live(
            self._render(),
            console=console,
            refresh_per_second=8,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.live.start()
        if tr is not None:
            self.proxy = _LineProxy(self.live.console, tr._tw._file)
            tr._tw._file = self.proxy

    def _render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 1))
        table.add_row(Text(self.line(), style="bold"))
        for worker, nodeid in sorted(self.current.items()):
            table.add_row(Text(f"  {worker}: {nodeid}", overflow="ellipsis", no_wrap=True))
        return table

    def tick(self) -> None:
        if self.live is not None:
            self.live.update(self._render())

    def note(self, text: str) -> None:
        if self.live is not None:
            self.live.console.print(text, highlight=False)
        else:
            super().note(text)

    def end(self) -> None:
        if self.live is None:
            return
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        # Stop the display first, then hand pytest's unfinished line (the last dots) back
        # as it is, without a newline: pytest ends it with "[100%]" padded to the width.
        self.live.stop()
        self.live = None
        if self.proxy is not None:
            proxy, self.proxy = self.proxy, None
            if tr is not None:
                tr._tw._file = proxy.original
            if proxy.buf:
                proxy.original.write(proxy.buf)
                proxy.buf = ""
            proxy.original.flush()


def plain_interval(config: pytest.Config) -> float:
    """``progress_interval`` of the run's settings (``TESTFLEET_PROGRESS_INTERVAL``)."""
    from testfleet.stash import STATE_KEY

    stash = getattr(config, "stash", None)
    state = stash.get(STATE_KEY, None) if stash is not None else None
    value = getattr(getattr(state, "settings", None), "progress_interval", None)
    return float(value) if value else PLAIN_INTERVAL


def make_progress(config: pytest.Config) -> Progress:
    tr = config.pluginmanager.get_plugin("terminalreporter")
    isatty = bool(tr is not None and tr.isatty)
    return LiveProgress(config) if isatty else PlainProgress(config)
