"""How fast the exhaustive explorer runs, beside its reference in the same run.

Run ``python benchmarks/exhaustive_bench.py`` (``--quick``: smaller depths). In one run,
alternating, best of ``--rounds`` by CPU time (``time.process_time``: the machine is
shared):

a. the core explorer, ``core/default`` to depth 7 (as ``benchmarks/explore_bench.py``),
   exploring :class:`~player_sim.PlayerCore` as it is (its triggers fired through the
   tables compiled to a lookup, what ``player-sim explore --exhaustive`` runs) and
   :class:`~player_sim.explore._reference.MachineCore`, the same core firing them through
   the ``transitions`` machines (the reference, as the core fired before issue 17);
b. the small world, ``world/setup-first`` to depth 9, the same two ways.

States are the distinct states merged (``CoreExploration.states``), per CPU second of
the whole exploration (successors, checker copies, state keys).

Sanity checks: both ways find the same states, steps, states reached, table rows and
violations (with their shortest paths), and at the full depths the same as recorded in
``tests/data/exhaustive_reference.json`` (what main found). The exit status is 1 when
anything differs, or when the core explorer merges fewer than
:data:`TARGET_STATES_PER_S` states per CPU second (issue 17's target).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from player_sim import PlayerCore
from player_sim.explore import (
    CORE_CONFIGS,
    WORLD_CONFIGS,
    CoreExploration,
    WorldExploration,
    explore_core,
    explore_world,
)
from player_sim.explore._reference import MachineCore

#: Issue 17's target for the core explorer, in states per CPU second.
TARGET_STATES_PER_S = 50_000
REFERENCE = Path(__file__).resolve().parent.parent / "tests" / "data" / \
    "exhaustive_reference.json"
#: The recorded reference of each full-depth exploration (tests/test_explore_reference.py).
RECORDED = {("core", 7): "bench-core-default-7", ("world", 9): "bench-world-setup-first-9"}

Exploration = CoreExploration | WorldExploration


def _timed(run: Callable[[], Exploration]) -> tuple[Exploration, float]:
    start = time.process_time()
    result = run()
    return result, time.process_time() - start


def _summary(result: Exploration) -> dict[str, Any]:
    """What the recorded reference holds of an exploration (the regression test's form)."""
    paths = [[p.rule_id, p.message, p.where, list(p.steps)] for p in result.violations]
    out: dict[str, Any] = {"config": result.config, "depth": result.depth,
                           "states": result.states, "steps": result.steps, "violations": paths}
    if isinstance(result, CoreExploration):
        out["reached"] = sorted(f"{m} {s}" for m, s in result.reached)
        out["rows"] = sorted(str(r) for r in result.rows)
        out["contract"] = [[p.rule_id, p.message, p.where, list(p.steps)]
                           for p in result.contract]
    return out


def compare(what: str, depth: int, rounds: int) -> tuple[float, bool]:
    """Run ``what`` (core or world) with the core as it is and with the reference core,
    alternating; print both rates and their ratio; return the core's rate and whether
    all checks held."""
    if what == "core":
        def run(compiled: bool) -> Exploration:
            return explore_core(CORE_CONFIGS["default"], depth, "default",
                                core_type=PlayerCore if compiled else MachineCore)
        name = f"core/default to depth {depth}"
    else:
        def run(compiled: bool) -> Exploration:
            return explore_world(WORLD_CONFIGS["setup-first"], depth, "setup-first",
                                 core_type=PlayerCore if compiled else MachineCore)
        name = f"world/setup-first to depth {depth}"
    best = {True: float("inf"), False: float("inf")}
    results: dict[bool, Exploration] = {}
    for _ in range(rounds):
        for compiled in (False, True):
            result, seconds = _timed(lambda compiled=compiled: run(compiled))
            results[compiled] = result
            best[compiled] = min(best[compiled], seconds)
    fast, reference = results[True], results[False]
    ok = fast == reference
    recorded_name = RECORDED.get((what, depth))
    if recorded_name is not None:
        recorded = json.loads(REFERENCE.read_text(encoding="utf-8"))[recorded_name]
        ok = ok and _summary(fast) == recorded
    rate = {c: results[c].states / best[c] for c in best}
    print(f"{name}: {fast.states} states, {fast.steps} steps, "
          f"{len(fast.violations)} violations")
    print(f"   {'explorer':<28} {'CPU s':>7} {'states/s':>9} {'steps/s':>9}")
    for compiled, label in ((False, "MachineCore (transitions)"),
                            (True, "PlayerCore (compiled tables)")):
        print(f"   {label:<28} {best[compiled]:7.2f} {rate[compiled]:9.0f} "
              f"{results[compiled].steps / best[compiled]:9.0f}")
    print(f"   ratio PlayerCore / MachineCore: {rate[True] / rate[False]:.2f}")
    checked = "recorded reference and " if recorded_name is not None else ""
    print(f"   same states and verdicts as the {checked}reference run: "
          f"{'yes' if ok else 'NO'}")
    return rate[True], ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="core to depth 6 and the world to depth 7 (no recorded check)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="runs of each way; the fastest counts (default 2)")
    args = parser.parse_args(argv)
    core_depth, world_depth = (6, 7) if args.quick else (7, 9)
    core_rate, core_ok = compare("core", core_depth, args.rounds)
    _, world_ok = compare("world", world_depth, args.rounds)
    met = core_rate >= TARGET_STATES_PER_S
    print(f"target: the core explorer at least {TARGET_STATES_PER_S:,} states per "
          f"CPU second: {core_rate:,.0f} ({core_rate / TARGET_STATES_PER_S:.2f} of it), "
          f"{'met' if met else 'MISSED'}")
    return 0 if met and core_ok and world_ok else 1


if __name__ == "__main__":
    sys.exit(main())
