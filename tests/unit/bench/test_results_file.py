"""benchmarks/run.py rewrites RESULTS.md from results.json and keeps the hand-written sections
(sharding, dashboard, controller-only, analytics...) it does not produce: a run of one suite
once dropped all of them."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "benchmarks"


def _hand_written(path: Path) -> str:
    sys.path.insert(0, str(BENCH))
    try:
        import run

        return str(run.hand_written(path))
    finally:
        sys.path.remove(str(BENCH))


def test_sections_run_py_does_not_write_are_kept(tmp_path: Path) -> None:
    md = tmp_path / "RESULTS.md"
    md.write_text(
        "# Benchmarks\n\n## Machine\nm\n\n## Targets\nt\n\n## trivial\nx\n\n## networkx\ny\n\n"
        "## Sharding: by hand\ns\n\n### a subsection\nz\n\n## fast_then_slow and exactly-once (by hand)\nf\n"
    )
    assert _hand_written(md) == (
        "\n## Sharding: by hand\ns\n\n### a subsection\nz\n\n## fast_then_slow and exactly-once (by hand)\nf\n"
    )


def test_nothing_to_keep_without_a_file_or_hand_written_sections(tmp_path: Path) -> None:
    assert _hand_written(tmp_path / "missing.md") == ""
    md = tmp_path / "RESULTS.md"
    md.write_text("## Machine\nm\n## trivial\nx\n## fast_then_slow\ny\n")
    assert _hand_written(md) == ""
