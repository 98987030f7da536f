"""Analysis of benchmark runs (medians, ratios, checks, targets) and the RESULTS.md renderer.

Pure functions over the JSON-able dicts that run.py builds; nothing here starts a process.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from typing import Any

LIMITS = {  # the targets testfleet is held to
    "networkx_vs_xdist": 0.85,
    "trivial_vs_xdist": 0.5,
    "heavy_tail_vs_lower_bound": 1.05,
    "crash_replacement_seconds": 0.2,
    "ray_vs_local": 1.25,
}

# Suffixes that name how a variant was run, not what it ran.
_RAY_SUFFIXES = (" (running cluster)", " (starts Ray)")
_LOCAL_FALLBACKS = (" (first, writes history)",)


def local_counterpart(key: str, local: Mapping[str, Any]) -> str | None:
    """The local-backend variant a `--backend ray` variant is compared with, if measured."""
    base = key.replace(" --backend ray", "")
    for suffix in _RAY_SUFFIXES:
        base = base.removesuffix(suffix)
    for candidate in (base, *(base + s for s in _LOCAL_FALLBACKS)):
        if candidate in local:
            return candidate
    return None


def median(values: Iterable[float | int | None]) -> float | None:
    got = [float(v) for v in values if v is not None]
    return statistics.median(got) if got else None


def analyse(result: Mapping[str, Any]) -> dict[str, Any]:
    """Per-variant medians and checks for one suite's runs."""
    runs: list[dict[str, Any]] = result["runs"]
    variants = result["variants"]
    # Outcomes a variant adds on top of the reference (networkx + crash: the crashed tests).
    extra = {v["key"]: v.get("extra_outcomes", {}) for v in variants}
    problems: list[str] = []
    reference = _reference_counts(runs, result.get("manifest", {}))
    reference_rc = {r["round"]: r["returncode"] for r in runs if r["family"] == "pytest"}
    per_variant: dict[str, dict[str, Any]] = {}
    for v in variants:
        mine = sorted((r for r in runs if r["variant"] == v["key"]), key=lambda r: r["round"])
        checks = []
        for r in mine:
            expected = reference.get(r["round"], reference.get(0))
            check = _check_counts(r, expected, extra[v["key"]])
            checks.append(check)
            if check["status"] == "MISMATCH":
                problems.append(
                    f"COUNT MISMATCH: {v['key']} round {r['round']}: got {r['counts']}, "
                    f"expected {check['expected']}"
                )
            if r["timed_out"]:
                problems.append(f"TIMEOUT: {v['key']} round {r['round']} ran past its limit")
            elif r["counts"] is None:
                problems.append(f"NO SUMMARY LINE: {v['key']} round {r['round']} (see {r['stdout_path']})")
            ref_rc = reference_rc.get(r["round"])
            if (
                r["family"] != "pytest"
                and ref_rc is not None
                and r["returncode"] != ref_rc
                and not extra[v["key"]]
            ):
                problems.append(
                    f"EXIT CODE: {v['key']} round {r['round']} exited {r['returncode']}, "
                    f"plain pytest {ref_rc}"
                )
            if r.get("report_counts") and r["counts"] and r["report_counts"] != r["counts"]:
                problems.append(
                    f"REPORT DISAGREES: {v['key']} round {r['round']}: --report-json counts "
                    f"{r['report_counts']} vs summary line {r['counts']}"
                )
        per_variant[v["key"]] = {
            "family": v["family"],
            "workers": v["workers"],
            "walls": [r["wall_seconds"] for r in mine],
            "median_wall": median(r["wall_seconds"] for r in mine),
            "returncodes": [r["returncode"] for r in mine],
            "counts": mine[-1]["counts"] if mine else None,
            "checks": [c["status"] for c in checks],
            "memory": _memory(mine),
            "report": _report_summary(mine),
        }
    out: dict[str, Any] = {
        "variants": per_variant,
        "problems": problems,
        "reference_counts": reference.get(1, reference.get(0)),
    }
    if result["suite"] == "heavy_tail":
        out["heavy_tail"] = _heavy_tail(result, runs)
    if any("+ crash" in k for k in per_variant):
        out["crash"] = _crash(runs)
    return out


def _reference_counts(runs: list[dict[str, Any]], manifest: Mapping[str, Any]) -> dict[int, dict[str, int]]:
    """Round -> the counts every tool must match: plain pytest's in that round, else (key 0)
    the counts the generated suite is built to produce."""
    ref = {r["round"]: r["counts"] for r in runs if r["family"] == "pytest" and r["counts"] is not None}
    if not ref and manifest.get("expected"):
        ref[0] = dict(manifest["expected"])
    return ref


def _check_counts(
    run: Mapping[str, Any], expected: Mapping[str, int] | None, extra: Mapping[str, int]
) -> dict[str, Any]:
    if expected is None:
        return {"status": "no reference", "expected": None}
    want = dict(expected)
    for k, n in extra.items():
        want[k] = want.get(k, 0) + n
    if run["family"] == "pytest" and not extra and run["counts"] == expected:
        return {"status": "reference", "expected": want}
    return {"status": "ok" if run["counts"] == want else "MISMATCH", "expected": want}


def _memory(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def kb(key: str) -> float | None:
        return median(r.get(key) for r in runs)

    return {
        "ru_maxrss_kb": kb("ru_maxrss_kb"),
        "tree_peak_rss_sum_kb": kb("tree_peak_rss_sum_kb"),
        "tree_peak_pss_sum_kb": kb("tree_peak_pss_sum_kb"),
        "tree_max_processes": kb("tree_max_processes"),
        "cpu_seconds": median(r["user_seconds"] + r["system_seconds"] for r in runs),
        "leftover_processes": max((len(r.get("leftover_pids", [])) for r in runs), default=0),
    }


PHASES = ("collector_started", "collected", "first_worker_ready", "loop_end")


def _report_summary(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    reports = [r.get("report") for r in runs if r.get("report") is not None]
    if not any("report_found" in r for r in runs):
        return None
    if not reports:
        return {"found": False}
    worker_peaks = [
        [w.get("peak_rss_kb") for w in rep.get("workers", []) if isinstance(w, Mapping)] for rep in reports
    ]
    return {
        "found": True,
        "controller_peak_rss_kb": median(rep.get("controller_peak_rss_kb") for rep in reports),
        "worker_peak_rss_kb_max": median(
            max((p for p in ps if p is not None), default=None) for ps in worker_peaks
        ),
        "worker_peak_rss_kb_sum": median(
            sum(p for p in ps if p is not None) if ps else None for ps in worker_peaks
        ),
        "workers_seen": median(len(ps) for ps in worker_peaks),
        "collect_seconds": median(rep.get("collect_seconds") for rep in reports),
        "wall_seconds": median(rep.get("wall_seconds") for rep in reports),
        # Seconds since the controller started (testfleet's own clock), medians per phase.
        "phases": {
            name: median((rep.get("phases") or {}).get(name) for rep in reports)
            for name in PHASES
            if any(name in (rep.get("phases") or {}) for rep in reports)
        },
        "ray_connect": median((rep.get("executor") or {}).get("ray_connect") for rep in reports),
        "makespan_seconds": median(rep.get("makespan_seconds") for rep in reports),
        "fields_missing": sorted(
            {
                f
                for rep in reports
                for f in ("controller_peak_rss_kb", "workers", "collect_seconds", "wall_seconds")
                if f not in rep
            }
        ),
    }


def lower_bound(durations: Mapping[str, float], workers: int) -> dict[str, float]:
    total = sum(durations.values())
    longest = max(durations.values(), default=0.0)
    return {
        "total": total,
        "longest": longest,
        "workers": workers,
        "lower_bound": max(total / workers, longest),
    }


def _heavy_tail(result: Mapping[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Makespan / lower bound per multi-worker variant.

    The lower bound uses the per-test durations measured in the same round (plain pytest's
    ``--durations=0``, else a testfleet report, else the generator's nominal sleeps). The run
    phase is testfleet's ``makespan_seconds`` (first test start to last test end) when its
    report has it, else its ``wall_seconds - collect_seconds``, else
    the measured wall time minus the timed collect-only run (interpreter startup + collection).
    """
    nominal = result.get("nominal_durations")
    collect_wall = result["collect_only"]["wall_seconds"]
    by_round: dict[int, tuple[str, dict[str, float]]] = {}
    for r in runs:
        if r.get("durations") and (r["round"] not in by_round or r["family"] == "pytest"):
            by_round[r["round"]] = (r["variant"], r["durations"])
    rows: dict[str, dict[str, Any]] = {}
    for r in runs:
        if r["workers"] < 2:
            continue
        source, durations = by_round.get(r["round"], ("nominal", nominal or {}))
        if not durations:
            continue
        lb = lower_bound(durations, r["workers"])
        rep = r.get("report") or {}
        if isinstance(rep.get("makespan_seconds"), (int, float)):
            # First test start to last test end, as the workers saw it.
            phase, how = rep["makespan_seconds"], "report makespan"
        elif isinstance(rep.get("wall_seconds"), (int, float)) and isinstance(
            rep.get("collect_seconds"), (int, float)
        ):
            phase, how = rep["wall_seconds"] - rep["collect_seconds"], "report"
        else:
            phase, how = r["wall_seconds"] - collect_wall, "wall - collect-only"
        row = rows.setdefault(
            r["variant"],
            {
                "wall_ratio": [],
                "phase_ratio": [],
                "lower_bound": [],
                "phase_source": how,
                "durations_source": source,
            },
        )
        row["wall_ratio"].append(r["wall_seconds"] / lb["lower_bound"])
        row["phase_ratio"].append(phase / lb["lower_bound"])
        row["lower_bound"].append(lb)
    for row in rows.values():
        row["median_wall_ratio"] = median(row["wall_ratio"])
        row["median_phase_ratio"] = median(row["phase_ratio"])
    return rows


def _crash(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds: list[float] = []
    found = False
    crashed = []
    for r in runs:
        if "+ crash" not in r["variant"]:
            continue
        crashed.append((r["counts"] or {}).get("crashed", 0))
        reps = (r.get("report") or {}).get("replacements")
        if isinstance(reps, list):
            found = True
            seconds.extend(
                float(x["seconds"])
                for x in reps
                if isinstance(x, Mapping) and isinstance(x.get("seconds"), (int, float))
            )
    return {
        "replacements_field_found": found,
        "seconds": seconds,
        "median": median(seconds),
        "max": max(seconds, default=None),
        "count": len(seconds),
        "crashed_per_round": crashed,
    }


# ---------------------------------------------------------------------------------- targets


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _all_ok(checks: list[str]) -> bool:
    return bool(checks) and all(c in ("ok", "reference") for c in checks)


def targets(suites: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = []

    def row(name: str, measured: str, ok: bool | None) -> None:
        rows.append(
            {
                "target": name,
                "measured": measured,
                "status": "UNKNOWN" if ok is None else ("PASS" if ok else "FAIL"),
            }
        )

    def variants(suite: str) -> dict[str, Any]:
        return suites.get(suite, {}).get("analysis", {}).get("variants", {})

    nx = variants("networkx")
    # Without --with-history the plain variant; with it, the first run (no history yet).
    tf = nx.get("testfleet -w 2") or nx.get("testfleet -w 2 (first, writes history)")
    xd = nx.get("xdist -n 2")
    if tf and xd:
        r = _ratio(tf["median_wall"], xd["median_wall"])
        same = _all_ok(tf["checks"])
        row(
            f"networkx: testfleet <= {LIMITS['networkx_vs_xdist']} x xdist, identical counts",
            f"{_f(r)} x xdist; counts {'identical' if same else 'DIFFER'}",
            None if r is None else (r <= LIMITS["networkx_vs_xdist"] and same),
        )
    else:
        row(
            f"networkx: testfleet <= {LIMITS['networkx_vs_xdist']} x xdist, identical counts", "not run", None
        )

    tr = variants("trivial")
    tf, xd, pt = tr.get("testfleet -w 2"), tr.get("xdist -n 2"), tr.get("pytest")
    name = f"trivial: testfleet < pytest and <= {LIMITS['trivial_vs_xdist']} x xdist"
    if tf and xd and pt:
        rp, rx = _ratio(tf["median_wall"], pt["median_wall"]), _ratio(tf["median_wall"], xd["median_wall"])
        ok = (
            None
            if rp is None or rx is None
            else (rp < 1 and rx <= LIMITS["trivial_vs_xdist"] and _all_ok(tf["checks"]))
        )
        row(name, f"{_f(rp)} x pytest, {_f(rx)} x xdist", ok)
    else:
        row(name, "not run", None)

    ht = suites.get("heavy_tail", {}).get("analysis", {}).get("heavy_tail", {})
    hist = ht.get("testfleet -w 4 (history)")
    name = f"heavy_tail: second run (history) <= {LIMITS['heavy_tail_vs_lower_bound']} x lower bound"
    if hist and hist.get("median_phase_ratio") is not None:
        r = hist["median_phase_ratio"]
        row(
            name,
            f"{_f(r)} x lower bound (run phase, {hist['phase_source']}); "
            f"{_f(hist['median_wall_ratio'])} x with startup",
            r <= LIMITS["heavy_tail_vs_lower_bound"],
        )
    else:
        row(name, "not run", None)

    name = f"networkx: Ray (running local cluster) <= {LIMITS['ray_vs_local']} x local backend"
    ray = nx.get("testfleet -w 2 --backend ray (running cluster)")
    local_key = local_counterpart("testfleet -w 2 --backend ray", {k: v for k, v in nx.items()})
    if ray and local_key:
        r = _ratio(ray["median_wall"], nx[local_key]["median_wall"])
        row(name, f"{_f(r)} x local", None if r is None else (r <= LIMITS["ray_vs_local"] and _all_ok(ray["checks"])))
    else:
        row(name, "not run", None)

    crash = suites.get("networkx", {}).get("analysis", {}).get("crash")
    name = f"crash replacement < {LIMITS['crash_replacement_seconds']} s (median)"
    if crash and crash["count"]:
        row(
            name,
            f"median {_f(crash['median'], 3)} s, max {_f(crash['max'], 3)} s over {crash['count']}",
            crash["median"] < LIMITS["crash_replacement_seconds"],
        )
    elif crash:
        row(
            name,
            "no `replacements` in --report-json"
            if not crash["replacements_field_found"]
            else "no replacements reported",
            None,
        )
    else:
        row(name, "not run", None)
    return rows


# ---------------------------------------------------------------------------------- markdown


def _f(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _mib(kb: float | None) -> str:
    return "n/a" if kb is None else f"{kb / 1024:.0f}"


def render(data: Mapping[str, Any]) -> str:
    m = data["machine"]
    v = m.get("versions", {})
    out = [
        "# Benchmark results",
        "",
        "Generated by `benchmarks/run.py`; raw data in `results.json` next to this file. "
        "See `README.md` for what each suite measures.",
        "",
    ]
    quick = any(s.get("quick") for s in data["suites"].values())
    if quick:
        out += ["**Quick (smoke-test) sizes: these numbers say nothing about performance.**", ""]
    out += [
        "## Machine",
        "",
        "| CPU | cores (usable) | RAM | OS | Python | pytest | pytest-xdist | testfleet | networkx | ray | commit |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {m.get('cpu_model')} | {m.get('cores')} ({m.get('usable_cores')}) | {m.get('ram_gib')} GiB "
        f"| {m.get('os')} | {v.get('python')} | {v.get('pytest')} | {v.get('pytest-xdist')} "
        f"| {v.get('testfleet')} | {v.get('networkx')} | {v.get('ray')} | {m.get('git_commit')} |",
        "",
        f"Load average (1 min) when the run started: {_f(m.get('loadavg_at_start', [None])[0])}. "
        "Each run's own is in `results.json` (`loadavg_1m_before`).",
        "",
        "## Targets",
        "",
        "| Target | Measured | Status |",
        "|---|---|---|",
    ]
    out += [f"| {t['target']} | {t['measured']} | **{t['status']}** |" for t in targets(data["suites"])]
    out.append("")
    for name, s in data["suites"].items():
        out += _render_suite(name, s)
    return "\n".join(out) + "\n"


def _render_suite(name: str, s: Mapping[str, Any]) -> list[str]:
    a = s["analysis"]
    rounds = s["rounds"]
    out = [
        f"## {name}",
        "",
        f"{s['date']} · `{s.get('invocation', '')}` · {rounds} round(s), "
        "tools alternating inside each round, medians over rounds.",
        "",
    ]
    manifest = {k: v for k, v in s.get("manifest", {}).items() if k not in ("expected",)}
    if manifest:
        out += ["Suite: " + ", ".join(f"{k}={v}" for k, v in manifest.items()), ""]
    c = s["collect_only"]
    out += [
        f"Collect-only (`pytest --co`, after a warm-up): {_f(c['wall_seconds'])} s, "
        f"{c['collected']} tests collected.",
        "",
    ]
    checks = s.get("machine_checks") or []
    if checks:
        out += [
            "Machine check before each round (`benchmarks/cpucheck.py`: a fixed CPU loop alone, then two "
            "at once; parallel efficiency 1.00 = two full cores, 0.50 = one shared): "
            + "; ".join(f"r{i} {_f(c.get('single_seconds'))} s alone, efficiency {_f(c.get('parallel_efficiency'))}"
                        for i, c in enumerate(checks, 1)) + ".",
            "",
        ]
    if a["problems"]:
        out += ["**Problems:**", ""] + [f"- **{p}**" for p in a["problems"]] + [""]
    out += (
        ["Commands:", "", "```"]
        + [
            f"# {v['key']}{' (' + v['notes'] + ')' if v['notes'] else ''}\n{v['command']}"
            for v in s["variants"]
        ]
        + ["```", ""]
    )
    head = " | ".join(f"r{i}" for i in range(1, rounds + 1))
    out += [
        "Wall time (s):",
        "",
        f"| variant | {head} | median | exit codes | outcome counts | counts check |",
        "|---|" + "---|" * rounds + "---|---|---|---|",
    ]
    pytest_med = next((x["median_wall"] for x in a["variants"].values() if x["family"] == "pytest"), None)
    for key, x in a["variants"].items():
        walls = " | ".join(_f(w) for w in x["walls"]) + " | " * (rounds - len(x["walls"]))
        counts = ", ".join(f"{n} {k}" for k, n in (x["counts"] or {}).items()) or "n/a"
        checks = ", ".join(sorted(set(x["checks"]))) or "n/a"
        checks = f"**{checks}**" if "MISMATCH" in checks else checks
        out.append(
            f"| {key} | {walls} | **{_f(x['median_wall'])}** | {x['returncodes']} | {counts} | {checks} |"
        )
    out.append("")
    ratios = _ratios(a["variants"], pytest_med)
    if ratios:
        out += ["Ratios of medians:", ""] + [f"- {r}" for r in ratios] + [""]
    out += [
        "Memory (MiB, medians). *Largest process*: `ru_maxrss` from `os.wait4` (the biggest single "
        "process in the tree). *Tree RSS/PSS*: sum over all live processes of the run, sampled "
        "from /proc (RSS double-counts pages shared after fork; PSS does not).",
        "",
        "| variant | largest process | tree RSS sum | tree PSS sum | processes | CPU s | "
        "controller (report) | worker max (report) | workers sum (report) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, x in a["variants"].items():
        mem, rep = x["memory"], x["report"] or {}
        out.append(
            f"| {key} | {_mib(mem['ru_maxrss_kb'])} | {_mib(mem['tree_peak_rss_sum_kb'])} "
            f"| {_mib(mem['tree_peak_pss_sum_kb'])} | {_f(mem['tree_max_processes'], 0)} "
            f"| {_f(mem['cpu_seconds'], 1)} | {_mib(rep.get('controller_peak_rss_kb'))} "
            f"| {_mib(rep.get('worker_peak_rss_kb_max'))} | {_mib(rep.get('worker_peak_rss_kb_sum'))} |"
        )
    out.append("")
    leftovers = {
        k: x["memory"]["leftover_processes"]
        for k, x in a["variants"].items()
        if x["memory"]["leftover_processes"]
    }
    if leftovers:
        out += [f"**Processes still alive after the run ended (killed by the benchmark): {leftovers}**", ""]
    reps = {k: x["report"] for k, x in a["variants"].items() if x["report"]}
    if reps:
        out += ["testfleet `--report-json` (medians):", ""]
        for k, rep in reps.items():
            if not rep.get("found"):
                out.append(f"- {k}: no report file written")
                continue
            missing = f"; fields missing: {', '.join(rep['fields_missing'])}" if rep["fields_missing"] else ""
            phases = ", ".join(f"{name} {_f(sec)}" for name, sec in (rep.get("phases") or {}).items())
            ray = f", Ray connect {_f(rep['ray_connect'])} s" if rep.get("ray_connect") is not None else ""
            out.append(
                f"- {k}: collect {_f(rep['collect_seconds'])} s, wall {_f(rep['wall_seconds'])} s, "
                f"makespan {_f(rep.get('makespan_seconds'))} s, {_f(rep['workers_seen'], 0)} workers{ray}{missing}"
                + (f"; phases (s since the controller started): {phases}" if phases else "")
            )
        out.append("")
    if "heavy_tail" in a:
        out += [
            "Makespan / lower bound (lower bound = max(total / workers, longest test), from the "
            "per-test durations of the same round). *Run phase* excludes startup and collection.",
            "",
            "| variant | lower bound (s) | total / longest (s) | wall / LB | run phase / LB | run phase from |",
            "|---|---|---|---|---|---|",
        ]
        for key, row in a["heavy_tail"].items():
            lb = row["lower_bound"][0]
            out.append(
                f"| {key} | {_f(median(x['lower_bound'] for x in row['lower_bound']))} "
                f"| {_f(lb['total'])} / {_f(lb['longest'])} | {_f(row['median_wall_ratio'], 3)} "
                f"| **{_f(row['median_phase_ratio'], 3)}** | {row['phase_source']} |"
            )
        out.append("")
    if "crash" in a:
        cr = a["crash"]
        out += [
            "Crash replacement (`replacements[].seconds` in the report): "
            + (
                f"{cr['count']} replacements, median {_f(cr['median'], 3)} s, max {_f(cr['max'], 3)} s"
                if cr["count"]
                else "none reported"
                if cr["replacements_field_found"]
                else "field `replacements` missing from --report-json"
            )
            + f"; crashed tests per round: {cr['crashed_per_round']}.",
            "",
        ]
    return out


def _ratios(variants: Mapping[str, Any], pytest_med: float | None) -> list[str]:
    out = []
    xdists = {k: x["median_wall"] for k, x in variants.items() if x["family"] == "xdist"}
    for key, x in variants.items():
        if x["family"] != "testfleet" or x["median_wall"] is None:
            continue
        parts = []
        if pytest_med:
            parts.append(f"{x['median_wall'] / pytest_med:.2f} x pytest")
        for k, med in xdists.items():
            if med:
                # Tools alternate inside each round: the paired per-round ratios show the noise.
                paired = [a / b for a, b in zip(x["walls"], variants[k]["walls"], strict=False) if b]
                rounds = f" (per round: {', '.join(f'{r:.2f}' for r in paired)})" if len(paired) > 1 else ""
                parts.append(f"{x['median_wall'] / med:.2f} x {k}{rounds}")
        if parts:
            out.append(f"{key}: " + ", ".join(parts))
    if pytest_med:
        out += [f"{k}: {med / pytest_med:.2f} x pytest" for k, med in xdists.items() if med]
    local = {k: x["median_wall"] for k, x in variants.items() if "--backend ray" not in k}
    for key, x in variants.items():
        other = local_counterpart(key, local) if "--backend ray" in key else None
        if other and x["median_wall"] and local[other]:
            out.append(f"{key}: {x['median_wall'] / local[other]:.2f} x local ({other})")
    return out
