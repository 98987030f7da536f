"""The one table of testfleet's run options.

Every option of a fleet run is one :class:`Option` in :data:`OPTIONS`. From it come:

* the pytest options (``--fleet``, ``--fleet-timeout``, ...; :func:`add_pytest_options`) and the
  mapping from pytest's parsed values back to option names (:func:`pytest_values`);
* the ``testfleet run`` flags (``-w/--workers``, ``--timeout``, ...) and their translation to
  pytest options (:func:`by_run_flag`, used by ``testfleet.cli.run.translate``);
* the ``TESTFLEET_<NAME>`` environment variables and the ``[tool.testfleet]`` keys
  (``config.build`` reads them through this table);
* ``testfleet run --help`` (:func:`run_help`) and pytest's ``--help`` section.

Adding an option: append one ``Option(...)`` here, add the field to ``config.Settings`` (same
name) and, when its value needs checking, name a ``parse`` kind (``config.PARSERS``).
Only the standard library: the plugin and ``testfleet --help`` import this at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["value", "flag", "list", "optional"]


@dataclass(frozen=True)
class Option:
    """One run option.

    ``name`` is the ``config.Settings`` field, the ``[tool.testfleet]`` key and, upper-cased,
    the ``TESTFLEET_*`` variable. ``run_flags`` are the ``testfleet run`` spellings (empty: no
    flag, environment and pyproject only); ``pytest_flag`` is the pytest option they become.
    ``kind``: ``value`` (one value), ``flag`` (no value), ``list`` (repeatable; comma-separated
    in the environment; a list or a comma-separated string in pyproject), ``optional`` (a value
    may follow). ``parse`` names the check in ``config.PARSERS``; ``choices`` and ``minimum``
    are its arguments.
    """

    name: str
    run_flags: tuple[str, ...]
    metavar: str
    help: str
    kind: Kind = "value"
    parse: str = "text"
    choices: tuple[str, ...] = ()
    minimum: int = 0
    env: bool = True
    pyproject: bool = True
    pytest_flag: str = ""
    # kind "optional": the value meant when none follows, and which next argument is a value
    # (a regular expression it must match in full; empty: anything that is not an option nor
    # an existing path).
    const: str = ""
    value_pattern: str = ""

    def takes_as_value(self, text: str) -> bool:
        """kind "optional": whether the argument after the flag is its value."""
        import os
        import re

        if self.value_pattern:
            return re.fullmatch(self.value_pattern, text) is not None
        return not text.startswith("-") and not os.path.exists(text)

    @property
    def pytest_option(self) -> str:
        """The pytest option (``--fleet-<name>`` unless given)."""
        return self.pytest_flag or "--fleet-" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        return "fleet" if self.pytest_option == "--fleet" else "fleet_" + self.name

    @property
    def env_var(self) -> str:
        return "TESTFLEET_" + self.name.upper()

    @property
    def flag(self) -> str:
        """The long ``testfleet run`` spelling (or the pytest option when there is none)."""
        longs = [f for f in self.run_flags if f.startswith("--")]
        return longs[0] if longs else self.pytest_option

    def spelled_as(self) -> str:
        """The spelling the user typed for this run, else the long ``testfleet run`` flag."""
        return spelled.get(self.name, self.flag)


OPTIONS: tuple[Option, ...] = (
    Option(
        "workers",
        ("-w", "--workers"),
        "N|auto",
        "number of workers (default: 2)",
        parse="workers",
        pytest_flag="--fleet",
    ),
    Option(
        "collectors",
        ("--collectors",),
        "N|auto",
        "collect the suite in N processes, each a share of the files, each forking its own "
        "workers (default 1; auto: one per worker, up to the usable CPUs; local backend, fork)",
        parse="collectors",
    ),
    Option(
        "timeout",
        ("--timeout",),
        "SECONDS",
        "per-test timeout, enforced by the controller (the worker is killed and replaced); "
        "testfleet's own option: pytest-timeout's --timeout goes after --: testfleet run -- --timeout 5",
        parse="seconds",
    ),
    Option("report_json", ("--report-json",), "FILE", "write the run as JSON to FILE", parse="output_file"),
    Option(
        "db",
        ("--db",),
        "PATH|none",
        "results store (default .testfleet/results.duckdb under the rootdir; 'none' keeps no results)",
    ),
    Option(
        "start",
        ("--start",),
        "fork|spawn",
        "fork workers from one collector (default) or spawn each (suites that are not fork-safe)",
        parse="choice",
        choices=("fork", "spawn"),
    ),
    Option(
        "retries", ("--retries",), "N", "retry failed, crashed or timed-out tests up to N times", parse="int"
    ),
    Option(
        "order",
        ("--order",),
        "ORDER",
        "dispatch order: duration (default), collection, failed-first, random[:seed]",
        parse="order",
    ),
    Option(
        "deadline",
        ("--deadline",),
        "DURATION",
        "e.g. 10m: most valuable tests first, stop dispatching when the rest cannot fit",
        parse="duration",
    ),
    Option(
        "tags",
        ("--tag",),
        "TAG",
        "advertise a capability tag on every worker (repeatable)",
        kind="list",
        pytest_flag="--fleet-tag",
    ),
    Option(
        "gpu_isolation",
        ("--gpu-isolation",),
        "shared|exclusive",
        "every worker sees a GPU (default), or each its own GPUs only (docs/hardware.md)",
        parse="gpu_isolation",
    ),
    Option(
        "allow_unschedulable",
        ("--allow-unschedulable",),
        "",
        "unschedulable tests do not fail the run",
        kind="flag",
        parse="flag",
    ),
    Option(
        "resume",
        ("--resume",),
        "RUN_ID",
        "finish an interrupted run (default: the last one)",
        kind="optional",
        env=False,
        pyproject=False,
        const="last",
    ),
    Option(
        "backend",
        ("--backend",),
        "local|ray",
        "run workers as local processes (default) or on a Ray cluster",
        parse="choice",
        choices=("local", "ray"),
    ),
    Option(
        "ray_address",
        ("--ray-address",),
        "ADDRESS",
        "Ray cluster to join (default $RAY_ADDRESS, else start one)",
    ),
    Option(
        "ray_exclude",
        ("--ray-exclude",),
        "PATTERN",
        "leave PATTERN out of the code shipped to Ray nodes (repeatable)",
        kind="list",
    ),
    Option(
        "ray_no_ship",
        ("--ray-no-ship",),
        "",
        "Ray nodes share this filesystem; ship nothing",
        kind="flag",
        parse="flag",
    ),
    Option(
        "ci",
        ("--ci",),
        "auto|github|azure|none",
        "failure annotations for the CI log (default "
        "auto: GitHub Actions or Azure Pipelines when their environment says so)",
        parse="choice",
        choices=("auto", "github", "azure", "none"),
    ),
    Option(
        "shard",
        ("--shard",),
        "I/K",
        "run shard I of K, split by stored durations (one CI job per shard)",
        parse="shard",
    ),
    Option(
        "durations_file",
        ("--durations-file",),
        "FILE",
        "durations to shard by (`testfleet durations export FILE`)",
        parse="durations_file",
    ),
    Option(
        "dashboard",
        ("--dashboard",),
        "[HOST:]PORT",
        "serve a live page of the run (default 127.0.0.1 and a free port); binding another "
        "address needs a token (--dashboard-token, or generated)",
        kind="optional",
        parse="dashboard",
        const="0",
        value_pattern=r"(\S+:)?\d+|auto",
    ),
    Option(
        "dashboard_token",
        ("--dashboard-token",),
        "TOKEN",
        "the token the dashboard asks for (default: generated when binding a non-loopback address)",
    ),
    Option(
        "port_base",
        (),
        "PORT",
        "first TCP port of the workers' port ranges (default 40000)",
        parse="int",
        minimum=1024,
    ),
    Option("port_count", (), "N", "TCP ports per worker (default 50)", parse="int", minimum=1),
    Option(
        "progress_interval",
        (),
        "SECONDS",
        "seconds between 'N/M done' lines when the output is not a terminal (default 10)",
        parse="seconds",
    ),
    Option(
        "gc_freeze",
        (),
        "1|0",
        "collector: freeze the collected objects before forking (default 1)",
        parse="flag",
    ),
)

# pyproject-only keys that are not run options (checked by config.build itself).
PYPROJECT_ONLY = ("worker_tags",)

BY_NAME = {o.name: o for o in OPTIONS}

# How the user spelled each option of this run, when it was not pytest's own spelling:
# ``testfleet run`` records ``-w``/``--workers`` here (the run's pytest.main is in this
# process), so errors name what was typed.
spelled: dict[str, str] = {}
# ``testfleet run``'s own command line, for the store (``show`` prints what the user typed).
typed_args: list[str] | None = None


def by_run_flag() -> dict[str, Option]:
    return {flag: o for o in OPTIONS for flag in o.run_flags}


def pyproject_keys() -> list[str]:
    return sorted([o.name for o in OPTIONS if o.pyproject] + list(PYPROJECT_ONLY))


def add_pytest_options(group: Any) -> None:
    """Register every option on pytest's ``testfleet`` option group."""
    for o in OPTIONS:
        if not o.run_flags:
            continue  # environment and pyproject only
        kw: dict[str, Any] = {"dest": o.dest, "default": None, "help": o.help}
        if o.kind == "flag":
            kw.update(action="store_true", default=False)
        elif o.kind == "list":
            kw.update(action="append", metavar=o.metavar)
        elif o.kind == "optional":
            kw.update(nargs="?", const=o.const, metavar=o.metavar)
        else:
            kw.update(metavar=o.metavar)
        if o.pytest_option == "--fleet":
            kw["help"] = "run on N workers (a number or 'auto'); 'testfleet run' sets this"
        group.addoption(o.pytest_option, **kw)


def pytest_values(option: Any) -> dict[str, Any]:
    """pytest's parsed options -> {name: value}; None (or False for a flag) means not given."""
    values: dict[str, Any] = {}
    for o in OPTIONS:
        if not o.run_flags:
            continue
        value = getattr(option, o.dest, None)
        if o.kind == "flag":
            value = value or None
        if o.name == "workers" and value == "default":  # `testfleet run` without -w
            value = None
        values[o.name] = value
    return values


def label(o: Option, source: str) -> str:
    """The name the user gave ``o`` by: ``flag``, ``env`` or ``pyproject``."""
    if source == "env":
        return o.env_var
    if source == "pyproject":
        return f"[tool.testfleet] {o.name}"
    return spelled.get(o.name, o.pytest_option if o.run_flags else o.env_var)


def run_help() -> str:
    lines = [
        "usage: testfleet run [options] [pytest args...]",
        "",
        "Run a pytest suite on a fleet of workers. Options testfleet does not know go",
        "to pytest. Each option can also be set as TESTFLEET_<NAME> (the option's name",
        "in capitals, - as _) or as a key of [tool.testfleet] in pyproject.toml.",
        "",
        "options:",
    ]
    for o in OPTIONS:
        if not o.run_flags:
            continue
        value = f" [{o.metavar}]" if o.kind == "optional" else f" {o.metavar}" if o.metavar else ""
        lines += _entry("  " + ", ".join(o.run_flags) + value, o.help)
    lines += ["", "environment and pyproject only:"]
    for o in OPTIONS:
        if not o.run_flags:
            lines += _entry(f"  {o.env_var}", o.help)
    lines += [
        "",
        "Everything after -- goes to pytest unchanged. Plugins (pytest-cov, -randomly,",
        "-django, -benchmark, ...) work as under plain pytest: see docs/plugins.md.",
    ]
    return "\n".join(lines) + "\n"


def _entry(head: str, text: str, indent: int = 27, width: int = 80) -> list[str]:
    """One help entry within ``width`` columns."""
    import textwrap

    body = textwrap.wrap(text, width - indent)
    if len(head) >= indent - 1:
        return [head, *(" " * indent + b for b in body)]
    return [f"{head:<{indent}}{body[0]}", *(" " * indent + b for b in body[1:])]
