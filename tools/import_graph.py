"""The project's import graph as a newcomer feels it: floors (how high each module stands on what it
imports), loops, and imports made inside functions (often a loop in hiding). Prints one JSON line.

    python tools/import_graph.py            # module-level and function-level imports
    python tools/import_graph.py --top-level-only
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("orchestai_core", "workbench")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported name lives in (a name imported from a package may be a module)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(path: Path, modules: dict[str, Path], top_level_only: bool) -> dict[str, bool]:
    """Project modules imported by `path` → whether only inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: dict[str, bool] = {}

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                names = [f"{child.module}.{a.name}" for a in child.names] or [child.module]
            else:
                visit(child, inner)
                continue
            if nested and top_level_only:
                continue
            for name in names:
                target = _resolve(name, modules)
                if target and target != module_name(path):
                    found[target] = found.get(target, True) and nested

    visit(tree, False)
    return found


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the loops (components of more than one module)."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
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
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def floors(graph: dict[str, set[str]], loops: list[list[str]]) -> dict[str, int]:
    """Floor 0 imports nothing of the project; each module stands one floor above the highest it imports
    (a loop is one room)."""
    room = {m: m for m in graph}
    for loop in loops:
        for m in loop:
            room[m] = loop[0]
    memo: dict[str, int] = {}

    def floor(r: str) -> int:
        if r not in memo:
            memo[r] = 0
            members = [m for m in graph if room[m] == r]
            below = {room[w] for m in members for w in graph[m]} - {r}
            memo[r] = 1 + max((floor(b) for b in below), default=-1)
        return memo[r]

    return {m: floor(room[m]) for m in graph}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top-level-only", action="store_true", help="ignore imports inside functions")
    args = parser.parse_args()
    modules = project_modules()
    edges = {m: imports_of(p, modules, args.top_level_only) for m, p in modules.items()}
    graph = {m: set(e) for m, e in edges.items()}
    loops = strongly_connected(graph)
    level = floors(graph, loops)
    in_functions = sorted(f"{m} -> {t}" for m, e in edges.items() for t, nested in e.items() if nested)
    print(json.dumps({"modules": len(modules), "imports": sum(len(e) for e in edges.values()),
                      "floors": max(level.values()) + 1, "loops": loops,
                      "imports_inside_functions": len(in_functions),
                      "tallest": sorted(m for m in level if level[m] == max(level.values()))[:10],
                      "floor_of": dict(sorted(level.items(), key=lambda kv: (kv[1], kv[0])))}))


if __name__ == "__main__":
    main()
