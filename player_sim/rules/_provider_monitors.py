"""Monitors of the session-provider rules (``seeds/004_0c9c6e939a18d3d9.txt``).

(``provider.ks.completes`` lives with the SSM monitors in :mod:`._monitors`; both
are built on :mod:`._base`.)

They read the provider and KS records of the trace (README, "Trace format"):
on the backend side ``ks_issued``, ``ks_used``, ``ks_refreshed``,
``ks_renewed``, ``ks_revoked``, ``session_started``, ``session_ended``,
``session_forgotten``; on the device ``ks_requested``, ``ks_answered`` and
``media_load_started``. A trace without them (a device with no session
provider) leaves these monitors silent.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit

from ..providers import API_PATH, SESSION_ERROR, VARIANT_NAMES, ProviderVariants
from ..trace import TraceRecord
from ._base import DeviceView as _DeviceView
from ._base import Monitor, ProviderView

__all__ = ["PROVIDER_MONITORS"]

_EPS: Final = 1e-3
#: How close (seconds) an OVP KS's lifetime must be to the configured validity.
_VALIDITY_TOLERANCE: Final = 1.0


class _ProviderMonitor(Monitor):
    """A monitor reading the device's :class:`ProviderView` (kept by the checker)."""

    def observe(self, line: int, rec: TraceRecord, dev: _DeviceView | None) -> None:
        if dev is not None:
            self.check(line, rec, dev, dev.provider)

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        raise NotImplementedError


class _BaseUrlHostOnly(_ProviderMonitor):
    """Judged where the backend is known (``session_started``): an OVP base URL is
    the host only, an OTT one includes its API path (DOMAIN.md: the seed's sentence
    holds for OVP). ``device_added`` gives the URL of a provider that records none."""

    rule_id = "provider.base-url.host-only"
    kinds = frozenset({"device_added", "session_started"})
    reads = frozenset({"base_url", "backend"})

    def __init__(self, checker: Any) -> None:
        super().__init__(checker)
        self._urls: dict[str, str] = {}

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        url = rec.data.get("base_url", self._urls.get(dev.name))
        if not isinstance(url, str):
            return
        if rec.kind == "device_added":
            self._urls[dev.name] = url
            return
        backend = rec.data.get("backend")
        if backend not in ("ott", "ovp"):
            return
        self.observed()
        parts = urlsplit(url)
        host = f"{parts.scheme}://{parts.netloc}/"
        if backend == "ovp" and (parts.path not in ("", "/") or parts.query):
            self.violate(line, rec, f"OVP base URL {url!r} is not a host alone (path "
                                    f"{parts.path!r}); use {host}")
        elif backend == "ott" and not parts.path.endswith("/" + API_PATH):
            self.violate(line, rec, f"OTT base URL {url!r} lacks the API path; use "
                                    f"{url.rstrip('/')}/{API_PATH}")


class _PartnerId(_ProviderMonitor):
    rule_id = "provider.ks.partner-id"
    kinds = frozenset({"ks_issued", "session_started", "ks_refreshed", "ks_renewed"})
    reads = frozenset({"ks", "partner_id", "ks_from"})

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        data = rec.data
        if rec.kind == "session_started":
            issued = view.issued.get(data.get("ks", ""))
            if issued is not None:
                self.observed()
            if issued is not None and issued.get("partner_id") != data.get("partner_id"):
                self.violate(line, rec, f"session of partner {data.get('partner_id')} uses a KS "
                                        f"created for partner {issued.get('partner_id')}")
        elif rec.kind in ("ks_refreshed", "ks_renewed"):
            old, new = view.issued.get(data.get("ks_from", "")), view.issued.get(data.get("ks", ""))
            if old is not None and new is not None:
                self.observed()
            if old is not None and new is not None \
                    and old.get("partner_id") != new.get("partner_id"):
                self.violate(line, rec, f"KS of partner {old.get('partner_id')} renewed as a KS "
                                        f"of partner {new.get('partner_id')}")


class _StartedBy(_ProviderMonitor):
    """A session of ``backend`` (anonymous or not) is started by ``api``."""

    kinds = frozenset({"session_started", "ks_issued"})
    reads = frozenset({"backend", "anonymous", "ks", "recovered"})
    backend: ClassVar[str]
    anonymous: ClassVar[bool]
    api: ClassVar[str]

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        data = rec.data
        if rec.kind != "session_started" or data.get("backend") != self.backend \
                or bool(data.get("anonymous")) is not self.anonymous \
                or data.get("recovered"):  # a recovered session's KS is a refresh's
            return
        self.observed()
        issued = view.issued.get(data.get("ks", ""))
        via = None if issued is None else issued.get("via")
        if via != self.api:
            who = "anonymous" if self.anonymous else "user"
            self.violate(line, rec, f"{self.backend.upper()} {who} session started with a KS "
                                    f"from {via!r}, not {self.api!r}")


class _OttAnonymousLogin(_StartedBy):
    rule_id = "provider.ott.anonymous-login"
    backend, anonymous, api = "ott", True, "ottUser/anonymousLogin"


class _OttUserLogin(_StartedBy):
    rule_id = "provider.ott.user-login"
    backend, anonymous, api = "ott", False, "ottUser/login"


class _OvpWidgetSession(_StartedBy):
    rule_id = "provider.ovp.widget-session"
    backend, anonymous, api = "ovp", True, "session/startWidgetSession"


class _OvpUserLogin(_StartedBy):
    rule_id = "provider.ovp.user-login"
    backend, anonymous, api = "ovp", False, "user/loginByLoginId"


class _AskedAt(_ProviderMonitor):
    """Judges each ``ks_answered`` at the time its ``ks_requested`` was made: an app
    suspended in normal background receives the answer late, but the provider
    answered when it was asked (answers come in request order)."""

    def __init__(self, checker: Any) -> None:
        super().__init__(checker)
        self._asked: dict[str, deque[tuple[int | None, float, bool]]] = {}
        self.asked_at = 0.0
        #: whether a session was started when the answered request was made
        self.asked_with_session = False

    def observe(self, line: int, rec: TraceRecord, dev: _DeviceView | None) -> None:
        if dev is None:
            return
        asked = self._asked.setdefault(dev.name, deque())
        if rec.kind == "ks_requested":
            asked.append((rec.playback_id, rec.t, dev.provider.session is not None))
        elif rec.kind in ("app_killed", "app_relaunched"):
            asked.clear()
        else:
            if rec.kind == "ks_answered":
                self.asked_at, self.asked_with_session = self._request_of(rec, dev, asked)
            self.check(line, rec, dev, dev.provider)

    @staticmethod
    def _request_of(rec: TraceRecord, dev: _DeviceView,
                    asked: deque[tuple[int | None, float, bool]]) -> tuple[float, bool]:
        """The request ``rec`` answers: the one of its playback (a request whose
        completion a client dropped is never answered), else the oldest."""
        for entry in asked:
            if rec.playback_id is not None and entry[0] == rec.playback_id:
                asked.remove(entry)
                return entry[1], entry[2]
        if asked:
            _, t, with_session = asked.popleft()
            return t, with_session
        return rec.t, dev.provider.session is not None


class _RefreshBeforeExpiry(_AskedAt):
    """Judged against the KS's expiry as the backend issued it (``ks_issued``) and the
    documented refresh delta (:func:`~._base.documented_refresh_delta`), never the
    delta the provider declares about itself."""

    rule_id = "provider.ott.refresh-before-expiry"
    kinds = frozenset({"ks_answered", "session_started", "ks_refreshed", "ks_renewed",
                       "session_ended", "ks_issued", "ks_requested", "app_killed",
                       "app_relaunched", "device_added"})
    reads = frozenset({"ks", "backend"})

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        if rec.kind == "ks_refreshed" and rec.data.get("backend") == "ott":
            self.observed()  # a refresh before expiry: the situation this rule is about
        ks = rec.data.get("ks")
        if rec.kind != "ks_answered" or not isinstance(ks, str) or view.session is None:
            return
        issued = view.issued.get(ks)
        delta = view.refresh_delta  # from the backend's expiry and the documented policy
        if issued is None or issued.get("backend") != "ott" or delta is None:
            return
        left = float(issued["expires_at"]) - self.asked_at
        if 0 < left < delta - self.config.reaction_window:
            self.violate(line, rec, f"answered a KS with {left:g}s left before the expiry the "
                                    f"backend issued it with, inside the documented refresh "
                                    f"delta of {delta:g}s, without refreshing it first")


class _RenewAfterExpiry(_AskedAt):
    """A provider never answers a KS that had expired when it was asked for: it
    renews first."""

    kinds = frozenset({"ks_answered", "ks_issued", "ks_requested", "app_killed",
                       "app_relaunched", "ks_renewed"})
    reads = frozenset({"ks", "backend"})
    backend: ClassVar[str]

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        if rec.kind == "ks_renewed" and rec.data.get("backend") == self.backend:
            self.observed()  # a KS renewed after (or near) expiry
        ks = rec.data.get("ks")
        if rec.kind != "ks_answered" or not isinstance(ks, str):
            return
        issued = view.issued.get(ks)
        if issued is None or issued.get("backend") != self.backend:
            return
        expires = float(issued["expires_at"])
        if self.asked_at >= expires + _EPS:
            self.violate(line, rec, f"answered KS {ks!r} asked for {self.asked_at - expires:g}s "
                                    "after it expired, instead of renewing it")


class _OttRenewAfterExpiry(_RenewAfterExpiry):
    rule_id = "provider.ott.renew-after-expiry"
    backend = "ott"


class _OvpRenewAfterExpiry(_RenewAfterExpiry):
    rule_id = "provider.ovp.renew-after-expiry"
    backend = "ovp"


class _EndedRequestsFail(_AskedAt):
    """Requests with an ended session's KS fail: the backend refuses a revoked KS, and
    the provider never hands out the KS of a session it ended (a later token request
    fails instead). An answer is judged as of its request (an app in the background
    receives it late, maybe after the session ended)."""

    rule_id = "provider.ended.requests-fail"
    kinds = frozenset({"ks_used", "ks_revoked", "ks_answered", "ks_requested", "app_killed",
                       "app_relaunched"})
    reads = frozenset({"ks", "valid"})

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        ks = rec.data.get("ks")
        if rec.kind == "ks_answered":
            if view.ended and view.session is None:
                self.observed()  # a token request after the session ended
                if ks in view.ended and not self.asked_with_session:
                    self.violate(line, rec, f"the provider answered KS {ks!r} of a session "
                                            "it had ended")
            return
        if rec.kind == "ks_used" and ks in view.revoked:
            self.observed()
        if rec.kind == "ks_used" and ks in view.revoked and rec.data.get("valid"):
            self.violate(line, rec, f"a request with KS {ks!r} of an ended session was accepted")


class _EndedCannotRenew(_ProviderMonitor):
    rule_id = "provider.ended.cannot-renew"
    kinds = frozenset({"ks_refreshed", "ks_renewed", "session_ended", "ks_answered"})
    reads = frozenset({"ks_from", "ks"})

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        if rec.kind == "ks_answered" and view.session is None and view.ended:
            self.observed()  # a token asked for after the session ended
            return
        source = rec.data.get("ks_from")
        if rec.kind != "session_ended" and source in view.ended:
            self.violate(line, rec, f"KS {source!r} of an ended session was renewed as "
                                    f"{rec.data.get('ks')!r}")


class _EndsWith(_ProviderMonitor):
    """Ending a user session of ``backend`` calls ``api``."""

    kinds = frozenset({"session_ended", "ks_used", "session_started"})
    reads = frozenset({"backend", "anonymous", "ks"})
    backend: ClassVar[str]
    api: ClassVar[str]

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        data = rec.data
        if rec.kind != "session_ended" or data.get("backend") != self.backend \
                or data.get("anonymous"):
            return
        issued = view.issued.get(data.get("ks", ""))
        if issued is not None and rec.t >= float(issued["expires_at"]) - _EPS:
            return  # its KS had expired: the server holds nothing to end
        before = view.session_before or {}
        if not self.called_by(str(before.get("variant", VARIANT_NAMES[0]))):
            return  # this client has no such call (iOS OVP: no session/end)
        self.observed()
        if self.api not in view.endpoints:
            self.violate(line, rec, f"{self.backend.upper()} user session ended without a "
                                    f"{self.api} call")


    def called_by(self, variant: str) -> bool:
        return True


class _OttLogoutEnds(_EndsWith):
    rule_id = "provider.ott.logout-ends"
    backend, api = "ott", "ottUser/logout"


class _OvpSessionEnd(_EndsWith):
    rule_id = "provider.ovp.session-end"
    backend, api = "ovp", "session/end"

    def called_by(self, variant: str) -> bool:
        return variant not in VARIANT_NAMES or ProviderVariants.named(variant).ovp_session_end


class _AnonymousCannotEnd(_ProviderMonitor):
    rule_id = "provider.anonymous.cannot-end"
    kinds = frozenset({"ks_revoked", "ks_issued", "ks_used", "session_ended"})
    reads = frozenset({"ks", "valid", "status", "anonymous"})

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        ks = rec.data.get("ks")
        issued = view.issued.get(ks) if isinstance(ks, str) else None
        if issued is None or not issued.get("anonymous"):
            return
        if rec.kind == "session_ended":
            if rec.data.get("anonymous"):
                self.observed()  # an anonymous session "ended": its KS must stay valid
            return
        if rec.kind == "ks_revoked":
            self.violate(line, rec, f"anonymous KS {ks!r} was revoked: an anonymous session "
                                    "can't be ended before its KS expires")
        elif rec.kind == "ks_used" and not rec.data.get("valid") \
                and rec.t < float(issued["expires_at"]) - _EPS \
                and rec.data.get("status") == "revoked":
            self.violate(line, rec, f"anonymous KS {ks!r} refused before it expired")


class _ReadyAfterStart(_AskedAt):
    rule_id = "provider.ready-after-start"
    kinds = frozenset({"ks_answered", "session_started", "session_ended", "session_forgotten",
                       "ks_requested", "app_killed", "app_relaunched"})

    reads = frozenset({"ks"})

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        if rec.kind == "ks_answered":
            self.observed()  # every answer: a KS only if a session was started when asked
        if rec.kind == "ks_answered" and rec.data.get("ks") is not None and view.had_session \
                and not self.asked_with_session:
            self.violate(line, rec, "the session provider answered a KS with no session "
                                    "started")


class _MediaUsesSessionProvider(_ProviderMonitor):
    """A network kit's retry (``request_retried``, then the call again) belongs to the
    load that first sent the call, not to a later playback whose KS failed."""

    rule_id = "provider.media.uses-session-provider"
    kinds = frozenset({"media_load_started", "ks_used", "ks_answered", "ks_requested",
                       "action", "request_retried"})
    reads = frozenset({"endpoint", "ks"})

    def __init__(self, checker: Any) -> None:
        super().__init__(checker)
        self._retries: dict[tuple[str, str], int] = {}  # (device, endpoint) -> retries due

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        key = (dev.name, str(rec.data.get("endpoint", "")))
        if rec.kind == "request_retried":
            self._retries[key] = self._retries.get(key, 0) + 1
            return
        if rec.kind == "ks_used" and self._retries.get(key, 0) > 0:
            self._retries[key] -= 1  # an earlier load's call, sent again
            return
        if rec.kind == "ks_answered" and rec.data.get("ks") is None:
            self.observed()  # no KS: the media provider must not call the backend
        elif rec.kind == "media_load_started":
            self.observed()
            if view.ks_generation != dev.generation:
                self.violate(line, rec, "media load started without a KS from the session "
                                        "provider for this playback")
        elif rec.kind == "ks_used" and "getPlaybackContext" in str(
                rec.data.get("endpoint", "")) and view.ks_failed_generation == dev.generation \
                and view.ks_generation != dev.generation:
            self.violate(line, rec, "the media provider called the backend although the "
                                    "session provider failed to give a KS")


class _OvpValid24h(_ProviderMonitor):
    rule_id = "provider.ovp.valid-24h"
    kinds = frozenset({"ks_issued"})
    reads = frozenset({"backend", "expires_at", "anonymous"})

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        data = rec.data
        if data.get("backend") != "ovp" or not isinstance(data.get("expires_at"), int | float):
            return
        validity = (self.config.ovp_widget_validity if data.get("anonymous")
                    else self.config.ovp_user_validity)
        if validity is None:
            return
        self.observed()
        lifetime = float(data["expires_at"]) - rec.t
        if abs(lifetime - validity) > _VALIDITY_TOLERANCE:
            self.violate(line, rec, f"OVP KS valid for {lifetime:g}s, not {validity:g}s")


class _RefreshMargin(_ProviderMonitor):
    """A refresh comes no earlier than the documented delta before the expiry the
    backend issued the replaced KS with (not the ``time_left`` the provider reports)."""

    rule_id = "provider.ott.refresh-margin"
    kinds = frozenset({"ks_refreshed", "session_started", "ks_issued", "device_added"})
    reads = frozenset({"ks_from"})

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        if rec.kind != "ks_refreshed":
            return
        delta = view.refresh_delta_before  # documented, from the backend's expiry
        issued = view.issued.get(rec.data.get("ks_from", ""))
        left = None if issued is None else float(issued["expires_at"]) - rec.t
        if isinstance(delta, int | float) and isinstance(left, int | float):
            self.observed()
        if isinstance(delta, int | float) and isinstance(left, int | float) \
                and left > delta + self.config.reaction_window:
            self.violate(line, rec, f"KS refreshed with {left:g}s left, earlier than the "
                                    f"documented refresh delta of {delta:g}s")


class _OneRefreshAtATime(_ProviderMonitor):
    """Counts each device's OTT refreshes in flight (``ks_refresh_sent`` until its
    ``ks_refreshed`` / ``ks_renewed`` / ``ks_refresh_failed``); a token request
    meanwhile is the situation judged, a second refresh sent is the violation."""

    rule_id = "provider.ott.one-refresh"
    kinds = frozenset({"ks_refresh_sent", "ks_refreshed", "ks_renewed", "ks_refresh_failed",
                       "ks_requested", "session_started", "session_ended", "session_cleared",
                       "session_forgotten", "app_killed"})
    reads = frozenset({"backend", "ks_from"})

    def __init__(self, checker: Any) -> None:
        super().__init__(checker)
        self._in_flight: dict[str, int] = {}

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        kind, flying = rec.kind, self._in_flight.get(dev.name, 0)
        if kind == "ks_requested":
            if flying:
                self.observed()  # a token request while a refresh is in flight
            return
        if kind in ("session_started", "session_ended", "session_cleared",
                    "session_forgotten", "app_killed"):
            if kind != "session_ended" or rec.data.get("backend") == "ott":
                self._in_flight[dev.name] = 0
            return
        if rec.data.get("backend") != "ott":
            return
        if kind != "ks_refresh_sent":
            self._in_flight[dev.name] = max(flying - 1, 0)
            return
        if flying:
            self.violate(line, rec, f"a second refresh of KS {rec.data.get('ks_from')!r} was "
                                    f"sent while {flying} was in flight: the refresh token "
                                    "rotates, so one of them fails and clears the session")
        self._in_flight[dev.name] = flying + 1


class _OvpWidgetId(_ProviderMonitor):
    """Judged by the backend: a widget session request it refused as malformed
    (``INVALID_WIDGET_ID``, not a planned fault) had a widget id other than "_" and
    the partner id."""

    rule_id = "provider.ovp.widget-id"
    kinds = frozenset({"ks_issued", "ovp_error"})
    reads = frozenset({"via", "endpoint", "code", "forced", "message"})
    _ENDPOINT: ClassVar[str] = "session/startWidgetSession"

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        data = rec.data
        if rec.kind == "ks_issued":
            if data.get("via") == self._ENDPOINT:
                self.observed()  # a widget session the backend started: its id was right
            return
        if data.get("endpoint") != self._ENDPOINT or data.get("forced"):
            return
        self.observed()
        if data.get("code") == "INVALID_WIDGET_ID":
            self.violate(line, rec, f"widget session asked for with a malformed widget id: "
                                    f"{data.get('message')}")


class _EndedNoReuse(_ProviderMonitor):
    """After a session ended (and was cleared), the provider never hands its KS out again
    (``ks_answered``) but to a request asked for before the end, its KS never reaches a
    backend again (``ks_used``, the backend's record) but in a request of a playback that
    held it or had asked for it when the session ended, within the reaction window (the
    app logged out while a play was starting: not a reuse by the provider), and a
    session starts only for a login the app asked for: one asked for since the last
    session started or failed to start (it may have been asked for while the logout was
    still on the wire)."""

    rule_id = "provider.ended.no-reuse"
    kinds = frozenset({"session_ended", "session_started", "session_start_failed", "ks_used",
                       "ks_requested", "ks_answered", "action", "app_killed"})
    reads = frozenset({"cleared", "ks", "name", "recovered", "endpoint"})

    def __init__(self, checker: Any) -> None:
        super().__init__(checker)
        self._ended: dict[str, set[str]] = {}  # device -> KSs of its ended sessions
        self._after_end: set[str] = set()      # devices whose session ended, none started
        self._logins: dict[str, int] = {}      # device -> logins asked for, not yet answered
        self._in_hand: dict[str, Any] = {}     # device -> the KS last handed to its player
        self._asking: dict[str, int] = {}      # device -> token requests not yet answered
        self._asked_before_end: dict[str, int] = {}  # ... of them asked before a session end
        # device -> ended KS its player held, or was answered for a request asked before
        # the end -> until when a request of the playback under way may still carry it.
        self._held: dict[str, dict[str, float]] = {}

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        data, name = rec.data, dev.name
        if rec.kind == "session_ended":
            if data.get("cleared") is not False and isinstance(data.get("ks"), str):
                self.observed()  # an ended session: neither reused nor replaced on its own
                self._ended.setdefault(name, set()).add(data["ks"])
                self._after_end.add(name)
                if self._in_hand.get(name) == data["ks"]:
                    self._hold(name, data["ks"], rec.t)
                self._asked_before_end[name] = self._asking.get(name, 0)
        elif rec.kind == "ks_requested":
            self._asking[name] = self._asking.get(name, 0) + 1
        elif rec.kind == "ks_answered":
            ks = data.get("ks")
            self._asking[name] = max(0, self._asking.get(name, 0) - 1)
            before_end = self._asked_before_end.get(name, 0)
            if before_end:
                self._asked_before_end[name] = before_end - 1
            if isinstance(ks, str) and ks in self._ended.get(name, ()):
                if before_end:
                    self._hold(name, ks, rec.t)  # asked for before the end: in flight
                else:
                    self.violate(line, rec, f"the provider handed out KS {ks!r} of a "
                                            "session that had ended")
            self._in_hand[name] = ks
        elif rec.kind == "action":
            if data.get("name") == "login":
                self._logins[name] = self._logins.get(name, 0) + 1
        elif rec.kind == "app_killed":
            self._after_end.discard(name)
            self._logins.pop(name, None)
        elif rec.kind in ("session_started", "session_start_failed"):
            asked = self._logins.get(name, 0)
            self._logins[name] = max(0, asked - 1)
            if rec.kind == "session_started" and name in self._after_end and not asked \
                    and not data.get("recovered"):
                self.violate(line, rec, "a session started after the last one ended, with no "
                                        "login by the app: the provider logged in on its own")
            self._after_end.discard(name)
        elif isinstance(data.get("ks"), str) and data["ks"] in self._ended.get(name, ()) \
                and rec.t > self._held.get(name, {}).get(data["ks"], -1.0):
            self.violate(line, rec, f"{data.get('endpoint')} was sent with KS "
                                    f"{data.get('ks')!r} of a session that had ended")


    def _hold(self, name: str, ks: str, t: float) -> None:
        self._held.setdefault(name, {})[ks] = t + self.config.reaction_window


class _PartnerIdConfigured(_ProviderMonitor):
    """The configured partner id (``device_added``) against what the provider reports
    (``ks_requested``: partnerId()) and what the backend issued (``ks_issued``)."""

    rule_id = "provider.partner-id.configured"
    kinds = frozenset({"device_added", "ks_requested", "ks_issued"})
    reads = frozenset({"partner_id", "via"})

    def __init__(self, checker: Any) -> None:
        super().__init__(checker)
        self._configured: dict[str, int] = {}

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        told = rec.data.get("partner_id")
        if rec.kind == "device_added":
            if isinstance(told, int) and told > 0:
                self._configured[dev.name] = told
            return
        configured = self._configured.get(dev.name)
        if configured is None or told is None:
            return
        self.observed()
        if told != configured:
            what = ("partnerId() reports" if rec.kind == "ks_requested"
                    else f"the backend issued a KS ({rec.data.get('via')}) for")
            self.violate(line, rec, f"{what} partner {told}, not the configured partner "
                                    f"{configured}")


class _RefreshError601(_ProviderMonitor):
    """After the backend refused a device's OTT refresh (its ``ott_error`` record), the
    next token answer of that device is a KS (a retry succeeded) or session error 601."""

    rule_id = "provider.ott.refresh-error-601"
    kinds = frozenset({"ott_error", "ks_answered", "app_killed"})
    reads = frozenset({"endpoint", "ks", "error_code"})
    _ENDPOINT: ClassVar[str] = "ottUser/refreshSession"
    _SESSION_ERROR: ClassVar[int] = SESSION_ERROR

    def __init__(self, checker: Any) -> None:
        super().__init__(checker)
        self._refused: set[str] = set()  # devices whose last refresh the backend refused

    def check(self, line: int, rec: TraceRecord, dev: _DeviceView, view: ProviderView) -> None:
        data = rec.data
        if rec.kind == "ott_error":
            if data.get("endpoint") == self._ENDPOINT:
                self._refused.add(dev.name)
            return
        if rec.kind == "app_killed" or dev.name not in self._refused:
            self._refused.discard(dev.name)
            return
        self._refused.discard(dev.name)
        self.observed()  # a token answer after a refused refresh
        code = data.get("error_code")
        if data.get("ks") is None and code != self._SESSION_ERROR:
            self.violate(line, rec, f"a refused refresh reached the app as error {code!r}, "
                                    f"not session error {self._SESSION_ERROR}")


#: Every provider monitor class.
PROVIDER_MONITORS: Final[tuple[type[Monitor], ...]] = (
    _BaseUrlHostOnly, _PartnerId, _OttAnonymousLogin, _OttUserLogin,
    _RefreshBeforeExpiry, _OttRenewAfterExpiry, _EndedRequestsFail, _EndedCannotRenew,
    _OttLogoutEnds, _AnonymousCannotEnd, _ReadyAfterStart, _OvpWidgetSession, _OvpUserLogin,
    _OvpValid24h, _OvpRenewAfterExpiry, _OvpSessionEnd, _MediaUsesSessionProvider,
    _RefreshMargin, _OneRefreshAtATime, _OvpWidgetId, _EndedNoReuse, _PartnerIdConfigured,
    _RefreshError601,
)
