"""lhcad's import contract, checked by the suite itself (CI also runs import-linter on it): the
import graph has no circle, every import runs from a layer down to the same or a lower one, the
families never import each other, and docs/architecture.md draws the layers that are declared.

The layers are read from one place, the ``[tool.importlinter]`` contracts of pyproject.toml.
Imports are read with :mod:`ast` from the source, those inside functions included (an import
hidden in a function still ties two modules); ``if TYPE_CHECKING:`` blocks are left out, and so
are the imports of lhcad/__init__.py (a lazy facade: ``from lhcad import __version__`` imports
nothing else).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "lhcad"


@dataclass(frozen=True)
class Layer:
    members: tuple[str, ...]
    optional: frozenset[str]
    independent: bool
    text: str


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _layers(contract: dict) -> list[Layer]:
    """A contract's layers, highest first, with the container's name prefixed."""
    prefix = f"{contract['containers'][0]}." if contract.get("containers") else ""
    layers = []
    for text in contract["layers"]:
        independent = ":" not in text
        names, optional = [], set()
        for raw in re.split(r"[|:]", text):
            name = raw.strip()
            if name.startswith("(") and name.endswith(")"):
                name = name[1:-1]
                optional.add(prefix + name)
            names.append(prefix + name)
        layers.append(Layer(tuple(names), frozenset(optional), independent, text))
    return layers


def _modules() -> dict[str, Path]:
    found = {}
    for path in (ROOT / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """The lhcad modules that ``module`` imports, with the line of each import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                here = here[: len(here) - node.level + 1]
                base = ".".join([*here, *([base] if base else [])])
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            if target.split(".")[0] != PACKAGE:
                continue
            resolved = _resolve(target)
            if resolved and resolved not in (module, PACKAGE):
                yield resolved, node.lineno


def _graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: line}; the package's lazy face (lhcad/__init__.py) left out."""
    return {
        module: dict(_imports(module, path)) if module != PACKAGE else {}
        for module, path in sorted(MODULES.items())
    }


GRAPH = _graph()


def _ignored(contract: dict) -> list[tuple[re.Pattern[str], re.Pattern[str]]]:
    """The contract's ``ignore_imports`` (``a -> b``, ``*`` one name, ``**`` any depth)."""

    def pattern(expression: str) -> re.Pattern[str]:
        parts = [
            r"[^.]+(\.[^.]+)*" if p == "**" else r"[^.]+" if p == "*" else re.escape(p)
            for p in expression.strip().split(".")
        ]
        return re.compile(r"\.".join(parts) + r"\Z")

    rules = []
    for expression in contract.get("ignore_imports", []):
        importer, imported = expression.split("->")
        rules.append((pattern(importer), pattern(imported)))
    return rules


def _member(module: str, layers: list[Layer]) -> tuple[int, str] | None:
    """The layer (index, highest first) and member a module belongs to, if any."""
    for index, layer in enumerate(layers):
        for name in layer.members:
            if module == name or module.startswith(name + "."):
                return index, name
    return None


def _violations(contract: dict) -> list[str]:
    layers, ignored = _layers(contract), _ignored(contract)
    found = []
    for importer, targets in GRAPH.items():
        where = _member(importer, layers)
        if where is None:
            continue
        for imported, line in targets.items():
            to = _member(imported, layers)
            if to is None or to[1] == where[1]:
                continue
            upward = to[0] < where[0]
            sideways = to[0] == where[0] and layers[to[0]].independent
            if not (upward or sideways):
                continue
            if any(a.match(importer) and b.match(imported) for a, b in ignored):
                continue
            kind = "up to" if upward else "across to its independent sibling"
            found.append(f"{MODULES[importer].relative_to(ROOT)}:{line}: {importer} imports {kind} {imported}")
    return found


def _circles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = iter(range(sys.maxsize))

    def visit(v: str) -> None:
        index[v] = low[v] = next(counter)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(GRAPH)))
    try:
        for module in GRAPH:
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return circles


def test_the_import_graph_has_no_circle() -> None:
    circles = _circles()
    details = [
        " <-> ".join(c) + "\n    " + "\n    ".join(f"{a} -> {b} (l.{GRAPH[a][b]})" for a in c for b in GRAPH[a] if b in c)
        for c in circles
    ]
    assert not circles, "import circles:\n" + "\n".join(details)


@pytest.mark.parametrize("contract_id", ["layers", "families"])
def test_every_import_runs_down_the_layers(contract_id: str) -> None:
    violations = _violations(_contracts()[contract_id])
    assert not violations, "\n".join(violations)


def test_every_module_and_every_family_has_its_place() -> None:
    contracts = _contracts()
    layers = _layers(contracts["layers"])
    declared = {name for layer in layers for name in layer.members}
    optional = {name for layer in layers for name in layer.optional}
    top = {".".join(m.split(".")[:2]) for m in MODULES if m != PACKAGE}
    assert not top - declared, f"modules in no layer of pyproject.toml: {sorted(top - declared)}"
    assert not (declared - optional) - top, f"layers without code: {sorted((declared - optional) - top)}"

    families = {name for layer in _layers(contracts["families"]) for name in layer.members}
    packages = {f"{PACKAGE}.families.{p.name}" for p in (ROOT / PACKAGE / "families").iterdir() if (p / "__init__.py").exists()}
    assert not packages - families, f"families missing from the 'families' contract: {sorted(packages - families)}"


def test_the_checks_see_an_upward_import_and_a_circle() -> None:
    """The checks above are not vacuous: a planted upward import is a violation and a circle."""
    GRAPH["lhcad.errors"]["lhcad.cli"] = 0
    try:
        assert any("lhcad.errors imports up to lhcad.cli" in v for v in _violations(_contracts()["layers"]))
        assert any("lhcad.errors" in c and "lhcad.cli" in c for c in _circles())
    finally:
        del GRAPH["lhcad.errors"]["lhcad.cli"]


def test_the_architecture_page_draws_the_declared_layers() -> None:
    """docs/architecture.md's layer block (after ``<!-- layers -->``) lists pyproject's layers,
    highest first, each line starting with the layer as declared."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- layers -->\s*\n```text\n(.*?)\n```", text, re.DOTALL)
    assert found, "docs/architecture.md has no ```text block after <!-- layers -->"
    drawn = [re.split(r"\s{2,}", line.strip())[0] for line in found[1].splitlines() if line.strip()]
    contracts = _contracts()
    declared = [*contracts["layers"]["layers"]]
    assert [d for d in drawn if not d.startswith("families/")] == declared
    family_lines = [d.removeprefix("families/") for d in drawn if d.startswith("families/")]
    assert family_lines == contracts["families"]["layers"]
