"""Labelled corpus: trivial-assert and weak-assert (never collected, never run)."""

# The file mixes TestCase classes and pytest-style tests:
# expect-file: unittest-in-pytest

import unittest

from mylib import Config, compute, load, parse, registry


# expect: trivial-assert, cannot-fail
def test_assert_true_literal():
    compute(1)
    assert True


# expect: trivial-assert, cannot-fail
def test_assert_or_true():
    x = compute(1)
    assert x == 2 or True


# expect: trivial-assert, cannot-fail
def test_assert_string_literal():
    compute(1)
    assert "compute works"


# expect: trivial-assert, cannot-fail
def test_assert_tuple_with_message():
    x = compute(1)
    assert (x == 2, "x should be 2")


# expect: trivial-assert, cannot-fail
def test_assert_number_literal():
    compute(1)
    assert 1


# expect: trivial-assert, cannot-fail
def test_assert_literal_comparison():
    compute(1)
    assert 1 == 1


# tightened after the real-code sample (docs/audit.md): x == x can be false (custom __eq__, NaN)


# expect: -
def test_assert_self_comparison():
    x = compute(1)
    assert x == x


# expect: trivial-assert, cannot-fail
def test_assert_not_false():
    compute(1)
    assert not False


# expect: trivial-assert, cannot-fail
def test_assert_nonempty_list_literal():
    compute(1)
    assert [compute]


# expect: trivial-assert
def test_trivial_next_to_real():
    assert True
    assert compute(2) == 4


# expect: trivial-assert, cannot-fail
def test_fstring_literal():
    x = compute(1)
    assert f"value {x}"


class TestUnittestTrivial(unittest.TestCase):
    # expect: trivial-assert, cannot-fail
    def test_assert_true_true(self):
        compute(1)
        self.assertTrue(True)

    # expect: trivial-assert, cannot-fail
    def test_assert_equal_literals(self):
        compute(1)
        self.assertEqual(1, 1)

    # expect: -
    def test_assert_equal_real(self):
        self.assertEqual(compute(1), 1)

    # expect: did-not-crash
    def test_assert_is_not_none(self):
        self.assertIsNotNone(load("cfg"))

    # expect: did-not-crash
    def test_assert_is_instance(self):
        self.assertIsInstance(load("cfg"), Config)

    # expect: -
    def test_assert_is_instance_and_value(self):
        cfg = load("cfg")
        self.assertIsInstance(cfg, Config)
        self.assertEqual(cfg.name, "cfg")

    # tightened after the real-code sample (docs/audit.md): truthiness of a non-constructor call may be the result

    # expect: -
    def test_assert_true_of_call(self):
        self.assertTrue(load("cfg"))


# expect: -
def test_assert_x_true_comparison():
    assert compute(1) == True  # noqa: E712


# expect: -
def test_assert_in_literal():
    assert "a" in parse("abc")


# expect: -
def test_assert_false_literal_is_explicit_fail():
    if compute(1) > 5:
        assert False


# expect: -
def test_assert_with_message():
    x = compute(1)
    assert x == 1, "compute(1) must be 1"


# expect: -
def test_assert_parenthesised_not_tuple():
    x = compute(1)
    assert (x == 1), "parenthesised"


# expect: -
def test_assert_or_of_two_real():
    x = compute(1)
    assert x == 1 or x == -1


# expect: did-not-crash
def test_only_is_not_none():
    assert parse("x") is not None


# expect: did-not-crash
def test_only_isinstance():
    assert isinstance(parse("x"), dict)


# tightened after the real-code sample (docs/audit.md): truthiness of a non-constructor call may be the result


# expect: -
def test_only_truthiness_of_call():
    assert parse("x")


# expect: weak-assert
def test_only_len_positive():
    assert len(parse("x")) > 0


# expect: weak-assert
def test_len_ge_one_and_not_none():
    res = parse("x")
    assert res is not None
    assert len(res) >= 1


# tightened after the real-code sample (docs/audit.md): truthiness of a non-constructor call may be the result


# expect: -
def test_truthiness_of_result_variable():
    result = compute(3)
    assert result


# expect: weak-assert
def test_hasattr_only():
    assert hasattr(registry.get("a"), "run")


# expect: weak-assert
def test_len_not_zero():
    assert len(registry.all()) != 0


# expect: did-not-crash
def test_weak_and_chain():
    r = parse("x")
    assert r is not None and isinstance(r, dict)


# expect: -
def test_is_not_none_then_value():
    r = parse("x")
    assert r is not None
    assert r["x"] == 1


# expect: -
def test_predicate_call_is_not_weak(tmp_path):
    p = tmp_path / "out.txt"
    compute(out=p)
    assert p.exists()


# expect: -
def test_startswith_predicate():
    assert parse("abc").startswith("a")


# expect: -
def test_is_none_is_not_weak():
    assert parse("") is None


# expect: -
def test_len_equal_exact():
    assert len(parse("abc")) == 3


# expect: -
def test_all_predicate():
    assert all(v > 0 for v in compute(3))


# expect: -
def test_not_of_call():
    assert not registry.errors()


# expect: -
def test_isinstance_and_equality():
    r = parse("x")
    assert isinstance(r, dict)
    assert r == {"x": 1}


# expect: -
def test_truthiness_of_comparison_variable():
    ok = compute(1) == 1
    assert ok


# expect: -
def test_is_valid_predicate():
    assert registry.is_valid("a")


# expect: did-not-crash
async def test_async_weak():
    r = await load("cfg")
    assert r is not None


# expect: -
def test_approx():
    import pytest

    assert compute(0.1) == pytest.approx(0.01)


# Look-alikes found while checking findings on networkx's suite (see docs/audit.md).


# expect: -
def test_suffix_predicate_nodes_equal():
    assert nodes_equal(parse("a"), ["a"])  # noqa: F821


# expect: -
def test_infix_predicate_subgraph_is_isomorphic():
    assert registry.get("m").subgraph_is_isomorphic()


# tightened after the real-code sample (docs/audit.md): truthiness of a non-constructor call may be the result


# expect: -
def test_call_with_is_inside_a_word_is_still_weak():
    assert registry.lookup("this")
