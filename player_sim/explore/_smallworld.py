"""The small world: two player cores, one account limited to one session, the real SSM server.

Two :class:`~player_sim.PlayerCore` objects (devices ``a`` and ``b``) share the
account ``acct``; the server is the real :class:`~player_sim.backends.SsmServer`
with ``SsmConfig(max_sessions_per_account=1)`` (limit refuses, heartbeats
rotate the token, stale tokens fail, teardown frees the slot, sessions expire),
and licenses come from the real :class:`~player_sim.backends.LicenseServer`.
The only abstraction left is *which message goes next*: each step is one of

* an action of either device (play, zap to the same stream, stop; none while
  a synchronous request blocks its main thread), a kill or a relaunch;
* the request at the head of a device's SSM link reaching the server (each
  device's requests travel in order, as with the World's FIFO per device and
  link; the two links interleave in every way); a killed app's requests still
  arrive, their answers reach nobody;
* the answer at the head of a device's answer link reaching the device;
* a timed event: a heartbeat timer firing, a session expiring at the server.

Licenses are answered within the step that asks for them (no race to find there).

**Time.** The clock is virtual: a step that is not a timed event takes
:data:`~._coremodel.STEP` seconds, but never reaches the next timed event (it
stops half a step before it); timed events fire at their due time, in due
order, and nothing else happens while one is due. A heartbeat timer does not
fire while its previous heartbeat is still on the wire (a round trip is far
shorter than a period; the slow-link race is the random search's to find).
So a device's heartbeats are never late, and a session whose device stopped
beating expires exactly when the server's rules say.

**Judging.** :class:`ExploreHost` is the server's host: its clock is the
explorer's, and its ``record`` writes the server's records (server vantage)
into the same list as the devices' records (:class:`~._recording.Recorder`),
in the order they happen; each step's records go to the state's
:class:`~player_sim.rules.TraceChecker`. Every finding is a violation of a
catalogue rule found by its own monitor; nothing here restates a rule. The old
abstract world's invariants are now rules: "no setup refused by the device's
own old session" is ``ssm.zap.no-self-limit``; "never more sessions than the
limit" is ``ssm.setup.limit-refuses``; "at most one heartbeat timer per item"
is ``ssm.heartbeat.one-timer``; "a session held by no player and no teardown
on the wire" is ``ssm.teardown.on-stop`` (a stop), ``ssm.zap.replaces-session``
(a zap), ``ssm.teardown.on-item-release`` (a released or failed item) when the
player forgets its session without sending a teardown, ``ssm.kill.no-teardown``
and ``ssm.session.expires`` for a killed app's zombie, and the new
``ssm.teardown.ends-session`` when the player sends a teardown that the server
refuses while the session lives on (the stale-token teardown race, which none
of the others can see: each judges only that a teardown left); "playing with
a token no live session has" is ``ssm.heartbeat.keeps-session`` (and
``ssm.errors.heartbeat-notified`` once the server refuses it). "Stopping with
no blocking teardown" is ``ssm.stop.completes``.

**Breadth first.** Each explored state carries its own copy of the server
(:meth:`SsmServer.copy <player_sim.backends.SsmServer.copy>`), of its host
and of the checker. States that behave alike are merged (:func:`world_key`):
playback ids are taken relative to each core's, tokens are renamed in order
of appearance, and timed events are kept by their order, not their times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import attrs

from .._errors import PlayerSimError
from ..backends import LicenseConfig, LicenseServer, SsmConfig, SsmServer, SsmSession
from ..player import CoreConfig, PlayerCore
from ..player import _events as ev
from ..rules import CATALOGUE, CheckConfig, TraceChecker
from ..trace import TraceRecord
from ._coremodel import STEP, checker_key, clone_core, variant_key
from ._recording import Recorder, clone_checker

__all__ = ["ACCOUNT", "DEVICES", "SSM_CONFIG", "SYNC_UNJUDGED", "WORLD_ACTIONS", "WORLD_RULES",
           "WORLD_UNJUDGED", "ExploreHost", "WorldState", "world_checker", "world_inputs",
           "world_key", "world_root", "world_step"]

#: The devices' names, in order.
DEVICES: Final = ("a", "b")
#: The account both devices play on.
ACCOUNT: Final = "acct"
#: The server's configuration: one session per account, 30 s heartbeats, 70 s expiry.
SSM_CONFIG: Final = SsmConfig(max_sessions_per_account=1)
#: The actions explored on each device.
WORLD_ACTIONS: Final[tuple[ev.Action, ...]] = (ev.Play("a"), ev.Zap("a"), ev.Stop())

#: Catalogue rules the small world does not judge, and why.
WORLD_UNJUDGED: Final[Mapping[str, str]] = {
    "ssm.errors.stop-playback": "the app's duty (its policy), and there is no app here",
    "ssm.background.heartbeat-error-zap": "the app's duty, and there is no app here",
    "ssm.background.resume-if-no-error": "the app's duty: here anyone may resume",
    **{r: "no session provider in the small world" for r in CATALOGUE
       if r.startswith("provider.")},
}
#: The catalogue rules the small world judges.
WORLD_RULES: Final[tuple[str, ...]] = tuple(r for r in CATALOGUE if r not in WORLD_UNJUDGED)
#: Rules the small world does not judge in sync mode, and why.
SYNC_UNJUDGED: Final[Mapping[str, str]] = {
    "ssm.zap.replaces-session": "in sync mode a zap's setup waits for its teardown's answer, "
                                "which the explorer may hold back for any number of steps",
}


class ExploreHost:
    """The host the real SSM server lives on inside the explorer (its ``_Host`` protocol).

    ``now`` is the explorer's virtual time. The server schedules only the
    expiry checks of its sessions: ``schedule_at`` keeps one per session
    (``events``, by session id), due when that session expires (its
    ``expires_at``, which heartbeats push back), and forgets it when a record
    says the session ended; the explorer offers each as an input. ``record``
    appends a server record (no device states) to ``records``, the list the
    devices' :class:`~._recording.Recorder` objects write into too, so the
    checker reads both in the order they happened. ``new_token`` hands out
    ``<prefix>-<key>-<n>``, ``n`` counting every token of this world (the
    state key renames tokens, so their spelling never splits states).
    """

    __slots__ = ("events", "now", "records", "tokens")

    def __init__(self, now: float = 0.0, tokens: int = 0) -> None:
        self.now = now
        self.tokens = tokens
        self.events: dict[str, tuple[Callable[[Any], None], SsmSession]] = {}
        self.records: list[TraceRecord] = []

    def schedule_at(self, time: float, callback: Callable[[Any], None], arg: Any) -> None:
        if not isinstance(arg, SsmSession):
            raise TypeError(f"the explorer's host schedules session expiries only, not {arg!r}")
        self.events[arg.session_id] = (callback, arg)

    def record(self, device: str | None, kind: str, data: Mapping[str, Any]) -> None:
        if kind in _ENDED:
            self.events.pop(data["session"], None)
        self.records.append(TraceRecord(self.now, device, kind, None, None, data))

    def new_token(self, prefix: str, key: str) -> str:
        self.tokens += 1
        return f"{prefix}-{key}-{self.tokens}"


#: The server records that end a session.
_ENDED: Final = frozenset({"ssm_session_ended", "ssm_session_expired", "ssm_session_evicted"})


@attrs.frozen
class _Msg:
    """An SSM request on a device's link: ``kind`` setup, heartbeat or teardown."""

    kind: str
    playback_id: int
    token: str | None
    blocking: bool
    request_id: int
    stream: str
    dead: bool = False  # sent before a kill: its answer reaches nobody


@attrs.frozen
class _Dev:
    """One device: its core (never mutated once stored) and what is on its links."""

    core: PlayerCore = attrs.field(eq=False)
    killed: bool
    to_server: tuple[_Msg, ...]
    #: Answers on the way back: (answer, its request blocked, request id).
    to_device: tuple[tuple[ev.Answer, bool, int], ...]
    #: Heartbeat timers armed: (due time, playback id).
    timers: tuple[tuple[float, int], ...]
    blocked_since: float | None
    next_request: int

    def blocked(self) -> bool:
        return any(m.blocking for m in self.to_server) or any(b for _, b, _ in self.to_device)

    def beating(self, playback_id: int) -> bool:
        """A heartbeat of ``playback_id`` is on the wire (its timer waits for its answer)."""
        return any(m.kind == "heartbeat" and m.playback_id == playback_id
                   for m in self.to_server) or any(
            isinstance(a, ev.HeartbeatAnswered) and a.playback_id == playback_id
            for a, _, _ in self.to_device)


@attrs.frozen(eq=False)
class WorldState:
    """One explored state: the devices, the server (with its host) and the checker.

    Never mutated once built: :func:`world_step` copies what it changes.
    """

    devices: tuple[_Dev, ...]
    server: SsmServer
    host: ExploreHost
    checker: TraceChecker

    @property
    def now(self) -> float:
        return self.host.now


def world_checker(config: CoreConfig, rules: tuple[str, ...] = WORLD_RULES) -> TraceChecker:
    """A checker of ``rules`` for the small world, having read both ``device_added`` records.

    Windows as in the core explorer (a reaction is due with its input); the
    limit and the expiry are the server's (:data:`SSM_CONFIG`). In sync mode the
    rules of :data:`SYNC_UNJUDGED` are left out.
    """
    if config.sync_ssm_setup_teardown:
        rules = tuple(r for r in rules if r not in SYNC_UNJUDGED)
    keeps = frozenset() if config.release_item_on_stop else frozenset(DEVICES)
    checker = TraceChecker(CheckConfig(
        reaction_window=STEP / 2, heartbeat_slack=STEP / 2,
        max_sessions_per_account=SSM_CONFIG.max_sessions_per_account,
        session_timeout=SSM_CONFIG.effective_session_timeout,
        keeps_item_on_stop=keeps), rules=rules)
    for name in DEVICES:
        recorder = Recorder(name)
        recorder.added(0.0, config, ACCOUNT)
        for record in recorder.take():
            checker.feed(record)
    return checker


def world_root(config: CoreConfig, core_type: type[PlayerCore] = PlayerCore,
               rules: tuple[str, ...] = WORLD_RULES) -> WorldState:
    """Both devices idle in the foreground, no session, nothing on the wire."""
    host = ExploreHost()
    dev = _Dev(core_type(config), False, (), (), (), None, 1)
    return WorldState((dev, dev), SsmServer(SSM_CONFIG, host), host,
                      world_checker(config, rules))


# --- inputs -----------------------------------------------------------------------------------

#: An input: (kind, device index, detail). Kinds: "action" (detail: the action), "kill",
#: "relaunch", "server" (the head of the device's link reaches the server), "answer" (the
#: head answer reaches the device), "timer" (detail: its index in the device's timers),
#: "expiry" (detail: the session's id).
Input = tuple[str, int, Any]


def _timed(state: WorldState) -> list[tuple[float, str, int, int]]:
    """Every timed event: (due, kind, device index or -1, index)."""
    out = [(due, "timer", i, n) for i, dev in enumerate(state.devices)
           for n, (due, _) in enumerate(dev.timers)]
    out += [(session.expires_at, "expiry", -1, n)
            for n, (_, session) in enumerate(state.host.events.values())]
    return out


def _ready(state: WorldState, kind: str, i: int, n: int) -> bool:
    """A timed event may fire (a timer waits for its previous heartbeat's answer)."""
    if kind != "timer":
        return True
    dev = state.devices[i]
    return not dev.beating(dev.timers[n][1])


def world_inputs(state: WorldState) -> Iterator[tuple[str, Input]]:
    """Every input possible now, with its label."""
    timed = _timed(state)
    earliest = min((due for due, *_ in timed), default=None)
    due_now = [(due, kind, i, n) for due, kind, i, n in timed
               if due == earliest and _ready(state, kind, i, n)]
    for _, kind, i, n in due_now:
        if kind == "timer":
            pid = state.devices[i].timers[n][1]
            yield f"{DEVICES[i]}: heartbeat timer #{pid} fires", ("timer", i, n)
        else:
            session = list(state.host.events.values())[n][1]
            yield f"session of {session.device} expires", ("expiry", -1, session.session_id)
    if due_now and earliest is not None and earliest <= state.now:
        return  # what is due now fires before anything else happens
    for i, dev in enumerate(state.devices):
        name = DEVICES[i]
        if dev.killed:
            yield f"{name}: relaunch", ("relaunch", i, None)
            continue
        if not dev.blocked():
            for action in WORLD_ACTIONS:
                if dev.core.can(action):
                    label = f"{type(action).__name__}({getattr(action, 'stream', '')!r})"
                    yield f"{name}: {label.replace(chr(39) * 2, '')}", ("action", i, action)
        yield f"{name}: kill", ("kill", i, None)
        if dev.to_server:
            head = dev.to_server[0]
            yield f"server handles {name}'s {head.kind} #{head.playback_id}", ("server", i, None)
        if dev.to_device:
            answer = dev.to_device[0][0]
            yield f"{name} gets {type(answer).__name__} #{answer.playback_id}", ("answer", i, None)


# --- one step -------------------------------------------------------------------------------


def _next_time(state: WorldState, what: Input) -> float:
    now = state.now
    timed = _timed(state)
    if what[0] == "timer":
        return max(now, state.devices[what[1]].timers[what[2]][0])
    if what[0] == "expiry":
        return max(now, state.host.events[what[2]][1].expires_at)
    if not timed:
        return now + STEP
    earliest = min(due for due, *_ in timed)
    return max(now, min(now + STEP, earliest - STEP / 2))


def world_step(state: WorldState, what: Input, *, last: bool = False
               ) -> tuple[WorldState, list[tuple[str, str]]]:
    """Apply one input to a copy of ``state``; return the new state and the
    ``(rule id, message)`` of each violation its records revealed.

    With ``last`` (``state`` is never stepped nor keyed again), ``state``'s checker
    is fed in place rather than copied."""
    now = _next_time(state, what)
    host = ExploreHost(now, state.host.tokens)
    server = state.server.copy(host)
    checker = state.checker if last else clone_checker(state.checker, lazy=True)
    devices = list(state.devices)
    kind, i, detail = what
    if kind == "expiry":
        callback, session = host.events.pop(detail)  # the copy's check of the same session
        callback(session)
    elif kind == "server":
        devices[i] = _serve(devices[i], DEVICES[i], server)
    else:
        try:
            devices[i] = _device_step(devices[i], DEVICES[i], kind, detail, now, server, host)
        except PlayerSimError as err:
            return state, [("core.accepts-inputs", f"the core raised {err!r}")]
    violations = [v for record in host.records for v in checker.feed(record)]
    host.records = []
    # What a device owes in response to this input is due with it: close its window.
    violations += checker.finish(now + STEP / 2)
    return (WorldState(tuple(devices), server, host, checker),
            [(v.rule.id, v.message) for v in violations])


def _serve(dev: _Dev, name: str, server: SsmServer) -> _Dev:
    """The request at the head of ``dev``'s link reaches the server."""
    msg, rest = dev.to_server[0], dev.to_server[1:]
    answer: ev.Answer
    if msg.kind == "setup":
        answer = ev.SetupAnswered(msg.playback_id,
                                  server.setup(ACCOUNT, name, msg.stream, None, None))
    elif msg.kind == "heartbeat":
        answer = ev.HeartbeatAnswered(msg.playback_id, server.heartbeat(name, msg.token or ""))
    else:
        answer = ev.TeardownAnswered(msg.playback_id, server.teardown(name, msg.token or ""))
    answers = dev.to_device if msg.dead else (*dev.to_device,
                                              (answer, msg.blocking, msg.request_id))
    return attrs.evolve(dev, to_server=rest, to_device=answers)


def _device_step(dev: _Dev, name: str, kind: str, detail: Any, now: float, server: SsmServer,
                 host: ExploreHost) -> _Dev:
    """An input reaches the device ``name``: its core takes it, its records are written,
    its effects go on the wire."""
    core = clone_core(dev.core)
    recorder = Recorder(name, dev.next_request)
    recorder.records = host.records  # one list: device and server records in order
    to_server, to_device, timers = dev.to_server, dev.to_device, dev.timers
    blocked_since, killed = dev.blocked_since, dev.killed
    answered_blocking = False
    if kind == "kill":
        effects = core.kill()
        recorder.killed(now, core, effects,
                        None if blocked_since is None else now - blocked_since)
        killed, to_device, timers, blocked_since = True, (), (), None
        # Requests already on the wire still reach the server; their answers reach nobody.
        to_server = tuple(attrs.evolve(m, blocking=False, dead=True) for m in to_server)
    elif kind == "relaunch":
        effects = core.relaunch()
        recorder.relaunched(now, core, effects)
        killed = False
    elif kind == "action":
        effects = core.feed(detail)
        recorder.action(now, core, detail, effects)
    elif kind == "timer":
        _, pid = timers[detail]
        timers = timers[:detail] + timers[detail + 1:]
        effects = core.feed(ev.HeartbeatDue(pid))  # a timer writes no record of its own
        recorder.effects(now, core, effects)
    else:  # "answer"
        answer, answered_blocking, request_id = to_device[0]
        to_device = to_device[1:]
        recorder.answer(now, core, answer, request_id)
        effects = core.feed(answer)
        recorder.effects(now, core, effects)
    # Carry the effects out, in order; a license is answered at once, which may add more.
    licenses = LicenseServer(LicenseConfig(), host, server)
    pending = list(effects)
    ids = iter(recorder.request_ids)
    while pending:
        effect = pending.pop(0)
        if isinstance(effect, ev.SendSsmSetup):
            to_server = (*to_server, _Msg("setup", effect.playback_id, None, effect.blocking,
                                          next(ids), effect.stream))
        elif isinstance(effect, ev.SendHeartbeat):
            to_server = (*to_server, _Msg("heartbeat", effect.playback_id, effect.token, False,
                                          next(ids), ""))
        elif isinstance(effect, ev.SendSsmTeardown):
            to_server = (*to_server, _Msg("teardown", effect.playback_id, effect.token,
                                          effect.blocking, next(ids), ""))
        elif isinstance(effect, ev.ArmHeartbeat):
            timers = (*timers, (now + effect.delay, effect.playback_id))
        elif isinstance(effect, ev.SendLicenseRequest):
            request_id = next(ids)
            verdict = licenses.request(name, effect.stream, effect.ssm_token,
                                       effect.ssm_required)
            answer = ev.LicenseAnswered(effect.playback_id, verdict.granted,
                                        verdict.http_status, verdict.code, verdict.message)
            recorder.answer(now, core, answer, request_id)
            more = core.feed(answer)
            recorder.effects(now, core, more)
            pending += more  # after the rest: the answer came after they were carried out
        if getattr(effect, "blocking", False) and blocked_since is None:
            blocked_since = now
    after = _Dev(core, killed, to_server, to_device, timers, blocked_since,
                 recorder.next_request)
    if answered_blocking and blocked_since is not None and not after.blocked():
        recorder.unblocked(now, core, now - blocked_since)
        after = attrs.evolve(after, blocked_since=None)
    return after


# --- the state key ------------------------------------------------------------------------------


def world_key(state: WorldState) -> frozenset[tuple[Any, ...]]:
    """A hashable key equal for states that behave alike from here on.

    Per device: its core (playback ids relative to its own, tokens renamed in
    order of appearance), its links, its timers; the server's live sessions
    (device, token, previous token); the order of the timed events (not their
    times); what the monitors know (:func:`~._coremodel.checker_key`). The two
    devices are alike, so a state and its mirror image (``a`` and ``b``
    swapped) share a key: the key holds both readings.
    """
    awaiting = state.checker._awaiting()  # (the same in either reading: worked out once)
    return frozenset((_ordered_key(state, (0, 1), awaiting),
                      _ordered_key(state, (1, 0), awaiting)))


def _ordered_key(state: WorldState, order: tuple[int, int],
                 awaiting: tuple[str, ...]) -> tuple[Any, ...]:
    """The key of ``state`` reading its devices in ``order`` (device index at each place);
    ``awaiting``: the rules whose monitors await something."""
    names: dict[str, str] = {}

    def tok(token: str | None) -> str | None:
        if token is None:
            return None
        name = names.get(token)
        if name is None:  # (a new name only for a token not met yet)
            name = names[token] = f"k{len(names)}"
        return name

    place = {DEVICES[i]: n for n, i in enumerate(order)}
    parts: list[Any] = []
    for i in order:
        dev = state.devices[i]
        c = dev.core
        base = c.playback_id

        def rel(pid: int, base: int = base) -> int:
            return pid - base

        stash = tuple((rel(e.playback_id), tok(e.token)) for e in c._stash
                      if isinstance(e, ev.SendSsmTeardown))
        wire = tuple((m.kind, rel(m.playback_id), tok(m.token), m.blocking, m.dead)
                     for m in dev.to_server)
        answers = tuple((type(a).__name__, rel(a.playback_id),
                         tok(getattr(getattr(a, "answer", None), "token", None)),
                         getattr(getattr(a, "answer", None), "ssm_code", None), blocking)
                        for a, blocking, _ in dev.to_device)
        parts.append((dev.killed, c.app, c.playback, c.stream, tok(c.ssm_token),
                      rel(c.item_playback_id), c.ssm_error, c._start_after_teardown,
                      rel(c._teardown_playback_id), c._pending_stream_value, stash, wire,
                      answers, dev.blocked_since is not None, variant_key(c, tok, rel),
                      checker_key(state.checker, DEVICES[i], tok, rel, awaiting)))
    sessions = tuple(sorted((place[s.device], tok(s.token) or "", tok(s.previous_token) or "")
                            for s in state.server.active_sessions()))
    timed = sorted(((due, _timed_name(state, kind, i, n, tok, place))
                    for due, kind, i, n in _timed(state)), key=lambda e: e[0])
    order_of: list[list[Any]] = []
    last: float | None = None
    for due, name in timed:
        if due != last:
            order_of.append([])
            last = due
        order_of[-1].append(name)
    due_now = bool(timed) and timed[0][0] <= state.now
    return (tuple(parts), sessions, tuple(tuple(sorted(g)) for g in order_of), due_now)


def _timed_name(state: WorldState, kind: str, i: int, n: int, tok: Any,
                place: Mapping[str, int]) -> tuple[Any, ...]:
    if kind == "timer":
        dev = state.devices[i]
        return ("timer", place[DEVICES[i]], dev.timers[n][1] - dev.core.playback_id, "")
    session = list(state.host.events.values())[n][1]
    return ("expiry", place[session.device], 0, tok(session.token) or "")
