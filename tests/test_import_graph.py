"""No import cycles between the packages of app/ (nor between the modules of app/core): each
domain may use core, models and the domains below it, never one that uses it back. Read from
the source with ast, so a cycle fails here before it fails at import time somewhere else."""

import ast
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "app":  # from app import x
                found |= {f"app.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name.startswith("app.")}


def _graph(unit: Callable[[str], str]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in APP.rglob("*.py"):
        here = unit(".".join(("app", *path.relative_to(APP).with_suffix("").parts)))
        for target in _imports(path):
            there = unit(target)
            if there and here and there != here:
                edges[here].add(there)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
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
                found.append(sorted(component))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _core_module(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:3]) if parts[1:2] == ["core"] and len(parts) > 2 else ""


def _why(edges: dict[str, set[str]], cycle: list[str]) -> str:
    return "; ".join(f"{a} -> {b}" for a in cycle for b in sorted(edges[a]) if b in cycle)


# Cycles that exist today and are being taken apart (issue 16): jobs learn their handlers
# and backend probes from a registry the domains fill (no jobs -> assist/corpus); the
# authentication dependencies move from core to users. The list may only shrink: a new
# cycle, or a known one that grows, fails.
# TEMPORARY (issue 13, report page): worker.handlers() importing app/analysis/tasks.py closes
# a cycle through every domain analysis uses (jobs -> analysis -> export, labeling, ... ->
# jobs). The job registry removes the jobs -> domain edges; then this goes back to
# ["assist", "corpus", "jobs"] and must shrink from there.
KNOWN_PACKAGE_CYCLES = [
    ["analysis", "assist", "corpus", "experiments", "export", "integrity", "jobs"]
    + ["labeling", "review", "writing"],
    ["core", "users"],
]
KNOWN_CORE_CYCLES: list[list[str]] = []


def test_no_cycles_between_the_packages_of_app() -> None:
    edges = _graph(_package)
    assert "labeling" in edges and "core" in edges["labeling"]  # the graph is really read
    cycles = _cycles(edges)
    new = [c for c in cycles if not any(set(c) <= set(k) for k in KNOWN_PACKAGE_CYCLES)]
    assert not new, [_why(edges, c) for c in new]


def test_no_cycles_between_the_modules_of_core() -> None:
    edges = _graph(_core_module)
    cycles = _cycles(edges)
    new = [c for c in cycles if not any(set(c) <= set(k) for k in KNOWN_CORE_CYCLES)]
    assert not new, [_why(edges, c) for c in new]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
