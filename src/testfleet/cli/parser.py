"""argparse, made to speak testfleet's one error path.

``argparse`` prints its usage text and exits 2 (which testfleet reserves for "interrupted") on a
bad command line. :class:`Parser` raises :class:`~testfleet.errors.UsageError` instead: one line
naming the command, the option and what is accepted, with "did you mean" for close misspellings
(difflib), and exit code 4.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Iterable, Sequence
from typing import NoReturn

from testfleet.errors import UsageError

# argparse's own messages (Python 3.11-3.13), rewritten as "<option>: <what is wrong>".
_INVALID_CHOICE = re.compile(
    r"^argument (?P<opt>[^:]+): invalid choice: '?(?P<value>.*?)'? \(choose from (?P<choices>.*)\)$"
)
_INVALID_TYPE = re.compile(r"^argument (?P<opt>[^:]+): invalid (?P<type>\w+) value: '(?P<value>.*)'$")
_EXPECTED = re.compile(r"^argument (?P<opt>[^:]+): expected (?P<what>.+)$")
_ARGUMENT = re.compile(r"^argument (?P<opt>[^:]+): (?P<rest>.*)$")
TYPE_WORDS = {"int": "a whole number", "float": "a number"}


def suggest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """``" (did you mean --workers?)"`` for a close match of ``word``, else ``""``."""
    close = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=cutoff)
    return f" (did you mean {close[0]}?)" if close else ""


def _option_name(opt: str) -> str:
    """``-o/--output`` -> ``--output``; a positional's metavar as it is."""
    names = opt.split("/")
    return next((n for n in names if n.startswith("--")), names[-1])


def rewrite(message: str) -> str:
    """argparse's message -> testfleet's (``--runs: 'abc' is not a whole number``)."""
    if m := _INVALID_CHOICE.match(message):
        choices = [c.strip().strip("'") for c in m["choices"].split(",")]
        opt = _option_name(m["opt"])
        what = "command" if opt in ("COMMAND", "command") else opt
        prefix = "" if what == "command" else f"{what}: "
        return (
            f"{prefix}{m['value']!r} is not a {'command' if what == 'command' else 'choice'}; "
            f"choose from {', '.join(choices)}{suggest(m['value'], choices)}"
        )
    if m := _INVALID_TYPE.match(message):
        word = TYPE_WORDS.get(m["type"], f"a valid {m['type']}")
        return f"{_option_name(m['opt'])}: {m['value']!r} is not {word}"
    if m := _EXPECTED.match(message):
        return f"{_option_name(m['opt'])} needs {'a value' if m['what'] == 'one argument' else m['what']}"
    if m := _ARGUMENT.match(message):
        return f"{_option_name(m['opt'])}: {m['rest']}"
    return message


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are :class:`UsageError` (exit 4), one line each."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("testfleet").strip()
        text = rewrite(message)
        if not command:
            raise UsageError(text)
        raise UsageError(f"{command} {text}" if text.startswith("-") else f"{command}: {text}")

    def long_options(self) -> list[str]:
        return [s for s in self._option_string_actions if s.startswith("-")]


def unrecognized(
    command: str, extras: Sequence[str], parser: Parser | None, others: dict[str, Parser] | None = None
) -> UsageError:
    """The error for arguments a command does not take, with "did you mean" for an option
    (or the command that has it: ``show --limit`` -> ``testfleet runs`` has --limit)."""
    first = extras[0]
    where = f"testfleet {command}" if command else "testfleet"
    if first.startswith("-") and parser is not None:
        name = first.split("=", 1)[0]
        known = sorted(o for o in parser.long_options() if o.startswith("--"))
        owners = [c for c, p in (others or {}).items() if c != command and name in p.long_options()]
        elsewhere = (
            f" ({' and '.join(f'testfleet {c}' for c in owners)} {'has' if len(owners) == 1 else 'have'} it)"
        )
        hint = suggest(name, known) or f"; its options: {', '.join(known)}" + (elsewhere if owners else "")
        return UsageError(f"{where} has no option {name}{hint}")
    return UsageError(f"{where}: unexpected argument {first!r}")
