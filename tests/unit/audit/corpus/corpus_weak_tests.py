"""Labelled corpus for mock-only, did-not-crash and constant-assert (issue 22): positives and
near misses. Not collected by pytest (see conftest.py)."""

# expect-file: unittest-in-pytest

import unittest
from unittest import mock
from unittest.mock import MagicMock, call, patch

from shop.cart import MAX_ITEMS, Cart, apply_discount, retry
from shop import settings

DEFAULT_RATE = 0.2


# expect: mock-only, duplicated-setup
def test_add_notifies():
    notifier = mock.Mock()
    cart = Cart(notifier)
    cart.add("apple", 2.0)
    notifier.send.assert_called_once_with("added", "apple")


# expect: mock-only
def test_checkout_notifies():
    notifier = mock.Mock()
    cart = Cart(notifier)
    cart.checkout()
    assert notifier.send.called


# expect: mock-only
def test_call_count_and_args():
    notifier = MagicMock()
    Cart(notifier).add("pear", 1.0)
    assert notifier.send.call_count == 1
    assert notifier.send.call_args == call("added", "pear")


# expect: mock-only
def test_patch_as_name_only_called():
    with patch("shop.cart.mailer") as mailer:
        Cart(None).checkout()
    mailer.send.assert_called()


# expect: mock-only
def test_mocker_patch_only_called(mocker):
    sender = mocker.patch("shop.cart.send")
    Cart(None).checkout()
    assert len(sender.mock_calls) == 1


# expect: mock-only
def test_patch_started():
    clock = patch("shop.cart.clock").start()
    Cart(None).checkout()
    clock.now.assert_called_once_with()


# expect: duplicated-setup
def test_mock_and_result():
    notifier = mock.Mock()
    cart = Cart(notifier)
    cart.add("apple", 2.0)
    notifier.send.assert_called_once_with("added", "apple")
    assert cart.total() == 2.0


# expect: -
def test_mock_return_value_flows_into_result():
    rates = mock.Mock()
    rates.get.return_value = 0.5
    assert apply_discount(10, rates) == 5


# expect: duplicated-setup
def test_assert_on_state_of_unit_not_mock():
    notifier = mock.Mock()
    cart = Cart(notifier)
    cart.add("apple", 2.0)
    assert cart.items == [("apple", 2.0, 1)]


# expect: -
def test_spy_wraps_the_real_function(mocker):
    spy = mocker.spy(Cart, "total")
    Cart(None).total()
    spy.assert_called_once()


# expect: -
def test_monkeypatch_is_not_a_created_mock(monkeypatch):
    monkeypatch.setattr("shop.cart.clock", lambda: 1)
    assert Cart(None).stamp() == 1


# expect: -
def test_mock_state_compared_with_unit_result():
    retried = mock.Mock(side_effect=[ValueError, 3])
    assert retry(retried) == 3
    assert retried.call_count == 2


# expect: did-not-crash
def test_cart_builds():
    cart = Cart(mock.Mock())
    assert cart is not None


# expect: did-not-crash
def test_isinstance_of_fresh_object():
    assert isinstance(Cart(None), Cart)


# tightened after the real-code sample (docs/audit.md): a function's truthy result may be the behaviour


# expect: -
def test_truthiness_of_fresh_object():
    total = apply_discount(10, 5)
    assert total


# expect: did-not-crash
def test_truthiness_of_constructed_object():
    cart = Cart(None)
    assert cart


# expect: -
def test_isinstance_of_the_requested_type():
    graph = build_graph(create_using=Cart)
    assert isinstance(graph, Cart)


# expect: -
def test_unpacked_capitals_are_results_not_constants():
    X, Y = split_cart(Cart(None))
    assert X == {0, 2}


# expect: -
def test_isinstance_of_an_attribute():
    assert isinstance(Cart(None).items, list)


# expect: -
def test_self_equality_tests_eq():
    cart = Cart(None)
    assert cart == cart


# expect: did-not-crash
async def test_awaited_call_not_none():
    cart = await Cart.load("id")
    assert cart is not None and isinstance(cart, Cart)


# expect: -
def test_not_none_then_value():
    cart = Cart(None)
    assert cart is not None
    assert cart.items == []


# expect: -
def test_not_none_of_an_attribute_lookup():
    cart = Cart(None)
    assert cart.notifier is None


# expect: weak-assert
def test_not_none_of_a_fixture(cart):
    assert cart is not None


# expect: -
def test_predicate_call_truthiness():
    assert Cart(None).is_empty()


# expect: constant-assert
def test_module_constant():
    assert MAX_ITEMS == 100


# expect: constant-assert
def test_dotted_constant():
    assert settings.DEFAULT_CURRENCY == "EUR"


# expect: constant-assert
def test_local_literal_compared():
    expected = 3
    assert expected == 3


# expect: constant-assert
def test_module_level_constant_of_the_test_file():
    assert DEFAULT_RATE < 1


# expect: -
def test_constant_compared_with_result():
    assert len(Cart(None).items) < MAX_ITEMS


# expect: -
def test_literal_passed_to_the_unit_then_checked():
    items = []
    Cart(None).fill(items)
    assert items == []


# expect: -
def test_result_compared_with_constant():
    assert apply_discount(100, 10) == 90


class TestUnittestWeak(unittest.TestCase):
    # expect: mock-only
    def test_unittest_called(self):
        notifier = mock.Mock()
        Cart(notifier).checkout()
        self.assertTrue(notifier.send.called)

    # expect: mock-only
    def test_unittest_call_count(self):
        notifier = mock.Mock()
        Cart(notifier).checkout()
        self.assertEqual(notifier.send.call_count, 1)

    # expect: did-not-crash
    def test_unittest_is_not_none(self):
        cart = Cart(None)
        self.assertIsNotNone(cart)

    # expect: constant-assert
    def test_unittest_constant(self):
        self.assertEqual(MAX_ITEMS, 100)

    # expect: -
    def test_unittest_result(self):
        self.assertEqual(apply_discount(100, 10), 90)
