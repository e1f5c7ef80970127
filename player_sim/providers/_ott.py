"""OttSessionProvider: anonymous and user sessions on the OTT (Phoenix) backend.

Rules (``seeds/004_0c9c6e939a18d3d9.txt``; DOMAIN.md "Kaltura session providers"):

* "The Anonymous session starts with the "ottUser/anonymousLogin" API"; "User
  specific session starts with the "ottUser/login" API"; each is followed by
  ``session/get`` for the expiry and user id (user id "0" = anonymous).
* Lazy refresh: "Upon every session token fetching request, the session
  provider checks the current token validity": when the time left is at or
  below the refresh delta it refreshes first (``ottUser/refreshSession`` with
  the refresh token; a new ``ottUser/anonymousLogin`` for an anonymous
  session). The delta comes from the :class:`RefreshPolicy`. "if the token has
  expired and can be renewed, the provider renews the token": the same call,
  sent without the expired KS (the refresh token authenticates).
* A failed refresh answers code 601, "Failed to obtain session".
* "A user session can be ended by making the session token invalid ... Once a
  session has ended it can't be renewed": ending a user session calls
  ``ottUser/logout``, then clears the session whatever the result; further
  token requests fail until a new session is started.
* "An anonymous session can't be ended Until the session token (KS)
  expires": ending one clears it locally, with no server call; the KS stays
  valid at the backend until it expires.
* ``race_on_refresh=True`` reproduces the known Android race: one completion
  slot and an in-progress flag, so a token request made while a refresh is in
  flight has its completion dropped (never called).

Trace records (device = the provider's device): ``session_started``,
``session_start_failed``, ``ks_refreshed``, ``ks_renewed``,
``ks_refresh_failed``, ``session_ended``; the backend adds ``ks_issued``,
``ks_revoked`` and ``ks_used``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import attrs

from .._errors import ConfigError
from .._validators import non_negative
from ..backends import ApiAnswer
from ._port import Binding
from ._protocol import KsCompletion, _Attachable, check_base_url
from ._results import ErrorElement, PrimitiveResult

__all__ = ["REFRESH_POLICY_NAMES", "OttSessionProvider", "RefreshPolicy"]


def _fraction(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not 0 <= value < 1:
        raise ConfigError(f"{attribute.name} must be in [0, 1), not {value!r}")


def _margin(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None:
        non_negative(_, attribute, value)


@attrs.frozen
class RefreshPolicy:
    """When a KS is refreshed: once the time left is at or below the refresh delta.

    The delta is ``fraction`` of the validity left when the session was set,
    or the fixed ``margin`` in seconds. Named policies: :meth:`android`,
    :meth:`ios`, :meth:`custom`.
    """

    name: str
    fraction: float | None = attrs.field(default=None, validator=_fraction)
    margin: float | None = attrs.field(default=None, validator=_margin)

    def __attrs_post_init__(self) -> None:
        if (self.fraction is None) == (self.margin is None):
            raise ConfigError("a refresh policy has either a fraction or a margin, "
                              "exactly one of them")

    @classmethod
    def android(cls) -> RefreshPolicy:
        """12 % of the validity left when set (a 24 h KS refreshes with ~2.9 h left)."""
        return cls("android", fraction=0.12)

    @classmethod
    def ios(cls) -> RefreshPolicy:
        """A fixed 5 minute margin."""
        return cls("ios", margin=300.0)

    @classmethod
    def custom(cls, margin: float) -> RefreshPolicy:
        """A fixed ``margin`` in seconds."""
        return cls("custom", margin=margin)

    @classmethod
    def named(cls, name: str) -> RefreshPolicy:
        if name not in _NAMED:
            raise ConfigError(f"no refresh policy {name!r}; named policies are "
                              f"{', '.join(_NAMED)} (or RefreshPolicy.custom(margin))")
        return _NAMED[name]()

    def delta(self, validity_left: float) -> float:
        """The refresh delta for a session set with ``validity_left`` seconds to go."""
        if self.margin is not None:
            return self.margin
        assert self.fraction is not None
        return self.fraction * max(validity_left, 0.0)


_NAMED: Final[dict[str, Callable[[], RefreshPolicy]]] = {
    "android": RefreshPolicy.android, "ios": RefreshPolicy.ios}
#: The named refresh policies (``RefreshPolicy.named``), as scenario files write them.
REFRESH_POLICY_NAMES: Final = tuple(_NAMED)


@attrs.define(slots=True)
class _OttSession:
    ks: str
    refresh_token: str | None
    user_id: str
    anonymous: bool
    udid: str | None
    expires_at: float
    refresh_delta: float


class OttSessionProvider(_Attachable):
    """A session provider on the OTT (Phoenix) backend, like the SDK's.

    ``OttSessionProvider(base_url, partner_id)`` then
    :meth:`start_anonymous_session` or :meth:`start_session`; then
    :meth:`get_ks` answers a valid KS, refreshing or renewing it as needed.
    ``refresh_policy`` is ``"android"`` (default), ``"ios"`` or a
    :class:`RefreshPolicy`.
    """

    def __init__(self, base_url: str, partner_id: int, *,
                 refresh_policy: RefreshPolicy | str = "android",
                 race_on_refresh: bool = False) -> None:
        self._base_url = check_base_url(base_url)
        if isinstance(partner_id, bool) or not isinstance(partner_id, int) or partner_id < 0:
            raise ConfigError(f"partner_id must be a non-negative integer, not {partner_id!r}")
        self._partner_id = partner_id
        self.refresh_policy = (refresh_policy if isinstance(refresh_policy, RefreshPolicy)
                               else RefreshPolicy.named(refresh_policy))
        self.race_on_refresh = race_on_refresh
        self._binding: Binding | None = None
        self._session: _OttSession | None = None
        self._generation = 0
        self._refreshing = False
        self._waiters: list[KsCompletion] = []
        self._ended = False

    # --- the SessionProvider protocol ----------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def partner_id(self) -> int:
        return self._partner_id

    def get_ks(self, completion: KsCompletion) -> None:
        """Answer a valid KS; refresh first when the time left is at or below the delta."""
        session = self._session
        if session is None:
            why = ("the session was ended; start a new session" if self._ended
                   else "no session was started")
            completion(PrimitiveResult(error=ErrorElement.session_error(why)))
            return
        if self._refreshing:
            if not self.race_on_refresh:
                self._waiters.append(completion)
            # With the Android race, the one completion slot is taken: this one is dropped.
            return
        if session.expires_at - self.now > session.refresh_delta:
            completion(PrimitiveResult(session.ks))
            return
        self._refreshing = True
        self._waiters = [completion]
        self._refresh(session)

    # --- what the app does -----------------------------------------------------------------

    def start_anonymous_session(self, udid: str | None = None,
                                completion: KsCompletion | None = None) -> None:
        """Start an anonymous session ("ottUser/anonymousLogin", then "session/get")."""
        generation = self._begin()
        b, pid = self.binding, self._partner_id
        b.call("ott", "ottUser/anonymousLogin",
               lambda: b.ott.anonymous_login(b.device, pid, udid),
               lambda answer: self._logged_in(generation, answer, udid, completion))

    def start_session(self, username: str, password: str, udid: str | None = None,
                      completion: KsCompletion | None = None) -> None:
        """Start a user session ("ottUser/login", then "session/get")."""
        generation = self._begin()
        b, pid = self.binding, self._partner_id
        b.call("ott", "ottUser/login",
               lambda: b.ott.login(b.device, pid, username, password, udid),
               lambda answer: self._logged_in(generation, answer, udid, completion))

    def login(self, username: str | None, password: str | None,
              completion: KsCompletion | None = None) -> None:
        """What a device's ``login`` does: a user session when ``username`` is given,
        else an anonymous one; the device name is the udid."""
        udid = self.binding.device
        if username is None:
            self.start_anonymous_session(udid, completion)
        else:
            self.start_session(username, password or "", udid, completion)

    def end_session(self, completion: KsCompletion | None = None) -> None:
        """End the session: ``ottUser/logout`` for a user session (then cleared whatever
        the result); an anonymous session is cleared locally with no server call."""
        session = self._session
        if session is None:
            if completion is not None:
                completion(PrimitiveResult(error=ErrorElement.session_error(
                    "no session to end")))
            return
        self._clear(ended=True)
        b = self.binding
        expired = session.expires_at <= self.now
        if session.anonymous or expired:
            b.record("session_ended", {"backend": "ott", "anonymous": session.anonymous,
                                       "ks": session.ks, "server_call": False})
            if completion is not None:
                completion(PrimitiveResult(session.ks))
            return

        def answered(answer: ApiAnswer) -> None:
            data: dict[str, Any] = {"backend": "ott", "anonymous": False, "ks": session.ks,
                                    "server_call": True, "ok": answer.ok}
            if not answer.ok:
                data["code"] = answer.code if answer.code is not None else answer.http_status
            b.record("session_ended", data)
            if completion is not None:
                completion(PrimitiveResult(session.ks) if answer.ok else
                           PrimitiveResult(error=ErrorElement.from_answer(answer)))

        b.call("ott", "ottUser/logout",
               lambda: b.ott.logout(b.device, session.ks, session.udid), answered,
               ks=session.ks)

    def forget(self) -> None:
        """The app was killed: its in-memory session is gone, with no server call and no
        completion called. The KS stays valid at the backend until it expires."""
        session = self._session
        self._generation += 1
        self._session = None
        self._ended = False
        self._waiters = []
        self._refreshing = False
        if session is not None:
            self.binding.record("session_forgotten", {"backend": "ott", "ks": session.ks})

    # --- what a harness reads ---------------------------------------------------------------

    @property
    def ks(self) -> str | None:
        """The current KS, or ``None`` without a session."""
        return None if self._session is None else self._session.ks

    @property
    def expires_at(self) -> float | None:
        return None if self._session is None else self._session.expires_at

    @property
    def refresh_delta(self) -> float | None:
        return None if self._session is None else self._session.refresh_delta

    @property
    def user_id(self) -> str | None:
        return None if self._session is None else self._session.user_id

    @property
    def is_anonymous(self) -> bool | None:
        return None if self._session is None else self._session.anonymous

    @property
    def has_session(self) -> bool:
        return self._session is not None

    @property
    def refreshing(self) -> bool:
        return self._refreshing

    @property
    def udid(self) -> str | None:
        return None if self._session is None else self._session.udid

    # --- inside ------------------------------------------------------------------------------

    def _begin(self) -> int:
        """A new session replaces any current one; answers for the old one are ignored."""
        self._clear(ended=False)
        return self._generation

    def _clear(self, *, ended: bool) -> None:
        self._generation += 1
        self._session = None
        self._ended = ended
        waiters, self._waiters = self._waiters, []
        self._refreshing = False
        why = "the session was ended; start a new session" if ended else "a new session started"
        for waiter in waiters:
            waiter(PrimitiveResult(error=ErrorElement.session_error(why)))

    def _logged_in(self, generation: int, answer: ApiAnswer, udid: str | None,
                   completion: KsCompletion | None) -> None:
        if generation != self._generation:
            return
        if not answer.ok:
            self._start_failed(ErrorElement.from_answer(answer), completion)
            return
        ks, refresh_token = answer.value["ks"], answer.value.get("refresh_token")

        def with_expiry(info: ApiAnswer) -> None:
            if generation != self._generation:
                return
            if not info.ok:
                self._start_failed(ErrorElement.from_answer(info), completion)
                return
            session = self._set(ks, refresh_token, info, udid)
            self.binding.record("session_started", {
                "backend": "ott", "anonymous": session.anonymous, "user_id": session.user_id,
                "ks": ks, "partner_id": self._partner_id,
                "expires_at": round(session.expires_at, 6),
                "refresh_delta": round(session.refresh_delta, 6)})
            if completion is not None:
                completion(PrimitiveResult(ks))

        self._session_get(ks, with_expiry)

    def _start_failed(self, error: ErrorElement, completion: KsCompletion | None) -> None:
        self.binding.record("session_start_failed", {"backend": "ott", "code": error.code,
                                                     "name": error.name,
                                                     "message": error.message})
        if completion is not None:
            completion(PrimitiveResult(error=error))

    def _session_get(self, ks: str, deliver: Callable[[ApiAnswer], None]) -> None:
        b = self.binding
        b.call("ott", "session/get", lambda: b.ott.session_get(b.device, ks), deliver,
               ks=ks)

    def _set(self, ks: str, refresh_token: str | None, info: ApiAnswer,
             udid: str | None) -> _OttSession:
        expires_at = float(info.value["expiry"])
        user_id = str(info.value["user_id"])
        session = _OttSession(ks, refresh_token, user_id, user_id == "0", udid, expires_at,
                              self.refresh_policy.delta(expires_at - self.now))
        self._session = session
        return session

    def _refresh(self, session: _OttSession) -> None:
        b, generation = self.binding, self._generation
        started = self.now
        expired = session.expires_at <= started
        if session.anonymous or session.refresh_token is None:
            pid, udid = self._partner_id, session.udid
            b.call("ott", "ottUser/anonymousLogin",
                   lambda: b.ott.anonymous_login(b.device, pid, udid),
                   lambda answer: self._refreshed(generation, session, answer, started))
            return
        ks = None if expired else session.ks  # an expired KS is not sent: the token renews
        token = session.refresh_token
        b.call("ott", "ottUser/refreshSession",
               lambda: b.ott.refresh_session(b.device, ks, token, session.udid),
               lambda answer: self._refreshed(generation, session, answer, started), ks=ks)

    def _refreshed(self, generation: int, old: _OttSession, answer: ApiAnswer,
                   started: float) -> None:
        """A refresh (or, once expired when it started, a renewal) was answered."""
        expired = old.expires_at <= started
        if generation != self._generation:
            return
        if not answer.ok:
            self._refresh_failed(ErrorElement.from_answer(answer))
            return
        ks = answer.value["ks"]
        refresh_token = answer.value.get("refresh_token")

        def with_expiry(info: ApiAnswer) -> None:
            if generation != self._generation:
                return
            if not info.ok:
                self._refresh_failed(ErrorElement.from_answer(info))
                return
            session = self._set(ks, refresh_token, info, old.udid)
            data: dict[str, Any] = {"backend": "ott", "ks_from": old.ks, "ks": ks,
                                    "expires_at": round(session.expires_at, 6)}
            if expired:
                data["expired_for"] = round(started - old.expires_at, 6)
            else:
                data["time_left"] = round(old.expires_at - started, 6)
            self.binding.record("ks_renewed" if expired else "ks_refreshed", data)
            self._answer_waiters(PrimitiveResult(ks))

        self._session_get(ks, with_expiry)

    def _refresh_failed(self, cause: ErrorElement) -> None:
        error = ErrorElement.session_error(cause.describe())
        self.binding.record("ks_refresh_failed", {"backend": "ott", "code": error.code,
                                                  "message": error.message})
        self._answer_waiters(PrimitiveResult(error=error))

    def _answer_waiters(self, result: PrimitiveResult) -> None:
        waiters, self._waiters = self._waiters, []
        self._refreshing = False
        for waiter in waiters:
            waiter(result)

    def __repr__(self) -> str:
        state = ("no session" if self._session is None else
                 f"{'anonymous' if self._session.anonymous else 'user'} KS {self._session.ks}")
        return f"<OttSessionProvider {self._base_url} partner {self._partner_id}: {state}>"
