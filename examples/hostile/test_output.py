"""Tests that abuse stdout: closing it, flooding it, writing bytes that are not UTF-8."""

import os
import sys


def test_close_stdout_then_print() -> None:
    os.close(1)  # the worker's fd 1 (whatever pytest's capture or the worker put there)
    print("printing after fd 1 was closed", flush=True)
    os.write(1, b"and writing to fd 1 directly\n")  # raises OSError (EBADF): the test fails


def test_prints_20mb() -> None:
    line = "x" * 1023 + "\n"
    for _ in range(20):
        print(line * 1024, end="")  # 20 x 1 MiB = 20 MiB of captured stdout
    assert True


def test_writes_non_utf8_to_stdout() -> None:
    os.write(1, b"raw fd 1: \xff\xfe\x80 \xc3\x28 not utf-8\n")
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        buffer.write(b"sys.stdout.buffer: \xed\xa0\x80 \xf8\x88\x80\x80\x80 not utf-8 either\n")
        buffer.flush()
    print("and some text after the bytes")
