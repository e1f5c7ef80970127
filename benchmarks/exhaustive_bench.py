"""How fast the exhaustive explorer runs, beside its reference in the same run.

Run ``python benchmarks/exhaustive_bench.py`` (``--quick``: smaller depths). In one run,
alternating, best of ``--rounds`` by CPU time (``time.process_time``: the machine is
shared):

a. the core explorer, ``core/default`` to depth 7 (as ``benchmarks/explore_bench.py``),
   exploring :class:`~player_sim.PlayerCore` as it is (its triggers fired through the
   tables compiled to a lookup, what ``player-sim explore --exhaustive`` runs) and
   :class:`~player_sim.explore._reference.MachineCore`, the same core firing them through
   the ``transitions`` machines (the reference, as the core fired before issue 17);
b. the small world, ``world/setup-first`` to depth 9, the same two ways;
c. with ``--baseline DIR``, each exploration on the code checked out at ``DIR`` (say,
   ``git worktree add /tmp/main main``), in another process, in the same rounds: the
   ratio against it is the speed-up of this checkout over that one;
d. judgement's share: ``core/default`` at (a)'s depth judging every rule, judging
   :data:`ONE_RULE` alone (``rules=``, ``--rule``), and judging none (``rules=()``:
   the search, the core's steps, their records and the state keys, without a monitor),
   alternating. The last is the ceiling of the search in Python as it is built: no
   work on the monitors takes the explorer past it. No target.

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
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

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
#: The rule (d) judges alone.
ONE_RULE = "ssm.license.carries-token"
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


#: Run in a subprocess on ``--baseline``'s code: one exploration, timed like ``_timed``.
_BASELINE_RUN = """
import json, sys, time
from player_sim.explore import CORE_CONFIGS, WORLD_CONFIGS, explore_core, explore_world
what, depth = sys.argv[1], int(sys.argv[2])
start = time.process_time()
if what == "core":
    r = explore_core(CORE_CONFIGS["default"], depth, "default")
else:
    r = explore_world(WORLD_CONFIGS["setup-first"], depth, "setup-first")
print(json.dumps({"seconds": time.process_time() - start, "states": r.states,
                  "steps": r.steps}))
"""


def _baseline(path: str, what: str, depth: int) -> dict[str, Any]:
    """One exploration timed on the code checked out at ``path`` (another process)."""
    env = {**os.environ, "PYTHONPATH": path}
    out = subprocess.run([sys.executable, "-c", _BASELINE_RUN, what, str(depth)], env=env,
                         cwd=path, capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def compare(what: str, depth: int, rounds: int, baseline: str | None = None
            ) -> tuple[float, bool]:
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
    base_best, base_found = float("inf"), None
    for _ in range(rounds):
        for compiled in (False, True):
            result, seconds = _timed(lambda compiled=compiled: run(compiled))
            results[compiled] = result
            best[compiled] = min(best[compiled], seconds)
        if baseline is not None:
            base_found = _baseline(baseline, what, depth)
            base_best = min(base_best, base_found["seconds"])
    fast, reference = results[True], results[False]
    ok = fast == reference
    if base_found is not None:
        ok = ok and (base_found["states"], base_found["steps"]) == (fast.states, fast.steps)
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
    if baseline is not None:
        base_rate = fast.states / base_best
        print(f"   {'baseline ' + Path(baseline).name:<28} {base_best:7.2f} {base_rate:9.0f} "
              f"{fast.steps / base_best:9.0f}")
        print(f"   ratio PlayerCore / baseline: {rate[True] / base_rate:.2f}")
    checked = "recorded reference and " if recorded_name is not None else ""
    print(f"   same states and verdicts as the {checked}reference run: "
          f"{'yes' if ok else 'NO'}")
    return rate[True], ok


def judgement(depth: int, rounds: int) -> bool:
    """(d): core/default judging every rule, :data:`ONE_RULE` alone and none, alternating;
    print each rate beside the first; return whether the checks held (the one rule finds
    what it finds among all; coverage is the same three ways)."""
    ways: dict[str, tuple[str, ...] | None] = {"every rule": None, ONE_RULE: (ONE_RULE,),
                                               "no rule (rules=())": ()}
    best = dict.fromkeys(ways, float("inf"))
    results: dict[str, CoreExploration] = {}
    for _ in range(rounds):
        for way, rules in ways.items():
            result, seconds = _timed(lambda rules=rules: explore_core(
                CORE_CONFIGS["default"], depth, "default", rules=rules))
            results[way] = cast(CoreExploration, result)
            best[way] = min(best[way], seconds)
    every = results["every rule"]
    ok = all((r.reached, r.rows) == (every.reached, every.rows) for r in results.values())
    ok = ok and list(results[ONE_RULE].violations) == [
        v for v in every.violations if v.rule_id == ONE_RULE]
    ok = ok and not results["no rule (rules=())"].violations
    print(f"core/default to depth {depth}, judging:")
    print(f"   {'rules judged':<28} {'states':>7} {'CPU s':>7} {'states/s':>9} {'x every':>8}")
    base = every.states / best["every rule"]
    for way, result in results.items():
        rate = result.states / best[way]
        print(f"   {way:<28} {result.states:7d} {best[way]:7.2f} {rate:9.0f} "
              f"{rate / base:8.2f}")
    print(f"   same coverage, and the one rule's violations as among all: "
          f"{'yes' if ok else 'NO'}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="core to depth 6 and the world to depth 7 (no recorded check)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="runs of each way; the fastest counts (default 2)")
    parser.add_argument("--baseline", metavar="DIR",
                        help="also time the same explorations on the code checked out at "
                             "DIR (e.g. main's), in another process, alternating; its "
                             "states and steps must be the same")
    args = parser.parse_args(argv)
    core_depth, world_depth = (6, 7) if args.quick else (7, 9)
    core_rate, core_ok = compare("core", core_depth, args.rounds, args.baseline)
    _, world_ok = compare("world", world_depth, args.rounds, args.baseline)
    judged_ok = judgement(core_depth, args.rounds)
    met = core_rate >= TARGET_STATES_PER_S
    print(f"target: the core explorer at least {TARGET_STATES_PER_S:,} states per "
          f"CPU second: {core_rate:,.0f} ({core_rate / TARGET_STATES_PER_S:.2f} of it), "
          f"{'met' if met else 'MISSED'}")
    return 0 if met and core_ok and world_ok and judged_ok else 1


if __name__ == "__main__":
    sys.exit(main())
