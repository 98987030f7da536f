"""Labelled corpus: a pure unittest file is not a style mix (never collected, never run)."""

import unittest

from mylib import compute


class Base(unittest.TestCase):
    def check_square(self, n):
        self.assertEqual(compute(n), n * n)


class TestSquares(Base):
    # expect: -
    def test_two(self):
        self.check_square(2)

    # expect: -
    def test_three(self):
        self.assertEqual(compute(3), 9)


class TestMore(unittest.TestCase):
    # expect: -
    def test_zero(self):
        self.assertEqual(compute(0), 0)

    # expect: did-not-crash
    def test_not_none(self):
        self.assertIsNotNone(compute(0))
