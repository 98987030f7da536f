"""Run a command under a pseudo-terminal of a given size and render what it printed with pyte
(a terminal emulator), so tests see the screen a user at an 80-column terminal sees."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from collections.abc import Sequence
from pathlib import Path


def run_in_pty(
    argv: Sequence[str],
    cwd: Path,
    *,
    columns: int = 80,
    rows: int = 2000,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> tuple[int, list[str]]:
    """(exit code, the screen's lines with trailing blanks removed) of ``argv`` at ``columns``."""
    import pyte

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    full_env = {
        **os.environ,
        "COLUMNS": str(columns),
        "LINES": "50",
        "TERM": "xterm-256color",
        "PYTHONDONTWRITEBYTECODE": "1",
        **(env or {}),
    }
    full_env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        list(argv), cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=full_env, start_new_session=True
    )
    os.close(slave)
    screen = pyte.Screen(columns, rows)
    stream = pyte.ByteStream(screen)
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                stream.feed(data)
            elif proc.poll() is not None:
                continue  # drain what is left, then the read fails
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"{argv} did not finish within {timeout}s")
    finally:
        os.close(master)
    code = proc.wait(timeout=10)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return code, lines
