"""Labelled corpus: duplicated-setup (never collected, never run)."""

from mylib import Client, Config, compute


# expect: duplicated-setup
def test_dup_literal_one():
    cfg = {"host": "localhost", "port": 8080, "debug": True}
    assert Config(cfg).port == 8080


# expect: duplicated-setup
def test_dup_literal_two():
    cfg = {"host": "localhost", "port": 8080, "debug": True}
    assert Config(cfg).host == "localhost"


# expect: duplicated-setup
def test_dup_literal_three():
    cfg = {"host": "localhost", "port": 8080, "debug": True}
    assert Config(cfg).debug is True


# expect: -
def test_similar_but_different_literal():
    cfg = {"host": "localhost", "port": 9090, "debug": True}
    assert Config(cfg).port == 9090


# expect: duplicated-setup
def test_dup_block_a():
    client = Client()
    client.login("alice", "pw")
    client.select("inbox")
    assert client.count() == 0


# expect: duplicated-setup
def test_dup_block_b():
    client = Client()
    client.login("alice", "pw")
    client.select("inbox")
    assert client.unread() == 0


# expect: duplicated-setup
def test_dup_block_c():
    client = Client()
    client.login("alice", "pw")
    client.select("inbox")
    client.delete_all()
    assert client.count() == 0


# expect: -
def test_block_only_twice_one():
    client = Client()
    client.login("bob", "pw")
    client.select("sent")
    assert client.count() == 1


# expect: -
def test_block_only_twice_two():
    client = Client()
    client.login("bob", "pw")
    client.select("sent")
    assert client.unread() == 1


# expect: -
def test_small_literal_repeated_one():
    assert compute([1, 2]) == 3


# expect: -
def test_small_literal_repeated_two():
    assert compute([1, 2]) == 3


# expect: -
def test_small_literal_repeated_three():
    assert compute([1, 2]) == 3


# expect: duplicated-setup
def test_dup_list_one():
    rows = [("a", 1), ("b", 2), ("c", 3)]
    assert compute(rows) == 6


# expect: duplicated-setup
def test_dup_list_two():
    rows = [("a", 1), ("b", 2), ("c", 3)]
    assert len(compute(rows, keys=True)) == 3


# expect: duplicated-setup
def test_dup_list_three():
    rows = [("a", 1), ("b", 2), ("c", 3)]
    assert compute(rows, first=True) == "a"


# expect: -
def test_literal_with_names_not_constant():
    rows = [compute, Client, Config]
    assert rows


# expect: -
def test_literal_with_names_not_constant_2():
    rows = [compute, Client, Config]
    assert len(rows) == 3


# Look-alikes found while checking findings on networkx's and jsonschema's suites (docs/audit.md).


# expect: -
def test_flat_small_list_is_data_one():
    assert compute(list([1, 2, 3])) == 6


# expect: -
def test_flat_small_list_is_data_two():
    assert compute(tuple([1, 2, 3])) == 6


# expect: -
def test_flat_small_list_is_data_three():
    assert compute(set([1, 2, 3])) == 6
