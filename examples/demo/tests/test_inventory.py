import pytest
from shopkit import Inventory, OutOfStock


@pytest.fixture
def inventory() -> Inventory:
    inv = Inventory()
    inv.add("apple", 10)
    inv.add("pear", 3)
    return inv


def test_new_sku_has_nothing_available() -> None:
    assert Inventory().available("kiwi") == 0


@pytest.mark.parametrize("quantity", [0, -1, -100])
def test_add_rejects_non_positive_quantities(quantity: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        Inventory().add("apple", quantity)


@pytest.mark.parametrize(("reserve", "left"), [(1, 9), (5, 5), (10, 0)])
def test_reserve_lowers_availability(inventory: Inventory, reserve: int, left: int) -> None:
    inventory.reserve("apple", reserve)
    assert inventory.available("apple") == left


def test_reserving_too_much_names_the_sku_and_amounts(inventory: Inventory) -> None:
    with pytest.raises(OutOfStock, match="pear: wanted 4, only 3 available") as info:
        inventory.reserve("pear", 4)
    assert (info.value.wanted, info.value.available) == (4, 3)


def test_ship_removes_stock_and_reservation(inventory: Inventory) -> None:
    inventory.reserve("apple", 4)
    inventory.ship("apple", 4)
    assert inventory.available("apple") == 6
    with pytest.raises(ValueError, match="only 0 reserved"):
        inventory.release("apple", 1)


def test_skus_are_sorted(inventory: Inventory) -> None:
    inventory.add("banana", 1)
    assert inventory.skus() == ["apple", "banana", "pear"]
