"""Labelled corpus: mock-overuse (never collected: see corpus/conftest.py collect_ignore).

The file is named after its subject (``billing``) so the "patches the module under test" rule applies.
"""

from unittest import mock
from unittest.mock import patch

from shop import billing


# expect: mock-overuse
@patch("shop.billing.db")
@patch("shop.billing.mailer")
@patch("shop.billing.clock")
@patch("shop.billing.audit_log")
def test_four_decorator_patches(audit_log, clock, mailer, db):
    billing.charge(1, 10)
    db.save.assert_called_once()


# expect: mock-only, mock-overuse
def test_four_context_patches():
    with patch("shop.billing.db") as db, patch("shop.billing.mailer"), patch("shop.billing.clock"), \
            patch("shop.billing.audit_log"):
        billing.charge(1, 10)
    db.save.assert_called_once()


# expect: mock-overuse
def test_mocker_patches(mocker):
    mocker.patch("shop.billing.db")
    mocker.patch("shop.billing.mailer")
    mocker.patch("shop.billing.clock")
    mocker.patch.object(billing, "audit_log")
    mocker.patch("shop.billing.rates")
    assert billing.charge(1, 10) == 10


# expect: mock-overuse
def test_monkeypatch_many(monkeypatch):
    monkeypatch.setattr(billing, "db", mock.Mock())
    monkeypatch.setattr(billing, "mailer", mock.Mock())
    monkeypatch.setattr(billing, "clock", mock.Mock())
    monkeypatch.setattr(billing, "rates", mock.Mock())
    assert billing.charge(1, 10) == 10


# expect: -
def test_environment_setup_is_not_mocking(monkeypatch):
    monkeypatch.setenv("BILLING_MODE", "test")
    monkeypatch.setenv("BILLING_CURRENCY", "EUR")
    monkeypatch.setenv("BILLING_TZ", "UTC")
    monkeypatch.setenv("BILLING_DEBUG", "1")
    assert billing.charge(1, 10) == 10


# expect: mock-overuse
def test_patches_function_under_test():
    with patch("shop.billing.charge", return_value=10):
        assert billing.charge(1, 10) == 10


# expect: mock-overuse
def test_patch_object_function_under_test():
    with patch.object(billing, "refund", return_value=True) as refund:
        assert billing.refund(5)
        refund.assert_called_once_with(5)


# expect: -
@patch("shop.billing.db")
@patch("shop.billing.mailer")
def test_two_patches_of_dependencies(mailer, db):
    billing.charge(1, 10)
    mailer.send.assert_called_once()


# expect: -
def test_three_patches_at_threshold():
    with patch("shop.billing.db"), patch("shop.billing.mailer"), patch("shop.billing.clock") as clock:
        clock.now.return_value = 0
        assert billing.charge(1, 10) == 10


# expect: mock-only
def test_patch_dependency_called_indirectly():
    with patch("shop.billing.mailer") as mailer:
        billing.charge(1, 10)
    mailer.send.assert_called_once_with(1)


# expect: -
def test_patch_other_module_same_attr_name():
    with patch("shop.pricing.charge", return_value=3):
        assert billing.total([1, 2]) == 3


# expect: -
def test_no_patches_at_all():
    assert billing.charge(0, 0) == 0


@patch("shop.billing.db")
@patch("shop.billing.mailer")
class TestClassPatched:
    # expect: mock-overuse
    @patch("shop.billing.clock")
    @patch("shop.billing.rates")
    def test_class_and_method_patches(self, rates, clock, mailer, db):
        assert billing.charge(1, 10) == 10

    # expect: -
    def test_only_class_patches(self, mailer, db):
        assert billing.charge(2, 10) == 20


# expect: mock-only
def test_mock_object_not_a_patch():
    m = mock.Mock()
    m.configure_mock(a=1)
    m.reset_mock()
    billing.charge(1, 10, notifier=m)
    m.notify.assert_called_once()
