"""How long the whole bundled scenario suite takes.

Run ``python benchmarks/scenarios_bench.py`` from the repository root. It measures:

a. loading and validating every scenario of the default run (``scenarios/``,
   without ``broken/``): YAML, JSON Schema, semantic checks;
b. running them all (synchronous World, every expectation and invariant
   monitored after each instant), with the events simulated per second;
c. the README's command end to end, ``player-sim run -q``, in a fresh process
   (interpreter start and imports included).

Each is repeated (``--repeat``, default 5; the subprocess 3 times) and the
median is reported. Target: (c) under 2 s of wall time on this machine. The
exit status is 1 when the target is missed or a bundled scenario fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from player_sim.scenario import discover, load_scenario, run_scenario

ROOT = Path(__file__).resolve().parent.parent
TARGET = 2.0


def median_time(repeat: int, work: object) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.chdir(ROOT)
    paths = discover(["scenarios"])

    load_s, scenarios = median_time(args.repeat, lambda: [load_scenario(p) for p in paths])
    run_s, results = median_time(args.repeat,
                                 lambda: [run_scenario(s) for s in scenarios])  # type: ignore[union-attr]
    failed = [r.scenario.path for r in results if not r.passed]  # type: ignore[union-attr]
    events = sum(r.events for r in results)  # type: ignore[union-attr]
    virtual = sum(r.duration for r in results)  # type: ignore[union-attr]

    command = [sys.executable, "-m", "player_sim", "run", "-q"]
    cli_s, proc = median_time(3, lambda: subprocess.run(command, capture_output=True,
                                                        text=True, check=False))
    cli_ok = proc.returncode == 0  # type: ignore[union-attr]

    print(f"bundled scenarios: {len(paths)} files, {events} events, "
          f"{virtual / 3600:.1f} virtual hours")
    print(f"a. load + validate all   {load_s * 1000:8.1f} ms")
    print(f"b. run all               {run_s * 1000:8.1f} ms   "
          f"({events / run_s:,.0f} events/s)")
    print(f"c. player-sim run -q     {cli_s * 1000:8.1f} ms   (fresh process; target "
          f"< {TARGET:.0f} s: {'met' if cli_s < TARGET else 'MISSED'})")
    if failed or not cli_ok:
        print(f"failing scenarios: {failed or proc.stdout}")  # type: ignore[union-attr]
        return 1
    return 0 if cli_s < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
