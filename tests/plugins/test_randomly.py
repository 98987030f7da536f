"""pytest-randomly: the printed seed reproduces the run, fork and spawn (issue 18, 2)."""

from __future__ import annotations

import json

import pytest
from _suite import Result, Suite, need

# Every test records the random values it drew; a run is reproduced when each test draws
# the same values (pytest-randomly reseeds per test from the seed and the test id).
SUITE = """
import json, os, random

def _record(name):
    with open(os.path.join(os.environ["DRAWS_DIR"], name + ".json"), "w") as fh:
        json.dump([random.random() for _ in range(3)], fh)

{tests}
"""
TESTS = "\n".join(f"def test_{n}():\n    _record('{n}')\n" for n in range(8))


def _draws(suite: Suite, run: str) -> dict[str, list[float]]:
    out = suite.root / run
    return {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}


def _seed(result: Result) -> int:
    return int(result.expect_line(r"Using --randomly-seed=(\d+)")[1])


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_printed_seed_reproduces_the_run(suite: Suite, start: str) -> None:
    need("pytest_randomly")
    suite.write("test_r.py", SUITE.format(tests=TESTS))
    for run in ("fleet", "plain", "again"):
        (suite.root / run).mkdir()
    fleet = suite.fleet(
        "--start", start, "-p", "pytest_randomly", env={"DRAWS_DIR": str(suite.root / "fleet")}
    )
    assert fleet.code == 0 and fleet.summary == "8 passed", fleet.out  # spawn: every worker shuffled alike
    seed = _seed(fleet)
    plain = suite.plain(
        "-p", "pytest_randomly", f"--randomly-seed={seed}", env={"DRAWS_DIR": str(suite.root / "plain")}
    )
    assert plain.code == 0, plain.out
    drawn = _draws(suite, "fleet")
    assert len(drawn) == 8
    assert drawn == _draws(suite, "plain")
    # and a fleet run given the printed seed draws the same again
    again = suite.fleet(
        "--start",
        start,
        "-p",
        "pytest_randomly",
        f"--randomly-seed={seed}",
        env={"DRAWS_DIR": str(suite.root / "again")},
    )
    assert _seed(again) == seed and _draws(suite, "again") == drawn, again.out
