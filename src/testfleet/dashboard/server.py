"""``--dashboard``: the live page served from a thread of the controller for one run.

:class:`LiveDashboard` is a pytest plugin the testfleet plugin registers when the setting is
on. At configure time it binds the address (a taken port is a usage error), subscribes a
:class:`~testfleet.dashboard.state.LiveState` to the run's event bus and starts uvicorn in a
daemon thread; at session start it prints the URL. At unconfigure (after the run and its
summary) it waits until every open page has been sent the end of the run, at most
:data:`GRACE` seconds, then stops the server.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from testfleet.config import Settings
from testfleet.dashboard.app import (
    Guard,
    ServerThread,
    bind,
    check_installed,
    is_loopback,
    resolve_token,
    url,
)
from testfleet.dashboard.live import Hub, live_app
from testfleet.dashboard.state import LiveState

GRACE = 3.0  # seconds the server stays up after the run for pages to get the end
SETTLE_CHECK = 0.05


class LiveDashboard:
    """The live dashboard of one run (a pytest plugin object)."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        from testfleet.stash import event_bus

        assert settings.dashboard is not None
        check_installed("--dashboard")
        host, port = settings.dashboard
        self.token = resolve_token(host, settings.dashboard_token)
        sock = bind(host, port)
        self.state = LiveState()
        self.hub = Hub(self.state)
        self._unsubscribe = self.state.subscribe(event_bus(config))
        token, loopback = self.token, is_loopback(host)
        self.server = ServerThread(lambda: Guard(live_app(self.state, self.hub), token, loopback), sock)
        self.server.start()
        self.url = url(host, sock.getsockname()[1], self.token)
        self._closed = False

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        line = f"testfleet: live dashboard at {self.url}"
        tr: Any = session.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line(line)
            tr.flush()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.server.error:
            terminalreporter.write_line(f"testfleet: the live dashboard failed: {self.server.error}")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.close()

    def close(self, grace: float = GRACE) -> None:
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + grace
        while not self.hub.settled() and time.monotonic() < deadline and self.server.thread.is_alive():
            time.sleep(SETTLE_CHECK)
        self._unsubscribe()
        self.server.stop()
