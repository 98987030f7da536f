"""``testfleet run [options] [pytest args...]``: a fleet run through pytest.

testfleet's own options are read wherever they stand; everything else goes to pytest
unchanged and in order. ``--`` ends testfleet's options.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from testfleet.console import abort

# testfleet option -> (pytest option, takes a value)
OPTIONS: dict[str, tuple[str, bool | None]] = {
    "-w": ("--fleet", True),
    "--workers": ("--fleet", True),
    "--timeout": ("--fleet-timeout", True),
    "--report-json": ("--fleet-report-json", True),
    "--db": ("--fleet-db", True),
    "--start": ("--fleet-start", True),
    "--retries": ("--fleet-retries", True),
    "--backend": ("--fleet-backend", True),
    "--ray-address": ("--fleet-ray-address", True),
    "--ray-exclude": ("--fleet-ray-exclude", True),
    "--ray-no-ship": ("--fleet-ray-no-ship", False),
    "--order": ("--fleet-order", True),
    "--deadline": ("--fleet-deadline", True),
    "--tag": ("--fleet-tag", True),
    "--allow-unschedulable": ("--fleet-allow-unschedulable", False),
    "--resume": ("--fleet-resume", None),  # value optional: a run id, else the last run
    "--ci": ("--fleet-ci", True),
    "--gpu-isolation": ("--fleet-gpu-isolation", True),
}

HELP = """usage: testfleet run [options] [pytest args...]

Run a pytest suite on a fleet of workers. Options testfleet does not know go to pytest.

options:
  -w, --workers N|auto     number of workers (default: 2, or [tool.testfleet] workers)
  --timeout SECONDS        per-test timeout, enforced by the controller
  --report-json FILE       write the run as JSON
  --db PATH|none           results store (default .testfleet/results.duckdb)
  --start fork|spawn       fork workers from one collector (default) or spawn each
  --retries N              retry failed/crashed/timed-out tests up to N times
  --order ORDER            duration (default), collection, failed-first, random[:seed]
  --deadline DURATION      e.g. 10m: most valuable tests first, stop when the rest cannot fit
  --tag TAG                advertise a capability tag on the workers (repeatable)
  --gpu-isolation shared|exclusive
                           every worker sees a GPU (default), or each its own GPUs only
  --allow-unschedulable    unschedulable tests do not fail the run
  --resume [RUN_ID]        finish an interrupted run (default: the last one)
  --backend local|ray      run workers as local processes (default) or on a Ray cluster
  --ray-address ADDRESS    Ray cluster to join (default $RAY_ADDRESS, else start one)
  --ray-exclude PATTERN    leave PATTERN out of the code shipped to Ray (repeatable)
  --ray-no-ship            Ray nodes share this filesystem; ship nothing
  --ci auto|github|azure|none
                           failure annotations for the CI log (default auto: from the environment)
"""


def translate(argv: Sequence[str]) -> list[str]:
    """testfleet run arguments -> pytest arguments."""
    out: list[str] = []
    workers_given = False
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out.extend(args[i + 1 :])
            break
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if arg.startswith("-w") and len(arg) > 2 and not arg.startswith("--"):
            name, inline, eq = "-w", arg[2:], "="
        spec = OPTIONS.get(name)
        if spec is None:
            out.append(arg)
            i += 1
            continue
        target, takes = spec
        if target == "--fleet":
            workers_given = True
        if takes is False:
            if eq:
                abort(f"{name} takes no value")
            out.append(target)
            i += 1
            continue
        if takes is None:  # optional value
            if eq:
                out += [target, inline]
                i += 1
            elif i + 1 < len(args) and not args[i + 1].startswith("-") and not os.path.exists(args[i + 1]):
                out += [target, args[i + 1]]
                i += 2
            else:
                out += [target, "last"]
                i += 1
            continue
        if eq:
            value = inline
            i += 1
        elif i + 1 < len(args):
            value = args[i + 1]
            i += 2
        else:
            abort(f"{name} needs a value")
        out += [target, value]
    if not workers_given:
        out = ["--fleet", os.environ.get("TESTFLEET_WORKERS_DEFAULT", "default"), *out]
    return out


def plugin_args() -> list[str]:
    """``-p testfleet.plugin`` unless pytest loads the plugin through its entry point."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return ["-p", "testfleet.plugin"]
    from importlib.metadata import PackageNotFoundError, distribution

    try:  # only testfleet's own metadata: scanning every entry point takes ~0.1 s
        eps = distribution("testfleet").entry_points
    except PackageNotFoundError:
        return ["-p", "testfleet.plugin"]
    if any(ep.group == "pytest11" and ep.name == "testfleet" for ep in eps):
        return []
    return ["-p", "testfleet.plugin"]


# pytest options with which a run never reaches testfleet's run loop (it only shows
# something, or debugs in one process): no collector is started early for them.
NOT_A_FLEET_RUN = frozenset({
    "--co", "--collect-only", "--collectonly", "-h", "--help", "--version", "-V", "--fixtures",
    "--funcargs", "--fixtures-per-test", "--markers", "--setup-plan", "--pdb", "--trace",
    "--fleet-start=spawn"})


def prestart(args: list[str]) -> Any:
    """Start the collector now, while pytest starts up in this process (see
    :class:`testfleet.executor.local.Prestarted`); None where it would not be used."""
    if any(a in NOT_A_FLEET_RUN for a in args) or "no:testfleet" in args:
        return None
    if any(a == "--fleet-start" and b == "spawn" for a, b in zip(args, args[1:], strict=False)):
        return None
    from testfleet.config import parse_flag
    from testfleet.errors import UsageError
    from testfleet.executor.local import LaunchSpec, Prestarted

    try:
        freeze = parse_flag("TESTFLEET_GC_FREEZE", os.environ.get("TESTFLEET_GC_FREEZE", "1") or "1")
    except UsageError:
        return None  # pytest will report it
    return Prestarted.start(LaunchSpec(args=list(args), cwd=os.getcwd(), gc_freeze=freeze))


def main(argv: Sequence[str], *, standalone: bool = False) -> int:
    """Run; ``standalone`` (the ``testfleet`` command itself, not a call from Python) starts
    the collector before pytest starts up here, and ends the process as soon as the run is
    reported (:func:`hard_exit`)."""
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write(HELP)
        return 0
    args = plugin_args() + translate(argv)
    early = prestart(args) if standalone else None
    try:
        import pytest

        code = int(pytest.main(args))
    finally:
        if early is not None:
            early.discard()  # not adopted: the run never started, or needed another collector
    if standalone:
        hard_exit(code)
    return code


def hard_exit(code: int) -> None:
    """Leave without tearing the interpreter down. After a large run the controller holds
    every report; freeing them one by one at exit took over a second on 20,000 tests, for
    nothing. atexit handlers (coverage.py's, a plugin's) still run, and output is flushed."""
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
