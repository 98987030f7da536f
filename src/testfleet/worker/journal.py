"""The worker's own journal of the results it produced, written before they are sent.

A controller killed with SIGKILL loses what its workers had sent but it had not read yet
(still in the socket). So a local worker appends each test's results to its journal file
(``TESTFLEET_JOURNAL``, set by the controller next to its own journal) *before* it sends
them: anything the controller may have received is on disk, whichever of the two processes
dies first. ``--resume`` reads it back (``testfleet.store.journal.read_worker_journal``).

One line per test, ``[nodeid, start, location, keywords, reports]``, the reports as they go
on the wire (JSON text with no raw newline); one ``write`` per line, no fsync (what a process
wrote survives its SIGKILL). A worker killed mid-write leaves a torn last line, which the reader skips: that test was in
flight and runs again. Imports nothing of the controller.
"""

from __future__ import annotations

import os
from json.encoder import encode_basestring_ascii as quote  # a str as JSON text, ASCII


class WorkerJournal:
    """Appends one line per finished test to ``path``; gives up quietly on an error (the
    controller's own journal still holds what it read)."""

    __slots__ = ("fd",)

    def __init__(self, path: str) -> None:
        self.fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @classmethod
    def from_env(cls) -> WorkerJournal | None:
        path = os.environ.pop("TESTFLEET_JOURNAL", None)  # not for the tests (a nested run)
        if not path:
            return None
        try:
            return cls(path)
        except OSError:
            return None

    def record(self, nodeid: str, start: float, location: str, keywords: str, reports: str) -> None:
        """Append a test's results before they are sent: ``location``, ``keywords`` and
        ``reports`` are JSON text, the last two those of its ``done`` message's ``kw`` and ``r``
        (the worker encodes them once for both, with ``testfleet.messages``)."""
        if self.fd is None:
            return
        data = f"[{quote(nodeid)},{start!r},{location},{keywords},{reports}]\n".encode(
            "utf-8", "surrogatepass"
        )
        try:
            written = os.write(self.fd, data)
            while written < len(data):  # a short write (a signal, a full disk): the rest
                more = os.write(self.fd, data[written:])
                if more <= 0:
                    raise OSError("the journal takes no more data")
                written += more
        except OSError:
            self.close()

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None
