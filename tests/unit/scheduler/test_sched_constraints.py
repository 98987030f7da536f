"""The fleet marker: parse_marker's validation and merging, spec_from_item."""

from __future__ import annotations

from typing import Any

import pytest

from testfleet.errors import UsageError
from testfleet.scheduler.constraints import parse_marker, spec_from_item

NODE = "t.py::test_x"


def mark(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


def test_no_marks_give_the_defaults() -> None:
    assert parse_marker(NODE, []) == {
        "requires": {},
        "tags": frozenset(),
        "after": (),
        "exclusive": False,
        "group": None,
    }


def test_all_keys_are_parsed() -> None:
    got = parse_marker(
        NODE,
        [
            mark(
                requires={"gpu": 1, "memory_gb": 7.5},
                tags=["a", "b"],
                after=["t.py::s"],
                exclusive=True,
                group="db",
            )
        ],
    )
    assert got == {
        "requires": {"gpu": 1.0, "memory_gb": 7.5},
        "tags": frozenset({"a", "b"}),
        "after": ("t.py::s",),
        "exclusive": True,
        "group": "db",
    }
    assert isinstance(got["requires"]["gpu"], float)


def test_unknown_key_names_it_and_the_accepted_ones() -> None:
    with pytest.raises(UsageError) as info:
        parse_marker(NODE, [mark(gpu=1)])
    assert str(info.value) == (
        "t.py::test_x: unknown key 'gpu' in @pytest.mark.fleet; "
        "accepted: requires, tags, after, exclusive, group, mpi"
    )


def test_positional_arguments_are_rejected() -> None:
    with pytest.raises(UsageError, match=r"takes keyword arguments only"):
        parse_marker(NODE, [mark("gpu")])


def test_requires_must_be_a_mapping() -> None:
    with pytest.raises(UsageError, match=r"must be a dict like \{'gpu': 1\}, not \['gpu'\]"):
        parse_marker(NODE, [mark(requires=["gpu"])])


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        ("1", "is not a number"),
        (True, "is not a number"),
        (None, "is not a number"),
        (-1, "is negative"),
        (-0.5, "is negative"),
    ],
)
def test_bad_requirement_amounts(amount: Any, why: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_marker(NODE, [mark(requires={"gpu": amount})])
    assert str(info.value) == f"t.py::test_x: fleet requirement 'gpu'={amount!r} {why}"


def test_zero_requirement_is_allowed() -> None:
    assert parse_marker(NODE, [mark(requires={"gpu": 0})])["requires"] == {"gpu": 0.0}


@pytest.mark.parametrize(
    ("tags", "expected"), [("web", {"web"}), (["web", "db"], {"web", "db"}), (("x",), {"x"}), ([], set())]
)
def test_tags_as_string_or_list(tags: Any, expected: set[str]) -> None:
    assert parse_marker(NODE, [mark(tags=tags)])["tags"] == frozenset(expected)


@pytest.mark.parametrize("tags", [["web", 1], 3, {"web": True}])
def test_tags_must_be_strings(tags: Any) -> None:
    with pytest.raises(UsageError, match=r"fleet\(tags=\.\.\.\) must be a list of strings"):
        parse_marker(NODE, [mark(tags=tags)])


def test_after_as_string_or_list_and_validation() -> None:
    assert parse_marker(NODE, [mark(after="t.py::a")])["after"] == ("t.py::a",)
    assert parse_marker(NODE, [mark(after=["a", "b"])])["after"] == ("a", "b")
    with pytest.raises(UsageError, match=r"fleet\(after=\.\.\.\) must be a list of test node ids, not \[1\]"):
        parse_marker(NODE, [mark(after=[1])])


def test_exclusive_must_be_a_bool_and_group_a_string() -> None:
    with pytest.raises(UsageError, match=r"fleet\(exclusive=\.\.\.\) must be True or False, not 1"):
        parse_marker(NODE, [mark(exclusive=1)])
    with pytest.raises(UsageError, match=r"fleet\(group=\.\.\.\) must be a string, not 3"):
        parse_marker(NODE, [mark(group=3)])


def test_closest_mark_wins_per_key() -> None:
    function_mark = mark(tags=["fn"], exclusive=False)
    class_mark = mark(tags=["cls"], group="g", exclusive=True)
    got = parse_marker(NODE, [function_mark, class_mark])
    assert (got["tags"], got["group"], got["exclusive"]) == (frozenset({"fn"}), "g", False)


def test_spec_from_item_copies_item_fields_and_marker() -> None:
    info = {
        "nodeid": "t.py::TestK::test_x[1]",
        "module": "t.py",
        "parent": "t.py::TestK",
        "name": "test_x",
        "scope": "class",
        "fleet": [mark(requires={"cpus": 2}, tags="web")],
    }
    t = spec_from_item(7, info)
    assert (t.index, t.nodeid, t.module, t.parent, t.name, t.scope) == (
        7,
        "t.py::TestK::test_x[1]",
        "t.py",
        "t.py::TestK",
        "test_x",
        "class",
    )
    assert t.requires == {"cpus": 2.0}
    assert t.slots == 2
    assert t.tags == frozenset({"web"})
    assert (t.after, t.exclusive, t.group, t.estimate) == ((), False, None, None)


def test_spec_from_item_minimal_item_takes_what_its_node_id_tells() -> None:
    t = spec_from_item(0, {"nodeid": "t.py::test_x"})
    assert (t.module, t.parent, t.name, t.scope, t.slots) == ("t.py", "t.py", "test_x", None, 1)
    t = spec_from_item(1, {"nodeid": "d/t.py::TestK::test_y[a::b-1]"})
    assert (t.module, t.parent, t.name) == ("d/t.py", "d/t.py::TestK", "test_y")


def test_spec_from_item_sent_fields_win_over_the_node_id() -> None:
    t = spec_from_item(0, {"nodeid": "t.py::odd::name", "parent": "t.py", "name": "odd::name"})
    assert (t.module, t.parent, t.name) == ("t.py", "t.py", "odd::name")


def test_mpi_ranks_occupy_as_many_slots() -> None:
    got = parse_marker(NODE, [mark(mpi=3)])
    assert got["requires"] == {"mpi": 3.0, "cpus": 3.0}
    assert parse_marker(NODE, [mark(mpi=2, requires={"cpus": 4})])["requires"] == {"cpus": 4.0, "mpi": 2.0}


@pytest.mark.parametrize("bad", [0, 1.5, True, "2"])
def test_mpi_must_be_a_whole_number_of_ranks(bad: Any) -> None:
    with pytest.raises(UsageError, match=r"fleet\(mpi=\.\.\.\) must be a whole number of ranks >= 1"):
        parse_marker(NODE, [mark(mpi=bad)])


def test_gpu_share_above_one_must_be_whole() -> None:
    assert parse_marker(NODE, [mark(requires={"gpu": 0.25})])["requires"] == {"gpu": 0.25}
    with pytest.raises(UsageError, match="'gpu'=1.5: a GPU share must be below 1"):
        parse_marker(NODE, [mark(requires={"gpu": 1.5})])
