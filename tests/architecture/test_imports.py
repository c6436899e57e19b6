"""The layers hold: no import cycle between the project's modules, and each layer imports
only those below it (docs/ARCHITECTURE.md, "Layers").

Imports are read from the source (every ``import`` statement, at module level or inside a
function: a deferred import is still a dependency), so the test needs nothing installed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "checks", "collector", "dashboards")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module(p): p
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
        if "migrations" not in p.parts
    }


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports (a ``from package import module`` counts as the
    module; anything else as the package it names)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    graph = {name: _imports(name, path, known) for name, path in mods.items()}
    # A package's __init__ importing its own submodules is how a package exposes them,
    # not a dependency of those submodules on it.
    return {n: {d for d in deps if not d.startswith(n + ".")} for n, deps in graph.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == 1:
                return stack[stack.index(d) :] + [d]
            if d not in state and (found := visit(d)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_no_import_cycle() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


#: (layer, layers it must not import). Lower layers never reach up.
FORBIDDEN = [
    ("checks", ("agent", "collector", "dashboards")),
    ("agent", ("collector", "dashboards")),
    (
        "collector.domain",
        (
            "collector.api",
            "collector.cli",
            "collector.service",
            "collector.storage",
            "collector.criteria",
            "collector.reports",
        ),
    ),
    (
        "collector.criteria",
        (
            "collector.api",
            "collector.cli",
            "collector.service",
            "collector.storage",
            "collector.reports",
        ),
    ),
    (
        "collector.storage",
        ("collector.api", "collector.cli", "collector.service", "collector.reports"),
    ),
    ("collector.service", ("collector.api", "collector.cli")),
    ("collector.reports", ("collector.api", "collector.cli")),
    ("collector.api", ("collector.cli",)),
    (
        "collector.notify",
        ("collector.api", "collector.cli", "collector.service", "collector.storage"),
    ),
]


@pytest.mark.parametrize(("layer", "forbidden"), FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_a_layer_imports_nothing_above_it(layer: str, forbidden: tuple[str, ...]) -> None:
    graph = _graph()
    wrong = sorted(
        f"{mod} imports {dep}"
        for mod, deps in graph.items()
        if mod == layer or mod.startswith(layer + ".")
        for dep in deps
        if any(dep == f or dep.startswith(f + ".") for f in forbidden)
    )
    assert not wrong, "\n".join(wrong)
