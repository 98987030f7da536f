from __future__ import annotations

import asyncio
import itertools
import re
import time

import pytest

from testfleet.testing.errors import ToolkitUsageError
from testfleet.testing.waiting import eventually, eventually_async


def test_returns_the_first_truthy_value() -> None:
    counter = itertools.count()
    assert eventually(lambda: next(counter) >= 3 and "done") == "done"
    assert next(counter) == 4  # called exactly 4 times (0, 1, 2, 3)


def test_retries_assertion_errors_until_they_stop() -> None:
    calls = []

    def check() -> bool:
        calls.append(1)
        assert len(calls) >= 3, "not yet"
        return True

    assert eventually(check, timeout=2) is True
    assert len(calls) == 3


def test_timeout_reports_last_exception_tries_and_time() -> None:
    def check() -> None:
        raise AssertionError("replica 2 lags by 7")

    started = time.monotonic()
    with pytest.raises(AssertionError) as info:
        eventually(check, timeout=0.2, interval=0.02, message="replicas converge")
    elapsed = time.monotonic() - started
    text = str(info.value)
    assert 0.2 <= elapsed < 1.0
    assert text.startswith("replicas converge: ")
    assert "within 0.20s" in text
    assert "last exception: AssertionError: replica 2 lags by 7" in text
    tries = int(re.search(r"\((\d+) tries", text).group(1))  # type: ignore[union-attr]
    assert 3 <= tries <= 11
    assert isinstance(info.value.__cause__, AssertionError)


def test_timeout_reports_last_value() -> None:
    with pytest.raises(AssertionError, match=r"last value: \[\]"):
        eventually(lambda: [], timeout=0.05)


def test_none_is_not_success_and_the_message_says_why() -> None:
    def check() -> None:
        assert 1 == 1

    with pytest.raises(AssertionError, match="must end with `return True`"):
        eventually(check, timeout=0.05)


def test_other_exceptions_propagate_immediately() -> None:
    calls = []

    def check() -> bool:
        calls.append(1)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        eventually(check, timeout=5)
    assert len(calls) == 1


def test_retry_on_extends_the_retried_exceptions() -> None:
    calls = []

    def check() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError
        return "up"

    assert eventually(check, retry_on=(AssertionError, ConnectionRefusedError)) == "up"


def test_zero_timeout_still_tries_once() -> None:
    assert eventually(lambda: 42, timeout=0) == 42


@pytest.mark.parametrize(("timeout", "interval"), [(-1, 0.1), (1, 0)])
def test_bad_arguments(timeout: float, interval: float) -> None:
    with pytest.raises(ToolkitUsageError):
        eventually(lambda: True, timeout=timeout, interval=interval)


def test_async_with_coroutine_check() -> None:
    state = {"n": 0}

    async def bump() -> None:
        while True:
            state["n"] += 1
            await asyncio.sleep(0.01)

    async def main() -> int:
        task = asyncio.create_task(bump())

        async def check() -> int | bool:
            return state["n"] >= 5 and state["n"]

        try:
            return await eventually_async(check, timeout=2)
        finally:
            task.cancel()

    assert asyncio.run(main()) >= 5


def test_async_times_out_with_message() -> None:
    async def main() -> None:
        await eventually_async(lambda: False, timeout=0.05, message="leader elected")

    with pytest.raises(AssertionError, match="(?s)leader elected: .*last value: False"):
        asyncio.run(main())


def test_async_hanging_check_is_cancelled_at_deadline() -> None:
    async def hang() -> bool:
        await asyncio.sleep(10)
        return True

    started = time.monotonic()
    with pytest.raises(AssertionError, match="still running at the deadline"):
        asyncio.run(eventually_async(hang, timeout=0.1))
    assert time.monotonic() - started < 2


def test_the_package_exports_the_function_even_after_the_cluster_module_is_imported() -> None:
    """docs/toolkit.md's own line: no submodule may shadow an exported name."""
    import importlib
    import pkgutil

    import testfleet.testing as toolkit
    from testfleet.testing import ProcessCluster, eventually

    assert callable(eventually) and eventually(lambda: 7) == 7
    assert ProcessCluster.__module__ == "testfleet.testing.cluster"
    for info in pkgutil.iter_modules(toolkit.__path__):
        importlib.import_module(f"testfleet.testing.{info.name}")
        assert info.name not in toolkit.__all__, f"submodule {info.name} shadows an exported name"
    assert toolkit.eventually is eventually
