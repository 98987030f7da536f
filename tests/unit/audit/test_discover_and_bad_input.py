"""Test discovery (node ids, inheritance, collect_ignore) and bad input handling."""

from __future__ import annotations

from pathlib import Path

from testfleet.audit.discover import iter_test_files, parse_file
from testfleet.audit.engine import static_audit
from testfleet.audit.filerules import analyze
from testfleet.audit.options import AuditOptions


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_node_ids_for_functions_classes_nested_and_inherited(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "test_ids.py",
        """
import unittest
class Base:
    def test_inherited(self):
        assert 1
class TestA(Base):
    def test_own(self):
        assert 1
    class TestInner:
        def test_deep(self):
            assert 1
class TestB(Base):
    pass
class NotATest:
    def test_ignored(self):
        assert 1
class TestWithInit:
    def __init__(self):
        pass
    def test_not_collected(self):
        assert 1
class Case(unittest.TestCase):
    def testCamel(self):
        self.assertTrue(1)
def test_top():
    assert 1
def helper_test():
    assert 1
""",
    )
    pf = parse_file(p, "test_ids.py")
    assert [t.nodeid for t in pf.tests] == [
        "TestA::test_own",
        "TestA::test_inherited",
        "TestA::TestInner::test_deep",
        "Case::testCamel",
        "test_top",
    ]
    assert {t.nodeid: t.style for t in pf.tests}["Case::testCamel"] == "unittest"


def test_directory_walk_honours_collect_ignore(tmp_path: Path) -> None:
    _write(tmp_path, "conftest.py", 'collect_ignore = ["data"]\ncollect_ignore_glob = ["*_skip.py"]\n')
    _write(tmp_path, "test_a.py", "def test_a():\n    assert 1\n")
    _write(tmp_path, "test_b_skip.py", "def test_b():\n    assert 1\n")
    _write(tmp_path, "data/test_c.py", "def test_c():\n    assert 1\n")
    _write(tmp_path, "sub/c_test.py", "def test_d():\n    assert 1\n")
    _write(tmp_path, "sub/helpers.py", "def test_e():\n    assert 1\n")
    found = sorted(p.relative_to(tmp_path).as_posix() for p in iter_test_files([tmp_path]))
    assert found == ["sub/c_test.py", "test_a.py"]


def test_syntax_error_is_reported_and_skipped_not_fatal(tmp_path: Path) -> None:
    _write(tmp_path, "test_bad.py", "def test_x(:\n    pass\n")
    _write(tmp_path, "test_good.py", "def test_ok():\n    pass\n")
    result = static_audit(AuditOptions(paths=[str(tmp_path)], root=str(tmp_path)))
    by_path = {f.path: f for f in result.files}
    assert by_path["test_bad.py"].error == "syntax error at line 1: invalid syntax"
    assert [f.rule for f in by_path["test_bad.py"].findings] == ["parse-error"]
    assert [f.rule for f in by_path["test_good.py"].findings] == ["placeholder"]


def test_non_utf8_file_is_skipped_with_reason(tmp_path: Path) -> None:
    p = tmp_path / "test_latin.py"
    p.write_bytes(b"def test_x():\n    assert '\xe9t\xe9' == 1\n")
    report = analyze(parse_file(p, "test_latin.py"))
    assert report.error is not None and report.error.startswith("cannot decode file")
    assert report.tests == []


def test_declared_latin1_encoding_is_honoured(tmp_path: Path) -> None:
    p = tmp_path / "test_latin.py"
    p.write_bytes(b"# -*- coding: latin-1 -*-\ndef test_x():\n    assert name() == '\xe9'\n")
    report = analyze(parse_file(p, "test_latin.py"))
    assert report.error is None
    assert [t.test for t in report.tests] == ["test_x"]
    assert report.findings == []


def test_huge_file_is_skipped_with_size_in_reason(tmp_path: Path) -> None:
    p = _write(tmp_path, "test_huge.py", "def test_x():\n    assert 1 == 2\n" + "# pad\n" * 1000)
    report = analyze(parse_file(p, "test_huge.py", max_bytes=100))
    assert report.error is not None and "above the 100-byte limit" in report.error


def test_path_without_tests_and_missing_path_are_reported(tmp_path: Path) -> None:
    from testfleet.audit.engine import run_audit

    (tmp_path / "empty").mkdir()
    result = run_audit(
        AuditOptions(paths=[str(tmp_path / "empty"), str(tmp_path / "nope")], root=str(tmp_path))
    )
    assert result.files == []
    assert result.score is None
    assert any("does not exist" in p for p in result.measurement.problems)
    assert any(p.startswith("no tests found") for p in result.measurement.problems)
