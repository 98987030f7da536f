"""Labelled corpus: cannot-fail, placeholder, print-not-assert (never collected, never run).

Each test carries ``# expect: rule, ...`` (or ``# expect: -``) on the line above it.
"""

# The file mixes TestCase classes and pytest-style tests:
# expect-file: unittest-in-pytest

import unittest
from unittest import mock

import pytest
from mylib import compute, parse, store


# expect: cannot-fail
def test_calls_only():
    compute(1, 2)


# expect: cannot-fail
def test_assigns_result_only():
    result = compute(3)
    result2 = parse(result)
    del result2


# expect: cannot-fail
def test_loop_without_check():
    for i in range(10):
        compute(i)


# expect: cannot-fail
def test_with_block_without_check(tmp_path):
    with open(tmp_path / "f", "w") as fh:
        fh.write("x")


# expect: cannot-fail
def test_unknown_helper_only():
    run_scenario("basic")


# expect: cannot-fail
def test_mock_called_but_not_checked():
    m = mock.Mock()
    compute(callback=m)
    _ = m.call_count


# expect: cannot-fail
async def test_async_without_check():
    await store.save({"a": 1})


# expect: cannot-fail
def test_conditional_expression_only(x=1):
    _ = compute(x) if x else parse(x)


# expect: cannot-fail
def test_comment_says_check():
    value = compute(2)
    # assert value == 4
    value.bit_length()


# expect: cannot-fail
def test_helper_without_asserts():
    _build_graph(3)


def _build_graph(n):
    return list(range(n))


def _assert_graph(g):
    assert len(g) == 3, g


# expect: -
def test_same_file_helper_that_asserts():
    _assert_graph(_build_graph(3))


# expect: mock-only
def test_mock_assert_called_once_with():
    m = mock.Mock()
    compute(callback=m)
    m.assert_called_once_with(2)


# expect: mock-only
def test_mock_assert_not_called():
    m = mock.Mock()
    compute(callback=None)
    m.assert_not_called()


# expect: -
def test_pytest_raises_only():
    with pytest.raises(ValueError):
        parse("bad")


# expect: -
def test_pytest_warns_only():
    with pytest.warns(DeprecationWarning):
        compute(legacy=True)


# expect: -
def test_explicit_pytest_fail():
    if compute(1) != 2:
        pytest.fail("compute(1) should be 2")


# expect: -
def test_explicit_raise_assertion_error():
    if parse("x") is None:
        raise AssertionError("parse returned None")


# expect: -
def test_plain_assert_equal():
    assert compute(2) == 4


# expect: -
def test_numpy_style_assert_call():
    import numpy.testing as npt

    npt.assert_allclose(compute(0.5), 0.25)


# expect: -
def test_check_helper_imported():
    check_roundtrip(parse, "abc")


# expect: -
def test_verify_helper_imported():
    verify_output(compute(1))


# expect: -
def test_assert_inside_loop():
    for i in range(3):
        assert compute(i) == i * i


# expect: -
def test_nested_function_asserts():
    def cb(v):
        assert v > 0

    compute(callback=cb)


# expect: -
def test_deprecated_call_only():
    with pytest.deprecated_call():
        compute(old=True)


class TestPytestClass:
    def _check(self, v):
        assert v == 1

    # expect: -
    def test_method_helper(self):
        self._check(compute(1))

    # expect: cannot-fail
    def test_method_no_check(self):
        self.value = compute(1)

    # expect: placeholder
    def test_method_placeholder(self):
        pass


class TestUnittestCase(unittest.TestCase):
    # expect: -
    def test_assert_equal(self):
        self.assertEqual(compute(2), 4)

    # expect: -
    def test_assert_raises_cm(self):
        with self.assertRaises(KeyError):
            parse({})

    # expect: -
    def test_self_fail(self):
        if compute(0):
            self.fail("expected falsy")

    # expect: cannot-fail
    def test_setup_only(self):
        self.thing = store.open()
        self.thing.close()

    # expect: placeholder
    def test_todo(self):
        """Will test the thing."""


# expect: placeholder
def test_pass_only():
    pass


# expect: placeholder
def test_ellipsis_only():
    ...


# expect: placeholder
def test_docstring_only():
    """TODO: write this test."""


# expect: placeholder
def test_not_implemented():
    raise NotImplementedError


# expect: placeholder
def test_not_implemented_call():
    """Later."""
    raise NotImplementedError("later")


# expect: placeholder
def test_docstring_and_pass():
    """Nothing yet."""
    pass


# expect: -
def test_raises_value_error_is_not_placeholder():
    with pytest.raises(NotImplementedError):
        compute(mode="future")


# expect: print-not-assert, cannot-fail
def test_prints_result():
    result = compute(2)
    print(result)


# expect: print-not-assert, cannot-fail
def test_prints_in_loop():
    for x in (1, 2):
        print("value", compute(x))


# expect: print-not-assert, cannot-fail
def test_pprint_result():
    from pprint import pprint

    pprint(parse("abc"))


# expect: -
def test_prints_and_asserts():
    result = compute(2)
    print(result)
    assert result == 4


# expect: -
def test_prints_on_failure_branch():
    result = compute(3)
    if result != 9:
        print("unexpected", result)
        pytest.fail("bad result")


# expect: cannot-fail
def test_print_is_not_called_just_named():
    printer = compute
    printer(2)


# expect: -
def test_assert_false_in_branch():
    value = compute(5)
    if value < 0:
        assert False, "negative"


# expect: -
def test_walrus_assert():
    assert (n := compute(3)) == 9, n


# Look-alikes found while checking findings on networkx's suite (see docs/audit.md).


# expect: -
def test_identity_of_repeated_property_access_is_a_real_check():
    g = compute(3)
    assert id(g.nodes) == id(g.nodes)


# expect: -
def test_same_call_twice_is_not_statically_trivial():
    assert compute(3) == compute(3)


def _check_prediction(g, expected):
    assert compute(g) == expected


class TestAssignedHelper:
    @classmethod
    def setup_class(cls):
        from functools import partial

        cls.test = staticmethod(partial(_check_prediction, expected=1))

    # expect: -
    def test_uses_helper_assigned_in_setup_class(self):
        self.test([1])


# expect: -
def test_validate_raises_on_invalid():
    store.validate({"a": 1})
