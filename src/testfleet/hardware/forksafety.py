"""Runtimes that forked workers cannot use once the collector has initialised them.

CUDA cannot be used in a child forked after the parent initialised it ("CUDA error:
initialization error"). A suite whose collection initialises CUDA (a module-level tensor on
the GPU, a conftest that queries a device) must run with ``--start spawn``: each worker
then imports the suite itself. testfleet stops such a fork-mode run right after collection
with a one-line error instead of letting every GPU test fail (docs/hardware.md).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

ADVICE = "forked workers cannot use it: run with --start spawn (or initialise it in a fixture, not at import)"


def _torch(mod: Any, mods: Mapping[str, Any]) -> str | None:
    cuda = getattr(mod, "cuda", None)
    if cuda is not None and callable(getattr(cuda, "is_initialized", None)) and cuda.is_initialized():
        return "CUDA (torch.cuda.is_initialized() is true)"
    return None


def _jax(mod: Any, mods: Mapping[str, Any]) -> str | None:
    bridge = mods.get("jax._src.xla_bridge")
    backends = getattr(bridge, "_backends", None)
    return "JAX's XLA backends" if backends else None


def _numba(mod: Any, mods: Mapping[str, Any]) -> str | None:
    driver = getattr(mods.get("numba.cuda.cudadrv.driver"), "driver", None)
    return "CUDA (numba.cuda)" if getattr(driver, "is_initialized", False) is True else None


def _pycuda(mod: Any, mods: Mapping[str, Any]) -> str | None:
    return "CUDA (pycuda.autoinit)"


CHECKS = {"torch": _torch, "jax": _jax, "numba.cuda": _numba, "pycuda.autoinit": _pycuda}


def fork_hazard(modules: Mapping[str, Any] | None = None) -> str | None:
    """A one-line reason this (collector) process must not be forked, or None. Looks only
    at modules already imported: it never imports or initialises anything itself."""
    mods = sys.modules if modules is None else modules
    for name, check in CHECKS.items():
        mod = mods.get(name)
        if mod is None:
            continue
        try:
            what = check(mod, mods)
        except Exception:  # noqa: BLE001 - a half-imported library is no reason to stop the run
            what = None
        if what:
            return f"the collection initialised {what}; {ADVICE}"
    return None


def error_line(longreprtext: str) -> str:
    """The line that says what went wrong in a collection error's text."""
    lines = [ln.strip() for ln in longreprtext.splitlines() if ln.strip()]
    marked = [ln[1:].strip() for ln in lines if ln.startswith("E ")]
    return (marked[-1] if marked else lines[-1] if lines else "error")[:300]


def spawn_mismatch(worker_id: str, caps: Mapping[str, Any]) -> str:
    """Why a spawned worker's collection differs from the collector's: its own collection
    errors (module: exception) when it had any."""
    errors = [str(e) for e in caps.get("collection_errors") or []]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return (
            f"worker {worker_id} could not collect what the collector did: {errors[0]}{more}; "
            f"with --start spawn each worker imports the suite itself, in its own environment"
        )
    return (
        f"worker {worker_id} collected a different set of tests than the collector "
        f"(--start spawn needs a deterministic collection)"
    )
