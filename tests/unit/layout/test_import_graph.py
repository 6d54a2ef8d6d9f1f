"""The ``careledger`` package has no import circles and is the only top-level package installed.

The graph is built from the source with ``ast``: every ``import`` and ``from ... import`` at
module level and inside functions, relative or absolute, and ``from package import name`` counts
as an import of ``package.name`` when that is a module. A circle is a strongly connected set of
two or more modules (or a module importing itself); the test lists every one.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import careledger

PACKAGE_DIR = Path(careledger.__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        rel = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The careledger modules that ``module`` imports, anywhere in its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(name: str) -> None:
        # `import a.b.c` also imports a and a.b; the nearest existing module is the real edge
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name.startswith("careledger"):
            found.add(name)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(module, is_package, node.level, node.module) if node.level else (node.module or "")
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in modules else base)
    found.discard(module)
    # a package's own __init__ is imported by every submodule; that is not a circle of code
    return {m for m in found if not module.startswith(m + ".")}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: _imports(m, p, modules) for m, p in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return sorted(out)


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return "circle of " + ", ".join(component) + ":\n      " + "\n      ".join(edges)


def test_the_graph_sees_function_level_relative_and_submodule_imports(tmp_path):
    pkg = tmp_path / "careledger" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "careledger" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from . import b\n")
    (pkg / "b.py").write_text("from careledger.sub import c\n")
    (pkg / "c.py").write_text("import careledger.sub.a\n")
    modules = {
        "careledger": tmp_path / "careledger" / "__init__.py",
        "careledger.sub": pkg / "__init__.py",
        **{f"careledger.sub.{n}": pkg / f"{n}.py" for n in "abc"},
    }
    graph = {m: _imports(m, p, modules) for m, p in modules.items()}
    assert graph["careledger.sub.a"] == {"careledger.sub.b"}
    assert graph["careledger.sub.b"] == {"careledger.sub.c"}
    assert graph["careledger.sub.c"] == {"careledger.sub.a"}
    assert circles(graph) == [["careledger.sub.a", "careledger.sub.b", "careledger.sub.c"]]


def test_no_import_circles_in_careledger():
    graph = import_graph()
    assert len(graph) > 50, "the walk found too few modules; is the package where the test looks?"
    found = circles(graph)
    assert not found, f"{len(found)} import circle(s):\n  " + "\n  ".join(_describe(c, graph) for c in found)


def test_landing_core_imports_no_format_loader():
    graph = import_graph()
    loaders = ("careledger.ingest.fhir", "careledger.ingest.hl7", "careledger.ingest.x12", "careledger.ingest.csv")
    loaders += ("careledger.ingest.bai2", "careledger.ingest.detect", "careledger.ingest.formats")
    loaders += ("careledger.ingest.run", "careledger.ingest.mllp")
    bad = sorted(m for m in graph["careledger.ingest.landing"] if m.startswith(loaders))
    assert not bad, f"the landing core imports format code: {bad}"


def test_one_top_level_package_in_pyproject():
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    find = setuptools["packages"]["find"]
    assert find.get("include") == ["careledger*"], find
    assert find.get("where", ["."]) == ["."], find
    assert "py-modules" not in setuptools, "a top-level module would be installed beside careledger"
    top_level = {p.name for p in REPO_ROOT.iterdir() if (p / "__init__.py").exists()}
    assert top_level == {"careledger"}, f"packages beside careledger: {sorted(top_level - {'careledger'})}"
