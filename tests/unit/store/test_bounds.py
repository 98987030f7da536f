from __future__ import annotations

import math

from testfleet.model import Outcome
from testfleet.model import TestResult as Result
from testfleet.store.bounds import (
    MAX_FAILURE_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_OUTPUT_CHARS,
    bound_result,
    cut,
    needs_bounds,
    one_line,
)


def test_short_text_is_kept_whole() -> None:
    assert cut("hello", 10) == "hello"
    assert cut(None, 10) is None


def test_long_text_keeps_head_and_tail_and_says_how_much_was_cut() -> None:
    text = "H" * 100_000 + "T" * 100_000
    kept = cut(text, 1000)
    assert kept is not None
    assert len(kept) <= 1000
    assert kept.startswith("H" * 400) and kept.endswith("T" * 400)
    dropped = 200_000 - kept.count("H") - kept.count("T")
    assert f"[... testfleet: {dropped} characters cut ...]" in kept


def test_output_bound_is_64_kib_of_characters_each() -> None:
    r = bound_result(
        Result("r", "t", "passed", stdout="o" * 10**6, stderr="e" * 10**6, failure_text="f" * 10**6)
    )
    assert MAX_OUTPUT_CHARS == MAX_FAILURE_CHARS == 65536
    assert r.stdout is not None and r.stderr is not None and r.failure_text is not None
    assert 65000 < len(r.stdout) <= 65536
    assert 65000 < len(r.stderr) <= 65536
    assert 65000 < len(r.failure_text) <= 65536


def test_message_becomes_its_first_non_blank_line_cut_to_the_bound() -> None:
    assert one_line("\n  \nAssertionError: x\nmore") == "AssertionError: x"
    long = one_line("x" * 5000)
    assert long is not None and len(long) == MAX_MESSAGE_CHARS and long.endswith("…")


def test_lone_surrogates_are_replaced_so_utf8_storage_accepts_them() -> None:
    r = bound_result(Result("r", "t\udcff", "passed", stdout="ok \udcfe é"))
    assert r.stdout == "ok \ufffd é"
    assert r.nodeid == "t\ufffd"
    r.stdout.encode("utf-8")


def test_non_finite_numbers_and_enum_outcomes_are_normalized() -> None:
    r = bound_result(
        Result(
            "r",
            "t",
            Outcome.FAILED,
            start=math.nan,  # type: ignore[arg-type]
            call_duration=math.inf,
            setup_duration=-1.0,
        )
    )
    assert r.outcome == "failed" and type(r.outcome) is str
    assert r.start is None
    assert r.call_duration == 0.0 and r.setup_duration == 0.0


def test_plain_results_pass_through_unchanged() -> None:
    plain = Result("r", "tests/a.py::t", "passed", worker="w1", start=1.0, call_duration=0.5)
    assert not needs_bounds(plain)
    assert bound_result(plain) is plain
    for noisy in (
        Result("r", "t", "passed", stdout=""),
        Result("r", "t", "passed", call_duration=math.inf),
        Result("r", "té", "passed"),
    ):
        assert needs_bounds(noisy)
