"""The per-test state machine of a fleet run: the one place that says where each test is.

Every collected test moves through explicit states, and every path of the controller
(dispatch, steal-back, worker crash and exit, timeout, halt, lost node, retry, deadline)
moves it with one of the verbs below::

    PENDING --assign(w)--> ASSIGNED(w, attempt) --start(w)--> RUNNING(w, attempt)
       ^                        |                                  |
       |<--release(w)-----------+ (provably never started)         |
       |                                                           v
       |<--retry()------------------------------------------ ENDED (a result arrived)
                                                                   |
    PENDING / ENDED --close()--> FINAL  <------------finish()------+

The invariants hold by construction and are enforced here, not hoped for:

- a test is handed to a worker for a given attempt at most once (``assign`` only from
  PENDING, and every ``assign`` is a new attempt number);
- its result is accepted at most once per attempt (``end`` only from RUNNING on the worker
  that holds it), and its final outcome exactly once (``finish``/``close`` only once);
- it goes back to the queue only when it provably never started (``release`` from
  ASSIGNED) or as a counted retry (``retry`` from ENDED, after an attempt ended).

Controller-internal misuse raises :class:`InvariantBroken` (a bug, never a user's fault);
messages from workers that do not fit (a stale ``start`` or ``done``) are refused with
``False`` and counted in ``refused``: a worker can lie or be late, the ledger stays right.

Lists indexed by test, small ints for states: each verb is a few list operations, so the
hot path of a 20,000-test run pays well under a millisecond in total per thousand tests.
"""

from __future__ import annotations

PENDING = 0
ASSIGNED = 1
RUNNING = 2
ENDED = 3
FINAL = 4

NAMES = ("pending", "assigned", "running", "ended", "final")


class InvariantBroken(RuntimeError):
    """A transition the state machine forbids: a controller bug."""


class Ledger:
    """Where each of ``n`` tests is. See the module docstring."""

    __slots__ = ("state", "holder", "attempt", "refused", "handed", "accepted")

    def __init__(self, n: int) -> None:
        self.state: list[int] = [PENDING] * n
        self.holder: list[str | None] = [None] * n
        self.attempt: list[int] = [0] * n  # hand-outs so far (the current one's number)
        self.refused = 0  # worker messages that did not fit the state (stale, or a lie)
        self.handed = 0  # assigns, over the run
        self.accepted = 0  # results accepted (end), over the run

    def _broken(self, verb: str, idx: int, wid: str | None = None) -> InvariantBroken:
        return InvariantBroken(
            f"{verb}({idx}{', ' + wid if wid else ''}): test {idx} is {NAMES[self.state[idx]]}"
            f" (holder {self.holder[idx]}, attempt {self.attempt[idx]})"
        )

    # ---------------------------------------------------------------- controller verbs
    def assign(self, idx: int, wid: str) -> int:
        """Hand ``idx`` to worker ``wid``: a new attempt. Returns its number."""
        if self.state[idx] != PENDING:
            raise self._broken("assign", idx, wid)
        self.state[idx] = ASSIGNED
        self.holder[idx] = wid
        self.attempt[idx] += 1
        self.handed += 1
        return self.attempt[idx]

    def release(self, idx: int, wid: str) -> None:
        """``wid`` gave ``idx`` back, or died, before starting it: it may be handed out again
        (as a new hand-out number: no number is ever handed out twice)."""
        if self.state[idx] != ASSIGNED or self.holder[idx] != wid:
            raise self._broken("release", idx, wid)
        self.state[idx] = PENDING
        self.holder[idx] = None

    def retry(self, idx: int) -> None:
        """The attempt ended and the test runs again (a counted retry, a lost node)."""
        if self.state[idx] != ENDED:
            raise self._broken("retry", idx)
        self.state[idx] = PENDING
        self.holder[idx] = None

    def finish(self, idx: int) -> None:
        """The attempt that ended is the test's final outcome."""
        if self.state[idx] != ENDED:
            raise self._broken("finish", idx)
        self.state[idx] = FINAL

    def close(self, idx: int) -> None:
        """A final outcome given by the controller to a test no worker holds (skipped,
        unschedulable, not run): from PENDING or ENDED."""
        if self.state[idx] not in (PENDING, ENDED):
            raise self._broken("close", idx)
        self.state[idx] = FINAL
        self.holder[idx] = None

    def end_running(self, idx: int, wid: str) -> bool:
        """The controller ends the attempt ``wid`` is running (its worker died, timed out,
        was killed): like a result arriving. False if ``wid`` does not run ``idx``."""
        if self.state[idx] != RUNNING or self.holder[idx] != wid:
            return False
        self.state[idx] = ENDED
        self.accepted += 1
        return True

    def abandon(self, idx: int) -> int:
        """The run is over and ``idx`` has no outcome yet: FINAL whatever its state (the
        end-of-run sweep that gives every test exactly one outcome). Returns the old state."""
        old = self.state[idx]
        if old == FINAL:
            raise self._broken("abandon", idx)
        self.state[idx] = FINAL
        self.holder[idx] = None
        return old

    # ---------------------------------------------------------------- worker messages
    def start(self, idx: int, wid: str) -> bool:
        """``wid`` says it started ``idx``. False (and counted) if it does not hold it."""
        if 0 <= idx < len(self.state) and self.state[idx] == ASSIGNED and self.holder[idx] == wid:
            self.state[idx] = RUNNING
            return True
        self.refused += 1
        return False

    def end(self, idx: int, wid: str) -> bool:
        """``wid`` sent the result of ``idx``: accepted once, if ``wid`` is running it."""
        if 0 <= idx < len(self.state) and self.state[idx] == RUNNING and self.holder[idx] == wid:
            self.state[idx] = ENDED
            self.accepted += 1
            return True
        self.refused += 1
        return False

    # ---------------------------------------------------------------- questions
    def is_final(self, idx: int) -> bool:
        return self.state[idx] == FINAL

    def held_by(self, idx: int, wid: str) -> bool:
        return self.holder[idx] == wid and self.state[idx] in (ASSIGNED, RUNNING)

    def running_on(self, idx: int, wid: str) -> bool:
        return self.state[idx] == RUNNING and self.holder[idx] == wid

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(NAMES, 0)
        for s in self.state:
            out[NAMES[s]] += 1
        return out
