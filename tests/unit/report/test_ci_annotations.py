"""CI failure annotations: which system, and the exact line each one reads."""

from __future__ import annotations

import pytest

from testfleet.report import ci


@pytest.mark.parametrize(
    ("choice", "env", "expected"),
    [
        ("auto", {"GITHUB_ACTIONS": "true"}, "github"),
        ("auto", {"TF_BUILD": "True"}, "azure"),
        ("auto", {"CI": "true", "GITLAB_CI": "true"}, None),  # GitLab reads --junitxml instead
        ("auto", {}, None),
        ("none", {"GITHUB_ACTIONS": "true"}, None),
        ("azure", {"GITHUB_ACTIONS": "true"}, "azure"),
    ],
)
def test_detect(choice: str, env: dict[str, str], expected: str | None) -> None:
    assert ci.detect(choice, env) == expected


def test_github_line_escapes_data_and_properties() -> None:
    f = ci.Failure(
        "tests/test_a.py::test_x[a,b]", "failed", "assert 1 == 2\n100% wrong", "tests/test_a.py", 12
    )
    assert ci.annotation("github", f) == (
        "::error file=tests/test_a.py,line=12,title=failed%3A tests/test_a.py%3A%3Atest_x[a%2Cb]"
        "::assert 1 == 2%0A100%25 wrong"
    )


def test_github_line_without_a_location_has_no_file_or_line() -> None:
    f = ci.Failure("pkg::test", "crashed", "Crashed: worker w0 killed by signal 9")
    assert ci.annotation("github", f) == (
        "::error title=crashed%3A pkg%3A%3Atest::Crashed: worker w0 killed by signal 9"
    )


def test_azure_line() -> None:
    f = ci.Failure("t.py::test", "timeout", "Timeout; ran [too] long", "t.py", 3)
    assert ci.annotation("azure", f) == (
        "##vso[task.logissue type=error;sourcepath=t.py;linenumber=3]"
        "timeout: t.py::test - Timeout%3B ran [too%5D long"
    )


def test_annotations_are_capped_with_a_count_of_the_rest() -> None:
    failures = [
        ci.Failure(f"t.py::test_{i:03d}", "failed", "x", "t.py", i + 1) for i in range(ci.MAX_ANNOTATIONS + 3)
    ]
    lines = ci.annotation_lines("github", reversed(failures))
    assert len(lines) == ci.MAX_ANNOTATIONS + 1
    assert lines[0].startswith("::error file=t.py,line=1,")  # sorted by node id
    assert lines[-1].startswith("testfleet: 3 more failures not annotated")


def test_path_of() -> None:
    assert ci.path_of("tests/test_a.py::TestX::test_y[1]") == "tests/test_a.py"
    assert ci.path_of("networkx.algorithms::doctest") is None


def test_github_gets_ten_annotations_most_important_first() -> None:
    old = [ci.Failure(f"t.py::test_old_{i:02d}", "failed", "x", "t.py", i + 1) for i in range(12)]
    fresh = [
        ci.Failure("t.py::test_new_fail", "failed", "x", "t.py", 50, new=True),
        ci.Failure("t.py::test_new_crash", "crashed", "x", "t.py", 60, new=True),
    ]
    hang = ci.Failure("t.py::test_old_hang", "timeout", "x", "t.py", 70)
    lines = ci.annotation_lines("github", [*old, hang, *fresh])
    assert ci.MAX_ANNOTATIONS == 10
    assert len(lines) == 11
    titles = [line.split("title=")[1].split("::")[0] for line in lines[:10]]
    assert titles[:3] == [
        "crashed%3A t.py%3A%3Atest_new_crash",
        "failed%3A t.py%3A%3Atest_new_fail",
        "timeout%3A t.py%3A%3Atest_old_hang",
    ]
    assert lines[-1].startswith("testfleet: 5 more failures not annotated")
