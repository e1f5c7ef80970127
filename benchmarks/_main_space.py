"""The search space as main had it before issue 11 (player_sim/explore/_strategies.py at
commit 60e9101), frozen here, imports made absolute, as the "before" peer of
``explore_bench.py``'s space comparison. Not used by the package.

Hypothesis strategies that generate whole scenarios, as the loader's plain data.

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
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import attrs
from hypothesis import strategies as st

from player_sim._errors import ConfigError
from player_sim.backends import SsmErrorCode
from player_sim.player import _events as ev
from player_sim.player._actions import ACTIONS, action_spec
from player_sim.player._variants import PROFILES, Profile
from player_sim.providers import VARIANT_NAMES
from player_sim.scenario import (
    Action,
    FailNext,
    Latency,
    Location,
    Outage,
    Scenario,
    load_scenario_text,
    parse_duration,
)
from player_sim.world import Device, DeviceConfig, World

__all__ = ["DOCUMENTED_SPACE", "EXPLORE_SPACE", "Space", "accepted_actions", "scenario_dicts",
           "scenario_yaml", "scenarios"]

#: Device names, in the order devices are added.
DEVICE_NAMES: Final = ("phone", "tablet", "tv")
#: Streams of a device that plays streams directly, and asset ids of an OTT device.
STREAMS: Final = ("channel-1", "channel-2")
ASSETS: Final = ("asset-1", "asset-2")
#: Virtual time a ``wait`` step lets pass; shrinking prefers the first ones.
WAITS: Final = ("1s", "100ms", "5s", "30s", "1m", "2m", "5m", "20m")
#: Forced SSM and license errors: (endpoint, http_status, code, message); codes are plain
#: ints (they are written into scenario files).
FAULTS: Final = (
    ("ssm.heartbeat", 503, int(SsmErrorCode.SSM_NOT_AVAILABLE), "SSM not available"),
    ("ssm.setup", 503, int(SsmErrorCode.SSM_NOT_AVAILABLE), "SSM not available"),
    ("ssm.teardown", 503, int(SsmErrorCode.SSM_NOT_AVAILABLE), "SSM not available"),
    ("ssm.heartbeat", 403, int(SsmErrorCode.INVALID_TOKEN), "invalid token"),
    ("ssm.setup", 200, int(SsmErrorCode.MAX_SESSIONS_EXCEEDED), "max active sessions exceeded"),
    ("ssm.heartbeat", 200, int(SsmErrorCode.INVALID_TOKEN), "invalid token"),
    ("license", 403, None, "license denied"),
)
OTT_FAULTS: Final = (
    ("ott.ottUser/refreshSession", 200, 500016, "KS expired"),
    ("ott.session/get", 500, None, "server error"),
)
OUTAGE_LENGTHS: Final = ("30s", "2m")
EXTRA_LATENCIES: Final = ("1s", "10s", "40s")
PARTNER_ID: Final = 3009
#: The OTT KS of generated worlds: shorter than the 2-minute wait.
OTT_KS_VALIDITY: Final = "1m30s"
_USER: Final = ("alice", "secret")
_NOWHERE: Final = Location("<generated>", 1, 1)


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


def _variants(attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    _some(attribute, value)
    unknown = [v for v in value if v not in VARIANT_NAMES]
    if unknown:
        raise ConfigError(f"Space.provider_variants are {', '.join(VARIANT_NAMES)}, "
                          f"not {', '.join(map(repr, unknown))}")


@attrs.frozen
class Space:
    """What :func:`scenario_dicts` may generate.

    * ``max_devices`` / ``max_steps``: bounds on the scenario's size;
    * ``accounts``: account names devices are spread over; ``limits``: the
      per-account SSM session limits drawn from;
    * ``sync``, ``pip``, ``setup_first_zaps``: device options that may be drawn
      (``setup_first_zaps=False`` makes every async device zap teardown-first);
    * ``providers``: devices may have an OTT session provider (a 5 min KS);
      ``provider_variants``: the client variants it is drawn from
      (:data:`~player_sim.providers.VARIANT_NAMES`: the Android one drops an
      earlier caller's callback, the iOS one sends concurrent refreshes);
    * ``legacy_status_200`` / ``evict_oldest``: server variants that may be drawn;
    * ``faults``, ``outages``, ``slow_answers``: forced errors, outages, and extra
      latency up to 40 s (slower than a 30 s heartbeat period: answers overtaken
      by the next heartbeat);
    * ``user_resume``: a user may press resume (otherwise only the app policy
      resumes, as the SSM document asks);
    * ``profile``: the platform profile every device is given (``None``: none
      written, the ``documented`` default).
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
    provider_variants: tuple[str, ...] = attrs.field(
        default=VARIANT_NAMES, validator=lambda _, a, v: _variants(a, v))
    legacy_status_200: bool = True
    evict_oldest: bool = True
    faults: bool = True
    outages: bool = True
    slow_answers: bool = True
    user_resume: bool = True
    profile: Profile | None = attrs.field(default=None, validator=_check_profile)


#: The documented SDK and app, without the configurations known to race.
DOCUMENTED_SPACE: Final = Space(setup_first_zaps=False, provider_variants=("documented",),
                                slow_answers=False, user_resume=False, evict_oldest=False)
#: Everything that can race: what ``player-sim explore`` searches. Its providers are
#: the real clients' (Android, iOS); the documented one is DOCUMENTED_SPACE's.
EXPLORE_SPACE: Final = Space(provider_variants=VARIANT_NAMES[1:])


# --- the world and the devices ------------------------------------------------------

def _rarely(draw: st.DrawFn) -> bool:
    """True one time in four (and False when shrunk): for options that change a lot."""
    return draw(st.integers(0, 3)) == 3


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
        if space.profile is not None:
            device["profile"] = space.profile
        async_device = True
        if space.sync and _rarely(draw):
            device["sync_setup_teardown"] = True
            async_device = False
        if async_device and (not space.setup_first_zaps or _rarely(draw)):
            device["zap_order"] = "teardown-first"
        if space.pip and _rarely(draw):
            device["pip"] = True
        if space.providers and _rarely(draw):
            provider: dict[str, Any] = {"backend": "ott", "partner_id": PARTNER_ID}
            variant = draw(st.sampled_from(space.provider_variants))
            if variant != VARIANT_NAMES[0]:
                provider["variant"] = variant
            device["session_provider"] = provider
        devices[name] = device
    world: dict[str, Any] = {"ssm": ssm, "network": {"latency": "20ms"}}
    if any("session_provider" in d for d in devices.values()):
        # a short KS that a 2-minute wait outlasts: Android's refresh margin (12 %) and
        # iOS's (0: after expiry) both come within a wait or two
        world["ott"] = {"users": {_USER[0]: _USER[1]}, "ks_validity": OTT_KS_VALIDITY}
    return {"name": "generated", "seed": 0, "world": world, "devices": devices, "steps": []}


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
WEIGHTS: Final = {"play": 8, "zap": 8, "stop": 2, "login": 4, "enter_background": 2,
                  "enter_foreground": 4}


class _Driver:
    """Runs a scenario being drawn on the runner's own world, step by step."""

    def __init__(self, data: dict[str, Any],
                 configure: Callable[[DeviceConfig], DeviceConfig] | None) -> None:
        from player_sim.scenario._runner import _Run  # the runner's world: same code, same seed

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
        if kind == "fail":
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
    weighted = [c for name in choices for c in [name] * WEIGHTS.get(name, 1)]
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
           providers: bool) -> dict[str, Any]:
    kinds = [k for k, allowed in (("fail", space.faults), ("outage", space.outages),
                                   ("latency", True)) if allowed]
    kind = draw(st.sampled_from(kinds))
    if kind == "fail":
        faults = FAULTS + (OTT_FAULTS if providers else ())
        endpoint, status, code, message = draw(st.sampled_from(faults))
        step: dict[str, Any] = {"endpoint": endpoint, "count": draw(st.integers(1, 2)),
                                "http_status": status}
        if code is not None:
            step["ssm_code" if endpoint.startswith("ssm.") else "code"] = code
        step["message"] = message
        return {"fail": step}
    if kind == "outage":
        return {"outage": {"backend": draw(st.sampled_from(links)),
                           "for": draw(st.sampled_from(OUTAGE_LENGTHS))}}
    extras = EXTRA_LATENCIES if space.slow_answers else EXTRA_LATENCIES[:1]
    return {"latency": {"link": draw(st.sampled_from(links)),
                        "extra": draw(st.sampled_from(extras)), "for": "20s"}}


@st.composite
def scenario_dicts(draw: st.DrawFn, space: Space = EXPLORE_SPACE,
                   configure_device: Callable[[DeviceConfig], DeviceConfig] | None = None,
                   ) -> dict[str, Any]:
    """A whole scenario as the loader's plain data (see the module docstring).

    ``configure_device`` is the one the scenario will be run with (see
    :func:`~player_sim.scenario.run_scenario`): the actions drawn are those its
    devices accept.

    The last step is always a wait, long enough (6 min) for every answer to
    arrive and every monitor's window (5 min at most) to close.
    """
    data = draw(_setup(space))
    driver = _Driver(data, configure_device)
    devices = data["devices"]
    providers = "ott" in data["world"]
    links = ("ssm", "license", "ott") if providers else ("ssm", "license")
    disturb = space.faults or space.outages or space.slow_answers
    kinds = ["action"] * 4 + ["burst"] * 2 + ["wait"] * 3 + (["fault"] if disturb else [])
    steps: list[dict[str, Any]] = data["steps"]
    for name, device in devices.items():  # most apps log in first
        if "session_provider" in device and draw(st.integers(0, 3)) > 0:
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
            continue
        if kind == "wait":
            step = {"wait": draw(st.sampled_from(WAITS))}
            driver.wait(step["wait"])
        else:
            step = draw(_fault(space, links, providers))
            driver.fault(step)
        steps.append(step)
    steps.append({"wait": "6m"})
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
