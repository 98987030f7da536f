"""Prices are integers in cents, so no float rounding surprises."""

from __future__ import annotations

from collections.abc import Iterable


def apply_discount(cents: int, percent: int) -> int:
    """Price after a percentage discount, rounded half up to the cent."""
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be between 0 and 100, got {percent}")
    return (cents * (100 - percent) + 50) // 100


def total_price(lines: Iterable[tuple[int, int]], discount_percent: int = 0) -> int:
    """Sum of ``unit_cents * quantity`` over ``lines``, then the discount."""
    subtotal = sum(unit * qty for unit, qty in lines)
    return apply_discount(subtotal, discount_percent)
