"""Classify a test as unit / integration / end-to-end / property-based / performance /
fault-injection / security, from evidence in its code, and say which evidence.

Evidence is looked for in: the test's decorators and markers (its own, its classes', the module's
``pytestmark``), its fixture arguments, the dotted names it uses (resolved through the file's
imports), string literals, its name, and the file path. A test with no evidence of any other
category is ``unit``. ``CATEGORY_SIGNALS`` is also what the report prints for missing categories.
"""

from __future__ import annotations

import ast
import re

from testfleet.audit.checks import dotted
from testfleet.audit.discover import ParsedFile, TestDef

CATEGORIES = [
    "unit",
    "integration",
    "end-to-end",
    "property-based",
    "performance",
    "fault-injection",
    "security",
]

# category -> (regex over names/markers/fixtures/origins, description for the report)
_SIGNALS: dict[str, tuple[str, str]] = {
    "property-based": (
        r"^(hypothesis(\..*)?|given|.*\.given|strategies\..*|st\..*|settings|"
        r".*RuleBasedStateMachine|.*stateful.*|hypothesis_.*)$",
        "hypothesis @given/@settings/strategies, RuleBasedStateMachine",
    ),
    "performance": (
        r"^(benchmark|benchmark_.*|pytest\.mark\.(benchmark|perf|performance|slow)|"
        r"timeit(\..*)?|time\.perf_counter|perf_counter|.*\.perf_counter|asv.*|"
        r"pytest_benchmark.*)$",
        "benchmark fixture, @pytest.mark.benchmark/perf/slow, timeit, perf_counter timing",
    ),
    "fault-injection": (
        r"(^|[._])(fault|faults|inject\w*|chaos|crash\w*|kill|killpg|sigkill|sigterm|"
        r"SIGKILL|SIGTERM|SIGSTOP|network_partition|netsplit|failpoint|toxiproxy|side_effect_error|"
        r"flaky_network|disconnect|corrupt\w*|power_cut|oom)($|[._])",
        "os.kill/signals, crash/kill/fault/inject/chaos/partition/corrupt names, "
        "mocks raising exceptions (side_effect=Error)",
    ),
    "security": (
        r"(^|[._])(security|xss|csrf|sqli|sql_injection|injection|traversal|sanitiz\w*|"
        r"escape\w*|auth|authn|authz|authenticat\w*|authoriz\w*|login|permission\w*|"
        r"privilege\w*|secrets?|crypto\w*|tls|ssl|hmac|password\w*|csrf_token|bandit)($|[._])",
        "security markers, auth/permission/secret/password/escape/injection/"
        "traversal names, ssl/hmac/crypto use",
    ),
    "end-to-end": (
        r"^(subprocess\.(run|Popen|call|check_call|check_output)|runpytest_subprocess|"
        r".*\.runpytest_subprocess|script_runner|.*CliRunner.*|runner\.invoke|"
        r"selenium.*|playwright.*|browser_fixture|pytest\.mark\.(e2e|end_to_end|acceptance)|"
        r"os\.system|pexpect.*|sys\.executable)$",
        "subprocess/CLI runs (sys.executable, CliRunner, runpytest_subprocess), browser "
        "fixtures (page/browser/selenium/playwright), e2e/acceptance markers or directories",
    ),
    "integration": (
        r"^(socket(\..*)?|requests\..*|httpx\..*|urllib\.request\..*|http\.client\..*|"
        r"aiohttp\..*|sqlite3\.connect|duckdb\.connect|psycopg.*|redis\..*|docker.*|"
        r"testcontainers.*|pytester|testdir|.*\.runpytest|.*\.inline_run|httpserver|"
        r"threading\.Thread|multiprocessing\..*|asyncio\.(start_server|open_connection)|"
        r"ray\..*|pytest\.mark\.(integration|ray|db|network)|.*TestClient.*|"
        r"smtplib\..*|ftplib\..*)$",
        "sockets, HTTP clients, databases, containers, threads/processes, pytester, "
        "integration/network/db markers or directories",
    ),
}
CATEGORY_SIGNALS = {k: v[1] for k, v in _SIGNALS.items()}
CATEGORY_SIGNALS["unit"] = "tests with none of the other categories' evidence"
_COMPILED = {
    k: re.compile(v[0], re.IGNORECASE if k in {"security", "fault-injection"} else 0)
    for k, v in _SIGNALS.items()
}
_BROWSER_FIXTURES = {"page", "browser", "live_server", "selenium", "driver"}
_PATH_HINTS = {
    "end-to-end": ("e2e", "end_to_end", "acceptance", "functional"),
    "integration": ("integration", "integ"),
    "performance": ("benchmarks", "perf", "performance"),
    "security": ("security",),
    "fault-injection": ("chaos", "fault", "faults"),
}


def _resolve(pf: ParsedFile, name: str) -> str:
    head, _, rest = name.partition(".")
    origin = pf.imports.get(head)
    return f"{origin}.{rest}" if origin and rest else origin or name


def _evidence_terms(pf: ParsedFile, t: TestDef) -> list[tuple[str, str]]:
    """(term, where) pairs that the category regexes are matched against."""
    terms: list[tuple[str, str]] = [(t.node.name, "test name")]
    decos = [d for c in t.class_chain for d in c.decorator_list] + list(t.node.decorator_list)
    for d in decos:
        name = dotted(d.func if isinstance(d, ast.Call) else d)
        terms.append((_resolve(pf, name), "decorator"))
    assert pf.tree is not None
    for stmt in pf.tree.body:
        if isinstance(stmt, ast.Assign) and any(dotted(x) == "pytestmark" for x in stmt.targets):
            for n in ast.walk(stmt.value):
                if isinstance(n, ast.Attribute):
                    terms.append((dotted(n), "module pytestmark"))
    for a in t.node.args.args + t.node.args.kwonlyargs:
        if a.arg in _BROWSER_FIXTURES:
            terms.append(("browser_fixture", f"fixture {a.arg}"))
        elif a.arg not in {"self", "cls"}:
            terms.append((a.arg, "fixture"))
    for c in t.class_chain:
        terms.append((c.name, "class name"))
        terms.extend((_resolve(pf, dotted(b)), "base class") for b in c.bases)
    for node in ast.walk(t.node):
        if isinstance(node, ast.Attribute | ast.Name) and not isinstance(
            getattr(node, "ctx", None), ast.Store
        ):
            terms.append((_resolve(pf, dotted(node)), "uses"))
        elif isinstance(node, ast.keyword) and node.arg == "side_effect" and _raises_error(node.value):
            terms.append(("side_effect_error", "mock side_effect raises"))
    return terms


def _raises_error(node: ast.AST) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return dotted(target).split(".")[-1].endswith(("Error", "Exception", "Timeout", "Interrupt"))


def classify(pf: ParsedFile, t: TestDef) -> tuple[list[str], dict[str, list[str]]]:
    evidence: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for term, where in _evidence_terms(pf, t):
        for cat, rx in _COMPILED.items():
            if (cat, term) not in seen and rx.search(term):
                seen.add((cat, term))
                evidence.setdefault(cat, []).append(f"{where}: {term}")
    parts = [p.lower() for p in pf.path.replace("\\", "/").split("/")[:-1]]
    for cat, hints in _PATH_HINTS.items():
        hit = next((p for p in parts if p in hints), None)
        if hit:
            evidence.setdefault(cat, []).append(f"directory: {hit}/")
    if "end-to-end" in evidence and "integration" in evidence:
        # a CLI run also talks to processes/files; keep the stronger label only
        only_pytester = all("pytester" in e or "runpytest" in e for e in evidence["integration"])
        if only_pytester:
            del evidence["integration"]
    for cat in list(evidence):
        evidence[cat] = evidence[cat][:5]
    types = [c for c in CATEGORIES if c in evidence]
    if not any(c in evidence for c in ("integration", "end-to-end")):
        types.insert(0, "unit")
        evidence["unit"] = ["no process, network, database, browser or integration evidence"]
    return types, evidence
