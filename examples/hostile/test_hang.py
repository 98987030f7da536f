"""Tests that never finish. Run them with ``--timeout 3``: only the controller can stop them."""

import signal
import time


def test_blocks_signals_and_sleeps() -> None:
    # Block every signal that can be blocked (SIGKILL and SIGSTOP cannot), so SIGTERM, SIGINT
    # and SIGALRM stay pending; only SIGKILL from the outside ends this.
    signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    time.sleep(60)


def test_busy_loop_forever() -> None:
    n = 0
    while True:  # pure-Python spin: holds a core, never sleeps, never returns
        n += 1
