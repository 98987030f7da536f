"""Order flow against a shared warehouse, plus an order-history table in SQLite.

``warehouse`` is module-scoped: it is built once per worker process that runs tests from this
module (each worker that gets one of these tests pays its setup once). Every test here leaves
the warehouse as it found it, so the tests pass in any order and on any worker.
"""

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from shopkit import Inventory, OutOfStock, total_price

CATALOG = {"apple": (30, 100), "pear": (45, 20), "plum": (80, 5)}  # sku -> (cents, stock)


@pytest.fixture(scope="module")
def warehouse() -> Inventory:
    time.sleep(0.2)  # stands in for loading a real catalog
    inv = Inventory()
    for sku, (_cents, stock) in CATALOG.items():
        inv.add(sku, stock)
    return inv


class TestOrderFlow:
    def test_catalog_is_loaded(self, warehouse: Inventory) -> None:
        assert warehouse.skus() == ["apple", "pear", "plum"]

    @pytest.mark.parametrize("sku", sorted(CATALOG))
    def test_reserve_and_release_round_trip(self, warehouse: Inventory, sku: str) -> None:
        before = warehouse.available(sku)
        warehouse.reserve(sku, 1)
        assert warehouse.available(sku) == before - 1
        warehouse.release(sku, 1)
        assert warehouse.available(sku) == before

    def test_order_larger_than_stock_is_refused(self, warehouse: Inventory) -> None:
        with pytest.raises(OutOfStock):
            warehouse.reserve("plum", CATALOG["plum"][1] + 1)

    def test_basket_total(self) -> None:
        basket = [(CATALOG["apple"][0], 4), (CATALOG["plum"][0], 1)]
        assert total_price(basket, discount_percent=10) == 180

    @pytest.mark.slow
    def test_bulk_import(self, warehouse: Inventory) -> None:
        time.sleep(0.4)  # stands in for a slow bulk import
        fresh = Inventory()
        for i in range(1000):
            fresh.add(f"sku-{i:04d}", i + 1)
        assert len(fresh.skus()) == 1000
        assert fresh.available("sku-0999") == 1000


@pytest.fixture
def history(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(tmp_path / "orders.db")
    conn.execute("create table orders (id integer primary key, sku text, qty integer)")
    yield conn
    conn.close()


# The fleet marker is testfleet's (its plugin registers it); group="db" asks the scheduler to
# keep these tests together. Plain pytest ignores it.
@pytest.mark.fleet(group="db")
def test_history_records_orders(history: sqlite3.Connection) -> None:
    history.executemany("insert into orders (sku, qty) values (?, ?)", [("apple", 2), ("pear", 1)])
    assert history.execute("select sum(qty) from orders").fetchone() == (3,)


@pytest.mark.fleet(group="db")
@pytest.mark.slow
def test_nightly_report(history: sqlite3.Connection) -> None:
    history.executemany("insert into orders (sku, qty) values (?, ?)", [("plum", 1)] * 50)
    time.sleep(0.5)  # stands in for a slow report query
    rows = history.execute("select sku, sum(qty) from orders group by sku").fetchall()
    assert rows == [("plum", 50)]
