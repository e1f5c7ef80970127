"""OttSessionProvider: anonymous and user sessions on the OTT (Phoenix) backend.

Rules (``seeds/004_0c9c6e939a18d3d9.txt``; DOMAIN.md "Kaltura session
providers", corrected from the client source; WIRE.md "Kaltura OTT"):

* "The Anonymous session starts with the "ottUser/anonymousLogin" API"; "User
  specific session starts with the "ottUser/login" API"; each travels in ONE
  multirequest with ``session/get`` (expiry, user id; "0" = anonymous), so no
  fault falls between the two. A login failing with a code the network kit
  does not know (a server's) reaches the app as session error 601.
* Lazy refresh: on each token request, when the time left is at or below the
  refresh delta (:class:`RefreshPolicy`: Android 12 % of the validity left
  when set, iOS a margin of 0), it refreshes first with
  ``ottUser/refreshSession`` (+ ``session/get``), anonymous sessions too (they
  carry a refresh token). Once expired the same call renews it, without the
  expired KS (the refresh token authenticates).
* A token request while a refresh is in flight (the variant's
  ``concurrent_refresh``): ``queue`` waits for the result; ``overwrite-slot``
  (Android) takes the one callback slot, so the EARLIER request is never
  answered; ``each-sends`` (iOS) sends its own refresh, and with a rotating
  refresh token the second one fails.
* A failed refresh answers 601, "Failed to obtain session"; ``keep``
  (Android) keeps the session and retries at the next request, ``clear``
  (iOS) clears it (``session_cleared``).
* Ending an anonymous session answers success with no server call and does
  NOT clear it: the KS is served until it expires. Ending a user session first
  obtains a KS (which may refresh; if that fails nothing is cleared), then
  calls ``ottUser/logout`` and clears the session whatever the answer. Ending
  with no session never calls the completion. An ended session can't be
  renewed. While its logout is in flight (the variant's ``during_logout``):
  ``active`` (the Android source: the session stays active until the logout's
  answer clears it) answers token requests with the KS the server may already
  have revoked, and a second end sends its own logout with it; ``ending``
  refuses token requests (601) and a second end waits for the first.
* :meth:`OttSessionProvider.recover_session` gives a relaunched app's saved
  session (KS, refresh token, udid) back to the provider, which refreshes it
  at once.

Trace records (device = the provider's device): ``session_started``,
``session_start_failed``, ``ks_refresh_sent``, ``ks_refreshed``,
``ks_renewed``, ``ks_refresh_failed``, ``session_cleared``,
``session_recovered``, ``session_ended``, and the network kit's
``request_retried`` / ``request_timed_out``; the backend adds ``ks_issued``,
``ks_revoked`` and ``ks_used``.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from .._errors import ConfigError
from ..backends import ApiAnswer
from ._netkit import multirequest, send
from ._port import Binding
from ._protocol import KsCompletion, _Attachable, check_base_url
from ._results import ErrorElement, PrimitiveResult
from ._variants import REFRESH_POLICY_NAMES, ProviderVariants, RefreshPolicy

__all__ = ["REFRESH_POLICY_NAMES", "OttSessionProvider", "RefreshPolicy", "SavedSession"]

#: The multirequests this provider sends (several calls in one round trip).
_ANONYMOUS_LOGIN: Final = multirequest("ottUser/anonymousLogin", "session/get")
_LOGIN: Final = multirequest("ottUser/login", "session/get")
_REFRESH: Final = multirequest("ottUser/refreshSession", "session/get")


@attrs.frozen
class SavedSession:
    """What an app persists to recover its OTT session after a relaunch."""

    ks: str
    refresh_token: str
    udid: str | None


@attrs.define(slots=True)
class _OttSession:
    ks: str
    refresh_token: str | None
    user_id: str
    anonymous: bool
    udid: str | None
    expires_at: float
    refresh_delta: float
    recovered: bool = False  # a saved session given back, not yet refreshed


class OttSessionProvider(_Attachable):
    """A session provider on the OTT (Phoenix) backend, like the SDK's.

    ``OttSessionProvider(base_url, partner_id)`` (the base URL includes the API
    path, ``https://<host>/api_v3/``) then :meth:`start_anonymous_session` or
    :meth:`start_session`; then :meth:`get_ks` answers a valid KS, refreshing or
    renewing it as needed. ``variant`` is ``"documented"`` (default),
    ``"android"``, ``"ios"`` or a :class:`ProviderVariants`; ``refresh_policy``
    (``"android"``, ``"ios"`` or a :class:`RefreshPolicy`) overrides its margin.
    ``persist_session=True``: the app saves the session (KS, refresh token, udid)
    and, relaunched after a kill, recovers it (:meth:`relaunched`).
    """

    def __init__(self, base_url: str, partner_id: int, *,
                 variant: ProviderVariants | str = "documented",
                 refresh_policy: RefreshPolicy | str | None = None,
                 persist_session: bool = False) -> None:
        self._base_url = check_base_url(base_url, "ott")
        if isinstance(partner_id, bool) or not isinstance(partner_id, int) or partner_id < 0:
            raise ConfigError(f"partner_id must be a non-negative integer, not {partner_id!r}")
        self._partner_id = partner_id
        if not isinstance(persist_session, bool):
            raise ConfigError(f"persist_session must be true or false, not {persist_session!r}")
        chosen = variant if isinstance(variant, ProviderVariants) else \
            ProviderVariants.named(variant)
        self.variants = chosen.with_refresh_policy(refresh_policy)
        self._binding: Binding | None = None
        self._session: _OttSession | None = None
        self._generation = 0
        self._refreshing = False      # the in-progress flag (queue, overwrite-slot)
        self._in_flight = 0           # refreshes sent and not answered
        self._waiters: list[KsCompletion] = []
        self._own: list[KsCompletion] = []  # each-sends: callers waiting on their own refresh
        self._why_none = "no session was started"
        self._ending: list[KsCompletion] | None = None  # callers of the logout in flight
        self._logout_sent = False  # during_logout "ending": the logout left, KSs refused
        self.persist_session = persist_session
        self._saved: SavedSession | None = None  # what the app persisted

    @property
    def refresh_policy(self) -> RefreshPolicy:
        return self.variants.refresh_policy

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
            completion(PrimitiveResult(error=ErrorElement.session_error(self._why_none)))
            return
        if self._logout_sent:
            completion(PrimitiveResult(error=ErrorElement.session_error(
                "the session is being ended (its logout is in flight)")))
            return
        mode = self.variants.concurrent_refresh
        if self._refreshing and mode == "queue":
            self._waiters.append(completion)
            return
        if self._refreshing and mode == "overwrite-slot":
            self._waiters = [completion]  # the one slot: the earlier caller is dropped
            return
        if session.expires_at - self.now > session.refresh_delta:
            completion(PrimitiveResult(session.ks))
            return
        if mode == "each-sends":
            self._refresh(session, completion)  # no de-duplication: its own refresh
            return
        self._refreshing = True
        self._waiters = [completion]
        self._refresh(session, None)

    # --- what the app does -----------------------------------------------------------------

    def start_anonymous_session(self, udid: str | None = None,
                                completion: KsCompletion | None = None) -> None:
        """Start an anonymous session (``ottUser/anonymousLogin`` + ``session/get``)."""
        generation = self._begin()
        b, pid = self.binding, self._partner_id
        send(b, self.variants, "ott", _ANONYMOUS_LOGIN,
             lambda: b.ott.with_session(b.device, b.ott.anonymous_login(b.device, pid, udid)),
             lambda answer: self._logged_in(generation, answer, udid, completion))

    def start_session(self, username: str, password: str, udid: str | None = None,
                      completion: KsCompletion | None = None) -> None:
        """Start a user session (``ottUser/login`` + ``session/get``)."""
        generation = self._begin()
        b, pid = self.binding, self._partner_id
        send(b, self.variants, "ott", _LOGIN,
             lambda: b.ott.with_session(b.device, b.ott.login(b.device, pid, username,
                                                              password, udid)),
             lambda answer: self._logged_in(generation, answer, udid, completion))

    def start_prior_session(self, username: str | None, age: float,
                            udid: str | None = None) -> None:
        """Hold the session the app started ``age`` seconds before the simulation (a user
        session for ``username``, else anonymous): no call travels now; the backend's
        ledger issues its KS as of then, and the refresh delta is the one computed when it
        was set (a fleet's devices are already logged in when the run starts)."""
        self._begin()
        b = self.binding
        answer = b.ott.prior_session(b.device, self._partner_id, username, udid, age)
        session = self._set(answer, udid, validity_left=answer.value["expiry"] - self.now + age)
        self._started(session, prior=True)

    def recover_session(self, saved: SavedSession,
                        completion: KsCompletion | None = None) -> None:
        """Take a relaunched app's saved session and refresh it at once
        (``recoverSession``); ``completion`` gets the new KS or the error. The refresh is
        in progress as any other: a token request meanwhile waits for it or, with
        ``concurrent_refresh="overwrite-slot"`` (Android), takes ``completion``'s slot;
        with ``each-sends`` (iOS) it sends its own."""
        self._begin()
        b = self.binding
        session = _OttSession(saved.ks, saved.refresh_token, "", False, saved.udid,
                              self.now, 0.0, recovered=True)
        self._session = session
        b.record("session_recovered", {"backend": "ott", "ks": saved.ks})

        def done(result: PrimitiveResult) -> None:
            if completion is not None:
                completion(result)

        if self.variants.concurrent_refresh == "each-sends":
            self._refresh(session, done)
            return
        # The refresh raises the in-progress flag like any other (Android's netkit: the
        # recovery's callback waits in the one slot), so that a token request meanwhile
        # waits for it (queue) or takes its slot (overwrite-slot) rather than sending a
        # second refresh of the same refresh token, which the backend refuses.
        self._refreshing = True
        self._waiters = [done]
        self._refresh(session, None)

    def saved_session(self) -> SavedSession | None:
        """What the app persists to recover this session later (``None``: no session)."""
        session = self._session
        if session is None or session.refresh_token is None:
            return None
        return SavedSession(session.ks, session.refresh_token, session.udid)

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
        """End the session as the SDK does (see the module docstring): anonymous,
        success and kept; user, a KS first, then ``ottUser/logout``, then cleared;
        no session, the completion is never called."""
        session = self._session
        if session is None:
            return
        b = self.binding
        if session.anonymous:
            b.record("session_ended", {"backend": "ott", "anonymous": True, "ks": session.ks,
                                       "server_call": False, "cleared": False})
            if completion is not None:
                completion(PrimitiveResult(session.ks))
            return

        ending_mode = self.variants.during_logout == "ending"
        if ending_mode and self._ending is not None:
            if completion is not None:
                self._ending.append(completion)  # answered with the logout in flight
            return
        ending: list[KsCompletion] = [] if completion is None else [completion]
        if ending_mode:
            self._ending = ending

        def finish(result: PrimitiveResult) -> None:
            if self._ending is ending:
                self._ending = None
                self._logout_sent = False
            for waiting in ending:
                waiting(result)

        def got_ks(result: PrimitiveResult) -> None:
            if result.value is None:
                finish(result)  # nothing is cleared
                return
            ks, current = result.value, self._session
            generation = self._generation
            udid = session.udid if current is None else current.udid

            def answered(answer: ApiAnswer) -> None:
                if generation == self._generation:
                    self._clear("the session was ended; start a new session")
                data: dict[str, Any] = {"backend": "ott", "anonymous": False, "ks": ks,
                                        "server_call": True, "ok": answer.ok, "cleared": True}
                if not answer.ok:
                    data["code"] = answer.code if answer.code is not None \
                        else answer.http_status
                b.record("session_ended", data)
                finish(PrimitiveResult(ks) if answer.ok else
                       PrimitiveResult(error=ErrorElement.from_answer(answer)))

            if ending_mode and self._ending is ending:
                self._logout_sent = True  # token requests are refused from now on
            send(b, self.variants, "ott", "ottUser/logout",
                 lambda: b.ott.logout(b.device, ks, udid), answered, ks=ks)

        self.get_ks(got_ks)

    def relaunched(self) -> None:
        """The app started again after a kill: with ``persist_session`` it recovers the
        session it saved (refreshed at once); otherwise nothing happens."""
        saved, self._saved = self._saved, None
        if saved is not None:
            self.recover_session(saved)

    def forget(self) -> None:
        """The app was killed: its in-memory session is gone, with no server call and no
        completion called. The KS stays valid at the backend until it expires. With
        ``persist_session`` the app saved it first."""
        if self.persist_session:
            self._saved = self.saved_session()
        session = self._session
        self._generation += 1
        self._session = None
        self._why_none = "no session was started"
        self._waiters = []
        self._own = []
        self._refreshing = False
        self._in_flight = 0
        self._ending = None
        self._logout_sent = False
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
        """Whether a refresh is in flight."""
        return self._in_flight > 0

    @property
    def udid(self) -> str | None:
        return None if self._session is None else self._session.udid

    # --- inside ------------------------------------------------------------------------------

    def _begin(self) -> int:
        """A new session replaces any current one; answers for the old one are ignored."""
        self._clear("a new session started")
        self._why_none = "no session was started"
        self._ending = None
        self._logout_sent = False
        return self._generation

    def _clear(self, why: str) -> None:
        """Drop the session; callers waiting for a refresh get a session error."""
        self._generation += 1
        self._session = None
        self._why_none = why
        waiters, self._waiters = [*self._waiters, *self._own], []
        self._own = []
        self._refreshing = False
        self._in_flight = 0
        for waiter in waiters:
            waiter(PrimitiveResult(error=ErrorElement.session_error(why)))

    def _logged_in(self, generation: int, answer: ApiAnswer, udid: str | None,
                   completion: KsCompletion | None) -> None:
        if generation != self._generation:
            return
        if not answer.ok:
            error = ErrorElement.login_failed(answer)
            self.binding.record("session_start_failed", {
                "backend": "ott", "code": error.code, "name": error.name,
                "message": error.message})
            if completion is not None:
                completion(PrimitiveResult(error=error))
            return
        session = self._set(answer, udid)
        self._started(session)
        if completion is not None:
            completion(PrimitiveResult(session.ks))

    def _started(self, session: _OttSession, *, recovered: bool = False,
                 prior: bool = False) -> None:
        data: dict[str, Any] = {
            "backend": "ott", "anonymous": session.anonymous, "user_id": session.user_id,
            "ks": session.ks, "partner_id": self._partner_id,
            "expires_at": round(session.expires_at, 6),
            "refresh_delta": round(session.refresh_delta, 6), "base_url": self._base_url,
            "variant": self.variants.name}
        if recovered:
            data["recovered"] = True
        if prior:
            data["prior"] = True
        self.binding.record("session_started", data)

    def _set(self, answer: ApiAnswer, udid: str | None, *,
             validity_left: float | None = None) -> _OttSession:
        value = answer.value
        expires_at = float(value["expiry"])
        user_id = str(value["user_id"])
        left = expires_at - self.now if validity_left is None else validity_left
        session = _OttSession(value["ks"], value.get("refresh_token"), user_id, user_id == "0",
                              udid, expires_at, self.refresh_policy.delta(left))
        self._session = session
        return session

    def _refresh(self, session: _OttSession, own: KsCompletion | None) -> None:
        """Send ``ottUser/refreshSession`` + ``session/get``; its answer goes to ``own``
        (each-sends) or to the waiters."""
        b, generation = self.binding, self._generation
        started = self.now
        expired = session.expires_at <= started
        self._in_flight += 1
        if own is not None:
            self._own.append(own)
        if session.refresh_token is None:
            self._refreshed(generation, session, ApiAnswer(
                200, code="NoRefreshToken", name="NoRefreshToken",
                message="the session has no refresh token"), started, own)
            return
        # an expired KS is not sent: the token renews; a recovered one is sent as saved
        ks = session.ks if session.recovered or not expired else None
        token, udid = session.refresh_token, session.udid
        b.record("ks_refresh_sent", {"backend": "ott", "ks_from": session.ks,
                                     "expired": expired})
        send(b, self.variants, "ott", _REFRESH,
             lambda: b.ott.with_session(b.device, b.ott.refresh_session(b.device, ks, token,
                                                                        udid)),
             lambda answer: self._refreshed(generation, session, answer, started, own), ks=ks)

    def _refreshed(self, generation: int, old: _OttSession, answer: ApiAnswer,
                   started: float, own: KsCompletion | None) -> None:
        """A refresh (or, once expired when it started, a renewal) was answered."""
        if generation != self._generation:
            return  # a clear answered every caller already
        self._in_flight = max(self._in_flight - 1, 0)
        if own is not None:
            self._own = [o for o in self._own if o is not own]
        if not answer.ok:
            self._refresh_failed(ErrorElement.from_answer(answer), old, own)
            return
        session = self._set(answer, old.udid)
        if old.recovered:
            self._started(session, recovered=True)
            self._answer(PrimitiveResult(session.ks), own)
            return
        expired = old.expires_at <= started
        data: dict[str, Any] = {"backend": "ott", "ks_from": old.ks, "ks": session.ks,
                                "expires_at": round(session.expires_at, 6)}
        if expired:
            data["expired_for"] = round(started - old.expires_at, 6)
        else:
            data["time_left"] = round(old.expires_at - started, 6)
        self.binding.record("ks_renewed" if expired else "ks_refreshed", data)
        self._answer(PrimitiveResult(session.ks), own)

    def _refresh_failed(self, cause: ErrorElement, old: _OttSession,
                        own: KsCompletion | None) -> None:
        error = ErrorElement.session_error(cause.describe())
        clear = self.variants.failed_refresh == "clear"
        self.binding.record("ks_refresh_failed", {"backend": "ott", "code": error.code,
                                                  "message": error.message, "cleared": clear})
        result = PrimitiveResult(error=error)
        if not clear:
            self._answer(result, own)
            return
        # the callers of this refresh hear why it failed; any other waiter, that the
        # session was cleared
        waiting = [own] if own is not None else self._waiters
        if own is None:
            self._waiters = []
        current = self._session
        self.binding.record("session_cleared", {
            "backend": "ott", "ks": old.ks if current is None else current.ks,
            "why": f"a refresh failed: {cause.describe()}"})
        self._clear("the session was cleared after a failed refresh; start a new session")
        for waiter in waiting:
            waiter(result)

    def _answer(self, result: PrimitiveResult, own: KsCompletion | None) -> None:
        if own is not None:
            own(result)
            return
        waiters, self._waiters = self._waiters, []
        self._refreshing = False
        for waiter in waiters:
            waiter(result)

    def __repr__(self) -> str:
        state = ("no session" if self._session is None else
                 f"{'anonymous' if self._session.anonymous else 'user'} KS {self._session.ks}")
        return (f"<OttSessionProvider {self._base_url} partner {self._partner_id} "
                f"({self.variants.name}): {state}>")
