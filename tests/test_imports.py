"""No import cycle in the package: every `import` and `from` statement, module level or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import backlog_bridge

PACKAGE = Path(backlog_bridge.__file__).parent


def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package (a package is its __init__.py)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports anywhere in its file (functions and branches included)."""
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            parts = here[: len(here) - node.level + 1] if node.level else []
            base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                # `from pkg import sub` imports the module pkg.sub; `from pkg import name` imports pkg.
                target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                if target in modules:
                    found.add(str(target))
    return found - {name}


def import_graph(package: Path) -> dict[str, set[str]]:
    modules = module_files(package)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per group of modules that import each other, as a path that ends where it starts."""
    cycles, done = [], set()
    for start in sorted(graph):
        if start in done:
            continue
        reachable = _reachable(graph, start)
        group = {m for m in reachable if start in _reachable(graph, m)}
        done |= group | {start}
        if group:
            cycles.append(_path(graph, start, start, group))
    return cycles


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _path(graph: dict[str, set[str]], start: str, goal: str, within: set[str]) -> list[str]:
    """A shortest path start -> ... -> goal through `within` (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for nxt in sorted(graph[module] & within):
                if nxt == goal:
                    path = [module]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), goal]
                if nxt not in came_from:
                    came_from[nxt] = module
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no path from {start} to {goal}")


def test_the_package_has_no_import_cycle():
    graph = import_graph(PACKAGE)
    assert len(graph) > 40 and graph["backlog_bridge.pipeline"]  # the walk saw the package
    cycles = find_cycles(graph)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_no_stage_imports_the_pipeline():
    """Stages get values passed in; only the layers in front of the pipeline call it (or show its results)."""
    graph = import_graph(PACKAGE)
    front = {"backlog_bridge.pipeline", "backlog_bridge.cli", "backlog_bridge.__main__", "backlog_bridge.doctor"}
    front |= {"backlog_bridge.output.results"}  # the command line's views of the pipeline's result types
    assert sorted(m for m, imported in graph.items() if "backlog_bridge.pipeline" in imported and m not in front) == []


def test_a_cycle_through_an_import_inside_a_function_is_found_and_named(tmp_path):
    package = tmp_path / "shop"
    (package / "report").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "pipeline.py").write_text("def run():\n    from shop.report.data import gather\n    return gather()\n")
    (package / "report" / "__init__.py").write_text("")
    (package / "report" / "data.py").write_text("from ..pipeline import plan_stage\n")
    (package / "settings.py").write_text("import shop.worker\n")
    (package / "worker.py").write_text("from shop import settings\n")
    (package / "clean.py").write_text("from shop.report import data\nfrom . import settings\n")

    cycles = find_cycles(import_graph(package))

    assert cycles == [
        ["shop.pipeline", "shop.report.data", "shop.pipeline"],
        ["shop.settings", "shop.worker", "shop.settings"],
    ]
