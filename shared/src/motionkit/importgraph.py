"""The import graph of a package, read from its source (no code runs), and the house rules on it.

Data flows one way (config -> data -> model -> losses -> train -> checkpoint -> evaluate -> report): no import
cycles, and no ``train*`` module imports an ``evaluate*`` module. Imports anywhere in a module count (a lazy
import inside a function is still a dependency), except those under ``if TYPE_CHECKING:``.
``python ci/import_graph.py`` prints the graph of every package.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["package_dir", "module_graph", "import_cycles", "train_evaluate_edges", "import_problems"]


def package_dir(package: str) -> Path:
    """The folder of an installed (or importable) package."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"{package!r} is not an importable package")
    return Path(next(iter(spec.submodule_search_locations)))


def _module_names(root: Path, package: str) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and parts[-1] == "__main__":
            continue
        out[".".join([package, *parts])] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, ...]]:
    """What a module imports, as alternatives: ``import a.b`` gives ``("a.b",)``; ``from a.b import c`` gives
    ``("a.b.c", "a.b")``: the submodule ``a.b.c`` when it is one, else the module ``a.b``."""
    names: list[tuple[str, ...]] = []
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(n) for n in ast.walk(node) if n is not node)
            skip.update(id(n) for n in node.orelse)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names += [(alias.name,) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            names += [(f"{base}.{alias.name}", base) for alias in node.names]
    return names


def module_graph(source: str | Path, package: str | None = None) -> dict[str, set[str]]:
    """``{module: {modules of the same package it imports}}`` for the package whose folder is ``source``
    (or, when ``source`` is a package name, for that installed package)."""
    root = Path(source)
    if package is None:
        if root.is_dir():
            package = root.name
        else:
            package, root = str(source), package_dir(str(source))
    modules = _module_names(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        targets = set()
        for alternatives in _imported_names(tree, name, path.name == "__init__.py"):
            found = next((m for m in alternatives if m in modules), None)
            if found is not None and found != name:
                targets.add(found)
        graph[name] = targets
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _leaf(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def train_evaluate_edges(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Edges from a ``train*`` module to an ``evaluate*`` module (the report must not feed the loop)."""
    return sorted((a, b) for a, targets in graph.items() for b in targets
                  if _leaf(a).startswith("train") and _leaf(b).startswith("evaluate"))


def import_problems(graph: dict[str, set[str]]) -> list[str]:
    """One line per violation of the house rules (empty when the graph is clean)."""
    lines = [f"import cycle: {' <-> '.join(cycle)}" for cycle in import_cycles(graph)]
    lines += [f"{a} imports {b} (train must not import evaluate)" for a, b in train_evaluate_edges(graph)]
    return lines
