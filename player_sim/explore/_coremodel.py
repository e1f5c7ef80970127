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

:func:`step` feeds one input and checks the invariants; each broken invariant
is a :class:`Finding` naming the catalogue rule it stands for. The exhaustive
explorer and the ``RuleBasedStateMachine`` both use it, so they agree on what
a bug is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import attrs

from .._errors import PlayerSimError
from ..player import AppState, CoreConfig, PlaybackState, PlayerCore
from ..player import _events as ev

__all__ = ["ACTIONS", "KILL", "RELAUNCH", "CoreEnv", "Finding", "Request", "clone_core", "inputs",
           "state_key", "step"]

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


@attrs.frozen
class Request:
    """An open request or timer: ``kind`` is setup, license, timer, heartbeat, teardown,
    ks or media; ``token`` is the SSM token it carries; ``blocking`` holds the main thread."""

    kind: str
    playback_id: int
    token: str | None = None
    blocking: bool = False
    ssm_required: bool = False


@attrs.frozen
class Finding:
    """An invariant broken by one input: the rule it stands for and what happened."""

    rule_id: str
    message: str


@attrs.frozen
class CoreEnv:
    """What the world around one core remembers (immutable: each step makes a new one)."""

    requests: tuple[Request, ...] = ()
    setup_ok: frozenset[int] = frozenset()
    setup_failed: frozenset[int] = frozenset()
    granted: frozenset[int] = frozenset()
    no_ssm_media: frozenset[int] = frozenset()
    tokens: int = 0


def clone_core(core: PlayerCore) -> PlayerCore:
    """A copy of ``core`` that can be fed independently (effects are immutable)."""
    new = PlayerCore.__new__(type(core))
    for name in _SLOTS:
        setattr(new, name, getattr(core, name))
    new._stash = list(core._stash)
    return new


_SLOTS: Final = tuple(PlayerCore.__slots__)

Input = ev.Input | str


def _answers(req: Request, env: CoreEnv) -> Iterator[tuple[str, ev.Answer, int]]:
    """(label, answer, tokens used) for every abstract answer to ``req``."""
    pid = req.playback_id
    fresh = f"t{env.tokens + 1}"
    if req.kind == "setup":
        yield "setup ok", ev.SetupAnswered(pid, ev.SsmAnswer(200, None, "", fresh, 30.0)), 1
        yield "setup refused", ev.SetupAnswered(pid, ev.SsmAnswer(403, 1007, "max")), 0
    elif req.kind == "license":
        yield "license granted", ev.LicenseAnswered(pid, True, 200), 0
        yield "license denied", ev.LicenseAnswered(pid, False, 403, None, "denied"), 0
    elif req.kind == "timer":
        yield "heartbeat due", ev.HeartbeatDue(pid), 0
    elif req.kind == "heartbeat":
        yield "heartbeat ok", ev.HeartbeatAnswered(pid, ev.SsmAnswer(200, None, "", fresh,
                                                                     30.0)), 1
        yield "heartbeat refused", ev.HeartbeatAnswered(pid, ev.SsmAnswer(401, 1006, "x")), 0
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
    if core.app is A.TERMINATED:
        yield "relaunch", RELAUNCH, -1, 0
        return
    # While a synchronous setup or teardown blocks the main thread, actions wait (the shell
    # queues them): only the OS can still kill the app.
    if not any(r.blocking for r in env.requests):
        for action in ACTIONS:
            if core.can(action):
                yield _label(action), action, -1, 0
    yield "kill", KILL, -1, 0
    if core.app is A.BACKGROUND:
        return
    for index, req in enumerate(env.requests):
        for label, answer, used in _answers(req, env):
            yield f"{label} #{req.playback_id}", answer, index, used


def _label(action: ev.Action) -> str:
    fields = attrs.asdict(action)
    name = type(action).__name__
    return f"{name}({', '.join(repr(v) for v in fields.values())})"


def step(core: PlayerCore, env: CoreEnv, event: Input, index: int,
         used: int) -> tuple[CoreEnv, tuple[ev.Effect, ...], list[Finding]]:
    """Feed ``event`` to ``core`` (in place); return the new env, the effects, the findings."""
    before = _Snapshot(core)
    requests = list(env.requests)
    if index >= 0:
        del requests[index]
    findings: list[Finding] = []
    try:
        if event == KILL:
            effects = core.kill()
            requests = []
        elif event == RELAUNCH:
            effects = core.relaunch()
            requests = []
        else:
            assert not isinstance(event, str)
            effects = core.feed(event)
    except PlayerSimError as err:
        return env, (), [Finding("core.accepts-inputs", f"the core raised {err!r}")]
    if event in (KILL, RELAUNCH):
        env = CoreEnv(tokens=env.tokens)  # a relaunched player numbers playbacks afresh
    setup_ok, setup_failed = set(env.setup_ok), set(env.setup_failed)
    granted, no_ssm = set(env.granted), set(env.no_ssm_media)
    if isinstance(event, ev.SetupAnswered):
        if event.answer.ok and core.ssm_token == event.answer.token:
            setup_ok.add(event.playback_id)
        elif not event.answer.ok and event.playback_id == before.playback_id \
                and before.playback is P.SSM_SETUP:
            setup_failed.add(event.playback_id)
    elif isinstance(event, ev.LicenseAnswered) and event.granted:
        granted.add(event.playback_id)
    elif isinstance(event, ev.MediaAnswered) and event.ok and not event.ssm:
        no_ssm.add(event.playback_id)
    for effect in effects:
        req = _request(effect)
        if req is not None:
            requests.append(req)
    new_env = CoreEnv(tuple(requests), frozenset(setup_ok), frozenset(setup_failed),
                      frozenset(granted), frozenset(no_ssm), env.tokens + used)
    findings += _check(core, before, event, effects, new_env)
    return new_env, effects, findings


def _request(effect: ev.Effect) -> Request | None:
    if isinstance(effect, ev.SendSsmSetup):
        return Request("setup", effect.playback_id, None, effect.blocking)
    if isinstance(effect, ev.SendLicenseRequest):
        return Request("license", effect.playback_id, effect.ssm_token, False,
                       effect.ssm_required)
    if isinstance(effect, ev.ArmHeartbeat):
        return Request("timer", effect.playback_id)
    if isinstance(effect, ev.SendHeartbeat):
        return Request("heartbeat", effect.playback_id, effect.token)
    if isinstance(effect, ev.SendSsmTeardown):
        return Request("teardown", effect.playback_id, effect.token, effect.blocking)
    if isinstance(effect, ev.FetchKs):
        return Request("ks", effect.playback_id)
    if isinstance(effect, ev.LoadMedia):
        return Request("media", effect.playback_id)
    return None


class _Snapshot:
    __slots__ = ("app", "item_playback_id", "playback", "playback_id", "ssm_token")

    def __init__(self, core: PlayerCore) -> None:
        self.app = core.app
        self.playback = core.playback
        self.playback_id = core.playback_id
        self.ssm_token = core.ssm_token
        self.item_playback_id = core.item_playback_id


_SSM_EFFECTS: Final = (ev.SendSsmSetup, ev.SendHeartbeat, ev.SendSsmTeardown)


def _check(core: PlayerCore, before: _Snapshot, event: Input, effects: tuple[ev.Effect, ...],
           env: CoreEnv) -> list[Finding]:
    found: list[Finding] = []
    cfg: CoreConfig = core.config
    notes = {e.kind: e for e in effects if isinstance(e, ev.Notify)}
    teardowns = {e.token for e in (*effects, *core._stash) if isinstance(e, ev.SendSsmTeardown)}
    for effect in effects:
        if not cfg.uses_ssm and isinstance(effect, _SSM_EFFECTS):
            found.append(Finding("ssm.no-ssm-no-traffic",
                                 f"{type(effect).__name__} without an SSM server URL"))
        if isinstance(effect, ev.SendLicenseRequest):
            pid = effect.playback_id
            if effect.ssm_required and pid not in env.setup_ok:
                found.append(Finding("ssm.setup.before-license",
                                     f"license request #{pid} before a successful SSM setup"))
            if effect.ssm_required and (effect.ssm_token is None
                                        or effect.ssm_token != core.ssm_token):
                found.append(Finding("ssm.license.carries-token",
                                     f"license request #{pid} carries {effect.ssm_token!r}, "
                                     f"not the current token {core.ssm_token!r}"))
            if pid in env.setup_failed:
                found.append(Finding("ssm.setup.failure-stops",
                                     f"license request #{pid} after its SSM setup failed"))
        elif isinstance(effect, ev.SendHeartbeat):
            if effect.token != before.ssm_token or effect.playback_id != before.item_playback_id:
                found.append(Finding("ssm.heartbeat.token-rotation",
                                     f"heartbeat with {effect.token!r} for #{effect.playback_id}"
                                     f", not the current {before.ssm_token!r} of "
                                     f"#{before.item_playback_id}"))
        elif isinstance(effect, ev.SendSsmSetup):
            if effect.blocking != cfg.sync_ssm_setup_teardown:
                found.append(Finding("ssm.sync.blocks-main-thread",
                                     f"setup blocking={effect.blocking} with "
                                     f"sync={cfg.sync_ssm_setup_teardown}"))
        elif isinstance(effect, ev.Notify) and effect.kind.startswith("ssm_") \
                and effect.kind.endswith("_error"):
            payload = effect.payload()
            if not {"http_status", "ssm_code", "message"} <= set(payload):
                found.append(Finding("ssm.errors.carry-codes",
                                     f"{effect.kind} payload lacks a code: {sorted(payload)}"))
    # A held session is released by a teardown, rotated, or lost with a notification.
    if before.ssm_token is not None and core.ssm_token != before.ssm_token:
        rotated = (isinstance(event, ev.HeartbeatAnswered) and event.answer.ok
                   and core.ssm_token == event.answer.token)
        if not (rotated or before.ssm_token in teardowns or "ssm_heartbeat_error" in notes
                or event == RELAUNCH):
            found.append(Finding("ssm.teardown.on-stop",
                                 f"session {before.ssm_token!r} dropped without a teardown"))
    # Failed answers post their notification.
    if isinstance(event, ev.SetupAnswered) and not event.answer.ok \
            and event.playback_id == before.playback_id and before.playback is P.SSM_SETUP \
            and "ssm_setup_error" not in notes:
        found.append(Finding("ssm.errors.setup-notified", "failed setup without ssm_setup_error"))
    if isinstance(event, ev.TeardownAnswered) and not event.answer.ok \
            and "ssm_teardown_error" not in notes:
        found.append(Finding("ssm.errors.teardown-notified",
                             "failed teardown without ssm_teardown_error"))
    if isinstance(event, ev.HeartbeatAnswered) and not event.answer.ok \
            and before.ssm_token is not None and event.playback_id == before.item_playback_id \
            and "ssm_heartbeat_error" not in notes:
        found.append(Finding("ssm.errors.heartbeat-notified",
                             "failed heartbeat without ssm_heartbeat_error"))
    # Playing means this playback's license was granted (and, under SSM, its setup succeeded).
    if core.playback in (P.PLAYING, P.PAUSED) and core.app is not A.TERMINATED:
        pid = core.playback_id
        if pid not in env.granted:
            found.append(Finding("ssm.setup.failure-stops",
                                 f"{core.playback.value} without a granted license for #{pid}"))
        if cfg.uses_ssm and pid not in env.no_ssm_media and pid not in env.setup_ok:
            found.append(Finding("ssm.setup.every-playback",
                                 f"{core.playback.value} without an SSM session for #{pid}"))
    # At most one heartbeat timer runs for the item holding the session.
    if core.ssm_token is not None:
        timers = sum(1 for r in env.requests
                     if r.kind == "timer" and r.playback_id == core.item_playback_id)
        if timers > 1:
            found.append(Finding("ssm.heartbeat.keeps-session",
                                 f"{timers} heartbeat timers armed for item "
                                 f"#{core.item_playback_id}"))
    # A blocked main thread waits for a request that is really on the wire.
    if core.playback is P.STOPPING and not any(
            r.kind == "teardown" and r.blocking for r in env.requests) \
            and core.app is not A.TERMINATED:
        found.append(Finding("ssm.sync.blocks-main-thread",
                             "stopping (main thread blocked) with no blocking teardown in flight"))
    return found


def state_key(core: PlayerCore, env: CoreEnv) -> tuple[Any, ...]:
    """A hashable key equal for cores and envs that behave alike from here on.

    Playback ids are taken relative to the current one and tokens are renamed
    in order of appearance, so that "play, stop, play" meets "play".
    """
    base = core.playback_id
    names: dict[str, str] = {}

    def tok(token: str | None) -> str | None:
        if token is None:
            return None
        return names.setdefault(token, f"k{len(names)}")

    def rel(pid: int) -> int:
        return pid - base

    stash = tuple((type(e).__name__, rel(e.playback_id), tok(getattr(e, "token", None)))
                  for e in core._stash if isinstance(e, ev.SendSsmTeardown))
    core_part = (core.app, core.playback, core.stream, tok(core.ssm_token),
                 rel(core.item_playback_id), core.ssm_error, core.ks, core.media_ssm,
                 core._start_after_teardown, rel(core._teardown_playback_id),
                 core._pending_stream_value, stash)
    requests = tuple(sorted((r.kind, rel(r.playback_id), tok(r.token) or "", r.blocking,
                             r.ssm_required) for r in env.requests))
    window = range(base - 3, base + 1)
    env_part = (requests,
                tuple(p - base for p in window if p in env.setup_ok),
                tuple(p - base for p in window if p in env.setup_failed),
                tuple(p - base for p in window if p in env.granted),
                tuple(p - base for p in window if p in env.no_ssm_media))
    return core_part + env_part
