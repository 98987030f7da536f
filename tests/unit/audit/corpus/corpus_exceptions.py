"""Labelled corpus: swallowed-failure and broad-raises (never collected, never run)."""

# The file mixes TestCase classes and pytest-style tests:
# expect-file: unittest-in-pytest

import logging
import unittest

import pytest
from mylib import compute, connect, parse

log = logging.getLogger(__name__)


# expect: swallowed-failure
def test_bare_except_pass():
    try:
        assert compute(1) == 1
    except:  # noqa: E722
        pass


# expect: swallowed-failure
def test_except_exception_pass():
    try:
        result = compute(1)
        assert result == 1
    except Exception:
        pass


# expect: swallowed-failure
def test_except_assertion_error_logs():
    try:
        assert parse("x") == {"x": 1}
    except AssertionError as exc:
        log.warning("ignored %s", exc)


# expect: swallowed-failure
def test_except_prints():
    try:
        assert compute(2) == 4
    except Exception as e:
        print("failed", e)


# expect: swallowed-failure
def test_assert_only_in_except():
    try:
        parse("bad")
    except ValueError as e:
        assert "bad" in str(e)


# expect: swallowed-failure
def test_unittest_assert_only_in_except():
    try:
        connect("nowhere")
    except OSError as e:
        assert e.errno == 111


# tightened after the real-code sample (docs/audit.md): a narrow handler lets AssertionError through


# expect: -
def test_narrow_handler_around_assert():
    try:
        assert compute(3) == 9
    except ValueError:
        pass


# expect: swallowed-failure, cannot-fail
def test_broad_except_no_checks():
    try:
        compute(1)
    except Exception:
        pass


# expect: -
def test_except_then_fail():
    try:
        parse("bad")
    except ValueError as e:
        assert "bad" in str(e)
    else:
        pytest.fail("parse accepted bad input")


# expect: -
def test_except_reraises():
    try:
        assert compute(1) == 1
    except AssertionError:
        log.error("context")
        raise


# expect: -
def test_except_calls_fail():
    try:
        compute(1)
    except Exception as exc:
        pytest.fail(f"compute raised {exc}")


# expect: -
def test_cleanup_try_narrow(tmp_path):
    import os

    try:
        os.remove(tmp_path / "missing")
    except FileNotFoundError:
        pass
    assert compute(1) == 1


# expect: -
def test_try_finally():
    conn = connect("db")
    try:
        assert conn.query("select 1") == [(1,)]
    finally:
        conn.close()


# expect: -
def test_import_or_skip_pattern():
    try:
        import numpy  # noqa: F401
    except ImportError:
        pytest.skip("numpy not installed")
    assert compute(2) == 4


# expect: -
def test_except_with_fail_after_try():
    try:
        parse("bad")
    except ValueError:
        return
    pytest.fail("no ValueError")


# expect: -
def test_except_records_and_asserts_later():
    errors = []
    try:
        compute(-1)
    except ValueError as e:
        errors.append(e)
    assert len(errors) == 1


# expect: broad-raises
def test_raises_exception_no_match():
    with pytest.raises(Exception):
        parse("bad")


# expect: broad-raises
def test_raises_base_exception():
    with pytest.raises(BaseException):
        compute(None)


# expect: broad-raises
def test_raises_tuple_with_exception():
    with pytest.raises((ValueError, Exception)):
        parse(None)


# expect: broad-raises
def test_raises_call_form():
    pytest.raises(Exception, parse, "bad")


# expect: -
def test_raises_exception_with_match():
    with pytest.raises(Exception, match="bad input"):
        parse("bad")


# expect: -
def test_raises_specific():
    with pytest.raises(ValueError):
        parse("bad")


# expect: -
def test_raises_exception_inspected():
    with pytest.raises(Exception) as excinfo:
        parse("bad")
    assert excinfo.type is ValueError


# expect: -
def test_raises_specific_tuple():
    with pytest.raises((KeyError, IndexError)):
        parse([])


class TestRaisesUnittest(unittest.TestCase):
    # expect: broad-raises
    def test_assert_raises_exception(self):
        with self.assertRaises(Exception):
            parse("bad")

    # expect: -
    def test_assert_raises_exception_inspected(self):
        with self.assertRaises(Exception) as cm:
            parse("bad")
        self.assertIn("bad", str(cm.exception))

    # expect: -
    def test_assert_raises_regex(self):
        with self.assertRaisesRegex(Exception, "bad"):
            parse("bad")

    # expect: -
    def test_assert_raises_specific(self):
        with self.assertRaises(TypeError):
            parse(1)


# Look-alikes found while checking findings on networkx's suite (see docs/audit.md).


# expect: -
def test_poor_mans_raises_with_assert_false():
    try:
        parse("bad")
        assert False  # should not get here
    except ValueError:
        pass
