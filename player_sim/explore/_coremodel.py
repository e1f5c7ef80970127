"""An abstract environment for one pure player core, and the invariants it must keep.

The core (:class:`~player_sim.PlayerCore`) emits effects; this module keeps
the requests and timers they open (:class:`CoreEnv`) and offers every abstract
answer to each of them: a setup answered ok or refused, a license granted or
denied, a heartbeat timer firing, a heartbeat answered with a rotated token or
refused, a teardown answered 204 or refused, a KS or an error, a media entry
under SSM, not under SSM, or an error. Answers may come in any order (the
network may reorder them); none arrive while the app is suspended in normal
background (the OS holds them), nor after a kill (the device drops them).
While a synchronous setup or teardown is open the main thread is blocked, so
no action is offered (the device shell queues them), only a kill.

:func:`step` feeds one input, writes the records a device would write for it
(:mod:`._recording`) and feeds them to a :class:`~player_sim.rules.TraceChecker`:
each :class:`Finding` is a violation of a catalogue rule, found by the same
monitor that judges scenarios, served sessions and captured traffic. The
exhaustive explorer and the ``RuleBasedStateMachine`` both use it.

Every action is offered in every state the shell would feed one in, the
refused ones too: a refused action must raise and leave the core exactly as
it was (:data:`REFUSED_INPUT_UNCHANGED`, a contract of the core, reported
apart from the catalogue's rules).

Time: each input comes :data:`STEP` seconds after the one before, except that
a heartbeat timer fires no earlier than the period it was armed for. The
monitors' reaction window is shorter than a step: what the core owes in
response to an input (a teardown on stop, an error notification) must come
with that input. A heartbeat's answer comes back before its timer fires
again (a round trip is far shorter than a period; the slow-link race is the
random search's to find). Rules the abstract environment cannot judge are left
out, each with its reason (:data:`UNJUDGED`).
"""

from __future__ import annotations

import copy
import functools
import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, cast

import attrs

from .._errors import PlayerSimError
from ..backends import SsmErrorCode
from ..player import AppState, CoreConfig, PlaybackState, PlayerCore
from ..player import _events as ev
from ..rules import CATALOGUE, CheckConfig, TraceChecker
from ._recording import Recorder

__all__ = ["ACTIONS", "CORE_RULES", "DEVICE", "KILL", "REFUSED_INPUT_UNCHANGED", "RELAUNCH",
           "STEP", "UNJUDGED", "CoreEnv", "Finding", "Request", "clone_core", "core_checker",
           "inputs", "refusal_kept", "snapshot", "state_key", "step",
           "variant_key"]

P = PlaybackState
A = AppState

#: The actions explored: two streams are enough to tell "same" from "other".
ACTIONS: Final[tuple[ev.Action, ...]] = (
    ev.Play("a"), ev.Zap("a"), ev.Zap("b"), ev.Stop(), ev.Resume(), ev.ReleaseItem(),
    ev.EnterBackground(), ev.EnterForeground(), ev.EnterPip(), ev.LeavePip(), ev.ClosePip(),
)
#: Pseudo-actions the core takes as methods, not inputs.
KILL: Final = "kill"
RELAUNCH: Final = "relaunch"
#: Virtual seconds between two inputs (a timer waits for its period).
STEP: Final = 1.0
#: The name the explored device has in its records.
DEVICE: Final = "a"
#: The contract every refused input must keep (not a catalogue rule: it is the core's
#: own promise, :meth:`PlayerCore.feed <player_sim.PlayerCore.feed>`, not a documented
#: behaviour).
REFUSED_INPUT_UNCHANGED: Final = "player.refused-input-unchanged"

#: Catalogue rules the core explorer does not judge, and why (the server rules are the
#: small world's, :mod:`._smallworld`, which runs the real SSM server).
UNJUDGED: Final[Mapping[str, str]] = {
    "ssm.zap.no-self-limit": "the abstract server refuses at will; the small world judges it",
    "ssm.setup.limit-refuses": "no session limit without a server; the small world judges it",
    "ssm.session.expires": "no server clock here; the small world judges it",
    "ssm.teardown.ends-session": "no sessions at the abstract server; the small world judges "
                                 "it",
    "ssm.zap.replaces-session": "a zap's setup may wait for answers (sync: its teardown's; "
                                "with a provider: the KS and the media entry) that the "
                                "explorer holds back; the small world judges it (async)",
    "ssm.errors.stop-playback": "the app's duty (its policy), and there is no app here",
    "ssm.background.heartbeat-error-zap": "the app's duty, and there is no app here",
    "ssm.background.resume-if-no-error": "the app's duty: here anyone may resume",
}
#: The catalogue rules the core explorer judges.
CORE_RULES: Final[tuple[str, ...]] = tuple(r for r in CATALOGUE if r not in UNJUDGED)


@attrs.frozen
class Request:
    """An open request or timer: ``kind`` is setup, license, timer, heartbeat, teardown,
    ks or media; ``token`` is the SSM token it carries; ``blocking`` holds the main thread."""

    kind: str
    playback_id: int
    token: str | None = None
    blocking: bool = False
    ssm_required: bool = False
    due: float = attrs.field(default=0.0, eq=False)  # a timer's virtual time to fire
    request_id: int | None = attrs.field(default=None, eq=False)  # pairs it with its record


@attrs.frozen
class Finding:
    """A catalogue rule's violation revealed by one input (or the broken contract
    :data:`REFUSED_INPUT_UNCHANGED`): the rule's id and what its monitor said."""

    rule_id: str
    message: str


@attrs.frozen
class CoreEnv:
    """What the world around one core remembers (immutable: each step makes a new one):
    the open requests and timers, tokens handed out, the virtual time and since when
    a synchronous request blocks the main thread."""

    requests: tuple[Request, ...] = ()
    tokens: int = 0
    now: float = 0.0
    blocked_since: float | None = None
    next_request: int = 1


def core_checker(config: CoreConfig, rules: tuple[str, ...] = CORE_RULES) -> TraceChecker:
    """A checker of ``rules`` that has read the ``device_added`` record of a core under
    ``config``: the monitors :func:`step` feeds. (Without a session provider, the
    ``provider.*`` monitors are left out: there is no provider record to read.)"""
    if not config.has_session_provider:
        rules = tuple(r for r in rules if not r.startswith("provider."))
    keeps = frozenset() if config.release_item_on_stop else frozenset({DEVICE})
    checker = TraceChecker(CheckConfig(reaction_window=STEP / 2, heartbeat_slack=STEP / 2,
                                       keeps_item_on_stop=keeps), rules=rules)
    recorder = Recorder(DEVICE)
    recorder.added(0.0, config, "acct")
    for record in recorder.take():
        checker.feed(record)
    return checker


def clone_core(core: PlayerCore) -> PlayerCore:
    """A copy of ``core`` that can be fed independently (effects are immutable).

    A core variant (a :class:`~player_sim.PlayerCore` subclass) is copied whole:
    its own ``__slots__`` and ``__dict__`` too, each mutable container (list,
    dict, set) copied. Its SDK model is copied with
    :meth:`SdkModel.copy <player_sim.SdkModel.copy>`.
    """
    cls = type(core)
    new = PlayerCore.__new__(cls)
    names = _slots_of(cls)
    try:
        _copier(names)(core, new)
    except AttributeError:  # a slot the variant never set stays unset
        for name in names:
            value = getattr(core, name, _UNSET)
            if value is not _UNSET:
                setattr(new, name, value)
    own = getattr(core, "__dict__", None)
    if own:
        new.__dict__.update({k: _copied(v) for k, v in own.items()})
    new._stash = list(core._stash)
    if core._sdk is not None:
        new._sdk = core._sdk.copy()
    return new


_UNSET: Final = object()


def _copied(value: Any) -> Any:
    return copy.copy(value) if isinstance(value, list | dict | set) else value


_SLOTS: Final = tuple(PlayerCore.__slots__)
_CLASS_SLOTS: dict[type, tuple[str, ...]] = {PlayerCore: _SLOTS}


@functools.cache
def _copier(names: tuple[str, ...]) -> Callable[[Any, Any], None]:
    """Copies the slots ``names`` of one object to another, one plain assignment each
    (raises ``AttributeError`` at the first slot left unset)."""
    if not all(name.isidentifier() for name in names):
        raise ValueError(f"not slot names: {names!r}")
    lines = [f"    new.{name} = old.{name}" for name in names] or ["    pass"]
    namespace: dict[str, Any] = {}
    exec("def copy(old, new):\n" + "\n".join(lines), namespace)
    copier: Callable[[Any, Any], None] = namespace["copy"]
    return copier


def _slots_of(cls: type) -> tuple[str, ...]:
    """Every slot of ``cls`` and its bases (cached per class)."""
    found = _CLASS_SLOTS.get(cls)
    if found is None:
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            slots = klass.__dict__.get("__slots__", ())
            names += [slots] if isinstance(slots, str) else list(slots)
        found = _CLASS_SLOTS[cls] = tuple(dict.fromkeys(
            n for n in names if n not in ("__dict__", "__weakref__")))
    return found


#: The attributes the exploration adds to a core (not part of a variant's state).
_EXPLORER_ATTRIBUTES: Final = frozenset({"fired"})


def variant_key(core: PlayerCore, tok: Any, rel: Any) -> tuple[Any, ...]:
    """What a variant adds to the state key: its SDK model's
    :meth:`~player_sim.SdkModel.state`, the SDK variant's bookkeeping in the core (retries,
    the setup's token, a heartbeat timer left running), and a core subclass's own
    attributes (lists made tuples, dicts sorted item tuples). Empty for the documented core."""
    sdk = core._sdk
    parts: list[Any] = []
    if sdk is not None:
        stale = core._stale_heartbeat
        parts += [sdk.state(), core._retry_attempt, tok(core._setup_token),
                  None if stale is None else (rel(stale[0]), tok(stale[1]))]
    cls = type(core)
    if cls is not PlayerCore:
        extra = _EXTRA_SLOTS.get(cls)
        if extra is None:
            extra = _EXTRA_SLOTS[cls] = tuple(n for n in _slots_of(cls) if n not in _SLOT_SET
                                              and n not in _EXPLORER_ATTRIBUTES)
        parts += [(n, _hashable(getattr(core, n, None))) for n in extra]
        own = getattr(core, "__dict__", None)
        if own:
            parts += sorted((k, _hashable(v)) for k, v in own.items()
                            if k not in _EXPLORER_ATTRIBUTES)
    return tuple(parts)


_SLOT_SET: Final = frozenset(_SLOTS)
#: The slots each core class adds to the documented core's (not the explorer's own).
_EXTRA_SLOTS: dict[type, tuple[str, ...]] = {}


def _plain(cls: type) -> bool:
    """Whether ``cls`` keeps no state beyond the documented core's slots and the
    explorer's own (so that, without an SDK model, :func:`variant_key` is empty)."""
    plain = _PLAIN.get(cls)
    if plain is None:
        plain = _PLAIN[cls] = cls.__dictoffset__ == 0 and all(
            n in _SLOT_SET or n in _EXPLORER_ATTRIBUTES for n in _slots_of(cls))
    return plain


_PLAIN: dict[type, bool] = {}


def keyed_by_slots(core_type: type[PlayerCore], config: CoreConfig) -> bool:
    """Whether the state key of a ``core_type`` core under ``config`` reads nothing but
    the documented core's slots: the class keeps no state of its own (no slot beyond
    them, no ``__dict__``) and there is no SDK model (whose state is keyed too)."""
    return config.sdk is None and core_type.__dictoffset__ == 0 and not any(
        n not in _SLOT_SET for n in _slots_of(core_type))


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((repr(k), _hashable(v)) for k, v in value.items()))
    if isinstance(value, set | frozenset):
        return tuple(sorted(repr(v) for v in value))
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value

Input = ev.Input | str


def _answers(req: Request, env: CoreEnv) -> Iterator[tuple[str, ev.Answer, int]]:
    """(label, answer, tokens used) for every abstract answer to ``req``."""
    pid = req.playback_id
    fresh = f"t{env.tokens + 1}"
    if req.kind == "setup":
        yield "setup ok", ev.SetupAnswered(pid, ev.SsmAnswer(200, None, "", fresh, 30.0)), 1
        yield "setup refused", ev.SetupAnswered(pid, ev.SsmAnswer(
            403, SsmErrorCode.MAX_SESSIONS_EXCEEDED, "max")), 0
    elif req.kind == "license":
        yield "license granted", ev.LicenseAnswered(pid, True, 200), 0
        yield "license denied", ev.LicenseAnswered(pid, False, 403, None, "denied"), 0
    elif req.kind == "timer":
        yield "heartbeat due", ev.HeartbeatDue(pid), 0
    elif req.kind == "heartbeat":
        yield "heartbeat ok", ev.HeartbeatAnswered(pid, ev.SsmAnswer(200, None, "", fresh,
                                                                     30.0)), 1
        yield "heartbeat refused", ev.HeartbeatAnswered(pid, ev.SsmAnswer(
            401, SsmErrorCode.INVALID_TOKEN, "x")), 0
    elif req.kind == "teardown":
        yield "teardown ok", ev.TeardownAnswered(pid, ev.SsmAnswer(204)), 0
        yield "teardown refused", ev.TeardownAnswered(pid, ev.SsmAnswer(500, None, "x")), 0
    elif req.kind == "ks":
        yield "ks ok", ev.KsAnswered(pid, "ks"), 0
        yield "ks error", ev.KsAnswered(pid, None, 601, "x"), 0
    elif req.kind == "media":
        yield "media ok", ev.MediaAnswered(pid, True, "widevine", "https://l", True), 0
        yield "media ok (no SSM)", ev.MediaAnswered(pid, True, "widevine", "https://l", False), 0
        yield "media error", ev.MediaAnswered(pid, False, error_code=404, message="x"), 0


def inputs(core: PlayerCore, env: CoreEnv) -> Iterator[tuple[str, Input, int, int]]:
    """Every input possible now: ``(label, input, request index or -1, tokens used)``."""
    # While a synchronous setup or teardown blocks the main thread, actions wait (the shell
    # queues them): only the OS can still kill the app. Refused actions are offered too.
    if not any(r.blocking for r in env.requests):
        for action in ACTIONS:
            yield _label(action, core.can(action)), action, -1, 0
    if core.app is A.TERMINATED:
        yield "relaunch", RELAUNCH, -1, 0
        return
    yield "kill", KILL, -1, 0
    if core.app is A.BACKGROUND:
        return
    beating = {r.playback_id for r in env.requests if r.kind == "heartbeat"}
    for index, req in enumerate(env.requests):
        if req.kind == "timer" and req.playback_id in beating:
            continue  # a round trip is shorter than a heartbeat period: the answer comes first
        for label, answer, used in _answers(req, env):
            yield f"{label} #{req.playback_id}", answer, index, used


def _label(action: ev.Action, accepted: bool = True) -> str:
    labels = _LABELS.get(action)
    if labels is None:
        fields = attrs.asdict(action)
        label = f"{type(action).__name__}({', '.join(repr(v) for v in fields.values())})"
        labels = _LABELS[action] = (label, f"{label} (refused)")
    return labels[0] if accepted else labels[1]


#: Each action's labels, accepted and refused (actions are frozen values: made once).
_LABELS: dict[ev.Action, tuple[str, str]] = {}


_SLOTS_COMPARED: Final = tuple(s for s in PlayerCore.__slots__ if s != "_effects")


def snapshot(core: PlayerCore) -> tuple[Any, ...]:
    """The core's state, slot by slot (not ``_effects``, the scratch list each
    ``feed`` starts afresh); the stash is copied, as the core mutates it."""
    return tuple([list(v) if isinstance(v, list) else v for v in _COMPARED_VALUES(core)])


_COMPARED_VALUES: Final = operator.attrgetter(*_SLOTS_COMPARED)


def _refused(core: PlayerCore, action: ev.Action) -> list[Finding]:
    """Feed an action ``core.can`` refuses: it must raise and leave the core unchanged."""
    before = snapshot(core)
    try:
        core.feed(action)
    except PlayerSimError:
        pass
    else:
        return [Finding(REFUSED_INPUT_UNCHANGED,
                        f"{_label(action)} was accepted although can() refused it")]
    changed = [name for name, old, new in zip(_SLOTS_COMPARED, before, snapshot(core),
                                               strict=True) if old != new]
    if changed:
        return [Finding(REFUSED_INPUT_UNCHANGED,
                        f"the refused {_label(action)} changed the core: "
                        f"{', '.join(changed)}")]
    return []


def refusal_kept(core: PlayerCore, action: ev.Action, before: tuple[Any, ...]) -> bool:
    """Feed ``core`` (whose :func:`snapshot` is ``before``) an action ``core.can``
    refuses; whether the contract :data:`REFUSED_INPUT_UNCHANGED` held: it raised and
    left every slot equal to ``before``'s, so :func:`step` would find nothing. When
    false, ``core`` may have changed: take the step again on a fresh copy."""
    try:
        core.feed(action)
    except PlayerSimError:
        # (Equal tuples: ``_refused`` finds no slot with ``old != new``; a core's slots
        # hold no value unequal to itself, such as a NaN.)
        return snapshot(core) == before
    return False


def step(core: PlayerCore, env: CoreEnv, event: Input, index: int, used: int,
         checker: TraceChecker, *, accepted: bool | None = None
         ) -> tuple[CoreEnv, tuple[ev.Effect, ...], list[Finding]]:
    """Feed ``event`` to ``core`` and the records a device would write to ``checker``
    (both in place); return the new env, the effects, the findings.

    ``index`` is the open request ``event`` answers (-1: none); ``used`` the tokens
    it hands out. An action ``core.can`` refuses is fed as the shell would: it
    must raise and change nothing (else a :data:`REFUSED_INPUT_UNCHANGED` finding).
    ``accepted``: what ``core.can`` says of an action, when the caller asked it
    already (:func:`inputs` does, for its labels); ``None``: ask.
    """
    if index < 0 and not isinstance(event, str):
        action = cast(ev.Action, event)
        if not (core.can(action) if accepted is None else accepted):
            return env, (), _refused(core, action)
    requests = list(env.requests)
    answered = requests.pop(index) if index >= 0 else None
    now = env.now + STEP
    if answered is not None and answered.kind == "timer":
        now = max(now, answered.due)
    recorder = Recorder(DEVICE, env.next_request)
    blocked_since = env.blocked_since
    try:
        if event == KILL:
            effects = core.kill()
            blocked = None if blocked_since is None else now - blocked_since
            recorder.killed(now, core, effects, blocked)
            requests, blocked_since = [], None
        elif event == RELAUNCH:
            effects = core.relaunch()
            recorder.relaunched(now, core, effects)
            requests = []
        elif isinstance(event, str):
            raise ValueError(f"no input {event!r}")
        elif answered is None:
            action = cast(ev.Action, event)
            effects = core.feed(action)
            recorder.action(now, core, action, effects)
        else:
            answer = cast(ev.Answer, event)
            _server_record(recorder, now, answer)
            recorder.answer(now, core, answer, answered.request_id)
            effects = core.feed(event)
            recorder.effects(now, core, effects)
    except PlayerSimError as err:
        return env, (), [Finding("core.accepts-inputs", f"the core raised {err!r}")]
    request_ids = iter(recorder.request_ids)
    for effect in effects:
        req = _request(effect, now, request_ids)
        if req is not None:
            requests.append(req)
            if req.blocking and blocked_since is None:
                blocked_since = now
    if answered is not None and answered.blocking and blocked_since is not None \
            and not any(r.blocking for r in requests):
        recorder.unblocked(now, core, now - blocked_since)
        blocked_since = None
    new_env = CoreEnv(tuple(requests), env.tokens + used, now, blocked_since,
                      recorder.next_request)
    # (``checker`` may be a copy, :func:`~._recording.clone_checker`: fed like any.)
    violations = [v for record in recorder.take() for v in checker.feed(record)]
    # What the core owes in response to this input is due with it: close its window.
    violations += checker.finish(now + STEP / 2)
    return new_env, effects, [Finding(v.rule.id, v.message) for v in violations]


def _server_record(recorder: Recorder, t: float, answer: ev.Input) -> None:
    """What the SSM server records when it gives one of the abstract answers
    (``SsmServer``: refusals as ``ssm_*_refused``, a teardown as ``ssm_session_ended``)."""
    if isinstance(answer, ev.SetupAnswered | ev.HeartbeatAnswered | ev.TeardownAnswered):
        endpoint = {ev.SetupAnswered: "setup", ev.HeartbeatAnswered: "heartbeat",
                    ev.TeardownAnswered: "teardown"}[type(answer)]
        ssm = answer.answer
        if not ssm.ok:
            recorder.world(t, f"ssm_{endpoint}_refused", {
                "http_status": ssm.http_status, "ssm_code": ssm.ssm_code,
                "message": ssm.message})
        elif endpoint == "teardown":
            recorder.world(t, "ssm_session_ended", {"session": "a/1", "account": "acct",
                                                    "active": 0})


#: The requests whose records carry a request id (the recorder gives them in order).
_SENT_WITH_ID: Final = frozenset({"setup", "license", "heartbeat", "teardown"})


def _request(effect: ev.Effect, now: float, request_ids: Iterator[int]) -> Request | None:
    """The request or timer ``effect`` opens, if any; those sent with a record take
    their ids from ``request_ids`` (:data:`_SENT_WITH_ID`, in the effects' order)."""
    if isinstance(effect, ev.SendSsmSetup):
        return Request("setup", effect.playback_id, None, effect.blocking,
                       request_id=next(request_ids))
    if isinstance(effect, ev.SendLicenseRequest):
        return Request("license", effect.playback_id, effect.ssm_token, False,
                       effect.ssm_required, request_id=next(request_ids))
    if isinstance(effect, ev.ArmHeartbeat):
        return Request("timer", effect.playback_id, due=now + effect.delay)
    if isinstance(effect, ev.SendHeartbeat):
        return Request("heartbeat", effect.playback_id, effect.token,
                       request_id=next(request_ids))
    if isinstance(effect, ev.SendSsmTeardown):
        return Request("teardown", effect.playback_id, effect.token, effect.blocking,
                       request_id=next(request_ids))
    if isinstance(effect, ev.FetchKs):
        return Request("ks", effect.playback_id)
    if isinstance(effect, ev.LoadMedia):
        return Request("media", effect.playback_id)
    return None


def state_key(core: PlayerCore, env: CoreEnv, checker: TraceChecker | None = None
              ) -> tuple[Any, ...]:
    """A hashable key equal for cores, envs and checkers that behave alike from here on.

    Playback ids are taken relative to the current one and tokens are renamed
    in order of appearance, so that "play, stop, play" meets "play". Times are
    left out; of the checker, what its device view knows and which monitors
    wait for something (see :func:`checker_key`).
    """
    base = core.playback_id
    names: dict[str, str] = {}

    def tok(token: str | None) -> str | None:
        if token is None:
            return None
        name = names.get(token)
        if name is None:  # (a new name only for a token not met yet)
            name = names[token] = f"k{len(names)}"
        return name

    def rel(pid: int) -> int:
        return pid - base

    stash = tuple((type(e).__name__, rel(e.playback_id), tok(getattr(e, "token", None)))
                  for e in core._stash if isinstance(e, ev.SendSsmTeardown)) \
        if core._stash else ()
    # (The states by value: one per member, and a string hashes without a Python call.)
    core_part = (core.app._value_, core.playback._value_, core.stream, tok(core.ssm_token),
                 core.item_playback_id - base, core.ssm_error, core.ks, core.media_ssm,
                 core._start_after_teardown, core._teardown_playback_id - base,
                 core._pending_stream_value, stash,
                 () if core._sdk is None and _plain(type(core)) else variant_key(core, tok, rel))
    requests = tuple(sorted([(r.kind, r.playback_id - base, tok(r.token) or "", r.blocking,
                              r.ssm_required) for r in env.requests]))
    if checker is None:
        return (*core_part, requests)
    return (*core_part, requests, checker_key(checker, DEVICE, tok, rel))


def checker_key(checker: TraceChecker, device: str, tok: Any, rel: Any,
                awaiting: tuple[str, ...] | None = None) -> tuple[Any, ...]:
    """What the monitors know of ``device`` that decides their verdicts from here on:
    its view (held session, this playback's setup and error, requests on the wire,
    blocked thread; tokens renamed by ``tok``) and which monitors await something
    (``awaiting``, when the caller has it already: ``checker._awaiting()``)."""
    view = checker.device(device)
    gen = view.generation
    return (view.held, view.setup_ok_generation == gen, view.setup_sent_generation == gen,
            view.no_ssm_generation == gen, view.ssm_error, view.teardowns_on_wire,
            view.blocked, view.killed,
            None if view.playback_id is None else rel(view.playback_id),
            None if view.held_playback_id is None else rel(view.held_playback_id),
            tok(view.setup_token) if view.setup_ok_generation == gen else None,
            checker._awaiting() if awaiting is None else awaiting)
