"""How long drawing timelines and collecting scenarios with pytest take.

Run ``python benchmarks/timeline_bench.py`` from the repository root. It measures:

a. drawing every bundled scenario of the default run as an SVG timeline
   (``render_timeline``; the scenarios are run once beforehand, not timed);
b. drawing one large trace: 100 devices of 25 accounts playing for 2 virtual
   hours with a heartbeat every 30 s (about 50,000 trace records);
c. ``python -m pytest scenarios -q`` in a fresh process (interpreter start,
   plugin loading, collection and every scenario run included).

Each is repeated (``--repeat``, default 5; the subprocess 3 times) and the
median is reported. Targets: (a) under 0.5 s, (b) under 1 s, (c) under 3 s of
wall time on this machine. The exit status is 1 when a target is missed or a
drawing is not byte-identical when repeated.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from player_sim import DeviceConfig, SsmConfig, Trace, World, WorldConfig, render_timeline
from player_sim.scenario import discover, load_scenario, run_scenario

TARGETS = {"a": 0.5, "b": 1.0, "c": 3.0}
T = TypeVar("T")


def median_time(action: Callable[[], T], repeat: int) -> tuple[float, T]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def large_trace() -> tuple[Trace, float]:
    world = World(WorldConfig(ssm=SsmConfig(max_sessions_per_account=4)), seed=1)
    for index in range(100):
        device = world.add_device(DeviceConfig(f"device-{index:03}", f"account-{index % 25}",
                                               ssm_server_url="https://ssm.example/"))
        device.play(f"channel-{index % 7}")
        world.run_for(0.5)
    world.run_until(7200)
    return world.trace, world.now


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    failed = False

    runs = [(load_scenario(path), path) for path in discover(["scenarios"])]
    results = [(scenario, run_scenario(scenario)) for scenario, _ in runs]

    def draw_all() -> list[str]:
        return [render_timeline(r.trace, s.name, end=r.duration) for s, r in results]

    seconds, drawings = median_time(draw_all, args.repeat)
    same = drawings == draw_all()
    size = sum(len(d) for d in drawings)
    print(f"a. {len(results)} bundled scenarios drawn: {seconds:.3f} s "
          f"({size / 1000:.0f} kB of SVG; byte-identical when repeated: {same}; "
          f"target < {TARGETS['a']} s)")
    failed |= seconds >= TARGETS["a"] or not same

    trace, end = large_trace()
    seconds, svg = median_time(lambda: render_timeline(trace, "large", end=end), args.repeat)
    same = svg == render_timeline(trace, "large", end=end)
    print(f"b. {len(trace)} records of 100 devices over {end / 3600:g} h drawn: "
          f"{seconds:.3f} s ({len(svg) / 1e6:.1f} MB of SVG; "
          f"byte-identical when repeated: {same}; target < {TARGETS['b']} s)")
    failed |= seconds >= TARGETS["b"] or not same

    command = [sys.executable, "-m", "pytest", "scenarios", "-q", "-p", "no:cacheprovider"]
    walls = []
    for _ in range(3):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:])
            failed = True
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "no output"
    print(f"c. {' '.join(command[1:])}: {statistics.median(walls):.2f} s wall in a fresh "
          f"process ({summary}; target < {TARGETS['c']} s)")
    failed |= statistics.median(walls) >= TARGETS["c"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
