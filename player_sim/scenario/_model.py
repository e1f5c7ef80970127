"""A loaded scenario as frozen data, and the error a bad scenario file raises.

Everything here is plain, validated data: the loader builds it from a file,
the runner reads it. Every step, expectation and invariant carries the
:class:`Location` it came from, so a failure can point at its line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import attrs

from .. import signals
from .._durations import DURATION_PATTERN as DURATION_PATTERN
from .._durations import format_duration, parse_duration
from .._errors import PlayerSimError
from .._problems import Location, Problem
from ..backends._license import ENDPOINTS as LICENSE_ENDPOINTS
from ..backends._ott import ENDPOINTS as OTT_ENDPOINTS
from ..backends._ovp import ENDPOINTS as OVP_ENDPOINTS
from ..backends._ssm import ENDPOINTS as SSM_ENDPOINTS
from ..player._actions import ACTIONS as ACTION_TABLE
from ..player._actions import ActionSpec
from ..player._values import Value
from ..providers import (
    MediaSource,
    OttSessionProvider,
    OvpMediaProvider,
    OvpSessionProvider,
    PhoenixMediaProvider,
    RefreshPolicy,
    SessionProvider,
)
from ..providers._bookmarks import BOOKMARK_PERIOD
from ..trace import Kind
from ..world import DeviceConfig, WorldConfig

__all__ = [
    "ACTIONS",
    "APP_POLICIES",
    "BASE_URLS",
    "COMPARATORS",
    "ENDPOINTS",
    "METRICS",
    "TRACE_EVENTS",
    "Action",
    "At",
    "Condition",
    "Expect",
    "FailNext",
    "Invariant",
    "Latency",
    "Location",
    "LoseAnswers",
    "Mode",
    "OperatorKill",
    "Outage",
    "Problem",
    "ProviderSpec",
    "Scenario",
    "ScenarioError",
    "SignalMatch",
    "Step",
    "Wait",
    "format_duration",
    "parse_duration",
]


class ScenarioError(PlayerSimError):
    """A scenario file is invalid. ``problems`` lists every mistake found, in file order.

    ``file``, ``line`` and ``column`` are those of the first problem; ``str(error)``
    is one ``file:line:column: sentence`` line per problem.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("a ScenarioError needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(sorted(
            problems, key=lambda p: (p.location, p.message)))
        first = self.problems[0].location
        self.file = first.file
        self.line = first.line
        self.column = first.column
        super().__init__("\n".join(str(p) for p in self.problems))


# --- durations ----------------------------------------------------------------------

# Durations are declared once, below every layer that reads them.


# --- steps -----------------------------------------------------------------------

#: Device actions a step can name: the verbs of the action table, the trace's own words.
ACTIONS: Final[Mapping[str, ActionSpec]] = {spec.name: spec for spec in ACTION_TABLE}

#: Session provider backends a device can name, and the base URL of each unless it names one.
BASE_URLS: Final[Mapping[str, str]] = {"ott": "https://phoenix.example/api_v3/",
                                       "ovp": "https://cdnapisec.kaltura.com/"}
#: App policies a device can name, and what each is.
APP_POLICIES: Final[Mapping[str, str]] = {
    "documented": "the app the SSM document asks for",
    "passive": "an app that never reacts",
}

#: Endpoints a ``fail`` step can break, as ``backend.endpoint``.
ENDPOINTS: Final = (*(f"ssm.{e}" for e in SSM_ENDPOINTS), *LICENSE_ENDPOINTS,
                    *(f"ott.{e}" for e in OTT_ENDPOINTS), *(f"ovp.{e}" for e in OVP_ENDPOINTS))

#: Trace events (``event:`` in an expectation) besides the signals: every declared
#: record kind (:class:`player_sim.trace.Kind`) that is not a signal.
TRACE_EVENTS: Final = tuple(k.value for k in Kind if k.value not in signals.ALL_SIGNALS)

#: What a ``metric`` expectation or invariant can measure, and whom it is about.
METRICS: Final[Mapping[str, str]] = {
    "active_sessions": "account",   # live SSM sessions (of an account, or of all)
    "zombies": "account",           # live SSM sessions no running player holds
    "heartbeats_sent": "device",    # heartbeats a device sent (all devices if none named)
    "blocked_time": "device",       # seconds the main thread was blocked (sync mode)
}

#: Comparators of a metric condition, as written in a file.
COMPARATORS: Final[Mapping[str, str]] = {
    "equals": "==", "not_equals": "!=", "at_most": "<=", "at_least": ">=",
    "below": "<", "above": ">",
}


@attrs.frozen(repr=False)
class Action(Value):
    """Perform ``name`` (a key of :data:`ACTIONS`) on ``device`` with ``args`` (the
    action's arguments given in the step, e.g. ``stream`` for play and zap)."""

    location: Location
    name: str
    device: str
    args: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def spec(self) -> ActionSpec:
        return ACTIONS[self.name]

    def describe(self) -> str:
        """The step as a file writes it: ``stop: phone``, ``play: {device: phone, ...}``."""
        shown = {k: v for k, v in self.args.items() if k != "password"}
        if not shown:
            return f"{self.name}: {self.device}"
        fields = ", ".join(f"{k}: {v}" for k, v in shown.items())
        return f"{self.name}: {{device: {self.device}, {fields}}}"


@attrs.frozen(repr=False)
class Wait(Value):
    """Let ``seconds`` of virtual time pass."""

    location: Location
    seconds: float


@attrs.frozen(repr=False)
class At(Value):
    """Let virtual time pass until ``time`` (seconds since the start)."""

    location: Location
    time: float


@attrs.frozen(repr=False)
class FailNext(Value):
    """Answer the next ``count`` calls of ``endpoint`` with this error (OVP codes are
    text, e.g. ``INVALID_KS``; the others are numbers)."""

    location: Location
    endpoint: str
    count: int
    http_status: int
    code: int | str | None
    message: str


@attrs.frozen(repr=False)
class LoseAnswers(Value):
    """The SSM server acts on the next ``count`` calls of ``endpoint`` (``ssm.setup``
    ...), but their answers never reach the device."""

    location: Location
    endpoint: str
    count: int


@attrs.frozen(repr=False)
class OperatorKill(Value):
    """The operator kills sessions at the SSM server: every live session of ``device``
    (``killDeviceSessions``) or of ``account`` (``killAccountSessions``); one is set."""

    location: Location
    device: str | None
    account: str | None


@attrs.frozen(repr=False)
class ProviderSpec(Value):
    """How to build a device's session provider and media provider, fresh for each run
    (a built-in provider serves one device of one world).

    ``backend`` is ``"ott"`` or ``"ovp"``; ``variant`` names the client
    (:class:`~player_sim.providers.ProviderVariants`: ``documented``, ``android``,
    ``ios``). OTT: ``refresh_policy`` (``"android"``, ``"ios"``, ``None`` with
    ``refresh_margin`` seconds, or ``None`` alone: the variant's),
    ``persist_session`` (a relaunched app recovers its saved session),
    ``bookmarks`` (the Phoenix analytics plugin's concurrency hits),
    ``reference_type`` and ``formats`` of the Phoenix media provider. OVP:
    ``assumed_validity`` and ``renew_window`` seconds (``None``: the variant's).
    """

    backend: str
    partner_id: int
    base_url: str
    refresh_policy: str | None = None
    refresh_margin: float | None = None
    variant: str = "documented"
    persist_session: bool = False
    bookmarks: bool = False
    assumed_validity: float = 86400.0
    renew_window: float | None = None
    reference_type: str = "media"
    formats: tuple[str, ...] = ()
    #: A subclass of the backend's provider class to build instead (``variant:
    #: module:Name`` in a scenario file); ``None``: the built-in one.
    provider_class: type[Any] | None = None

    def build(self) -> tuple[SessionProvider, MediaSource]:
        """A new session provider and its media provider template.

        Raises :class:`~player_sim.ConfigError` when a setting is refused.
        """
        if self.backend == "ott":
            policy = (RefreshPolicy.named(self.refresh_policy) if self.refresh_policy
                      else None if self.refresh_margin is None
                      else RefreshPolicy.custom(self.refresh_margin))
            provider: SessionProvider = (self.provider_class or OttSessionProvider)(
                self.base_url, self.partner_id, refresh_policy=policy, variant=self.variant,
                persist_session=self.persist_session)
            media: MediaSource = PhoenixMediaProvider(
                reference_type=self.reference_type,  # type: ignore[arg-type]
                formats=self.formats,
                bookmark_period=BOOKMARK_PERIOD if self.bookmarks else None)
            return provider, media
        return ((self.provider_class or OvpSessionProvider)(self.base_url, self.partner_id,
                                   assumed_validity=self.assumed_validity,
                                   renew_window=self.renew_window, variant=self.variant),
                OvpMediaProvider())


@attrs.frozen(repr=False)
class Outage(Value):
    """The backend behind ``link`` is unreachable during ``[start, end)`` (absolute)."""

    location: Location
    link: str
    start: float
    end: float


@attrs.frozen(repr=False)
class Latency(Value):
    """Messages leaving on ``link`` during ``[start, end)`` take ``extra`` seconds more."""

    location: Location
    link: str
    extra: float
    start: float
    end: float


@attrs.frozen(repr=False)
class SignalMatch(Value):
    """A trace record of kind ``kind`` (a signal, or any trace event when ``is_signal``
    is false), of ``device`` if given, whose data has every field of ``payload``."""

    kind: str
    is_signal: bool = True
    device: str | None = None
    payload: Mapping[str, Any] = attrs.field(factory=dict)

    def describe(self) -> str:
        what = f"signal {self.kind}" if self.is_signal else f"event {self.kind}"
        if self.device is not None:
            what += f" from {self.device}"
        if self.payload:
            fields = sorted(self.payload.items())
            what += " with " + ", ".join(f"{k}={_shown(v)}" for k, v in fields)
        return what


@attrs.frozen(repr=False)
class Condition(Value):
    """Something true or false at one instant: a device's state or a metric.

    State: ``device`` with any of ``app``, ``playback``, ``stream``.
    Metric: ``metric`` (a key of :data:`METRICS`) about ``subject`` (an account or a
    device, or ``None`` for all), compared with ``comparator`` (a value of
    :data:`COMPARATORS`) to ``value``.
    """

    device: str | None = None
    app: str | None = None
    playback: str | None = None
    stream: str | None = None
    metric: str | None = None
    subject: str | None = None
    comparator: str = "=="
    value: float = 0.0

    def describe(self) -> str:
        if self.metric is not None:
            shown = format_duration(self.value) if self.metric == "blocked_time" \
                else _number(self.value)
            return f"{self.metric}({self.subject or ''}) {self.comparator} {shown}"
        parts = [f"{name} {getattr(self, name)}" for name in ("app", "playback", "stream")
                 if getattr(self, name) is not None]
        return f"{self.device}: " + ", ".join(parts)


def _shown(value: Any) -> str:
    """A payload value as a scenario file writes it: true, null, 1007, 'text'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


Mode = Literal["now", "at", "within", "for", "occurs", "absent", "always", "never"]


@attrs.frozen(repr=False)
class Expect(Value):
    """An expectation, checked while the scenario runs.

    Exactly one of ``signal`` and ``condition`` is set. ``mode``:

    * for a signal: ``"occurs"`` (a matching record in ``[start, end]``) or
      ``"absent"`` (none in ``[start, end]``);
    * for a condition: ``"now"`` / ``"at"`` (true at ``start``, after the events
      of that instant), ``"within"`` (true at some instant in ``[start, end]``) or
      ``"for"`` (true at every instant in ``[start, end]``).

    ``start`` and ``end`` are absolute virtual times: the loader knows the time
    of every step, since only ``wait`` and ``at`` move it. ``text`` is the
    expectation as written, for reports.
    """

    location: Location
    text: str
    mode: Mode
    signal: SignalMatch | None = None
    condition: Condition | None = None
    start: float = 0.0
    end: float = 0.0

    def describe(self) -> str:
        return self.text


@attrs.frozen(repr=False)
class Invariant(Value):
    """``always`` (the condition holds at every instant) or ``never`` (the condition
    never holds, or the signal is never posted) over the whole run."""

    location: Location
    text: str
    kind: Literal["always", "never"]
    signal: SignalMatch | None = None
    condition: Condition | None = None


Step = (Action | Wait | At | FailNext | Outage | Latency | OperatorKill | LoseAnswers
        | Expect)


@attrs.frozen(repr=False)
class Scenario(Value):
    """One scenario file, loaded and validated.

    ``devices`` keeps the file's order; the runner adds them in that order.
    ``providers`` maps a device name to its :class:`ProviderSpec`, from which the
    runner builds that device's session and media providers for each run.
    ``violates`` maps the rule ids the scenario breaks on purpose (a hazard it
    demonstrates, e.g. an app that ignores SSM errors) to where they are listed.
    ``seed`` is the file's seed, or ``None`` (the runner then uses its own).
    """

    name: str
    path: str
    location: Location
    covers: tuple[str, ...]
    world: WorldConfig
    devices: tuple[DeviceConfig, ...]
    steps: tuple[Step, ...]
    invariants: tuple[Invariant, ...] = ()
    providers: Mapping[str, ProviderSpec] = attrs.field(factory=dict)
    violates: Mapping[str, Location] = attrs.field(factory=dict)
    seed: int | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    #: The run budget in world events (``max_events:``); ``None``: the default.
    max_events: int | None = None
