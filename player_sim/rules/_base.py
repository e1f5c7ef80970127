"""What every monitor is built on: its configuration, its views of the trace, its base class.

:class:`Monitor` subclasses (the SSM ones in :mod:`._monitors`, the session
providers' in :mod:`._provider_monitors`) read a :class:`DeviceView` (with its
:class:`ProviderView`) kept by the checker that runs them; they reach that
checker only through :class:`Checking`, so this module sits below both monitor
modules and the checker (:mod:`._checker`) above them all: no cycle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol

import attrs

from ..player._states import ACTIVE_PLAYBACK_STATES
from ..player._variants import VARIANTS
from ..providers import VARIANT_NAMES, ProviderVariants, RefreshPolicy
from ..trace import Kind, TraceRecord, Vantage
from ._catalogue import CATALOGUE, Rule
from ._copying import SHARED, copy_state

if TYPE_CHECKING:
    from ..world import DeviceConfig, WorldConfig

__all__ = ["ACTIVE", "APP_REACTION_BOUND", "CheckConfig", "Checking", "DeviceFacts",
           "DeviceView", "Monitor", "ProviderView", "Violation", "WorldFacts"]

#: Playback states in which a playback is under way.
ACTIVE: Final = frozenset(state.value for state in ACTIVE_PLAYBACK_STATES)
_EPS: Final = 1e-3
_EXCERPT: Final = 6
#: Every record kind by its value (monitors' declared kinds are checked against it).
_KINDS_BY_VALUE: Final = {kind.value: kind for kind in Kind}
#: Seconds an app (or SDK) has to act on a trigger (an SSM error notification, a stop,
#: a zap) before the reaction window's round trips: the documented bound, not the app's
#: own setting, so a slow app is late. It is the longest any platform profile lets an
#: SSM call hold the app (variant ``sync_setup_cap``; DOMAIN.md: Nagra's own iOS plugin
#: waits "at most 5 s for setup"): an app still playing after that has continued.
_SYNC_SETUP_CAP: Final = next(v for v in VARIANTS if v.name == "sync_setup_cap")
APP_REACTION_BOUND: Final[float] = max(
    cap for cap in _SYNC_SETUP_CAP.values.values() if cap is not None)



class DeviceFacts(Protocol):
    """What :meth:`CheckConfig.for_world` reads of a device: its name and configuration."""

    @property
    def name(self) -> str: ...

    @property
    def config(self) -> DeviceConfig: ...


class WorldFacts(Protocol):
    """What :meth:`CheckConfig.for_world` reads of a world (a :class:`~player_sim.World`
    is one): its configuration and its devices."""

    @property
    def config(self) -> WorldConfig: ...

    @property
    def devices(self) -> Sequence[DeviceFacts]: ...


@attrs.frozen
class CheckConfig:
    """What the monitors need to know that a trace does not say.

    * ``reaction_window``: seconds an app or SDK has to answer a trigger
      (notification, stop, zap): :data:`APP_REACTION_BOUND` plus network round
      trips (never the app's own ``app_reaction_delay``).
    * ``heartbeat_slack``: seconds a heartbeat may come after its period.
    * ``max_sessions_per_account`` / ``account_limits``: the SSM limit; ``None``
      (unknown) keeps ``ssm.setup.limit-refuses`` silent.
    * ``session_timeout``: the server's expiry; ``None`` keeps
      ``ssm.session.expires`` silent.
    * ``heartbeats_traced``: the trace records every heartbeat sent; ``False``
      keeps the heartbeat-period rules silent.
    * ``keeps_item_on_stop``: devices configured with
      ``release_item_on_stop=False`` (stopping keeps their session).
    * ``ovp_widget_validity`` / ``ovp_user_validity``: seconds an OVP KS is
      valid (24 h by default); ``None`` keeps ``provider.ovp.valid-24h`` silent.
    """

    reaction_window: float = 5.0
    heartbeat_slack: float = 1.0
    max_sessions_per_account: int | None = None
    account_limits: Mapping[str, int] = attrs.field(factory=dict)
    session_timeout: float | None = None
    heartbeats_traced: bool = True
    keeps_item_on_stop: frozenset[str] = frozenset()
    ovp_widget_validity: float | None = 86400.0
    ovp_user_validity: float | None = 86400.0

    @classmethod
    def for_world(cls, world: WorldFacts) -> CheckConfig:
        """The configuration matching a :class:`~player_sim.World` and its devices now."""
        cfg = world.config
        net = cfg.network
        latency = max([net.latency, *net.link_latency.values()]) + net.jitter
        devices = list(world.devices)
        return cls(
            reaction_window=APP_REACTION_BOUND + 6 * latency,
            heartbeat_slack=2 * latency + 0.5,
            max_sessions_per_account=cfg.ssm.max_sessions_per_account,
            account_limits=dict(cfg.ssm.account_limits),
            session_timeout=cfg.ssm.effective_session_timeout,
            heartbeats_traced=cfg.trace_heartbeats,
            keeps_item_on_stop=frozenset(d.name for d in devices
                                         if not d.config.release_item_on_stop),
            ovp_widget_validity=cfg.ovp.widget_session_validity,
            ovp_user_validity=cfg.ovp.user_session_validity,
        )

    def limit_of(self, account: str) -> int | None:
        return self.account_limits.get(account, self.max_sessions_per_account)


@attrs.frozen
class Violation:
    """A rule broken at time ``t`` on ``device`` (``None``: a server or world event).

    ``line`` is the 1-based number of the record that revealed it (its line in
    the JSONL trace); ``excerpt`` holds ``(line, record)`` pairs around it.
    """

    rule: Rule
    device: str | None
    t: float
    message: str
    line: int
    excerpt: tuple[tuple[int, TraceRecord], ...]

    def describe(self) -> str:
        """A multi-line, human-readable account: rule, quote, device, time, trace."""
        who = f"device {self.device!r}" if self.device is not None else "the server"
        lines = [f"{self.rule.id}: {self.message}",
                 f"  at t={self.t:g} on {who} (trace line {self.line})",
                 f"  rule: {self.rule.statement}",
                 f"  quote ({self.rule.where}): \"{self.rule.quote}\"",
                 "  trace:"]
        lines += [f"  {n:>6} | {r.to_json()}" for n, r in self.excerpt]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (for reports)."""
        return {"rule": self.rule.id, "device": self.device, "t": round(self.t, 6),
                "message": self.message, "line": self.line, "source": self.rule.where,
                "quote": self.rule.quote}


def _ok(data: Mapping[str, Any]) -> bool:
    """An SSM answer succeeded: the body decides (no SSM code), then the status."""
    status = data.get("http_status")
    return data.get("ssm_code") is None and isinstance(status, int) and 200 <= status < 300


def documented_refresh_delta(policy: Mapping[str, Any] | None, variant: object,
                             validity_left: float) -> float:
    """The refresh delta the documents give a KS set with ``validity_left`` seconds to
    go: the configured policy (``device_added``'s ``refresh_policy``: a fraction of the
    validity left, or a margin), else the one of the provider's named variant
    (``documented``, ``android``: 12 %; ``ios``: 0), else the seed's (12 %)."""
    if policy is not None and isinstance(policy.get("fraction"), int | float):
        return float(policy["fraction"]) * max(validity_left, 0.0)
    if policy is not None and isinstance(policy.get("margin"), int | float):
        return float(policy["margin"])
    named = (ProviderVariants.named(variant).refresh_policy
             if isinstance(variant, str) and variant in VARIANT_NAMES else RefreshPolicy.android())
    return named.delta(validity_left)


class ProviderView:
    """What the trace says about one device's session provider and its KSs.

    ``session`` is the started session's data (``None`` when there is none or
    it ended); ``session_before`` is what it was before the current record;
    ``*_generation`` tell in which playback (see :class:`DeviceView`) the last
    KS was answered or failed. ``refresh_delta`` is the delta the documents give
    the current OTT KS (:func:`documented_refresh_delta`, from the KS's expiry as
    the backend issued it), never the one the provider declares;
    ``refresh_delta_before`` the one before the current record.
    """

    def __init__(self) -> None:
        self.issued: dict[str, Mapping[str, Any]] = {}    # ks -> its ks_issued data (+ t)
        self.revoked: set[str] = set()
        self.ended: set[str] = set()                      # KSs of ended sessions
        self.session: Mapping[str, Any] | None = None     # the started session, if any
        self.had_session = False
        self.endpoints: list[str] = []                    # ks_used endpoints since the start
        self.ks_generation = -1                           # generation of the last KS answer
        self.ks_failed_generation = -1
        self.requested_generation = -1
        self.session_before: Mapping[str, Any] | None = None
        self.policy: Mapping[str, Any] | None = None      # the configured refresh policy
        self.refresh_delta: float | None = None
        self.refresh_delta_before: float | None = None

    def _copy(self) -> ProviderView:
        """A copy that can be updated independently (its containers' values are
        replaced, never changed in place: they are shared)."""
        new = object.__new__(ProviderView)
        fields = dict(self.__dict__)  # (not .copy(): see rules/_copying)
        fields["issued"] = self.issued.copy()
        fields["revoked"] = set(self.revoked)
        fields["ended"] = set(self.ended)
        fields["endpoints"] = list(self.endpoints)
        new.__dict__ = fields
        return new

    def _set_delta(self, ks: object, t: float, variant: object) -> None:
        issued = self.issued.get(ks) if isinstance(ks, str) else None
        if issued is None or issued.get("backend") != "ott":
            self.refresh_delta = None
            return
        left = float(issued["expires_at"]) - t
        self.refresh_delta = documented_refresh_delta(self.policy, variant, left)

    def update(self, rec: TraceRecord, generation: int) -> None:
        data, kind = rec.data, rec.kind
        self.session_before = self.session
        self.refresh_delta_before = self.refresh_delta
        if kind == "device_added":
            policy = data.get("refresh_policy")
            self.policy = policy if isinstance(policy, Mapping) else None
        elif kind == "ks_issued" and isinstance(data.get("ks"), str):
            self.issued[data["ks"]] = {**data, "t": rec.t}
        elif kind == "ks_revoked" and isinstance(data.get("ks"), str):
            self.revoked.add(data["ks"])
        elif kind == "session_started":
            self.session = {**data, "t": rec.t}
            self.had_session = True
            self.endpoints = []
            self._set_delta(data.get("ks"), rec.t, data.get("variant"))
        elif kind == "session_recovered":
            # A relaunched app gave the provider its saved session: it holds one again
            # (refreshed at once; its ``session_started`` follows when that is answered).
            self.session = {**data, "t": rec.t, "recovered": True}
            self.had_session = True
        elif kind == "session_ended" and data.get("cleared") is False:
            pass  # an anonymous OTT session "ended": the provider keeps serving its KS
        elif kind in ("session_ended", "session_forgotten"):
            if isinstance(data.get("ks"), str):
                self.ended.add(data["ks"])
            self.session = None
        elif kind == "session_cleared":
            self.session = None  # dropped by the provider (a failed refresh), not ended
        elif kind in ("ks_refreshed", "ks_renewed") and self.session is not None:
            self.session = {**self.session, "ks": data.get("ks"),
                            "expires_at": data.get("expires_at", self.session.get("expires_at"))}
            self._set_delta(data.get("ks"), rec.t, self.session.get("variant"))
        elif kind == "ks_used":
            self.endpoints.append(str(data.get("endpoint")))
        elif kind == "ks_requested":
            self.requested_generation = generation
        elif kind == "ks_answered":
            if data.get("ks") is None:
                self.ks_failed_generation = generation
            else:
                self.ks_generation = generation


#: The record kinds :meth:`ProviderView.update` does more with than note the session
#: and refresh delta it had before.
_PROVIDER_KINDS: Final = frozenset({
    "device_added", "ks_issued", "ks_revoked", "session_started", "session_ended",
    "session_forgotten", "session_cleared", "session_recovered", "ks_refreshed", "ks_renewed",
    "ks_used", "ks_requested", "ks_answered"})


class DeviceView:
    """What the trace so far says about one device (read by monitors, kept by the checker).

    ``generation`` counts play, zap and stop actions; ``playback_id`` is the
    current playback's id (the ``action`` records carry it); ``held`` is whether
    the player item holds an SSM session, and ``held_playback_id`` the playback
    that set it up; ``setup_current`` tells, for an ``ssm_setup_answered`` record
    just seen, whether it answered the current playback (its ``playback_id``
    says so: the player drops answers to older playbacks). ``under_ssm`` is
    false for a playback whose media entry is not under SSM.

    After a heartbeat error the session is lost (``held`` is false); a client that
    keeps heartbeating (variant ``keep-heartbeating``) goes on with the stale token:
    while ``stale``, ``stale_playback_id`` is the playback whose token went stale, and
    ``stale_requests`` the request ids of heartbeats sent with it since. ``variants``
    is the device's variant values as its ``device_added`` record gives them.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.account: str | None = None
        self.ssm: bool | None = None
        self.sync: bool | None = None
        self.app: str | None = None
        self.app_before: str | None = None
        self.playback: str | None = None
        self.killed = False
        self.generation = 0
        self.playback_id: int | None = None
        self.setup_current = False
        self.setup_ok_generation = -1
        self.setup_sent_generation = -1
        self.setup_token: str | None = None
        self.held = False
        self.held_playback_id: int | None = None
        self.held_before = False
        self.period = 0.0
        self._chain: set[str] = set()
        self._known: set[str] = set()
        self.ssm_error = False
        self.teardowns_on_wire = 0
        self.blocked = False
        self.recent: deque[tuple[int, TraceRecord]] = deque(maxlen=_EXCERPT)
        self.suspended: list[_Deadline] = []
        self.provider = ProviderView()
        self._provider_shared = False  # shared with a copy of this view (``_copy``)
        self.no_ssm_generation = -1
        self.variants: Mapping[str, Any] = {}
        self.stale = False
        self.stale_playback_id: int | None = None
        self.stale_requests: set[int] = set()

    def _copy(self) -> DeviceView:
        """A copy that can be updated independently: its containers are copied (what
        they hold, records, tokens, deadlines, is immutable and shared)."""
        new = object.__new__(DeviceView)
        fields = dict(self.__dict__)  # (not .copy(): see rules/_copying)
        fields["_chain"] = set(self._chain)
        fields["_known"] = set(self._known)
        fields["recent"] = deque(self.recent, maxlen=_EXCERPT)
        fields["suspended"] = list(self.suspended)
        # The provider's view is copied when it would change (``update``): without a
        # session provider, it never does.
        fields["_provider_shared"] = True
        fields["stale_requests"] = set(self.stale_requests)
        new.__dict__ = fields
        return new

    def _new_generation(self) -> None:
        self.generation += 1

    @property
    def under_ssm(self) -> bool:
        """The device uses SSM and the current playback's media entry is under SSM."""
        return bool(self.ssm) and self.no_ssm_generation != self.generation

    def update(self, rec: TraceRecord) -> None:
        kind, data = rec.kind, rec.data
        provider = self.provider
        if not self._provider_shared:
            provider.update(rec, self.generation)
        elif kind in _PROVIDER_KINDS or provider.session_before is not provider.session \
                or provider.refresh_delta_before is not provider.refresh_delta:
            provider = self.provider = provider._copy()
            self._provider_shared = False
            provider.update(rec, self.generation)
        # (else its update would write what it holds already: it stays shared)
        self.held_before = self.held
        self.app_before = self.app
        if rec.app is not None:
            self.app = rec.app
            self.playback = rec.playback
        if kind == "device_added":
            self.account = data.get("account")
            self.ssm = data.get("ssm")
            self.sync = data.get("sync")
            self.variants = data.get("variants") or {}
        elif kind == "action":
            self.playback_id = rec.playback_id
            name = data.get("name")
            if name in ("play", "zap"):
                self._new_generation()
                self.ssm_error = False
            elif name == "stop":
                self._new_generation()
        elif kind == "ssm_setup_sent":
            if self.ssm is None:
                self.ssm = True
            self.setup_sent_generation = self.generation
            if data.get("blocking"):
                self.blocked = True
        elif kind == "ssm_setup_answered":
            # The answer names its playback: one for an older playback (stopped or
            # zapped away from) is dropped by the player, which tears its session down.
            token = data.get("token")
            if isinstance(token, str):
                self._known.add(token)
            current = rec.playback_id is None or rec.playback_id == self.playback_id
            self.setup_current = current and rec.playback in (None, "ssm_setup")
            if _ok(data) and isinstance(token, str) and self.setup_current:
                self.held = True
                self.held_playback_id = rec.playback_id
                self._chain = {token}
                self.period = float(data.get("heartbeat_period") or 0.0)
                self.setup_ok_generation = self.generation
                self.setup_token = token
        elif kind == "heartbeat_sent":
            token = data.get("token")
            if isinstance(token, str):
                self._known.add(token)
                if self.held:
                    self._chain.add(token)
            request_id = data.get("request_id")
            if self.stale and not self.held and rec.playback_id == self.stale_playback_id \
                    and isinstance(request_id, int):
                self.stale_requests.add(request_id)
        elif kind == "ssm_teardown_sent":
            token = data.get("token")
            if self.stale and rec.playback_id == self.stale_playback_id:
                self.stale = False  # the stale token's last use
            if self.held and (token in self._chain or token not in self._known):
                self._release()
            self.teardowns_on_wire += 1
            if data.get("blocking"):
                self.blocked = True
        elif kind in ("ssm_session_ended", "ssm_teardown_refused"):
            self.teardowns_on_wire = max(0, self.teardowns_on_wire - 1)
        elif kind == "ssm_heartbeat_error":
            if self.held:
                self.stale = True
                self.stale_playback_id = self.held_playback_id
                self.stale_requests = set()
            self._release()
            self.ssm_error = True
        elif kind == "ssm_setup_error":
            self.ssm_error = True
        elif kind == "main_thread_blocked":
            self.blocked = False
        elif kind == "media_answered" and data.get("ok") and data.get("ssm") is False:
            self.no_ssm_generation = self.generation
        elif kind == "app_killed":
            self.killed = True
            self.blocked = False
            self.stale = False
            self._release()
        elif kind == "app_relaunched":
            self.killed = False
            self._release()
            self._new_generation()
            self.playback_id = rec.playback_id

    def _release(self) -> None:
        self.held = False
        self.held_playback_id = None
        self._chain = set()


@attrs.frozen(eq=False)
class _Deadline:
    """An open expectation of the monitor at ``slot`` of its checker's ``monitors``.

    Never changed once made, so copies of a checker share it: it is live while it is
    still its monitor's ``_pending[key]`` (fulfilling, replacing or cancelling it
    removes it there), and its due time is that of its entry in the checker's heap
    (a deadline woken from suspension is armed again at a new time).
    """

    slot: int
    key: Any
    device: str | None
    due: float
    window: float
    trigger: tuple[int, TraceRecord] | None
    message: str
    wake_window: float


class Checking(Protocol):
    """What a :class:`Monitor` uses of the checker running it (a
    :class:`~player_sim.rules.TraceChecker`)."""

    @property
    def config(self) -> CheckConfig: ...

    def extra_latency(self, t: float, window: float) -> float: ...

    def _arm(self, deadline: _Deadline) -> None: ...

    def _report(self, monitor: Monitor, device: str | None, t: float, message: str, line: int,
                trigger: tuple[int, TraceRecord] | None) -> None: ...

    def _observed(self, monitor: Monitor) -> None: ...


class Monitor:
    """The monitor of one rule: what it reads, which vantage it needs, how it judges.

    A subclass declares, checked when the class is defined:

    * ``rule_id``: a rule of the catalogue;
    * ``kinds``: the record kinds it observes (it is not called for others), each
      a declared :class:`~player_sim.trace.Kind`, at least one;
    * ``reads``: the ``data`` fields it reads from those records, each declared
      by at least one of its kinds;
    * ``also_needs``: vantages its views rely on beyond its kinds' (e.g. a server
      record judged against what the device sent);
    * ``optional_kinds``: those of its kinds it reads where the trace has them, but
      judges without (their vantage is not needed: e.g. the server's record of an
      answer, where a device-only trace has the device's).

    ``needs`` (derived) is every vantage it needs: a trace seen from fewer
    vantages does not judge this rule. The subclass overrides :meth:`observe`,
    calls :meth:`observed` where it meets the situation its rule judges (so
    coverage counts what was really judged, not labels), and :meth:`violate`,
    :meth:`expect` and :meth:`fulfil` to judge.
    """

    rule_id: ClassVar[str]
    #: Record kinds this monitor reads; it is not called for others.
    kinds: ClassVar[frozenset[str]] = frozenset()
    #: Data fields it reads from those records.
    reads: ClassVar[frozenset[str]] = frozenset()
    #: Vantages its views need beyond those of its kinds.
    also_needs: ClassVar[frozenset[Vantage]] = frozenset()
    #: Kinds it reads when present but does not need (their vantage is not required).
    optional_kinds: ClassVar[frozenset[str]] = frozenset()
    #: Every vantage a trace must have for this rule to be judged (derived).
    needs: ClassVar[frozenset[Vantage]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not hasattr(cls, "rule_id"):
            return  # a shared base of several monitors
        name = cls.__name__
        if cls.rule_id not in CATALOGUE:
            raise TypeError(f"monitor {name}: no rule {cls.rule_id!r} in the catalogue; add "
                            "its Rule to rules/_catalogue.py first")
        if not cls.kinds:
            raise TypeError(f"monitor {name} of {cls.rule_id!r} observes no kinds; set kinds "
                            "to the record kinds its rule is judged on")
        known = _KINDS_BY_VALUE
        unknown = sorted(k for k in cls.kinds if k not in known)
        if unknown:
            raise TypeError(f"monitor {name}: {unknown[0]!r} is not a trace kind; declare it "
                            "in player_sim/_trace_kinds.py or fix the name")
        kinds = [known[k] for k in cls.kinds]
        declared = frozenset().union(*(k.names for k in kinds))
        undeclared = sorted(cls.reads - declared)
        if undeclared:
            raise TypeError(f"monitor {name} reads field {undeclared[0]!r}, which none of its "
                            f"kinds ({', '.join(sorted(cls.kinds))}) declares; add the kind "
                            "that carries it to kinds, or declare the field")
        stray = sorted(cls.optional_kinds - cls.kinds)
        if stray:
            raise TypeError(f"monitor {name}: optional kind {stray[0]!r} is not among its "
                            "kinds; add it to kinds too")
        cls.needs = frozenset(k.vantage for k in kinds if k.vantage is not Vantage.HARNESS
                              and k.value not in cls.optional_kinds) | cls.also_needs

    def __init__(self, checker: Checking) -> None:
        self.rule = CATALOGUE[self.rule_id]
        self.checker = checker
        self.config = checker.config
        self._pending: dict[Any, _Deadline] = {}
        #: Its place in the checker's ``monitors`` and the checker copy that owns it
        #: (set by the checker: see ``TraceChecker._own``).
        self._slot = -1
        self._held_by: object = None

    def _fork(self, checker: Checking, owner: object) -> Monitor:
        """A copy of this monitor for ``checker`` (a copy of the checker running it):
        its own state copied, its open deadlines (immutable) shared."""
        new = object.__new__(type(self))
        fields = dict(self.__dict__)  # (not .copy(): see rules/_copying)
        if len(fields) > len(_MONITOR_BASE_FIELDS):  # (most hold nothing but deadlines)
            memo: dict[int, Any] = {}
            for key, value in fields.items():
                cls = type(value)
                if cls in SHARED or key in _MONITOR_BASE_FIELDS:
                    continue
                if not value and (cls is dict or cls is set or cls is list):
                    fields[key] = cls()  # (an empty container, the most met: no call)
                else:
                    fields[key] = copy_state(value, memo)
        fields["checker"] = checker
        fields["_held_by"] = owner
        fields["_pending"] = self._pending.copy()
        new.__dict__ = fields
        return new

    #: Whether the monitor can wait for something before it opens a deadline (then
    #: :meth:`awaits` says so), so that the explorers' state keys tell such waits apart.
    waits_before_deadline: ClassVar[bool] = False

    def awaits(self) -> bool:
        """Whether this monitor awaits something: an open deadline (or a wait of its own,
        in a monitor with :attr:`waits_before_deadline`)."""
        return bool(self._pending)

    def active(self) -> bool:
        """Whether this monitor applies under the checker's configuration."""
        return True

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        raise NotImplementedError

    # --- helpers for subclasses ---------------------------------------------------

    def observed(self) -> None:
        """Note that the situation this rule judges occurred (for rule coverage)."""
        self.checker._observed(self)

    def violate(self, line: int, rec: TraceRecord, message: str,
                trigger: tuple[int, TraceRecord] | None = None) -> None:
        self.checker._observed(self)
        self.checker._report(self, rec.device, rec.t, message, line, trigger)

    def expect(self, key: Any, device: str | None, window: float, line: int, rec: TraceRecord,
               message: str, *, wake_window: float | None = None) -> None:
        """Open an expectation: unless :meth:`fulfil` is called for ``key`` within
        ``window`` seconds, ``message`` is reported. If it falls due while the
        device is suspended, it is due again ``wake_window`` (default ``window``)
        seconds after the device is back."""
        self._pending.pop(key, None)
        extra = self.checker.extra_latency(rec.t, window) if device is not None else 0.0
        window += extra
        deadline = _Deadline(self._slot, key, device, rec.t + window, window, (line, rec), message,
                             (window if wake_window is None else wake_window + extra))
        self._pending[key] = deadline
        self.checker._arm(deadline)

    def fulfil(self, key: Any) -> None:
        self._pending.pop(key, None)

    def waiting(self, key: Any) -> bool:
        return key in self._pending

    def cancel_device(self, device: str) -> None:
        for key, deadline in list(self._pending.items()):
            if deadline.device == device:
                del self._pending[key]

    def expired(self, deadline: _Deadline, dev: DeviceView | None) -> bool:
        """Whether an expectation that ran out is reported (default: yes)."""
        return True


#: What every monitor holds that :meth:`Monitor._fork` does not copy as its own state.
_MONITOR_BASE_FIELDS: Final = frozenset({"rule", "checker", "config", "_pending", "_slot",
                                         "_held_by"})
