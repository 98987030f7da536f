"""Tests that make their own process die. Each kills the worker it runs in."""

import ctypes
import os
import signal
import time

import pytest


def test_segfault() -> None:
    ctypes.string_at(0)  # reads address 0: SIGSEGV


def test_os_exit() -> None:
    os._exit(3)  # no cleanup, no report, exit status 3


def test_sigkill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(5)  # never reached: SIGKILL cannot be caught


def test_killpg_sigterm() -> None:
    # SIGTERM to the caller's whole process group. A worker in its own process group only
    # hurts itself; a worker sharing the controller's group would take the controller down.
    os.killpg(0, signal.SIGTERM)
    time.sleep(1)
    pytest.fail("still alive one second after SIGTERM to its own process group")
