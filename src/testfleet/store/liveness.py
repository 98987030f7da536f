"""Is the controller that wrote a ``running`` run still alive? (Used to mark killed runs.)"""

from __future__ import annotations

import os
import platform
from functools import cache


@cache
def this_host() -> str:
    """The host name runs record (``platform.node()``, as the controller stores it)."""
    return platform.node()


def _boot_time() -> float | None:
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def _process_start(pid: int) -> tuple[float, str] | None:
    """(start time in epoch seconds, state letter) of ``pid`` from /proc, or None off Linux."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    boot = _boot_time()
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    if boot is None or len(fields) < 20:
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return boot + int(fields[19]) / ticks, fields[0]


def pid_alive(pid: int, *, started_by: float | None = None) -> bool:
    """Whether process ``pid`` exists on this host and is not a zombie.

    With ``started_by`` (epoch seconds), a process that started more than a few seconds later
    is a different process that reused the pid, so it counts as dead.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    info = _process_start(pid)
    if info is None:
        return True
    start, state = info
    if state in ("Z", "X"):
        return False
    return not (started_by is not None and start > started_by + 5.0)
