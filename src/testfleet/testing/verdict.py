"""The answer every checker gives: ok or not, and which operations show it."""

from __future__ import annotations

from dataclasses import dataclass

from testfleet.testing.history import Operation


@dataclass(frozen=True)
class CheckResult:
    """``ok`` plus, when not ok, a human explanation of the first violation and the operations in it.

    Truthy when ok, so ``assert check_linearizable(h)`` works; ``assert_ok()`` fails with the explanation.
    """

    ok: bool
    checker: str
    explanation: str
    ops: tuple[Operation, ...] = ()

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return f"{self.checker}: {'ok' if self.ok else 'VIOLATION'}: {self.explanation}"

    def assert_ok(self) -> None:
        if not self.ok:
            raise AssertionError(str(self))


def passed(checker: str, explanation: str) -> CheckResult:
    return CheckResult(True, checker, explanation)


def violated(checker: str, explanation: str, ops: tuple[Operation, ...] = ()) -> CheckResult:
    details = "\n".join(f"  {o.describe()}" for o in ops)
    return CheckResult(False, checker, f"{explanation}\n{details}" if details else explanation, ops)
