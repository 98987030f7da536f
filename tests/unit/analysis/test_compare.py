"""compare(): sections of a run comparison, from hand-built stored results."""

from __future__ import annotations

import pytest

from testfleet.analysis.compare import compare
from testfleet.model import TestResult as Result


def res(nodeid: str, outcome: str, seconds: float = 0.01, **kw: object) -> Result:
    return Result("run", nodeid, outcome, call_duration=seconds, **kw)  # type: ignore[arg-type]


def nodeids(changes: list) -> list[str]:  # type: ignore[type-arg]
    return [c.nodeid for c in changes]


def test_outcome_changes_land_in_exactly_one_section() -> None:
    base = [
        res("a", "passed"),
        res("b", "failed"),
        res("c", "failed"),
        res("d", "passed"),
        res("e", "passed"),
        res("gone", "passed"),
        res("f", "error"),
    ]
    head = [
        res("a", "failed", message="AssertionError: 1 != 2"),
        res("b", "passed"),
        res("c", "crashed"),
        res("d", "passed"),
        res("e", "skipped"),
        res("new", "timeout"),
        res("f", "xfailed"),
    ]
    cmp = compare(base, head)
    assert nodeids(cmp.new_failures) == ["a"]
    assert cmp.new_failures[0].message == "AssertionError: 1 != 2"
    assert (cmp.new_failures[0].base_outcome, cmp.new_failures[0].head_outcome) == ("passed", "failed")
    assert nodeids(cmp.fixed) == ["b", "f"]
    assert nodeids(cmp.still_failing) == ["c"]
    assert nodeids(cmp.other_changes) == ["e"]
    assert nodeids(cmp.added) == ["new"] and nodeids(cmp.removed) == ["gone"]
    assert cmp.slower == [] and cmp.faster == []
    assert cmp.base_counts == {"passed": 4, "failed": 2, "error": 1}
    assert cmp.head_counts == {
        "failed": 1,
        "passed": 2,
        "crashed": 1,
        "skipped": 1,
        "timeout": 1,
        "xfailed": 1,
    }


def test_a_skipped_test_that_now_fails_is_a_new_failure() -> None:
    cmp = compare([res("a", "skipped")], [res("a", "error")])
    assert nodeids(cmp.new_failures) == ["a"]


def test_only_final_attempts_count() -> None:
    base = [res("a", "passed")]
    head = [res("a", "failed", attempt=1, final=False), res("a", "passed", attempt=2, flaky=True)]
    cmp = compare(base, head)
    assert cmp.new_failures == [] and cmp.head_counts == {"passed": 1}


def test_slower_needs_both_the_ratio_and_the_absolute_difference() -> None:
    base = [
        res("tiny", "passed", 0.001),
        res("long", "passed", 10.0),
        res("real", "passed", 0.2),
        res("quicker", "passed", 1.0),
        res("failing", "failed", 0.1),
    ]
    head = [
        res("tiny", "passed", 0.004),  # 4x, but only 3 ms
        res("long", "passed", 11.0),  # +1 s, but only 1.1x
        res("real", "passed", 0.5),  # 2.5x and +0.3 s
        res("quicker", "passed", 0.3),  # 3.3x faster, -0.7 s
        res("failing", "failed", 5.0),
    ]  # failing: its time says nothing
    cmp = compare(base, head)
    assert nodeids(cmp.slower) == ["real"]
    assert cmp.slower[0].ratio == pytest.approx(2.5)
    assert nodeids(cmp.faster) == ["quicker"]
    strict = compare(base, head, min_ratio=3.0, min_seconds=0.0)
    assert nodeids(strict.slower) == ["tiny"]  # 4x passes a 3x ratio once no difference is required


def test_slower_tests_come_biggest_loss_first() -> None:
    base = [res("a", "passed", 0.1), res("b", "passed", 0.1)]
    head = [res("a", "passed", 0.5), res("b", "passed", 2.0)]
    assert nodeids(compare(base, head).slower) == ["b", "a"]


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="min_ratio"):
        compare([], [], min_ratio=0.5)
    with pytest.raises(ValueError, match="min_seconds"):
        compare([], [], min_seconds=-1)


def test_json_form_names_every_section() -> None:
    data = compare([res("a", "passed")], [res("a", "failed", message="boom")]).as_dict()
    assert data["new_failures"] == [
        {
            "nodeid": "a",
            "base": "passed",
            "head": "failed",
            "base_seconds": 0.01,
            "head_seconds": 0.01,
            "message": "boom",
        }
    ]
    assert data["fixed"] == [] and data["slower"] == []


def test_an_added_failing_test_is_an_added_failure() -> None:
    cmp = compare(
        [res("a", "passed")], [res("a", "passed"), res("new_ok", "passed"), res("new_bad", "failed")]
    )
    assert nodeids(cmp.added) == ["new_bad", "new_ok"]
    assert nodeids(cmp.added_failures) == ["new_bad"] and cmp.new_failures == []
    assert [r["nodeid"] for r in cmp.as_dict()["added_failures"]] == ["new_bad"]  # type: ignore[index]


def test_a_known_flaky_test_that_passes_again_is_not_fixed() -> None:
    base = [res("wobbly", "failed"), res("real", "failed")]
    head = [res("wobbly", "passed"), res("real", "passed")]
    cmp = compare(base, head, known_flaky={"wobbly"})
    assert nodeids(cmp.fixed) == ["real"] and nodeids(cmp.flaky_passes) == ["wobbly"]
