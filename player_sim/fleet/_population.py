"""The population model: households, accounts, devices and how each device is watched.

Randomness by stable key (ARCHITECTURE.md, principle 10):

* household sizes come from one stream keyed by (seed, ``"households"``), drawn in
  household order, so account ``a17`` is in the same household whatever the fleet's
  size or its split into shards;
* an account's devices and their platforms come from the stream keyed by
  (seed, ``"account"``, account);
* each device's viewing (when it plays, for how long, its zaps, backgrounds,
  picture-in-picture, kills, relaunches, retries, which events it joins) comes
  from the stream keyed by (seed, ``"viewing"``, device);
* an account's session provider (none, OTT, OVP) and whether it logs in as a
  user or anonymously are drawn from its account stream after its devices, and
  the age of a device's session at the start from its viewing stream when the
  device is added.

A device with a session provider obtains a KS before each play (refreshing it
as its platform's client variant does); an app with no session (its first
start without ``providers.logged_in``, a relaunch after a kill, a session its
client cleared) logs in first and plays when the login is answered; a failed
login is retried like a refused setup.

So one account behaves the same alone, in one world of a million, or in any
shard. A device's viewing stream is a SplitMix64 generator seeded by
:func:`~player_sim._keyed.derive_seed`: one integer of state instead of the
2.5 KB of a ``random.Random`` per device.

A device is added to its world when it first plays (most devices of a short run
never do, and an idle device costs nothing then).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Final

import attrs

from .._keyed import derive_seed
from ..player import AppState, DocumentedAppPolicy, PlaybackState
from ..player import _events as ev
from ..providers import (
    OttSessionProvider,
    OvpMediaProvider,
    OvpSessionProvider,
    PhoenixMediaProvider,
    PrimitiveResult,
)
from ..world import DeviceConfig, World
from ._spec import PROVIDER_KINDS, FleetSpec, Platform

if TYPE_CHECKING:
    from ..world import Device

__all__ = ["WARMUP", "Household", "Stream", "Viewer", "account_name", "households",
           "make_viewers"]

SSM_URL: Final = "https://ssm.example/ssm"
#: Where a fleet's session providers point, and their partner ids.
OTT_URL: Final = "https://phoenix.example/api_v3/"
OVP_URL: Final = "https://cdnapisec.kaltura.com/"
OTT_PARTNER: Final = 3009
OVP_PARTNER: Final = 2215841
#: The media provider templates (the played stream is the asset / entry id).
_PHOENIX_MEDIA: Final = PhoenixMediaProvider()
_OVP_MEDIA: Final = OvpMediaProvider()
#: Plays already under way when a run starts are set up during its first WARMUP seconds;
#: peaks and percentiles leave that burst out (see ``FleetResult.summary``).
WARMUP: Final = 60
_MASK: Final = (1 << 64) - 1
_POLICY: Final = DocumentedAppPolicy()  # frozen: one app policy serves every device
_ACTIVE: Final = frozenset({PlaybackState.OBTAINING_KS, PlaybackState.LOADING_MEDIA,
                            PlaybackState.SSM_SETUP, PlaybackState.LICENSE_REQUEST,
                            PlaybackState.PLAYING, PlaybackState.PAUSED})


class Stream:
    """SplitMix64: a small, fast, well-mixed generator with one integer of state."""

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & _MASK

    def random(self) -> float:
        """A float in ``[0, 1)``."""
        self.state = z = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return ((z ^ (z >> 31)) >> 11) * (1.0 / (1 << 53))

    def expovariate(self, rate: float) -> float:
        return -math.log(1.0 - self.random()) / rate

    def lognormvariate(self, mu: float, sigma: float) -> float:
        u1 = 1.0 - self.random()
        normal = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * self.random())
        return math.exp(mu + sigma * normal)


@attrs.frozen
class Household:
    """Accounts ``first .. first + size - 1`` behind one IP address."""

    index: int
    first: int
    size: int

    @property
    def ip(self) -> str:
        h = self.index
        return f"10.{(h >> 16) & 255}.{(h >> 8) & 255}.{h & 255}"


def account_name(index: int) -> str:
    return f"a{index}"


def households(spec: FleetSpec) -> Iterator[Household]:
    """Every household of the fleet, in order (the last one may be cut short)."""
    rng = random.Random(derive_seed(spec.seed, "households", ""))
    first, index = 0, 0
    while first < spec.accounts:
        size = min(spec.households.draw(rng), spec.accounts - first)
        yield Household(index, first, size)
        first += size
        index += 1


class Viewer:
    """One device's viewer: plays, zaps, backgrounds, kills and relaunches, each drawn
    from the device's own stream and scheduled on the world's queue.

    ``session`` numbers the viewing sessions; a scheduled step carries the number of
    the session it belongs to and does nothing once that session is over.
    """

    __slots__ = ("account", "anonymous", "config", "device", "ends", "logging_in", "platform",
                 "provider", "provider_kind", "retries", "rng", "runner", "session", "stream",
                 "watching")

    def __init__(self, runner: Runner, config: DeviceConfig, platform: int,
                 provider_kind: int = 0, anonymous: bool = False) -> None:
        self.runner = runner
        #: index of PROVIDER_KINDS (0: no session provider), and an anonymous account
        self.provider_kind = provider_kind
        self.anonymous = anonymous
        self.provider: OttSessionProvider | OvpSessionProvider | None = None
        self.logging_in = False
        self.config = config
        self.account = config.account
        self.platform = platform
        self.rng = Stream(derive_seed(runner.spec.seed, "viewing", config.name))
        self.device: Device | None = None
        self.session = 0
        self.ends = 0.0
        self.retries = 0
        self.stream = ""
        self.watching = False

    # --- the plan ------------------------------------------------------------------------

    def start(self) -> None:
        """Plan the first session and the events this device joins (draw order is fixed:
        the events first, then whether it is already watching, then its first play)."""
        spec, rng, world = self.runner.spec, self.rng, self.runner.world
        for index, event in enumerate(spec.viewing.events):
            if rng.random() < event.joining:
                at = event.at + event.within * rng.random()
                length = event.length.draw(rng)
                if at < spec.duration:
                    world.schedule_at(at, self._join, (index, length))
        viewing = spec.viewing
        rate = viewing.rate(0.0, spec.start)
        # Already watching when the run starts: the chance a Poisson viewer is mid-session.
        if rng.random() < min(1.0, rate * viewing.session_length.mean):
            world.schedule_at(WARMUP * rng.random(), self._begin, None)
        else:
            self._plan_next(0.0)

    def _plan_next(self, after: float) -> None:
        """The next play: a Poisson process shaped by the daily curve (by thinning)."""
        spec, rng = self.runner.spec, self.rng
        viewing = spec.viewing
        peak = viewing.sessions_per_day / 86400.0 * max(viewing.curve)
        if peak <= 0:
            return
        t = after
        while True:
            t += rng.expovariate(peak)
            if t >= spec.duration:
                return
            if rng.random() * peak < viewing.rate(t, spec.start):
                self.runner.world.schedule_at(t, self._begin, None)
                return

    def _begin(self, _: object) -> None:
        viewing = self.runner.spec.viewing
        self._watch(f"channel-{1 + int(self.rng.random() * viewing.channels)}",
                    viewing.session_length.draw(self.rng))

    def _join(self, arg: tuple[int, float]) -> None:
        index, length = arg
        self._watch(f"event-{index + 1}", length)

    def _watch(self, stream: str, length: float) -> None:
        """Start a session on ``stream`` (a zap if one is under way) for ``length``."""
        now = self.runner.world.now
        self.session += 1
        self.ends = now + length
        self.retries = self.runner.spec.viewing.retries
        was_watching, self.watching = self.watching, True
        if not was_watching:
            self.runner.watching += 1
        self.stream = stream
        device = self._device()
        if device.killed:
            device.relaunch()
        self._act(ev.Zap(stream) if device.core.playback in _ACTIVE else ev.Play(stream))
        self._plan_interruption()

    def _plan_interruption(self) -> None:
        """The session's next zap, background, picture-in-picture or kill, else its end."""
        runner, rng = self.runner, self.rng
        viewing, platform = runner.spec.viewing, runner.platforms[self.platform]
        rates = (viewing.zaps_per_hour,
                 viewing.background.per_hour if platform.backgrounds else 0.0,
                 viewing.pip.per_hour if platform.pip else 0.0,
                 viewing.kills_per_hour)
        total = sum(rates) / 3600.0
        now = runner.world.now
        at = now + rng.expovariate(total) if total > 0 else math.inf
        if at >= self.ends:
            runner.world.schedule_at(max(now, self.ends), self._end, self.session)
            return
        pick, what = rng.random() * total * 3600.0, len(rates) - 1
        for index, rate in enumerate(rates):
            if pick < rate:
                what = index
                break
            pick -= rate
        runner.world.schedule_at(at, _INTERRUPTIONS[what], (self, self.session))

    # --- steps ---------------------------------------------------------------------------

    def _end(self, session: int) -> None:
        if session != self.session:
            return
        self._act(ev.Stop())
        self._stop_watching()
        self._plan_next(self.runner.world.now)

    def _stop_watching(self) -> None:
        if self.watching:
            self.watching = False
            self.runner.watching -= 1

    def _zap(self) -> None:
        channels = self.runner.spec.viewing.channels
        self.stream = f"channel-{1 + int(self.rng.random() * channels)}"
        self._act(ev.Zap(self.stream))
        self._plan_interruption()

    def _episode(self, go: ev.Action, back: ev.Action, seconds: float) -> None:
        if self._act(go):
            self.runner.world.schedule_at(self.runner.world.now + seconds, _back,
                                          (self, self.session, back))
        else:
            self._plan_interruption()

    def _kill(self) -> None:
        device = self._device()
        if not device.killed:
            device.kill()
        self.session += 1  # the session is over; a relaunch starts another
        self.logging_in = False  # a login in flight dies with the app: its answer is lost
        viewing = self.runner.spec.viewing
        if self.rng.random() < viewing.relaunch_probability:
            at = self.runner.world.now + viewing.relaunch_after.draw(self.rng)
            if at < self.ends:
                self.runner.world.schedule_at(at, self._relaunch, self.ends - at)
                return
        self._stop_watching()
        self._plan_next(self.runner.world.now)

    def _relaunch(self, remaining: float) -> None:
        self._watch(self.stream, remaining)

    def refused(self) -> None:
        """The SSM server refused this device's setup: retry later if the viewer still wants
        to watch and has retries left."""
        if self.retries <= 0 or not self.watching:
            return
        self.retries -= 1
        at = self.runner.world.now + self.runner.spec.viewing.retry_after.draw(self.rng)
        if at < self.ends:
            self.runner.world.schedule_at(at, self._retry, self.session)

    def _retry(self, session: int) -> None:
        if session == self.session:
            self._act(ev.Play(self.stream))

    # --- the device ----------------------------------------------------------------------

    def _device(self) -> Device:
        if self.device is None:
            config = self.config
            if self.provider_kind:
                config = self._with_provider(config)
            self.device = self.runner.world.add_device(config)
            provider, spec = self.provider, self.runner.spec
            if provider is not None and spec.providers.logged_in:
                user = None if self.anonymous else self.account
                if isinstance(provider, OttSessionProvider):
                    validity = spec.ott.anonymous_ks_validity if self.anonymous \
                        else spec.ott.ks_validity
                    provider.start_prior_session(user, self.rng.random() * validity,
                                                 udid=config.name)
                else:
                    validity = spec.ovp.widget_session_validity if self.anonymous \
                        else spec.ovp.user_session_validity
                    provider.start_prior_session(user, self.rng.random() * validity)
        return self.device

    def _with_provider(self, config: DeviceConfig) -> DeviceConfig:
        """``config`` with this account's session provider, of its platform's variant."""
        spec = self.runner.spec
        variant = self.runner.platforms[self.platform].provider_variant
        if PROVIDER_KINDS[self.provider_kind] == "ott":
            ott = OttSessionProvider(OTT_URL, OTT_PARTNER, variant=variant,
                                     refresh_policy=spec.providers.refresh_policy)
            self.provider = ott
            return attrs.evolve(config, session_provider=ott, media=_PHOENIX_MEDIA)
        ovp = OvpSessionProvider(OVP_URL, OVP_PARTNER, variant=variant)
        self.provider = ovp
        return attrs.evolve(config, session_provider=ovp, media=_OVP_MEDIA)

    def _act(self, action: ev.Action) -> bool:
        """Perform ``action`` if the player takes it now (a viewer never forces one).
        A play or zap on an app with no session logs in first (see the module
        docstring): the action counts as taken."""
        device = self._device()
        if device.killed or not device.core.can(action):
            return False
        provider = self.provider
        if provider is not None and not provider.has_session and \
                isinstance(action, ev.Play | ev.Zap):
            if not self.logging_in:
                self.logging_in = True
                session = self.session
                provider.login(None if self.anonymous else self.account, "secret",
                               lambda result: self._logged_in(result, session))
            return True
        device.perform(action)
        return True

    def _logged_in(self, result: PrimitiveResult, session: int) -> None:
        """The login an app with no session made before a play was answered."""
        self.logging_in = False
        if session != self.session or not self.watching:
            return
        if not result.ok:
            self.refused()  # retried like a refused setup
            return
        device = self._device()
        self._act(ev.Zap(self.stream) if device.core.playback in _ACTIVE
                  else ev.Play(self.stream))


def _zap(arg: tuple[Viewer, int]) -> None:
    viewer, session = arg
    if session == viewer.session:
        viewer._zap()


def _background(arg: tuple[Viewer, int]) -> None:
    viewer, session = arg
    if session == viewer.session:
        viewer._episode(ev.EnterBackground(), ev.EnterForeground(),
                        viewer.runner.spec.viewing.background.duration.draw(viewer.rng))


def _pip(arg: tuple[Viewer, int]) -> None:
    viewer, session = arg
    if session == viewer.session:
        viewer._episode(ev.EnterPip(), ev.LeavePip(),
                        viewer.runner.spec.viewing.pip.duration.draw(viewer.rng))


def _kill(arg: tuple[Viewer, int]) -> None:
    viewer, session = arg
    if session == viewer.session:
        viewer._kill()


def _back(arg: tuple[Viewer, int, ev.Action]) -> None:
    viewer, session, back = arg
    if session != viewer.session:
        return
    device = viewer._device()
    if device.core.app is not AppState.FOREGROUND:
        viewer._act(back)
    viewer._plan_interruption()


_INTERRUPTIONS: Final[tuple[Callable[[tuple[Viewer, int]], None], ...]] = (
    _zap, _background, _pip, _kill)


class Runner:
    """What every viewer of one world shares: the spec, the world, how many watch."""

    def __init__(self, spec: FleetSpec, world: World) -> None:
        self.spec = spec
        self.world = world
        self.platforms: tuple[Platform, ...] = spec.platforms
        self.watching = 0


def make_viewers(runner: Runner, household: Household) -> Iterator[Viewer]:
    """The viewers of every device of ``household``'s accounts."""
    spec = runner.spec
    platform_choice = spec.platform_choice
    for index in range(household.first, household.first + household.size):
        account = account_name(index)
        rng = random.Random(derive_seed(spec.seed, "account", account))
        configs = []
        for number in range(1, spec.devices.draw(rng) + 1):
            platform = platform_choice.draw(rng)
            p = spec.platforms[platform]
            configs.append((DeviceConfig(name=f"{account}-d{number}", account=account,
                                         ssm_server_url=SSM_URL, pip=p.pip,
                                         sync_ssm_setup_teardown=p.sync_setup_teardown,
                                         async_zap_order=p.zap_order,  # type: ignore[arg-type]
                                         ip=household.ip, policy=_POLICY), platform))
        # drawn after the devices: a fleet without providers draws its devices as before
        kind = spec.providers.mix.draw(rng)
        anonymous = rng.random() < spec.providers.anonymous
        for config, platform in configs:
            yield Viewer(runner, config, platform, kind, anonymous)
