"""A fleet's results: merged counters, the numbers that answer capacity questions,
and their JSON and CSV forms.

Shards are merged by summing their buckets (per second, per minute, per
platform) before any peak or percentile is taken: the peak of a sum is not the
sum of the peaks. Everything reported is computed from integer counters, so
the :meth:`FleetResult.fingerprint` of a run is the same for any split.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from array import array
from collections.abc import Sequence
from typing import Any, Final

import attrs

from ._counting import PER_MINUTE, PER_PLATFORM, PER_SECOND, REFUSAL_REASONS, Buckets
from ._population import WARMUP
from ._spec import DAY, FleetSpec

__all__ = ["FleetResult", "ShardResult", "percentile"]

#: The percentiles reported for every per-second series.
PERCENTILES: Final = (50, 95, 99)


@attrs.define
class ShardResult:
    """What one shard sends back: its counters and how much it cost."""

    buckets: Buckets
    events: int
    devices: int
    viewers: int
    sample: list[tuple[float, int, int, str]]
    wall_seconds: float
    cpu_seconds: float
    peak_rss_kb: int
    #: How much the process's peak resident memory grew while the shard ran (KiB).
    rss_growth_kb: int = 0


def percentile(values: Sequence[int], q: float) -> float:
    """The ``q``-th percentile of ``values`` (nearest rank; 0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def _add(into: array[int], more: array[int]) -> None:
    for i, value in enumerate(more):
        if value:
            into[i] += value


@attrs.define
class FleetResult:
    """The merged result of a fleet run (see the module docstring)."""

    spec: FleetSpec
    buckets: Buckets
    events: int
    devices: int
    viewers: int
    sample: list[str]
    cpu_seconds: float
    shard_peak_rss_kb: int
    shards: int
    rss_growth_kb: int = 0

    @property
    def memory_per_device_kb(self) -> float:
        """The shards' peak memory growth per device their worlds held (KiB)."""
        return self.rss_growth_kb / self.devices if self.devices else 0.0

    @classmethod
    def merge(cls, spec: FleetSpec, shards: Sequence[ShardResult]) -> FleetResult:
        buckets = Buckets(math.ceil(spec.duration), len(spec.platforms))
        for shard in shards:
            for mine, theirs in ((buckets.second, shard.buckets.second),
                                 (buckets.minute, shard.buckets.minute),
                                 (buckets.platform, shard.buckets.platform)):
                for name, series in theirs.items():
                    _add(mine[name], series)
        sample = sorted(item for shard in shards for item in shard.sample)
        return cls(spec, buckets, sum(s.events for s in shards), sum(s.devices for s in shards),
                   sum(s.viewers for s in shards), [line for *_, line in sample],
                   sum(s.cpu_seconds for s in shards),
                   max((s.peak_rss_kb for s in shards), default=0), len(shards),
                   sum(s.rss_growth_kb for s in shards))

    # --- the numbers --------------------------------------------------------------------

    def total(self, name: str) -> int:
        series = self.buckets.second.get(name)
        if series is None:
            series = self.buckets.minute[name]
        return sum(series)

    def refusal_reasons(self) -> dict[str, int]:
        """Refused setups by reason (see :mod:`._counting`)."""
        return {r: self.total(f"refused_{r}") for r in (*REFUSAL_REASONS, "other")}

    def summary(self) -> dict[str, Any]:
        """Totals, per-second peaks and percentiles, refusals and why, per platform.

        Peaks and percentiles leave out the first :data:`WARMUP` seconds (of a run
        longer than twice that), when the plays already under way at the start are
        set up: a burst of the simulation, not of the fleet. Totals count everything.
        """
        m = self.buckets.minute
        plays = self.total("plays")
        rates = {}
        skip = WARMUP if self.spec.duration > 2 * WARMUP else 0
        for name in PER_SECOND:
            whole = self.buckets.second[name]
            series = whole[skip:]
            peak = max(series) if series else 0
            rates[name] = {"total": sum(whole), "peak_per_second": peak,
                           "peak_at": _clock(self.spec, skip + series.index(peak)) if peak
                           else None,
                           **{f"p{q}_per_second": percentile(series, q) for q in PERCENTILES}}
        reasons = self.refusal_reasons()
        refused = sum(reasons.values())
        first = skip // 60
        gauges = {name: {"peak": max(m[name][first:self.minutes], default=0),
                         "p95": percentile(m[name][first:self.minutes], 95)}
                  for name in ("active_sessions", "zombie_sessions", "viewing")}
        platforms = {}
        for i, name in enumerate(self.spec.platform_names()):
            p: dict[str, Any] = {key: self.buckets.platform[key][i] for key in PER_PLATFORM}
            p["refused_fraction"] = _fraction(p["refusals"], p["plays"])
            platforms[name] = p
        return {
            "fleet": self.spec.name, "accounts": self.spec.accounts, "seed": self.spec.seed,
            "duration_seconds": self.spec.duration, "warmup_seconds": skip,
            "devices_in_fleet": self.viewers,
            "devices_that_played": self.devices, "events": self.events,
            "plays": plays, "refused": refused,
            "refused_fraction": _fraction(refused, plays),
            "refused_by_reason": reasons,
            "refused_fraction_by_reason": {k: _fraction(v, plays) for k, v in reasons.items()},
            "playbacks_started": self.total("playbacks_started"),
            "expired_background": self.total("expired_background"),
            "expired_zombie": self.total("expired_zombie"),
            "evictions": self.total("evictions"), "kills": self.total("kills"),
            "rates": rates, "gauges": gauges, "platforms": platforms,
            "providers": self.provider_summary(rates),
            "fingerprint": self.fingerprint(),
        }

    def provider_summary(self, rates: dict[str, Any]) -> dict[str, Any]:
        """Session-provider traffic: logins and KS refreshes by backend, their busiest
        second and their hourly rate, failures, and each backend's requests."""
        hours = self.spec.duration / 3600
        out: dict[str, Any] = {}
        for backend in ("ott", "ovp"):
            logins = self.total(f"logins_{backend}")
            refreshes = self.total(f"ks_refreshes_{backend}")
            out[backend] = {"logins": logins, "ks_refreshes": refreshes,
                            "ks_refreshes_per_hour": round(refreshes / hours, 3),
                            "requests": rates[f"{backend}_requests"]["total"],
                            "peak_requests_per_second":
                                rates[f"{backend}_requests"]["peak_per_second"]}
        for name in ("login_failures", "refresh_failures", "ks_errors", "media_load_errors"):
            out[name] = self.total(name)
        out["peak_ks_refreshes_per_second"] = rates["ks_refreshes"]["peak_per_second"]
        out["peak_logins_per_second"] = rates["logins"]["peak_per_second"]
        return out

    @property
    def minutes(self) -> int:
        return math.ceil(self.spec.duration / 60)

    def fingerprint(self) -> str:
        """SHA-256 of every counter and the sampled trace: equal for any split of the run."""
        digest = hashlib.sha256()
        for group in (self.buckets.second, self.buckets.minute, self.buckets.platform):
            for name in sorted(group):
                digest.update(name.encode())
                digest.update(group[name].tobytes())
        digest.update(str((self.events, self.devices, self.viewers)).encode())
        for line in self.sample:
            digest.update(line.encode())
        return digest.hexdigest()

    # --- files ----------------------------------------------------------------------------

    def to_json(self) -> str:
        """The summary and the per-minute series, as JSON."""
        return json.dumps({"summary": self.summary(), "per_minute": self.per_minute()},
                          indent=2, sort_keys=True) + "\n"

    def per_minute(self) -> dict[str, list[float]]:
        """One value per minute: gauges at the minute's end, rates averaged over it
        (per second), ``peak_*`` the busiest second of the minute."""
        s, m = self.buckets.second, self.buckets.minute
        out: dict[str, list[float]] = {"minute": list(range(self.minutes))}
        for name in ("setups", "heartbeats", "teardowns", "ssm_requests", "license_requests",
                     "refusals", "plays", "logins", "ks_refreshes", "ott_requests",
                     "ovp_requests"):
            out[f"{name}_per_second"] = [round(sum(s[name][i * 60:(i + 1) * 60]) / 60, 3)
                                         for i in range(self.minutes)]
        for name in ("setups", "ssm_requests"):
            out[f"peak_{name}_per_second"] = [max(s[name][i * 60:(i + 1) * 60], default=0)
                                              for i in range(self.minutes)]
        for name in PER_MINUTE:
            out[name] = list(m[name][:self.minutes])
        return out

    def to_csv(self) -> str:
        """The per-minute series as CSV, one row per minute, with its time of day."""
        series = self.per_minute()
        names = list(series)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([names[0], "time_of_day", *names[1:]])
        for i in range(self.minutes):
            writer.writerow([i, _clock(self.spec, i * 60.0),
                             *(series[n][i] for n in names[1:])])
        return buffer.getvalue()

    def trace_jsonl(self) -> str:
        """The sampled accounts' records (``--trace-accounts``), as JSONL lines."""
        return "".join(line + "\n" for line in self.sample)


def _fraction(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def _clock(spec: FleetSpec, t: float) -> str:
    seconds = int((spec.start + t) % DAY)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
