"""Paired A/B of testfleet revisions on the controller-only benchmark: is the controller's
per-result path slower or faster?

    python benchmarks/ab_controller_only.py [--rounds N] [--workers 16] [--tests 40000] [--like local] REV REV

Each REV is a git revision, or ``.`` for the working tree (exported as ``ab.py`` does). Each
round runs ``controller_only.run_once`` once per revision, the order alternating between rounds;
a revision is judged by the median of its per-round ratio to the first revision: the
controller's CPU per settled result (steadier on a shared machine) and the loop's wall time.
The fake fleet is this checkout's ``controller_only.py`` for every revision.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import ab
import controller_only


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("revs", nargs=2, help="git revisions, or . for the working tree")
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--tests", type=int, default=40_000)
    p.add_argument("--like", default="local", choices=["local", "ray"])
    args = p.parse_args(argv)
    base_rev, new_rev = args.revs
    with tempfile.TemporaryDirectory(prefix="testfleet-ab-ctl-") as tmp:
        srcs = {rev: ab.export(rev, Path(tmp) / f"rev{i}") for i, rev in enumerate(args.revs)}
        runs: dict[str, list[dict[str, Any]]] = {rev: [] for rev in args.revs}
        for rnd in range(args.rounds):
            for rev in args.revs if rnd % 2 == 0 else args.revs[::-1]:
                os.environ["PYTHONPATH"] = str(srcs[rev])  # run_once puts benchmarks/ before it
                out = controller_only.run_once(
                    args.workers, args.tests, args.like, sys.executable, timeout=600
                )
                if out["exit"] != 0 or out["counts"] != {"passed": args.tests}:
                    print(f"!!! [{rev}] exit {out['exit']}, counts {out['counts']}", file=sys.stderr)
                    return 1
                runs[rev].append(out)
            print(
                f"round {rnd + 1}: "
                + "  ".join(
                    f"[{r}] {runs[r][-1]['controller_us_per_test']} us/result, loop {runs[r][-1]['loop_wall']} s"
                    for r in args.revs
                ),
                flush=True,
            )
    for key, unit in (("controller_us_per_test", "us/result"), ("loop_wall", "s loop wall")):
        base, new = runs[base_rev], runs[new_rev]
        ratio = statistics.median(n[key] / b[key] for n, b in zip(new, base, strict=True))
        print(
            f"{key}: [{base_rev}] median {statistics.median(r[key] for r in base)} {unit}, "
            f"[{new_rev}] median {statistics.median(r[key] for r in new)} {unit}, "
            f"paired ratio {new_rev}/{base_rev} {ratio:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
