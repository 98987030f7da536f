"""Clean passes reach pytest's reporting once per loop round (``controller/hookcall.py``,
``PassBatch``): what the terminal shows, the summary and the last-failed cache are what
reporting one test at a time gives."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

SUITE = {
    **{
        f"test_clean_{m}.py": "".join(f"def test_{i}():\n    assert {i} == {i}\n\n" for i in range(97))
        for m in range(3)
    },
    "test_mixed.py": (
        "import pytest\n\n"
        "def test_fails():\n    assert 1 == 2\n\n"
        "def test_prints():\n    print('some output')\n\n"
        "@pytest.mark.skip(reason='not today')\ndef test_skipped():\n    pass\n\n"
        "@pytest.mark.xfail\ndef test_xfails():\n    assert 0\n\n"
        "def test_clean_after():\n    pass\n"
    ),
    "test_tail.py": "".join(f"def test_t{i}():\n    pass\n\n" for i in range(40)),
    # An implementation of the report hook that the batch does not know: every test goes
    # through the hooks one at a time.
    "one_by_one.py": "def pytest_runtest_logreport(report):\n    pass\n",
}


def _normalized(out: str) -> list[str]:
    lines = []
    for line in out.splitlines():
        line = re.sub(r"\b\d+\.\d+s\b", "Ns", line)  # durations, "collected in", "passed in"
        if line.startswith("testfleet: ") and "done (" in line:  # periodic progress lines
            continue
        lines.append(line)
    return lines


@pytest.mark.parametrize("style", ["progress", "count", "classic"])
@pytest.mark.parametrize("columns", ["80", "61"])
def test_batched_passes_print_what_one_test_at_a_time_prints(fleet: Any, style: str, columns: str) -> None:
    for name, text in SUITE.items():
        fleet.write(name, text)
    args = ["-w", "1", "--db", "none", "-o", f"console_output_style={style}", "-rA"]
    env = {"COLUMNS": columns, "PYTHONPATH": str(fleet.root)}
    batched = fleet.run(*args, env=env)
    one_by_one = fleet.run(*args, "-p", "one_by_one", env=env)
    assert batched.code == one_by_one.code == 1, batched.out + batched.err
    assert batched.report is not None and one_by_one.report is not None
    # The batch was used in the first run only (else this compares a path with itself).
    assert batched.report["loop"]["passes_batched"] >= 300
    assert one_by_one.report["loop"]["passes_batched"] == 0
    assert _normalized(batched.out) == _normalized(one_by_one.out)
    assert "1 failed, 333 passed, 1 skipped, 1 xfailed" in batched.out


def test_last_failed_cache_forgets_tests_that_pass_in_a_batch(fleet: Any) -> None:
    fleet.write(
        "test_a.py",
        "import os\n\n"
        + "".join(f"def test_{i}():\n    assert os.environ.get('BREAK') != '{i}'\n\n" for i in range(50)),
    )
    fleet.root.joinpath("pytest.ini").write_text("[pytest]\n")
    first = fleet.run("-w", "1", "--db", "none", "-p", "cacheprovider", env={"BREAK": "7"})
    assert first.code == 1
    cache = fleet.root / ".pytest_cache" / "v" / "cache" / "lastfailed"
    assert list(json.loads(cache.read_text())) == ["test_a.py::test_7"]
    second = fleet.run("-w", "1", "--db", "none", env={"BREAK": "none"})
    assert second.code == 0 and second.report is not None
    assert second.report["loop"]["passes_batched"] == 50  # test_7's pass came through the batch
    assert not cache.exists() or json.loads(cache.read_text()) == {}
