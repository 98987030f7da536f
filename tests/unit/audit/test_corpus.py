"""Precision and recall of every static rule over the hand-labelled corpus in ``corpus/``.

Labels: ``# expect: rule, ...`` (or ``# expect: -``) directly above a test (above its decorators),
and ``# expect-file: rule, ...`` for file-level findings. Run this file as a script to print the
table that docs/audit.md shows::

    .venv/bin/python tests/unit/audit/test_corpus.py
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from testfleet.audit.discover import parse_file
from testfleet.audit.filerules import analyze
from testfleet.audit.registry import RULES

CORPUS = Path(__file__).parent / "corpus"
CORPUS_FILES = sorted(p for p in CORPUS.glob("*.py") if p.name != "conftest.py")
_EXPECT = re.compile(r"^\s*# expect: (.+)$")
_EXPECT_FILE = re.compile(r"^\s*# expect-file: (.+)$")
TARGET = 0.9


def _rules(text: str) -> set[str]:
    text = text.strip()
    return set() if text == "-" else {r.strip() for r in text.split(",") if r.strip()}


def labels_for(path: Path) -> tuple[dict[str, set[str]], set[str], list[str]]:
    """(test id -> expected rules, expected file-level rules, tests without a label)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    pf = parse_file(path, path.name)
    assert pf.error is None, pf.error
    expected: dict[str, set[str]] = {}
    unlabelled = []
    for t in pf.tests:
        first = min([t.node.lineno, *(d.lineno for d in t.node.decorator_list)])
        m = _EXPECT.match(lines[first - 2]) if first >= 2 else None
        if m is None:
            unlabelled.append(t.nodeid)
        else:
            expected[t.nodeid] = _rules(m.group(1))
    file_rules: set[str] = set()
    for line in lines:
        fm = _EXPECT_FILE.match(line)
        if fm:
            file_rules |= _rules(fm.group(1))
    return expected, file_rules, unlabelled


def evaluate() -> tuple[dict[str, Counter[str]], int, list[str]]:
    """Per rule Counter(tp, fp, fn), the number of labelled tests, and mismatch descriptions."""
    stats: dict[str, Counter[str]] = {r: Counter() for r in RULES}
    n_tests = 0
    mismatches: list[str] = []
    for path in CORPUS_FILES:
        expected, file_expected, _ = labels_for(path)
        report = analyze(parse_file(path, path.name))
        found: dict[str | None, set[str]] = {}
        for f in report.findings:
            found.setdefault(f.test, set()).add(f.rule)
        pairs = [(tid, exp) for tid, exp in expected.items()] + [(None, file_expected)]
        n_tests += len(expected)
        for tid, exp in pairs:
            got = found.get(tid, set())
            for rule in exp | got:
                if rule not in stats:
                    stats[rule] = Counter()
                key = "tp" if rule in exp and rule in got else "fp" if rule in got else "fn"
                stats[rule][key] += 1
                if key != "tp":
                    mismatches.append(f"{path.name}::{tid or '<file>'}: {key} {rule}")
    return stats, n_tests, mismatches


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def table() -> str:
    stats, n_tests, _ = evaluate()
    rows = ["| rule | positives | TP | FP | FN | precision | recall |", "|---|---|---|---|---|---|---|"]
    for rule, c in stats.items():
        p, r = _ratio(c["tp"], c["tp"] + c["fp"]), _ratio(c["tp"], c["tp"] + c["fn"])
        rows.append(
            f"| `{rule}` | {c['tp'] + c['fn']} | {c['tp']} | {c['fp']} | {c['fn']} | "
            f"{'n/a' if p is None else f'{p:.2f}'} | {'n/a' if r is None else f'{r:.2f}'} |"
        )
    return f"Corpus: {len(CORPUS_FILES)} files, {n_tests} labelled tests.\n\n" + "\n".join(rows)


def test_corpus_is_large_and_fully_labelled() -> None:
    total = 0
    for path in CORPUS_FILES:
        expected, _, unlabelled = labels_for(path)
        assert unlabelled == [], f"{path.name}: tests without '# expect:' label: {unlabelled}"
        total += len(expected)
    assert total >= 150


def test_every_rule_has_positives_and_negatives() -> None:
    stats, n_tests, _ = evaluate()
    for rule in RULES:
        if rule == "parse-error":
            continue  # covered by test_bad_input.py, not by the labelled corpus
        positives = stats[rule]["tp"] + stats[rule]["fn"]
        assert positives >= 3, f"{rule}: only {positives} labelled positives"
        assert n_tests - positives >= 10, f"{rule}: too few negatives"


@pytest.mark.parametrize("rule", [r for r in RULES if r != "parse-error"])
def test_rule_precision_and_recall(rule: str) -> None:
    stats, _, mismatches = evaluate()
    c = stats[rule]
    precision = c["tp"] / (c["tp"] + c["fp"])
    recall = c["tp"] / (c["tp"] + c["fn"])
    detail = [m for m in mismatches if m.endswith(f" {rule}")]
    assert precision >= TARGET, detail
    assert recall >= TARGET, detail


def test_no_finding_names_an_unknown_rule() -> None:
    stats, _, _ = evaluate()
    assert set(stats) == set(RULES)


if __name__ == "__main__":  # pragma: no cover - documentation helper
    import sys

    sys.stdout.write(table() + "\n")
    for m in evaluate()[2]:
        sys.stdout.write(f"  mismatch: {m}\n")
