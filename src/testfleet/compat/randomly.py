"""pytest-randomly: one seed for the whole run, chosen by the controller.

pytest-randomly picks its seed in ``pytest_configure`` (a new one unless
``--randomly-seed`` is given; under xdist workers take the controller's from
``config.workerinput``). In a fleet run the collector and spawned workers are separate
pytest start-ups that would each draw their own: the seed the controller prints would not
reproduce the run, and spawned workers would shuffle their collections differently. The
controller's seed is passed to them as ``--randomly-seed=N`` (:func:`forwarded_args`), so
the order of collection and every test's random state follow the printed seed.
"""

from __future__ import annotations

import sys

import pytest

OPTION = "--randomly-seed"


def active(config: pytest.Config) -> bool:
    module = sys.modules.get("pytest_randomly")
    return module is not None and config.pluginmanager.is_registered(module)


def forwarded_args(config: pytest.Config) -> list[str]:
    """``["--randomly-seed=N"]`` with the controller's seed, unless the user's arguments
    already say exactly that (then a collector ``testfleet run`` started early is kept)."""
    if not active(config):
        return []
    seed = getattr(config.option, "randomly_seed", None)
    if not isinstance(seed, int):
        return []
    args = [str(a) for a in config.invocation_params.args]
    given = [b for a, b in zip(args, args[1:], strict=False) if a == OPTION]
    given += [a.split("=", 1)[1] for a in args if a.startswith(OPTION + "=")]
    if given and given[-1] == str(seed):
        return []
    return [f"{OPTION}={seed}"]
