"""Load a scenario file: safe YAML, JSON Schema, then the checks a schema can't make.

Every mistake becomes a :class:`~._model.Problem` with ``file:line:column`` and
a sentence stating the rule and the fix; all of a file's problems are raised
together as one :class:`~._model.ScenarioError`. Nothing here runs a scenario.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Hashable, Iterable, Mapping, MutableMapping
from typing import Any, Final

import attrs

from .. import signals
from .._errors import ConfigError
from .._limits import MAX_INTEGER
from .._messages import ContentToken
from ..backends import (
    DEFAULT_HTTP_STATUS,
    LicenseConfig,
    OttAsset,
    OttConfig,
    OvpConfig,
    OvpEntry,
    SsmConfig,
)
from ..player import VARIANTS, AppPolicy, DocumentedAppPolicy
from ..player._values import Value
from ..providers import REFRESH_POLICY_NAMES, VARIANT_NAMES
from ..world import (
    TIMED_CALLS,
    DeviceConfig,
    NetworkConfig,
    WorldConfig,
    is_reference,
    resolve_policy,
    resolve_provider_class,
    resolve_sdk,
)
from ._model import (
    ACTIONS,
    BASE_URLS,
    COMPARATORS,
    METRICS,
    TRACE_EVENTS,
    Action,
    At,
    Condition,
    Expect,
    FailNext,
    Invariant,
    Latency,
    LoseAnswers,
    Mode,
    OperatorKill,
    Outage,
    Problem,
    ProviderSpec,
    Scenario,
    ScenarioError,
    SignalMatch,
    Step,
    Wait,
    format_duration,
    parse_duration,
)
from ._vouch import vouches
from ._yaml import Document, compose_file

__all__ = ["SSM_SERVER_URL", "LabWorld", "known_rule_ids", "load_lab", "load_many",
           "load_scenario", "load_scenario_text"]

Path = tuple[Hashable, ...]

#: The SSM server URL a device declared with ``ssm: true`` is given.
SSM_SERVER_URL: Final = "https://ssm.example/"
_OTT_ONLY: Final = ("refresh_policy", "persist_session", "bookmarks", "reference_type",
                    "formats")
_OVP_ONLY: Final = ("assumed_validity", "renew_window")

_TYPE_WORDS: Final = {"integer": "a whole number", "number": "a number", "string": "text",
                      "boolean": "true or false", "object": "a mapping (key: value)",
                      "array": "a list", "null": "null"}


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and validate the scenario file at ``path``.

    Raises :class:`ScenarioError` listing every problem (``file:line:column``
    and a sentence) when the file is not a valid scenario.
    """
    return _load(os.fspath(path), None)


def load_scenario_text(text: str, path: str = "<scenario>") -> Scenario:
    """Load a scenario from ``text``; ``path`` names it in messages and resolves includes."""
    return _load(path, text)


@attrs.frozen(repr=False)
class LabWorld(Value):
    """A served world's configuration: the ``world:`` and ``accounts:`` of a lab file.

    ``accounts`` are the declared accounts (empty: any account is welcome).
    """

    world: WorldConfig
    accounts: tuple[str, ...]
    seed: int


def load_lab(path: str | os.PathLike[str], text: str | None = None) -> LabWorld:
    """Load a lab file: a scenario's ``world:`` block and ``accounts:`` (``name``,
    ``seed``, ``include``, ``devices`` and ``steps`` may be there too, and are
    checked like a scenario's). A whole scenario file is a valid lab file.

    Raises :class:`ScenarioError` listing every problem, as :func:`load_scenario`.
    """
    doc = compose_file(os.fspath(path), text)
    if doc.problems:
        raise ScenarioError(doc.problems)
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise ScenarioError([Problem(doc.root, "a lab file is a mapping with a world: block "
                                               "(and accounts:), like a scenario's")])
    data: dict[str, Any] = doc.data
    accounts = list(data.get("accounts") or {}) if isinstance(data.get("accounts"), dict) \
        else []
    filled = {"name": "lab", "steps": [],
              "devices": {"lab-device": {"account": accounts[0] if accounts else "lab"}},
              **data}
    doc.problems.extend(_schema_errors(doc, filled))
    if doc.problems:
        raise ScenarioError(_dedupe(doc.problems))
    world = _Build(doc, os.fspath(path)).world(data.get("world", {}))
    if doc.problems or world is None:
        raise ScenarioError(_dedupe(doc.problems))
    seed = data.get("seed")
    return LabWorld(world, tuple(accounts), seed if isinstance(seed, int) else 0)


def load_many(paths: Iterable[str]) -> tuple[list[Scenario], list[ScenarioError]]:
    """Load every file of ``paths``: the valid scenarios, and the errors of the others."""
    scenarios: list[Scenario] = []
    errors: list[ScenarioError] = []
    for path in paths:
        try:
            scenarios.append(load_scenario(path))
        except ScenarioError as err:
            errors.append(err)
    return scenarios, errors


def known_rule_ids() -> frozenset[str] | None:
    """The ids of the rule catalogue, or ``None`` when there is no catalogue to check."""
    try:
        from .. import rules
    except ImportError:
        return None
    for name in ("rule_ids", "RULE_IDS"):
        found = getattr(rules, name, None)
        if callable(found):
            found = found()
        if found:
            return frozenset(found)
    catalogue = getattr(rules, "RULES", None) or getattr(rules, "CATALOGUE", None)
    if catalogue:
        if _KNOWN_IDS and _KNOWN_IDS[0] is catalogue:  # (asked for by most files)
            known: frozenset[str] = _KNOWN_IDS[1]
            return known
        ids = catalogue.keys() if isinstance(catalogue, Mapping) else \
            [getattr(rule, "id", rule) for rule in catalogue]
        known = frozenset(str(i) for i in ids)
        if isinstance(catalogue, Mapping) and not isinstance(catalogue, MutableMapping):
            _KNOWN_IDS[:] = [catalogue, known]  # a read-only catalogue: its ids stay
        return known
    return None


#: The last read-only catalogue :func:`known_rule_ids` read, and its ids.
_KNOWN_IDS: list[Any] = []


def _load(path: str, text: str | None) -> Scenario:
    doc = compose_file(path, text)
    if doc.problems:
        raise ScenarioError(doc.problems)
    if not isinstance(doc.data, dict):
        raise ScenarioError([Problem(doc.root, "a scenario file is a mapping with at least "
                                               "name, devices and steps")])
    doc.problems.extend(_schema_errors(doc, doc.data))
    if doc.problems:
        raise ScenarioError(_dedupe(doc.problems))
    scenario = _Build(doc, path).scenario()
    if doc.problems:
        raise ScenarioError(_dedupe(doc.problems))
    assert scenario is not None
    return scenario


def _schema_errors(doc: Document, data: Any) -> list[Problem]:
    """The problems the loader's JSON Schema finds in ``data`` (``doc``'s data, or
    what stands for it), in jsonschema's order.

    A quick check vouches for a valid file first (:mod:`._vouch`); only a file it
    does not vouch for imports and runs jsonschema, which then finds and words the
    problems (and finds none when the quick check could not tell).
    """
    if vouches(data):
        return []
    from ._validator import VALIDATOR

    problems: list[Problem] = []
    for error in VALIDATOR.iter_errors(data):
        problems.extend(_schema_problems(doc, error))
    return problems


def __getattr__(name: str) -> Any:
    """``_VALIDATOR`` and ``_STRICT_TYPES``, the jsonschema validator and types the
    loader used to build at import, from :mod:`._validator` on first use (PEP 562):
    importing the loader does not import jsonschema."""
    if name in ("_VALIDATOR", "_STRICT_TYPES"):
        from . import _validator

        return getattr(_validator, name[1:])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


# --- schema errors as sentences -------------------------------------------------------

def _suggest(word: str, choices: Iterable[str]) -> str:
    import difflib  # only a mistake needs it

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _hint(word: str, choices: Iterable[str], label: str) -> str:
    """"; did you mean 'x'? Label: a, b" (or "; label: a, b" when nothing is close)."""
    import difflib  # only a mistake needs it

    choices = list(choices)
    listed = ", ".join(choices) if choices else "none"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}? {label[0].upper()}{label[1:]}: {listed}"
    return f"; {label}: {listed}"


def _where(path: Path) -> str:
    """A reader's name for the place ``path`` points to."""
    if not path:
        return "the scenario"
    head = path[0]
    if head == "steps" and len(path) >= 2:
        if len(path) >= 3:
            return f"the {path[2]} step (step {int(path[1]) + 1})"  # type: ignore[call-overload]
        return f"step {int(path[1]) + 1}"  # type: ignore[call-overload]
    if head == "devices" and len(path) >= 2:
        rest = ".".join(str(p) for p in path[2:])
        return f"device {path[1]!r}" + (f" ({rest})" if rest else "")
    if head in ("always", "never") and len(path) >= 2:
        return f"a {head} invariant"
    if head == "accounts" and len(path) >= 2:
        return f"account {path[1]!r}"
    return ".".join(str(p) for p in path if not isinstance(p, int))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _schema_problems(doc: Document, error: Any) -> list[Problem]:
    path: Path = tuple(error.absolute_path)
    schema = error.schema
    kind = error.validator
    instance = error.instance
    here = doc.where(path)
    name = str(path[-1]) if path and not isinstance(path[-1], int) else _where(path)
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        out = []
        for key in instance:
            if key in allowed:
                continue
            where = doc.key_where((*path, key))
            if schema.get("title") == "step":
                msg = f"unknown step {key!r}{_hint(key, allowed, 'a step is one of')}"
            elif not allowed:
                continue
            else:
                msg = (f"unknown key {key!r} in {_where(path)}"
                       f"{_hint(key, allowed, 'allowed keys')}")
            out.append(Problem(where, msg))
        return out
    if kind == "required":
        missing = [k for k in error.validator_value if k not in instance]
        return [Problem(here, f"{_where(path)} needs {key!r}") for key in missing]
    if kind == "maxProperties" and schema.get("title") == "step":
        keys = ", ".join(instance)
        return [Problem(here, f"a step does one thing, but this one has {keys}: "
                              "write each as its own '- ' item")]
    if kind == "minProperties":
        what = "a step" if schema.get("title") == "step" else _where(path)
        return [Problem(here, f"{what} can't be empty")]
    if kind == "pattern" and schema.get("title") == "duration":
        return [Problem(here, f"bad duration {instance!r} for {name}: write a number "
                              "followed by a unit (ms, s, m, h or d), e.g. 300ms, 30s, 5m, "
                              "2h, 1d")]
    if kind == "pattern" and schema.get("title") == "rule id":
        return [Problem(here, f"{instance!r} is not a rule id: rule ids are dotted "
                              "lower-case words, e.g. ssm.setup.limit-refuses")]
    if kind == "type":
        wanted = error.validator_value
        wanted = wanted if isinstance(wanted, list) else [wanted]
        words = " or ".join(_TYPE_WORDS.get(str(w), str(w)) for w in wanted if w != "null")
        if "null" in wanted:
            words += " (or null)"
        if schema.get("title") == "duration":
            words = "a duration such as 30s"
        got = _TYPE_WORDS.get(_json_type(instance), "something else")
        return [Problem(here, f"{name} must be {words}, not {got} ({_show(instance)})")]
    if kind == "enum":
        choices = [str(c) for c in error.validator_value]
        return [Problem(here, f"{_show(instance)} is not a valid {name}"
                              f"{_hint(str(instance), choices, 'choose one of')}")]
    if kind in ("minimum", "maximum"):
        bound = "at least" if kind == "minimum" else "at most"
        return [Problem(here, f"{name} must be {bound} {error.validator_value}, "
                              f"not {_show(instance)}")]
    if kind == "minLength":
        return [Problem(here, f"{name} can't be empty")]
    return [Problem(here, f"{_where(path)}: {error.message}")]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# --- building the Scenario ------------------------------------------------------------

_INVARIANT_TEXT: Final = re.compile(
    r"^\s*(?:ssm\.)?([A-Za-z_]\w*)\s*\(\s*([^()\s]*)\s*\)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$")


class _Build:
    """Turns validated data into a Scenario, adding a Problem for each semantic mistake."""

    def __init__(self, doc: Document, path: str) -> None:
        self.doc = doc
        self.path = path
        self.data: dict[str, Any] = doc.data
        self.devices: dict[str, str] = {}  # device -> account
        self.accounts: list[str] = []
        self.providers: dict[str, ProviderSpec] = {}

    def problem(self, path: Path, message: str, *, key: bool = False) -> None:
        where = self.doc.key_where(path) if key else self.doc.where(path)
        self.doc.problems.append(Problem(where, message))

    def seconds(self, path: Path) -> float:
        value = self._get(path)
        try:
            return parse_duration(value)
        except ValueError as err:
            self.problem(path, str(err))
            return 0.0

    def _get(self, path: Path) -> Any:
        value: Any = self.data
        for part in path:
            value = value[part]
        return value

    # --- the whole file ---------------------------------------------------------

    def scenario(self) -> Scenario | None:
        data = self.data
        world = self.world(data.get("world", {}))
        devices = self.device_configs(data["devices"])
        covers = self.covers(data.get("covers", []))
        violates = self.rule_ids("violates", data.get("violates", []))
        steps = self.steps(data["steps"])
        invariants = [*self.invariants("always"), *self.invariants("never")]
        if self.doc.problems or world is None:
            return None
        return Scenario(
            name=data["name"], path=self.path, location=self.doc.root, covers=covers,
            world=world, devices=tuple(devices), steps=tuple(steps),
            invariants=tuple(invariants), providers=dict(self.providers),
            violates={rule: self.doc.where(("violates", i)) for i, rule in enumerate(violates)},
            seed=data.get("seed"),
            description=data.get("description", ""), tags=tuple(data.get("tags", [])),
            max_events=data.get("max_events"))

    def covers(self, ids: list[str]) -> tuple[str, ...]:
        return self.rule_ids("covers", ids)

    def rule_ids(self, key: str, ids: list[str]) -> tuple[str, ...]:
        known = known_rule_ids() if ids else None
        if known is not None:
            for i, rule in enumerate(ids):
                if rule not in known:
                    self.problem((key, i), f"unknown rule id {rule!r}"
                                 f"{_suggest(rule, sorted(known))} "
                                 "(`player-sim rules` lists the catalogue)")
        return tuple(ids)

    def world(self, world: dict[str, Any]) -> WorldConfig | None:
        ssm = dict(world.get("ssm", {}))
        if "error_http_status" in ssm:
            ssm["error_http_status"] = {**DEFAULT_HTTP_STATUS, **{
                int(code): status for code, status in ssm["error_http_status"].items()}}
        for key in ("heartbeat_period", "grace_period", "session_timeout"):
            if ssm.get(key) is not None:
                ssm[key] = self.seconds(("world", "ssm", key))
        limits = {}
        accounts = self.data.get("accounts") or {}
        for name, settings in accounts.items():
            self.accounts.append(name)
            if settings and "max_sessions" in settings:
                limits[name] = settings["max_sessions"]
        net = world.get("network", {})
        network: dict[str, Any] = {}
        if "latency" in net:
            network["latency"] = self.seconds(("world", "network", "latency"))
        if "jitter" in net:
            network["jitter"] = self.seconds(("world", "network", "jitter"))
        if "links" in net:
            network["link_latency"] = {link: self.seconds(("world", "network", "links", link))
                                       for link in net["links"]}
        try:
            return WorldConfig(
                ssm=SsmConfig(**ssm, account_limits=limits),
                license=LicenseConfig(**world.get("license", {})),
                network=NetworkConfig(**network),
                trace_heartbeats=world.get("trace_heartbeats", True),
                ott=self.ott(world.get("ott", {})), ovp=self.ovp(world.get("ovp", {})))
        except (ConfigError, TypeError) as err:
            self.problem(("world",), f"invalid world: {err}")
            return None

    def durations(self, path: Path, value: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
        return {key: self.seconds((*path, key)) for key in keys if key in value}

    def ott(self, ott: dict[str, Any]) -> OttConfig:
        path: Path = ("world", "ott")
        kwargs = self.durations(path, ott, ("ks_validity", "anonymous_ks_validity",
                                            "refresh_token_validity",
                                            "concurrency_hit_timeout"))
        for key in ("users", "concurrency_limit"):
            if key in ott:
                kwargs[key] = ott[key]
        if "suspended_users" in ott:
            kwargs["suspended_users"] = frozenset(ott["suspended_users"])
        if "assets" in ott:
            kwargs["assets"] = {name: _asset(a) for name, a in ott["assets"].items()}
        if "default_asset" in ott:
            kwargs["default_asset"] = (None if ott["default_asset"] is None
                                       else _asset(ott["default_asset"]))
        return OttConfig(**kwargs)

    def ovp(self, ovp: dict[str, Any]) -> OvpConfig:
        path: Path = ("world", "ovp")
        kwargs = self.durations(path, ovp, ("widget_session_validity", "user_session_validity"))
        if "users" in ovp:
            kwargs["users"] = ovp["users"]
        if "entries" in ovp:
            kwargs["entries"] = {name: _entry(e) for name, e in ovp["entries"].items()}
        if "default_entry" in ovp:
            kwargs["default_entry"] = (None if ovp["default_entry"] is None
                                       else _entry(ovp["default_entry"]))
        return OvpConfig(**kwargs)

    def provider(self, device: str, spec: dict[str, Any]) -> ProviderSpec | None:
        path: Path = ("devices", device, "session_provider")
        backend = spec["backend"]
        wrong = _OVP_ONLY if backend == "ott" else _OTT_ONLY
        for key in wrong:
            if key in spec:
                self.problem((*path, key), f"{key!r} is not a setting of an {backend} session "
                             "provider", key=True)
        margin = None
        policy: str | None = spec.get("refresh_policy")
        if policy is not None and policy not in REFRESH_POLICY_NAMES:
            try:
                margin, policy = parse_duration(str(policy)), None
            except ValueError:
                self.problem((*path, "refresh_policy"), "refresh_policy is "
                             f"{', '.join(REFRESH_POLICY_NAMES)} or a fixed margin such as "
                             f"5m, not {policy!r}")
                return None
        extra = self.durations(path, spec, _OVP_ONLY)
        variant = spec.get("variant", VARIANT_NAMES[0])
        provider_class = None
        if is_reference(variant):
            try:
                provider_class = resolve_provider_class(variant, backend)
            except ConfigError as err:
                self.problem((*path, "variant"), f"session_provider variant: {err}")
                return None
            variant = VARIANT_NAMES[0]
        provider = ProviderSpec(
            backend, spec["partner_id"], spec.get("base_url", BASE_URLS[backend]),
            refresh_policy=policy, refresh_margin=margin, variant=variant,
            provider_class=provider_class,
            persist_session=spec.get("persist_session", False),
            bookmarks=spec.get("bookmarks", False),
            reference_type=spec.get("reference_type", "media"),
            formats=tuple(spec.get("formats", ())), **extra)
        try:
            provider.build()  # refuse a bad base URL or setting here, with its line
        except ConfigError as err:
            where = (*path, "base_url") if "base_url" in spec and "url" in str(err).lower() \
                else path
            self.problem(where, f"invalid session provider: {err}")
            return None
        return provider

    def device_configs(self, devices: dict[str, Any]) -> list[DeviceConfig]:
        out = []
        for name, spec in devices.items():
            account = spec["account"]
            if self.accounts and account not in self.accounts:
                self.problem(("devices", name, "account"),
                             f"account {account!r} is not declared under accounts"
                             f"{_hint(account, self.accounts, 'declared accounts')}")
            self.devices[name] = account
            if "session_provider" in spec:
                provider = self.provider(name, spec["session_provider"])
                if provider is not None:
                    self.providers[name] = provider
            app = spec.get("app", {})
            policy = self.policy(name, app)
            if isinstance(app, str):
                app = {}
            delay = (self.seconds(("devices", name, "app", "reaction_delay"))
                     if "reaction_delay" in app else 0.0)
            sdk = None
            if "sdk" in spec:
                try:
                    sdk = resolve_sdk(spec["sdk"])
                except ConfigError as err:
                    self.problem(("devices", name, "sdk"), f"sdk: {err}")
            variants = {v.name: (spec[v.name] if v.choices or spec[v.name] is None
                                 else self.seconds(("devices", name, v.name)))
                        for v in VARIANTS if v.name in spec}
            try:
                out.append(DeviceConfig(
                    name=name, account=account,
                    ssm_server_url=SSM_SERVER_URL if spec.get("ssm", True) else None,
                    sync_ssm_setup_teardown=spec.get("sync_setup_teardown", False),
                    pip=spec.get("pip", False),
                    async_zap_order=spec.get("zap_order", "setup-first"),
                    release_item_on_stop=spec.get("release_item_on_stop", True),
                    app_reaction_delay=delay, ip=spec.get("ip"),
                    device_group=spec.get("device_group"), policy=policy, sdk=sdk,
                    profile=spec.get("profile", "documented"), variants=variants,
                    content_token=(ContentToken(**spec["content_token"])
                                   if "content_token" in spec else None),
                    content_token_delay=(
                        self.seconds(("devices", name, "content_token_delay"))
                        if "content_token_delay" in spec else 0.0),
                    request_timeouts=self.durations(("devices", name, "timeouts"),
                                                    spec.get("timeouts", {}), TIMED_CALLS)))
            except ConfigError as err:
                self.problem(("devices", name), f"invalid device {name!r}: {err}", key=True)
        return out

    def policy(self, device: str, app: dict[str, Any] | str) -> AppPolicy:
        """The app of ``device``: documented (with its settings), passive, or a class of
        the user's own (``app: module:Name`` or ``policy: module:Name``; resolving it
        imports its module)."""
        path: Path = ("devices", device, "app")
        if isinstance(app, str):
            app = {"policy": app}
        else:
            path = (*path, "policy")
        choice = app.get("policy", "documented")
        settings: dict[str, Any] = {k: app[k] for k in ("zap_on_heartbeat_error",
                                                         "resume_after_background")
                    if k in app}
        if choice == "passive":
            if settings:
                self.problem(path, "a passive app never reacts: drop zap_on_heartbeat_error "
                             "and resume_after_background, or use policy: documented")
            return AppPolicy()
        if is_reference(choice):
            try:
                return resolve_policy(choice, settings)
            except ConfigError as err:
                self.problem(path, f"app: {err}")
                return DocumentedAppPolicy()
        return DocumentedAppPolicy(**settings)

    # --- names ----------------------------------------------------------------------

    def device(self, path: Path, name: str) -> str:
        if name not in self.devices:
            declared = list(self.devices)
            self.problem(path, f"device {name!r} is not declared under devices"
                         f"{_hint(name, declared, 'declared devices')}")
        return name

    def account(self, path: Path, name: str) -> str:
        known = list(dict.fromkeys([*self.accounts, *self.devices.values()]))
        if name not in known:
            self.problem(path, f"account {name!r} has no device and is not declared"
                         f"{_hint(name, known, 'known accounts')}")
        return name

    # --- steps ----------------------------------------------------------------------

    def steps(self, steps: list[dict[str, Any]]) -> list[Step]:
        out: list[Step] = []
        now = 0.0
        for i, step in enumerate(steps):
            (kind, value), = step.items()
            path: Path = ("steps", i, kind)
            loc = self.doc.where(path)
            if kind in ACTIONS:
                device = value if isinstance(value, str) else value["device"]
                dpath = path if isinstance(value, str) else (*path, "device")
                self.device(dpath, device)
                args = {k: v for k, v in value.items() if k != "device"} \
                    if isinstance(value, dict) else {}
                if ACTIONS[kind].session and device in self.devices \
                        and device not in self.providers:
                    self.problem(dpath, f"{kind} needs a session provider, and device "
                                 f"{device!r} has none: add session_provider: {{backend: ott, "
                                 "partner_id: ...}} to it")
                out.append(Action(self.doc.where(("steps", i)), kind, device, args))
            elif kind == "wait":
                seconds = self.seconds(path)
                now += seconds
                out.append(Wait(loc, seconds))
            elif kind == "at":
                time = self.seconds(path)
                if time < now:
                    self.problem(path, f"at {value} is earlier than the time this step is "
                                 f"reached ({format_duration(now)}): time can't go backwards; "
                                 "use a later time or a wait")
                now = max(now, time)
                out.append(At(loc, time))
            elif kind == "fail":
                out.append(self.fail(path, value))
            elif kind == "lose":
                out.append(LoseAnswers(loc, value["endpoint"], value.get("count", 1)))
            elif kind == "operator_kill":
                device = value.get("device")
                account = value.get("account")
                if device is not None:
                    self.device((*path, "device"), device)
                if account is not None:
                    self.account((*path, "account"), account)
                out.append(OperatorKill(loc, device, account))
            elif kind in ("outage", "latency"):
                fault = self.window_fault(path, kind, value, now)
                if fault is not None:
                    out.append(fault)
            else:
                expect = self.expect(path, value, now)
                if expect is not None:
                    out.append(expect)
        return out

    def fail(self, path: Path, value: dict[str, Any]) -> FailNext:
        endpoint = value["endpoint"]
        backend = endpoint.split(".", 1)[0]
        code_key = "ssm_code" if backend == "ssm" else "code"
        other = "code" if code_key == "ssm_code" else "ssm_code"
        if other in value:
            self.problem((*path, other), f"{endpoint} errors carry {code_key!r}, not {other!r}",
                         key=True)
        code = value.get(code_key)
        status = value.get("http_status")
        if backend in ("ssm", "license") and status is None:
            self.problem(path, f"a {endpoint} error needs 'http_status' (e.g. 503)")
        elif backend in ("ott", "ovp") and code is None and status in (None, 200):
            self.problem(path, f"an {backend} error needs a 'code' (in an HTTP 200 body) or an "
                               "'http_status' other than 200")
        want = str if backend == "ovp" else int
        if backend == "ott" and isinstance(code, str) and code.isdigit():
            code = int(code)  # Phoenix writes its numbers as strings: "500016" or 500016
        if code is not None and (not isinstance(code, want) or isinstance(code, bool)):
            example = "INVALID_KS" if backend == "ovp" else "500016"
            self.problem((*path, code_key), f"{backend} error codes are "
                         f"{'text' if want is str else 'numbers'}, e.g. {example}, "
                         f"not {code!r}")
        return FailNext(self.doc.where(path), endpoint, value.get("count", 1),
                        200 if status is None else status, code, value.get("message", ""))

    def window(self, path: Path, value: dict[str, Any], now: float) -> tuple[float, float]:
        start = self.seconds((*path, "from")) if "from" in value else now
        if "for" in value and "until" in value:
            self.problem((*path, "until"), "give 'for' (a duration) or 'until' (a time), "
                                           "not both", key=True)
        if "for" in value:
            end = start + self.seconds((*path, "for"))
        elif "until" in value:
            end = self.seconds((*path, "until"))
        else:
            end = float("inf")
        if start < now:
            self.problem((*path, "from"), f"from {format_duration(start)} is before the time "
                         f"this step is reached ({format_duration(now)}): faults can't be "
                         "planned in the past")
        if end <= start:
            self.problem(path, "the window ends before it starts: 'until' must be later than "
                               "'from' and 'for' longer than 0s")
        return start, end

    def window_fault(self, path: Path, kind: str, value: dict[str, Any],
                     now: float) -> Outage | Latency | None:
        if kind == "outage" and "for" not in value and "until" not in value:
            self.problem(path, "an outage needs an end: add 'for: 2m' or 'until: 10m'")
            return None
        start, end = self.window(path, value, now)
        loc = self.doc.where(path)
        if kind == "outage":
            return Outage(loc, value["backend"], start, end)
        return Latency(loc, value["link"], self.seconds((*path, "extra")), start, end)

    # --- expectations -----------------------------------------------------------------

    def match(self, path: Path, value: dict[str, Any]) -> SignalMatch | None:
        if "signal" in value and "event" in value:
            self.problem((*path, "event"), "name a signal or an event, not both", key=True)
            return None
        kind = value.get("signal", value.get("event"))
        if kind is None:
            return None
        is_signal = "signal" in value
        if not is_signal and kind not in TRACE_EVENTS and kind not in signals.ALL_SIGNALS:
            known = [*signals.ALL_SIGNALS, *TRACE_EVENTS]
            self.problem((*path, "event"), f"no trace event is called {kind!r}"
                         f"{_hint(kind, known, 'events')}")
        device = value.get("device")
        if device is not None:
            self.device((*path, "device"), device)
        return SignalMatch(kind, is_signal, device, dict(value.get("payload", {})))

    def condition(self, path: Path, value: dict[str, Any]) -> Condition | None:
        state = [k for k in ("app", "playback", "stream", "playing") if k in value]
        comparators = [k for k in COMPARATORS if k in value]
        metric = value.get("metric")
        if metric is not None:
            if state:
                self.problem((*path, state[0]), "a metric expectation can't also check "
                             f"{state[0]!r}: write two expectations", key=True)
            subject_key = METRICS[metric]
            wrong = "device" if subject_key == "account" else "account"
            if wrong in value:
                self.problem((*path, wrong), f"{metric} is counted per {subject_key}, "
                             f"not per {wrong}", key=True)
            subject = value.get(subject_key)
            if subject is not None:
                if subject_key == "device":
                    self.device((*path, "device"), subject)
                else:
                    self.account((*path, "account"), subject)
            if len(comparators) != 1:
                self.problem(path, f"a metric expectation needs exactly one comparison "
                             f"({', '.join(COMPARATORS)}), e.g. at_most: 2")
                return None
            key = comparators[0]
            number = self.metric_value((*path, key), metric, value[key])
            return Condition(metric=metric, subject=subject, comparator=COMPARATORS[key],
                             value=number)
        if comparators:
            self.problem((*path, comparators[0]), f"{comparators[0]!r} compares a metric: "
                         "add 'metric:' (" + ", ".join(METRICS) + ")", key=True)
            return None
        if "account" in value:
            self.problem((*path, "account"), "'account' names whom a metric is about: add "
                         "'metric: active_sessions' or 'metric: zombies'", key=True)
            return None
        if not state:
            return None
        if "device" not in value:
            self.problem(path, f"a state expectation needs the device whose {state[0]} "
                               "it checks: add 'device:'")
            return None
        device = self.device((*path, "device"), value["device"])
        playback = value.get("playback")
        stream = value.get("stream")
        if "playing" in value:
            if playback not in (None, "playing") or stream not in (None, value["playing"]):
                self.problem((*path, "playing"), "'playing: STREAM' means playback playing "
                             "and that stream; it contradicts playback/stream here", key=True)
            playback, stream = "playing", value["playing"]
        return Condition(device=device, app=value.get("app"), playback=playback, stream=stream)

    def metric_value(self, path: Path, metric: str, raw: Any) -> float:
        if metric == "blocked_time":
            if isinstance(raw, str):
                return self.seconds(path)
            self.problem(path, f"blocked_time is a duration: write e.g. {raw}s or 300ms")
            return 0.0
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.problem(path, f"{metric} is a count: compare it with a whole number, "
                               f"not {raw!r}")
            return 0.0
        return float(raw)

    def expect(self, path: Path, value: dict[str, Any], now: float) -> Expect | None:
        text = _expect_text(value)
        loc = self.doc.where(path)
        signal = self.match(path, value)
        condition = self.condition(path, value)
        timing = [k for k in ("within", "by", "at", "for", "absent_for", "absent_until")
                  if k in value]
        if len(timing) > 1:
            self.problem((*path, timing[1]), f"say when once: {timing[0]!r} and "
                         f"{timing[1]!r} can't be combined", key=True)
            return None
        when = timing[0] if timing else None
        if signal is not None:
            extra = [k for k in ("app", "playback", "stream", "playing", "metric") if k in value]
            if extra:
                self.problem((*path, extra[0]), f"an expectation is about a signal or event, "
                             f"or about a state or metric, not both: move {extra[0]!r} to "
                             "its own expect", key=True)
                return None
            if when in (None, "at", "for"):
                self.problem(path, f"say when {signal.describe()} must happen: 'within: 30s' "
                             "or 'by: 5m' (or that it must not: 'absent_for: 5m', "
                             "'absent_until: 10m')")
                return None
            if when in ("within", "absent_for"):
                end = now + self.seconds((*path, when))
            else:
                end = self.time_after((*path, when), now)
            mode: Mode = "occurs" if when in ("within", "by") else "absent"
            return Expect(loc, text, mode, signal=signal, start=now, end=end)
        if condition is None:
            if not self.doc.problems or self.doc.problems[-1].location.line != loc.line:
                self.problem(path, "an expectation needs a signal or event, a device state "
                                   "(app, playback, stream, playing) or a metric")
            return None
        if when in ("absent_for", "absent_until"):
            self.problem((*path, when), f"{when!r} is for signals and events; a state or "
                         "metric uses now, 'at', 'within', 'by' or 'for'", key=True)
            return None
        if when is None:
            return Expect(loc, text, "now", condition=condition, start=now, end=now)
        if when == "at":
            at = self.time_after((*path, "at"), now)
            return Expect(loc, text, "at", condition=condition, start=at, end=at)
        if when == "by":
            return Expect(loc, text, "within", condition=condition, start=now,
                          end=self.time_after((*path, "by"), now))
        end = now + self.seconds((*path, when))
        return Expect(loc, text, "within" if when == "within" else "for",
                      condition=condition, start=now, end=end)

    def time_after(self, path: Path, now: float) -> float:
        time = self.seconds(path)
        if time < now:
            self.problem(path, f"{path[-1]} {format_duration(time)} is earlier than the time "
                         f"this step is reached ({format_duration(now)}): give a later time "
                         "or use 'within'")
        return time

    # --- invariants -----------------------------------------------------------------

    def invariants(self, kind: str) -> list[Invariant]:
        out = []
        for i, item in enumerate(self.data.get(kind, [])):
            path: Path = (kind, i)
            loc = self.doc.where(path)
            if isinstance(item, str) and kind == "never" and (
                    item in signals.ALL_SIGNALS or item in TRACE_EVENTS):
                out.append(Invariant(loc, item, "never", signal=SignalMatch(
                    item, item in signals.ALL_SIGNALS)))
                continue
            if isinstance(item, str):
                condition = self.parse_invariant(path, item)
                if condition is not None:
                    out.append(Invariant(loc, item, "always" if kind == "always" else "never",
                                         condition=condition))
                continue
            text = _expect_text(item)
            signal = self.match(path, item)
            condition = self.condition(path, item)
            if signal is not None:
                if kind == "always":
                    self.problem(path, "'always' holds for states and metrics; to forbid a "
                                       "signal or event, list it under 'never'")
                    continue
                if condition is not None:
                    self.problem(path, "an invariant is about a signal or event, or about a "
                                       "state or metric, not both")
                    continue
                out.append(Invariant(loc, text, "never", signal=signal))
            elif condition is not None:
                out.append(Invariant(loc, text, "always" if kind == "always" else "never",
                                     condition=condition))
            elif not self.doc.problems or self.doc.problems[-1].location.line != loc.line:
                self.problem(path, "an invariant needs a signal or event (never only), a "
                                   "device state or a metric")
        return out

    def parse_invariant(self, path: Path, text: str) -> Condition | None:
        match = _INVARIANT_TEXT.match(text)
        if match is None:
            import difflib  # only a mistake needs it

            names = [*signals.ALL_SIGNALS, *TRACE_EVENTS]
            close = difflib.get_close_matches(text, names, n=1, cutoff=0.75)
            hint = (f"; under 'never', a signal or event name alone also works (did you "
                    f"mean {close[0]!r}?)" if close else "")
            self.problem(path, f"can't read invariant {text!r}: write 'metric(subject) OP "
                         "value', e.g. 'active_sessions(alice) <= 2' (OP is one of "
                         f"<=, <, ==, !=, >=, >){hint}")
            return None
        metric, subject, op, raw = match.groups()
        if metric not in METRICS:
            self.problem(path, f"no metric is called {metric!r}"
                         f"{_hint(metric, METRICS, 'metrics')}")
            return None
        if subject:
            if METRICS[metric] == "device":
                self.device(path, subject)
            else:
                self.account(path, subject)
        if metric == "blocked_time":
            try:
                value = parse_duration(raw)
            except ValueError as err:
                self.problem(path, str(err))
                return None
        else:
            try:
                value = float(int(raw))
            except (ValueError, OverflowError):
                value = math.inf
            if not abs(value) <= MAX_INTEGER:
                self.problem(path, f"{metric} is a count: compare it with a whole number "
                                   f"(at most 10^18), not {raw[:40]!r}")
                return None
        return Condition(metric=metric, subject=subject or None, comparator=op, value=value)


def _expect_text(value: Mapping[str, Any]) -> str:
    """A one-line, flow-style rendering of a mapping, as a reader would write it."""
    def show(v: Any) -> str:
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {show(x)}" for k, x in v.items()) + "}"
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)
    return show(dict(value))


def _drm_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """The DRM data an OTT asset and an OVP entry share, as constructor arguments."""
    kwargs: dict[str, Any] = {}
    if "drm" in spec:
        kwargs["drm_scheme"] = spec["drm"]
    for key in ("license_url", "ssm"):
        if key in spec:
            kwargs[key] = spec[key]
    return kwargs


def _asset(spec: dict[str, Any]) -> OttAsset:
    kwargs = _drm_fields(spec)
    if "formats" in spec:
        kwargs["formats"] = tuple(spec["formats"])
    if "entitled_users" in spec:
        kwargs["entitled_users"] = frozenset(spec["entitled_users"])
    return OttAsset(**kwargs)


def _entry(spec: dict[str, Any]) -> OvpEntry:
    return OvpEntry(**_drm_fields(spec))
