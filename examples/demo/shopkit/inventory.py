"""Stock levels per SKU with reservations."""

from __future__ import annotations


class OutOfStock(Exception):
    """Raised when a reservation asks for more than is available."""

    def __init__(self, sku: str, wanted: int, available: int) -> None:
        super().__init__(f"{sku}: wanted {wanted}, only {available} available")
        self.sku = sku
        self.wanted = wanted
        self.available = available


class Inventory:
    def __init__(self) -> None:
        self._stock: dict[str, int] = {}
        self._reserved: dict[str, int] = {}

    def add(self, sku: str, quantity: int) -> None:
        if quantity <= 0:
            raise ValueError(f"quantity must be positive, got {quantity}")
        self._stock[sku] = self._stock.get(sku, 0) + quantity

    def available(self, sku: str) -> int:
        return self._stock.get(sku, 0) - self._reserved.get(sku, 0)

    def reserve(self, sku: str, quantity: int) -> None:
        if quantity > self.available(sku):
            raise OutOfStock(sku, quantity, self.available(sku))
        self._reserved[sku] = self._reserved.get(sku, 0) + quantity

    def release(self, sku: str, quantity: int) -> None:
        held = self._reserved.get(sku, 0)
        if quantity > held:
            raise ValueError(f"{sku}: cannot release {quantity}, only {held} reserved")
        self._reserved[sku] = held - quantity

    def ship(self, sku: str, quantity: int) -> None:
        """Ship reserved units: they leave both the reservation and the stock."""
        self.release(sku, quantity)
        self._stock[sku] -= quantity

    def skus(self) -> list[str]:
        return sorted(self._stock)
