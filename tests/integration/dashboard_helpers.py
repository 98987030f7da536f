"""Helpers for the dashboard tests and benchmark: a synthetic history store, a server process,
and the browser (Playwright driving Debian's chromium)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from testfleet.store.connection import Database
from testfleet.store.schema import migrate
from testfleet.testing import eventually

CHROMIUM = os.environ.get("TESTFLEET_CHROMIUM", "/usr/bin/chromium")
BASE_TIME = 1_790_000_000.0
SLOWED, SLOW_AT = 4, 20  # tests with t % 499 == SLOWED are 4x slower from run SLOW_AT on
URL_LINE = re.compile(r"(http://\S+)")


def build_store(path: Path, runs: int, tests: int) -> None:
    """A results store with ``runs`` runs of ``tests`` tests each, one run an hour, built in SQL.

    Test ``t`` in run ``r``: skipped when t % 50 == 1; flaky across runs (fails in every third
    run) when t % 97 == 0; fails in runs 21 and later when t % 499 == 2 (a regression, on a new commit); passed
    on a retry (flaky, two stored attempts) when t % 211 == 3 and r is even; else passed.
    Durations are constant but for the tests with t % 499 == SLOWED, which take 0.2 s (plus a
    few ms that vary by run) before run SLOW_AT and 0.8 s from it on: a duration regression.
    """
    db = Database(path)
    with db.session(write=True) as conn:
        migrate(conn)
        conn.execute(
            """
            INSERT INTO runs SELECT printf('20261101-%06d-%04x', r, r), ? + r * 3600.0,
                ? + r * 3600.0 + 60 + (r % 7) * 5, '["-w", "2"]', '/project',
                printf('%040x', r // 3), 'main', 'ci-host', 1000 + r, 'finished', 0, ?, 2,
                'local', NULL, '{}', false
            FROM range(?) AS t(r)""",
            [BASE_TIME, BASE_TIME, tests, runs],
        )
        conn.execute(
            """
            INSERT INTO results SELECT run_id, nodeid,
                CASE WHEN t % 50 = 1 THEN 'skipped'
                     WHEN t % 97 = 0 AND r % 3 = 0 THEN 'failed'
                     WHEN t % 499 = 2 AND r >= 21 THEN 'failed'
                     ELSE 'passed' END,
                CASE WHEN retried THEN 2 ELSE 1 END, 'w' || (t % 2), ? + r * 3600.0 + t * 0.001,
                0.001, CASE WHEN t % 499 = ? THEN (CASE WHEN r >= ? THEN 0.8 ELSE 0.2 END) + (r % 5) * 0.002
                            ELSE 0.005 + (t % 10) * 0.002 END, 0.001,
                CASE WHEN (t % 97 = 0 AND r % 3 = 0) OR (t % 499 = 2 AND r >= 21)
                     THEN 'AssertionError: assert ' || t || ' == ' || (t + 1) END,
                CASE WHEN (t % 97 = 0 AND r % 3 = 0) OR (t % 499 = 2 AND r >= 21)
                     THEN 'def test():\n>       assert value == expected\nE       AssertionError' END,
                NULL, NULL, retried, true
            FROM (SELECT r, t, printf('20261101-%06d-%04x', r, r) AS run_id,
                         printf('tests/test_mod%03d.py::test_case_%06d', t // 500, t) AS nodeid,
                         (t % 211 = 3 AND r % 2 = 0) AS retried
                  FROM range(?) AS a(r), range(?) AS b(t))""",
            [BASE_TIME, SLOWED, SLOW_AT, runs, tests],
        )
        conn.execute("""
            INSERT INTO results SELECT run_id, nodeid, 'failed', 1, worker, start, setup_duration,
                call_duration, teardown_duration, 'AssertionError: first attempt', NULL, NULL, NULL,
                false, false
            FROM results WHERE flaky""")
        conn.execute("""
            UPDATE runs SET counts = (SELECT to_json(map(list(outcome), list(n)))::VARCHAR FROM (
                SELECT outcome, count(*) AS n FROM results WHERE run_id = runs.id AND final
                GROUP BY outcome))""")
        conn.execute("CHECKPOINT")
    db.close()


def need_browser() -> Any:
    """Playwright's sync API, or a skip saying what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("needs the playwright package (pip install playwright)")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"needs chromium at {CHROMIUM} (apt-get install chromium)")
    return sync_playwright


@contextmanager
def browser_page(init_script: str | None = None) -> Iterator[tuple[Any, list[str]]]:
    """A chromium page and the list the dialogs it opens are recorded in (and dismissed)."""
    sync_playwright = need_browser()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            dialogs: list[str] = []

            def on_dialog(dialog: Any) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            if init_script:
                page.add_init_script(init_script)
            yield page, dialogs
        finally:
            browser.close()


class Process:
    """A ``testfleet`` command in the background; a thread collects its output lines."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "testfleet", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def url(self, timeout: float = 30.0) -> str:
        """The URL the command printed (its dashboard or history line)."""

        def found() -> str | None:
            for line in list(self.lines):
                m = URL_LINE.search(line) if "dashboard" in line or "history" in line else None
                if m:
                    return m.group(1)
            if self.proc.poll() is not None and not self._reader.is_alive():
                raise RuntimeError("exited before printing a URL:\n" + "".join(self.lines))
            return None

        return eventually(found, timeout=timeout, interval=0.02, message="the dashboard's URL")

    def finish(self, timeout: float = 60.0) -> tuple[int, str]:
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        return code, "".join(self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
