"""Dependencies point one way (ARCHITECTURE.md, principle 9).

Every module under ``player_sim/`` is parsed with :mod:`ast`; every import
counts, wherever it is: at module level, inside a function, or under
``TYPE_CHECKING``. Two checks over that graph:

* no cycle between modules (the message names the cycle, module by module);
* a module imports only from its own layer or lower ones (:data:`LAYERS`).

A module's layer is that of its top-level part of ``player_sim`` (a package
and its ``__init__`` re-exports are one part); ``player_sim/__init__.py``, the
curated public API, sits at the top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

PACKAGE: Final = Path(__file__).resolve().parent.parent / "player_sim"

#: The layers, bottom first. A module may import from its own layer and the ones
#: below it, never from a layer above. The README's "Architecture" points here.
LAYERS: Final[tuple[frozenset[str], ...]] = (
    frozenset({"_errors", "_validators", "_keyed", "_durations", "_problems", "_limits",
               "_collector", "_lazy"}),
    frozenset({"_messages", "_trace_kinds", "trace", "signals"}),  # wire values, trace, signals
    frozenset({"player"}),                           # tables, the pure core, app policies
    frozenset({"backends"}),                         # simulated SSM, license, OTT, OVP
    frozenset({"providers"}),                        # reach backends through BackendPort
    frozenset({"world"}),                            # clock, queue, network, Device
    frozenset({"rules"}),                            # catalogue and monitors over traces
    frozenset({"scenario", "explore", "_timeline", "fleet", "serve", "traffic", "capture"}),
    frozenset({"cli", "pytest_plugin", "__main__", "__init__"}),
)


def _modules() -> dict[str, Path]:
    """Every module's dotted name (a package by its own name) and its file."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["player_sim", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES: Final = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _nearest_module(dotted: str) -> str | None:
    parts = dotted.split(".")
    while parts:
        name = ".".join(parts)
        if name in MODULES:
            return name
        parts.pop()
    return None


def _imports(name: str) -> Iterator[str]:
    """The modules of ``player_sim`` that module ``name`` imports, anywhere in it."""
    tree = ast.parse(MODULES[name].read_text(), str(MODULES[name]))
    package = name if _is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _nearest_module(alias.name)
                if target is not None:
                    yield target
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[:len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if not base.startswith("player_sim"):
                continue
            for alias in node.names:
                # ``from pkg import submodule`` imports the submodule; ``from pkg import
                # name`` imports the package (its ``__init__`` re-exports).
                target = _nearest_module(f"{base}.{alias.name}") or _nearest_module(base)
                if target is not None:
                    yield target


GRAPH: Final = {name: sorted(set(_imports(name)) - {name}) for name in MODULES}


def _part(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(name: str) -> int:
    part = _part(name)
    for index, members in enumerate(LAYERS):
        if part in members:
            return index
    raise AssertionError(f"player_sim.{part} is in no layer: add it to LAYERS in "
                         f"{Path(__file__).name}")


def _cycles() -> list[list[str]]:
    """One cycle (as a path that returns to its start) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan; the graph is a few dozen modules deep at most
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in GRAPH[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    return [_path_through(component) for component in components]


def _path_through(component: list[str]) -> list[str]:
    """A shortest cycle from the component's first module back to itself."""
    members, start = set(component), component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for succ in GRAPH[node]:
                if succ == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if succ in members and succ not in previous:
                    previous[succ] = node
                    following.append(succ)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def test_the_graph_is_read() -> None:
    assert "player_sim.world._world" in GRAPH
    assert "player_sim._errors" in GRAPH["player_sim.player._core"]
    # an import inside a function counts
    assert "player_sim.scenario" in GRAPH["player_sim.cli"]


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        _layer(name)


def test_no_import_cycles() -> None:
    cycles = _cycles()
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_imports_point_down() -> None:
    upward = [f"{name} (layer {_layer(name)}) imports {target} (layer {_layer(target)})"
              for name, targets in GRAPH.items() for target in targets
              if _layer(target) > _layer(name)]
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_the_readme_layer_table_is_these_layers() -> None:
    """README "Architecture" lists exactly :data:`LAYERS`, one row per layer."""
    import re

    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("| layer | modules | what |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| (\d) \| ([^|]+) \|", table, re.M)
    listed = [(int(n), frozenset(name.strip("`/").removesuffix(".py")
                                 for name in re.findall(r"`[^`]+`", cell)))
              for n, cell in rows]
    assert listed == list(enumerate(LAYERS)), "update README 'Architecture' to LAYERS"
