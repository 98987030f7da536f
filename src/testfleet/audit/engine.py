"""Runs an audit: static analysis of every test file, then the optional measured phases."""

from __future__ import annotations

from pathlib import Path

from testfleet.audit.discover import iter_test_files, parse_file
from testfleet.audit.filerules import analyze
from testfleet.audit.model import AuditResult
from testfleet.audit.options import AuditOptions, Progress, display_path
from testfleet.audit.registry import RULES
from testfleet.audit.score import score_result


def static_audit(opts: AuditOptions) -> AuditResult:
    root = Path(opts.root)
    result = AuditResult(root=str(root.resolve()), rules=list(RULES.values()))
    seen: set[Path] = set()
    for path in iter_test_files(opts.paths):
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        result.files.append(analyze(parse_file(path, display_path(path, root), opts.max_file_size)))
    return result


def run_audit(opts: AuditOptions, progress: Progress | None = None) -> AuditResult:
    """Static audit, then ``--run`` measurements, then ``--mutate``; score everything at the end."""
    say = progress or (lambda _msg: None)
    missing = [p for p in opts.paths if not Path(p).exists()]
    result = static_audit(opts)
    for p in missing:
        result.measurement.problems.append(f"path {p!r} does not exist; nothing audited there")
    if not result.tests:
        result.measurement.problems.append("no tests found in " + ", ".join(opts.paths))
    mutation_by_file: dict[str, tuple[int, int]] = {}
    if opts.run or opts.mutate is not None:
        from testfleet.audit.measure import measure

        say(f"running {len(result.tests)} statically found tests with coverage ...")
        run_data = measure(result, opts, say)
        if opts.mutate is not None:
            if run_data is None:
                result.measurement.problems.append(
                    "mutation testing not measured: the measured run produced no per-test coverage"
                )
            else:
                from testfleet.audit.mutate import mutate

                mutation_by_file = mutate(result, run_data, opts, say)
    score_result(result, mutation_by_file)
    return result
