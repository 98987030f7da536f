"""What a fleet run gives CI systems beyond the terminal: registered by the controller's
plugin only when one of these applies.

- ``--junitxml`` with ``--retries``: the earlier attempts as Surefire flaky/rerun elements
  (:mod:`testfleet.report.junit`); under GitLab, the file split to GitLab's limits
  (:mod:`testfleet.report.gitlab`).
- ``$GITHUB_STEP_SUMMARY``: the Markdown job summary (:mod:`testfleet.report.github`).
- ``GITLAB_CI``: collapsible log sections for collection, the tests and the summary.

Everything happens after pytest has written its own output (``pytest_sessionfinish``
wrapper, after ``yield``). A failure here never changes the run's outcome: it is reported
in one line.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Mapping
from typing import Any

import pytest

from testfleet import events
from testfleet.report import gitlab


def wanted(config: pytest.Config, settings: Any, env: Mapping[str, str]) -> bool:
    junit = bool(getattr(config.option, "xmlpath", None))
    step_summary = settings.ci not in ("none", "azure") and bool(env.get("GITHUB_STEP_SUMMARY"))
    return (junit and settings.retries > 0) or step_summary or gitlab.active(env, settings.ci)


class CISession:
    def __init__(self, config: pytest.Config, state: Any, env: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.state = state
        self.env = dict(os.environ if env is None else env)
        self.sections: gitlab.Sections | None = None
        self.notes: list[str] = []
        if gitlab.active(self.env, state.settings.ci):
            self.sections = gitlab.Sections(self._write_line)
            state.bus.subscribe(self._on_event, events.RunStarted, events.Collected)

    def _write_line(self, text: str) -> None:
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line(text)

    def _on_event(self, event: Any) -> None:
        assert self.sections is not None
        if isinstance(event, events.RunStarted):
            self.sections.enter("collect", collapsed=True)
        elif isinstance(event, events.Collected):
            self.sections.enter("tests")

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Generator[None, Any, None]:
        # Outermost: the section starts before pytest's own FAILURES section.
        if self.sections is not None:
            self.sections.enter("summary")
        yield

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, Any, None]:
        yield
        for step in (self._junit, self._step_summary):
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - CI extras never cost the run
                self.notes.append(
                    f"testfleet: {step.__name__.strip('_').replace('_', ' ')} not written: {exc}"
                )
        for note in self.notes:
            self._write_line(note)

    def pytest_unconfigure(self) -> None:
        if self.sections is not None:
            self.sections.close()

    def _junit(self) -> None:
        from testfleet.report import junit

        path = getattr(self.config.option, "xmlpath", None)
        if not path or not os.path.isfile(path):
            return
        missed = junit.add_retries(
            path, junit.retried(self.state.attempts), prefix=getattr(self.config.option, "junitprefix", None)
        )
        if missed:
            self.notes.append(
                f"testfleet: no single testcase in {path} for {len(missed)} retried tests "
                f"(e.g. {missed[0]}); their earlier attempts are not in it"
            )
        if gitlab.active(self.env, self.state.settings.ci):
            parts = gitlab.split(path, **gitlab.limits_from(self.env))
            if len(parts) > 1:
                self.notes.append(
                    f"testfleet: {path} split into {len(parts)} files for GitLab's limits: "
                    + ", ".join(str(p) for p in parts)
                )

    def _step_summary(self) -> None:
        from testfleet.report import github

        path = github.step_summary_path(self.env, self.state.settings.ci)
        if path is None or not self.state.items:
            return
        written = github.append_step_summary(path, github.input_from_state(self.state, self.env))
        if not written:
            self.notes.append(f"testfleet: job summary not written: {path} is full (1 MiB per step)")
