"""The controller reads results in batches: how long its loop may sleep (nap_seconds), queues
topped up once per loop round, and plain terminal output flushed at most every FLUSH_INTERVAL
while results stream in."""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace
from typing import Any

import pytest

from testfleet.controller import NAP_MAX, NAP_MIN, Controller, Worker, WorkerStatus, nap_seconds
from testfleet.controller import results as results_mod
from testfleet.controller.workers import PACE_TESTS
from testfleet.ledger import Ledger
from testfleet.report import progress
from testfleet.report.progress import PlainProgress


def worker(queued: int, avg: float | None, **kw: Any) -> Worker:
    kw.setdefault("status", WorkerStatus.READY)
    w = Worker(id="w0", slot=0, gen=0, env={}, chan=object(), avg_duration=avg, **kw)  # type: ignore[arg-type]
    w.outstanding = deque(range(queued + 1))  # the running test and what it holds after it
    return w


def test_nap_is_half_the_smallest_queue_and_capped() -> None:
    assert nap_seconds([worker(40, 0.0005), worker(8, 0.0005)]) == pytest.approx(8 * 0.0005 / 2)
    assert nap_seconds([worker(1000, 0.01)]) == NAP_MAX


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(dict(queued=2, avg=0.0005), id="too-little-queued"),
        pytest.param(dict(queued=40, avg=None), id="no-test-finished-yet"),
        pytest.param(dict(queued=40, avg=0.001, status=WorkerStatus.STOPPING), id="stopping"),
        pytest.param(dict(queued=40, avg=0.001, status=WorkerStatus.HALTED), id="halted"),
        pytest.param(dict(queued=0, avg=0.001), id="idle"),
    ],
)
def test_no_nap_while_any_worker_could_starve(other: dict[str, Any]) -> None:
    assert nap_seconds([worker(40, 0.001), worker(other.pop("queued"), other.pop("avg"), **other)]) == 0.0


def test_no_nap_for_a_worker_still_starting_and_none_without_workers() -> None:
    starting = worker(40, 0.001, status=WorkerStatus.STARTING)
    starting.chan = None
    assert nap_seconds([worker(40, 0.001), starting]) == 0.0
    assert nap_seconds([]) == 0.0
    dead = worker(0, None, status=WorkerStatus.DEAD)
    assert nap_seconds([dead, worker(40, 0.001)]) == pytest.approx(min(NAP_MAX, 40 * 0.001 / 2))
    assert 2 * NAP_MIN <= NAP_MAX


def test_pace_counts_what_the_reports_leave_out() -> None:
    # Reports say 0.04 ms per test; the worker finishes one every 0.3 ms: 8 queued tests are
    # 2.4 ms of work, not 0.32 ms. Without the pace the loop would not nap at all.
    w = worker(8, 0.00004)
    assert nap_seconds([w]) == 0.0
    w.observe_pace(10.0)
    w.finished_tests = PACE_TESTS - 1
    w.observe_pace(10.0 + (PACE_TESTS - 1) * 0.0003)
    assert w.pace is None  # not enough tests in the window yet
    w.finished_tests = PACE_TESTS
    w.observe_pace(10.0 + PACE_TESTS * 0.0003)
    assert w.pace == pytest.approx(0.0003)
    assert nap_seconds([w]) == pytest.approx(8 * 0.0003 / 2)
    # A slower reported duration wins over a faster pace.
    assert nap_seconds([worker(8, 0.0005, pace=0.0003)]) == pytest.approx(8 * 0.0005 / 2)


def test_a_window_with_an_empty_queue_is_not_a_pace() -> None:
    w = worker(8, 0.00004)
    w.observe_pace(0.0)
    w.outstanding.clear()  # it ran dry: what follows includes waiting for work
    w.observe_pace(0.001)
    assert w.pace_mark is None
    w.outstanding.extend(range(9))
    w.finished_tests = 10
    w.observe_pace(5.0)  # a new window starts here, not at 0.0
    w.finished_tests = 10 + PACE_TESTS
    w.observe_pace(5.0 + PACE_TESTS * 0.0002)
    assert w.pace == pytest.approx(0.0002)


class CountingFile:
    def __init__(self) -> None:
        self.text = ""
        self.flushed = ""
        self.flushes = 0
        self.writes = 0

    def write(self, text: str) -> int:
        self.text += text
        self.writes += 1
        return len(text)

    def flush(self) -> None:
        self.flushes += 1
        self.flushed = self.text

    def isatty(self) -> bool:
        return False


def plain_progress() -> tuple[PlainProgress, Any, CountingFile]:
    out = CountingFile()
    tr = SimpleNamespace(_tw=SimpleNamespace(_file=out))
    config = SimpleNamespace(pluginmanager=SimpleNamespace(get_plugin=lambda name: tr))
    return PlainProgress(config), tr, out  # type: ignore[arg-type]


def test_plain_output_flushes_are_coalesced_while_results_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    prog, tr, out = plain_progress()
    prog.begin(1000, 2)
    assert tr._tw._file is not out  # the reporter writes through the proxy now
    for _ in range(500):  # pytest's reporter flushes after every test
        tr._tw._file.write(".")
        tr._tw._file.flush()
    # Held: with PYTHONUNBUFFERED=1 every write would be a system call of its own.
    assert (out.text, out.writes, out.flushes) == ("", 0, 0)
    now[0] += progress.FLUSH_INTERVAL + 0.001
    prog.tick()  # the loop passes the text and a flush on once it is due: one write
    assert (out.flushes, out.flushed, out.writes) == (1, "." * 500, 1)
    tr._tw._file.write("x")
    tr._tw._file.flush()
    prog.tick()
    assert out.flushes == 1
    prog.end()  # the end of the loop flushes what is left and gives the reporter its file back
    assert (out.flushes, out.flushed) == (2, "." * 500 + "x")
    assert tr._tw._file is out


class FakeScheduler:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, int]] = []

    def done(self, wid: str, idx: int) -> None:
        self.events.append(("done", wid, idx))

    def started(self, wid: str, idx: int) -> None:
        self.events.append(("started", wid, idx))


def bare_controller(monkeypatch: pytest.MonkeyPatch) -> tuple[Controller, list[str], list[int]]:
    """A controller with only what handling start/done messages touches; reports are not
    rebuilt or settled through pytest here, and feeding is recorded instead of done."""
    c = Controller.__new__(Controller)
    c.to_feed, c.feed_idle = {}, False
    c.items = [{"nodeid": f"t.py::test_{i}"} for i in range(10)]
    c.locations, c.early_deaths, c.config = {}, 0, None  # type: ignore[assignment]
    c.ledger = Ledger(len(c.items))
    c.observed, c.observed_n = {}, {}
    c.scheduler = FakeScheduler()  # type: ignore[assignment]
    c.state = SimpleNamespace(
        progress=SimpleNamespace(started=lambda wid, nodeid: None),  # type: ignore[assignment]
        bus=SimpleNamespace(wants=lambda kind: False),
        attempts={},
    )
    fed: list[str] = []
    settled: list[int] = []
    monkeypatch.setattr(c, "_feed", lambda w: fed.append(w.id))
    monkeypatch.setattr(c, "_feed_idle", lambda: fed.append("idle"))
    monkeypatch.setattr(c, "_settle_reports", lambda idx, w, reports, clean=False: settled.append(idx))
    monkeypatch.setattr(results_mod, "rebuild", lambda *a: [SimpleNamespace(duration=0.002)])
    return c, fed, settled


def test_queues_are_topped_up_once_per_loop_round_not_per_message(monkeypatch: pytest.MonkeyPatch) -> None:
    c, fed, settled = bare_controller(monkeypatch)
    w0, w1 = worker(3, None), worker(2, None)
    w1.id = "w1"
    w0.outstanding, w1.outstanding = deque([0, 1, 2, 3]), deque([5, 6, 7])
    for w in (w0, w1):  # handed out, as _feed does
        for i in w.outstanding:
            c.ledger.assign(i, w.id)
    c._on_worker_msg(w0, {"t": "start", "i": 0, "ts": 1.0, "loc": ["t.py", 1, "test_0"]})
    c._on_worker_msg(w1, {"t": "start", "i": 5, "ts": 1.0, "loc": ["t.py", 5, "test_5"]})
    for i in range(3):  # a round's worth of results: each names the test started right after
        c._on_worker_msg(w0, {"t": "done", "i": i, "r": [], "kw": [], "next": [i + 1, 2.0, ["t.py", 1, "x"]]})
    c._on_worker_msg(w1, {"t": "done", "i": 5, "r": [], "kw": [], "next": [6, 2.0, ["t.py", 1, "x"]]})
    assert fed == []  # nothing sent while the round's messages are read
    assert settled == [0, 1, 2, 5]
    assert (list(w0.outstanding), w0.running, list(w1.outstanding), w1.running) == ([3], 3, [6, 7], 6)
    assert w0.avg_duration is not None and w0.finished_tests == 3
    c._feed_round()
    assert fed == ["w0", "w1", "idle"]  # one top-up per worker, then idle workers, once
    c._feed_round()
    assert fed == ["w0", "w1", "idle"]  # a round without messages feeds nobody


def test_a_start_message_alone_tops_up_without_waking_idle_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    c, fed, _ = bare_controller(monkeypatch)
    w0 = worker(1, None)
    for i in w0.outstanding:
        c.ledger.assign(i, w0.id)
    c._on_worker_msg(w0, {"t": "start", "i": 0, "ts": 1.0, "loc": None})
    c._feed_round()
    assert fed == ["w0"]
    assert c.scheduler.events == [("started", "w0", 0)]  # type: ignore[union-attr]
