"""When stdout is not a terminal (CI), a run prints periodic ``N/M done`` lines (issue 19)."""

from __future__ import annotations

import re
from typing import Any


def test_plain_output_has_periodic_n_of_m_lines(fleet: Any) -> None:
    fleet.write(
        "test_slow.py",
        "import time, pytest\n\n@pytest.mark.parametrize('n', range(16))\n"
        "def test_slow(n):\n    time.sleep(0.25)\n",
    )
    run = fleet.run("-w", "2", "--db", "none", env={"TESTFLEET_PROGRESS_INTERVAL": "0.5"})
    assert run.code == 0, run.out + run.err
    lines = [ln for ln in run.out.splitlines() if re.match(r"testfleet: \d+/16 done \(", ln)]
    assert len(lines) >= 2, run.out
    done = [int(ln.split()[1].split("/")[0]) for ln in lines]
    assert done == sorted(done) and done[-1] < 16
    assert all("elapsed" in ln and "ETA" in ln for ln in lines)
