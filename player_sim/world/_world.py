"""The deterministic world: virtual clock, one event queue, network, backends, devices.

Every timer of every device and backend lives in one ``heapq`` of
``(time, sequence, callback, argument)``; ties run in the order they were
scheduled. Nothing reads a wall clock, and every random draw and generated id
comes from a stream keyed by (seed, device or account) (:mod:`player_sim._keyed`),
so the same configuration, seed and actions give the same trace, and one
account's devices behave the same whatever other devices share the world.

:class:`World` is synchronous (``run_until``); :class:`~player_sim.Simulation`
drives one from trio's clock.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from .. import signals
from .._errors import ConfigError, InvalidTransition, PlayerSimError
from .._keyed import IdMint
from ..backends import LicenseServer, OttBackend, OvpBackend, SsmServer, SsmSession
from ..backends._license import LicenseVerdict
from ..player import AppState, PlaybackState, PlayerCore
from ..player import _events as ev
from ..providers import MediaResult, OttSessionProvider, OvpSessionProvider, PrimitiveResult
from ..trace import Trace, TraceRecord
from ._config import DeviceConfig, WorldConfig
from ._network import Network

if TYPE_CHECKING:
    from ..rules import Violation

__all__ = ["Device", "Notification", "World"]

import attrs

_heappush = heapq.heappush  # schedule_at runs for every event: skip a lookup


@attrs.frozen
class Notification:
    """What a signal carries: when, which device, which kind, and the payload."""

    time: float
    device: str
    kind: str
    payload: Mapping[str, Any]


class World:
    """Devices, backends and network sharing one virtual clock.

    ``now`` is the virtual time in seconds. ``run_until(t)`` processes every
    event up to and including ``t``; actions on devices happen at ``now``,
    after the events already due.
    """

    def __init__(self, config: WorldConfig | None = None, *, seed: int = 0) -> None:
        self.config = config if config is not None else WorldConfig()
        self.seed = seed
        self.now = 0.0
        self.trace = Trace()
        self.events_processed = 0
        self._running = False  # inside run_until: events are being processed
        self._queue: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self._next_sequence = itertools.count().__next__
        self._ids = IdMint(seed)
        self._devices: dict[str, Device] = {}
        self.network = Network(self.config.network, self)
        self.ssm = SsmServer(self.config.ssm, self, trace_heartbeats=self.config.trace_heartbeats)
        self.license = LicenseServer(self.config.license, self, self.ssm)
        self.ott = OttBackend(self.config.ott, self)
        self.ovp = OvpBackend(self.config.ovp, self)
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
        self.record(config.name, "device_added", {"account": config.account,
                                                  "ssm": config.ssm_server_url is not None,
                                                  "sync": config.sync_ssm_setup_teardown})
        return device

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
        _heappush(self._queue, (time, self._next_sequence(), callback, arg))

    def next_event_time(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def run_until(self, time: float) -> None:
        """Process every event due at or before ``time``; then ``now == time``.

        Not from inside one of the world's own events (a signal receiver, an app
        policy): that would move ``now`` under the event still running.
        """
        if self._running:
            raise PlayerSimError("can't advance the world from inside one of its own events "
                                 "(a signal receiver or an app policy); act on the device, "
                                 "or advance after the event")
        if time < self.now:
            raise PlayerSimError(f"time can't go backwards (now {self.now}, asked {time})")
        queue = self._queue
        pop = heapq.heappop
        processed = 0
        self._running = True
        try:
            while queue and queue[0][0] <= time:
                event_time, _, callback, arg = pop(queue)
                self.now = event_time
                callback(arg)
                processed += 1
        finally:
            self._running = False
            self.events_processed += processed
        self.now = time

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

    def check_rules(self, *, rules: Collection[str] | None = None) -> list[Violation]:
        """Every violation of the rule catalogue (or of ``rules``) in the run so far.

        The same monitors a scenario run, ``player-sim check`` and the property
        tests use, configured from this world (see :mod:`player_sim.rules`).
        """
        self.catch_up()
        from ..rules import CheckConfig, check_trace

        return check_trace(self.trace, CheckConfig.for_world(self), rules=rules, end=self.now)

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
        self.trace.append(TraceRecord(self.now, device, kind, None, None, data))

    def new_token(self, prefix: str, key: str) -> str:
        """A token a backend issues to ``key`` (a device, else a user): drawn from
        that key's own stream, e.g. ``ssm-phone-3-9f0c11a2`` (see :class:`IdMint`)."""
        return self._ids.token(prefix, key)


_RESUME_KINDS = frozenset({AppState.FOREGROUND.value, AppState.PIP.value})
# Read on every heartbeat: a module constant is several times cheaper than
# looking the member up on the Enum class.
_BACKGROUND: Final = AppState.BACKGROUND


class Device:
    """One device in a world: the player core, its SDK, its app, its network links.

    Actions (``play``, ``stop`` ...) happen at the world's ``now``. While a
    synchronous SSM setup or teardown blocks the main thread, actions wait and
    run when it is free (``blocked_time`` sums the blocked seconds); one the
    player refuses by then is recorded as ``action_dropped``. While the
    app is suspended (normal background) its timers and incoming answers wait
    for the foreground.
    """

    def __init__(self, world: World, config: DeviceConfig) -> None:
        self.world = world
        self.config = config
        self.name = config.name
        self.core = PlayerCore(config.core_config())
        self.policy = config.policy
        self.killed = False
        # Which run of the app this is: a kill starts a new one, and what the dead
        # process sent or armed (answers, timers, app reactions) never reaches it.
        self._launch = 0
        self._heartbeats_sent = 0
        self._blocked_time = 0.0
        self._blocking = 0
        self._blocked_since = 0.0
        self._waiting: deque[tuple[float, ev.Action, str]] = deque()
        self._deferred: list[Callable[[], None]] = []
        self._overdue_heartbeat: ev.HeartbeatDue | None = None
        # The heartbeat timer's argument, reused while playback and launch stay the same.
        self._heartbeat_timer = (ev.HeartbeatDue(0), self._launch)
        self._trace_heartbeats = world.config.trace_heartbeats
        # SSM round trips under way, so that a session whose answer is still on the
        # wire is not taken for a zombie: when each unanswered setup left, and the
        # tokens of unanswered teardowns.
        self.setups_on_the_wire: deque[float] = deque()
        self.teardowns_on_the_wire: list[str] = []
        self.session_provider = config.session_provider
        if isinstance(self.session_provider, OttSessionProvider | OvpSessionProvider):
            self.session_provider.attach(world, self.name)

    # --- what a harness reads ----------------------------------------------------------

    @property
    def app_state(self) -> AppState:
        self.world.catch_up()
        return self.core.app

    @property
    def playback_state(self) -> PlaybackState:
        self.world.catch_up()
        return self.core.playback

    @property
    def stream(self) -> str | None:
        self.world.catch_up()
        return self.core.stream

    @property
    def main_thread_blocked(self) -> bool:
        self.world.catch_up()
        return self._blocking > 0

    @property
    def heartbeats_sent(self) -> int:
        """How many SSM heartbeats this device has sent."""
        self.world.catch_up()
        return self._heartbeats_sent

    @property
    def blocked_time(self) -> float:
        """Seconds its main thread spent blocked by synchronous SSM setups and teardowns."""
        self.world.catch_up()
        return self._blocked_time

    def __repr__(self) -> str:
        return (f"<Device {self.name!r} app={self.core.app.value} "
                f"playback={self.core.playback.value}>")

    # --- what a user does ------------------------------------------------------------

    def play(self, stream: str) -> None:
        """Start playing ``stream``."""
        self.perform(ev.Play(stream))

    def stop(self) -> None:
        self.perform(ev.Stop())

    def zap(self, stream: str) -> None:
        """Stop the current stream and start ``stream`` (which may be the same one)."""
        self.perform(ev.Zap(stream))

    def resume(self) -> None:
        self.perform(ev.Resume())

    def release_item(self) -> None:
        self.perform(ev.ReleaseItem())

    def enter_background(self) -> None:
        self.perform(ev.EnterBackground())

    def enter_foreground(self) -> None:
        self.perform(ev.EnterForeground())

    def enter_pip(self) -> None:
        self.perform(ev.EnterPip())

    def leave_pip(self) -> None:
        self.perform(ev.LeavePip())

    def close_pip(self) -> None:
        self.perform(ev.ClosePip())

    def login(self, username: str | None = None, password: str | None = None) -> None:
        """Start a session on the device's session provider: a user session with
        ``username`` and ``password``, else an anonymous one. Answered later."""
        self.perform(ev.Login(username, password))

    def logout(self) -> None:
        """End the session provider's session (same as :meth:`end_session`)."""
        self.perform(ev.Logout())

    def end_session(self) -> None:
        """End the session provider's session: a user session is logged out at the
        backend; an anonymous one is dropped locally (its KS stays valid until expiry)."""
        self.perform(ev.EndSession())

    def perform(self, action: ev.Action, *, origin: str = "user") -> None:
        """Perform ``action`` now (or when the main thread is free).

        Raises :class:`~player_sim.InvalidTransition` if the player refuses it now.
        """
        world = self.world
        world.catch_up()
        if self.killed:
            raise InvalidTransition("app", AppState.TERMINATED.value, _action_name(action))
        if self._blocking:
            self._waiting.append((world.now, action, origin))
            self._record("action_waits", {"name": _action_name(action), "origin": origin})
        else:
            self._do(action, origin)
        world.poke()

    def kill(self) -> None:
        """The OS kills the app: nothing is sent; its SSM session becomes a zombie."""
        self.world.catch_up()
        effects = self.core.kill()
        self.killed = True
        self._launch += 1
        self.setups_on_the_wire.clear()
        self.teardowns_on_the_wire.clear()
        if self._blocking:
            self._unblock_all()
        self._waiting.clear()
        self._deferred.clear()
        self._overdue_heartbeat = None
        self._record("app_killed", {"stream": self.core.stream})
        if isinstance(self.session_provider, OttSessionProvider | OvpSessionProvider):
            self.session_provider.forget()  # the app's memory is gone; its KS is not
        self._run(effects)
        self.world.poke()

    def relaunch(self) -> None:
        """Start the killed app again: a new player, idle in the foreground."""
        self.world.catch_up()
        effects = self.core.relaunch()
        self.killed = False
        self._record("app_relaunched", {})
        self._run(effects)
        self.world.poke()

    # --- inside -----------------------------------------------------------------------

    def _do(self, action: ev.Action, origin: str) -> None:
        if isinstance(action, ev.Login | ev.Logout | ev.EndSession):
            self._session_action(action, origin)
            return
        data: dict[str, Any] = {"name": _action_name(action), "origin": origin}
        data.update(attrs.asdict(action))
        effects = self.core.feed(action)
        self._record("action", data)
        self._run(effects)

    def _app_act(self, packed: tuple[ev.Action, int]) -> None:
        """An action the app policy chose, applied after the reaction delay."""
        action, launch = packed
        if self.killed or launch != self._launch or not self.core.can(action):
            return
        if self._blocking:
            self._waiting.append((self.world.now, action, "app"))
            return
        self._do(action, "app")

    def _record(self, kind: str, data: Mapping[str, Any]) -> None:
        core = self.core
        self.world.trace.append(TraceRecord(self.world.now, self.name, kind, core.app.value,
                                            core.playback.value, data))

    def _deliver(self, answer: ev.Answer, launch: int) -> None:
        if self.killed or launch != self._launch:
            return
        if self.core.app is _BACKGROUND:
            self._deferred.append(lambda: self._deliver(answer, launch))
            return
        effects = self.core.feed(answer)
        if effects:  # a heartbeat's answer usually has none
            self._run(effects)

    def _run(self, effects: tuple[ev.Effect, ...]) -> None:
        for effect in effects:
            carry_out = _CARRY_OUT.get(type(effect))
            if carry_out is None:
                raise PlayerSimError(f"device {self.name!r} can't carry out {effect!r}")
            carry_out(self, effect)

    # --- session provider and media provider --------------------------------------------

    def _session_action(self, action: ev.Login | ev.Logout | ev.EndSession,
                        origin: str) -> None:
        provider = self.session_provider
        name = _action_name(action)
        if not isinstance(provider, OttSessionProvider | OvpSessionProvider):
            what = "no session provider" if provider is None else \
                f"a self-implemented session provider ({type(provider).__name__})"
            raise ConfigError(f"device {self.name!r} can't {name}: it has {what}; login, "
                              "logout and end_session need an OttSessionProvider or an "
                              "OvpSessionProvider")
        data: dict[str, Any] = {"name": name, "origin": origin}
        if isinstance(action, ev.Login):
            data["username"] = action.username  # never the password
        self._record("action", data)

        def done(result: PrimitiveResult) -> None:
            self.world.schedule_at(self.world.now, self._session_answered, (name, result))

        if isinstance(action, ev.Login):
            provider.login(action.username, action.password, done)
        else:
            provider.end_session(done)

    def _session_answered(self, packed: tuple[str, PrimitiveResult]) -> None:
        name, result = packed
        data: dict[str, Any] = {"action": name, "ok": result.ok}
        if result.error is not None:
            data.update(code=result.error.code, message=result.error.message)
        self._record("session_answered", data)

    def _fetch_ks(self, effect: ev.FetchKs) -> None:
        provider = self.session_provider
        if provider is None:
            raise PlayerSimError(f"device {self.name!r} can't obtain a KS: "
                                 "no session provider is configured")
        self._record("ks_requested", {})
        pid, world, launch = effect.playback_id, self.world, self._launch

        def done(result: PrimitiveResult) -> None:
            error = result.error
            answer = ev.KsAnswered(pid, result.value) if error is None else ev.KsAnswered(
                pid, None, *_error_fields(error.code, error.name, error.message))
            world.schedule_at(world.now, self._answered_now, ("ks_answered", answer, launch))

        provider.get_ks(done)

    def _load_media(self, effect: ev.LoadMedia) -> None:
        media, provider = self.config.media, self.session_provider
        if media is None or provider is None:
            raise PlayerSimError(f"device {self.name!r} can't load media: "
                                 "no media provider is configured")
        self._record("media_load_started", {"stream": effect.stream})
        pid, world, launch = effect.playback_id, self.world, self._launch

        def done(result: MediaResult) -> None:
            entry, error = result.entry, result.error
            if entry is not None:
                answer = ev.MediaAnswered(pid, True, entry.drm_scheme, entry.license_url,
                                          entry.ssm)
            else:
                assert error is not None
                code, message = _error_fields(error.code, error.name, error.message)
                answer = ev.MediaAnswered(pid, False, error_code=code, message=message)
            world.schedule_at(world.now, self._answered_now,
                              ("media_answered", answer, launch))

        media.for_playback(effect.stream, provider, world, self.name).load(done)

    def _answered_now(self, packed: tuple[str, ev.Answer, int]) -> None:
        self._answered(packed[0], packed[1], False, packed[2])

    # --- SSM and license traffic --------------------------------------------------------

    def _arm_heartbeat(self, effect: ev.ArmHeartbeat) -> None:
        # Heartbeats are most of a large world's events: the timer's argument is
        # immutable, so one (HeartbeatDue, launch) pair serves every period of a
        # playback instead of two new objects per heartbeat.
        timer = self._heartbeat_timer
        if timer[0].playback_id != effect.playback_id or timer[1] != self._launch:
            timer = self._heartbeat_timer = (ev.HeartbeatDue(effect.playback_id), self._launch)
        world = self.world
        world.schedule_at(world.now + effect.delay, self._heartbeat_due, timer)

    def _heartbeat_due(self, timer: tuple[ev.HeartbeatDue, int]) -> None:
        due, launch = timer
        if self.killed or launch != self._launch:
            return
        if self.core.app is _BACKGROUND:
            self._overdue_heartbeat = due  # iOS timers stop while suspended
            return
        self._run(self.core.feed(due))

    def _send_heartbeat(self, effect: ev.SendHeartbeat) -> None:
        self._heartbeats_sent += 1
        if self._trace_heartbeats:
            self._record("heartbeat_sent", {"token": effect.token})
        self.world.network.send(_HeartbeatRequest(self, effect.token, effect.playback_id))

    def _send_setup(self, effect: ev.SendSsmSetup) -> None:
        cfg = self.config
        self._record("ssm_setup_sent", {"stream": effect.stream, "blocking": effect.blocking})
        if effect.blocking:
            self._block()
        self.setups_on_the_wire.append(self.world.now)
        ssm, name, pid, stream = self.world.ssm, self.name, effect.playback_id, effect.stream
        launch = self._launch
        self.world.network.request(
            "ssm", lambda: ssm.setup(cfg.account, name, stream, cfg.ip, cfg.device_group),
            lambda: ssm.unavailable(name, "setup"),
            lambda answer: self._setup_arrived(ev.SetupAnswered(pid, answer), effect.blocking,
                                               launch), sender=name)

    def _send_teardown(self, effect: ev.SendSsmTeardown) -> None:
        self._record("ssm_teardown_sent", {"token": effect.token, "blocking": effect.blocking})
        if effect.blocking:
            self._block()
        self.teardowns_on_the_wire.append(effect.token)
        ssm, name, token, pid = self.world.ssm, self.name, effect.token, effect.playback_id
        launch = self._launch
        self.world.network.request(
            "ssm", lambda: ssm.teardown(name, token),
            lambda: ssm.unavailable(name, "teardown"),
            lambda answer: self._teardown_arrived(token, ev.TeardownAnswered(pid, answer),
                                                  effect.blocking, launch), sender=name)

    def _setup_arrived(self, answer: ev.SetupAnswered, blocking: bool, launch: int) -> None:
        if launch == self._launch:
            self.setups_on_the_wire.popleft()
        self._answered("ssm_setup_answered", answer, blocking, launch)

    def _teardown_arrived(self, token: str, answer: ev.TeardownAnswered, blocking: bool,
                          launch: int) -> None:
        if launch == self._launch:
            self.teardowns_on_the_wire.remove(token)
        self._answered("ssm_teardown_answered", answer, blocking, launch)

    def _send_license(self, effect: ev.SendLicenseRequest) -> None:
        self._record("license_request_sent", {"stream": effect.stream,
                                              "ssm_token": effect.ssm_token})
        lic, name, pid, stream = self.world.license, self.name, effect.playback_id, effect.stream
        launch = self._launch

        def deliver(verdict: LicenseVerdict) -> None:
            self._answered("license_answered", ev.LicenseAnswered(
                pid, verdict.granted, verdict.http_status, verdict.code, verdict.message), False,
                launch)

        self.world.network.request(
            "license", lambda: lic.request(name, stream, effect.ssm_token, effect.ssm_required),
            lambda: lic.unavailable(name, stream), deliver, sender=name)

    def _answered(self, kind: str, answer: ev.Answer, unblocks: bool, launch: int) -> None:
        if self.killed or launch != self._launch:
            return
        if self.core.app is AppState.BACKGROUND:
            self._deferred.append(lambda: self._answered(kind, answer, unblocks, launch))
            return
        data = attrs.asdict(answer)
        data.pop("playback_id", None)
        self._record(kind, _flatten(data))
        self._run(self.core.feed(answer))
        if unblocks:
            self._unblock()

    # --- the main thread --------------------------------------------------------------

    def _block(self) -> None:
        if self._blocking == 0:
            self._blocked_since = self.world.now
        self._blocking += 1

    def _unblock(self) -> None:
        self._blocking -= 1
        if self._blocking:
            return
        self._close_blocked_period()
        while self._waiting and not self._blocking and not self.killed:
            since, action, origin = self._waiting.popleft()
            if origin == "app" and not self.core.can(action):
                continue
            self._record("action_delayed", {"name": _action_name(action),
                                            "waited": round(self.world.now - since, 6)})
            try:
                self._do(action, origin)
            except (InvalidTransition, ConfigError) as refused:
                # Nobody is left to raise to: the user acted while the thread was blocked.
                self._record("action_dropped", {"name": _action_name(action), "origin": origin,
                                                "reason": str(refused)})

    def _unblock_all(self) -> None:
        self._blocking = 0
        self._close_blocked_period()

    def _close_blocked_period(self) -> None:
        blocked = self.world.now - self._blocked_since
        self._blocked_time += blocked
        self._record("main_thread_blocked", {"seconds": round(blocked, 6)})

    # --- notifications and the app policy -----------------------------------------------

    def _notify(self, effect: ev.Notify) -> None:
        payload = effect.payload()
        kind = effect.kind
        self._record(kind, payload)
        note = Notification(self.world.now, self.name, kind, payload)
        signals.signal(kind).send(self, notification=note)
        policy = self.policy
        actions = list(policy.on_notification(self.core, kind, payload))
        if kind == "state_changed" and payload["app"] != payload["app_from"]:
            if payload["app"] == AppState.BACKGROUND.value:
                actions += policy.on_background(self.core)
            elif (payload["app_from"] == AppState.BACKGROUND.value
                  and payload["app"] in _RESUME_KINDS):
                self._wake_up()
                # The app decides once the answers that arrived while it was suspended
                # are delivered: "if no error notification is received, playback can
                # resume" (a heartbeat error waiting for it must be seen first).
                self.world.schedule_at(self.world.now, self._back_in_foreground, self._launch)
        self._react(actions)

    def _react(self, actions: Sequence[ev.Action]) -> None:
        delay = self.config.app_reaction_delay
        for action in actions:
            self.world.schedule_at(self.world.now + delay, self._app_act,
                                   (action, self._launch))

    def _back_in_foreground(self, launch: int) -> None:
        if not self.killed and launch == self._launch:
            self._react(self.policy.on_foreground(self.core))

    def _wake_up(self) -> None:
        """Back from suspension: answers that arrived meanwhile, then an overdue heartbeat."""
        deferred, self._deferred = self._deferred, []
        overdue, self._overdue_heartbeat = self._overdue_heartbeat, None
        for deliver in deferred:
            self.world.schedule_at(self.world.now, lambda f: f(), deliver)
        if overdue is not None:
            self._record("heartbeat_overdue", {})
            self.world.schedule_at(self.world.now, self._heartbeat_due, (overdue, self._launch))


#: How a device carries out each kind of effect its core returns.
_CARRY_OUT: Final[dict[type, Callable[[Device, Any], None]]] = {
    ev.ArmHeartbeat: Device._arm_heartbeat,
    ev.SendHeartbeat: Device._send_heartbeat,
    ev.Notify: Device._notify,
    ev.SendSsmSetup: Device._send_setup,
    ev.SendSsmTeardown: Device._send_teardown,
    ev.SendLicenseRequest: Device._send_license,
    ev.FetchKs: Device._fetch_ks,
    ev.LoadMedia: Device._load_media,
}


class _HeartbeatRequest:
    """One heartbeat on the wire (a :class:`~._network.Request`).

    Heartbeats are most of a large world's traffic: one small object per heartbeat
    costs less than the three closures :meth:`Network.request` would take.
    """

    __slots__ = ("device", "launch", "playback_id", "token")
    link = "ssm"

    def __init__(self, device: Device, token: str, playback_id: int) -> None:
        self.device = device
        self.token = token
        self.playback_id = playback_id
        self.launch = device._launch

    @property
    def sender(self) -> str:
        return self.device.name

    def serve(self) -> ev.SsmAnswer:
        return self.device.world.ssm.heartbeat(self.device.name, self.token)

    def unavailable(self) -> ev.SsmAnswer:
        return self.device.world.ssm.unavailable(self.device.name, "heartbeat")

    def deliver(self, answer: ev.SsmAnswer) -> None:
        self.device._deliver(ev.HeartbeatAnswered(self.playback_id, answer), self.launch)


def _action_name(action: ev.Action) -> str:
    name = type(action).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _error_fields(code: int | str, name: str, message: str) -> tuple[int | None, str]:
    """An error element as the core's (error_code, message): OVP's string codes go
    into the message, as the core's codes are numbers."""
    if isinstance(code, int):
        return code, message
    return None, f"{code}: {message}" if message else code


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    """Lift a nested answer's fields to the top level for the trace."""
    inner = data.pop("answer", None)
    if isinstance(inner, dict):
        data.update({k: v for k, v in inner.items() if v is not None or k == "ssm_code"})
    return data
