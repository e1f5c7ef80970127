"""The simulated SSM (Secure Session Manager) server.

Rules (``seeds/000_7011756516eda0b2.txt`` and ``DOMAIN.md``):

* setup answers a session token and the heartbeat period; "If the request for
  a session token fails (potentially due to too many existing playback
  sessions)" the setup is refused with 1007 and no session is created;
* every successful heartbeat rotates the token: the next call must carry the
  new one; a stale or unknown token fails with 1006;
* a session whose heartbeats stop expires ``session_timeout`` seconds after the
  last one (default: two heartbeat periods plus ``grace_period``): the slot of
  a killed app's "zombie session" is held until then, and ended at that very
  moment (by one expiry check per session, or by one sweep for all of them:
  see ``SsmServer``);
* teardown answers 204 and frees the slot;
* the operator can kill a device's or an account's sessions
  (``killDeviceSessions``, ``killAccountSessions``): their next heartbeat fails;
* ids are keyed by the device (randomness by stable key): its sessions are
  ``<device>/1``, ``<device>/2`` ..., and its tokens come from its own stream
  (``ssm-<device>-<n>-<hex>``, see ``World.new_token``);
* limits per account (the common one), and optionally per device group, per
  channel group (``channel_groups`` maps a stream to its group), per client IP
  and on the number of IPs per account; at a limit the server
  refuses the new session (``"refuse-new"``, the SSM default) or evicts the
  oldest one (``"evict-oldest"``, as other vendors do);
* ``legacy_status_200`` answers HTTP 200 even for a denial, with the error in
  the body, as the older SRM session API did (DOMAIN.md: documented for SRM,
  not for SSM; kept as a named variant).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, Protocol, cast, get_args

import attrs

from .._errors import ConfigError
from .._messages import ContentToken, SsmAnswer
from .._validators import limit_or_none, non_negative, one_of, positive, positive_or_none, typed
from ._faults import Fault, ForcedFaults

__all__ = ["DEFAULT_HTTP_STATUS", "LIMIT_POLICIES", "SSM_ERROR_CODES", "LimitPolicy", "SsmCode",
           "SsmConfig", "SsmErrorCode", "SsmServer", "SsmSession", "ssm_codes_markdown"]


class SsmErrorCode(enum.IntEnum):
    """The SSM server error codes the simulator answers by itself (all the codes WIRE.md
    lists are in :data:`SSM_ERROR_CODES`; forced errors may carry any of them)."""

    INVALID_AUTH_TOKEN = 1003
    INVALID_TOKEN = 1006
    MAX_SESSIONS_EXCEEDED = 1007
    SESSION_MANAGEMENT_DISABLED = 1008
    EXTERNAL_SESSION_ID_IN_USE = 1018
    SSM_NOT_AVAILABLE = 4001


@attrs.frozen
class SsmCode:
    """One SSM error code of the SDK docs' list (WIRE.md): its meaning where public, and
    the HTTP status the simulated server answers it with (``status_source`` says whose
    choice that is: the real status per code is not public)."""

    code: int
    meaning: str
    http_status: int
    status_source: str


_OURS: Final = "ours (not public)"
_NOT_PUBLIC: Final = "listed in the SDK docs; meaning not public"

#: Every SSM error code WIRE.md lists, in order, with its default HTTP status.
SSM_ERROR_CODES: Final[tuple[SsmCode, ...]] = (
    SsmCode(1000, _NOT_PUBLIC, 400, _OURS),
    SsmCode(1001, _NOT_PUBLIC, 400, _OURS),
    SsmCode(1003, "invalid auth token", 401, _OURS),
    SsmCode(1004, _NOT_PUBLIC, 400, _OURS),
    SsmCode(1005, _NOT_PUBLIC, 400, _OURS),
    SsmCode(1006, "invalid token (stale, ended, or unknown)", 401, _OURS),
    SsmCode(1007, "max active sessions exceeded", 400, "Nagra's client test fixture"),
    SsmCode(1008, "session management disabled", 403, _OURS),
    SsmCode(1009, _NOT_PUBLIC, 400, _OURS),
    SsmCode(1011, _NOT_PUBLIC, 400, _OURS),
    SsmCode(1012, _NOT_PUBLIC, 400, _OURS),
    SsmCode(1013, _NOT_PUBLIC, 400, _OURS),
    SsmCode(1017, _NOT_PUBLIC, 400, _OURS),
    SsmCode(1018, "external session id already in use", 409, _OURS),
    SsmCode(3001, _NOT_PUBLIC, 400, _OURS),
    SsmCode(3004, _NOT_PUBLIC, 400, _OURS),
    SsmCode(4000, _NOT_PUBLIC, 400, _OURS),
    SsmCode(4001, "SSM not available", 503, _OURS),
)

#: HTTP status answered with each error code unless ``SsmConfig.error_http_status`` says
#: otherwise (derived from :data:`SSM_ERROR_CODES`).
DEFAULT_HTTP_STATUS: Final[Mapping[int, int]] = {c.code: c.http_status for c in SSM_ERROR_CODES}


def ssm_codes_markdown() -> str:
    """The README's table of SSM error codes and their default HTTP status."""
    rows = ["| code | meaning | HTTP status | whose choice |", "|---|---|---|---|"]
    rows += [f"| {c.code} | {c.meaning} | {c.http_status} | {c.status_source} |"
             for c in SSM_ERROR_CODES]
    return "\n".join(rows) + "\n"

#: What the server does at a limit: refuse the new session (the SSM default) or evict the
#: oldest one.
LimitPolicy = Literal["refuse-new", "evict-oldest"]
LIMIT_POLICIES: Final[tuple[LimitPolicy, ...]] = get_args(LimitPolicy)


def _check_limits_map(_: object, attribute: attrs.Attribute[Any], value: Mapping[str, int]
                      ) -> None:
    for account, limit in value.items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"{attribute.name}[{account!r}] must be a positive number of "
                              f"sessions, not {limit!r}")


def _check_groups(_: object, attribute: attrs.Attribute[Any], value: Mapping[str, str]) -> None:
    for stream, group in value.items():
        if not isinstance(group, str) or not group:
            raise ConfigError(f"{attribute.name}[{stream!r}] must name a channel group, "
                              f"not {group!r}")


@attrs.frozen(field_transformer=typed)
class SsmConfig:
    """How the SSM server behaves. Every field is documented in the README."""

    max_sessions_per_account: int | None = attrs.field(default=2, validator=limit_or_none)
    account_limits: Mapping[str, int] = attrs.field(factory=dict, validator=_check_limits_map)
    max_sessions_per_device_group: int | None = attrs.field(default=None,
                                                            validator=limit_or_none)
    max_sessions_per_ip: int | None = attrs.field(default=None, validator=limit_or_none)
    max_ips_per_account: int | None = attrs.field(default=None, validator=limit_or_none)
    max_sessions_per_channel_group: int | None = attrs.field(default=None,
                                                             validator=limit_or_none)
    channel_groups: Mapping[str, str] = attrs.field(factory=dict, validator=_check_groups)
    limit_policy: LimitPolicy = attrs.field(default="refuse-new",
                                            validator=one_of(LIMIT_POLICIES))
    heartbeat_period: float = attrs.field(default=30.0, validator=positive)
    grace_period: float = attrs.field(default=10.0, validator=non_negative)
    session_timeout: float | None = attrs.field(default=None, validator=positive_or_none)
    enabled: bool = True
    legacy_status_200: bool = False
    error_http_status: Mapping[int, int] = attrs.field(factory=lambda: dict(DEFAULT_HTTP_STATUS))

    @property
    def effective_session_timeout(self) -> float:
        """How long after its last setup or heartbeat a session expires."""
        if self.session_timeout is not None:
            return self.session_timeout
        return 2 * self.heartbeat_period + self.grace_period


@attrs.define(slots=True, eq=False)
class SsmSession:
    """One session as the server holds it."""

    session_id: str
    account: str
    device: str
    stream: str
    ip: str | None
    device_group: str | None
    token: str
    previous_token: str | None
    created_at: float
    expires_at: float
    heartbeats: int = 0


class _Host(Protocol):
    """What a backend needs from the world it lives in."""

    now: float

    def schedule_at(self, time: float, callback: Callable[[Any], None], arg: Any) -> None: ...
    def record(self, device: str | None, kind: str, data: Mapping[str, Any]) -> None: ...
    def new_token(self, prefix: str, key: str) -> str:
        """A token for ``key`` (a device, else a user) from that key's own stream."""
        ...


class _StampingHost(_Host, Protocol):
    """A host that keeps its records in a :class:`~player_sim.trace.Trace`, ``trace`` (a
    :class:`~player_sim.World` is one), and offers stamps for them: the server writes a
    traced heartbeat's record by its stamp (``Trace.write_stamped``), cached per device.
    Optional: a host without ``record_stamp`` gets every record through ``record``."""

    trace: Any

    def record_stamp(self, device: str | None, kind: str, names: tuple[str, ...]
                     ) -> int | None:
        """A stamp in ``trace`` as it is now for the records ``record(device, kind, data)``
        writes whose ``data`` has the fields ``names``, in that order (written by
        ``trace.write_stamped(now, stamp, values)`` at a float ``now``, while ``trace``
        is that trace); ``None``: write them with ``record``."""
        ...


#: The data fields of a traced heartbeat's record (``ssm_heartbeat``, not a renewal).
_HEARTBEAT_FIELDS: Final = ("session",)


ENDPOINTS: Final = ("setup", "heartbeat", "teardown")
_ENDED_HOW: Final = {"ssm_session_ended": "was torn down", "ssm_session_expired": "expired",
                     "ssm_session_evicted": "was evicted by a newer session",
                     "ssm_session_killed": "was killed by an operator"}


class SsmServer:
    """Sessions per account, token rotation, expiry, limits and forced errors.

    How expiry is scheduled on the host: by default each session has its own
    check, at its expiry, which schedules itself again if the session was extended
    meanwhile (the explorer's host offers each check as an input; a world counts
    each as an event, and those counts add up over a fleet's shards). With
    ``expiry_sweep`` one event, the sweep,
    waits for the earliest expiry of all, ends the sessions due and waits for the
    next: one pending event for the whole server instead of one per session, a
    third of a large world's queue otherwise. Either way a session ends at the
    moment it expires; sessions due at the same moment end in the order they were
    last extended (the sweep) or their checks were scheduled (per session).
    """

    def __init__(self, config: SsmConfig, host: _Host, *, trace_heartbeats: bool = True,
                 expiry_sweep: bool = False) -> None:
        self.config = config
        self._host = host
        self._trace_heartbeats = trace_heartbeats
        self._stamps_from(host)
        self._timeout = config.effective_session_timeout
        self._sessions: dict[str, SsmSession] = {}
        self._by_token: dict[str, SsmSession] = {}
        self._by_account: dict[str, dict[str, SsmSession]] = {}
        self._expiry_floor: dict[str, float] = {}  # see _active_count
        self._ended: dict[str, str] = {}  # last token of each ended session -> how it ended
        self._sessions_of: dict[str, int] = {}  # sessions created per device, for their ids
        self.faults = ForcedFaults(ENDPOINTS)
        self._lose: dict[str, int] = {}  # endpoint -> answers still to lose
        #: Whether answers planned lost (:meth:`lose_next`) are still to be lost: while
        #: ``False``, :meth:`answer_lost` answers ``False`` for every endpoint (a world asks
        #: it only then: every heartbeat would). Read-only.
        self.losing = False
        # With the expiry sweep: the live sessions in the order they expire (see _sweep),
        # and whether the sweep is scheduled. None: one expiry check per session.
        self._expiry_order: dict[SsmSession, None] | None = {} if expiry_sweep else None
        self._sweeping = False
        #: The per-session check, bound once: the host holds it for every live session.
        self._check = self._check_expiry

    # --- queries ----------------------------------------------------------------

    def active_sessions(self, account: str | None = None) -> list[SsmSession]:
        """Sessions not yet torn down nor expired, oldest first (of ``account`` if given)."""
        now = self._host.now
        pool = self._sessions if account is None else self._by_account.get(account, {})
        return [s for s in pool.values() if s.expires_at > now]

    def _active_count(self, account: str) -> int:
        """``len(self.active_sessions(account))``, without looking at every session of a
        large account at every setup (that made creating N devices of one account
        quadratic).

        ``_expiry_floor[account]`` is a time before which no session of the account's
        pool expires: a lower bound, lowered as sessions are created, and only ever
        wrong on the safe side since the server moves a session's expiry only later
        (a heartbeat) and ending one removes it from the pool. Before the floor every
        session of the pool is live: the count is the pool's size. Otherwise (or with
        no floor yet) the sessions are counted, and the floor becomes the earliest
        expiry among them, those expired but not yet ended included.
        """
        pool = self._by_account.get(account)
        if not pool:
            return 0
        now = self._host.now
        floor = self._expiry_floor.get(account)
        if floor is not None and now < floor:
            return len(pool)
        count, floor = 0, math.inf
        for session in pool.values():
            expires_at = session.expires_at
            if expires_at > now:
                count += 1
            floor = min(floor, expires_at)
        self._expiry_floor[account] = floor
        return count

    def session_of(self, token: str) -> SsmSession | None:
        """The live session whose current token is ``token``."""
        session = self._by_token.get(token)
        if session is None or session.expires_at <= self._host.now:
            return None
        return session

    def limit_of(self, account: str) -> int | None:
        """The account's session limit by the server's configuration."""
        return self.config.account_limits.get(account, self.config.max_sessions_per_account)

    def is_current(self, token: str | None) -> bool:
        """Whether ``token`` is the current token of a live session."""
        return token is not None and self.session_of(token) is not None

    def fail_next(self, endpoint: str, count: int = 1, *, http_status: int,
                  ssm_code: int | None = None, message: str = "") -> None:
        """Answer the next ``count`` calls of ``endpoint`` (setup, heartbeat, teardown) so."""
        self.faults.fail_next(endpoint, count, Fault(http_status, ssm_code, message))

    def copy(self, host: _Host) -> SsmServer:
        """An independent copy of this server, living on ``host``.

        Same configuration; the sessions (each copied: the two servers never
        share a mutable object), the tokens of ended sessions, the per-device
        session counters and the forced faults and lost answers still pending
        are carried over, and the way expiry is scheduled. Each live session's
        expiry check (or the sweep, at the first expiry) is scheduled on ``host``
        at the time the session expires (the original's pending checks are not
        carried over: a check before that time would only schedule itself again).
        Nothing is recorded. The exhaustive explorer copies the server once per explored
        state, so that each branch runs the real rules on its own sessions.
        """
        new = SsmServer.__new__(SsmServer)
        new.config = self.config
        new._host = host
        new._trace_heartbeats = self._trace_heartbeats
        new._stamps_from(host)
        new._timeout = self._timeout
        new._sessions = {}
        new._by_token = {}
        new._by_account = {account: {} for account in self._by_account}
        new._expiry_floor = dict(self._expiry_floor)
        copies: dict[SsmSession, SsmSession] = {}
        for session_id, old in self._sessions.items():
            session = copies[old] = attrs.evolve(old)
            new._sessions[session_id] = session
            new._by_account[session.account][session_id] = session
        for token, old in self._by_token.items():
            copied = new._sessions.get(old.session_id)
            if copied is not None:
                new._by_token[token] = copied
        new._ended = dict(self._ended)
        new._sessions_of = dict(self._sessions_of)
        new.faults = self.faults.copy()
        new._lose = dict(self._lose)
        new.losing = self.losing
        new._sweeping = False
        new._check = new._check_expiry
        if self._expiry_order is None:
            new._expiry_order = None
            for session in new._sessions.values():
                host.schedule_at(session.expires_at, new._check, session)
        else:
            new._expiry_order = {copies[old]: None for old in self._expiry_order
                                 if old in copies}
            new._arm_sweep()
        return new

    def lose_next(self, endpoint: str, count: int = 1) -> None:
        """The server acts on the next ``count`` calls of ``endpoint`` (a session is set
        up, a token rotated, a session torn down), but their answers never reach the
        device, which waits until its own timeout (``DeviceConfig.request_timeouts``)."""
        if endpoint not in ENDPOINTS:
            raise ConfigError(f"no endpoint {endpoint!r}; expected one of {', '.join(ENDPOINTS)}")
        if count < 1:
            raise ConfigError(f"a lost answer needs a count of at least 1, not {count}")
        self._lose[endpoint] = self._lose.get(endpoint, 0) + count
        self.losing = True

    def answer_lost(self, endpoint: str) -> bool:
        """Whether the answer just given to ``endpoint`` is lost on its way back (consumes
        one planned loss)."""
        left = self._lose.get(endpoint)
        if not left:
            return False
        self._lose[endpoint] = left - 1
        if left == 1:
            self.losing = any(self._lose.values())
        return True


    # --- endpoints ------------------------------------------------------------------

    def setup(self, account: str, device: str, stream: str, ip: str | None,
              device_group: str | None, token: ContentToken | None = None, *,
              request_id: int | None = None) -> SsmAnswer:
        """A setup from ``device`` of ``account``; ``token``, the content token it
        carries, may name another account and the limit (its claims win over the
        configuration), or be empty (1003). ``request_id``, the device's id of the
        request, is written on a refusal's record (it pairs the server's answer with
        the device's)."""
        host = self._host
        rid = request_id
        fault = self.faults.take("setup")
        if fault is not None:
            return self._refuse(device, "ssm_setup_refused", fault.http_status, fault.code,
                                fault.message, forced=True, request_id=rid)
        if not self.config.enabled:
            return self._error(device, "ssm_setup_refused",
                               SsmErrorCode.SESSION_MANAGEMENT_DISABLED,
                               "session management is disabled", rid)
        limit: int | None = None
        if token is not None:
            if token.empty:
                return self._error(device, "ssm_setup_refused", SsmErrorCode.INVALID_AUTH_TOKEN,
                                   "invalid auth token: the content token is empty", rid)
            account = token.account_id or account
            limit = token.max_sessions
        refusal = self._check_limits(account, device, stream, ip, device_group, limit)
        if refusal is not None:
            return self._error(device, "ssm_setup_refused", SsmErrorCode.MAX_SESSIONS_EXCEEDED,
                               refusal, rid)
        number = self._sessions_of[device] = self._sessions_of.get(device, 0) + 1
        session = SsmSession(f"{device}/{number}", account, device, stream, ip, device_group,
                             host.new_token("ssm", device), None, host.now,
                             host.now + self._timeout)
        self._sessions[session.session_id] = session
        self._by_account.setdefault(account, {})[session.session_id] = session
        floor = self._expiry_floor.get(account)
        if floor is not None and session.expires_at < floor:
            self._expiry_floor[account] = session.expires_at
        self._by_token[session.token] = session
        order = self._expiry_order
        if order is None:
            host.schedule_at(session.expires_at, self._check, session)
        else:
            order[session] = None  # it expires last of all: the timeout is the same
            if not self._sweeping:
                self._arm_sweep()
        host.record(device, "ssm_session_created",
                    {"session": session.session_id, "account": account, "stream": stream,
                     "active": self._active_count(account),
                     "limit": limit if limit is not None else self.limit_of(account)})
        return SsmAnswer(200, None, "", session.token, self.config.heartbeat_period)

    def heartbeat(self, device: str, token: str, renewal: str | None = None, *,
                  request_id: int | None = None) -> SsmAnswer:
        """A heartbeat with ``token``: rotates it. ``renewal`` names the endpoint of an
        enforced-mode license renewal, which keeps the session alive the same way;
        ``request_id`` is the device's, carried by a refusal's record."""
        outcome = self.rotate(device, token, renewal, request_id=request_id)
        return self.success(outcome) if isinstance(outcome, str) else outcome

    def success(self, token: str) -> SsmAnswer:
        """The answer to a successful heartbeat that rotated the token to ``token``."""
        return SsmAnswer(200, None, "", token, self.config.heartbeat_period)

    def rotate(self, device: str, token: str, renewal: str | None = None, *,
               request_id: int | None = None) -> str | SsmAnswer:
        """:meth:`heartbeat`, answering a success by the session's new token alone (its
        answer is ``success(token)``) and a refusal by its answer: a simulated device
        builds the success's answer only when something reads more than the token."""
        rid = request_id
        if self.faults._queues["heartbeat"]:  # take() only when one waits: saves a call
            fault = self.faults.take("heartbeat")
            if fault is not None:
                return self._refuse(device, "ssm_heartbeat_refused", fault.http_status,
                                    fault.code, fault.message, forced=True, request_id=rid)
        host = self._host
        now = host.now
        session = self._by_token.get(token)  # session_of(token), inlined on the hot path
        if session is None or session.expires_at <= now:
            return self._error(device, "ssm_heartbeat_refused", SsmErrorCode.INVALID_TOKEN,
                               self._why_invalid(token), rid)
        del self._by_token[token]
        session.previous_token = token
        session.token = host.new_token("ssm", session.device)
        session.expires_at = now + self._timeout
        session.heartbeats += 1
        self._by_token[session.token] = session
        order = self._expiry_order
        if order is not None:  # it now expires last of all: move it to the end
            order.pop(session, None)
            order[session] = None
        if renewal is not None:
            host.record(device, "ssm_heartbeat", {"session": session.session_id,
                                                  "renewal": renewal})
        elif self._trace_heartbeats:
            # Most of a large traced world's server records: by the device's cached stamp
            # when the host offers stamps (the same record record() writes, fewer lookups).
            stamping = self._stamping
            if stamping is not None and type(now) is float:
                trace = stamping.trace
                stamp = (self._stamps.get(device) if trace is self._stamps_trace
                         else None)
                if stamp is None:
                    stamp = self._heartbeat_stamp(stamping, trace, device)
                if stamp >= 0:
                    trace.write_stamped(now, stamp, (session.session_id,))
                    return session.token
            host.record(device, "ssm_heartbeat", {"session": session.session_id})
        return session.token

    def _stamps_from(self, host: _Host) -> None:
        """Take stamped heartbeat records from ``host`` if it offers them (see
        :class:`_StampingHost`), with no stamp cached yet."""
        stamping = callable(getattr(host, "record_stamp", None))
        self._stamping = cast("_StampingHost", host) if stamping else None
        #: Per device, the stamp of its traced heartbeat's record in ``_stamps_trace``
        #: (-1: that trace takes no stamps; write by ``record``).
        self._stamps: dict[str, int] = {}
        self._stamps_trace: Any = None

    def _heartbeat_stamp(self, host: _StampingHost, trace: Any, device: str) -> int:
        """The stamp of ``device``'s traced heartbeat record in ``trace``, the host's trace
        now (-1: none), made and cached; a new trace drops the stamps of the old one."""
        if trace is not self._stamps_trace:
            self._stamps = {}
            self._stamps_trace = trace
        stamp = host.record_stamp(device, "ssm_heartbeat", _HEARTBEAT_FIELDS)
        self._stamps[device] = stamp = -1 if stamp is None else stamp
        return stamp

    def teardown(self, device: str, token: str, *, request_id: int | None = None
                 ) -> SsmAnswer:
        rid = request_id
        fault = self.faults.take("teardown")
        if fault is not None:
            return self._refuse(device, "ssm_teardown_refused", fault.http_status, fault.code,
                                fault.message, forced=True, request_id=rid)
        session = self.session_of(token)
        if session is None:
            return self._error(device, "ssm_teardown_refused", SsmErrorCode.INVALID_TOKEN,
                               self._why_invalid(token), rid)
        self._end(session, "ssm_session_ended", device)
        return SsmAnswer(204)

    def kill_device_sessions(self, device: str) -> int:
        """End every live session of ``device`` (``killDeviceSessions``): each one's next
        heartbeat fails with 1006. Returns how many were killed."""
        return self._kill([s for s in self.active_sessions() if s.device == device])

    def kill_account_sessions(self, account: str) -> int:
        """End every live session of ``account`` (``killAccountSessions``)."""
        return self._kill(self.active_sessions(account))

    def set_account_limit(self, account: str, limit: int) -> None:
        """Limit ``account`` to ``limit`` sessions from now on, as a content token's
        ``maxSessions`` does (the limit travels in the token, DOMAIN.md)."""
        if self.config.account_limits.get(account) == limit:
            return
        self.config = attrs.evolve(self.config,
                                   account_limits={**self.config.account_limits, account: limit})

    def _kill(self, sessions: list[SsmSession]) -> int:
        for session in sessions:
            self._end(session, "ssm_session_killed", session.device)
        return len(sessions)

    def unavailable(self, device: str, endpoint: str, *, request_id: int | None = None
                    ) -> SsmAnswer:
        """The answer while the server is in an outage."""
        return self._error(device, f"ssm_{endpoint}_refused", SsmErrorCode.SSM_NOT_AVAILABLE,
                           "SSM not available", request_id)

    # --- internals -----------------------------------------------------------------

    def _check_limits(self, account: str, device: str, stream: str, ip: str | None,
                      device_group: str | None, token_limit: int | None = None) -> str | None:
        """Why a new session would exceed a limit (evicting first if so configured)."""
        cfg = self.config
        limit = token_limit if token_limit is not None else self.limit_of(account)
        # (bound, the sessions the bound counts, why a refusal); the account's bound
        # first, listed only if it is reached (else it passes, evicting nobody).
        checks: list[tuple[int | None, Callable[[], list[SsmSession]], str]] = []
        if limit is not None and self._active_count(account) >= limit:
            checks.append((limit, lambda: self.active_sessions(account),
                           f"max active sessions exceeded for account {account!r} "
                           f"(limit {limit})"))
        if device_group is not None:
            checks.append((cfg.max_sessions_per_device_group,
                           lambda: [s for s in self.active_sessions(account)
                                    if s.device_group == device_group],
                           f"max active sessions exceeded for device group {device_group!r} "
                           f"(limit {cfg.max_sessions_per_device_group})"))
        group = cfg.channel_groups.get(stream)
        if group is not None:
            groups = cfg.channel_groups
            checks.append((cfg.max_sessions_per_channel_group,
                           lambda: [s for s in self.active_sessions(account)
                                    if groups.get(s.stream) == group],
                           f"max active sessions exceeded for channel group {group!r} "
                           f"(limit {cfg.max_sessions_per_channel_group})"))
        if ip is not None:
            checks.append((cfg.max_sessions_per_ip,
                           lambda: [s for s in self.active_sessions() if s.ip == ip],
                           f"max active sessions exceeded for IP {ip} "
                           f"(limit {cfg.max_sessions_per_ip})"))
        # Decide first, evict after: a setup refused by a later check evicts nobody.
        evict: dict[str, SsmSession] = {}
        for bound, counted, reason in checks:
            if bound is None:
                continue
            mine = [s for s in counted() if s.session_id not in evict]
            if len(mine) < bound:
                continue
            if cfg.limit_policy == "refuse-new":
                return reason
            for oldest in mine[: len(mine) - bound + 1]:
                evict[oldest.session_id] = oldest
        if ip is not None and cfg.max_ips_per_account is not None:
            ips = {s.ip for s in self.active_sessions(account)
                   if s.ip is not None and s.session_id not in evict}
            if ip not in ips and len(ips) >= cfg.max_ips_per_account:
                return (f"max IPs exceeded for account {account!r} "
                        f"(limit {cfg.max_ips_per_account})")
        for oldest in evict.values():
            self._end(oldest, "ssm_session_evicted", oldest.device)
        return None

    def _why_invalid(self, token: str) -> str:
        ended = self._ended.get(token)
        if ended is not None:
            return f"invalid token: its session {ended}"
        stale = self._by_token.get(token)
        if stale is not None:  # still indexed: it expired and was not yet swept
            return "invalid token: its session expired"
        for session in self._sessions.values():
            if session.previous_token == token:
                return "stale token: a heartbeat already rotated it"
        return "invalid token: no session has it"

    def _end(self, session: SsmSession, kind: str, device: str) -> None:
        if self._expiry_order is not None:
            self._expiry_order.pop(session, None)
        self._sessions.pop(session.session_id, None)
        self._by_account[session.account].pop(session.session_id, None)
        self._by_token.pop(session.token, None)
        self._ended[session.token] = _ENDED_HOW[kind]
        self._host.record(device, kind, {"session": session.session_id,
                                         "account": session.account,
                                         "active": self._active_count(session.account)})

    # --- expiry ------------------------------------------------------------------------
    # Every setup and heartbeat sets a session's expiry to now plus the same timeout,
    # so the live sessions expire in the order they were last set up or heartbeated:
    # with the sweep, _expiry_order keeps them in that order (a heartbeat moves its
    # session to the end), and the sweep only ever looks at its front.

    def _arm_sweep(self) -> None:
        """Schedule the sweep at the earliest expiry, if any session is live."""
        order = self._expiry_order
        if order:
            self._sweeping = True
            self._host.schedule_at(next(iter(order)).expires_at, self._sweep, None)
        else:
            self._sweeping = False

    def _sweep(self, _: None) -> None:
        """Check every session due by now, in expiry order; then wait for the next one."""
        order = self._expiry_order
        assert order is not None, "only a server with the expiry sweep schedules it"
        now = self._host.now
        while order:
            session = next(iter(order))
            if session.expires_at > now:
                break
            del order[session]
            self._check_expiry(session)
        self._arm_sweep()

    def _check_expiry(self, session: SsmSession) -> None:
        """End ``session`` if it expired by now; if a heartbeat extended it, check again
        at its new expiry (only one check per session does: the sweep checks sessions
        due)."""
        if session.session_id not in self._sessions:
            return
        if session.expires_at > self._host.now:
            self._host.schedule_at(session.expires_at, self._check, session)
            return
        self._end(session, "ssm_session_expired", session.device)

    def _error(self, device: str, kind: str, code: SsmErrorCode, message: str,
               request_id: int | None = None) -> SsmAnswer:
        status = self.config.error_http_status.get(code, DEFAULT_HTTP_STATUS.get(code, 400))
        return self._refuse(device, kind, status, int(code), message, forced=False,
                            request_id=request_id)

    def _refuse(self, device: str, kind: str, http_status: int, code: int | None, message: str,
                *, forced: bool, request_id: int | None = None) -> SsmAnswer:
        if self.config.legacy_status_200 and code is not None:
            http_status = 200
        data: dict[str, Any] = {"http_status": http_status, "ssm_code": code, "message": message}
        if forced:
            data["forced"] = True
        if request_id is not None:
            data["request_id"] = request_id
        self._host.record(device, kind, data)
        return SsmAnswer(http_status, code, message)
