"""Failure annotations for CI systems that read them from the log.

GitHub Actions turns ``::error file=F,line=L,title=T::message`` lines into annotations on the
pull request; Azure Pipelines does the same with ``##vso[task.logissue ...]``. GitLab and Jenkins
read JUnit XML instead (pytest's ``--junitxml``, which testfleet keeps working).

``--ci auto`` (the default) picks the system from its environment: ``GITHUB_ACTIONS=true`` or
``TF_BUILD=True``. One line per failing test (failed, error, crashed, timeout, unschedulable), at
most ``MAX_ANNOTATIONS`` of them (GitHub shows 10 error annotations per step), the most
important first: new failures (the test did not fail the last time it ran) before old ones,
then crashed, timeout, failed, error, unschedulable; then one line saying how many were left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from testfleet.options import BY_NAME

CI_CHOICES = BY_NAME["ci"].choices  # auto, github, azure, none: the option table's
MAX_ANNOTATIONS = 10  # what GitHub Actions shows per step
# Most important first: a crash or a hang says more than an assertion.
OUTCOME_RANK = {"crashed": 0, "timeout": 1, "failed": 2, "error": 3, "unschedulable": 4}
MAX_MESSAGE = 4000


@dataclass(frozen=True)
class Failure:
    nodeid: str
    outcome: str
    message: str
    path: str | None = None  # relative to the rootdir (the checkout's root, usually)
    line: int | None = None  # 1-based
    new: bool = False  # did not fail the last time it ran


def detect(choice: str, env: Mapping[str, str]) -> str | None:
    """The CI system to annotate for, or None."""
    if choice == "none":
        return None
    if choice != "auto":
        return choice
    if env.get("GITHUB_ACTIONS", "").lower() == "true":
        return "github"
    if env.get("TF_BUILD", "").lower() == "true":
        return "azure"
    return None


def _github_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


def _azure(text: str) -> str:
    return (
        text.replace("%", "%AZP25")
        .replace(";", "%3B")
        .replace("]", "%5D")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
    )


def annotation(kind: str, f: Failure) -> str:
    message = f.message[:MAX_MESSAGE]
    title = f"{f.outcome}: {f.nodeid}"
    if kind == "github":
        props = [f"file={_github_property(f.path)}"] if f.path else []
        if f.path and f.line:
            props.append(f"line={f.line}")
        props.append(f"title={_github_property(title)}")
        return f"::error {','.join(props)}::{_github_data(message)}"
    if kind == "azure":
        props = ["type=error"]
        if f.path:
            props.append(f"sourcepath={_azure(f.path)}")
            if f.line:
                props.append(f"linenumber={f.line}")
        return f"##vso[task.logissue {';'.join(props)}]{_azure(title + ' - ' + message)}"
    raise ValueError(f"unknown CI system {kind!r}")


def annotation_lines(kind: str, failures: Iterable[Failure]) -> list[str]:
    items = sorted(failures, key=lambda f: (not f.new, OUTCOME_RANK.get(f.outcome, 9), f.nodeid))
    lines = [annotation(kind, f) for f in items[:MAX_ANNOTATIONS]]
    if len(items) > MAX_ANNOTATIONS:
        lines.append(
            f"testfleet: {len(items) - MAX_ANNOTATIONS} more failures not annotated (at most "
            f"{MAX_ANNOTATIONS} are; the summary above, the job summary and `testfleet show` list them all)"
        )
    return lines


def path_of(nodeid: str) -> str | None:
    """The file part of a node id (``tests/test_a.py::test_x[1]`` -> ``tests/test_a.py``)."""
    path = nodeid.split("::", 1)[0]
    return path if path.endswith(".py") else None
