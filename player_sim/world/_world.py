"""The deterministic world: virtual clock, event queue, network, backends, devices.

Every timer of every device and backend is an event ``(time, sequence,
callback, argument)``; events run in time order, ties in the order they were
scheduled (the sequence). Events scheduled the same delay ahead
(``schedule_after``: a heartbeat period, a network latency) fall due in the
order they were scheduled, so each such delay has a FIFO *lane* (a ``deque``),
and a small heap holds the first event of each lane; every other event
(``schedule_at``) waits in a second heap. The next event is the earlier of the
two heaps' first: the same order as one heap of every event, but most events of
a large world (its heartbeats) cost a ``deque`` append and pop and a few
comparisons, not a sift through a heap with an entry per device.

Nothing reads a wall clock, and every random draw and generated id comes from a
stream keyed by (seed, device or account) (:mod:`player_sim._keyed`), so the
same configuration, seed and actions give the same trace, and one account's
devices behave the same whatever other devices share the world.

:class:`World` is synchronous (``run_until``); :class:`~player_sim.Simulation`
drives one from trio's clock.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .._collector import long_lived
from .._errors import ConfigError, PlayerSimError, RunBudgetExceeded
from .._keyed import IdMint
from ..backends import ApiAnswer, LicenseServer, OttBackend, OvpBackend, SsmServer, SsmSession
from ..providers import ApiLink, BackendPort, RefreshPolicy
from ..trace import CompressedTrace, Trace
from ._config import DeviceConfig, WorldConfig
from ._device import Device
from ._device_base import variants_fields
from ._network import Network

__all__ = ["World"]

_heappush = heapq.heappush  # schedule_at runs for every event: skip a lookup

#: At most this many lanes (distinct delays given to ``schedule_after``) per world;
#: events of any further delay go to the heap as ``schedule_at`` puts them.
_LANES_MAX = 32

#: An event of a lane: when, its sequence number (ties run in that order), what to
#: call with what, and its lane.
_LaneEvent = tuple[float, int, Callable[[Any], None], Any, "deque[_LaneEvent]"]


class World:
    """Devices, backends and network sharing one virtual clock.

    ``now`` is the virtual time in seconds. ``run_until(t)`` processes every
    event up to and including ``t``; actions on devices happen at ``now``,
    after the events already due.

    ``max_events`` is the run budget: once that many events were processed,
    advancing raises :class:`~player_sim.RunBudgetExceeded` (``None``: no budget).
    """

    def __init__(self, config: WorldConfig | None = None, *, seed: int = 0,
                 max_events: int | None = None) -> None:
        if config is not None and not isinstance(config, WorldConfig):
            raise ConfigError(f"config must be a WorldConfig, not {type(config).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be a whole number, not {seed!r}")
        if max_events is not None and (isinstance(max_events, bool) or not isinstance(
                max_events, int) or max_events < 1):
            raise ConfigError(f"max_events must be a whole number of at least 1 (or None: "
                              f"no budget), not {max_events!r}")
        self.config = config if config is not None else WorldConfig()
        self.seed = seed
        self.max_events = max_events
        self.now = 0.0
        self.trace = (CompressedTrace if self.config.compress_trace else Trace)()
        self.events_processed = 0
        self._running = False  # inside run_until: events are being processed
        # Two heaps (see the module docstring): events given to schedule_at, and the
        # first event of each lane; the FIFO lane of each delay given to schedule_after.
        self._queue: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self._heads: list[_LaneEvent] = []
        self._lanes: dict[float, deque[_LaneEvent]] = {}
        self._sequence = itertools.count()  # next(): a call CPython specialises
        self._ids = IdMint(seed)
        #: ``new_token(prefix, key)``: a token a backend issues to ``key`` (a device, else
        #: a user), drawn from that key's own stream, e.g. ``ssm-phone-3-9f0c11a2`` (see
        #: :class:`IdMint`). The mint's own method, not a method of the world calling it:
        #: every heartbeat rotates a token, and this saves a call each time.
        self.new_token: Callable[[str, str], str] = self._ids.token
        self._devices: dict[str, Device] = {}
        self.network = Network(self.config.network, self)
        # One expiry check per session, not the server's expiry sweep: events_processed
        # must add up over a fleet's shards (a fleet's fingerprint counts them), and the
        # sweep's events depend on which sessions share a server.
        self.ssm = SsmServer(self.config.ssm, self, trace_heartbeats=self.config.trace_heartbeats)
        self.license = LicenseServer(self.config.license, self, self.ssm)
        self.ott = OttBackend(self.config.ott, self)
        self.ovp = OvpBackend(self.config.ovp, self)
        #: What providers see of this world (they never see the world itself).
        self.backend_port: BackendPort = _BackendPort(self)
        # Set by a Simulation: where "now" comes from, and whom to tell about new events.
        self._clock: Callable[[], float] | None = None
        self._poke: Callable[[], None] | None = None

    # --- devices ------------------------------------------------------------------

    def add_device(self, config: DeviceConfig) -> Device:
        """Add a device (foreground, idle) at ``now``; names are unique in a world."""
        self.catch_up()
        if config.name in self._devices:
            raise ConfigError(f"a device named {config.name!r} already exists in this world")
        device = Device(self, config)
        self._devices[config.name] = device
        # The variants as SsmVariants.as_dict() gives them (attrs.asdict), built faster.
        data: dict[str, Any] = {"account": config.account,
                                "ssm": config.ssm_server_url is not None,
                                "sync": config.sync_ssm_setup_teardown,
                                "variants": variants_fields(device.core.config.variants)}
        provider = config.session_provider
        if provider is not None:  # what the SDK was given: judged by the provider rules
            data["base_url"] = provider.base_url
            data["partner_id"] = provider.partner_id
            policy = getattr(getattr(provider, "variants", None), "refresh_policy", None)
            if isinstance(policy, RefreshPolicy):  # judges its refreshes, not its own delta
                data["refresh_policy"] = ({"fraction": policy.fraction}
                                          if policy.fraction is not None
                                          else {"margin": policy.margin})
        self.record(config.name, "device_added", data)
        return device

    def add_devices(self, configs: Iterable[DeviceConfig], *, play: str | None = None
                    ) -> list[Device]:
        """Add a device for each of ``configs``, in order, as :meth:`add_device` does, and
        return them; with ``play``, each starts playing that stream as soon as it is
        added: the same world and trace as ``add_device(config).play(play)`` for each
        config in turn. A refused config (a name taken) raises as :meth:`add_device`
        does; the devices before it stay added.

        Made for many devices at once (a fleet of 100,000): their objects live as long
        as the world, yet the cyclic garbage collector would traverse them again at
        each of its collections while they are built (a quarter of the time). So,
        while it runs, the collector is paused (``gc.disable()``), and at the end every
        object alive (the caller's young ones too) is moved to its oldest generation at
        no cost (``gc.freeze()`` then ``gc.unfreeze()``): still collected once garbage,
        by the next full collection.
        The caller's collector is restored, even on error: enabled again if it was.
        A collector the caller disabled, or objects the caller froze
        (``gc.get_freeze_count()``), are left exactly as they were (nothing is moved).
        Meanwhile nothing is collected, for other threads either.
        """
        added: list[Device] = []
        with long_lived():
            for config in configs:
                device = self.add_device(config)
                added.append(device)
                if play is not None:
                    device.play(play)
        return added

    def device(self, name: str) -> Device:
        try:
            return self._devices[name]
        except KeyError:
            raise ConfigError(f"no device named {name!r}; devices: "
                              f"{', '.join(self._devices) or 'none'}") from None

    @property
    def devices(self) -> Sequence[Device]:
        return tuple(self._devices.values())

    # --- time -----------------------------------------------------------------------

    def schedule_at(self, time: float, callback: Callable[[Any], None], arg: Any) -> None:
        """Run ``callback(arg)`` at virtual ``time`` (not before ``now``)."""
        _heappush(self._queue, (time, next(self._sequence), callback, arg))

    def schedule_after(self, delay: float, callback: Callable[[Any], None], arg: Any) -> None:
        """``schedule_at(now + delay, callback, arg)``, for a delay that recurs (a
        timer's period, a fixed latency): events of the same delay fall due in the
        order they were scheduled (``now`` never goes back), so they wait in that
        delay's FIFO lane (see the module docstring). The same events run in the same
        order as with ``schedule_at``; past a few distinct delays, it is ``schedule_at``.
        """
        lane = self._lanes.get(delay)
        if lane is None:
            if len(self._lanes) >= _LANES_MAX or not delay >= 0:
                self.schedule_at(self.now + delay, callback, arg)
                return
            lane = self._lanes[delay] = deque()
        event = (self.now + delay, next(self._sequence), callback, arg, lane)
        if not lane:
            _heappush(self._heads, event)
        lane.append(event)

    def next_event_time(self) -> float | None:
        queue, heads = self._queue, self._heads
        if queue and heads:
            return min(queue[0][0], heads[0][0])
        return queue[0][0] if queue else heads[0][0] if heads else None

    def run_until(self, time: float) -> None:
        """Process every event due at or before ``time``; then ``now == time``.

        Not from inside one of the world's own events (a signal receiver, an app
        policy): that would move ``now`` under the event still running.
        """
        if self._running:
            raise PlayerSimError("can't advance the world from inside one of its own events "
                                 "(a signal receiver or an app policy); act on the device, "
                                 "or advance after the event")
        if not isinstance(time, int | float) or isinstance(time, bool) \
                or not math.isfinite(time):
            raise ConfigError(f"run_until takes a finite number of seconds, not {time!r}")
        if time < self.now:
            raise PlayerSimError(f"time can't go backwards (now {self.now}, asked {time})")
        queue, heads = self._queue, self._heads
        pop, replace = heapq.heappop, heapq.heapreplace
        processed = 0
        budget = (self.max_events - self.events_processed if self.max_events is not None
                  else -1)
        self._running = True
        try:
            while True:
                # The earlier of the two heaps' first events (by time, then sequence:
                # sequence numbers are unique, so the comparison stops there).
                if heads and (not queue or heads[0] < queue[0]):
                    event_time, _, callback, arg, lane = heads[0]
                    if event_time > time:
                        break
                    if processed == budget:
                        self._over_budget()
                    lane.popleft()  # the lane's next event takes its place
                    if lane:
                        replace(heads, lane[0])
                    else:
                        pop(heads)
                elif queue and queue[0][0] <= time:
                    if processed == budget:
                        self._over_budget()
                    event_time, _, callback, arg = pop(queue)
                else:
                    break
                self.now = event_time
                callback(arg)
                processed += 1
        finally:
            self._running = False
            self.events_processed += processed
        self.now = time

    def _over_budget(self) -> None:
        raise RunBudgetExceeded(
            f"the run processed {self.max_events:,} world events by "
            f"{self.now:,.3f}s of virtual time, its budget: "
            "a period or a wait "
            "is far too short or too long; raise the budget with max_events "
            "if the scenario really needs more")

    def run_for(self, seconds: float) -> None:
        """Advance ``seconds`` of virtual time."""
        self.run_until(self.now + seconds)

    def catch_up(self) -> None:
        """Under a Simulation, bring the world up to trio's current time first.

        Inside one of the world's events (a signal receiver reading a device) the
        world stays at the event's time.
        """
        if self._clock is not None and not self._running:
            target = self._clock()
            if target > self.now:
                self.run_until(target)

    def poke(self) -> None:
        if self._poke is not None:
            self._poke()

    # --- faults -----------------------------------------------------------------------

    def outage(self, link: str, start: float, end: float) -> None:
        """Make the backend behind ``link`` unreachable during ``[start, end)``."""
        self.network.outage(link, start, end)

    def add_latency(self, link: str, extra: float, start: float = 0.0,
                    end: float = float("inf")) -> None:
        """Messages leaving on ``link`` during ``[start, end)`` take ``extra`` seconds more."""
        self.network.add_latency(link, extra, start, end)

    # --- questions -------------------------------------------------------------------

    def active_sessions(self, account: str | None = None) -> list[SsmSession]:
        """Live SSM sessions at ``now`` (of ``account`` if given)."""
        self.catch_up()
        return self.ssm.active_sessions(account)

    def zombie_sessions(self, account: str | None = None) -> list[SsmSession]:
        """Live SSM sessions no running player holds: killed apps, lost teardowns."""
        self.catch_up()
        zombies = []
        for session in self.ssm.active_sessions(account):
            device = self._devices.get(session.device)
            if device is None or device.killed:
                zombies.append(session)
                continue
            token = device.core.ssm_token
            held = token is not None and token in (session.token, session.previous_token)
            # A setup answer or a teardown still on the wire will settle it either way.
            settling = (session.token in device.teardowns_on_the_wire
                        or any(sent <= session.created_at for sent in device.setups_on_the_wire))
            if not (held or settling):
                zombies.append(session)
        return zombies

    # --- for devices and backends -----------------------------------------------------

    def record(self, device: str | None, kind: str, data: Mapping[str, Any]) -> None:
        """Append a world or backend event to the trace (no device states)."""
        self.trace.write(self.now, device, kind, None, None, data, None)

    def record_stamp(self, device: str | None, kind: str, names: tuple[str, ...]
                     ) -> int | None:
        """A stamp (:meth:`Trace.stamp`) in :attr:`trace` as it is now, for the records
        :meth:`record` writes for ``device`` and ``kind`` whose ``data`` has the fields
        ``names``, in that order: ``trace.write_stamped(now, stamp, values)`` writes
        one, while ``trace`` is that trace and ``now`` a float (the SSM server writes
        its traced heartbeats so). ``None``: write them with :meth:`record` (a trace
        that takes no stamps, or a world whose ``record`` is overridden or replaced)."""
        # (Not ``"record" in vars(self)``: on CPython 3.11 a world whose __dict__ was
        # made an object stops its attribute loads from specialising, each a slow lookup.)
        record = self.record
        own = getattr(record, "__func__", None) is World.record \
            and getattr(record, "__self__", None) is self
        if not own:
            return None
        return self.trace.stamp(device, kind, None, None, None, names)


class _BackendPort:
    """A world as its providers see it: a :class:`~player_sim.providers.BackendPort`."""

    __slots__ = ("_world",)

    def __init__(self, world: World) -> None:
        self._world = world

    @property
    def now(self) -> float:
        return self._world.now

    @property
    def ott(self) -> OttBackend:
        return self._world.ott

    @property
    def ovp(self) -> OvpBackend:
        return self._world.ovp

    def call(self, link: ApiLink, device: str | None, endpoint: str,
             serve: Callable[[], ApiAnswer], deliver: Callable[[ApiAnswer], None],
             ks: str | None) -> None:
        world = self._world
        backend = world.ott if link == "ott" else world.ovp
        if ks is not None:
            backend.ledger.note_use(device, ks, endpoint)
        world.network.request(link, serve, lambda: backend.unavailable(device, endpoint),
                              deliver, sender=device)

    def after(self, delay: float, action: Callable[[], None]) -> None:
        self._world.schedule_at(self._world.now + delay, _run, action)

    def record(self, device: str | None, kind: str, data: Mapping[str, Any]) -> None:
        self._world.record(device, kind, data)


def _run(action: Callable[[], None]) -> None:
    action()
