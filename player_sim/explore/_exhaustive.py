"""Exhaustive, breadth-first exploration of the player core and of a small abstract world.

**The core.** From an idle player, every input sequence up to ``depth``:
the actions the core accepts now (``PlayerCore.can``), a kill or relaunch,
and every abstract answer to every open request (see :mod:`._coremodel`), under
each SDK configuration of :data:`CORE_CONFIGS`. States that behave alike are
merged (:func:`~._coremodel.state_key`), so breadth-first order gives the
shortest path to each violation. Coverage is measured against the same tables
that build the machines (:data:`~player_sim.player.PLAYBACK_TRANSITIONS`,
:data:`~player_sim.player.APP_TRANSITIONS`): which states were reached, which
rows fired, which never did.

**The small world.** Two devices share one account whose SSM limit is one. It
is an abstract model, not a :class:`~player_sim.World`: the World orders
messages by fixed latencies on one heap, so it cannot branch over "which
message arrives first" without copying everything at every step. Here each
device's SSM requests travel in order on one link (as with the World's fixed
latency) but the links, the server and the answers interleave in every
possible way; the server keeps the real rules (limit refuses, token rotation,
teardown frees the slot, stale tokens fail) and killed apps' zombie sessions
may expire at any moment. Its invariants are the rules of the session limit:
no setup refused by the device's own old session (the async-teardown zap
race), no session left held by nobody (a leaked session), no license for a
token that is not live.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

import attrs

from ..player import (
    APP_TRANSITIONS,
    PLAYBACK_MACHINE,
    PLAYBACK_TRANSITIONS,
    AppState,
    CoreConfig,
    PlaybackState,
    PlayerCore,
)
from ..player import _events as ev
from ..rules import CATALOGUE, TraceChecker
from ._coremodel import (
    KILL,
    REFUSED_INPUT_UNCHANGED,
    RELAUNCH,
    CoreEnv,
    clone_core,
    core_checker,
    inputs,
    state_key,
    step,
)
from ._recording import clone_checker

__all__ = ["CORE_CONFIGS", "WORLD_CONFIGS", "CoreExploration", "ExhaustiveReport", "ShortestPath",
           "TableRow", "WorldExploration", "explore_core", "explore_exhaustive", "explore_world",
           "format_exhaustive", "table_rows"]

P = PlaybackState
A = AppState

#: The SDK configurations the core is explored under, by name.
CORE_CONFIGS: Final[Mapping[str, CoreConfig]] = {
    "default": CoreConfig(),
    "sync": CoreConfig(sync_ssm_setup_teardown=True),
    "pip": CoreConfig(pip_enabled=True),
    "teardown-first": CoreConfig(async_zap_order="teardown-first"),
    "keep-item": CoreConfig(release_item_on_stop=False),
    "sync+keep-item": CoreConfig(sync_ssm_setup_teardown=True, release_item_on_stop=False),
    "no-ssm": CoreConfig(uses_ssm=False),
    "provider": CoreConfig(has_session_provider=True),
    "provider+sync": CoreConfig(has_session_provider=True, sync_ssm_setup_teardown=True),
}


@attrs.frozen(order=True)
class TableRow:
    """One row of a transition table, for one source state."""

    machine: str
    trigger: str
    source: str
    dest: str

    def __str__(self) -> str:
        return f"{self.machine}: {self.source} --{self.trigger}--> {self.dest}"


def table_rows() -> list[TableRow]:
    """Every (machine, trigger, source, dest) the two tables declare, sorted."""
    rows: set[TableRow] = set()
    for machine, table in (("playback", PLAYBACK_TRANSITIONS), ("app", APP_TRANSITIONS)):
        for row in table:
            sources = row["source"] if isinstance(row["source"], list) else [row["source"]]
            for source in sources:
                dest = row["dest"] if row["dest"] is not None else source
                rows.add(TableRow(machine, row["trigger"], source.value, dest.value))
    return sorted(rows)


@attrs.frozen
class ShortestPath:
    """A violation and the shortest input sequence that reaches it."""

    rule_id: str
    message: str
    steps: tuple[str, ...]
    where: str

    def describe(self) -> str:
        rule = CATALOGUE.get(self.rule_id)
        head = f"{self.rule_id} ({self.where}, {len(self.steps)} steps): {self.message}"
        quote = f"\n    rule: {rule.statement}" if rule is not None else ""
        return head + quote + "".join(f"\n    {n:>2}. {s}" for n, s in
                                       enumerate(self.steps, 1))


def _tracing_class(base: type[PlayerCore]) -> type[PlayerCore]:
    """``base`` with a ``fired`` list recording each table row it fires (same tables,
    same callbacks)."""
    cached = _TRACING.get(base)
    if cached is not None:
        return cached

    def _fire(self: Any, machine: Any, trigger: str) -> None:
        playback = machine is PLAYBACK_MACHINE
        before = self.playback if playback else self.app
        base._fire(self, machine, trigger)
        after = self.playback if playback else self.app
        self.fired.append(TableRow("playback" if playback else "app", trigger, before.value,
                                   after.value))

    cls = type(f"Tracing{base.__name__}", (base,), {"__slots__": ("fired",), "_fire": _fire})
    _TRACING[base] = cls
    return cls


_TRACING: dict[type[PlayerCore], type[PlayerCore]] = {}


def _tracing(core: PlayerCore) -> Any:
    new: Any = clone_core(core)
    new.fired = []
    return new


@attrs.frozen
class CoreExploration:
    """What breadth-first search of one core configuration found."""

    config: str
    depth: int
    states: int
    steps: int
    reached: frozenset[tuple[str, str]]
    rows: frozenset[TableRow]
    violations: tuple[ShortestPath, ...]
    #: Refused inputs that changed the core (:data:`REFUSED_INPUT_UNCHANGED`), each with
    #: its shortest path: the core's own contract, not a catalogue rule.
    contract: tuple[ShortestPath, ...] = ()


def _path(parents: dict[Any, tuple[Any, str] | None], key: Any) -> list[str]:
    out: list[str] = []
    link = parents[key]
    while link is not None:
        key, label = link
        out.append(label)
        link = parents[key]
    return out[::-1]


def explore_core(config: CoreConfig, depth: int, name: str = "core", *,
                 core_type: type[PlayerCore] = PlayerCore) -> CoreExploration:
    """Breadth-first search of one core configuration up to ``depth`` inputs.

    ``core_type`` is the player core to explore: a subclass of
    :class:`~player_sim.PlayerCore` (an SDK variant, or a mutant) is explored
    through the same tables and checked against the same invariants.
    """
    root: Any = _tracing_class(core_type)(config)
    root.fired = []
    env = CoreEnv()
    checker = core_checker(config)
    key = state_key(root, env, checker)
    parents: dict[Any, tuple[Any, str] | None] = {key: None}
    frontier: list[tuple[PlayerCore, CoreEnv, TraceChecker, Any]] = [(root, env, checker, key)]
    reached = {("app", root.app.value), ("playback", root.playback.value)}
    rows: set[TableRow] = set()
    found: dict[str, ShortestPath] = {}
    steps = 0
    for _ in range(depth):
        following: list[tuple[PlayerCore, CoreEnv, TraceChecker, Any]] = []
        for core, env, checker, key in frontier:
            for label, event, index, used in inputs(core, env):
                child = _tracing(core)
                # A refused action writes no record: the parent's checker serves (it is
                # only ever fed through a clone).
                child_checker = checker if label.endswith(" (refused)") \
                    else clone_checker(checker)
                new_env, _, findings = step(child, env, event, index, used, child_checker)
                steps += 1
                rows.update(child.fired)
                reached.add(("app", child.app.value))
                reached.add(("playback", child.playback.value))
                for finding in findings:
                    if finding.rule_id not in found:
                        found[finding.rule_id] = ShortestPath(finding.rule_id, finding.message,
                                                      (*_path(parents, key), label),
                                                      f"core/{name}")
                child_key = state_key(child, new_env, child_checker)
                if child_key in parents:
                    continue
                parents[child_key] = (key, label)
                following.append((child, new_env, child_checker, child_key))
        frontier = following
        if not frontier:
            break
    contract = found.pop(REFUSED_INPUT_UNCHANGED, None)
    return CoreExploration(name, depth, len(parents), steps, frozenset(reached),
                           frozenset(rows), tuple(found.values()),
                           () if contract is None else (contract,))


# --- the small abstract world -----------------------------------------------------------------


@attrs.frozen
class _Session:
    sid: int
    device: int
    token: str
    previous: str | None
    zombie: bool = False  # its app was killed: nobody will tear it down; it will expire


@attrs.frozen
class _Dev:
    """One device: its core (never mutated once stored), killed flag, links in flight."""

    core: PlayerCore = attrs.field(eq=False)
    killed: bool
    #: SSM requests on the wire, in order: (kind, playback id, token, blocking, origin);
    #: origin is "answer" for a teardown the player sent on a stale setup answer.
    to_server: tuple[tuple[str, int, str | None, bool, str], ...]
    #: SSM answers coming back, in order, with whether their request blocked.
    to_device: tuple[tuple[ev.Answer, bool], ...]
    timers: tuple[int, ...]                              # heartbeat timers armed


@attrs.frozen
class _WorldState:
    devices: tuple[_Dev, ...]
    sessions: tuple[_Session, ...]
    next_token: int
    next_sid: int


_WORLD_ACTIONS: Final[tuple[ev.Action, ...]] = (ev.Play("a"), ev.Zap("a"), ev.Stop())
_LIMIT: Final = 1


@attrs.frozen
class WorldExploration:
    """What breadth-first search of the small world found."""

    config: str
    depth: int
    states: int
    steps: int
    violations: tuple[ShortestPath, ...]


def _world_key(state: _WorldState) -> tuple[Any, ...]:
    names: dict[str, str] = {}

    def tok(token: str | None) -> str:
        if token is None:
            return ""
        return names.setdefault(token, f"k{len(names)}")

    parts: list[Any] = []
    for dev in state.devices:
        c = dev.core
        base = c.playback_id
        stash = tuple((e.playback_id - base, tok(e.token)) for e in c._stash
                      if isinstance(e, ev.SendSsmTeardown))
        answers = tuple((type(a).__name__, a.playback_id - base,
                         tok(getattr(getattr(a, "answer", None), "token", None)),
                         getattr(getattr(a, "answer", None), "ok", None), blocking)
                        for a, blocking in dev.to_device)
        parts.append((dev.killed, c.app, c.playback, c.stream, tok(c.ssm_token),
                      c.item_playback_id - base, c.ssm_error, c._start_after_teardown,
                      c._teardown_playback_id - base, c._pending_stream_value, stash,
                      tuple((k, p - base, tok(t), b, o) for k, p, t, b, o in dev.to_server),
                      answers,
                      tuple(p - base for p in dev.timers)))
    sessions = tuple(sorted((s.device, tok(s.token), tok(s.previous), s.zombie)
                            for s in state.sessions))
    return (tuple(parts), sessions)


def _world_inputs(state: _WorldState) -> Iterator[tuple[str, int, Any]]:
    for i, dev in enumerate(state.devices):
        name = "ab"[i]
        core = dev.core
        if dev.killed:
            yield f"{name}: relaunch", i, RELAUNCH
            continue
        blocked = any(b for _, _, _, b, _ in dev.to_server) or any(b for _, b in dev.to_device)
        for action in _WORLD_ACTIONS:
            if not blocked and core.can(action):
                yield f"{name}: {type(action).__name__}({getattr(action, 'stream', '')!r})" \
                    .replace("('')", "()"), i, action
        yield f"{name}: kill", i, KILL
        if dev.to_server:
            kind, pid, *_ = dev.to_server[0]
            yield f"server handles {name}'s {kind} #{pid}", i, "server"
        if dev.to_device:
            answer = dev.to_device[0][0]
            yield f"{name} gets {type(answer).__name__} #{answer.playback_id}", i, "answer"
        for pid in sorted(set(dev.timers)):
            yield f"{name}: heartbeat timer #{pid} fires", i, ("timer", pid)
    for s in state.sessions:
        if s.zombie:
            yield f"zombie session of {'ab'[s.device]} expires", -1, ("expire", s.sid)


def _world_step(state: _WorldState, i: int, what: Any) -> tuple[_WorldState, list[tuple[str, str]]]:
    """Apply one input; return the new state and (rule id, message) findings."""
    devices = list(state.devices)
    sessions = list(state.sessions)
    next_token, next_sid = state.next_token, state.next_sid
    findings: list[tuple[str, str]] = []
    if i < 0:
        _, sid = what
        sessions = [s for s in sessions if s.sid != sid]
        return _WorldState(tuple(devices), tuple(sessions), next_token, next_sid), findings
    dev = devices[i]
    if what == "server":
        kind, pid, token, blocking, origin = dev.to_server[0]
        to_server = dev.to_server[1:]
        answer: ev.Answer
        live = {s.token: s for s in sessions}
        dead = origin == "dead"  # sent before a kill: the answer reaches nobody
        if kind == "setup":
            if len(sessions) >= _LIMIT:
                origins = {o for k, _, _, _, o in to_server if k == "teardown" and o != "dead"}
                for origin in sorted(origins):
                    what = ("of the session a stale setup answer created" if origin == "answer"
                            else "of the session it held")
                    findings.append(("ssm.zap.no-self-limit",
                                     f"setup refused at the limit while the device's own "
                                     f"teardown ({what}) is still on the wire"))
                answer = ev.SetupAnswered(pid, ev.SsmAnswer(403, 1007, "max"))
            else:
                next_token += 1
                next_sid += 1
                fresh = f"s{next_token}"
                sessions.append(_Session(next_sid, i, fresh, None, zombie=dead))
                answer = ev.SetupAnswered(pid, ev.SsmAnswer(200, None, "", fresh, 30.0))
        elif kind == "heartbeat":
            session = live.get(token or "")
            if session is None:
                answer = ev.HeartbeatAnswered(pid, ev.SsmAnswer(401, 1006, "invalid"))
            else:
                next_token += 1
                fresh = f"s{next_token}"
                sessions[sessions.index(session)] = attrs.evolve(session, token=fresh,
                                                                 previous=session.token)
                answer = ev.HeartbeatAnswered(pid, ev.SsmAnswer(200, None, "", fresh, 30.0))
        else:
            session = live.get(token or "")
            if session is None:
                answer = ev.TeardownAnswered(pid, ev.SsmAnswer(401, 1006, "invalid"))
            else:
                sessions.remove(session)
                answer = ev.TeardownAnswered(pid, ev.SsmAnswer(204))
        answers = dev.to_device if dead else (*dev.to_device, (answer, blocking))
        dev = attrs.evolve(dev, to_server=to_server, to_device=answers)
        devices[i] = dev
    else:
        core = clone_core(dev.core)
        to_device, timers = dev.to_device, dev.timers
        killed = dev.killed
        if what == KILL:
            effects = core.kill()
            killed, to_device, timers = True, (), ()
            # Requests already on the wire still reach the server; their answers reach nobody.
            dev = attrs.evolve(dev, to_server=tuple((k, p, t, False, "dead")
                                                    for k, p, t, _, _ in dev.to_server))
            sessions = [attrs.evolve(s, zombie=True) if s.device == i else s for s in sessions]
        elif what == RELAUNCH:
            effects = core.relaunch()
            killed = False
        elif what == "answer":
            effects = core.feed(to_device[0][0])
            to_device = to_device[1:]
        elif isinstance(what, tuple):
            _, pid = what
            rest = list(timers)
            rest.remove(pid)
            timers = tuple(rest)
            effects = core.feed(ev.HeartbeatDue(pid))
        else:
            effects = core.feed(what)
        to_server = dev.to_server
        live_tokens = {s.token for s in sessions}
        origin = "answer" if what == "answer" else "action"
        for effect in effects:
            if isinstance(effect, ev.SendSsmSetup):
                to_server = (*to_server, ("setup", effect.playback_id, None, effect.blocking,
                                          origin))
            elif isinstance(effect, ev.SendHeartbeat):
                to_server = (*to_server, ("heartbeat", effect.playback_id, effect.token, False,
                                          origin))
            elif isinstance(effect, ev.SendSsmTeardown):
                to_server = (*to_server, ("teardown", effect.playback_id, effect.token,
                                          effect.blocking, origin))
            elif isinstance(effect, ev.ArmHeartbeat):
                timers = (*timers, effect.playback_id)
            elif isinstance(effect, ev.SendLicenseRequest):
                # The license server answers at once: granted only for a live token.
                granted = effect.ssm_token in live_tokens
                more = core.feed(ev.LicenseAnswered(effect.playback_id, granted,
                                                    200 if granted else 403))
                for extra in more:
                    if isinstance(extra, ev.SendSsmTeardown):
                        to_server = (*to_server, ("teardown", extra.playback_id, extra.token,
                                                  extra.blocking, origin))
        devices[i] = _Dev(core, killed, to_server, to_device, timers)
    new = _WorldState(tuple(devices), tuple(sessions), next_token, next_sid)
    findings += _world_invariants(new)
    return new, findings


def _world_invariants(state: _WorldState) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if len(state.sessions) > _LIMIT:
        found.append(("ssm.setup.limit-refuses",
                      f"{len(state.sessions)} live sessions on an account limited to {_LIMIT}"))
    for s in state.sessions:
        dev = state.devices[s.device]
        if s.zombie:
            continue  # documented: a killed app's session keeps its slot until it expires
        held = dev.core.ssm_token in (s.token, s.previous) or any(
            isinstance(a, ev.SetupAnswered | ev.HeartbeatAnswered)
            and a.answer.token == s.token for a, _ in dev.to_device)
        tearing = any(k == "teardown" and t in (s.token, s.previous)
                      for k, _, t, _, _ in dev.to_server) \
            or any(isinstance(e, ev.SendSsmTeardown) and e.token in (s.token, s.previous)
                   for e in dev.core._stash)
        beating = any(k == "heartbeat" and t == s.previous for k, _, t, _, _ in dev.to_server)
        if not (held or tearing or beating):
            found.append(("ssm.teardown.on-stop",
                          "a session is held by no player and no teardown is on the wire: "
                          "it keeps its slot until it expires"))
    for dev in state.devices:
        c = dev.core
        if c.playback in (P.PLAYING, P.PAUSED) and not dev.killed and c.ssm_token is not None \
                and c.ssm_token not in {s.token for s in state.sessions} \
                and not any(isinstance(a, ev.HeartbeatAnswered) for a, _ in dev.to_device) \
                and not any(k == "heartbeat" for k, *_ in dev.to_server):
            found.append(("ssm.heartbeat.keeps-session",
                          "playing with a token no live session has, and no heartbeat to tell"))
    return found


def explore_world(config: CoreConfig, depth: int, name: str = "world", *,
                  core_type: type[PlayerCore] = PlayerCore) -> WorldExploration:
    """Breadth-first search of two devices (cores of ``core_type``) on one account
    limited to one session."""
    root_dev = _Dev(core_type(config), False, (), (), ())
    root = _WorldState((root_dev, root_dev), (), 0, 0)
    key = _world_key(root)
    parents: dict[Any, tuple[Any, str] | None] = {key: None}
    frontier = [(root, key)]
    found: dict[tuple[str, str], ShortestPath] = {}
    steps = 0
    for _ in range(depth):
        following = []
        for state, key in frontier:
            for label, i, what in _world_inputs(state):
                new, findings = _world_step(state, i, what)
                steps += 1
                for rule_id, message in findings:
                    if (rule_id, message) not in found:
                        found[rule_id, message] = ShortestPath(
                            rule_id, message, (*_path(parents, key), label), f"world/{name}")
                new_key = _world_key(new)
                if new_key in parents:
                    continue
                parents[new_key] = (key, label)
                following.append((new, new_key))
        frontier = following
        if not frontier:
            break
    return WorldExploration(name, depth, len(parents), steps, tuple(found.values()))


#: The SDK configurations the small world is explored under.
WORLD_CONFIGS: Final[Mapping[str, CoreConfig]] = {
    "setup-first": CoreConfig(),
    "teardown-first": CoreConfig(async_zap_order="teardown-first"),
    "sync": CoreConfig(sync_ssm_setup_teardown=True),
}


@attrs.frozen
class ExhaustiveReport:
    """Everything ``player-sim explore --exhaustive`` reports."""

    depth: int
    world_depth: int
    core: tuple[CoreExploration, ...]
    world: tuple[WorldExploration, ...]

    @property
    def reached(self) -> frozenset[tuple[str, str]]:
        return frozenset().union(*(c.reached for c in self.core))

    @property
    def unreached(self) -> list[tuple[str, str]]:
        every = [("app", s.value) for s in AppState] + [("playback", s.value)
                                                       for s in PlaybackState]
        return [s for s in every if s not in self.reached]

    @property
    def rows_taken(self) -> frozenset[TableRow]:
        return frozenset().union(*(c.rows for c in self.core))

    @property
    def rows_never_taken(self) -> list[TableRow]:
        return [row for row in table_rows() if row not in self.rows_taken]

    @property
    def violations(self) -> list[ShortestPath]:
        return [*(p for c in self.core for p in c.violations),
                *(p for w in self.world for p in w.violations)]

    @property
    def states(self) -> int:
        return sum(c.states for c in self.core) + sum(w.states for w in self.world)

    @property
    def steps(self) -> int:
        return sum(c.steps for c in self.core) + sum(w.steps for w in self.world)


def explore_exhaustive(depth: int, *, core_configs: Mapping[str, CoreConfig] | None = None,
                       world_configs: Mapping[str, CoreConfig] | None = None,
                       world_depth: int | None = None,
                       core_type: type[PlayerCore] = PlayerCore) -> ExhaustiveReport:
    """Explore every core configuration to ``depth`` inputs, and the small world to
    ``world_depth`` (default ``depth + 2``: there a request reaching the server and
    its answer reaching the device are two steps)."""
    if depth < 1:
        raise ValueError(f"the exploration depth must be at least 1, not {depth}")
    cores = core_configs if core_configs is not None else CORE_CONFIGS
    worlds = world_configs if world_configs is not None else WORLD_CONFIGS
    in_world = world_depth if world_depth is not None else depth + 2
    return ExhaustiveReport(
        depth, in_world,
        tuple(explore_core(cfg, depth, name, core_type=core_type) for name, cfg in cores.items()),
        tuple(explore_world(cfg, in_world, name, core_type=core_type)
              for name, cfg in worlds.items()))


def format_exhaustive(report: ExhaustiveReport) -> str:
    """The report as text: per configuration, coverage, then each shortest violation."""
    out = [f"exhaustive exploration: cores to depth {report.depth}, "
           f"the small world to depth {report.world_depth}"]
    for c in report.core:
        out.append(f"  core/{c.config:<15} {c.states:>7} states {c.steps:>8} steps "
                   f"{len(c.violations)} violation{'s' if len(c.violations) != 1 else ''}")
    for w in report.world:
        out.append(f"  world/{w.config:<14} {w.states:>7} states {w.steps:>8} steps "
                   f"{len(w.violations)} violation{'s' if len(w.violations) != 1 else ''}")
    total_states = len(list(AppState)) + len(list(PlaybackState))
    out.append(f"states reached: {total_states - len(report.unreached)} of {total_states}")
    for machine, state in report.unreached:
        out.append(f"  never reached: {machine} {state}")
    rows = table_rows()
    out.append(f"table rows taken: {len(rows) - len(report.rows_never_taken)} of {len(rows)}")
    for row in report.rows_never_taken:
        out.append(f"  never taken: {row}")
    violations = report.violations
    out.append(f"violations: {len(violations)}")
    for path in violations:
        out.append("  " + path.describe().replace("\n", "\n  "))
    return "\n".join(out) + "\n"
