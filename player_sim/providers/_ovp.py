"""OvpSessionProvider: widget (anonymous) and user sessions on the OVP backend.

Rules (``seeds/004_0c9c6e939a18d3d9.txt``; DOMAIN.md "Kaltura session providers"):

* "A anonymous session starts with the "session/startWidgetSession" API"
  (widget id ``"_" + partnerId``); the provider assumes it is valid for
  ``assumed_validity`` (24 h) without asking.
* "A user specific session starts with the "user/loginByLoginId" API",
  followed by ``session/get`` for the expiry.
* "By default a session is valid for 24 hours. Once expired, the
  OvpSessionProvider will try to renew the session": within the last
  ``renew_window`` (10 minutes) a token request is answered with the current
  KS while the session is renewed in the background; once expired, the
  session is renewed before answering. Renewing repeats the call that started
  the session (a new widget session, or a new login with the same login id).
* "To end a session, use the "session/end" API": ending a user session calls
  it, then clears the session whatever the result; it "can't be renewed".
* "An anonymous session can't be ended. Until the session token (KS) expires
  the token can be used": ending one clears it locally, with no server call.

Trace records: ``session_started``, ``session_start_failed``, ``ks_renewed``
(with ``background``), ``ks_refresh_failed``, ``session_ended``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .._errors import ConfigError
from ..backends import ApiAnswer
from ._port import Binding
from ._protocol import KsCompletion, _Attachable, check_base_url
from ._results import ErrorElement, PrimitiveResult

__all__ = ["OvpSessionProvider"]


@attrs.define(slots=True)
class _OvpSession:
    ks: str
    partner_id: int
    login_id: str | None  # None: a widget (anonymous) session
    password: str
    expires_at: float

    @property
    def anonymous(self) -> bool:
        return self.login_id is None


def _check_partner_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"partner_id must be a non-negative integer, not {value!r}")
    return value


class OvpSessionProvider(_Attachable):
    """A session provider on the OVP backend, like the SDK's.

    ``OvpSessionProvider(base_url)`` then :meth:`start_anonymous_session` or
    :meth:`start_session`; ``partner_id`` given here is the default for both.
    """

    def __init__(self, base_url: str, partner_id: int | None = None, *,
                 assumed_validity: float = 86400.0, renew_window: float = 600.0) -> None:
        self._base_url = check_base_url(base_url)
        self._default_partner_id = None if partner_id is None else _check_partner_id(partner_id)
        if assumed_validity <= 0:
            raise ConfigError(f"assumed_validity must be positive, not {assumed_validity!r}")
        if renew_window < 0:
            raise ConfigError(f"renew_window can't be negative, not {renew_window!r}")
        self.assumed_validity = assumed_validity
        self.renew_window = renew_window
        self._binding: Binding | None = None
        self._session: _OvpSession | None = None
        self._generation = 0
        self._renewing = False
        self._waiters: list[KsCompletion] = []
        self._ended = False

    # --- the SessionProvider protocol ----------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def partner_id(self) -> int:
        """The session's partner id (the default one before a session starts; 0 if none)."""
        if self._session is not None:
            return self._session.partner_id
        return self._default_partner_id or 0

    def get_ks(self, completion: KsCompletion) -> None:
        """Answer a valid KS: at once, renewing in the background within the renew
        window; after renewing once expired."""
        session = self._session
        if session is None:
            why = ("the session was ended; start a new session" if self._ended
                   else "no session was started")
            completion(PrimitiveResult(error=ErrorElement.session_error(why)))
            return
        left = session.expires_at - self.now
        if left > 0:
            completion(PrimitiveResult(session.ks))
            if left <= self.renew_window and not self._renewing:
                self._renew(session, background=True)
            return
        self._waiters.append(completion)
        if not self._renewing:
            self._renew(session, background=False)

    # --- what the app does -----------------------------------------------------------------

    def start_anonymous_session(self, partner_id: int | None = None,
                                completion: KsCompletion | None = None) -> None:
        """Start a widget session ("session/startWidgetSession", widget id "_<partnerId>")."""
        pid = self._partner_for(partner_id)
        generation = self._begin()
        self._widget_session(pid, lambda answer: self._started(
            generation, answer, pid, None, "", completion))

    def start_session(self, login_id: str, password: str, partner_id: int | None = None,
                      completion: KsCompletion | None = None) -> None:
        """Start a user session ("user/loginByLoginId", then "session/get")."""
        pid = self._partner_for(partner_id)
        generation = self._begin()
        self._login(login_id, password, pid, lambda answer: self._started(
            generation, answer, pid, login_id, password, completion))

    def login(self, username: str | None, password: str | None,
              completion: KsCompletion | None = None) -> None:
        """What a device's ``login`` does: a user session when ``username`` (the login
        id) is given, else a widget session, for the default partner id."""
        if username is None:
            self.start_anonymous_session(None, completion)
        else:
            self.start_session(username, password or "", None, completion)

    def end_session(self, completion: KsCompletion | None = None) -> None:
        """End the session: ``session/end`` for a user session (then cleared whatever the
        result); a widget session is cleared locally with no server call."""
        session = self._session
        if session is None:
            if completion is not None:
                completion(PrimitiveResult(error=ErrorElement.session_error(
                    "no session to end")))
            return
        self._clear(ended=True)
        b = self.binding
        if session.anonymous or session.expires_at <= self.now:
            b.record("session_ended", {"backend": "ovp", "anonymous": session.anonymous,
                                       "ks": session.ks, "server_call": False})
            if completion is not None:
                completion(PrimitiveResult(session.ks))
            return

        def answered(answer: ApiAnswer) -> None:
            data: dict[str, Any] = {"backend": "ovp", "anonymous": False, "ks": session.ks,
                                    "server_call": True, "ok": answer.ok}
            if not answer.ok:
                data["code"] = answer.code if answer.code is not None else answer.http_status
            b.record("session_ended", data)
            if completion is not None:
                completion(PrimitiveResult(session.ks) if answer.ok else
                           PrimitiveResult(error=ErrorElement.from_answer(answer)))

        b.call("ovp", "session/end", lambda: b.ovp.session_end(b.device, session.ks),
               answered, ks=session.ks)

    def forget(self) -> None:
        """The app was killed: its in-memory session is gone, with no server call and no
        completion called. The KS stays valid at the backend until it expires."""
        session = self._session
        self._generation += 1
        self._session = None
        self._ended = False
        self._waiters = []
        self._renewing = False
        if session is not None:
            self.binding.record("session_forgotten", {"backend": "ovp", "ks": session.ks})

    # --- what a harness reads ---------------------------------------------------------------

    @property
    def ks(self) -> str | None:
        return None if self._session is None else self._session.ks

    @property
    def expires_at(self) -> float | None:
        return None if self._session is None else self._session.expires_at

    @property
    def is_anonymous(self) -> bool | None:
        return None if self._session is None else self._session.anonymous

    @property
    def has_session(self) -> bool:
        return self._session is not None

    @property
    def renewing(self) -> bool:
        return self._renewing

    # --- inside ------------------------------------------------------------------------------

    def _partner_for(self, partner_id: int | None) -> int:
        if partner_id is not None:
            return _check_partner_id(partner_id)
        if self._default_partner_id is None:
            raise ConfigError("no partner id: pass partner_id here or to OvpSessionProvider()")
        return self._default_partner_id

    def _begin(self) -> int:
        self._clear(ended=False)
        return self._generation

    def _clear(self, *, ended: bool) -> None:
        self._generation += 1
        self._session = None
        self._ended = ended
        self._renewing = False
        waiters, self._waiters = self._waiters, []
        why = "the session was ended; start a new session" if ended else "a new session started"
        for waiter in waiters:
            waiter(PrimitiveResult(error=ErrorElement.session_error(why)))

    def _widget_session(self, partner_id: int, deliver: Callable[[ApiAnswer], None]) -> None:
        b = self.binding
        widget_id = f"_{partner_id}"
        b.call("ovp", "session/startWidgetSession",
               lambda: b.ovp.start_widget_session(b.device, widget_id), deliver)

    def _login(self, login_id: str, password: str, partner_id: int,
               deliver: Callable[[ApiAnswer], None]) -> None:
        b = self.binding
        b.call("ovp", "user/loginByLoginId",
               lambda: b.ovp.login_by_login_id(b.device, login_id, password, partner_id),
               deliver)

    def _with_expiry(self, generation: int, answer: ApiAnswer, partner_id: int,
                     login_id: str | None, password: str, then: Callable[[_OvpSession], None],
                     failed: Callable[[ErrorElement], None]) -> None:
        """Turn a start answer into a session: widget KSs get the assumed validity,
        user KSs their expiry from ``session/get``."""
        if generation != self._generation:
            return
        if not answer.ok:
            failed(ErrorElement.from_answer(answer))
            return
        ks = answer.value["ks"]
        if login_id is None:
            then(_OvpSession(ks, partner_id, None, "", self.now + self.assumed_validity))
            return
        b = self.binding

        def got(info: ApiAnswer) -> None:
            if generation != self._generation:
                return
            if not info.ok:
                failed(ErrorElement.from_answer(info))
                return
            then(_OvpSession(ks, partner_id, login_id, password, float(info.value["expiry"])))

        b.call("ovp", "session/get", lambda: b.ovp.session_get(b.device, ks), got, ks=ks)

    def _started(self, generation: int, answer: ApiAnswer, partner_id: int,
                 login_id: str | None, password: str,
                 completion: KsCompletion | None) -> None:
        def then(session: _OvpSession) -> None:
            self._session = session
            self.binding.record("session_started", {
                "backend": "ovp", "anonymous": session.anonymous,
                "user_id": session.login_id or "", "ks": session.ks, "partner_id": partner_id,
                "expires_at": round(session.expires_at, 6)})
            if completion is not None:
                completion(PrimitiveResult(session.ks))

        def failed(error: ErrorElement) -> None:
            self.binding.record("session_start_failed", {"backend": "ovp", "code": error.code,
                                                         "name": error.name,
                                                         "message": error.message})
            if completion is not None:
                completion(PrimitiveResult(error=error))

        self._with_expiry(generation, answer, partner_id, login_id, password, then, failed)

    def _renew(self, old: _OvpSession, *, background: bool) -> None:
        self._renewing = True
        generation, started = self._generation, self.now

        def then(session: _OvpSession) -> None:
            self._session = session
            data: dict[str, Any] = {"backend": "ovp", "ks_from": old.ks, "ks": session.ks,
                                    "expires_at": round(session.expires_at, 6),
                                    "background": background}
            if old.expires_at <= started:
                data["expired_for"] = round(started - old.expires_at, 6)
            else:
                data["time_left"] = round(old.expires_at - started, 6)
            self.binding.record("ks_renewed", data)
            self._answer_waiters(PrimitiveResult(session.ks))

        def failed(cause: ErrorElement) -> None:
            error = ErrorElement.session_error(cause.describe())
            self.binding.record("ks_refresh_failed", {"backend": "ovp", "code": error.code,
                                                      "message": error.message})
            self._answer_waiters(PrimitiveResult(error=error))

        def answered(answer: ApiAnswer) -> None:
            self._with_expiry(generation, answer, old.partner_id, old.login_id, old.password,
                              then, failed)

        if old.anonymous:
            self._widget_session(old.partner_id, answered)
        else:
            assert old.login_id is not None
            self._login(old.login_id, old.password, old.partner_id, answered)

    def _answer_waiters(self, result: PrimitiveResult) -> None:
        waiters, self._waiters = self._waiters, []
        self._renewing = False
        for waiter in waiters:
            waiter(result)

    def __repr__(self) -> str:
        state = ("no session" if self._session is None else
                 f"{'widget' if self._session.anonymous else 'user'} KS {self._session.ks}")
        return f"<OvpSessionProvider {self._base_url}: {state}>"
