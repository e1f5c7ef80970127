"""How fast whole worlds run under Hypothesis' ``@given``.

Run ``python benchmarks/explore_given_bench.py`` (``--quick`` for a smaller run). In one run:

a. whole scenarios under ``@given(scenario_dicts(EXPLORE_SPACE))``: each example
   is drawn (the strategy runs the world as it draws, to pick accepted actions),
   written as YAML, loaded, run by the scenario runner with every rule monitored.
   Reported: scenarios per second and simulated events per second
   (``ScenarioResult.events``, the world's processed events), wall and CPU time;
b. the same examples again without Hypothesis: load and run only (the share of
   (a) that is the simulation and the monitors, not generation);
c. the search ``player-sim explore`` makes by default for the two known races
   (``--rule ssm.zap.no-self-limit --rule provider.ks.completes``): scenarios run
   (generation, shrinking, minimising) and the wall time to find both.

Settings are fixed (``derandomize=True``, no database, generate phase only for
(a)), so every run does the same work; times come from ``time.perf_counter``
and ``time.process_time``. Exit status 1 when (c) misses a race.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from player_sim.explore import EXPLORE_SPACE, explore_random, scenario_dicts, scenario_yaml
from player_sim.scenario import load_scenario_text, run_scenario

RACES = ("ssm.zap.no-self-limit", "provider.ks.completes")


def under_given(examples: int) -> tuple[list[dict[str, Any]], int, float, float]:
    """(a): the examples drawn, simulated events, wall and CPU seconds."""
    drawn: list[dict[str, Any]] = []
    events = [0]

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=(Phase.generate,), suppress_health_check=list(HealthCheck))
    @given(scenario_dicts(EXPLORE_SPACE))
    def world(data: dict[str, Any]) -> None:
        result = run_scenario(load_scenario_text(scenario_yaml(data), "<bench>"))
        events[0] += result.events
        drawn.append(data)

    wall, cpu = time.perf_counter(), time.process_time()
    world()
    return drawn, events[0], time.perf_counter() - wall, time.process_time() - cpu


def replay(drawn: list[dict[str, Any]]) -> tuple[int, float, float]:
    """(b): load and run the same scenarios, no Hypothesis, no generation."""
    texts = [scenario_yaml(d) for d in drawn]
    events = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        events += run_scenario(load_scenario_text(text, "<bench>")).events
    return events, time.perf_counter() - wall, time.process_time() - cpu


def row(name: str, scenarios: int, events: int, wall: float, cpu: float) -> str:
    return (f"| {name} | {scenarios:,} | {events:,} | {wall:.2f} | {cpu:.2f} | "
            f"{scenarios / wall:,.0f} | {events / wall:,.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 examples instead of 500")
    args = parser.parse_args()
    examples = 100 if args.quick else 500

    drawn, events, wall, cpu = under_given(examples)
    replay_events, replay_wall, replay_cpu = replay(drawn)
    wall_c, cpu_c = time.perf_counter(), time.process_time()
    report = explore_random(rules=RACES)
    search_wall, search_cpu = time.perf_counter() - wall_c, time.process_time() - cpu_c

    print("| run | scenarios | simulated events | wall s | CPU s | scenarios/s | events/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row("(a) whole world under `@given`", len(drawn), events, wall, cpu))
    print(row("(b) the same, load + run only", len(drawn), replay_events, replay_wall,
              replay_cpu))
    print(row("(c) `explore --rule` both races", report.scenarios_run, report.events,
              search_wall, search_cpu))
    assert replay_events == events, "a replay differs from its run under @given"
    found = sorted(set(report.rules) & set(RACES))
    print(f"\n(c) found {', '.join(found) or 'nothing'} with the default budget "
          f"({report.examples} examples per round, seed {report.seed})")
    return 0 if len(found) == len(RACES) else 1


if __name__ == "__main__":
    sys.exit(main())
