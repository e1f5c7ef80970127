"""How fast a fleet runs, on 1 and on 2 worker processes, and what 10 million accounts
would cost.

Run ``python benchmarks/fleet_bench.py`` (100,000 accounts x 1 virtual hour of
``examples/prime_time.fleet.yaml`` starting at 20:00, the busiest hour of
its daily curve, with the match kicking off at 20:45); ``--accounts`` and
``--hours`` change the size, ``--quick`` runs 5,000 accounts.

For each worker count it reports the wall time of the whole run (planning, the
worker processes' start, every shard, the merge), the CPU seconds spent inside
the shards, the world events processed per CPU-second, and each shard's peak
resident memory growth divided by the devices its world held (devices are added
when they first play). It then extrapolates, linearly in accounts, the CPU hours
and the memory of a 10-million-account fleet for the same virtual hour.

The exit status is 1 when the runs on 1 and 2 workers do not give the same
fingerprint (the merged counters must not depend on the split), so the script
is a check, not only a report.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import attrs

from player_sim.fleet import FleetResult, FleetSpec, load_fleet, run_fleet

FLEET = os.path.join(os.path.dirname(__file__), "..", "examples",
                     "prime_time.fleet.yaml")
TARGET_ACCOUNTS = 10_000_000


def measure(accounts: int, hours: float, workers: int) -> tuple[FleetResult, float]:
    spec = _at_eight_pm(load_fleet(FLEET, {"accounts.count": accounts,
                                           "duration": f"{hours:g}h"}))
    wall = time.perf_counter()
    result = run_fleet(spec, workers=workers, shards=2 * workers if workers > 1 else 1)
    return result, time.perf_counter() - wall


def _at_eight_pm(spec: FleetSpec) -> FleetSpec:
    """The same fleet, started an hour later (events keep their time of day)."""
    shift = 3600.0  # the file starts at 19:00; the busiest hour begins at 20:00
    events = tuple(attrs.evolve(e, at=e.at - shift) for e in spec.viewing.events)
    return attrs.evolve(spec, start=spec.start + shift,
                        viewing=attrs.evolve(spec.viewing, events=events))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="5,000 accounts")
    args = parser.parse_args(argv)
    accounts = 5000 if args.quick else args.accounts
    print(f"fleet: {FLEET}, {accounts:,} accounts x {args.hours:g} virtual hour(s) "
          f"from 20:00; {os.cpu_count()} CPUs", flush=True)
    runs = {}
    for workers in (1, 2):
        result, wall = measure(accounts, args.hours, workers)
        runs[workers] = result
        s = result.summary()
        print(f"\n{workers} worker(s), {result.shards} shard(s):")
        print(f"  wall {wall:8.1f} s   shard CPU {result.cpu_seconds:8.1f} s   "
              f"events {result.events:,}   "
              f"{result.events / result.cpu_seconds:,.0f} events per CPU-second   "
              f"{result.events / wall:,.0f} events per wall second")
        print(f"  devices in the fleet {result.viewers:,}, in a world (played) "
              f"{result.devices:,}; peak shard RSS {result.shard_peak_rss_kb / 1024:,.0f} MiB; "
              f"{result.memory_per_device_kb:.1f} KiB of peak RSS growth per device")
        print(f"  plays {s['plays']:,}, refused {100 * s['refused_fraction']:.2f}%, peak "
              f"{s['gauges']['active_sessions']['peak']:,} sessions, "
              f"{s['rates']['setups']['peak_per_second']} setups/s, p99 "
              f"{s['rates']['heartbeats']['p99_per_second']:g} heartbeats/s", flush=True)
    one, two = runs[1], runs[2]
    scale = TARGET_ACCOUNTS / accounts
    cpu_hours = one.cpu_seconds * scale / 3600
    memory_gib = one.memory_per_device_kb * one.devices * scale / 1024 ** 2
    print(f"\n10,000,000 accounts x {args.hours:g} virtual hour(s), extrapolated linearly "
          f"from {accounts:,}:")
    print(f"  {cpu_hours:,.1f} CPU hours ({one.events * scale:,.0f} events); on 64 workers "
          f"about {cpu_hours / 64 * 60:,.0f} minutes of wall time")
    print(f"  {memory_gib:,.1f} GiB of world state in all, e.g. 64 shards of "
          f"{memory_gib / 64:,.2f} GiB each (memory grows with the devices that play)")
    if one.fingerprint() != two.fingerprint():
        print("FAIL: 1 and 2 workers gave different fingerprints", file=sys.stderr)
        return 1
    print(f"\nsame fingerprint on 1 and 2 workers: {one.fingerprint()[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
