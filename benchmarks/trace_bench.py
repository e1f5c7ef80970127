"""What a trace costs: bytes per record held, and the CPU and garbage collector of a traced hour.

Run ``python benchmarks/trace_bench.py`` (``--quick``: the CPU figures at 1,000 devices
only). In one run:

a. **Bytes per record.** A fleet of 1,000 playing SSM devices, heartbeats traced, runs
   one virtual hour under ``tracemalloc``. The trace's memory is what the traced world
   grows by in that hour (records, their data, and the floats and tokens only the
   trace holds), divided by the records of the hour: all of the growth is charged to
   the trace (the same world untraced grows by next to nothing over the hour: printed
   beside). Dropping the trace alone would not measure it: the world's caches (a
   device's heartbeat stamps, the server's) keep the trace they were made for until
   they are next used. Its peer, in the same run: the same records as one plain tuple
   each, ``(t, device, kind, app, playback, playback_id, *data values)``, with their
   own ``t`` floats (a row per record can hardly be smaller), measured once the world
   is gone (the peer alone holds the tokens). Target: at most 150 bytes. Measured for the
   default, plain trace and for a compressed one (``WorldConfig(compress_trace=True)``).
b. **CPU of a traced hour.** The same fleet (1,000 and 10,000 devices) for one virtual
   hour through ``World.run_until``, heartbeats traced (every record kept) and not
   traced, beside ``_peers.simpy_fleet`` (SimPy doing the same heartbeat bookkeeping,
   untraced) for the same devices and hour; and traced with the trace compressed (shown,
   no target: what compressing costs). CPU seconds (``time.process_time``: the
   machine is shared), heartbeats per CPU-second, and the ratios: traced / untraced
   (what tracing costs) and traced / SimPy (target 1.0, judged once the heartbeat path
   is fused: see the README).
c. **The garbage collector in the traced hour**: collections per generation and the
   CPU seconds spent in them (``gc.callbacks``). Target: no full (generation 2)
   collection while the hour runs.

Exit status 1 when a target is missed or a sanity check fails (a device not playing,
heartbeats missing, a traced run without about three records per heartbeat).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
from _peers import PeerRun, simpy_fleet

from player_sim import DeviceConfig, PlaybackState, SsmConfig, World, WorldConfig

SSM_URL = "https://ssm.example/"
HEARTBEAT_PERIOD = 30.0
HOUR = 3600.0
DEVICES_PER_ACCOUNT = 100
BYTES_PER_RECORD_TARGET = 150
SIMPY_RATIO_TARGET = 1.0
MEMORY_DEVICES = 1_000


def fleet(devices: int, *, traced: bool, compressed: bool = False) -> World:
    """``devices`` playing SSM devices (accounts of DEVICES_PER_ACCOUNT, the session
    limit raised to fit), their heartbeats spread over a period, every setup answered."""
    ssm = SsmConfig(max_sessions_per_account=DEVICES_PER_ACCOUNT,
                    heartbeat_period=HEARTBEAT_PERIOD)
    world = World(WorldConfig(ssm=ssm, trace_heartbeats=traced, compress_trace=compressed),
                  seed=1)
    stagger = HEARTBEAT_PERIOD / devices
    for index in range(devices):
        world.add_device(DeviceConfig(name=f"device-{index}",
                                      account=f"account-{index // DEVICES_PER_ACCOUNT}",
                                      ssm_server_url=SSM_URL)).play("channel-1")
        world.run_for(stagger)
    world.run_for(HEARTBEAT_PERIOD)
    return world


def heartbeats(world: World) -> int:
    return sum(device.heartbeats_sent for device in world.devices)


@attrs.frozen
class GcSpent:
    """Collections per generation, and the CPU seconds they took."""

    collections: tuple[int, int, int]
    cpu_seconds: float


@contextmanager
def gc_watch() -> Iterator[list[GcSpent]]:
    """Count the garbage collector's runs inside the block (the figure is appended to
    the list it yields when the block ends)."""
    counts = [0, 0, 0]
    spent = [0.0, 0.0]  # total, start of the current collection

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            counts[info["generation"]] += 1
            spent[1] = time.process_time()
        else:
            spent[0] += time.process_time() - spent[1]

    result: list[GcSpent] = []
    gc.callbacks.append(callback)
    try:
        yield result
    finally:
        gc.callbacks.remove(callback)
        result.append(GcSpent((counts[0], counts[1], counts[2]), spent[0]))


@attrs.frozen
class HourRun:
    """One fleet hour: CPU seconds, heartbeats, records written, the collector's share."""

    name: str
    devices: int
    cpu_seconds: float
    heartbeats: int
    records: int
    gc: GcSpent
    problems: tuple[str, ...]

    @property
    def heartbeats_per_cpu_second(self) -> float:
        return self.heartbeats / self.cpu_seconds


def fleet_hour(devices: int, *, traced: bool, compressed: bool = False) -> HourRun:
    """The fleet's measured hour (its set-up not counted)."""
    world = fleet(devices, traced=traced, compressed=compressed)
    before, records = heartbeats(world), len(world.trace)
    with gc_watch() as spent:
        cpu = time.process_time()
        world.run_until(world.now + HOUR)
        cpu = time.process_time() - cpu
    sent, records = heartbeats(world) - before, len(world.trace) - records
    problems = []
    idle = sum(d.core.playback is not PlaybackState.PLAYING for d in world.devices)
    if idle:
        problems.append(f"{idle} of {devices} devices are not playing")
    expected = devices * round(HOUR / HEARTBEAT_PERIOD)
    if abs(sent - expected) > devices:
        problems.append(f"expected about {expected:,} heartbeats, got {sent:,}")
    if traced and abs(records - 3 * sent) > devices:  # sent, at the server, answered
        problems.append(f"a traced heartbeat writes three records: {records:,} records for "
                        f"{sent:,} heartbeats")
    name = f"world, {'traced' if traced else 'untraced'}{', compressed' if compressed else ''}"
    del world
    gc.collect()
    return HourRun(name, devices, cpu, sent, records, spent[0], tuple(problems))


# --- (a) bytes per record -------------------------------------------------------------


@attrs.frozen
class MemoryFigure:
    """The records of the hour, what the traced world grew by in it (charged to the
    trace), the peer's bytes for the same records, and the untraced world's growth."""

    records: int
    trace_bytes: int
    peer_bytes: int
    untraced_growth: int

    @property
    def per_record(self) -> float:
        return self.trace_bytes / self.records

    @property
    def peer_per_record(self) -> float:
        return self.peer_bytes / self.records


def _current() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def trace_memory(devices: int, compressed: bool) -> MemoryFigure:
    """What the trace of a traced fleet hour holds (the world's growth over the hour),
    the plain-tuple peer's bytes for the same records, and the untraced world's growth."""
    tracemalloc.start()
    try:
        world = fleet(devices, traced=False)
        before = _current()
        world.run_until(world.now + HOUR)
        untraced_growth = _current() - before
        del world
        world = fleet(devices, traced=True, compressed=compressed)
        before, first = _current(), len(world.trace)
        world.run_until(world.now + HOUR)
        with_trace = _current()
        records = len(world.trace) - first
        # Each record a plain tuple, with a float of its own (``+ 0.0`` makes a new one).
        peer = [(r.t + 0.0, r.device, r.kind, r.app, r.playback, r.playback_id,
                 *r.data.values()) for r in world.trace[first:]]
        del world  # and its trace: the peer now alone holds the tokens the trace held
        with_peer = _current()
        del peer
        neither = _current()
    finally:
        tracemalloc.stop()
    return MemoryFigure(records, with_trace - before, with_peer - neither, untraced_growth)


# --- the report ---------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="CPU figures at 1,000 devices only (a smoke run, same targets)")
    args = parser.parse_args(argv)
    sizes = (1_000,) if args.quick else (1_000, 10_000)
    print(f"player_sim trace benchmark: playing SSM devices, one virtual hour, heartbeat every "
          f"{HEARTBEAT_PERIOD:g} s; Python {sys.version.split()[0]}", flush=True)
    verdicts: list[bool] = []
    problems: list[str] = []

    for compressed in (False, True):
        memory = trace_memory(MEMORY_DEVICES, compressed)
        ok = memory.per_record <= BYTES_PER_RECORD_TARGET
        verdicts.append(ok)
        print(f"\n(a) trace memory, {MEMORY_DEVICES:,} devices traced for an hour "
              f"({memory.records:,} records, tracemalloc), "
              f"{'trace compressed' if compressed else 'plain trace (the default)'}:")
        print(f"    the trace:                {memory.per_record:7.1f} bytes per record "
              f"({memory.trace_bytes / 2**20:,.1f} MiB)")
        print(f"    peer, a tuple per record: {memory.peer_per_record:7.1f} bytes per record "
              f"({memory.peer_bytes / 2**20:,.1f} MiB)")
        print(f"    the same world untraced grew by {memory.untraced_growth / 2**10:,.1f} KiB "
              f"over the hour ({memory.untraced_growth / memory.records:.1f} bytes per "
              f"record of the traced hour)")
        print(f"    ratio trace / peer: {memory.per_record / memory.peer_per_record:.2f}; "
              f"target <= {BYTES_PER_RECORD_TARGET} bytes per record "
              f"{'PASS' if ok else 'FAIL'}", flush=True)

    for devices in sizes:
        traced = fleet_hour(devices, traced=True)
        untraced = fleet_hour(devices, traced=False)
        simpy = simpy_fleet(devices, 1.0)
        compressed = fleet_hour(devices, traced=True, compressed=True)
        problems += traced.problems + untraced.problems + compressed.problems
        print(f"\n(b) {devices:,} devices, one virtual hour (CPU seconds):")
        print(_table([traced, untraced, compressed], simpy))
        cost = traced.cpu_seconds / untraced.cpu_seconds * untraced.heartbeats / traced.heartbeats
        ratio = traced.heartbeats_per_cpu_second / simpy.heartbeats_per_cpu_second
        ok = ratio >= SIMPY_RATIO_TARGET
        verdicts.append(ok)
        print(f"    tracing costs {cost:.2f}x the untraced hour's CPU; traced / SimPy untraced "
              f"= {ratio:.2f} (untraced / SimPy = "
              f"{untraced.heartbeats_per_cpu_second / simpy.heartbeats_per_cpu_second:.2f}); "
              f"target traced >= {SIMPY_RATIO_TARGET} x SimPy {'PASS' if ok else 'FAIL'}")
        print(f"    the trace compressed: {compressed.cpu_seconds / traced.cpu_seconds:.2f}x the "
              f"traced hour's CPU, traced compressed / SimPy untraced = "
              f"{compressed.heartbeats_per_cpu_second / simpy.heartbeats_per_cpu_second:.2f} "
              f"(no target)")
        full = traced.gc.collections[2]
        ok = full == 0
        verdicts.append(ok)
        print(f"(c) the collector in the traced hour: {traced.gc.collections[0]:,} / "
              f"{traced.gc.collections[1]:,} / {full:,} collections of generation 0 / 1 / 2, "
              f"{traced.gc.cpu_seconds:.2f} CPU s ({traced.gc.cpu_seconds / traced.cpu_seconds:.0%}"
              f" of the hour); untraced: {untraced.gc.collections[2]:,} full, "
              f"{untraced.gc.cpu_seconds:.2f} s; target no full collection "
              f"{'PASS' if ok else 'FAIL'}", flush=True)

    for problem in problems:
        print(f"sanity check failed: {problem}")
    return 0 if all(verdicts) and not problems else 1


def _table(runs: Sequence[HourRun], peer: PeerRun) -> str:
    lines = [("run", "heartbeats", "records", "cpu s", "heartbeats/cpu s", "gc cpu s")]
    for run in runs:
        lines.append((run.name, f"{run.heartbeats:,}", f"{run.records:,}",
                      f"{run.cpu_seconds:.2f}", f"{run.heartbeats_per_cpu_second:,.0f}",
                      f"{run.gc.cpu_seconds:.2f}"))
    lines.append((peer.name, f"{peer.heartbeats:,}", "-", f"{peer.cpu_seconds:.2f}",
                  f"{peer.heartbeats_per_cpu_second:,.0f}", "-"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("    " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                        for i, (cell, w) in enumerate(zip(line, widths,
                                                                          strict=True)))
                     for line in lines)


if __name__ == "__main__":
    sys.exit(main())
