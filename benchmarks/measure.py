"""Running one benchmark command and reading what it printed and wrote.

- :func:`run_measured` starts a command in its own session, times it with ``time.perf_counter``,
  reaps it with ``os.wait4`` (so ``ru_maxrss`` belongs to this run alone: the peak RSS of the
  largest single process in its tree that was waited for) and, while it runs, samples the whole
  process tree from ``/proc`` (sum of RSS and of PSS over all live descendants, and each
  process's own peak RSS).
- :func:`parse_summary` reads pytest's final summary line into outcome counts.
- :func:`parse_durations` reads ``--durations=0`` output into per-test seconds.
- :func:`read_report` reads testfleet's ``--report-json`` file, tolerating missing fields.

Linux only (``/proc``, ``os.wait4``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

# pytest's outcome words, normalised to one spelling (the summary says "1 error", "2 errors").
_WORD = {
    "error": "errors",
    "warning": "warnings",
    "xfail": "xfailed",
    "xpass": "xpassed",
    "not run": "not_run",
    "not-run": "not_run",
}
# Keys compared between tools. Warnings and deselections are not outcomes.
OUTCOME_KEYS = (
    "passed",
    "failed",
    "errors",
    "skipped",
    "xfailed",
    "xpassed",
    "crashed",
    "timeout",
    "unschedulable",
    "not_run",
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SUMMARY_END = re.compile(r"\bin (\d+(?:\.\d+)?)s(?: \(\d+:\d\d:\d\d\))?\s*=*\s*$")
_COUNT = re.compile(r"^(\d+) ([a-z][a-z_ -]*?)$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s (setup|call|teardown)\s+(\S.*?)\s*$")


@dataclass
class Measured:
    """What one run of one command produced."""

    argv: list[str]
    cwd: str
    wall_seconds: float
    returncode: int | None  # None: killed after the timeout
    timed_out: bool
    stdout_path: str
    stderr_path: str
    ru_maxrss_kb: int  # the largest single waited-for process in the tree (Linux ru_maxrss)
    user_seconds: float
    system_seconds: float
    tree_peak_rss_sum_kb: int | None = None  # sampled; None when sampling is off
    tree_peak_pss_sum_kb: int | None = None
    tree_max_processes: int | None = None
    process_peaks_kb: dict[str, int] = field(default_factory=dict)  # "pid cmd" -> sampled peak RSS
    leftover_pids: list[int] = field(default_factory=list)  # still alive after the run ended; killed

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TreeSampler(threading.Thread):
    """Polls ``/proc`` every ``interval`` seconds for the descendants of ``root``."""

    def __init__(self, root: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak_rss_sum_kb = 0
        self.peak_pss_sum_kb = 0
        self.max_processes = 0
        self.per_process: dict[int, tuple[str, int]] = {}
        self.seen: dict[int, int] = {}  # pid -> start time, for every process seen
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def sample(self) -> None:
        pids = descendants(self.root)
        rss_sum = pss_sum = 0
        for pid in pids:
            rss = _rss_kb(pid)
            if rss is None:
                continue
            rss_sum += rss
            pss_sum += _pss_kb(pid) or rss
            name, peak = self.per_process.get(pid, (_cmdline(pid), 0))
            self.per_process[pid] = (name, max(peak, rss))
        for pid in pids:
            if pid not in self.seen and (started := _start_time(pid)) is not None:
                self.seen[pid] = started
        self.peak_rss_sum_kb = max(self.peak_rss_sum_kb, rss_sum)
        self.peak_pss_sum_kb = max(self.peak_pss_sum_kb, pss_sum)
        self.max_processes = max(self.max_processes, len(pids))


def descendants(root: int) -> list[int]:
    """``root`` and every live process below it (by parent pid, read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the ")" that closes the command name: state, ppid, ...
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return None


def _pss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            parts = f.read().split(b"\0")
    except OSError:
        return "?"
    return " ".join(p.decode(errors="replace") for p in parts if p)[:120]


def run_measured(
    argv: Sequence[str],
    cwd: Path,
    log_prefix: Path,
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    sample_interval: float = 0.25,
) -> Measured:
    """Run ``argv`` in ``cwd``; stdout/stderr go to ``<log_prefix>.out`` / ``.err``."""
    log_prefix.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = Path(f"{log_prefix}.out"), Path(f"{log_prefix}.err")
    timed_out = threading.Event()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
        sampler = TreeSampler(proc.pid, sample_interval) if sample_interval > 0 else None
        if sampler:
            sampler.start()

        def on_timeout() -> None:
            timed_out.set()
            kill_tree(proc.pid, dict(sampler.seen) if sampler else {})

        timer = threading.Timer(timeout, on_timeout)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            wall = time.perf_counter() - start
            timer.cancel()
            if sampler:
                sampler.stop()
        rc = os.waitstatus_to_exitcode(status)
        proc.returncode = rc  # reaped by wait4; tell Popen so it does not wait again
    # Anything the run left behind (a worker that outlived its controller) is killed now.
    leftovers = kill_tree(proc.pid, dict(sampler.seen) if sampler else {})
    return Measured(
        argv=list(argv),
        cwd=str(cwd),
        wall_seconds=wall,
        returncode=None if timed_out.is_set() else rc,
        timed_out=timed_out.is_set(),
        stdout_path=str(out_path),
        stderr_path=str(err_path),
        ru_maxrss_kb=usage.ru_maxrss,
        user_seconds=usage.ru_utime,
        system_seconds=usage.ru_stime,
        tree_peak_rss_sum_kb=sampler.peak_rss_sum_kb if sampler else None,
        tree_peak_pss_sum_kb=sampler.peak_pss_sum_kb if sampler else None,
        tree_max_processes=sampler.max_processes if sampler else None,
        process_peaks_kb={f"{pid} {name}": kb for pid, (name, kb) in sampler.per_process.items()}
        if sampler
        else {},
        leftover_pids=leftovers,
    )


def kill_tree(root: int, known: Mapping[int, int]) -> list[int]:
    """SIGKILL ``root``'s process group, its live descendants, and the processes seen earlier in
    the run that still exist (workers may live in their own sessions or have been re-parented).

    ``known`` maps pid -> start time (from /proc), so a pid reused since is never touched.
    Returns the pids that were killed, the root's group excepted.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(root, signal.SIGKILL)
    killed = []
    candidates = {pid: _start_time(pid) for pid in descendants(root)} | dict(known)
    for pid, started in candidates.items():
        if pid == os.getpid() or started is None or _start_time(pid) != started:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


def _start_time(pid: int) -> int | None:
    """Start time (clock ticks since boot) of a live, non-zombie process, else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == b"Z":
        return None
    return int(fields[19])  # field 22 of stat; fields[0] is field 3


def parse_summary(text: str) -> dict[str, int] | None:
    """Outcome counts from pytest's final summary line, or None if there is none.

    Handles ``=== 1 failed, 2 passed, 3 warnings in 4.56s ===``, the ``-q`` form without the
    ``=`` padding, ``in 125.00s (0:02:05)``, ``no tests ran in 0.01s``, colour codes, and
    outcome words pytest does not know (testfleet's ``crashed``, ``timeout``, ...).
    """
    for raw in reversed(_ANSI.sub("", text).splitlines()):
        line = raw.strip()
        end = _SUMMARY_END.search(line)
        if not end:
            continue
        body = line[: end.start()].strip().strip("=").strip()
        if body == "no tests ran":
            return {}
        counts: dict[str, int] = {}
        for part in body.split(","):
            m = _COUNT.match(part.strip())
            if not m:
                counts = {}
                break
            word = _norm(m.group(2))
            counts[word] = counts.get(word, 0) + int(m.group(1))
        if counts:
            return counts
    return None


def _norm(word: str) -> str:
    word = word.strip().lower()
    return _WORD.get(word, word).replace(" ", "_").replace("-", "_")


def outcome_counts(counts: Mapping[str, int] | None) -> dict[str, int] | None:
    """Only the outcome keys, without zeros (warnings and deselected dropped)."""
    if counts is None:
        return None
    return {k: int(counts[k]) for k in OUTCOME_KEYS if counts.get(k)}


def parse_durations(text: str) -> dict[str, float]:
    """Per-test seconds (setup + call + teardown) from ``--durations=0 --durations-min=0``."""
    per_test: dict[str, float] = {}
    for line in _ANSI.sub("", text).splitlines():
        m = _DURATION.match(line)
        if m:
            per_test[m.group(3)] = per_test.get(m.group(3), 0.0) + float(m.group(1))
    return per_test


def read_report(path: Path) -> dict[str, Any] | None:
    """testfleet's ``--report-json`` file, or None when it is missing or not JSON."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def report_counts(report: Mapping[str, Any]) -> dict[str, int] | None:
    """Outcome counts from a testfleet report: a ``counts``/``outcomes``/``summary`` mapping, or
    a ``tests``/``results`` list of per-test records with ``outcome`` (attempts with
    ``final: false`` are ignored), plus its ``collection`` entries (modules skipped or failed at
    collection), which pytest's summary line counts too."""
    # What pytest's summary also counts: modules skipped at collection, collection errors.
    extra: dict[str, int] = {}
    for entry in report.get("collection") or []:
        word = "skipped" if entry.get("outcome") == "skipped" else "errors"
        extra[word] = extra.get(word, 0) + 1
    for key in ("counts", "outcomes", "summary"):
        value = report.get(key)
        if isinstance(value, Mapping) and all(isinstance(v, int) for v in value.values()):
            merged = {_norm(str(k)): v for k, v in value.items()}
            for word, n in extra.items():
                merged[word] = merged.get(word, 0) + n
            return outcome_counts(merged)
    records = _test_records(report)
    if records is None:
        return None
    counts: dict[str, int] = {}
    for rec in records:
        word = _norm(str(rec.get("outcome", "?")))
        counts[word] = counts.get(word, 0) + 1
    return outcome_counts(counts)


def report_durations(report: Mapping[str, Any]) -> dict[str, float] | None:
    """Per-test seconds from a testfleet report's per-test records (``duration``, or the sum of
    ``setup_duration``/``call_duration``/``teardown_duration``)."""
    records = _test_records(report)
    if not records:
        return None
    out: dict[str, float] = {}
    for rec in records:
        nodeid = rec.get("nodeid")
        if not isinstance(nodeid, str):
            continue
        if isinstance(rec.get("duration"), (int, float)):
            seconds = float(rec["duration"])
        else:
            seconds = sum(
                float(rec.get(k) or 0.0) for k in ("setup_duration", "call_duration", "teardown_duration")
            )
        out[nodeid] = seconds
    return out or None


def _test_records(report: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    for key in ("tests", "results"):
        value = report.get(key)
        if isinstance(value, list):
            return [r for r in value if isinstance(r, Mapping) and r.get("final", True)]
    return None
