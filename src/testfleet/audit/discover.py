"""Find test files and the tests inside them, statically, the way pytest would collect them.

A test is a ``test*`` function at module level, a ``test*`` method of a ``Test*`` class without
``__init__`` (pytest style), or a ``test*`` method of a ``unittest.TestCase`` subclass. Methods a
collectable class inherits from a base class defined in the same file are attributed once, to the
first collectable subclass. Files that cannot be read or parsed are returned with ``error`` set.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import os
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

FuncDef = ast.FunctionDef | ast.AsyncFunctionDef
DEFAULT_MAX_BYTES = 2_000_000
_SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    "node_modules",
    ".tox",
    ".nox",
    "build",
    "dist",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".eggs",
    "site-packages",
}


@dataclass
class TestDef:
    nodeid: str
    node: FuncDef
    cls: ast.ClassDef | None
    style: str  # "pytest" | "unittest"
    class_chain: list[ast.ClassDef] = field(default_factory=list)  # outermost first, incl. bases


@dataclass
class ParsedFile:
    path: str  # as given / relative to the audit root
    source: str = ""
    tree: ast.Module | None = None
    error: str | None = None
    tests: list[TestDef] = field(default_factory=list)
    functions: dict[str, FuncDef] = field(default_factory=dict)  # module-level defs
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted origin

    @property
    def stem(self) -> str:
        return Path(self.path).stem


def is_test_file(name: str) -> bool:
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def conftest_ignores(directory: Path) -> tuple[set[str], list[str]]:
    """``collect_ignore`` names and ``collect_ignore_glob`` patterns of ``directory/conftest.py``,
    read statically (only literal lists are understood)."""
    conftest = directory / "conftest.py"
    names: set[str] = set()
    globs: list[str] = []
    if not conftest.is_file():
        return names, globs
    try:
        tree = ast.parse(conftest.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return names, globs
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target = stmt.targets[0].id
            if target in {"collect_ignore", "collect_ignore_glob"} and isinstance(stmt.value, ast.List):
                vals = [
                    e.value
                    for e in stmt.value.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)
                ]
                if target == "collect_ignore":
                    names.update(os.path.normpath(v) for v in vals)
                else:
                    globs.extend(vals)
    return names, globs


def iter_test_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Explicit files are yielded whatever their name; directories are walked for test files,
    honouring ``collect_ignore``/``collect_ignore_glob`` of the conftest files on the way."""
    for raw in paths:
        p = Path(raw)
        if p.is_file():
            yield p
        elif p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p):
                here = Path(dirpath)
                names, globs = conftest_ignores(here)

                def ignored(
                    name: str, names: set[str] = names, globs: list[str] = globs, here: Path = here
                ) -> bool:
                    return name in names or any(
                        fnmatch.fnmatch(name, g) or here.joinpath(name).match(g) for g in globs
                    )

                dirnames[:] = sorted(
                    d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".") and not ignored(d)
                )
                for name in sorted(filenames):
                    if is_test_file(name) and not ignored(name):
                        yield here / name


def read_source(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str | None, str | None]:
    """Return ``(source, None)`` or ``(None, why it cannot be audited)``."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, f"file is {size} bytes, above the {max_bytes}-byte limit (--max-file-size)"
        raw = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror or exc}"
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        return raw.decode(encoding), None
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return None, f"cannot decode file (not UTF-8 and no valid coding declaration): {exc}"


def parse_file(path: Path, display: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedFile:
    pf = ParsedFile(path=display)
    source, why = read_source(path, max_bytes)
    if source is None:
        pf.error = why
        return pf
    pf.source = source
    try:
        pf.tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        pf.error = f"syntax error at line {exc.lineno}: {exc.msg}"
        return pf
    except (ValueError, RecursionError, MemoryError) as exc:
        pf.error = f"cannot parse file: {type(exc).__name__}: {exc}"
        return pf
    _index(pf, pf.tree)
    return pf


def _index(pf: ParsedFile, tree: ast.Module) -> None:
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            pf.functions[stmt.name] = stmt
        elif isinstance(stmt, ast.ClassDef):
            pf.classes[stmt.name] = stmt
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                pf.imports[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                pf.imports[a.asname or a.name] = f"{node.module}.{a.name}"
    claimed: set[tuple[str, str]] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            pf.tests.append(TestDef(node.name, node, None, "pytest"))
        elif isinstance(node, ast.ClassDef):
            _collect_class(pf, node, [], claimed)


def base_names(cls: ast.ClassDef) -> list[str]:
    names = []
    for b in cls.bases:
        if isinstance(b, ast.Name):
            names.append(b.id)
        elif isinstance(b, ast.Attribute):
            names.append(b.attr)
    return names


def is_testcase(pf: ParsedFile, cls: ast.ClassDef, seen: frozenset[str] = frozenset()) -> bool:
    for name in base_names(cls):
        if name.endswith("TestCase"):
            return True
        local = pf.classes.get(name)
        if local is not None and name not in seen and is_testcase(pf, local, seen | {name}):
            return True
    return False


def class_hierarchy(pf: ParsedFile, cls: ast.ClassDef) -> list[ast.ClassDef]:
    """The class then its same-file bases, depth first, each once."""
    out: list[ast.ClassDef] = []
    stack = [cls]
    while stack:
        c = stack.pop(0)
        if c in out:
            continue
        out.append(c)
        stack.extend(pf.classes[n] for n in base_names(c) if n in pf.classes)
    return out


def is_collectable(pf: ParsedFile, cls: ast.ClassDef) -> bool:
    methods = {n.name for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    return is_testcase(pf, cls) or (cls.name.startswith("Test") and "__init__" not in methods)


def _collect_class(
    pf: ParsedFile, cls: ast.ClassDef, outer: list[ast.ClassDef], claimed: set[tuple[str, str]]
) -> None:
    unittest_style = is_testcase(pf, cls)
    methods = {n.name for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    if not is_collectable(pf, cls):
        return
    prefix = "::".join(c.name for c in [*outer, cls])
    for owner in class_hierarchy(pf, cls):
        for item in owner.body:
            if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) or not item.name.startswith(
                "test"
            ):
                continue
            if owner is not cls:
                if is_collectable(pf, owner) and owner.name in pf.classes:
                    continue
                key = (owner.name, item.name)
                if key in claimed or item.name in methods:
                    continue
                claimed.add(key)
            pf.tests.append(
                TestDef(
                    f"{prefix}::{item.name}",
                    item,
                    cls,
                    "unittest" if unittest_style else "pytest",
                    [*outer, cls],
                )
            )
    if not unittest_style:
        for item in cls.body:
            if isinstance(item, ast.ClassDef):
                _collect_class(pf, item, [*outer, cls], claimed)
