"""The fleet spec: who watches, how, against which backends, for how long.

Frozen values built by :func:`load_fleet` from a fleet file (see the README,
"Capacity planning", and ``examples/prime_time.fleet.yaml``). Every
distribution draws from a stream the caller passes in; which stream is the
population model's business (:mod:`._population`): randomness by stable key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final, Protocol

import attrs

from ..backends import OttConfig, OvpConfig, SsmConfig
from ..providers import RefreshPolicy
from ..world import NetworkConfig, WorldConfig

__all__ = [
    "DAY",
    "Choice",
    "Duration",
    "Episode",
    "FleetSpec",
    "Outage",
    "Platform",
    "Providers",
    "Viewing",
    "ViewingEvent",
]

DAY: Final = 86400.0
#: What an account's devices use for a session provider (``Providers.mix`` indexes these).
PROVIDER_KINDS: Final = ("none", "ott", "ovp")
#: The 90th percentile of a standard normal: a lognormal's p90 is median * exp(Z90 * sigma).
_Z90: Final = 1.2815515655446004


class Draws(Protocol):
    """A random stream (``random.Random``, or a fleet device's own small stream)."""

    def random(self) -> float: ...
    def lognormvariate(self, mu: float, sigma: float) -> float: ...


@attrs.frozen
class Duration:
    """A distribution of seconds: fixed (``p90 == median``) or lognormal through
    ``median`` and ``p90``."""

    median: float
    p90: float

    @property
    def mean(self) -> float:
        return self.median * math.exp(self._sigma ** 2 / 2)

    @property
    def _sigma(self) -> float:
        return math.log(self.p90 / self.median) / _Z90

    def draw(self, rng: Draws) -> float:
        if self.p90 == self.median:
            return self.median
        return rng.lognormvariate(math.log(self.median), self._sigma)


@attrs.frozen
class Choice:
    """A discrete distribution: ``values[i]`` with cumulative weight ``cumulative[i]``."""

    values: tuple[int, ...]
    cumulative: tuple[float, ...]

    def draw(self, rng: Draws) -> int:
        u = rng.random() * self.cumulative[-1]
        for value, edge in zip(self.values, self.cumulative, strict=True):
            if u < edge:
                return value
        return self.values[-1]


@attrs.frozen
class Platform:
    """A device profile: its share of devices and how its SDK and app behave."""

    name: str
    share: float
    pip: bool = False
    backgrounds: bool = True
    sync_setup_teardown: bool = False
    zap_order: str = "setup-first"
    #: the session-provider client variant its devices run (``documented``, ``android``,
    #: ``ios``: :class:`~player_sim.providers.ProviderVariants`)
    provider_variant: str = "documented"


@attrs.frozen
class Episode:
    """Something that interrupts a playback ``per_hour`` times an hour of watching
    and lasts ``duration`` (background, picture-in-picture)."""

    per_hour: float
    duration: Duration


@attrs.frozen
class ViewingEvent:
    """At ``at`` seconds from the start, ``joining`` of the devices start (or zap to)
    ``stream`` within ``within`` seconds and watch it for ``length``."""

    name: str
    at: float
    joining: float
    within: float
    length: Duration


@attrs.frozen
class Viewing:
    """How each device watches: plays arrive as a Poisson process of
    ``sessions_per_day`` a day, shaped by ``curve`` (24 hourly weights of mean 1)."""

    sessions_per_day: float
    curve: tuple[float, ...]
    session_length: Duration
    zaps_per_hour: float
    background: Episode
    pip: Episode
    kills_per_hour: float
    relaunch_probability: float
    relaunch_after: Duration
    retry_after: Duration
    retries: int
    channels: int
    events: tuple[ViewingEvent, ...] = ()

    def rate(self, t: float, start: float) -> float:
        """Plays per second of one device at ``t`` seconds from a start at ``start``
        seconds after midnight."""
        hour = int(((start + t) % DAY) // 3600)
        return self.sessions_per_day / DAY * self.curve[hour]


@attrs.frozen
class Outage:
    """The backend behind ``link`` is unreachable during ``[start, end)``."""

    link: str
    start: float
    end: float


@attrs.frozen
class Providers:
    """Which session provider each account's devices use, and how.

    ``mix`` draws, per account, an index of :data:`PROVIDER_KINDS` (no provider,
    OTT / Phoenix, OVP); ``anonymous`` is the share of provider accounts that
    never log in as a user (anonymous login, widget session); ``refresh_policy``
    overrides every platform variant's OTT refresh delta (``None``: the
    variant's); with ``logged_in`` the devices hold a session started before
    the run, of an age uniform over the KS validity (the steady state of a fleet
    that has been running), else each logs in when its app first starts.
    """

    mix: Choice = attrs.field(factory=lambda: Choice((0,), (1.0,)))
    anonymous: float = 0.0
    refresh_policy: RefreshPolicy | None = None
    logged_in: bool = True

    @property
    def any(self) -> bool:
        """Whether any account uses a session provider."""
        return any(PROVIDER_KINDS[v] != "none" and w > 0 for v, w in
                   zip(self.mix.values, _weights(self.mix.cumulative), strict=True))


def _weights(cumulative: tuple[float, ...]) -> list[float]:
    return [b - a for a, b in zip((0.0, *cumulative), cumulative, strict=False)]


@attrs.frozen
class FleetSpec:
    """A whole fleet: accounts, viewing, backends, duration and the run's seed."""

    name: str
    accounts: int
    devices: Choice
    households: Choice
    platforms: tuple[Platform, ...]
    viewing: Viewing
    ssm: SsmConfig
    network: NetworkConfig
    outages: tuple[Outage, ...]
    duration: float
    start: float
    seed: int
    source: str = "<fleet>"
    providers: Providers = attrs.field(factory=Providers)
    #: the OTT and OVP backends (their KS validities); every account logs in (``any_user``)
    ott: OttConfig = attrs.field(factory=lambda: OttConfig(any_user=True))
    ovp: OvpConfig = attrs.field(factory=lambda: OvpConfig(any_user=True))

    @property
    def world_config(self) -> WorldConfig:
        """Every shard's world: heartbeats counted, never traced."""
        return WorldConfig(ssm=self.ssm, network=self.network, trace_heartbeats=False,
                           ott=self.ott, ovp=self.ovp)

    @property
    def platform_choice(self) -> Choice:
        return _choice({i: p.share for i, p in enumerate(self.platforms)})

    def platform_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.platforms)


def _choice(weights: Mapping[int, float]) -> Choice:
    values, cumulative, total = [], [], 0.0
    for value, weight in sorted(weights.items()):
        total += weight
        values.append(value)
        cumulative.append(total)
    return Choice(tuple(values), tuple(cumulative))
