"""Monitors: each rule of the catalogue, checked over a trace as it grows.

:class:`TraceChecker` is fed :class:`~player_sim.TraceRecord` values one at a
time (``feed``), or the new tail of a growing :class:`~player_sim.Trace`
(``catch_up``), and returns the :class:`Violation` values each one revealed.
``finish`` closes the run: expectations still open whose deadline has passed
by the end time are violations; those that could still be met are not.
:func:`check_trace` does all of that for a finished trace.

Monitors read only the trace (see the README's "Trace format"), so a trace
converted from a real device's log is checked the same way as a simulated
one. A monitor whose record kinds never appear stays silent: a trace without
server records is not checked against server rules.

Time windows: a *within-after* rule's response is due ``reaction_window``
seconds after its trigger (heartbeats: one period plus ``heartbeat_slack``).
While a device is suspended (normal background) its clock for device-side
deadlines stops, as the OS stops its timers: a deadline that falls due then is
due again ``window`` seconds after the device is back. Extra latency a
scenario plans (``latency_planned`` records) widens the windows opened near it.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final

import attrs

from ..player._states import ACTIVE_PLAYBACK_STATES
from ..trace import Trace, TraceRecord
from ._catalogue import CATALOGUE, Rule

__all__ = ["MONITORS", "CheckConfig", "DeviceView", "Monitor", "ProviderView", "TraceChecker",
           "Violation", "check_trace"]

#: Playback states in which a playback is under way.
ACTIVE: Final = frozenset(state.value for state in ACTIVE_PLAYBACK_STATES)
_EPS: Final = 1e-3
_EXCERPT: Final = 6


@attrs.frozen
class CheckConfig:
    """What the monitors need to know that a trace does not say.

    * ``reaction_window``: seconds an app or SDK has to answer a trigger
      (notification, stop, zap): its reaction delay plus network round trips.
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
    def for_world(cls, world: Any) -> CheckConfig:
        """The configuration matching a :class:`~player_sim.World` and its devices now."""
        cfg = world.config
        net = cfg.network
        latency = max([net.latency, *net.link_latency.values()]) + net.jitter
        devices = list(world.devices)
        delay = max([d.config.app_reaction_delay for d in devices], default=0.0)
        return cls(
            reaction_window=delay + 6 * latency + 1.0,
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


class ProviderView:
    """What the trace says about one device's session provider and its KSs.

    ``session`` is the started session's data (``None`` when there is none or
    it ended); ``session_before`` is what it was before the current record;
    ``*_generation`` tell in which playback (see :class:`DeviceView`) the last
    KS was answered or failed.
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

    def update(self, rec: TraceRecord, generation: int) -> None:
        data, kind = rec.data, rec.kind
        self.session_before = self.session
        if kind == "ks_issued" and isinstance(data.get("ks"), str):
            self.issued[data["ks"]] = {**data, "t": rec.t}
        elif kind == "ks_revoked" and isinstance(data.get("ks"), str):
            self.revoked.add(data["ks"])
        elif kind == "session_started":
            self.session = {**data, "t": rec.t}
            self.had_session = True
            self.endpoints = []
        elif kind in ("session_ended", "session_forgotten"):
            if isinstance(data.get("ks"), str):
                self.ended.add(data["ks"])
            self.session = None
        elif kind in ("ks_refreshed", "ks_renewed") and self.session is not None:
            self.session = {**self.session, "ks": data.get("ks"),
                            "expires_at": data.get("expires_at", self.session.get("expires_at"))}
        elif kind == "ks_used":
            self.endpoints.append(str(data.get("endpoint")))
        elif kind == "ks_requested":
            self.requested_generation = generation
        elif kind == "ks_answered":
            if data.get("ks") is None:
                self.ks_failed_generation = generation
            else:
                self.ks_generation = generation


def _providers(checker: TraceChecker) -> dict[str, ProviderView]:
    views: dict[str, ProviderView] | None = getattr(checker, "_provider_views", None)
    if views is None:
        views = {}
        checker._provider_views = views  # type: ignore[attr-defined]
    return views


class DeviceView:
    """What the trace so far says about one device (read by monitors, kept by the checker).

    ``generation`` counts play, zap and stop actions; ``held`` is whether the
    player item holds an SSM session; ``setup_current`` tells, for an
    ``ssm_setup_answered`` record just seen, whether it answered the current
    playback (the player drops stale answers and tears their session down at
    once: a success followed by that teardown is undone on the next record).
    ``under_ssm`` is false for a playback whose media entry is not under SSM.
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
        self._outstanding = 0
        self._stale = 0
        self.setup_current = False
        self.setup_ok_generation = -1
        self.setup_sent_generation = -1
        self.setup_token: str | None = None
        self._orphan_check: tuple[Any, ...] | None = None
        self.held = False
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
        self.no_ssm_generation = -1

    def _new_generation(self) -> None:
        self.generation += 1
        self._stale += self._outstanding
        self._outstanding = 0

    @property
    def under_ssm(self) -> bool:
        """The device uses SSM and the current playback's media entry is under SSM."""
        return bool(self.ssm) and self.no_ssm_generation != self.generation

    def update(self, rec: TraceRecord) -> None:
        kind, data = rec.kind, rec.data
        self.provider.update(rec, self.generation)
        if self._orphan_check is not None and rec.app is not None:
            self._revert_orphan(rec)
        self.held_before = self.held
        self.app_before = self.app
        if rec.app is not None:
            self.app = rec.app
            self.playback = rec.playback
        if kind == "device_added":
            self.account = data.get("account")
            self.ssm = data.get("ssm")
            self.sync = data.get("sync")
        elif kind == "action":
            name = data.get("name")
            if name in ("play", "zap"):
                self._new_generation()
                self.ssm_error = False
            elif name == "stop":
                self._new_generation()
        elif kind == "ssm_setup_sent":
            if self.ssm is None:
                self.ssm = True
            self._outstanding += 1
            self.setup_sent_generation = self.generation
            if data.get("blocking"):
                self.blocked = True
        elif kind == "ssm_setup_answered":
            # Which playback an answer is for is not in the trace. Answers usually come
            # back in the order sent (stale ones first); but latency can change meanwhile,
            # so an accepted answer is known by what follows it: a stale success is torn
            # down at once (see _revert_orphan), a current one is not.
            in_setup = rec.playback in (None, "ssm_setup")
            if self._stale:
                self._stale -= 1
                fifo_current = False
            else:
                self._outstanding = max(0, self._outstanding - 1)
                fifo_current = True
            token = data.get("token")
            if isinstance(token, str):
                self._known.add(token)
            if _ok(data) and isinstance(token, str):
                self.setup_current = in_setup
                if in_setup:
                    self._orphan_check = (token, self.held, set(self._chain), self.period,
                                          self.setup_ok_generation, self.setup_token)
                    self.held = True
                    self._chain = {token}
                    self.period = float(data.get("heartbeat_period") or 0.0)
                    self.setup_ok_generation = self.generation
                    self.setup_token = token
                    return
            else:
                self.setup_current = in_setup and fifo_current
        elif kind == "heartbeat_sent":
            token = data.get("token")
            if isinstance(token, str):
                self._known.add(token)
                if self.held:
                    self._chain.add(token)
        elif kind == "ssm_teardown_sent":
            token = data.get("token")
            if self.held and (token in self._chain or token not in self._known):
                self._release()
            self.teardowns_on_wire += 1
            if data.get("blocking"):
                self.blocked = True
        elif kind in ("ssm_session_ended", "ssm_teardown_refused"):
            self.teardowns_on_wire = max(0, self.teardowns_on_wire - 1)
        elif kind == "ssm_heartbeat_error":
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
            self._release()
        elif kind == "app_relaunched":
            self.killed = False
            self._release()
            self._new_generation()
            self._stale = 0

    def _revert_orphan(self, rec: TraceRecord) -> None:
        """The record after an accepted-looking setup answer: a teardown of its token
        right away means the player dropped it as stale (it answered an older playback)."""
        check, self._orphan_check = self._orphan_check, None
        assert check is not None
        token, held, chain, period, ok_generation, setup_token = check
        if rec.kind == "ssm_teardown_sent" and rec.data.get("token") == token:
            self.held, self._chain, self.period = held, chain, period
            self.setup_ok_generation, self.setup_token = ok_generation, setup_token

    def _release(self) -> None:
        self.held = False
        self._chain = set()


@attrs.define(eq=False)
class _Deadline:
    monitor: Monitor
    key: Any
    device: str | None
    due: float
    window: float
    trigger: tuple[int, TraceRecord] | None
    message: str
    wake_window: float
    cancelled: bool = False


class Monitor:
    """The monitor of one rule. Subclasses set ``rule_id`` and ``kinds`` and
    override :meth:`observe` (and :meth:`expired` to filter deadlines)."""

    rule_id: ClassVar[str]
    #: Record kinds this monitor reads; it is not called for others.
    kinds: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, checker: TraceChecker) -> None:
        self.rule = CATALOGUE[self.rule_id]
        self.checker = checker
        self.config = checker.config
        self._pending: dict[Any, _Deadline] = {}

    def active(self) -> bool:
        """Whether this monitor applies under the checker's configuration."""
        return True

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        raise NotImplementedError

    # --- helpers for subclasses ---------------------------------------------------

    def violate(self, line: int, rec: TraceRecord, message: str,
                trigger: tuple[int, TraceRecord] | None = None) -> None:
        self.checker._report(self, rec.device, rec.t, message, line, trigger)

    def expect(self, key: Any, device: str | None, window: float, line: int, rec: TraceRecord,
               message: str, *, wake_window: float | None = None) -> None:
        """Open an expectation: unless :meth:`fulfil` is called for ``key`` within
        ``window`` seconds, ``message`` is reported. If it falls due while the
        device is suspended, it is due again ``wake_window`` (default ``window``)
        seconds after the device is back."""
        old = self._pending.pop(key, None)
        if old is not None:
            old.cancelled = True
        extra = self.checker.extra_latency(rec.t, window) if device is not None else 0.0
        window += extra
        deadline = _Deadline(self, key, device, rec.t + window, window, (line, rec), message,
                             (window if wake_window is None else wake_window + extra))
        self._pending[key] = deadline
        self.checker._arm(deadline)

    def fulfil(self, key: Any) -> None:
        deadline = self._pending.pop(key, None)
        if deadline is not None:
            deadline.cancelled = True

    def waiting(self, key: Any) -> bool:
        return key in self._pending

    def cancel_device(self, device: str) -> None:
        for key, deadline in list(self._pending.items()):
            if deadline.device == device:
                deadline.cancelled = True
                del self._pending[key]

    def expired(self, deadline: _Deadline, dev: DeviceView | None) -> bool:
        """Whether an expectation that ran out is reported (default: yes)."""
        return True


# --- SSM setup and license -------------------------------------------------------------


class _BeforeLicense(Monitor):
    rule_id = "ssm.setup.before-license"
    kinds = frozenset({"license_request_sent"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is not None and dev.under_ssm and dev.setup_ok_generation != dev.generation:
            self.violate(line, rec, "license request sent before a successful SSM setup of "
                                    "this playback")


class _EveryPlayback(Monitor):
    rule_id = "ssm.setup.every-playback"
    kinds = frozenset({"playback_started"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is not None and dev.under_ssm and dev.setup_sent_generation != dev.generation:
            self.violate(line, rec, "playback started without an SSM setup for it")


class _NoSsmNoTraffic(Monitor):
    rule_id = "ssm.no-ssm-no-traffic"
    kinds = frozenset({"ssm_setup_sent", "heartbeat_sent", "ssm_teardown_sent"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is not None and dev.ssm is False:
            self.violate(line, rec, f"{rec.kind} from a device configured without an SSM "
                                    "server URL")


class _CarriesToken(Monitor):
    rule_id = "ssm.license.carries-token"
    kinds = frozenset({"license_request_sent"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None or not dev.under_ssm or dev.setup_ok_generation != dev.generation:
            return
        token = rec.data.get("ssm_token")
        if token is None:
            self.violate(line, rec, "license request carries no SSM session token")
        elif token != dev.setup_token:
            self.violate(line, rec, f"license request carries token {token!r}, not the "
                                    f"session token {dev.setup_token!r} the setup answered")


class _LimitRefuses(Monitor):
    rule_id = "ssm.setup.limit-refuses"
    kinds = frozenset({"ssm_session_created"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        account, active = rec.data.get("account"), rec.data.get("active")
        if not isinstance(account, str) or not isinstance(active, int):
            return
        limit = self.config.limit_of(account)
        if limit is not None and active > limit:
            self.violate(line, rec, f"account {account!r} has {active} live SSM sessions, "
                                    f"over its limit of {limit}")


class _FailureStops(Monitor):
    rule_id = "ssm.setup.failure-stops"
    kinds = frozenset({"ssm_setup_error", "license_request_sent", "playback_started"})

    def __init__(self, checker: TraceChecker) -> None:
        super().__init__(checker)
        self._failed: dict[str, int] = {}

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind == "ssm_setup_error":
            self._failed[dev.name] = dev.generation
        elif self._failed.get(dev.name) == dev.generation:
            self.violate(line, rec, f"{rec.kind} after the SSM setup of this playback failed")


class _NoSelfLimit(Monitor):
    rule_id = "ssm.zap.no-self-limit"
    kinds = frozenset({"ssm_setup_refused"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is not None and rec.data.get("ssm_code") == 1007 and dev.teardowns_on_wire:
            self.violate(line, rec, "setup refused at the session limit while this device's "
                                    "own teardown had not reached the server yet")


# --- heartbeats --------------------------------------------------------------------------


class _KeepsSession(Monitor):
    rule_id = "ssm.heartbeat.keeps-session"
    kinds = frozenset({"ssm_setup_answered", "heartbeat_sent", "ssm_teardown_sent",
                       "ssm_heartbeat_error", "app_relaunched"})
    in_pip = False

    def active(self) -> bool:
        return self.config.heartbeats_traced

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if dev.held and dev.period > 0 and rec.kind in ("ssm_setup_answered", "heartbeat_sent"):
            self.expect(dev.name, dev.name, dev.period + self.config.heartbeat_slack, line, rec,
                        f"no heartbeat within {dev.period:g}s (+{self.config.heartbeat_slack:g}s)"
                        " while holding an SSM session", wake_window=self.config.heartbeat_slack)
        elif not dev.held:
            self.fulfil(dev.name)

    def expired(self, deadline: _Deadline, dev: DeviceView | None) -> bool:
        in_pip = dev is not None and dev.app == "pip"
        return in_pip == self.in_pip


class _PipRunsNormally(_KeepsSession):
    rule_id = "ssm.pip.runs-normally"
    in_pip = True


class _TokenRotation(Monitor):
    """Each heartbeat carries the token the previous one's answer rotated in.

    A heartbeat sent before the previous answer came back (a slow link) reuses
    its token: whichever of the two reaches the server second is stale and the
    session is lost. That race is what this rule reports, as DOMAIN.md asks.
    """

    rule_id = "ssm.heartbeat.token-rotation"
    kinds = frozenset({"heartbeat_sent"})

    def __init__(self, checker: TraceChecker) -> None:
        super().__init__(checker)
        self._sent: dict[str, set[str]] = {}

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        token = rec.data.get("token")
        if dev is None or not isinstance(token, str):
            return
        sent = self._sent.setdefault(dev.name, set())
        if token in sent:
            self.violate(line, rec, f"heartbeat reuses token {token!r} of an earlier heartbeat: "
                                    "one of the two is stale at the server")
        sent.add(token)


class _BackgroundSuspends(Monitor):
    rule_id = "ssm.background.suspends"
    kinds = frozenset({"heartbeat_sent"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if rec.app == "background":
            self.violate(line, rec, "heartbeat sent while the app is suspended in normal "
                                    "background")


class _SessionExpires(Monitor):
    rule_id = "ssm.session.expires"
    kinds = frozenset({"ssm_session_created", "ssm_heartbeat", "ssm_session_ended",
                       "ssm_session_evicted", "ssm_session_expired"})

    def __init__(self, checker: TraceChecker) -> None:
        super().__init__(checker)
        self._last: dict[Any, float] = {}

    def active(self) -> bool:
        return self.config.session_timeout is not None

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        timeout = self.config.session_timeout
        session = rec.data.get("session")
        if timeout is None or session is None:
            return
        if rec.kind in ("ssm_session_created", "ssm_heartbeat"):
            self._last[session] = rec.t
            self.expect(
                session, None, timeout + _EPS, line, rec,
                f"session {session} had no heartbeat for {timeout:g}s but did not expire")
            return
        self.fulfil(session)
        last = self._last.pop(session, None)
        if rec.kind == "ssm_session_expired" and last is not None and rec.t < last + timeout - _EPS:
            self.violate(line, rec, f"session {session} expired {rec.t - last:g}s after its last "
                                    f"heartbeat, before the {timeout:g}s timeout")


# --- teardown ------------------------------------------------------------------------------


class _ExpectRelease(Monitor):
    """Shared: an action (or state) that must release the held session."""

    trigger_actions: ClassVar[frozenset[str]] = frozenset()
    what: ClassVar[str] = ""

    def triggers(self, rec: TraceRecord, dev: DeviceView) -> bool:
        return rec.kind == "action" and rec.data.get("name") in self.trigger_actions

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if dev.held_before and not dev.held:
            self.fulfil(dev.name)
        if dev.held and self.triggers(rec, dev):
            self.expect(dev.name, dev.name, self.config.reaction_window, line, rec,
                        f"{self.what} sent no SSM teardown of the session it held")


class _TeardownOnStop(_ExpectRelease):
    rule_id = "ssm.teardown.on-stop"
    kinds = frozenset({"action", "ssm_teardown_sent", "ssm_heartbeat_error"})
    trigger_actions = frozenset({"stop"})
    what = "stop"

    def triggers(self, rec: TraceRecord, dev: DeviceView) -> bool:
        return super().triggers(rec, dev) and dev.name not in self.config.keeps_item_on_stop


class _TeardownOnItemRelease(_ExpectRelease):
    rule_id = "ssm.teardown.on-item-release"
    kinds = frozenset({"action", "ssm_teardown_sent", "ssm_heartbeat_error", "state_changed"})
    trigger_actions = frozenset({"release_item"})
    what = "releasing the player item"

    def triggers(self, rec: TraceRecord, dev: DeviceView) -> bool:
        if rec.kind == "state_changed":
            return (rec.data.get("playback") == "failed"
                    and rec.data.get("playback_from") != "failed")
        return super().triggers(rec, dev)


class _ZapReplaces(Monitor):
    rule_id = "ssm.zap.replaces-session"
    kinds = frozenset({"action", "ssm_teardown_sent", "ssm_setup_sent", "ssm_heartbeat_error",
                       "state_changed", "media_answered"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if dev.held_before and not dev.held:
            self.fulfil((dev.name, "teardown"))
        if rec.kind == "ssm_setup_sent" or not dev.under_ssm \
                or rec.playback in ("failed", "stopped", "idle") \
                or (rec.kind == "action" and rec.data.get("name") in ("play", "zap", "stop")):
            # Set up; or the new stream failed (KS, media) or is not under SSM; or the user
            # moved on (another zap, a stop) before it could be set up: no setup due.
            self.fulfil((dev.name, "setup"))
        if rec.kind == "action" and rec.data.get("name") == "zap" and dev.held:
            window = self.config.reaction_window
            self.expect((dev.name, "teardown"), dev.name, window, line, rec,
                        "zap sent no teardown of the session the old stream held")
            self.expect((dev.name, "setup"), dev.name, window, line, rec,
                        "zap sent no SSM setup for the new stream")


class _Answers204(Monitor):
    rule_id = "ssm.teardown.answers-204"
    kinds = frozenset({"ssm_teardown_answered"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if _ok(rec.data) and rec.data.get("http_status") != 204:
            self.violate(line, rec, f"successful teardown answered HTTP "
                                    f"{rec.data.get('http_status')}, not 204")


class _KillNoTeardown(Monitor):
    rule_id = "ssm.kill.no-teardown"
    kinds = frozenset({"ssm_setup_sent", "heartbeat_sent", "ssm_teardown_sent",
                       "license_request_sent", "action", "ssm_session_ended", "app_killed"})

    def __init__(self, checker: TraceChecker) -> None:
        super().__init__(checker)
        self._in_flight: dict[str, int] = {}  # teardowns already sent when the app was killed

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None or not dev.killed:
            return
        if rec.kind == "app_killed":
            self._in_flight[dev.name] = dev.teardowns_on_wire
            return
        if rec.kind == "ssm_session_ended" and self._in_flight.get(dev.name, 0) > 0:
            self._in_flight[dev.name] -= 1  # sent before the kill, it arrived after it
            return
        what = ("its session was torn down" if rec.kind == "ssm_session_ended"
                else f"it did {rec.kind}")
        self.violate(line, rec, f"the app was killed, yet {what}")


# --- sync mode -------------------------------------------------------------------------------


class _SyncBlocks(Monitor):
    rule_id = "ssm.sync.blocks-main-thread"
    kinds = frozenset({"ssm_setup_sent", "ssm_teardown_sent", "action"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None or dev.sync is None:
            return
        blocking = rec.data.get("blocking")
        if rec.kind == "ssm_setup_sent" and blocking is not dev.sync:
            mode = "on" if dev.sync else "off"
            self.violate(line, rec, f"SSM setup sent with blocking={blocking} while "
                                    f"syncSSMSetupTeardown is {mode}")
        elif rec.kind == "ssm_teardown_sent" and blocking and not dev.sync:
            self.violate(line, rec, "SSM teardown blocked the main thread while "
                                    "syncSSMSetupTeardown is off")
        elif rec.kind == "action" and dev.blocked:
            self.violate(line, rec, f"action {rec.data.get('name')!r} ran while a synchronous "
                                    "SSM request blocked the main thread")


# --- error notifications ------------------------------------------------------------------------


class _Notified(Monitor):
    """A failed SSM answer must post its notification to the device."""

    answer_kind: ClassVar[str]
    error_kind: ClassVar[str]
    body_only: ClassVar[bool] = False

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind == self.error_kind:
            self.fulfil(dev.name)
        elif rec.kind == self.answer_kind and self.applies(rec, dev) and not _ok(rec.data):
            status = rec.data.get("http_status")
            if self.body_only and not (isinstance(status, int) and 200 <= status < 300):
                return
            self.expect(dev.name, dev.name, self.config.reaction_window, line, rec,
                        f"{self.answer_kind} failed (HTTP {status}, SSM code "
                        f"{rec.data.get('ssm_code')}) but no {self.error_kind} was posted")
        elif not dev.held and self.answer_kind == "ssm_heartbeat_refused":
            self.fulfil(dev.name)  # the session was released meanwhile: the answer is dropped

    def applies(self, rec: TraceRecord, dev: DeviceView) -> bool:
        return True


class _SetupNotified(_Notified):
    rule_id = "ssm.errors.setup-notified"
    kinds = frozenset({"ssm_setup_answered", "ssm_setup_error"})
    answer_kind = "ssm_setup_answered"
    error_kind = "ssm_setup_error"

    def applies(self, rec: TraceRecord, dev: DeviceView) -> bool:
        return dev.setup_current


class _TeardownNotified(_Notified):
    rule_id = "ssm.errors.teardown-notified"
    kinds = frozenset({"ssm_teardown_answered", "ssm_teardown_error"})
    answer_kind = "ssm_teardown_answered"
    error_kind = "ssm_teardown_error"


class _HeartbeatNotified(_Notified):
    rule_id = "ssm.errors.heartbeat-notified"
    kinds = frozenset({"ssm_heartbeat_refused", "ssm_heartbeat_error", "ssm_teardown_sent",
                       "app_relaunched"})
    answer_kind = "ssm_heartbeat_refused"
    error_kind = "ssm_heartbeat_error"

    def applies(self, rec: TraceRecord, dev: DeviceView) -> bool:
        return dev.held


class _BodyDecides(Monitor):
    """A 200 carrying an SSM error code is a failure: each kind must be notified."""

    rule_id = "ssm.errors.body-decides"
    kinds = frozenset({"ssm_setup_answered", "ssm_teardown_answered", "ssm_heartbeat_refused",
                       "ssm_setup_error", "ssm_teardown_error", "ssm_heartbeat_error",
                       "ssm_teardown_sent", "app_relaunched"})
    _PAIRS: ClassVar[dict[str, str]] = {"ssm_setup_answered": "ssm_setup_error",
                                        "ssm_teardown_answered": "ssm_teardown_error",
                                        "ssm_heartbeat_refused": "ssm_heartbeat_error"}

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind in self._PAIRS.values():
            self.fulfil((dev.name, rec.kind))
            return
        if not dev.held:
            self.fulfil((dev.name, "ssm_heartbeat_error"))
        error = self._PAIRS.get(rec.kind)
        status = rec.data.get("http_status")
        if (error is None or rec.data.get("ssm_code") is None
                or not (isinstance(status, int) and 200 <= status < 300)):
            return
        if rec.kind == "ssm_setup_answered" and not dev.setup_current:
            return
        if rec.kind == "ssm_heartbeat_refused" and not dev.held:
            return
        self.expect((dev.name, error), dev.name, self.config.reaction_window, line, rec,
                    f"HTTP {status} with SSM code {rec.data.get('ssm_code')} in the body was "
                    f"taken as success: no {error} was posted")


class _CarryCodes(Monitor):
    rule_id = "ssm.errors.carry-codes"
    kinds = frozenset({"ssm_setup_error", "ssm_teardown_error", "ssm_heartbeat_error"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        data = rec.data
        missing = [k for k in ("http_status", "ssm_code", "message") if k not in data]
        if missing:
            self.violate(line, rec, f"{rec.kind} lacks {', '.join(missing)}")
        elif not isinstance(data["http_status"], int) or not isinstance(data["message"], str):
            self.violate(line, rec, f"{rec.kind} has a non-integer http_status or a non-string "
                                    "message")


class _StopPlayback(Monitor):
    rule_id = "ssm.errors.stop-playback"
    kinds = frozenset({"ssm_setup_error", "ssm_heartbeat_error", "action", "state_changed",
                       "app_killed"})

    def __init__(self, checker: TraceChecker) -> None:
        super().__init__(checker)
        self._errored: dict[str, int] = {}

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        errored = self._errored.get(dev.name)
        if rec.kind in ("ssm_setup_error", "ssm_heartbeat_error"):
            if rec.playback in ACTIVE:
                self._errored[dev.name] = dev.generation
                self.expect(dev.name, dev.name, self.config.reaction_window, line, rec,
                            f"playback continued after {rec.kind}: not stopped, zapped away "
                            "from or failed")
            return
        if errored is None:
            return
        if errored != dev.generation or rec.playback not in ACTIVE or dev.killed:
            self.fulfil(dev.name)
            del self._errored[dev.name]
        elif rec.kind == "action" and rec.data.get("name") == "resume":
            self.violate(line, rec, "playback resumed after an SSM error notification")


# --- background -------------------------------------------------------------------------------


class _ResumeIfNoError(Monitor):
    rule_id = "ssm.background.resume-if-no-error"
    kinds = frozenset({"action"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is not None and rec.data.get("name") == "resume" and dev.ssm_error:
            self.violate(line, rec, "playback resumed although an SSM error notification was "
                                    "posted for it")


class _HeartbeatErrorZap(Monitor):
    rule_id = "ssm.background.heartbeat-error-zap"
    kinds = frozenset({"ssm_heartbeat_error", "action"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind == "ssm_heartbeat_error":
            stream = rec.data.get("stream")
            if rec.playback in ACTIVE and stream is not None:
                self.expect((dev.name, stream), dev.name, self.config.reaction_window, line, rec,
                            f"no zap to the same stream {stream!r} after ssm_heartbeat_error")
        elif rec.data.get("name") == "zap":
            self.fulfil((dev.name, rec.data.get("stream")))


# --- session providers -------------------------------------------------------------------


class _KsCompletes(Monitor):
    """Every ``ks_requested`` of a device is answered by one ``ks_answered``, in order,
    within :attr:`window` seconds (the Android refresh race drops one for ever)."""

    rule_id = "provider.ks.completes"
    kinds = frozenset({"ks_requested", "ks_answered", "app_killed", "app_relaunched"})
    #: Seconds a token request may take: refreshes and slow links included.
    window: ClassVar[float] = 300.0

    def __init__(self, checker: TraceChecker) -> None:
        super().__init__(checker)
        self._open: dict[str, deque[int]] = {}
        self._seq = itertools.count()

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        waiting = self._open.setdefault(dev.name, deque())
        if rec.kind in ("app_killed", "app_relaunched"):
            waiting.clear()  # a killed app's requests die with it
        elif rec.kind == "ks_requested":
            key = next(self._seq)
            waiting.append(key)
            self.expect((dev.name, key), dev.name, max(self.window, self.config.reaction_window),
                        line, rec, "a session-token request was never completed: its "
                        "completion was dropped")
        elif waiting:
            self.fulfil((dev.name, waiting.popleft()))
        else:
            self.violate(line, rec, "a session-token completion came with no request "
                                    "waiting: a request was completed twice")


#: Every SSM monitor class (the providers' are in :mod:`._provider_monitors`).
MONITORS: Final[tuple[type[Monitor], ...]] = (
    _BeforeLicense, _EveryPlayback, _NoSsmNoTraffic, _CarriesToken, _LimitRefuses,
    _FailureStops, _KeepsSession, _TeardownOnStop, _TeardownOnItemRelease, _SyncBlocks,
    _SetupNotified, _TeardownNotified, _HeartbeatNotified, _CarryCodes, _StopPlayback,
    _BackgroundSuspends, _ResumeIfNoError, _HeartbeatErrorZap, _PipRunsNormally,
    _TokenRotation, _SessionExpires, _Answers204, _BodyDecides, _ZapReplaces, _NoSelfLimit,
    _KillNoTeardown, _KsCompletes,
)


class TraceChecker:
    """Checks records against the monitors of ``rules`` (default: every rule with one).

    Feed records in trace order with :meth:`feed` (or a growing trace with
    :meth:`catch_up`); call :meth:`finish` at the end. ``violations`` holds
    every violation found so far, in the order found.
    """

    def __init__(self, config: CheckConfig | None = None, *,
                 rules: Collection[str] | None = None,
                 monitors: Iterable[type[Monitor]] = ()) -> None:
        self.config = config if config is not None else CheckConfig()
        from ._provider_monitors import PROVIDER_MONITORS

        classes = [*MONITORS, *PROVIDER_MONITORS, *monitors]
        if rules is not None:
            unknown = sorted(set(rules) - set(CATALOGUE))
            if unknown:
                raise KeyError(f"no rule {unknown[0]!r} in the catalogue "
                               "('player-sim rules' lists them)")
            classes = [c for c in classes if c.rule_id in rules]
        self.monitors = [m for m in (c(self) for c in classes) if m.active()]
        self._by_kind: dict[str, list[Monitor]] = {}
        for m in self.monitors:
            for kind in sorted(m.kinds):
                self._by_kind.setdefault(kind, []).append(m)
        self._devices: dict[str, DeviceView] = {}
        self._latencies: list[tuple[float, float, float]] = []
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._seq = itertools.count()
        self._line = 0
        self._recent: deque[tuple[int, TraceRecord]] = deque(maxlen=_EXCERPT)
        self._new: list[Violation] = []
        self.violations: list[Violation] = []
        self.now = 0.0

    @property
    def rules(self) -> list[str]:
        """The ids of the rules this checker monitors."""
        return sorted({m.rule_id for m in self.monitors})

    def extra_latency(self, t: float, window: float) -> float:
        """Seconds to add to a device's window opened at ``t``: twice (there and back)
        each extra latency planned (``latency_planned`` records) near ``[t, t + window]``."""
        return sum(2 * extra for start, end, extra in self._latencies
                   if start <= t + window and end + extra >= t)

    def device(self, name: str) -> DeviceView:
        view = self._devices.get(name)
        if view is None:
            view = self._devices[name] = DeviceView(name)
        return view

    # --- feeding -----------------------------------------------------------------------

    def feed(self, record: TraceRecord) -> list[Violation]:
        """Check one more record; return the violations it revealed."""
        self._new = []
        self._line += 1
        line = self._line
        self._advance(record.t)
        self.now = record.t
        if record.kind == "latency_planned":
            data = record.data
            # A latency this checker can't read leaves the windows as they are.
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self._latencies.append((float(data["start"]), float(data["end"]),
                                        float(data["extra"])))
        dev = self.device(record.device) if record.device is not None else None
        if dev is not None:
            dev.update(record)
            if dev.suspended and record.app not in (None, "background"):
                self._wake(dev, record.t)
            if record.kind == "app_killed":
                for m in self.monitors:
                    m.cancel_device(dev.name)
                dev.suspended.clear()
        if dev is not None:
            dev.recent.append((line, record))
        self._recent.append((line, record))
        for monitor in self._by_kind.get(record.kind, ()):
            monitor.observe(line, record, dev)
        return self._new

    def catch_up(self, trace: Trace | Sequence[TraceRecord]) -> list[Violation]:
        """Feed the records of ``trace`` not fed yet (for a trace that keeps growing)."""
        found: list[Violation] = []
        for index in range(self._line, len(trace)):
            found += self.feed(trace[index])
        return found

    def finish(self, end: float | None = None) -> list[Violation]:
        """Close the run at virtual time ``end`` (default: the last record's time).

        Expectations due before ``end`` are violations; later ones are not.
        """
        self._new = []
        end_time = self.now if end is None else max(end, self.now)
        self._advance(end_time + _EPS / 2)
        return self._new

    # --- internals -----------------------------------------------------------------------

    def _arm(self, deadline: _Deadline) -> None:
        heapq.heappush(self._heap, (deadline.due, next(self._seq), deadline))

    def _advance(self, t: float) -> None:
        heap = self._heap
        while heap and heap[0][0] < t - 1e-9:
            _, _, deadline = heapq.heappop(heap)
            if deadline.cancelled:
                continue
            dev = self._devices.get(deadline.device) if deadline.device is not None else None
            if dev is not None and dev.app == "background":
                dev.suspended.append(deadline)
                continue
            deadline.monitor._pending.pop(deadline.key, None)
            deadline.cancelled = True
            if deadline.monitor.expired(deadline, dev):
                self._report(deadline.monitor, deadline.device, deadline.due, deadline.message,
                             self._line, deadline.trigger)

    def _wake(self, dev: DeviceView, t: float) -> None:
        waiting, dev.suspended = dev.suspended, []
        for deadline in waiting:
            if not deadline.cancelled:
                deadline.due = t + deadline.wake_window
                self._arm(deadline)

    def _report(self, monitor: Monitor, device: str | None, t: float, message: str, line: int,
                trigger: tuple[int, TraceRecord] | None) -> None:
        source = self._devices[device].recent if device in self._devices else self._recent
        excerpt = list(source)
        if trigger is not None and trigger not in excerpt:
            excerpt.insert(0, trigger)
        violation = Violation(monitor.rule, device, t, message, line, tuple(excerpt))
        self._new.append(violation)
        self.violations.append(violation)


def check_trace(trace: Trace | Iterable[TraceRecord], config: CheckConfig | None = None, *,
                rules: Collection[str] | None = None, end: float | None = None) -> list[Violation]:
    """Every violation of the catalogue's rules (or of ``rules``) in a finished trace."""
    checker = TraceChecker(config, rules=rules)
    for record in trace:
        checker.feed(record)
    checker.finish(end)
    return checker.violations
