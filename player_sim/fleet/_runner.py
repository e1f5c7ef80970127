"""Run a fleet: split it into shards of whole households, run each shard's world,
merge the shards' counters.

A shard is a run of consecutive households (accounts behind one IP stay
together, so per-IP limits mean the same in a shard as in one world). Every
account draws only from its own keyed streams and meets only the accounts of its
household, so the merged counters of any split are those of one world: the
fingerprint test checks it for 1, 2 and 3 shards, on every executor.
"""

from __future__ import annotations

import math
import resource
import time
from collections.abc import Callable, Sequence
from typing import Final

import attrs

from .._errors import ConfigError
from ..world import World
from ._counting import Buckets, CountingNetwork, CountingTrace
from ._executor import open_executor, run_tasks
from ._population import Household, Runner, Viewer, households, make_viewers
from ._results import FleetResult, ShardResult
from ._spec import FleetSpec

__all__ = ["ShardTask", "plan_shards", "run_fleet", "run_shard"]

#: Gauges are read at every minute boundary.
_MINUTE: Final = 60.0


@attrs.frozen
class ShardTask:
    """One shard: households ``first`` ... with the sizes in ``sizes`` (one byte each),
    their first account being ``first_account``."""

    spec: FleetSpec
    first: int
    first_account: int
    sizes: bytes
    keep_accounts: int = 0

    def households(self) -> list[Household]:
        out, account = [], self.first_account
        for offset, size in enumerate(self.sizes):
            out.append(Household(self.first + offset, account, size))
            account += size
        return out


def plan_shards(spec: FleetSpec, shards: int, keep_accounts: int = 0) -> list[ShardTask]:
    """Split the fleet's households into ``shards`` runs of about equal accounts."""
    if shards < 1:
        raise ConfigError(f"shards must be at least 1, not {shards}")
    all_households = list(households(spec))
    if any(h.size > 255 for h in all_households):
        raise ConfigError("a household holds at most 255 accounts")
    tasks, start = [], 0
    per_shard = spec.accounts / shards
    for k in range(shards):
        end = start
        target = (k + 1) * per_shard
        while end < len(all_households) and (all_households[end].first < target
                                              or k == shards - 1):
            end += 1
        if end > start:
            chunk = all_households[start:end]
            tasks.append(ShardTask(spec, chunk[0].index, chunk[0].first,
                                   bytes(h.size for h in chunk), keep_accounts))
        start = end
    return tasks


def run_shard(task: ShardTask) -> ShardResult:
    """Run one shard's world for the fleet's duration; its counters, not its trace."""
    wall, cpu = time.perf_counter(), time.process_time()
    rss_before = _reset_peak_rss()
    spec = task.spec
    seconds = math.ceil(spec.duration)
    world = World(spec.world_config, seed=spec.seed)
    buckets = Buckets(seconds, len(spec.platforms))
    runner = Runner(spec, world)
    viewers: dict[str, tuple[int, int, Viewer]] = {}

    def owner(device: str) -> tuple[int, int, Callable[[], None]]:
        index, platform, viewer = viewers[device]
        return index, platform, viewer.refused

    trace = CountingTrace(world, buckets, owner, task.keep_accounts)
    world.trace = trace
    world.network = CountingNetwork(spec.network, world, buckets)
    for outage in spec.outages:
        world.outage(outage.link, outage.start, outage.end)
    for household in task.households():
        for viewer in make_viewers(runner, household):
            viewers[viewer.config.name] = (int(viewer.account[1:]), viewer.platform, viewer)
            viewer.start()
    minute = buckets.minute
    for m in range(1, math.ceil(spec.duration / _MINUTE) + 1):  # gauges at minute ends
        world.run_until(min(m * _MINUTE, spec.duration))
        minute["active_sessions"][m - 1] = trace.active
        minute["zombie_sessions"][m - 1] = len(world.zombie_sessions())
        minute["viewing"][m - 1] = runner.watching
    s = buckets.second
    for i in range(seconds + 1):
        s["heartbeats"][i] = s["ssm_requests"][i] - s["setups"][i] - s["teardowns"][i]
    sample = [(r.t, viewers[r.device][0], n, r.to_json())
              for n, r in enumerate(trace) if r.device is not None]
    return ShardResult(
        buckets=buckets, events=world.events_processed,
        devices=len(world.devices), viewers=len(viewers), sample=sample,
        wall_seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu,
        peak_rss_kb=_peak_rss(), rss_growth_kb=max(0, _peak_rss() - rss_before))


def _peak_rss() -> int:
    """This process's peak resident memory in KiB (Linux ``VmHWM``, else ``ru_maxrss``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak_rss() -> int:
    """Start measuring a shard's peak memory afresh (a worker runs several shards): on
    Linux, writing 5 to ``/proc/self/clear_refs`` resets the peak to the current size."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        pass
    return _peak_rss()


def run_fleet(spec: FleetSpec, *, workers: int = 1, address: str | None = None,
              shards: int | None = None, keep_accounts: int = 0,
              progress: Callable[[int, int], None] | None = None) -> FleetResult:
    """Run ``spec`` on ``workers`` local processes (or the Dask cluster at ``address``),
    split into ``shards`` (default: four per worker, so a slow shard does not hold the
    run up); the merged result does not depend on either.
    """
    if shards is None:
        shards = 1 if workers == 1 and address is None else 4 * workers
    tasks = plan_shards(spec, shards, keep_accounts)
    results = run_tasks(lambda: open_executor(workers, address), run_shard, tasks, progress)
    return FleetResult.merge(spec, results)


def run_many(specs: Sequence[FleetSpec], *, workers: int = 1, address: str | None = None,
             shards_per_fleet: int | None = None, keep_accounts: int = 0,
             progress: Callable[[int, int], None] | None = None) -> list[FleetResult]:
    """Run several fleets (a sweep) as one batch of shards on one executor."""
    per = shards_per_fleet if shards_per_fleet is not None else \
        (1 if workers == 1 and address is None else 4 * workers)
    plans = [plan_shards(spec, per, keep_accounts) for spec in specs]
    tasks = [task for plan in plans for task in plan]
    results = run_tasks(lambda: open_executor(workers, address), run_shard, tasks, progress)
    out, start = [], 0
    for spec, plan in zip(specs, plans, strict=True):
        out.append(FleetResult.merge(spec, results[start:start + len(plan)]))
        start += len(plan)
    return out
