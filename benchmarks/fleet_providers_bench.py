"""What session providers cost a fleet run: the same fleet with and without them.

Run ``python benchmarks/fleet_providers_bench.py`` (2,000 accounts x 1 virtual hour
of ``examples/ks_refresh.fleet.yaml`` from 20:00; ``--accounts``, ``--hours`` and
``--repeat`` change it). The fleet runs in this process, alternately as written
(70 % of accounts on OTT, 20 % on OVP, 10 % with no provider) and with every
account's provider removed (``providers.mix: {none: 100%}``), ``--repeat`` times
each; the same accounts, devices and viewing either way.

It reports, for each, the best (lowest) shard CPU time, the world events processed
per CPU-second and the CPU milliseconds per play, and the ratio of the two: a play
with a provider obtains a KS (now and then a refresh or a login) and loads the media
entry over the OTT or OVP link before its SSM setup, so it costs more events; the
ratio of CPU per play is the price of the KS series. Both are measured in the same
run, so the machine's load affects them alike. The exit status is 1 if the run with
providers saw no KS refresh (the benchmark would not measure what it claims).
"""

from __future__ import annotations

import argparse
import os
import sys

import attrs

from player_sim.fleet import FleetResult, FleetSpec, load_fleet, run_fleet
from player_sim.fleet._spec import Choice

FLEET = os.path.join(os.path.dirname(__file__), "..", "examples", "ks_refresh.fleet.yaml")


def spec_of(accounts: int, hours: float, providers: bool) -> FleetSpec:
    spec = load_fleet(FLEET, {"accounts.count": accounts, "duration": f"{hours:g}h"})
    spec = attrs.evolve(spec, start=spec.start + 3600.0)  # 20:00, the busiest hour
    if not providers:
        spec = attrs.evolve(spec, providers=attrs.evolve(spec.providers,
                                                         mix=Choice((0,), (1.0,))))
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"fleet: {FLEET}, {args.accounts:,} accounts x {args.hours:g} virtual hour(s) "
          f"from 20:00, {args.repeat} alternating runs each, in process", flush=True)
    best: dict[bool, FleetResult] = {}
    for _ in range(args.repeat):
        for providers in (True, False):
            result = run_fleet(spec_of(args.accounts, args.hours, providers))
            if providers not in best or result.cpu_seconds < best[providers].cpu_seconds:
                best[providers] = result
    rows = {}
    for providers in (False, True):
        result = best[providers]
        s = result.summary()
        per_play = 1000 * result.cpu_seconds / max(s["plays"], 1)
        rate = result.events / result.cpu_seconds
        rows[providers] = (rate, per_play)
        p = s["providers"]
        print(f"\n{'with' if providers else 'without'} session providers:")
        print(f"  shard CPU {result.cpu_seconds:7.2f} s   events {result.events:,}   "
              f"{rate:,.0f} events per CPU-second   {per_play:.3f} CPU ms per play "
              f"({s['plays']:,} plays)")
        print(f"  logins {p['ott']['logins'] + p['ovp']['logins']:,}, KS refreshes "
              f"OTT {p['ott']['ks_refreshes']:,} / OVP {p['ovp']['ks_refreshes']:,}, "
              f"requests OTT {p['ott']['requests']:,} / OVP {p['ovp']['requests']:,}",
              flush=True)
    (rate_off, play_off), (rate_on, play_on) = rows[False], rows[True]
    print(f"\nwith / without: {rate_on / rate_off:.2f} x the events per CPU-second, "
          f"{play_on / play_off:.2f} x the CPU per play")
    refreshes = best[True].total("ks_refreshes")
    if refreshes == 0:
        print("FAIL: the run with providers saw no KS refresh", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
