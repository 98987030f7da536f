from __future__ import annotations

import re

import pytest

from testfleet.errors import UsageError
from testfleet.store.ids import match_run_id, new_run_id


def test_new_run_ids_are_the_start_time_and_4_hex_digits() -> None:
    ids = [new_run_id() for _ in range(50)]
    assert all(re.fullmatch(r"20\d{6}-\d{6}-[0-9a-f]{4}", i) for i in ids)
    assert len(set(ids)) > 40  # 65,536 suffixes per second


def test_exact_id_wins_over_longer_ids_it_prefixes() -> None:
    assert match_run_id("abc", ["abcdef", "abc", "abc123"]) == "abc"


def test_unique_prefix_resolves() -> None:
    assert match_run_id("ab1", ["ab1234", "ab5678", "ff0000"]) == "ab1234"


def test_unknown_or_empty_ref_is_none() -> None:
    assert match_run_id("zz", ["ab1234"]) is None
    assert match_run_id("  ", ["ab1234"]) is None


def test_ambiguous_prefix_names_the_candidates() -> None:
    with pytest.raises(UsageError, match=r"'ab' is ambiguous: it matches ab1234, ab5678"):
        match_run_id("ab", ["ab5678", "ab1234", "ff0000"])
