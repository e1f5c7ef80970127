"""What creating devices costs, and what a playing device weighs, beside SimPy.

Run ``python benchmarks/devices_bench.py`` (``--quick`` for 1,000 / 3,000 / 10,000
devices instead of 10,000 / 30,000 / 100,000). In one run:

a. **creation**, at each size N: a world (heartbeats untraced, accounts of
   ``DEVICES_PER_ACCOUNT`` devices with the session limit raised to fit, as
   ``world_bench.fleet_config``) gets N SSM devices, each made from its own
   ``DeviceConfig``, added and told to play at time 0 in one ``World.add_devices``
   call (the bulk path: the cyclic GC paused meanwhile); the world then runs until
   every device plays (half a heartbeat period: setup, license, playing). The CPU
   seconds of all that (``time.process_time``: the machine is shared) per device,
   beside ``_peers.simpy_creation(N)``, which creates N SimPy device processes and
   brings each to its first heartbeat wait with a session set up, in the same run.
   Targets: at most ``CREATION_RATIO_TARGET`` x SimPy's CPU time at every size, and
   linear: the CPU time per device at the largest size at most
   ``LINEAR_TARGET`` x the one at the smallest. Shown beside, no target: the same
   devices added one by one (``add_device(config).play(...)``), and the same
   devices with the trace compressed (``WorldConfig(compress_trace=True)``), and
   their ratios.
b. **one account**, at the middle size: the same N devices all in one account (its
   limit raised to N) against accounts of ``DEVICES_PER_ACCOUNT``, CPU per device
   of each. Target: at most ``ONE_ACCOUNT_TARGET`` x (a setup that looks at every
   session of its account makes this quadratic).
c. **memory**, at the largest size: ``tracemalloc`` counts what the world holds
   after (a) beyond what it held empty (after ``gc.collect()``), per device: with
   the trace records the devices' setup wrote, then without them (the trace
   dropped), so the records' share shows; beside the SimPy peer's peak traced
   memory over its own creation run, per device. Measured twice: with the trace
   compressed (``WorldConfig(compress_trace=True)``, what the README says to set
   for a very large fleet, with ``trace_heartbeats=False``) and with the default,
   plain trace. Targets, on the compressed one: at most ``MEMORY_TARGET`` bytes
   per idle-playing device, records included; on both, at most
   ``RECORD_TARGET`` bytes per setup record held (the records' bytes over
   their number), beside the same records held as one plain tuple each (the
   peer: ``(t, device, kind, app, playback, playback_id, *data values)``, its own
   ``t`` float; the values it shares with the trace are not counted again).
   Also shown, no target: the same devices once they have all sent a heartbeat
   (one more heartbeat period; untraced, so no record is added), with the
   records dropped: what a device weighs while it heartbeats.
d. **heartbeat records**, at the smallest size: a world tracing its heartbeats
   gets the same playing devices, runs one heartbeat period (every device's
   first heartbeat), then ``HEARTBEAT_PERIODS`` more: what it holds more
   (``tracemalloc``, after ``gc.collect()``), over the records written meanwhile
   (three per heartbeat: the device's sent and answered, the server's; their
   tokens are held by the trace alone once rotated), beside the same plain-tuple peer; with
   a plain trace and with a compressed one. Target: at most ``RECORD_TARGET`` bytes per
   record, for each.

``--profile`` prints instead the top functions by self time (cProfile) of
creating the largest quick size, so the next person sees where the time goes.

The exit status is 1 when a target is missed or a sanity check fails (a device not
playing), so the script is a check, not only a report.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections.abc import Sequence

import attrs
from _peers import simpy_creation
from world_bench import HEARTBEAT_PERIOD, SSM_URL, device_config, fleet_config

from player_sim import DeviceConfig, PlaybackState, World
from player_sim.trace import Trace

CREATION_RATIO_TARGET = 2.0
LINEAR_TARGET = 1.5
ONE_ACCOUNT_TARGET = 1.5
MEMORY_TARGET = 2048  # bytes per idle-playing device, beyond the empty world
RECORD_TARGET = 150  # bytes per trace record held
HEARTBEAT_PERIODS = 4  # traced heartbeat periods measured in (d)
SIZES = (10_000, 30_000, 100_000)
QUICK_SIZES = (1_000, 3_000, 10_000)


@attrs.frozen
class Creation:
    """N devices created by the world and by the SimPy peer: CPU seconds of each, and
    the world's adding them one by one (``add_device``), and with its trace
    compressed, shown beside."""

    devices: int
    world_cpu: float
    simpy_cpu: float
    one_by_one_cpu: float
    compressed_cpu: float

    @property
    def one_by_one_us(self) -> float:
        return self.one_by_one_cpu / self.devices * 1e6

    @property
    def compressed_us(self) -> float:
        return self.compressed_cpu / self.devices * 1e6

    @property
    def world_us(self) -> float:
        return self.world_cpu / self.devices * 1e6

    @property
    def simpy_us(self) -> float:
        return self.simpy_cpu / self.devices * 1e6

    @property
    def ratio(self) -> float:
        return self.world_cpu / self.simpy_cpu


@attrs.frozen
class Memory:
    """Bytes per device: the world's with and without its records, and SimPy's."""

    compressed: bool
    devices: int
    records: int
    world_bytes: float
    without_records_bytes: float
    heartbeating_bytes: float
    simpy_bytes: float
    peer_records_bytes: float

    @property
    def record_bytes(self) -> float:
        """The records' bytes per device."""
        return self.world_bytes - self.without_records_bytes

    @property
    def bytes_per_record(self) -> float:
        return self.record_bytes * self.devices / self.records

    @property
    def peer_bytes_per_record(self) -> float:
        return self.peer_records_bytes * self.devices / self.records


@attrs.frozen
class HeartbeatRecords:
    """What a traced world holds more for its heartbeat records, and the peer."""

    compressed: bool
    devices: int
    records: int
    trace_bytes: int
    peer_bytes: int

    @property
    def bytes_per_record(self) -> float:
        return self.trace_bytes / self.records

    @property
    def peer_bytes_per_record(self) -> float:
        return self.peer_bytes / self.records


def as_tuples(trace: Trace, start: int = 0) -> list[tuple[object, ...]]:
    """The peer: each record of ``trace`` from ``start`` as one plain tuple, with a
    ``t`` float of its own (``+ 0.0`` makes a new one)."""
    return [(r.t + 0.0, r.device, r.kind, r.app, r.playback, r.playback_id,
             *r.data.values()) for r in trace[start:]]


def populate(world: World, devices: int, *, one_account: bool = False,
             one_by_one: bool = False) -> list[str]:
    """Add ``devices`` playing SSM devices to ``world`` at its ``now`` (in accounts of
    ``world_bench.DEVICES_PER_ACCOUNT``, or all in one) and run until they play;
    returns what the sanity check found wrong. The devices are added, each told to
    play as it is added, in one ``World.add_devices`` call (made for this), or
    ``one_by_one`` with ``add_device``: the same world and trace either way. (A
    ``World`` without ``add_devices``, an older one, adds them one by one.)"""
    configs = (DeviceConfig(name=f"device-{index}", account="account-0",
                            ssm_server_url=SSM_URL) if one_account
               else device_config(index) for index in range(devices))
    if one_by_one or not hasattr(world, "add_devices"):
        for config in configs:
            world.add_device(config).play("channel-1")
    else:
        world.add_devices(configs, play="channel-1")
    world.run_for(HEARTBEAT_PERIOD / 2)
    not_playing = sum(1 for d in world.devices if d.core.playback is not PlaybackState.PLAYING)
    return [f"{not_playing} of {devices:,} devices are not playing"] if not_playing else []


def world_creation(devices: int, *, one_account: bool = False, one_by_one: bool = False,
                   compressed: bool = False) -> tuple[float, list[str]]:
    """CPU seconds to create ``devices`` playing devices (the world made beforehand)."""
    made = fleet_config(traced=False, compressed=compressed)
    if one_account:
        made = attrs.evolve(made, ssm=attrs.evolve(made.ssm, max_sessions_per_account=devices))
    world = World(made, seed=1)
    gc.collect()
    cpu = time.process_time()
    problems = populate(world, devices, one_account=one_account, one_by_one=one_by_one)
    cpu = time.process_time() - cpu
    del world
    gc.collect()
    return cpu, problems


def creation(devices: int) -> tuple[Creation, list[str]]:
    world_cpu, problems = world_creation(devices)
    gc.collect()
    simpy_cpu, _ = simpy_creation(devices)
    gc.collect()
    one_by_one_cpu, more = world_creation(devices, one_by_one=True)
    gc.collect()
    compressed_cpu, most = world_creation(devices, compressed=True)
    gc.collect()
    return (Creation(devices, world_cpu, simpy_cpu, one_by_one_cpu, compressed_cpu),
            problems + more + most)


def memory(devices: int, compressed: bool) -> tuple[Memory, list[str]]:
    """Traced bytes per device of the world (with, then without records) and SimPy."""
    gc.collect()
    tracemalloc.start()
    try:
        world = World(fleet_config(traced=False, compressed=compressed), seed=1)
        gc.collect()
        empty = tracemalloc.get_traced_memory()[0]
        problems = populate(world, devices)
        records = len(world.trace)
        gc.collect()
        built = tracemalloc.get_traced_memory()[0]
        peer = as_tuples(world.trace)
        gc.collect()
        peer_records = tracemalloc.get_traced_memory()[0] - built
        del peer
        world.trace = Trace()  # the devices' records go; the devices stay
        gc.collect()
        without = tracemalloc.get_traced_memory()[0]
        world.run_for(HEARTBEAT_PERIOD)  # every device sends a heartbeat
        gc.collect()
        heartbeating = tracemalloc.get_traced_memory()[0]
        del world
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        simpy_creation(devices)
        simpy_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Memory(compressed, devices, records, (built - empty) / devices,
                  (without - empty) / devices, (heartbeating - empty) / devices,
                  (simpy_peak - before) / devices, peer_records / devices), problems


def heartbeat_records(devices: int, compressed: bool) -> tuple[HeartbeatRecords, list[str]]:
    """Traced bytes of the heartbeat records of ``devices`` playing devices over
    ``HEARTBEAT_PERIODS`` periods (after their first), and of the plain-tuple peer."""
    gc.collect()
    tracemalloc.start()
    try:
        world = World(fleet_config(traced=True, compressed=compressed), seed=1)
        problems = populate(world, devices)
        world.run_for(HEARTBEAT_PERIOD)  # each device's first heartbeat: its stamps made
        gc.collect()
        start, before = len(world.trace), tracemalloc.get_traced_memory()[0]
        world.run_for(HEARTBEAT_PERIODS * HEARTBEAT_PERIOD)
        gc.collect()
        records, after = len(world.trace) - start, tracemalloc.get_traced_memory()[0]
        peer = as_tuples(world.trace, start)
        gc.collect()
        peer_bytes = tracemalloc.get_traced_memory()[0] - after
        del peer, world
        gc.collect()
    finally:
        tracemalloc.stop()
    expected = 3 * devices * HEARTBEAT_PERIODS
    if abs(records - expected) > devices:
        problems.append(f"expected about {expected:,} heartbeat records, got {records:,}")
    return HeartbeatRecords(compressed, devices, records, after - before, peer_bytes), problems


def profile(devices: int, top: int = 20) -> None:
    """Print the ``top`` functions by self time of creating ``devices`` playing devices."""
    import cProfile
    import pstats

    world = World(fleet_config(traced=False), seed=1)
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    populate(world, devices)
    profiler.disable()
    print(f"creating {devices:,} playing devices under cProfile (it inflates every call: "
          f"read the shares), top {top} by self time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{', '.join(f'{n:,}' for n in QUICK_SIZES)} devices "
                             "(a smoke run, same targets)")
    parser.add_argument("--profile", action="store_true",
                        help=f"profile creating {QUICK_SIZES[-1]:,} devices instead")
    args = parser.parse_args(argv)
    if args.profile:
        profile(QUICK_SIZES[-1])
        return 0
    sizes = QUICK_SIZES if args.quick else SIZES
    print(f"player_sim devices benchmark: {', '.join(f'{n:,}' for n in sizes)} playing SSM "
          f"devices, heartbeats untraced; CPU seconds; Python {sys.version.split()[0]}",
          flush=True)

    problems: list[str] = []
    runs = []
    print(f"{'devices':>8}  {'world us/dev':>12}  {'SimPy us/dev':>12}  {'ratio':>6}  target"
          f"{'':>11}  one by one us/dev (ratio)  trace compressed us/dev (ratio)")
    for size in sizes:
        run, more = creation(size)
        problems += more
        runs.append(run)
        print(f"{size:>8,}  {run.world_us:>12.1f}  {run.simpy_us:>12.1f}  {run.ratio:>6.2f}  "
              f"<= {CREATION_RATIO_TARGET:g} {verdict(run.ratio <= CREATION_RATIO_TARGET)}  "
              f"{run.one_by_one_us:>10.1f} ({run.one_by_one_cpu / run.simpy_cpu:.2f})"
              f"{run.compressed_us:>21.1f} ({run.compressed_cpu / run.simpy_cpu:.2f})",
              flush=True)
    growth = runs[-1].world_us / runs[0].world_us
    simpy_growth = runs[-1].simpy_us / runs[0].simpy_us
    linear = growth <= LINEAR_TARGET
    print(f"per-device CPU, {sizes[-1]:,} vs {sizes[0]:,} devices: world x{growth:.2f}, "
          f"SimPy x{simpy_growth:.2f} (target: world <= x{LINEAR_TARGET:g}) {verdict(linear)}")

    middle = sizes[len(sizes) // 2]
    spread = next(run for run in runs if run.devices == middle)
    one_cpu, more = world_creation(middle, one_account=True)
    problems += more
    one_ratio = one_cpu / spread.world_cpu
    one_ok = one_ratio <= ONE_ACCOUNT_TARGET
    print(f"{middle:,} devices in one account: {one_cpu / middle * 1e6:.1f} us/dev, "
          f"x{one_ratio:.2f} of accounts of 100 (target <= x{ONE_ACCOUNT_TARGET:g}) "
          f"{verdict(one_ok)}", flush=True)

    print()
    print(f"memory per idle-playing device at {sizes[-1]:,} devices (tracemalloc):")
    light = small_records = small_beats = True
    for compressed in (True, False):
        mem, more = memory(sizes[-1], compressed)
        problems += more
        small = mem.bytes_per_record <= RECORD_TARGET
        small_records &= small
        print(f"  {'trace compressed' if compressed else 'plain trace (the default)'}:")
        if compressed:
            light = mem.world_bytes <= MEMORY_TARGET
            target = f"target <= {MEMORY_TARGET:,} B) {verdict(light)}"
        else:
            target = "no target)"
        print(f"    world, with its {mem.records / mem.devices:g} setup records per device: "
              f"{mem.world_bytes:,.0f} B  ({mem.world_bytes / mem.simpy_bytes:.2f}x SimPy; "
              f"{target}")
        print(f"    world, records dropped: {mem.without_records_bytes:,.0f} B "
              f"({mem.without_records_bytes / mem.simpy_bytes:.2f}x SimPy); the records: "
              f"{mem.record_bytes:,.0f} B ({mem.record_bytes / mem.world_bytes:.0%})")
        record_ratio = mem.bytes_per_record / mem.peer_bytes_per_record
        print(f"    per setup record held: {mem.bytes_per_record:,.1f} B, as plain tuples "
              f"{mem.peer_bytes_per_record:,.0f} B ({record_ratio:.2f}x; target <= "
              f"{RECORD_TARGET} B) {verdict(small)}")
        print(f"    world, records dropped, once every device has sent a heartbeat: "
              f"{mem.heartbeating_bytes:,.0f} B "
              f"({mem.heartbeating_bytes / mem.simpy_bytes:.2f}x SimPy)")
    print(f"  SimPy, same bookkeeping (peak over its creation run): {mem.simpy_bytes:,.0f} B")

    for compressed in (True, False):
        beats, more = heartbeat_records(sizes[0], compressed)
        problems += more
        small = beats.bytes_per_record <= RECORD_TARGET
        small_beats &= small
        print(f"heartbeat records, {beats.devices:,} devices, {HEARTBEAT_PERIODS} traced "
              f"periods ({beats.records:,} records), "
              f"{'trace compressed' if compressed else 'plain trace'}: "
              f"{beats.bytes_per_record:,.1f} B per record held, as plain tuples "
              f"{beats.peer_bytes_per_record:,.0f} B "
              f"({beats.bytes_per_record / beats.peer_bytes_per_record:.2f}x; target <= "
              f"{RECORD_TARGET} B) {verdict(small)}")

    for problem in problems:
        print(f"sanity check failed: {problem}")
    ok = (all(run.ratio <= CREATION_RATIO_TARGET for run in runs) and linear and one_ok
          and light and small_records and small_beats)
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
