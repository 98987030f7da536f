"""shopkit: a deliberately small shop library that the demo suite tests."""

from shopkit.inventory import Inventory, OutOfStock
from shopkit.pricing import apply_discount, total_price
from shopkit.ratelimit import TokenBucket

__all__ = ["Inventory", "OutOfStock", "TokenBucket", "apply_discount", "total_price"]
