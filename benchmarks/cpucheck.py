"""A fixed CPU loop, run alone and then two at once, before each benchmark round.

This machine is a small VM on a shared host: its speed drifts, and at times two busy
processes do not get two full cores. A 2-worker tool is judged on parallelism, so each round
records what the machine gave: ``single_seconds`` (one loop alone, before and after) and ``parallel_efficiency``
(one loop's time alone over the slower of two run at once; 1.0 = two full cores, 0.5 = the two
share one). It changes nothing in the measurement; it tells a reader how to read a round.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

# Pure-Python work of about 1 s on this machine, timed inside the process (start-up excluded).
LOOP = (
    "import time\n"
    "t = time.perf_counter()\n"
    "x = 0\n"
    "for i in range(ITERATIONS):\n"
    "    x += i\n"
    "print(time.perf_counter() - t)\n"
)
ITERATIONS = 12_000_000


def _start(python: str) -> subprocess.Popen[str]:
    code = LOOP.replace("ITERATIONS", str(ITERATIONS))
    return subprocess.Popen([python, "-c", code], stdout=subprocess.PIPE, text=True)


def _seconds(proc: subprocess.Popen[str]) -> float:
    out, _ = proc.communicate(timeout=120)
    return float(out.strip())


def check(python: str = sys.executable) -> dict[str, Any]:
    """Alone, two at once, alone again (the mean of the two alone is the reference)."""
    first = _seconds(_start(python))
    pair = [_start(python), _start(python)]
    both = [_seconds(p) for p in pair]
    single = (first + _seconds(_start(python))) / 2
    return {
        "single_seconds": round(single, 4),
        "pair_seconds": [round(s, 4) for s in both],
        "parallel_efficiency": round(single / max(both), 3) if max(both) > 0 else None,
        "at": round(time.time(), 1),
    }


if __name__ == "__main__":
    print(check())
