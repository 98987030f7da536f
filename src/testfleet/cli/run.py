"""``testfleet run [options] [pytest args...]``: a fleet run through pytest.

testfleet's own options are read wherever they stand; everything else goes to pytest
unchanged and in order. ``--`` ends testfleet's options.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from testfleet.console import abort


def __getattr__(name: str) -> Any:
    if name == "HELP":  # generated from the option table
        from testfleet.options import run_help

        return run_help()
    raise AttributeError(name)


def _is_value(text: str) -> bool:
    """Whether ``text`` can be an option's value (not the next option: ``-w -q``)."""
    return not text.startswith("-") or text[1:].replace(".", "", 1).isdigit()


def translate(argv: Sequence[str]) -> list[str]:
    """testfleet run arguments -> pytest arguments (testfleet's flags from the option table).

    Records how each option was spelled (``options.spelled``), so errors name what was typed.
    """
    from testfleet import options

    flags = options.by_run_flag()
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
        opt = flags.get(name)
        if opt is None:
            if arg.startswith("--") and not eq:
                _check_misspelling(name, flags)
            out.append(arg)
            i += 1
            continue
        options.spelled[opt.name] = name
        target = opt.pytest_option
        if opt.name == "workers":
            workers_given = True
        if opt.kind == "flag":
            if eq:
                abort(f"{name} takes no value")
            out.append(target)
            i += 1
            continue
        if opt.kind == "optional":
            if eq:
                out += [target, inline]
                i += 1
            elif i + 1 < len(args) and opt.takes_as_value(args[i + 1]):
                out += [target, args[i + 1]]
                i += 2
            else:
                out += [target, opt.const]
                i += 1
            continue
        if eq:
            value = inline
            i += 1
        elif i + 1 < len(args) and _is_value(args[i + 1]):
            value = args[i + 1]
            i += 2
        elif i + 1 < len(args):
            abort(f"{name} needs a value ({opt.metavar}), not the option {args[i + 1]}")
        else:
            abort(f"{name} needs a value")
        out += [target, value]
    if not workers_given:
        out = ["--fleet", os.environ.get("TESTFLEET_WORKERS_DEFAULT", "default"), *out]
    return out


# pytest's own long options that are close to a testfleet flag: never taken for a misspelling.
_PYTEST_NEIGHBOURS = frozenset({"--strict", "--durations", "--tb", "--debug", "--co", "--sw"})


def _check_misspelling(name: str, flags: dict[str, Any]) -> None:
    """``--workrs``: a close misspelling of a testfleet flag (and no pytest option) is an error
    with "did you mean", before pytest starts. Anything else goes to pytest."""
    from testfleet.cli.parser import suggest

    if name in _PYTEST_NEIGHBOURS:
        return
    hint = suggest(name, [f for f in flags if f.startswith("--")], cutoff=0.8)
    if hint and not _pytest_knows(name):
        abort(f"unrecognized option {name}{hint}")


def _pytest_knows(name: str) -> bool:
    """Whether pytest (with its built-in plugins) has the option ``name``; only called for a
    near-miss of a testfleet flag, so the ~0.1 s it takes is spent on the error path only."""
    try:
        from _pytest.config import get_config

        parser = get_config()._parser
        return any(name in opt.names() for opt in parser._anonymous.options) or any(
            name in opt.names() for group in parser._groups for opt in group.options
        )
    except Exception:  # noqa: BLE001 - unknown pytest internals: let pytest decide
        return True


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
NOT_A_FLEET_RUN = frozenset(
    {
        "--co",
        "--collect-only",
        "--collectonly",
        "-h",
        "--help",
        "--version",
        "-V",
        "--fixtures",
        "--funcargs",
        "--fixtures-per-test",
        "--markers",
        "--setup-plan",
        "--pdb",
        "--trace",
        "--fleet-start=spawn",
    }
)


def prestart(args: list[str]) -> Any:
    """Start the collector now, while pytest starts up in this process (see
    :class:`testfleet.executor.local.Prestarted`): forked once pytest is imported, or with
    ``TESTFLEET_COLLECTOR_START=exec`` spawned; None where it would not be used."""
    if any(a in NOT_A_FLEET_RUN for a in args) or "no:testfleet" in args:
        return None
    if any(a == "--fleet-start" and b == "spawn" for a, b in zip(args, args[1:], strict=False)):
        return None
    from testfleet.config import parse_flag
    from testfleet.errors import UsageError
    from testfleet.executor.local import LaunchSpec, Prestarted

    try:
        freeze = parse_flag("TESTFLEET_GC_FREEZE", os.environ.get("TESTFLEET_GC_FREEZE", "1") or "1")
        collectors = prestart_collectors(args)
        threads = prestart_threads(args)
    except UsageError:
        return None  # pytest will report it
    spec = LaunchSpec(
        args=list(args), cwd=os.getcwd(), gc_freeze=freeze, collectors=collectors, threads=threads
    )
    if os.environ.get("TESTFLEET_COLLECTOR_START", "fork") == "exec" or not hasattr(os, "fork"):
        return Prestarted.start(spec)
    # Forked from here: imported once (pytest with it), for this process and every collector.
    import testfleet.worker.collector as collector

    return Prestarted.start(spec, collector)


def prestart_threads(args: list[str]) -> int:
    """The executor's ``LaunchSpec.threads`` for this command line, as far as it tells (the
    workers from ``-w``/``TESTFLEET_WORKERS``, else the default; a guess that differs only
    costs the early start)."""
    from testfleet.config import Settings, parse_workers, worker_threads

    given = _given_workers(args)
    backend = _flag_value(args, "--fleet-backend") or os.environ.get("TESTFLEET_BACKEND") or "local"
    if backend != "local":
        return 0
    return worker_threads(parse_workers(given) if given else Settings().workers)


def _given_workers(args: list[str]) -> str | None:
    """The workers the command line or the environment asks for, unparsed; None if neither."""
    return _flag_value(args, "--fleet") or os.environ.get("TESTFLEET_WORKERS")


def _flag_value(args: list[str], flag: str) -> str | None:
    """The last value given to ``flag`` (``--flag V`` or ``--flag=V``), None if none."""
    found = None
    for a, b in zip(args, [*args[1:], ""], strict=False):
        if a == flag:
            found = b
        elif a.startswith(flag + "="):
            found = a.partition("=")[2]
    return found


def prestart_collectors(args: list[str]) -> int:
    """How many collectors the run will have, as far as the command line tells (the
    settings decide; a guess that differs only costs the early start)."""
    from testfleet.config import Settings, parse_collectors, parse_workers, resolve_collectors

    given = _flag_value(args, "--fleet-collectors") or os.environ.get("TESTFLEET_COLLECTORS")
    if not given:
        return 1
    s = Settings(collectors=parse_collectors(given))
    workers = _given_workers(args)
    if workers:
        s.workers = parse_workers(workers)
    s.backend = _flag_value(args, "--fleet-backend") or s.backend
    s.start = _flag_value(args, "--fleet-start") or s.start
    return resolve_collectors(s, "--collectors")


def main(argv: Sequence[str], *, standalone: bool = False) -> int:
    """Run; ``standalone`` (the ``testfleet`` command itself, not a call from Python) starts
    the collector before pytest starts up here, and ends the process as soon as the run is
    reported (:func:`hard_exit`)."""
    from testfleet import options

    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write(options.run_help())
        return 0
    options.spelled.clear()
    args = plugin_args() + translate(argv)
    options.typed_args = ["testfleet", "run", *argv]
    early = prestart(args) if standalone else None
    try:
        import pytest

        with usage_errors_as_testfleet():
            code = int(pytest.main(args))
    finally:
        options.typed_args = None  # a later pytest.main in this process is not this command
        options.spelled.clear()
        if early is not None:
            early.discard()  # not adopted: the run never started, or needed another collector
    if standalone:
        hard_exit(code)
    return code


@contextlib.contextmanager
def usage_errors_as_testfleet() -> Iterator[None]:
    """While ``pytest.main`` runs for ``testfleet run``, its usage errors (a bad option value,
    an unknown option, a missing path) print as ``testfleet: error: ...`` on one line instead
    of pytest's usage text, and an unknown option near a testfleet flag gets "did you mean"."""
    import _pytest.config as pytest_config

    original = getattr(pytest_config, "print_usage_error", None)
    if original is None:  # another pytest: its own output
        yield
        return

    def print_usage_error(e: Any, file: Any) -> None:
        from testfleet.console import error_line

        error_line(usage_message(" ".join(str(a) for a in e.args)))

    pytest_config.print_usage_error = print_usage_error
    try:
        yield
    finally:
        pytest_config.print_usage_error = original


def usage_message(text: str) -> str:
    """pytest's usage error -> one line in testfleet's words."""
    from testfleet import options
    from testfleet.cli.parser import suggest

    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if ": error: " in ln and ln.split(": error: ", 1)[0].startswith(("pytest", "testfleet")):
            text = ln.split(": error: ", 1)[1]
            break
    else:
        text = "; ".join(ln for ln in lines if not ln.startswith(("inifile:", "rootdir:", "usage:")))
    pytest_to_run = {o.pytest_option: o.spelled_as() for o in options.OPTIONS if o.run_flags}
    for pytest_flag, run_flag in sorted(pytest_to_run.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(f"argument {pytest_flag}:", f"{run_flag}:")
    if text.startswith("unrecognized arguments: "):
        first = text.split()[2]
        flags = [f for f in options.by_run_flag() if f.startswith("--")]
        text = f"unrecognized option {first}{suggest(first.split('=')[0], flags, cutoff=0.75)}"
    return text


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
