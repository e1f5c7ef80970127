"""Fleet files: YAML in, a validated :class:`~._spec.FleetSpec` out, or every mistake
with its ``file:line:column`` and a sentence stating the rule and the fix.

Overrides (``--accounts``, ``--hours``, ``--sweep ssm.session_timeout=70s``) are
applied to the plain data before validation, so a bad override is reported the
same way, at the place it came from.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Final

import attrs

from .._durations import parse_duration
from .._errors import ConfigError
from ..backends import LIMIT_POLICIES, OttConfig, OvpConfig, SsmConfig
from ..providers import REFRESH_POLICY_NAMES, VARIANT_NAMES, RefreshPolicy
from ..scenario._yaml import read_text
from ..world import LINKS, ZAP_ORDERS, NetworkConfig
from ._spec import (
    DAY,
    PROVIDER_KINDS,
    Duration,
    Episode,
    FleetSpec,
    Outage,
    Platform,
    Providers,
    Viewing,
    ViewingEvent,
    _choice,
)
from ._yaml import Document, FleetFileError, Location, Problem, compose

__all__ = ["SWEEPABLE", "fleet_from_text", "load_fleet", "parse_override"]

Path = tuple[Hashable, ...]

#: The keys of each mapping of a fleet file (one declaration: the loader checks them,
#: ``did you mean`` suggests from them).
KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "": ("name", "seed", "duration", "start", "accounts", "viewing", "backend", "providers"),
    "accounts": ("count", "devices", "households", "platforms"),
    "platform": ("share", "pip", "backgrounds", "sync_setup_teardown", "zap_order",
                 "provider_variant"),
    "providers": ("mix", "anonymous", "refresh_policy", "logged_in"),
    "viewing": ("sessions_per_day", "daily_curve", "session_length", "zaps_per_hour",
                "background", "pip", "kills_per_hour", "relaunch", "retry", "channels",
                "events"),
    "episode": ("per_hour", "duration"),
    "relaunch": ("probability", "after"),
    "retry": ("after", "attempts"),
    "event": ("name", "at", "joining", "within", "length"),
    "backend": ("ssm", "network", "outages", "ott", "ovp"),
    "ott": ("ks_validity", "anonymous_ks_validity", "refresh_token_validity"),
    "ovp": ("widget_session_validity", "user_session_validity"),
    "ssm": ("max_sessions_per_account", "max_sessions_per_ip", "max_ips_per_account",
            "limit_policy", "heartbeat_period", "grace_period", "session_timeout"),
    "network": ("latency", "jitter"),
    "outage": ("link", "from", "to"),
    "distribution": ("median", "p90"),
}
#: Keys refused with their own rule: what counts calls server-wide has no meaning per shard.
_REFUSED: Final = {
    "fail_next": "forced faults count calls server-wide, which has no meaning once a "
                 "fleet is split into shards; use backend.outages (time windows) instead",
    "faults": "forced faults count calls server-wide, which has no meaning once a fleet "
              "is split into shards; use backend.outages (time windows) instead",
}
#: The parameters ``--sweep`` may vary, with the path each one names in a fleet file.
SWEEPABLE: Final[Mapping[str, tuple[str, ...]]] = {
    **{f"ssm.{k}": ("backend", "ssm", k) for k in KEYS["ssm"]},
    **{f"network.{k}": ("backend", "network", k) for k in KEYS["network"]},
    **{f"ott.{k}": ("backend", "ott", k) for k in KEYS["ott"]},
    **{f"ovp.{k}": ("backend", "ovp", k) for k in KEYS["ovp"]},
    **{f"providers.{k}": ("providers", k) for k in ("anonymous", "refresh_policy",
                                                     "logged_in")},
    **{f"viewing.{k}": ("viewing", k) for k in ("sessions_per_day", "zaps_per_hour",
                                                "kills_per_hour", "channels")},
    "accounts.count": ("accounts", "count"),
    "duration": ("duration",),
    "seed": ("seed",),
}
_CLOCK: Final = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class _Reader:
    """Reads a document's values, collecting problems instead of stopping at the first."""

    def __init__(self, doc: Document, overridden: Mapping[Path, str]) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.overridden = overridden

    def where(self, path: Path) -> Location:
        for prefix, origin in self.overridden.items():
            if path[:len(prefix)] == prefix:
                return Location(origin, 1, 1)
        return self.doc.where(path)

    def problem(self, path: Path, message: str, *, key: bool = False) -> None:
        where = self.doc.key_where(path) if key and path not in self.overridden \
            else self.where(path)
        self.problems.append(Problem(where, message))

    def mapping(self, value: Any, path: Path, kind: str, required: tuple[str, ...] = ()
                ) -> dict[str, Any]:
        name = ".".join(map(str, path)) or "the file"
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"{name} must be a mapping of {', '.join(KEYS[kind])}")
            return {}
        for key in value:
            if key in _REFUSED:
                self.problem((*path, key), f"{key!r} is refused in a fleet file: "
                                           f"{_REFUSED[key]}", key=True)
            elif key not in KEYS[kind]:
                close = difflib.get_close_matches(key, KEYS[kind], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else \
                    f"; {name} takes {', '.join(KEYS[kind])}"
                self.problem((*path, key), f"unknown key {key!r} in {name}{hint}", key=True)
        for key in required:
            if key not in value:
                self.problem(path, f"{name} needs {key!r}")
        return {k: v for k, v in value.items() if k in KEYS[kind]}

    def get(self, data: Mapping[str, Any], path: Path, key: str, default: Any,
            read: Callable[[Any, Path], Any]) -> Any:
        if key not in data or (data[key] is None and default is None):
            return default
        try:
            return read(data[key], (*path, key))
        except (ValueError, TypeError) as err:
            self.problem((*path, key), f"{'.'.join(map(str, (*path, key)))}: {err}")
            return default


# --- value readers: raise ValueError with the rule and the fix ---------------------------

def _number(value: Any, _: Path, *, low: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"must be a number, not {value!r}")
    if value < low or (strict and value == low):
        raise ValueError(f"must be {'>' if strict else '>='} {low:g}, not {value!r}")
    return float(value)


def _count(value: Any, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be a whole number of at least 1, not {value!r}")
    return value


def _whole(value: Any, _: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"must be a whole number (0 or more), not {value!r}")
    return value


def _fraction(value: Any, _: Path) -> float:
    written = value
    if isinstance(value, str) and value.endswith("%"):
        try:
            value = float(value[:-1]) / 100
        except ValueError:
            raise ValueError(f"must be a fraction (0.3) or a percentage (30%), "
                             f"not {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"must be a fraction between 0 and 1 (0.3) or a percentage (30%), "
                         f"not {written!r}")
    return float(value)


def _seconds(value: Any, _: Path) -> float:
    if isinstance(value, bool | int | float):
        raise ValueError(f"write a duration with its unit, e.g. {value}s, not a bare number")
    return parse_duration(value)


def _bool(value: Any, _: Path) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def _clock_or_offset(value: Any, path: Path, start: float) -> float:
    """Seconds from the start: ``"20:45"`` (a time of day, the next one from ``start``)
    or a duration from the start (``"1h45m"``)."""
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        try:
            return _seconds(value, path)
        except ValueError:
            raise ValueError(f"write a time of day (20:45) or a duration from the start "
                             f"(1h45m), not {value!r}") from None
    of_day = int(match[1]) * 3600 + int(match[2]) * 60
    return (of_day - start) % DAY


#: The most devices an account, or accounts a household, may have.
MOST: Final = 255


def _weights(value: Any, path: Path) -> dict[int, float]:
    if not isinstance(value, dict) or not value:
        raise ValueError("must map counts to shares, e.g. {1: 60%, 2: 40%}")
    out: dict[int, float] = {}
    for key, share in value.items():
        try:
            count = int(key)
        except ValueError:
            raise ValueError(f"keys are whole numbers of at least 1, not {key!r}") from None
        if not 1 <= count <= MOST:
            raise ValueError(f"keys are whole numbers from 1 to {MOST}, not {key!r}")
        out[count] = _fraction(share, path) if isinstance(share, str) else \
            _number(share, path)
    if sum(out.values()) <= 0:
        raise ValueError("the shares can't all be zero")
    return out


class _Loader(_Reader):
    def duration(self, value: Any, path: Path) -> Duration:
        """A fixed duration (``30m``) or ``{median: 30m, p90: 2h}`` (lognormal)."""
        if not isinstance(value, dict):
            seconds = _seconds(value, path)
            if seconds <= 0:
                raise ValueError("must be longer than 0s")
            return Duration(seconds, seconds)
        data = self.mapping(value, path, "distribution", required=("median", "p90"))
        median = self.get(data, path, "median", 1.0, _seconds)
        p90 = self.get(data, path, "p90", median, _seconds)
        if median <= 0 or p90 < median:
            raise ValueError("needs 0 < median <= p90")
        return Duration(median, p90)

    def episode(self, value: Any, path: Path) -> Episode:
        data = self.mapping(value, path, "episode", required=("per_hour", "duration"))
        return Episode(self.get(data, path, "per_hour", 0.0, _number),
                       self.get(data, path, "duration", Duration(60.0, 60.0), self.duration))

    def platforms(self, value: Any, path: Path) -> tuple[Platform, ...]:
        if not isinstance(value, dict) or not value:
            raise ValueError("must map platform names to {share: ..., pip: ...}")
        out = []
        for name, spec in value.items():
            p = (*path, name)
            data = self.mapping(spec, p, "platform", required=("share",))
            zap = self.get(data, p, "zap_order", "setup-first", _one_of(ZAP_ORDERS))
            # a platform named like a provider variant runs it unless it says otherwise
            variant = self.get(data, p, "provider_variant",
                               str(name) if name in VARIANT_NAMES else "documented",
                               _one_of(VARIANT_NAMES))
            out.append(Platform(str(name), self.get(data, p, "share", 0.0, _fraction),
                                self.get(data, p, "pip", False, _bool),
                                self.get(data, p, "backgrounds", True, _bool),
                                self.get(data, p, "sync_setup_teardown", False, _bool), zap,
                                variant))
        if not sum(p.share for p in out) > 0:
            raise ValueError("the shares can't all be zero")
        return tuple(out)

    def curve(self, value: Any, path: Path) -> tuple[float, ...]:
        """Hourly weights from ``{"00:00": 0.3, "18:00": 1.5, ...}``: each weight holds
        until the next time given; normalised to a mean of 1 over the day."""
        if not isinstance(value, dict) or not value:
            raise ValueError('must map times of day to weights, e.g. {"00:00": 0.3, '
                             '"20:00": 2.5}')
        points = []
        for key, weight in value.items():
            match = _CLOCK.match(str(key))
            if match is None or match[2] != "00":
                raise ValueError(f"keys are whole hours (\"20:00\"), not {key!r}")
            points.append((int(match[1]), _number(weight, path)))
        points.sort()
        hours = []
        for hour in range(24):
            before = [w for h, w in points if h <= hour]
            hours.append(before[-1] if before else points[-1][1])
        mean = sum(hours) / 24
        if mean <= 0:
            raise ValueError("the weights can't all be zero")
        return tuple(w / mean for w in hours)


def _mix(value: Any, path: Path) -> dict[int, float]:
    """``{ott: 60%, ovp: 25%, none: 15%}``: shares of accounts by session provider."""
    if not isinstance(value, dict) or not value:
        raise ValueError("must map session providers to shares of the accounts, e.g. "
                         "{ott: 60%, ovp: 25%, none: 15%}")
    out: dict[int, float] = {}
    for key, share in value.items():
        if key not in PROVIDER_KINDS:
            close = difflib.get_close_matches(str(key), PROVIDER_KINDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"keys are {', '.join(PROVIDER_KINDS)}, not {key!r}{hint}")
        out[PROVIDER_KINDS.index(key)] = _fraction(share, path) if isinstance(share, str) \
            else _number(share, path)
    if sum(out.values()) <= 0:
        raise ValueError("the shares can't all be zero")
    return out


def _refresh_policy(value: Any, path: Path) -> RefreshPolicy:
    """``android`` (12 % of the validity left when set), ``ios`` (margin 0), or a fixed
    margin as a duration (``5m``)."""
    if isinstance(value, str) and value in REFRESH_POLICY_NAMES:
        return RefreshPolicy.named(value)
    try:
        return RefreshPolicy.custom(_seconds(value, path))
    except ValueError:
        raise ValueError(f"must be {' or '.join(REFRESH_POLICY_NAMES)}, or a margin as a "
                         f"duration (5m), not {value!r}") from None


def _one_of(choices: tuple[str, ...]) -> Callable[[Any, Path], str]:
    def read(value: Any, _: Path) -> str:
        if value not in choices:
            close = difflib.get_close_matches(str(value), choices, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"must be one of {', '.join(choices)}, not {value!r}{hint}")
        return str(value)
    return read


def _build(doc: Document, overridden: Mapping[Path, str]) -> FleetSpec:
    r = _Loader(doc, overridden)
    top = r.mapping(doc.data, (), "", required=("accounts", "viewing"))
    start = r.get(top, (), "start", 0.0, lambda v, p: _clock_or_offset(v, p, 0.0))
    duration = r.get(top, (), "duration", 3600.0, _seconds)
    if duration <= 0:
        r.problem(("duration",), "duration must be longer than 0s")
    seed = r.get(top, (), "seed", 0, lambda v, p: int(_number(v, p)))

    a = ("accounts",)
    acc = r.mapping(top.get("accounts"), a, "accounts", required=("count",))
    accounts = r.get(acc, a, "count", 1, _count)
    devices = r.get(acc, a, "devices", {1: 1.0}, _weights)
    households = r.get(acc, a, "households", {1: 1.0}, _weights)
    platforms = r.get(acc, a, "platforms", (Platform("device", 1.0),), r.platforms)

    v = ("viewing",)
    view = r.mapping(top.get("viewing"), v, "viewing", required=("sessions_per_day",))
    relaunch = r.mapping(view.get("relaunch"), (*v, "relaunch"), "relaunch")
    retry = r.mapping(view.get("retry"), (*v, "retry"), "retry")
    no_episode = Episode(0.0, Duration(60.0, 60.0))
    events = []
    raw_events = view.get("events") or []
    if not isinstance(raw_events, list):
        r.problem((*v, "events"), "viewing.events must be a list of events")
        raw_events = []
    for index, raw in enumerate(raw_events):
        p = (*v, "events", index)
        ev = r.mapping(raw, p, "event", required=("at", "joining", "length"))
        events.append(ViewingEvent(
            str(ev.get("name", f"event {index + 1}")),
            r.get(ev, p, "at", 0.0, lambda x, q: _clock_or_offset(x, q, start)),
            r.get(ev, p, "joining", 0.0, _fraction),
            r.get(ev, p, "within", 0.0, _seconds),
            r.get(ev, p, "length", Duration(3600.0, 3600.0), r.duration)))
    viewing = Viewing(
        sessions_per_day=r.get(view, v, "sessions_per_day", 1.0, _number),
        curve=r.get(view, v, "daily_curve", (1.0,) * 24, r.curve),
        session_length=r.get(view, v, "session_length", Duration(1800.0, 1800.0), r.duration),
        zaps_per_hour=r.get(view, v, "zaps_per_hour", 0.0, _number),
        background=r.get(view, v, "background", no_episode, r.episode),
        pip=r.get(view, v, "pip", no_episode, r.episode),
        kills_per_hour=r.get(view, v, "kills_per_hour", 0.0, _number),
        relaunch_probability=r.get(relaunch, (*v, "relaunch"), "probability", 0.0, _fraction),
        relaunch_after=r.get(relaunch, (*v, "relaunch"), "after", Duration(30.0, 30.0),
                             r.duration),
        retry_after=r.get(retry, (*v, "retry"), "after", Duration(30.0, 30.0), r.duration),
        retries=r.get(retry, (*v, "retry"), "attempts", 0, _whole),
        channels=r.get(view, v, "channels", 20, _count),
        events=tuple(events))

    b = ("backend",)
    back = r.mapping(top.get("backend"), b, "backend")
    ssm = _ssm(r, back.get("ssm"), (*b, "ssm"))
    net = r.mapping(back.get("network"), (*b, "network"), "network")
    network = NetworkConfig(latency=r.get(net, (*b, "network"), "latency", 0.02, _seconds),
                            jitter=r.get(net, (*b, "network"), "jitter", 0.0, _seconds))
    outages = []
    raw_outages = back.get("outages") or []
    if not isinstance(raw_outages, list):
        r.problem((*b, "outages"), "backend.outages must be a list of {link, from, to}")
        raw_outages = []
    for index, raw in enumerate(raw_outages):
        p = (*b, "outages", index)
        o = r.mapping(raw, p, "outage", required=("link", "from", "to"))
        link = r.get(o, p, "link", "ssm", _one_of(LINKS))
        begin = r.get(o, p, "from", 0.0, lambda x, q: _clock_or_offset(x, q, start))
        end = r.get(o, p, "to", 1.0, lambda x, q: _clock_or_offset(x, q, start))
        if not begin < end:
            r.problem(p, "an outage needs from < to")
        outages.append(Outage(link, begin, end))
    ob, vb = (*b, "ott"), (*b, "ovp")
    ott_data, ovp_data = r.mapping(back.get("ott"), ob, "ott"), r.mapping(back.get("ovp"),
                                                                         vb, "ovp")
    ott, ovp = OttConfig(any_user=True), OvpConfig(any_user=True)
    for key in KEYS["ott"]:
        try:
            ott = attrs.evolve(ott, **{key: r.get(ott_data, ob, key, getattr(ott, key),
                                                  _seconds)})
        except ConfigError as err:
            r.problem((*ob, key), f"backend.ott.{key}: {err}")
    for key in KEYS["ovp"]:
        try:
            ovp = attrs.evolve(ovp, **{key: r.get(ovp_data, vb, key, getattr(ovp, key),
                                                  _seconds)})
        except ConfigError as err:
            r.problem((*vb, key), f"backend.ovp.{key}: {err}")
    pr = ("providers",)
    prov = r.mapping(top.get("providers"), pr, "providers")
    providers = Providers(
        mix=_choice(r.get(prov, pr, "mix", {0: 1.0}, _mix)),
        anonymous=r.get(prov, pr, "anonymous", 0.0, _fraction),
        refresh_policy=r.get(prov, pr, "refresh_policy", None, _refresh_policy),
        logged_in=r.get(prov, pr, "logged_in", True, _bool))
    if r.problems:
        raise FleetFileError(r.problems)
    return FleetSpec(name=str(top.get("name", doc.root.file)), accounts=accounts,
                     devices=_choice(devices), households=_choice(households),
                     platforms=platforms, viewing=viewing, ssm=ssm, network=network,
                     outages=tuple(outages), duration=duration, start=start, seed=seed,
                     source=doc.root.file, providers=providers, ott=ott, ovp=ovp)


def _ssm(r: _Reader, value: Any, path: Path) -> SsmConfig:
    data = r.mapping(value, path, "ssm")
    limit = r.get(data, path, "max_sessions_per_account", 2, _count)
    kwargs: dict[str, Any] = {
        "max_sessions_per_account": limit,
        "max_sessions_per_ip": r.get(data, path, "max_sessions_per_ip", None, _count),
        "max_ips_per_account": r.get(data, path, "max_ips_per_account", None, _count),
        "limit_policy": r.get(data, path, "limit_policy", "refuse-new", _one_of(LIMIT_POLICIES)),
        "heartbeat_period": r.get(data, path, "heartbeat_period", 30.0, _seconds),
        "grace_period": r.get(data, path, "grace_period", 10.0, _seconds),
        "session_timeout": r.get(data, path, "session_timeout", None, _seconds),
    }
    try:
        return SsmConfig(**kwargs)
    except ConfigError as err:
        r.problem(path, f"backend.ssm: {err}")
        return SsmConfig()


# --- entry points ---------------------------------------------------------------------------

def parse_override(text: str) -> tuple[str, list[str]]:
    """``"ssm.session_timeout=60s,70s"`` -> ``("ssm.session_timeout", ["60s", "70s"])``.

    Raises :class:`ConfigError` naming the parameters that can be swept.
    """
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not values.strip():
        raise ConfigError(f"write a sweep as PARAM=V1,V2,..., e.g. "
                          f"ssm.session_timeout=60s,90s; not {text!r}")
    if name not in SWEEPABLE:
        close = difflib.get_close_matches(name, SWEEPABLE, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"can't sweep {name!r}: {hint}sweepable parameters are "
                          f"{', '.join(SWEEPABLE)}")
    return name, [v.strip() for v in values.split(",")]


def _scalar(text: str) -> Any:
    """A command-line value as YAML would read it (``2`` an int, ``70s`` a string)."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def fleet_from_text(text: str, file: str = "<fleet>",
                    overrides: Mapping[str, Any] | None = None) -> FleetSpec:
    """Build a fleet from YAML ``text`` named ``file``.

    ``overrides`` maps a sweepable parameter (:data:`SWEEPABLE`) to a value (a
    string is read as YAML would read it); a bad value is reported as coming from
    ``--PARAM``. Raises :class:`FleetFileError` listing every mistake.
    """
    doc = compose(text, file)
    overridden: dict[Path, str] = {}
    if overrides:
        doc.data = copy.deepcopy(doc.data) if isinstance(doc.data, dict) else {}
        for name, value in overrides.items():
            path = SWEEPABLE[name]
            node = doc.data
            for key in path[:-1]:
                child = node.get(key)
                if not isinstance(child, dict):
                    child = node[key] = {}
                node = child
            node[path[-1]] = _scalar(value) if isinstance(value, str) else value
            overridden[path] = f"--{name}={value}"
    return _build(doc, overridden)


def load_fleet(path: str, overrides: Mapping[str, Any] | None = None) -> FleetSpec:
    """Read and validate the fleet file at ``path`` (see :func:`fleet_from_text`)."""
    try:
        text = read_text(path)  # a regular file, size-capped (README: Limits)
    except ValueError as err:
        raise FleetFileError([Problem(Location(path, 1, 1),
                                      f"can't read the fleet file: {err}")]) from None
    return fleet_from_text(text, path, overrides)

