import sys

import pytest
from shopkit import apply_discount, total_price


@pytest.mark.parametrize(
    ("cents", "percent", "expected"),
    [(1000, 0, 1000), (1000, 10, 900), (999, 50, 500), (1, 50, 1), (1234, 100, 0)],
)
def test_apply_discount(cents: int, percent: int, expected: int) -> None:
    assert apply_discount(cents, percent) == expected


@pytest.mark.parametrize("percent", [-1, 101])
def test_discount_out_of_range_is_rejected(percent: int) -> None:
    with pytest.raises(ValueError, match=f"got {percent}"):
        apply_discount(100, percent)


def test_total_price_sums_lines_then_discounts() -> None:
    assert total_price([(250, 2), (100, 3)], discount_percent=20) == 640


def test_empty_basket_costs_nothing() -> None:
    assert total_price([]) == 0


@pytest.mark.skipif(sys.maxsize > 2**32, reason="only meaningful where int is 32-bit (never on CPython 3)")
def test_large_totals_on_32_bit() -> None:
    assert total_price([(2**31, 2)]) == 2**32


@pytest.mark.xfail(reason="known bug: discounts are not applied per line yet (issue #12)", strict=True)
def test_discount_rounds_per_line() -> None:
    # Rounding each line separately would give 2 * apply_discount(5, 50) == 6, but the
    # library rounds the subtotal once (5), so this expectation fails today.
    assert total_price([(5, 1), (5, 1)], discount_percent=50) == 6
