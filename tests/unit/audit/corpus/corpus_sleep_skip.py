"""Labelled corpus: sleep-sync and unconditional-skip (never collected, never run)."""

# The file mixes TestCase classes and pytest-style tests:
# expect-file: unittest-in-pytest

import asyncio
import sys
import time
import unittest
from time import sleep

import pytest
from mylib import Server, compute


# expect: sleep-sync
def test_time_sleep_literal():
    srv = Server().start()
    time.sleep(0.5)
    assert srv.ready


# expect: sleep-sync
def test_imported_sleep_literal():
    srv = Server().start()
    sleep(2)
    assert srv.ready


# expect: sleep-sync
async def test_asyncio_sleep_literal():
    task = asyncio.create_task(compute(1))
    await asyncio.sleep(0.1)
    assert task.done()


# expect: sleep-sync
def test_sleep_integer_literal_in_if():
    srv = Server().start()
    if not srv.ready:
        time.sleep(1)
    assert srv.ready


# expect: -
def test_polling_loop_with_deadline():
    srv = Server().start()
    deadline = time.monotonic() + 5
    while not srv.ready and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.ready


# expect: -
def test_sleep_variable_is_not_a_literal():
    delay = compute(0)
    time.sleep(delay)
    assert delay == 0


# expect: -
async def test_asyncio_sleep_zero_yields():
    task = asyncio.create_task(compute(1))
    await asyncio.sleep(0)
    assert not task.done()


# expect: -
def test_sleep_passed_as_value():
    srv = Server(sleeper=time.sleep)
    assert srv.sleeper is time.sleep


# expect: -
def test_object_named_sleep_method():
    srv = Server()
    srv.sleep(5)
    assert srv.sleeping


# expect: -
def test_for_loop_retry_sleep():
    for _ in range(50):
        if Server.ping():
            break
        time.sleep(0.1)
    assert Server.ping()


# expect: unconditional-skip
@pytest.mark.skip
def test_skip_no_reason():
    assert compute(1) == 1


# expect: unconditional-skip
@pytest.mark.skip()
def test_skip_empty_call():
    assert compute(1) == 1


# expect: unconditional-skip
@pytest.mark.xfail
def test_xfail_bare():
    assert compute(1) == 2


# expect: unconditional-skip
@pytest.mark.xfail(raises=ZeroDivisionError)
def test_xfail_raises_no_reason():
    assert compute(0) == 1


# expect: unconditional-skip
@pytest.mark.skip(reason="")
def test_skip_empty_reason():
    assert compute(1) == 1


# expect: unconditional-skip
@pytest.mark.skipif(True)
def test_skipif_constant_true():
    assert compute(1) == 1


# expect: unconditional-skip
def test_pytest_skip_call_without_reason():
    pytest.skip()
    assert compute(1) == 1


# expect: -
@pytest.mark.skip(reason="needs a GPU")
def test_skip_with_reason():
    assert compute(1) == 1


# expect: -
@pytest.mark.skip("flaky on CI, see #12")
def test_skip_positional_reason():
    assert compute(1) == 1


# expect: -
@pytest.mark.skipif(sys.platform == "win32", reason="posix only")
def test_skipif_condition():
    assert compute(1) == 1


# expect: -
@pytest.mark.xfail(sys.version_info < (3, 12), reason="old python")
def test_xfail_condition_and_reason():
    assert compute(1) == 1


# expect: -
@pytest.mark.xfail(reason="bug #42", strict=True)
def test_xfail_with_reason():
    assert compute(1) == 2


# expect: -
def test_conditional_pytest_skip():
    if sys.platform == "win32":
        pytest.skip()
    assert compute(1) == 1


# expect: -
def test_pytest_skip_with_reason():
    pytest.skip("not relevant here")


# expect: -
@pytest.mark.parametrize("x", [1, 2])
def test_other_marker(x):
    assert compute(x) == x


class TestUnittestSkips(unittest.TestCase):
    # expect: unconditional-skip
    @unittest.expectedFailure
    def test_expected_failure(self):
        self.assertEqual(compute(1), 2)

    # expect: -
    @unittest.skip("superseded by test_v2")
    def test_skip_reason(self):
        self.assertEqual(compute(1), 1)

    # expect: unconditional-skip
    def test_skiptest_no_reason(self):
        self.skipTest("")
        self.assertEqual(compute(1), 1)

    # expect: -
    @unittest.skipIf(sys.platform == "win32", "posix")
    def test_skipif(self):
        self.assertEqual(compute(1), 1)


# Look-alikes found while checking findings on networkx's suite (see docs/audit.md).


# expect: -
@pytest.mark.skipif("sys.platform == 'win32'")
def test_skipif_string_condition_is_a_condition():
    assert compute(1) == 1
