"""Hypothesis strategies that generate whole scenarios, as the loader's plain data.

:func:`scenario_dicts` draws a world (SSM limits, heartbeat period, legacy
status, OTT backend), several devices on shared accounts (sync or async
teardown, zap order, PiP, an OTT session provider with or without the Android
refresh race) and a list of steps: user actions, waits, forced faults, outages
and extra latency. The result is a plain ``dict`` that
:func:`~player_sim.scenario.load_scenario_text` accepts once written as YAML
(:func:`scenario_yaml`), so every generated example is a scenario file a
person can read, edit and replay with ``player-sim run``.

Actions are drawn from those the device accepts at that moment: the strategy
runs the scenario on the runner's world as it draws it (same code, same seed),
so a generated scenario never has a step the player refuses, and shrinking
keeps it so. A user only touches a device whose app is in the foreground or
in picture-in-picture; while a synchronous SSM call blocks the main thread,
only a kill can happen.

:class:`Space` says what may be generated. :data:`DOCUMENTED_SPACE` is the SDK
and app the documents describe, without the options known to race or to break
rules on purpose (setup-first async zaps, the Android refresh race, answers
slower than a heartbeat period, a user pressing resume, evict-oldest): the
property tests assert that no rule is violated there but the async-teardown
zap race, which any async device can still hit at its limit (a zap while a
setup answer is on its way). :data:`EXPLORE_SPACE` allows everything;
``player-sim explore`` searches it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, Final

import attrs
from hypothesis import event, target
from hypothesis import strategies as st

from .._errors import ConfigError
from ..backends import DEFAULT_HTTP_STATUS, OVP_ERROR_CODES, SSM_ERROR_CODES, SsmErrorCode
from ..backends._ott import ENDPOINTS as OTT_ENDPOINT_NAMES
from ..backends._ovp import ENDPOINTS as OVP_ENDPOINT_NAMES
from ..player import _events as ev
from ..player._actions import ACTIONS, action_spec
from ..player._variants import PROFILES, Profile
from ..providers import VARIANT_NAMES
from ..scenario import (
    Action,
    FailNext,
    Latency,
    Location,
    OperatorKill,
    Outage,
    Scenario,
    load_scenario_text,
    parse_duration,
)
from ..world import Device, DeviceConfig, World
from ._features import features

__all__ = ["DOCUMENTED_SPACE", "EXPLORE_SPACE", "Space", "accepted_actions", "scenario_dicts",
           "scenario_yaml", "scenarios"]

#: Device names, in the order devices are added.
DEVICE_NAMES: Final = ("phone", "tablet", "tv")
#: Streams of a device that plays streams directly, and asset (entry) ids of a device with
#: a session provider.
STREAMS: Final = ("channel-1", "channel-2")
ASSETS: Final = ("asset-1", "asset-2")
#: Virtual time a ``wait`` step lets pass; shrinking prefers the first ones.
WAITS: Final = ("1s", "100ms", "5s", "30s", "1m", "2m", "5m", "20m", "1m15s")
#: Forced SSM errors: every code WIRE.md lists (SSM_ERROR_CODES) with the HTTP status the
#: server answers it with, the commonest first (shrinking prefers them): SSM not
#: available, a stale token, the limit; then a transport error with no code.
_FIRST_CODES: Final = (int(SsmErrorCode.SSM_NOT_AVAILABLE), int(SsmErrorCode.INVALID_TOKEN),
                       int(SsmErrorCode.MAX_SESSIONS_EXCEEDED))
SSM_FAULTS: Final[tuple[tuple[int, int | None, str], ...]] = (
    *((DEFAULT_HTTP_STATUS[code], code, c.meaning) for code in _FIRST_CODES
      for c in SSM_ERROR_CODES if c.code == code),
    *((c.http_status, c.code, c.meaning) for c in SSM_ERROR_CODES
      if c.code not in _FIRST_CODES),
    (500, None, "internal server error"),
)
#: The SSM calls a forced error may hit, the most telling first.
SSM_ENDPOINTS: Final = ("ssm.heartbeat", "ssm.setup", "ssm.teardown")
#: Forced license errors: (http_status, code, message).
LICENSE_FAULTS: Final = ((403, None, "license denied"), (500, None, "server error"),
                         (401, 1006, "invalid SSM token"))
#: Forced OTT (Phoenix) errors: the endpoints, then (http_status, code, message); every
#: endpoint may answer any of them (errors come in an HTTP 200 body, as Phoenix does).
OTT_ENDPOINTS: Final = tuple(f"ott.{e}" for e in OTT_ENDPOINT_NAMES if e != "bookmark/add")
OTT_FAULTS: Final = ((200, 500016, "KS expired"), (500, None, "server error"),
                     (503, None, "service unavailable"), (200, 1011, "wrong password"),
                     (200, 2001, "user suspended"), (200, 3032, "not entitled"))
#: Forced OVP errors, the same way (OVP's codes are text).
OVP_ENDPOINTS: Final = tuple(f"ovp.{e}" for e in OVP_ENDPOINT_NAMES)
OVP_FAULTS: Final = ((200, "INVALID_KS", "KS invalid"), (500, None, "server error"),
                     *((200, code, code.lower().replace("_", " "))
                       for code in OVP_ERROR_CODES if code != "INVALID_KS"))
OUTAGE_LENGTHS: Final = ("30s", "2m")
EXTRA_LATENCIES: Final = ("1s", "10s", "40s")
PARTNER_ID: Final = 3009
#: The OTT KS of generated worlds: a 1-minute wait after a login lands in the
#: documented 12 % refresh margin (57.2 s to 65 s), a 2-minute wait after expiry.
OTT_KS_VALIDITY: Final = "1m5s"
#: The OVP KS of generated worlds: its 10-minute renewal window opens after 2 minutes.
OVP_KS_VALIDITY: Final = "12m"
#: OTT refresh policies drawn besides the variant's own: both named ones, and a margin.
REFRESH_POLICIES: Final = ("android", "ios", "20s")
#: Jitter and a slow link, when drawn.
JITTER: Final = "50ms"
SLOW_LINK: Final = "400ms"
#: The wait that closes every generated scenario.
CLOSING_WAIT: Final = "6m"
_USER: Final = ("alice", "secret")
_NOWHERE: Final = Location("<generated>", 1, 1)
BACKENDS: Final = ("ott", "ovp")


def _between(attribute: attrs.Attribute[Any], value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ConfigError(f"Space.{attribute.name} must be from {low} to {high}, not {value!r}")


def _some(attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
    if not value:
        raise ConfigError(f"Space.{attribute.name} can't be empty: give at least one to draw from")
    if attribute.name == "limits" and any(limit < 1 for limit in value):
        raise ConfigError(f"Space.limits are session limits, at least 1 each, not {value!r}")


def _check_profile(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and value not in PROFILES:
        raise ConfigError(f"Space.profile must be one of {', '.join(PROFILES)} or None, "
                          f"not {value!r}")


def _among(attribute: attrs.Attribute[Any], value: tuple[str, ...],
           known: tuple[str, ...], empty: bool = False) -> None:
    if not empty:
        _some(attribute, value)
    unknown = [v for v in value if v not in known]
    if unknown:
        raise ConfigError(f"Space.{attribute.name} are {', '.join(known)}, "
                          f"not {', '.join(map(repr, unknown))}")


@attrs.frozen
class Space:
    """What :func:`scenario_dicts` may generate.

    * ``max_devices`` / ``max_steps``: bounds on the scenario's size;
    * ``accounts``: account names devices are spread over; ``limits``: the
      per-account SSM session limits drawn from (the world's, and sometimes
      each account's own);
    * ``sync``, ``pip``, ``setup_first_zaps``: device options that may be drawn
      (``setup_first_zaps=False`` makes every async device zap teardown-first);
    * ``providers``: devices may have a session provider, of the ``backends``
      (``ott``: Phoenix, a 90 s KS; ``ovp``: a 12 min KS); ``provider_variants``:
      the client variants drawn (:data:`~player_sim.providers.VARIANT_NAMES`:
      the Android one drops an earlier caller's callback, the iOS one sends
      concurrent refreshes); ``refresh_policies``: an OTT provider may be given
      another refresh policy than its variant's, and may persist its session
      over a kill;
    * ``profiles``: the platform profiles each device's is drawn from, unless
      ``profile`` gives every device that one (``None``: drawn;
      ``documented`` is written as no key);
    * ``legacy_status_200`` / ``evict_oldest``: server variants that may be drawn;
    * ``faults``: forced errors on every call (SSM setup, heartbeat, teardown
      with each code WIRE.md lists; license; every OTT and OVP endpoint);
      ``outages``: SSM, license and provider backends down for a while;
      ``operator_kills``: the operator kills a device's or an account's sessions;
      ``jitter``: network jitter and slow links; ``slow_answers``: extra
      latency up to 40 s (slower than a 30 s heartbeat period: answers
      overtaken by the next heartbeat);
    * ``user_resume``: a user may press resume (otherwise only the app policy
      resumes, as the SSM document asks).
    """

    max_devices: int = attrs.field(default=3, validator=lambda _, a, v: _between(a, v, 1, 3))
    max_steps: int = attrs.field(default=12, validator=lambda _, a, v: _between(a, v, 1, 100))
    accounts: tuple[str, ...] = attrs.field(default=("alice", "bob"),
                                            validator=lambda _, a, v: _some(a, v))
    limits: tuple[int, ...] = attrs.field(default=(1, 2), validator=lambda _, a, v: _some(a, v))
    sync: bool = True
    pip: bool = True
    setup_first_zaps: bool = True
    providers: bool = True
    backends: tuple[str, ...] = attrs.field(
        default=BACKENDS, validator=lambda _, a, v: _among(a, v, BACKENDS))
    provider_variants: tuple[str, ...] = attrs.field(
        default=VARIANT_NAMES, validator=lambda _, a, v: _among(a, v, VARIANT_NAMES))
    refresh_policies: bool = True
    legacy_status_200: bool = True
    evict_oldest: bool = True
    faults: bool = True
    outages: bool = True
    operator_kills: bool = True
    jitter: bool = True
    slow_answers: bool = True
    user_resume: bool = True
    profile: Profile | None = attrs.field(default=None, validator=_check_profile)
    profiles: tuple[Profile, ...] = attrs.field(
        default=PROFILES, validator=lambda _, a, v: _among(a, v, PROFILES))


#: The documented app and server with every client the documents describe (each provider
#: variant, refresh policy and platform profile), without the configurations that race
#: in any SDK or break rules on purpose (setup-first async zaps, answers slower than a
#: heartbeat period, a user pressing resume, evict-oldest).
DOCUMENTED_SPACE: Final = Space(setup_first_zaps=False, slow_answers=False, user_resume=False,
                                evict_oldest=False)
#: Everything, what ``player-sim explore`` searches: also setup-first zaps, answers slower
#: than a heartbeat, a user pressing resume and evict-oldest. Its providers are the real
#: clients' (Android, iOS); DOCUMENTED_SPACE has the documented one too.
EXPLORE_SPACE: Final = Space(provider_variants=VARIANT_NAMES[1:])


# --- the world and the devices ------------------------------------------------------

def _rarely(draw: st.DrawFn) -> bool:
    """True one time in four (and False when shrunk): for options that change a lot."""
    return draw(st.integers(0, 3)) == 3


def _provider(draw: st.DrawFn, space: Space, backend: str) -> dict[str, Any]:
    provider: dict[str, Any] = {"backend": backend, "partner_id": PARTNER_ID}
    variant = draw(st.sampled_from(space.provider_variants))
    if variant != VARIANT_NAMES[0]:
        provider["variant"] = variant
    if backend == "ovp":
        provider["assumed_validity"] = OVP_KS_VALIDITY  # what the widget session lasts
    elif space.refresh_policies and _rarely(draw):
        provider["refresh_policy"] = draw(st.sampled_from(REFRESH_POLICIES))
    if backend == "ott" and space.refresh_policies and _rarely(draw):
        provider["persist_session"] = True
    return provider


@st.composite
def _setup(draw: st.DrawFn, space: Space) -> dict[str, Any]:
    limit = draw(st.sampled_from(space.limits))
    ssm: dict[str, Any] = {"max_sessions_per_account": limit, "heartbeat_period": "30s",
                           "grace_period": "10s"}
    if space.legacy_status_200 and _rarely(draw):
        ssm["legacy_status_200"] = True
    if space.evict_oldest and _rarely(draw):
        ssm["limit_policy"] = "evict-oldest"
    count = draw(st.integers(1, space.max_devices))
    devices: dict[str, Any] = {}
    for name in DEVICE_NAMES[:count]:
        device: dict[str, Any] = {"account": draw(st.sampled_from(space.accounts))}
        profile = space.profile if space.profile is not None else draw(
            st.sampled_from(space.profiles))
        if profile != "documented" or space.profile is not None:
            device["profile"] = profile
        async_device = True
        if space.sync and _rarely(draw):
            device["sync_setup_teardown"] = True
            async_device = False
        if async_device and (not space.setup_first_zaps or _rarely(draw)):
            device["zap_order"] = "teardown-first"
        if space.pip and draw(st.integers(0, 2)) == 2:
            device["pip"] = True
        if space.providers:
            # none, or one of the backends: half the devices have a session provider
            which = draw(st.integers(0, 2 * len(space.backends) - 1)) - len(space.backends)
            if which >= 0:
                device["session_provider"] = _provider(draw, space, space.backends[which])
        devices[name] = device
    world: dict[str, Any] = {"ssm": ssm, "network": {"latency": "20ms"}}
    if space.jitter and _rarely(draw):
        world["network"]["jitter"] = JITTER
    if space.jitter and _rarely(draw):
        link = draw(st.sampled_from(("ssm", "license", *space.backends)))
        world["network"]["links"] = {link: SLOW_LINK}
    backends = {d["session_provider"]["backend"] for d in devices.values()
                if "session_provider" in d}
    if "ott" in backends:
        # a short KS that a 2-minute wait outlasts: Android's refresh margin (12 %) and
        # iOS's (0: after expiry) both come within a wait or two
        world["ott"] = {"users": {_USER[0]: _USER[1]}, "ks_validity": OTT_KS_VALIDITY,
                        "anonymous_ks_validity": OTT_KS_VALIDITY}
    if "ovp" in backends:
        world["ovp"] = {"users": {_USER[0]: _USER[1]},
                        "widget_session_validity": OVP_KS_VALIDITY,
                        "user_session_validity": OVP_KS_VALIDITY}
    data: dict[str, Any] = {"name": "generated", "seed": 0, "world": world}
    used = sorted({d["account"] for d in devices.values()})
    if len(space.limits) > 1 and _rarely(draw):
        # each account its own limit (several accounts with different limits)
        data["accounts"] = {a: {"max_sessions": draw(st.sampled_from(space.limits))}
                            for a in used}
    return {**data, "devices": devices, "steps": []}


# --- steps ------------------------------------------------------------------------------

#: What a user can do to the player core, each with an example event to ask ``core.can``.
_USER_EVENTS: Final[tuple[tuple[str, ev.Action], ...]] = tuple(
    (spec.name, spec.build(dict.fromkeys((a.name for a in spec.args), "")))
    for spec in ACTIONS if spec.user and spec.event is not None and not spec.session)
#: What a user can do to a session provider.
_SESSION_ACTIONS: Final = tuple(spec.name for spec in ACTIONS if spec.user and spec.session)
# What a user can do to an app that is not on screen (normal background).
_OFF_SCREEN: Final = frozenset({"enter_foreground"})


def accepted_actions(device: Device, *, user_resume: bool = True) -> list[str]:
    """The actions a user can perform on ``device`` now, in a fixed order.

    A killed app can only be relaunched; while a synchronous SSM call blocks
    the main thread, only a kill happens at once; an app in normal background
    can only be brought back (or killed). ``resume`` is left out unless
    ``user_resume``.
    """
    if device.killed:
        return ["relaunch"]
    if device.main_thread_blocked:
        return ["kill"]
    core = device.core
    off_screen = core.app.value == "background"
    names = [name for name, event in _USER_EVENTS
             if core.can(event) and (not off_screen or name in _OFF_SCREEN)
             and (user_resume or name != "resume")]
    names.append("kill")
    if device.session_provider is not None and not off_screen:
        names += _SESSION_ACTIONS
    return names


@functools.lru_cache(maxsize=1024)
def _skeleton(text: str) -> Scenario:
    """A world and its devices, loaded once (a Scenario is frozen; providers are
    built fresh for each run)."""
    return load_scenario_text(text, "<generated>")


#: How often an action is drawn, relative to the others (1 unless listed).
WEIGHTS: Final = {"play": 8, "zap": 8, "stop": 2, "login": 4, "enter_background": 4,
                  "enter_foreground": 4, "enter_pip": 4}


class _Driver:
    """Runs a scenario being drawn on the runner's own world, step by step."""

    def __init__(self, data: dict[str, Any],
                 configure: Callable[[DeviceConfig], DeviceConfig] | None) -> None:
        from ..scenario._runner import _Run  # the runner's world: same code, same seed

        skeleton = _skeleton(scenario_yaml({**data, "steps": [{"wait": "0s"}]}))
        self.run = _Run(skeleton, 0, configure)
        world = self.run.world
        for config in skeleton.devices:
            spec = skeleton.providers.get(config.name)
            if spec is not None:
                provider, media = spec.build()
                config = attrs.evolve(config, session_provider=provider, media=media)
            world.add_device(configure(config) if configure is not None else config)

    @property
    def world(self) -> World:
        return self.run.world

    def wait(self, duration: str) -> None:
        self.run.advance_to(self.world.now + parse_duration(duration))

    def act(self, step: Mapping[str, Any]) -> None:
        (name, value), = step.items()
        fields = value if isinstance(value, dict) else {"device": value}
        self.run.act(Action(_NOWHERE, name, fields["device"],
                            {k: v for k, v in fields.items() if k != "device"}))

    def fault(self, step: Mapping[str, Any]) -> None:
        (kind, value), = step.items()
        now = self.world.now
        if kind == "operator_kill":
            self.run.operator_kill(OperatorKill(_NOWHERE, value.get("device"),
                                                value.get("account")))
        elif kind == "fail":
            code = value.get("ssm_code", value.get("code"))
            self.run.fault(FailNext(_NOWHERE, value["endpoint"], value["count"],
                                    value["http_status"], code, value["message"]))
        elif kind == "outage":
            self.run.fault(Outage(_NOWHERE, value["backend"], now,
                                  now + parse_duration(value["for"])))
        else:
            self.run.fault(Latency(_NOWHERE, value["link"], parse_duration(value["extra"]),
                                   now, now + parse_duration(value["for"])))


@st.composite
def _action(draw: st.DrawFn, driver: _Driver, space: Space, devices: Mapping[str, Any],
            last: str | None, same: bool) -> dict[str, Any]:
    # the device acted on last comes first (a shrunk scenario keeps to one device)
    names = sorted(devices, key=DEVICE_NAMES.index)
    if last is not None:
        names = [last, *(n for n in names if n != last)]
    name = last if same and last is not None else draw(st.sampled_from(names))
    device = driver.world.device(name)
    choices = accepted_actions(device, user_resume=space.user_resume)
    # starting and changing streams is what races: draw it more often
    weights = WEIGHTS
    provider = device.session_provider
    if provider is not None and not getattr(provider, "has_session", True):
        weights = {**WEIGHTS, "login": 12}  # an app with no session mostly logs in first
    weighted = [c for name in choices for c in [name] * weights.get(name, 1)]
    action = draw(st.sampled_from(weighted))
    if any(arg.name == "stream" for arg in action_spec(action).args):
        streams = ASSETS if "session_provider" in devices[name] else STREAMS
        return {action: {"device": name, "stream": draw(st.sampled_from(streams))}}
    if action == "login":
        if draw(st.booleans()):
            return {"login": {"device": name}}  # anonymous
        return {"login": {"device": name, "username": _USER[0], "password": _USER[1]}}
    return {action: name}


@st.composite
def _fault(draw: st.DrawFn, space: Space, links: tuple[str, ...],
           devices: Mapping[str, Any]) -> dict[str, Any]:
    kinds = [k for k, allowed in (("fail", space.faults), ("fail", space.faults),
                                   ("outage", space.outages), ("outage", space.outages),
                                   ("operator_kill", space.operator_kills),
                                   ("latency", True)) if allowed]
    kind = draw(st.sampled_from(kinds))
    if kind == "fail":
        # the SSM calls and the provider's most often: they are what the SDK under test
        # makes
        link = draw(st.sampled_from(("ssm", "ssm", *links[1:], *links[2:])))
        code: int | str | None
        if link == "ssm":
            endpoint = draw(st.sampled_from(SSM_ENDPOINTS))
            status, code, message = draw(st.sampled_from(SSM_FAULTS))
            if code is not None and _rarely(draw):
                status = 200  # the error in a 200 body (as the legacy API answers)
        elif link == "license":
            endpoint = "license"
            status, code, message = draw(st.sampled_from(LICENSE_FAULTS))
        else:
            endpoint = draw(st.sampled_from(OTT_ENDPOINTS if link == "ott" else OVP_ENDPOINTS))
            status, code, message = draw(st.sampled_from(
                OTT_FAULTS if link == "ott" else OVP_FAULTS))
        step: dict[str, Any] = {"endpoint": endpoint, "count": draw(st.integers(1, 2)),
                                "http_status": status}
        if code is not None:
            step["ssm_code" if endpoint.startswith("ssm.") else "code"] = code
        step["message"] = message
        return {"fail": step}
    if kind == "outage":
        return {"outage": {"backend": draw(st.sampled_from(links)),
                           "for": draw(st.sampled_from(OUTAGE_LENGTHS))}}
    if kind == "operator_kill":
        if draw(st.booleans()):
            return {"operator_kill": {"device": draw(st.sampled_from(sorted(
                devices, key=DEVICE_NAMES.index)))}}
        accounts = sorted({d["account"] for d in devices.values()})
        return {"operator_kill": {"account": draw(st.sampled_from(accounts))}}
    extras = EXTRA_LATENCIES if space.slow_answers else EXTRA_LATENCIES[:1]
    return {"latency": {"link": draw(st.sampled_from(links)),
                        "extra": draw(st.sampled_from(extras)), "for": "20s"}}


#: How long a user lets a playback run after an action, half the time.
SETTLE_WAITS: Final = ("1s", "30s", "2m")
#: What follows an error aimed at a device: a heartbeat period (PiP keeps heartbeating),
#: or long enough for a normal background's session to expire.
AIMED_WAITS: Final = ("30s", "1m", "5m")


#: The moments of a KS a token request is aimed at (see :func:`_ks_moment`).
KS_MOMENTS: Final = ("in the refresh window", "after expiry", "after the session ended")


def _has_session(device: Device) -> bool:
    provider = device.session_provider
    return not device.killed and provider is not None \
        and bool(getattr(provider, "has_session", False)) \
        and getattr(provider, "expires_at", None) is not None


def _seconds(value: float) -> str:
    """``value`` seconds as a duration a scenario file takes (milliseconds at most)."""
    return f"{max(value, 0.001):.3f}".rstrip("0").rstrip(".") + "s"


@st.composite
def _ks_moment(draw: st.DrawFn, driver: _Driver, name: str) -> list[dict[str, Any]]:
    """Steps that make ``name`` ask for a KS at one of :data:`KS_MOMENTS`: a wait to it
    (or a logout), then a play or zap if the app takes one. When the refresh window
    has passed, a token request renews the KS first. Each step is run by the driver
    as it is drawn."""
    device = driver.world.device(name)
    provider: Any = device.session_provider
    steps: list[dict[str, Any]] = []

    def run(step: dict[str, Any]) -> None:
        if "wait" in step:
            driver.wait(step["wait"])
        else:
            driver.act(step)
        steps.append(step)

    def start() -> None:
        starts = [a for a in accepted_actions(device) if a in ("play", "zap")]
        if starts:
            run({draw(st.sampled_from(starts)): {
                "device": name, "stream": draw(st.sampled_from(ASSETS))}})

    def left() -> float | None:
        expires_at = provider.expires_at
        return None if expires_at is None else float(expires_at) - driver.world.now

    moment = draw(st.sampled_from(KS_MOMENTS))
    if moment == KS_MOMENTS[0]:
        window = getattr(provider, "refresh_delta", None)
        if window is None:
            window = getattr(provider, "renew_window", None)
        if not window:
            return steps  # renewed only once expired (iOS): no window
        remaining = left()
        if remaining is not None and remaining <= window / 2:
            start()  # the window has passed: this request renews the KS
            run({"wait": "1s"})
            remaining = left()
        if remaining is None or remaining <= window / 2:
            return steps
        run({"wait": _seconds(remaining - window / 2)})
    elif moment == KS_MOMENTS[1]:
        remaining = left()
        if remaining is None:
            return steps
        run({"wait": _seconds(max(remaining, 0) + 1)})
    else:
        ending = [a for a in accepted_actions(device) if a in ("logout", "end_session")]
        if not ending:
            return steps
        run({draw(st.sampled_from(ending)): name})
        run({"wait": "1s"})
    start()
    return steps


@st.composite
def _aimed(draw: st.DrawFn, driver: _Driver, devices: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An SSM error aimed at a device holding a playback, an app in picture-in-picture
    or the background first (what plain draws rarely reach): when none holds one, a
    device starts playing first (and sometimes leaves the screen); then the error, then
    time for it to arrive. Each step is run by the driver as it is drawn."""
    steps: list[dict[str, Any]] = []

    def run(step: dict[str, Any]) -> None:
        (kind, _), = step.items()
        if kind == "wait":
            driver.wait(step["wait"])
        elif kind in ("fail", "operator_kill"):
            driver.fault(step)
        else:
            driver.act(step)
        steps.append(step)

    names = sorted(devices, key=DEVICE_NAMES.index)
    held = [n for n in names if _holds_playback(driver.world.device(n))]
    if not held:
        starts = [n for n in names if "play" in accepted_actions(driver.world.device(n))]
        if not starts:
            return steps
        name = draw(st.sampled_from(starts))
        streams = ASSETS if "session_provider" in devices[name] else STREAMS
        run({"play": {"device": name, "stream": draw(st.sampled_from(streams))}})
        run({"wait": "1s"})
        if draw(st.booleans()) and "enter_background" in accepted_actions(
                driver.world.device(name)):
            run({"enter_background": name})  # PiP when enabled, else a normal background
        held = [name] if _holds_playback(driver.world.device(name)) else []
        if not held:
            return steps
    held.sort(key=lambda n: not _off_screen(driver.world.device(n)))
    run(draw(_aimed_error(draw(st.sampled_from(held)))))
    run({"wait": draw(st.sampled_from(AIMED_WAITS))})
    return steps


def _holds_playback(device: Device) -> bool:
    """The app runs and its player plays or is paused (the SDK holds an SSM session)."""
    return not device.killed and device.core.playback.value in ("playing", "paused")


def _off_screen(device: Device) -> bool:
    """The app is in picture-in-picture or the background."""
    return device.core.app.value in ("pip", "background")


@st.composite
def _aimed_error(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """An operator kill of ``name``'s sessions, or its next heartbeats failing."""
    if draw(st.booleans()):
        return {"operator_kill": {"device": name}}
    status, code, message = draw(st.sampled_from(SSM_FAULTS))
    fail: dict[str, Any] = {"endpoint": "ssm.heartbeat", "count": draw(st.integers(1, 2)),
                            "http_status": status}
    if code is not None:
        fail["ssm_code"] = code
    fail["message"] = message
    return {"fail": fail}


#: The situations plain draws rarely reach, each a ``hypothesis.target`` label: the
#: search steers towards scenarios that reach them more often.
TARGETS: Final = ("heartbeat errors off screen", "zaps at the session limit",
                  "KS near expiry or renewed", "provider sessions ended")


def _targets(data: Mapping[str, Any], reached: Collection[str]) -> dict[str, float]:
    """How much of each :data:`TARGETS` situation a drawn scenario reached."""
    off_screen = sum(1 for f in reached if f.startswith("reached: ssm_heartbeat_error in "))
    return {
        TARGETS[0]: float(off_screen),
        TARGETS[1]: float("reached: zap at the session limit" in reached),
        TARGETS[2]: float(sum(1 for f in reached if f in (
            "reached: KS near expiry handed out", "reached: ks_refreshed",
            "reached: ks_renewed", "reached: expired KS sent"))),
        TARGETS[3]: float(sum(1 for f in reached
                              if f.startswith("reached: provider session ended"))),
    }


@st.composite
def scenario_dicts(draw: st.DrawFn, space: Space = EXPLORE_SPACE,
                   configure_device: Callable[[DeviceConfig], DeviceConfig] | None = None,
                   ) -> dict[str, Any]:
    """A whole scenario as the loader's plain data (see the module docstring).

    ``configure_device`` is the one the scenario will be run with (see
    :func:`~player_sim.scenario.run_scenario`): the actions drawn are those its
    devices accept.

    The last step is always a wait, long enough (6 min) for every answer to
    arrive and every monitor's window (5 min at most) to close. Each feature
    the scenario reached (:func:`~._features.features`) is reported with
    Hypothesis' ``event()``, and the rare situations of :data:`TARGETS` with
    ``target()``.
    """
    data = draw(_setup(space))
    driver = _Driver(data, configure_device)
    devices = data["devices"]
    backends = tuple(b for b in BACKENDS if b in data["world"])
    links = ("ssm", "license", *backends)
    disturb = space.faults or space.outages or space.slow_answers or space.operator_kills
    kinds = ["action"] * 4 + ["burst"] * 2 + ["wait"] * 3 + (["fault"] * 2 if disturb else [])
    if space.faults or space.operator_kills:
        kinds += ["aimed error"] * 2
    if space.providers:
        kinds += ["ks moment"] * 3
    steps: list[dict[str, Any]] = data["steps"]
    for name, device in devices.items():  # most apps log in first
        if "session_provider" in device and draw(st.integers(0, 7)) > 0:
            steps.append({"login": {"device": name, "username": _USER[0],
                                    "password": _USER[1]}})
            driver.act(steps[-1])
    last: str | None = None
    for _ in range(draw(st.integers(1, space.max_steps))):
        kind = draw(st.sampled_from(kinds))
        if kind in ("action", "burst"):
            # a burst is two actions on one device at the same instant (a quick user)
            for same in ((False, True) if kind == "burst" else (False,)):
                step = draw(_action(driver, space, devices, last, same))
                driver.act(step)
                steps.append(step)
                value = next(iter(step.values()))
                last = value if isinstance(value, str) else value["device"]
            if kind == "action" and draw(st.booleans()):
                # the user watches a while: a playback gets going before the next step
                step = {"wait": draw(st.sampled_from(SETTLE_WAITS))}
                driver.wait(step["wait"])
                steps.append(step)
            continue
        if kind == "wait":
            step = {"wait": draw(st.sampled_from(WAITS))}
            driver.wait(step["wait"])
        elif kind == "ks moment":
            # a token request at a KS's telling moment: inside the refresh (renewal)
            # window, just after expiry, or right after the session ended
            held = [n for n in sorted(devices, key=DEVICE_NAMES.index)
                    if _has_session(driver.world.device(n))]
            if not held:
                continue
            name = draw(st.sampled_from(held))
            steps += draw(_ks_moment(driver, name))  # run by the driver as drawn
            last = name
            continue
        elif kind == "aimed error":
            steps += draw(_aimed(driver, devices))  # run by the driver as drawn
            continue
        else:
            step = draw(_fault(space, links, devices))
            driver.fault(step)
        steps.append(step)
    steps.append({"wait": CLOSING_WAIT})
    driver.wait(CLOSING_WAIT)
    reached = features(data, driver.world.trace)
    for label in reached:
        event(label)
    for label, score in _targets(data, reached).items():
        target(score, label=label)
    return data


def scenarios(space: Space = EXPLORE_SPACE) -> st.SearchStrategy[Scenario]:
    """Whole scenarios as loaded :class:`~player_sim.scenario.Scenario` values."""
    return scenario_dicts(space).map(
        lambda data: load_scenario_text(scenario_yaml(data), "<generated>"))


# --- writing and checking ------------------------------------------------------------------

_PLAIN: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./@-]*")
_NOT_PLAIN: Final = re.compile(r"[-+]?[0-9_.]+([eE][-+]?[0-9]+)?|true|false|yes|no|on|off|"
                               r"null|y|n|~", re.IGNORECASE)


def _flow(value: Any) -> str:
    """``value`` in YAML flow style: plain words where YAML reads them back as the same
    text, JSON-quoted strings otherwise (JSON strings are YAML strings)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and not _NOT_PLAIN.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _lines(data: Mapping[str, Any]) -> Iterator[str]:
    for key in ("name", "description", "seed"):
        if key in data:
            yield f"{key}: {_flow(data[key])}"
    for key in ("world", "accounts"):
        if key in data:
            yield f"{key}:"
            for name, value in data[key].items():
                yield f"  {name}: {_flow(value)}"
    yield "devices:"
    for name, value in data["devices"].items():
        yield f"  {name}: {_flow(value)}"
    yield "steps:"
    for step in data["steps"]:
        (kind, value), = step.items()
        yield f"  - {kind}: {_flow(value)}"
    for key in ("always", "never"):
        if data.get(key):
            yield f"{key}:"
            for item in data[key]:
                yield f"  - {_flow(item)}"
    for key in ("check_rules", "covers"):
        if data.get(key):
            yield f"{key}: {_flow(list(data[key]))}"


def scenario_yaml(data: Mapping[str, Any], header: str = "") -> str:
    """``data`` (from :func:`scenario_dicts`) as scenario-file text, one step per line.

    ``header`` lines are written first as ``#`` comments. Keys keep their order,
    so the same data always gives the same bytes.
    """
    comments = [f"# {line}".rstrip() for line in header.splitlines()]
    return "\n".join([*comments, *_lines(data)]) + "\n"
