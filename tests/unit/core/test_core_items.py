"""What the collector tells the controller about each item (testfleet.worker.items): node ids,
plus only the fields a node id does not tell. Checked against pytest's own items."""

from __future__ import annotations

import json

import pytest

from testfleet.nodeids import derived
from testfleet.scheduler.constraints import spec_from_item
from testfleet.worker.items import describe_all, expand, wide_scope

SOURCE = """
import pytest

@pytest.fixture(scope="module")
def shared():
    return 1

@pytest.fixture(scope="class")
def per_class():
    return 2

def test_plain():
    pass

@pytest.mark.parametrize("x", ["a::b", "c[d]", 3])
def test_param(x):
    pass

def test_module_fixture(shared):
    pass

@pytest.mark.fleet(tags=["gpu"], group="g")
class TestMarked:
    @pytest.mark.fleet(requires={"cpus": 2})
    @pytest.mark.dependency(name="first")
    def test_inner(self, per_class):
        pass

    def test_other(self):
        pass
"""


@pytest.mark.parametrize(
    ("nodeid", "expected"),
    [
        ("t.py::test_x", ("t.py", "t.py", "test_x")),
        ("d/t.py::TestK::test_y", ("d/t.py", "d/t.py::TestK", "test_y")),
        ("t.py::test_p[a::b-1]", ("t.py", "t.py", "test_p")),
        ("doc.txt", ("doc.txt", "", "doc.txt")),
    ],
)
def test_derived_reads_module_parent_and_name_off_the_node_id(
    nodeid: str, expected: tuple[str, str, str]
) -> None:
    assert derived(nodeid) == expected


def test_expanded_items_give_the_scheduler_what_the_items_say(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    dependency: as pytest-dependency's\n")
    items = pytester.getitems(SOURCE)
    nodeids, extra = describe_all(items)
    # Through the wire as the collector sends it.
    nodeids, extra = json.loads(json.dumps([nodeids, extra]))
    specs = [spec_from_item(i, info) for i, info in enumerate(expand(nodeids, extra))]
    assert [s.nodeid for s in specs] == [it.nodeid for it in items]
    for item, spec in zip(items, specs, strict=True):
        assert spec.module == item.nodeid.split("::", 1)[0]
        assert spec.parent == item.parent.nodeid
        assert spec.name == (getattr(item, "originalname", None) or item.name)
        assert spec.scope == wide_scope(item)
    by_name = {s.name: s for s in specs}
    assert set(by_name) == {"test_plain", "test_param", "test_module_fixture", "test_inner", "test_other"}, [
        s.nodeid for s in specs
    ]
    inner = by_name["test_inner"]
    # The closest mark wins per key; the class's marks still apply where the method is silent.
    assert (inner.requires, inner.tags, inner.group, inner.scope) == (
        {"cpus": 2.0},
        frozenset({"gpu"}),
        "g",
        "class",
    )
    other = by_name["test_other"]
    assert (other.requires, other.tags, other.group) == ({}, frozenset({"gpu"}), "g")
    assert by_name["test_module_fixture"].scope == "module"
    assert by_name["test_plain"].tags == frozenset()
    assert expand(nodeids, extra)[[s.name for s in specs].index("test_inner")]["dependency"] == [
        {"args": [], "kwargs": {"name": "first"}}
    ]


def test_plain_items_cost_no_extra_fields(pytester: pytest.Pytester) -> None:
    items = pytester.getitems("def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    nodeids, extra = describe_all(items)
    assert [n.rsplit("::", 1)[-1] for n in nodeids] == ["test_a", "test_b"]
    assert extra == {}
