"""How fast a week of KS refreshes simulates.

Run ``python benchmarks/providers_bench.py``. In one run:

a. one device with an OTT user session (``OttSessionProvider``, the ``android``
   refresh policy, 24 h KSs) plays an asset under SSM (a heartbeat every 30 s)
   and zaps every hour for 7 virtual days: each zap asks for a KS, so the
   session refreshes about daily. It runs twice through the real World and
   Device code: inside the trio shell (``Simulation`` under
   ``MockClock(autojump_threshold=0)``, one ``await sim.sleep`` per zap) and
   through the synchronous ``World.run_until``. Target: under 1 s of wall time
   each.
b. a provider alone, asked for a KS every minute for 7 virtual days (10,080
   token requests, each answer used at once by a ``session/get``), through
   ``World.run_until``.

Wall times come from ``time.perf_counter`` and cover the simulated week only.
The exit status is 1 when a target is missed or a sanity check fails (not
playing at the end, fewer than 6 refreshes, a KS used while not valid).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import attrs
import trio
import trio.testing

from player_sim import DeviceConfig, PlaybackState, Simulation, World, WorldConfig
from player_sim.backends import OttConfig
from player_sim.providers import OttSessionProvider, PhoenixMediaProvider, PrimitiveResult

DAYS = 7
HOUR = 3600.0
WEEK_WALL_TARGET = 1.0
#: An OTT base URL includes its API path (DOMAIN.md).
OTT_URL = "https://phoenix.example/api_v3/"
MIN_REFRESHES = DAYS - 1


@attrs.frozen
class Measure:
    name: str
    seconds: float
    events: int
    refreshes: int
    ks_uses: int
    invalid_uses: int
    playing: bool = True

    def problems(self) -> list[str]:
        found = []
        if self.refreshes < MIN_REFRESHES:
            found.append(f"{self.name}: {self.refreshes} refreshes, expected >= {MIN_REFRESHES}")
        if self.invalid_uses:
            found.append(f"{self.name}: {self.invalid_uses} KS uses while not valid")
        if not self.playing:
            found.append(f"{self.name}: not playing at the end of the week")
        return found


def world_config() -> WorldConfig:
    return WorldConfig(ott=OttConfig(users={"alice": "pw"}))


def device_config() -> DeviceConfig:
    return DeviceConfig(name="phone", account="alice", ssm_server_url="https://ssm.example/",
                        session_provider=OttSessionProvider(OTT_URL, 3009),
                        media=PhoenixMediaProvider(formats=("HD",)))


def measure(name: str, world: World, seconds: float, playing: bool = True) -> Measure:
    used = world.trace.of_kind("ks_used")
    return Measure(name, seconds, world.events_processed,
                   len(world.trace.of_kind("ks_refreshed")), len(used),
                   sum(1 for r in used if not r.data["valid"]), playing)


def week_in_simulation() -> Measure:
    result: list[Measure] = []

    async def main() -> None:
        async with Simulation(world_config(), seed=1) as sim:
            phone = sim.add_device(device_config())
            phone.login("alice", "pw")
            await sim.sleep(1)
            start = time.perf_counter()
            phone.play("asset-0")
            for hour in range(1, DAYS * 24):
                await sim.sleep(HOUR)
                phone.zap(f"asset-{hour % 10}")
            await sim.sleep(10)
            seconds = time.perf_counter() - start
            result.append(measure("week, Simulation (trio)", sim.world, seconds,
                                  phone.playback_state is PlaybackState.PLAYING))

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return result[0]


def week_in_world() -> Measure:
    world = World(world_config(), seed=1)
    phone = world.add_device(device_config())
    phone.login("alice", "pw")
    world.run_for(1)
    start = time.perf_counter()
    phone.play("asset-0")
    for hour in range(1, DAYS * 24):
        world.run_for(HOUR)
        phone.zap(f"asset-{hour % 10}")
    world.run_for(10)
    seconds = time.perf_counter() - start
    return measure("week, World.run_until", world, seconds,
                   phone.playback_state is PlaybackState.PLAYING)


def provider_alone() -> Measure:
    world = World(world_config(), seed=1)
    provider = OttSessionProvider(OTT_URL, 3009)
    provider.attach(world, "phone")
    provider.start_session("alice", "pw", "phone")
    world.run_for(1)
    binding = provider.binding

    def use(result: PrimitiveResult) -> None:
        ks = result.value
        if ks is not None:
            binding.call("ott", "session/get", lambda: world.ott.session_get("phone", ks),
                         _ignore, ks=ks)

    start = time.perf_counter()
    for _ in range(DAYS * 24 * 60):
        provider.get_ks(use)
        world.run_for(60)
    seconds = time.perf_counter() - start
    return measure("provider alone, a KS a minute", world, seconds)


def _ignore(_: object) -> None:
    pass


def table(rows: list[Measure]) -> str:
    lines = [f"{'run':<32} {'wall s':>8} {'events':>8} {'refreshes':>9} {'KS uses':>8} "
             f"{'invalid':>7}"]
    for m in rows:
        lines.append(f"{m.name:<32} {m.seconds:>8.3f} {m.events:>8,} {m.refreshes:>9} "
                     f"{m.ks_uses:>8,} {m.invalid_uses:>7}")
    return "\n".join(lines)


def main() -> int:
    runs: list[Callable[[], Measure]] = [week_in_simulation, week_in_world, provider_alone]
    print(f"player_sim providers benchmark: {DAYS} virtual days, a 24 h user KS "
          "(android refresh policy)")
    measures = [run() for run in runs]
    print(table(measures))
    print()
    problems = [p for m in measures for p in m.problems()]
    for m in measures[:2]:
        verdict = "ok" if m.seconds < WEEK_WALL_TARGET else "MISSED"
        print(f"{m.name}: {m.seconds:.3f} s wall (target < {WEEK_WALL_TARGET:g} s) {verdict}")
        if m.seconds >= WEEK_WALL_TARGET:
            problems.append(f"{m.name} took {m.seconds:.3f} s")
    for problem in problems:
        print(f"check failed: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
