"""OvpSessionProvider: widget (anonymous) and user sessions on the OVP backend.

Rules (``seeds/004_0c9c6e939a18d3d9.txt``; DOMAIN.md "Kaltura session
providers", corrected from the client source; WIRE.md "Kaltura OVP"):

* "A anonymous session starts with the "session/startWidgetSession" API"
  (widget id ``"_" + partnerId``); the provider assumes it is valid for
  ``assumed_validity`` (24 h), counted from when the request was SENT.
* "A user specific session starts with the "user/loginByLoginId" API", in ONE
  multirequest with ``session/get`` (the expiry).
* Renewal (the variant's ``ovp_renew_window``): with strictly less than the
  window left (whole seconds; 10 minutes), EVERY token request is answered with
  the current KS and starts a background renewal (no in-progress guard); once
  expired, every token request sends its own renewal and waits for it. iOS has
  no window: only the expired case. Renewing repeats the call that started the
  session. A failed renewal clears the session (``session_cleared``).
* "To end a session, use the "session/end" API": ending a user session calls
  it (iOS has no ``session/end``: it only clears), then clears the session
  whatever the result; it "can't be renewed".
* "An anonymous session can't be ended. Until the session token (KS) expires
  the token can be used": ending one clears it locally, with no server call.

Trace records: ``session_started``, ``session_start_failed``,
``ks_refresh_sent``, ``ks_renewed`` (with ``background``),
``ks_refresh_failed``, ``session_cleared``, ``session_ended``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from .._errors import ConfigError
from .._limits import MIN_DURATION
from .._validators import check_number
from ..backends import ApiAnswer
from ._netkit import multirequest, send
from ._port import Binding
from ._protocol import KsCompletion, _Attachable, check_base_url
from ._results import ErrorElement, PrimitiveResult
from ._variants import ProviderVariants

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

    ``OvpSessionProvider(base_url)`` (the host only) then
    :meth:`start_anonymous_session` or :meth:`start_session`; ``partner_id``
    given here is the default for both. ``variant``: ``"documented"``
    (default), ``"android"``, ``"ios"`` or a :class:`ProviderVariants`;
    ``renew_window`` overrides its window (``None``: the variant's).
    """

    def __init__(self, base_url: str, partner_id: int | None = None, *,
                 assumed_validity: float = 86400.0, renew_window: float | None = None,
                 variant: ProviderVariants | str = "documented") -> None:
        self._base_url = check_base_url(base_url, "ovp")
        self._default_partner_id = None if partner_id is None else _check_partner_id(partner_id)
        check_number("assumed_validity", assumed_validity, low=MIN_DURATION)
        if renew_window is not None:
            check_number("renew_window", renew_window, low=MIN_DURATION)
        chosen = variant if isinstance(variant, ProviderVariants) else \
            ProviderVariants.named(variant)
        if renew_window is not None:
            chosen = attrs.evolve(chosen, ovp_renew_window=renew_window)
        self.variants = chosen
        self.assumed_validity = assumed_validity
        self._binding: Binding | None = None
        self._session: _OvpSession | None = None
        self._generation = 0
        self._in_flight = 0
        self._own: list[KsCompletion] = []  # requests after expiry, waiting on their renewal
        self._why_none = "no session was started"

    @property
    def renew_window(self) -> float | None:
        """Seconds before expiry from which requests renew in the background (None: never)."""
        return self.variants.ovp_renew_window

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
        """Answer a valid KS: at once (starting a background renewal inside the
        window); once expired, after a renewal of its own."""
        session = self._session
        if session is None:
            completion(PrimitiveResult(error=ErrorElement.session_error(self._why_none)))
            return
        left = session.expires_at - self.now
        if left > 0:
            completion(PrimitiveResult(session.ks))
            window = self.renew_window
            if window is not None and math.floor(left) < window:
                self._renew(session, None)  # on every such request: no in-progress guard
            return
        self._renew(session, completion)

    # --- what the app does -----------------------------------------------------------------

    def start_anonymous_session(self, partner_id: int | None = None,
                                completion: KsCompletion | None = None) -> None:
        """Start a widget session ("session/startWidgetSession", widget id "_<partnerId>")."""
        pid = self._partner_for(partner_id)
        generation = self._begin()
        sent = self.now
        self._widget_session(pid, lambda answer: self._started(
            generation, answer, pid, None, "", sent, completion))

    def start_session(self, login_id: str, password: str, partner_id: int | None = None,
                      completion: KsCompletion | None = None) -> None:
        """Start a user session ("user/loginByLoginId" + "session/get", one multirequest)."""
        pid = self._partner_for(partner_id)
        generation = self._begin()
        sent = self.now
        self._login(login_id, password, pid, lambda answer: self._started(
            generation, answer, pid, login_id, password, sent, completion))

    def start_prior_session(self, login_id: str | None, age: float,
                            partner_id: int | None = None) -> None:
        """Hold the session the app started ``age`` seconds before the simulation (a user
        session for ``login_id``, else a widget session): no call travels now; the
        backend's ledger issues its KS as of then (a fleet's devices are already logged
        in when the run starts). A widget session's expiry is the assumed validity from
        then, as when it was started."""
        pid = self._partner_for(partner_id)
        self._begin()
        b = self.binding
        answer = b.ovp.prior_session(b.device, pid, login_id, age)
        expires_at = self.now - age + self.assumed_validity if login_id is None \
            else float(answer.value["expiry"])
        session = self._session = _OvpSession(answer.value["ks"], pid, login_id, "",
                                              expires_at)
        b.record("session_started", {
            "backend": "ovp", "anonymous": session.anonymous,
            "user_id": session.login_id or "", "ks": session.ks, "partner_id": pid,
            "expires_at": round(session.expires_at, 6), "base_url": self._base_url,
            "variant": self.variants.name, "prior": True})

    def login(self, username: str | None, password: str | None,
              completion: KsCompletion | None = None) -> None:
        """What a device's ``login`` does: a user session when ``username`` (the login
        id) is given, else a widget session, for the default partner id."""
        if username is None:
            self.start_anonymous_session(None, completion)
        else:
            self.start_session(username, password or "", None, completion)

    def end_session(self, completion: KsCompletion | None = None) -> None:
        """End the session: ``session/end`` for a user session (none on iOS), then
        cleared whatever the result; a widget session is cleared locally with no
        server call."""
        session = self._session
        if session is None:
            if completion is not None:
                completion(PrimitiveResult(error=ErrorElement.session_error(
                    "no session to end")))
            return
        self._clear("the session was ended; start a new session")
        b = self.binding
        if session.anonymous or session.expires_at <= self.now \
                or not self.variants.ovp_session_end:
            b.record("session_ended", {"backend": "ovp", "anonymous": session.anonymous,
                                       "ks": session.ks, "server_call": False,
                                       "cleared": True})
            if completion is not None:
                completion(PrimitiveResult(session.ks))
            return

        def answered(answer: ApiAnswer) -> None:
            data: dict[str, Any] = {"backend": "ovp", "anonymous": False, "ks": session.ks,
                                    "server_call": True, "ok": answer.ok, "cleared": True}
            if not answer.ok:
                data["code"] = answer.code if answer.code is not None else answer.http_status
            b.record("session_ended", data)
            if completion is not None:
                completion(PrimitiveResult(session.ks) if answer.ok else
                           PrimitiveResult(error=ErrorElement.from_answer(answer)))

        send(b, self.variants, "ovp", "session/end",
             lambda: b.ovp.session_end(b.device, session.ks), answered, ks=session.ks)

    def forget(self) -> None:
        """The app was killed: its in-memory session is gone, with no server call and no
        completion called. The KS stays valid at the backend until it expires."""
        session = self._session
        self._generation += 1
        self._session = None
        self._why_none = "no session was started"
        self._in_flight = 0
        self._own = []
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
        """Whether a renewal is in flight."""
        return self._in_flight > 0

    # --- inside ------------------------------------------------------------------------------

    def _partner_for(self, partner_id: int | None) -> int:
        if partner_id is not None:
            return _check_partner_id(partner_id)
        if self._default_partner_id is None:
            raise ConfigError("no partner id: pass partner_id here or to OvpSessionProvider()")
        return self._default_partner_id

    def _begin(self) -> int:
        self._clear("no session was started")
        return self._generation

    def _clear(self, why: str) -> None:
        """Drop the session; requests waiting on a renewal get a session error."""
        self._generation += 1
        self._session = None
        self._why_none = why
        self._in_flight = 0
        waiting, self._own = self._own, []
        for completion in waiting:
            completion(PrimitiveResult(error=ErrorElement.session_error(why)))

    def widget_id(self, partner_id: int) -> str:
        """The widget id a widget session is started with (documented: ``_`` and the
        partner id, "_<partnerId>"). A variant hook: override it to model a client
        that builds it otherwise."""
        return f"_{partner_id}"

    def _widget_session(self, partner_id: int, deliver: Callable[[ApiAnswer], None]) -> None:
        b = self.binding
        widget_id = self.widget_id(partner_id)
        send(b, self.variants, "ovp", "session/startWidgetSession",
             lambda: b.ovp.start_widget_session(b.device, widget_id), deliver)

    def _login(self, login_id: str, password: str, partner_id: int,
               deliver: Callable[[ApiAnswer], None]) -> None:
        b = self.binding
        send(b, self.variants, "ovp", multirequest("user/loginByLoginId", "session/get"),
             lambda: b.ovp.with_session(b.device, b.ovp.login_by_login_id(
                 b.device, login_id, password, partner_id)), deliver)

    def _session_of(self, answer: ApiAnswer, partner_id: int, login_id: str | None,
                    password: str, sent: float) -> _OvpSession:
        """A started session: widget KSs valid ``assumed_validity`` from when the
        request was sent, user KSs until their ``session/get`` expiry."""
        ks = answer.value["ks"]
        if login_id is None:
            return _OvpSession(ks, partner_id, None, "", sent + self.assumed_validity)
        return _OvpSession(ks, partner_id, login_id, password, float(answer.value["expiry"]))

    def _started(self, generation: int, answer: ApiAnswer, partner_id: int,
                 login_id: str | None, password: str, sent: float,
                 completion: KsCompletion | None) -> None:
        if generation != self._generation:
            return
        if not answer.ok:
            error = ErrorElement.login_failed(answer)
            self.binding.record("session_start_failed", {"backend": "ovp", "code": error.code,
                                                         "name": error.name,
                                                         "message": error.message})
            if completion is not None:
                completion(PrimitiveResult(error=error))
            return
        session = self._session = self._session_of(answer, partner_id, login_id, password,
                                                   sent)
        self.binding.record("session_started", {
            "backend": "ovp", "anonymous": session.anonymous,
            "user_id": session.login_id or "", "ks": session.ks, "partner_id": partner_id,
            "expires_at": round(session.expires_at, 6), "base_url": self._base_url,
            "variant": self.variants.name})
        if completion is not None:
            completion(PrimitiveResult(session.ks))

    def _renew(self, old: _OvpSession, own: KsCompletion | None) -> None:
        """Repeat the call that started ``old``; ``own`` (an expired session's request)
        waits for it, else it runs in the background."""
        generation, started = self._generation, self.now
        self._in_flight += 1
        if own is not None:
            self._own.append(own)
        b = self.binding
        b.record("ks_refresh_sent", {"backend": "ovp", "ks_from": old.ks,
                                     "expired": old.expires_at <= started})

        def answered(answer: ApiAnswer) -> None:
            if generation != self._generation:
                return  # a clear answered every caller already
            self._in_flight = max(self._in_flight - 1, 0)
            if own is not None:
                self._own = [o for o in self._own if o is not own]
            if not answer.ok:
                error = ErrorElement.session_error(ErrorElement.from_answer(answer).describe())
                b.record("ks_refresh_failed", {"backend": "ovp", "code": error.code,
                                               "message": error.message, "cleared": True})
                current = self._session
                b.record("session_cleared", {
                    "backend": "ovp", "ks": old.ks if current is None else current.ks,
                    "why": f"a renewal failed: {error.message}"})
                self._clear("the session was cleared after a failed renewal; start a new "
                            "session")
                if own is not None:
                    own(PrimitiveResult(error=error))
                return
            session = self._session = self._session_of(answer, old.partner_id, old.login_id,
                                                       old.password, started)
            data: dict[str, Any] = {"backend": "ovp", "ks_from": old.ks, "ks": session.ks,
                                    "expires_at": round(session.expires_at, 6),
                                    "background": own is None}
            if old.expires_at <= started:
                data["expired_for"] = round(started - old.expires_at, 6)
            else:
                data["time_left"] = round(old.expires_at - started, 6)
            b.record("ks_renewed", data)
            if own is not None:
                own(PrimitiveResult(session.ks))

        if old.anonymous:
            self._widget_session(old.partner_id, answered)
        else:
            assert old.login_id is not None
            self._login(old.login_id, old.password, old.partner_id, answered)

    def __repr__(self) -> str:
        state = ("no session" if self._session is None else
                 f"{'widget' if self._session.anonymous else 'user'} KS {self._session.ks}")
        return f"<OvpSessionProvider {self._base_url} ({self.variants.name}): {state}>"
