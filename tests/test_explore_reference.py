"""The exhaustive explorations the project ships find exactly what they found when recorded.

``player-sim explore --exhaustive`` at its default depth (every core configuration,
every small world), the core and the small world of ``benchmarks/explore_bench.py``
and the exhaustive run of the bundled SDK variant (``examples/acme_sdk.py``) are
summarised (states, steps, states reached, table rows taken, every violation with
its shortest path) and compared with ``tests/data/exhaustive_reference.json``. A
change to the explorer that alters the number of states or any verdict fails here.

A change that means to alter them rewrites the file in the same commit, with the
reason in its message: ``python tests/test_explore_reference.py --write``.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from player_sim.explore import (
    CORE_CONFIGS,
    WORLD_CONFIGS,
    CoreExploration,
    ShortestPath,
    WorldExploration,
    explore_core,
    explore_exhaustive,
    explore_world,
)

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "tests" / "data" / "exhaustive_reference.json"


def _paths(paths: tuple[ShortestPath, ...]) -> list[list[Any]]:
    return [[p.rule_id, p.message, p.where, list(p.steps)] for p in paths]


def _core(c: CoreExploration) -> dict[str, Any]:
    return {"config": c.config, "depth": c.depth, "states": c.states, "steps": c.steps,
            "reached": sorted(f"{m} {s}" for m, s in c.reached),
            "rows": sorted(str(r) for r in c.rows),
            "violations": _paths(c.violations), "contract": _paths(c.contract)}


def _world(w: WorldExploration) -> dict[str, Any]:
    return {"config": w.config, "depth": w.depth, "states": w.states, "steps": w.steps,
            "violations": _paths(w.violations)}


def _acme_report() -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "examples"))
    try:
        sdk = importlib.import_module("acme_sdk").AcmeSdk
    finally:
        sys.path.remove(str(REPO / "examples"))
    report = explore_exhaustive(4, sdk=sdk())
    return {"core": [_core(c) for c in report.core], "world": [_world(w) for w in report.world]}


def _cli_default() -> dict[str, Any]:
    report = explore_exhaustive(6)  # what `player-sim explore --exhaustive` runs
    return {"core": [_core(c) for c in report.core], "world": [_world(w) for w in report.world]}


#: Each shipped exploration, by name: what it runs, summarised.
EXPLORATIONS = {
    "cli-default-depth-6": _cli_default,
    "bench-core-default-7": lambda: _core(explore_core(CORE_CONFIGS["default"], 7, "default")),
    "bench-world-setup-first-9": lambda: _world(
        explore_world(WORLD_CONFIGS["setup-first"], 9, "setup-first")),
    "acme-sdk-depth-4": _acme_report,
}


def _recorded() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(EXPLORATIONS))
def test_exploration_finds_what_was_recorded(name: str) -> None:
    assert EXPLORATIONS[name]() == _recorded()[name]


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_explore_reference.py --write")
    REFERENCE.write_text(json.dumps({name: run() for name, run in EXPLORATIONS.items()},
                                    indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {REFERENCE}")
