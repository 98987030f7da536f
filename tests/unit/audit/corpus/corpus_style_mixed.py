"""Labelled corpus: unittest-in-pytest, per test and per file (never collected, never run)."""

# expect-file: unittest-in-pytest

import unittest

from mylib import compute, parse

_tc = unittest.TestCase()


# expect: unittest-in-pytest
def test_uses_testcase_instance_assert_equal():
    _tc.assertEqual(compute(1), 1)


# expect: unittest-in-pytest
def test_uses_assert_in_method():
    case = unittest.TestCase()
    case.assertIn("a", parse("abc"))


class TestPlainClass:
    # expect: unittest-in-pytest
    def test_assert_dict_equal_on_helper(self):
        _tc.assertDictEqual(parse("x"), {"x": 1})

    # expect: -
    def test_plain_assert(self):
        assert compute(2) == 4


class TestLegacy(unittest.TestCase):
    # expect: -
    def test_unittest_asserts_are_fine_in_testcase(self):
        self.assertEqual(compute(2), 4)

    # expect: -
    def test_assert_almost_equal(self):
        self.assertAlmostEqual(compute(0.5), 0.25)


# expect: mock-only
def test_mock_snake_case_asserts_are_not_unittest_style():
    from unittest import mock

    m = mock.Mock()
    compute(callback=m)
    m.assert_called_once_with(1)


# expect: -
def test_numpy_assert_not_unittest_style():
    from numpy.testing import assert_array_equal

    assert_array_equal(compute([1]), [1])


class TestOwnCamelHelper:
    def assertContainsChain(self, chain, expected):
        assert chain in expected

    # expect: -
    def test_project_helper_named_like_unittest(self):
        self.assertContainsChain(compute(1), [1])
