"""The state of one fleet run outside the loop: attempts and final outcomes, the store,
retries, worker bookkeeping, and what the report JSON and the terminal summary show."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testfleet import events
from testfleet.config import Settings
from testfleet.errors import UsageError
from testfleet.model import Outcome, RunInfo, TestResult, WorkerInfo
from testfleet.outcomes import RETRYABLE
from testfleet.recovery import replay_journals
from testfleet.scheduler.protocol import Groups, Scheduler, TestSpec
from testfleet.store.ids import new_run_id  # the one run-id format (cli edit)
from testfleet.store.journal import Journal, discard, journal_path, worker_journal_path, worker_journals


def typed_args(config: pytest.Config) -> list[str]:
    """What the user typed: ``testfleet run``'s own arguments, else pytest's (cli edit)."""
    from testfleet import options

    return list(options.typed_args or config.invocation_params.args)


def git_info(rootdir: Path) -> tuple[str | None, str | None]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=rootdir, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() or None if out.returncode == 0 else None

    return git("rev-parse", "HEAD"), git("rev-parse", "--abbrev-ref", "HEAD")


def is_partial(config: pytest.Config, settings: Settings) -> bool:
    """A run of part of the suite (-k, -m or node ids on the command line, a shard, a resumed
    part): history statistics leave it out (store/history.py). A -m in addopts is the suite."""
    opt, argv = config.option, [str(a) for a in config.invocation_params.args]
    selected = (getattr(opt, "keyword", "") or getattr(opt, "markexpr", "")) and any(
        a.startswith(("-k", "-m")) for a in argv
    )
    return bool(
        selected
        or settings.resume
        or getattr(settings, "shard", None)
        or any("::" in str(a) for a in config.args)
    )


class RunState:
    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        from testfleet.report.progress import make_progress

        self.config = config
        self.settings = settings
        self.run_id = new_run_id()
        self.started = time.time()
        self.t0 = time.perf_counter()
        self.phases: dict[str, float] = {}  # phase name -> seconds since the controller started
        self.executor_timings: dict[str, Any] = {}  # what the executor measured (Ray: connect, placement)
        self.items: list[dict[str, Any]] = []
        self.collection_hash = ""
        # Collectors (modules) that were skipped or failed at collection: not tests, but
        # pytest's summary counts them (an importorskip module is "1 skipped").
        self.collection: list[dict[str, str]] = []
        self.collect_seconds = 0.0
        self.final: dict[int, TestResult] = {}
        self.locations: dict[int, tuple[str, int | None, str]] = {}  # test index -> where it is (controller)
        self.attempts: dict[int, list[TestResult]] = {}
        self.progress = make_progress(config)
        self.tags = list(settings.tags)
        self.workers: dict[str, dict[str, Any]] = {}
        self.replacements: list[dict[str, Any]] = []
        self.lost_workers: list[dict[str, Any]] = []
        self.history: dict[str, float] = {}
        self.last_outcomes: dict[str, str] = {}
        self.estimates: dict[int, float] = {}
        self.internal_error: str | None = None
        self.controller_peak_rss_kb: int | None = None
        self.controller_cpu_seconds: float | None = None  # user + system, up to the end of the run loop
        self.loop_stats: dict[str, Any] = {}  # the controller's loop: its CPU and wall time (report-json)
        self.store: Any = None
        self.run_info: RunInfo | None = None
        self.store_error: str | None = None
        self.warnings: list[dict[str, Any]] = []
        self.exit_code: int | None = None
        self.resumed_from: str | None = None
        self.caps_provider: Callable[[int], dict[str, Any]] | None = None
        self.resume_done: dict[str, TestResult] = {}
        self.journal: Journal | None = None  # the results of this run as they settle (store/journal.py)
        self.journal_path: Path | None = None  # where it is: its workers' journals are beside it
        self.replayed: list[Path] = []  # journals of the resumed runs, stored by this one
        from testfleet.stash import event_bus  # not the plugin: no import cycle

        self.bus = event_bus(config)
        self._open_store()

    # ------------------------------------------------------------------ store
    def _open_store(self) -> None:
        if self.settings.db == "none":
            return
        try:
            from testfleet.store import open_store

            db = self.settings.db
            if db is not None:
                db = str(Path(self.config.invocation_params.dir, db))
            self.store = open_store(db, rootdir=self.config.rootpath, lock_timeout=5.0)
            self._prepare_resume()
            commit, branch = git_info(self.config.rootpath)
            self.run_info = RunInfo(
                run_id=self.run_id,
                start=self.started,
                args=typed_args(self.config),
                rootdir=str(self.config.rootpath),
                git_commit=commit,
                git_branch=branch,
                host=platform.node(),
                pid=os.getpid(),
                workers=self.settings.workers,
                backend=self.settings.backend,
                parent_run=self.resumed_from,
                partial=is_partial(self.config, self.settings),
            )
            self.store.start_run(self.run_info)
            self._open_journal()
            self.history = self.store.durations()
            self.last_outcomes = self.store.last_outcomes()
        except UsageError:
            raise
        except Exception as exc:  # noqa: BLE001 - a store failure never costs the run
            if self.settings.resume:
                raise UsageError(f"--resume needs the results store, which cannot be opened: {exc}") from None
            self._store_failed(exc)

    def _open_journal(self) -> None:
        path = getattr(self.store, "path", None)
        if path is None:
            return
        try:
            self.journal_path = journal_path(path, self.run_id)
            self.journal = Journal(self.journal_path)
        except OSError as exc:  # no journal: the store alone, as before
            self.warnings.append(
                {
                    "t": "warning",
                    "nodeid": "",
                    "when": "runtest",
                    "category": "TestfleetWarning",
                    "message": f"no results journal ({exc}): --resume after a kill may re-run "
                    "tests that had finished",
                    "filename": "",
                    "lineno": 0,
                }
            )

    def journal_flush(self) -> None:
        """Append what settled since the last call to the journal (once per loop round)."""
        if self.journal is not None:
            try:
                self.journal.flush()
            except OSError:
                self.journal = None

    def _prepare_resume(self) -> None:
        """--resume: the run to continue, and what it already settled (nothing runs twice)."""
        if not self.settings.resume:
            return
        wanted = self.settings.resume
        run_id = self.store.latest_run_id() if wanted == "last" else wanted
        run = self.store.get_run(run_id) if run_id else None
        if run is None:
            raise UsageError(
                f"--resume: no run {wanted!r} in the results store"
                if wanted != "last"
                else "--resume: the results store has no runs"
            )
        if run.status == "finished":
            raise UsageError(f"--resume: run {run.run_id} finished; there is nothing to resume")
        if run.status == "running":
            raise UsageError(f"--resume: run {run.run_id} is still running (controller pid {run.pid})")
        self.resumed_from = run.run_id
        ids: list[str] = []
        link: RunInfo | None = run
        while link is not None:
            ids.append(link.run_id)
            link = self.store.get_run(link.parent_run) if link.parent_run else None
        # What the killed controller had received but its store batch had not written yet.
        retries = 0 if self.config.option.maxfail else self.settings.retries
        found, self.replayed = replay_journals(self.config, self.store, ids, retries)
        replayed = [r for r in found if r.final and r.outcome != Outcome.NOT_RUN.value]
        done = self.store.completed_nodeids(run.run_id, include_parents=True) | {r.nodeid for r in replayed}
        previous: dict[str, TestResult] = {}
        for rid in ids:
            for r in self.store.results(rid):
                if r.final and r.outcome != Outcome.NOT_RUN.value and r.nodeid in done:
                    previous.setdefault(r.nodeid, r)
        for r in replayed:
            previous.setdefault(r.nodeid, r)
        self.resume_done = previous

    def _store_failed(self, exc: BaseException) -> None:
        self.store_error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.store = None

    def _store_call(self, name: str, *args: Any) -> None:
        if self.store is None:
            return
        try:
            getattr(self.store, name)(*args)
        except Exception as exc:  # noqa: BLE001
            self._store_failed(exc)

    # ------------------------------------------------------------------ collection and scheduling
    def collected(
        self, items: list[dict[str, Any]], seconds: float, digest: str, deselected: int = 0
    ) -> None:
        self.items = items
        self.collect_seconds = seconds
        self.collection_hash = digest
        if self.run_info is not None:  # the run's row, now with its collection size
            self.run_info.collected = len(items)
            self._store_call("start_run", self.run_info)
        if self.bus.wants(events.Collected):
            self.bus.publish(
                events.Collected(
                    run_id=self.run_id,
                    total=len(items),
                    deselected=deselected,
                    seconds=seconds,
                    nodeids=tuple(i["nodeid"] for i in items),
                    estimates={
                        n: d for n in (i["nodeid"] for i in items) if (d := self.history.get(n)) is not None
                    },
                )
            )

    def collection_report(self, nodeid: str, outcome: str, message: str) -> None:
        self.collection.append({"nodeid": nodeid, "outcome": outcome, "message": message})

    def specs(self) -> list[TestSpec]:
        from testfleet.scheduler.constraints import spec_from_item

        return [spec_from_item(i, info) for i, info in enumerate(self.items)]

    def make_scheduler(self, items: list[dict[str, Any]], deselected: int, split: Groups = None) -> Scheduler:
        from testfleet.scheduler import WorkerSpec, build_scheduler

        fleet = [
            WorkerSpec(f"w{slot}", self.slot_caps(slot), frozenset(self.slot_tags(slot)))
            for slot in range(self.settings.workers)
        ]
        partial = deselected > 0 or any("::" in str(a) for a in self.config.args)
        done: dict[int, str] = {}
        for i, info in enumerate(items):
            if (previous := self.resume_done.get(info["nodeid"])) is not None:
                self.final[i] = previous
                done[i] = previous.outcome
        scheduler, presettled = build_scheduler(
            self.specs(),
            items,
            order=self.settings.order,
            seed=self.settings.seed,
            history=self.history,
            last_outcomes=self.last_outcomes,
            fleet=fleet,
            partial_selection=partial,
            deadline=self.settings.deadline is not None,
            done=done,
            groups=split,  # --collectors K
        )
        self._presettled = presettled
        self.estimates = scheduler.estimates
        return scheduler

    def presettled(self) -> list[tuple[int, str, str]]:
        return getattr(self, "_presettled", [])

    # ------------------------------------------------------------------ capabilities
    def local_caps(self) -> dict[str, Any]:
        if not hasattr(self, "_local_caps"):
            from testfleet.worker.probe import capabilities

            self._local_caps = capabilities()
        return self._local_caps

    def machine(self) -> Any:
        """This host's GPUs and memory as handed to local slots (testfleet.hardware)."""
        if not hasattr(self, "_machine"):
            from testfleet.hardware.machine import Machine

            self._machine = Machine.detect(self.settings.workers, self.settings.gpu_isolation)
        return self._machine

    def slot_gpus(self, slot: int) -> list[int]:
        """GPUs a worker slot sees by default (docs/hardware.md)."""
        return list(self.machine().default_indices(slot))

    def slot_tags(self, slot: int) -> list[str]:
        per_worker = self.settings.worker_tags.get(str(slot), [])
        return sorted(set(self.tags) | set(per_worker))

    def slot_caps(self, slot: int) -> dict[str, Any]:
        """What worker slot ``slot`` offers: local hardware, its GPU and tags, or what the
        executor placed it with (Ray sets ``caps_provider``)."""
        if self.caps_provider is not None:
            return self.caps_provider(slot)
        caps = {**self.local_caps(), **self.machine().slot_caps(slot)}
        caps["tags"] = self.slot_tags(slot)
        return caps

    def estimate(self, index: int) -> float | None:
        if not self.history:
            return None
        return self.estimates.get(index)

    def worker_env(self, slot: int, worker_id: str) -> dict[str, str]:
        base = self.settings.port_base + slot * self.settings.port_count
        env = {
            "TESTFLEET_WORKER": f"w{slot}",
            "TESTFLEET_WORKER_INSTANCE": worker_id,
            "TESTFLEET_WORKERS": str(self.settings.workers),
            "TESTFLEET_PORT_BASE": str(base),
            "TESTFLEET_PORT_COUNT": str(self.settings.port_count),
            "TESTFLEET_RUN_ID": self.run_id,
        }
        tags = self.slot_tags(slot)
        if tags:
            env["TESTFLEET_TAGS"] = ",".join(tags)
        if self.settings.backend == "local":
            env.update(self.machine().slot_env(slot))
            if self.journal is not None:  # the worker's own journal, beside this run's (worker/journal.py)
                env["TESTFLEET_JOURNAL"] = str(worker_journal_path(self.journal.path, worker_id))
        from testfleet.compat import worker_env  # plugins' data for the worker (compat/)

        env.update(worker_env(self.config, worker_id))
        return env

    # ------------------------------------------------------------------ workers
    def worker_ready(
        self, wid: str, pid: int, caps: dict[str, Any], seconds: float, replacement: bool
    ) -> None:
        caps = dict(caps)
        self.workers[wid] = {
            "id": wid,
            "pid": pid,
            "caps": caps,
            "peak_rss_kb": None,
            "tests": 0,
            "start_seconds": round(seconds, 4),
        }
        if replacement:
            self.replacements.append({"worker": wid, "seconds": round(seconds, 4)})
        self._store_call(
            "add_workers",
            [WorkerInfo(self.run_id, wid, caps.get("host", platform.node()), pid, caps, caps.get("node"))],
        )
        if self.bus.wants(events.WorkerUp):
            self.bus.publish(
                events.WorkerUp(
                    wid, pid, caps.get("host", platform.node()), caps.get("node"), caps, replacement
                )
            )

    def worker_bye(self, wid: str, peak: int | None, tests: int, cpu_seconds: float | None = None) -> None:
        if wid in self.workers:
            self.workers[wid].update(peak_rss_kb=peak, tests=tests, cpu_seconds=cpu_seconds)

    def worker_gone(self, wid: str, status: str, ran: int = 0) -> None:
        """``wid`` exited; ``ran``: tests it finished, as the controller counted them (a
        worker that crashed sent no ``bye`` with its own count)."""
        if wid in self.workers:
            self.workers[wid]["exit"] = status
            self.workers[wid]["tests"] = max(self.workers[wid].get("tests") or 0, ran)
        if self.bus.wants(events.WorkerDown):
            self.bus.publish(events.WorkerDown(wid, status))

    def warning(self, msg: dict[str, Any]) -> None:
        self.warnings.append(msg)
        from testfleet.compat import warning_from_worker  # into pytest's warnings summary

        warning_from_worker(self.config, msg)

    # ------------------------------------------------------------------ outcomes
    def record_attempt(self, idx: int, result: TestResult) -> bool:
        """Store an attempt; True when the test goes back to the queue for a retry."""
        attempts = self.attempts.setdefault(idx, [])
        result.attempt = len(attempts) + 1
        attempts.append(result)
        retry = (
            result.outcome in RETRYABLE
            and result.attempt <= self.settings.retries
            and not self.config.option.maxfail
        )
        if retry:
            result.final = False
        else:
            if len(attempts) > 1 and result.outcome == "passed":  # not Outcome.PASSED.value: per test
                result.flaky = result.flaky or any(a.outcome in RETRYABLE for a in attempts[:-1])
            self.final[idx] = result
        self._store_call("add_results", [result])
        if self.journal is not None:
            self.journal.add(result)
        self._published(result)
        hook = self.config.hook.pytest_testfleet_result
        if hook.get_hookimpls():  # most runs have no listener; skip the call then
            hook(config=self.config, result=result)
        return retry

    def is_final(self, idx: int) -> bool:
        return idx in self.final

    def not_run(self, idx: int, reason: str = "the run stopped before this test started") -> None:
        result = TestResult(
            run_id=self.run_id,
            nodeid=self.items[idx]["nodeid"],
            outcome=Outcome.NOT_RUN.value,
            message=reason,
            attempt=len(self.attempts.get(idx, [])) + 1,
        )
        self.final[idx] = result
        self._store_call("add_results", [result])
        if self.journal is not None:
            self.journal.add(result)
        self._published(result)

    def _published(self, result: TestResult) -> None:
        if self.bus.wants(events.TestFinished):
            self.bus.publish(
                events.TestFinished(
                    nodeid=result.nodeid,
                    outcome=result.outcome,
                    worker_id=result.worker,
                    duration=result.duration,
                    attempt=result.attempt,
                    final=result.final,
                    flaky=result.flaky,
                    message=result.message,
                    failure_text=result.failure_text,
                )
            )

    def counts(self) -> dict[str, int]:
        c = Counter(r.outcome for r in self.final.values())
        return {o.value: c[o.value] for o in Outcome if c[o.value]}

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.final.values() if r.outcome == outcome.value)

    def finish(self, exitstatus: int) -> None:
        self.exit_code = exitstatus
        interrupted = exitstatus == 2 or self.count(Outcome.NOT_RUN) > 0
        status = "interrupted" if interrupted else "finished"
        if exitstatus == 4:  # a usage error: the run never properly ran (cli edit)
            status = "error"
        if self.bus.wants(events.RunFinished):
            self.bus.publish(
                events.RunFinished(
                    self.run_id, time.time(), exitstatus, status, self.counts(), self.wall_seconds()
                )
            )
        stored = False
        if self.store is not None:
            try:
                self.store.finish_run(self.run_id, status, time.time(), exitstatus, self.counts())
                self.store.close()
                stored = True
            except Exception as exc:  # noqa: BLE001
                self._store_failed(exc)
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        if stored and self.journal_path is not None:  # all in the store now: the journals are not needed
            for path in [*worker_journals(self.journal_path).values(), self.journal_path]:
                discard(path)
        if stored:
            for path in self.replayed:
                discard(path)
        if self.settings.report_json:
            from testfleet.report.json import write_report

            write_report(self.settings.report_json, self)

    def phase(self, name: str) -> None:
        """Note when a phase of the run was reached (first time only); shown in the JSON report."""
        self.phases.setdefault(name, round(time.perf_counter() - self.t0, 4))

    def wall_seconds(self) -> float:
        return time.perf_counter() - self.t0
