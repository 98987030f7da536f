"""Folding a worker's stack dump to the test's own frames (report/frames.py)."""

from __future__ import annotations

from pathlib import Path

import testfleet
from testfleet.report.frames import fold_stacks, is_internal

TF = str(Path(testfleet.__file__).parent)
DUMP = f"""Fatal Python error: Segmentation fault

Thread 0x00007f0000000001 (most recent call first):
  File "/usr/lib/python3.11/threading.py", line 327 in wait
  File "{TF}/worker/loop.py", line 126 in _idle_thread

Current thread 0x00007f0000000002 (most recent call first):
  File "/usr/lib/python3.11/ctypes/__init__.py", line 519 in string_at
  File "/src/proj/tests/test_crash.py", line 12 in test_segfault
  File "/venv/site-packages/_pytest/python.py", line 187 in pytest_pyfunc_call
  File "/venv/site-packages/pluggy/_execution.py", line 147 in _multicall
  File "{TF}/worker/loop.py", line 219 in run_worker
  File "<frozen runpy>", line 88 in _run_code
"""


def test_only_the_tests_own_frames_stay() -> None:
    assert fold_stacks(DUMP).splitlines() == [
        "Fatal Python error: Segmentation fault",
        "",
        "Current thread 0x00007f0000000002 (most recent call first):",
        '  File "/usr/lib/python3.11/ctypes/__init__.py", line 519 in string_at',
        '  File "/src/proj/tests/test_crash.py", line 12 in test_segfault',
        "  ... 4 frames of pytest, pluggy and testfleet (-vv shows them)",
        "(1 thread of testfleet's worker not shown; -vv shows them)",
    ]


def test_text_without_a_stack_is_unchanged() -> None:
    text = "Crashed: worker w0 (pid 1) exited with code 3 while running this test."
    assert fold_stacks(text) == text


def test_internal_files() -> None:
    assert is_internal(f"{TF}/controller.py") and is_internal("/x/site-packages/pluggy/_hooks.py")
    assert is_internal("/tmp/ray/session/runtime/testfleet/worker/loop.py")  # a shipped copy
    assert not is_internal("/home/me/proj/tests/test_x.py") and not is_internal(
        "/x/site-packages/numpy/core.py"
    )
