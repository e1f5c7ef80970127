"""The simulated OVP backend (Kaltura OVP), reached over the ``ovp`` link.

Calls (``seeds/004_0c9c6e939a18d3d9.txt`` and DOMAIN.md "Kaltura session providers"):

* ``session/startWidgetSession(widgetId)``: an anonymous KS for the partner of
  the widget id ``"_" + partnerId``;
* ``user/loginByLoginId(loginId, password, partnerId)``: a user KS;
* ``session/get(ks)``: the KS's expiry, partner id and user id (sent in one
  multirequest with ``loginByLoginId``: :meth:`OvpBackend.with_session`);
* ``session/end(ks)``: "making the session token invalid";
* ``baseEntry/list``, ``baseEntry/getPlaybackContext(ks, entryId)`` (the entry's
  DRM data) and ``metadata/list``: the media load's multirequest.

Server errors come in an HTTP 200 body with OVP's string codes
(:data:`OVP_ERROR_CODES`); an outage answers HTTP 408 (no connection).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from .._errors import ConfigError
from .._validators import one_of, positive, typed
from ._faults import Fault, ForcedFaults
from ._ks import ApiAnswer, KsLedger, KsStatus, record_error
from ._ott import DRM_SCHEMES, DrmScheme
from ._ssm import _Host

__all__ = ["OVP_ERROR_CODES", "OvpBackend", "OvpConfig", "OvpEntry", "OvpFault"]

#: The API calls of the OVP backend, as named in fault injection and the trace.
ENDPOINTS: Final = ("session/startWidgetSession", "user/loginByLoginId", "session/get",
                    "session/end", "baseEntry/list", "baseEntry/getPlaybackContext",
                    "metadata/list")

#: OVP's error codes this backend answers with.
OVP_ERROR_CODES: Final = ("INVALID_KS", "LOGIN_DATA_NOT_FOUND", "USER_WRONG_PASSWORD",
                          "ENTRY_ID_NOT_FOUND", "INVALID_WIDGET_ID")


@attrs.frozen
class OvpFault(Fault):
    """A forced OVP error: ``ovp_code`` is one of OVP's string codes (in an HTTP 200 body)."""

    ovp_code: str | None = None


@attrs.frozen(field_transformer=typed)
class OvpEntry:
    """A media entry's DRM data: scheme, license URL, whether SSM applies."""

    drm_scheme: DrmScheme = attrs.field(default="widevine", validator=one_of(DRM_SCHEMES))
    license_url: str = "https://udrm.ovp.example/cenc/widevine/license"
    ssm: bool = True


@attrs.frozen(field_transformer=typed)
class OvpConfig:
    """How the OVP backend behaves.

    * ``widget_session_validity``: seconds a widget (anonymous) KS is valid. The
      provider *assumes* 24 h without asking; set this lower to see what an SDK
      relying on that assumption does.
    * ``user_session_validity``: seconds a ``loginByLoginId`` KS is valid.
    * ``users``: login id to password; ``any_user``: every login id logs in,
      whatever its password (a fleet's accounts, too many to list).
    * ``entries``: entry id to :class:`OvpEntry`; others get ``default_entry``
      (``None``: ``ENTRY_ID_NOT_FOUND``).
    """

    widget_session_validity: float = attrs.field(default=86400.0, validator=positive)
    user_session_validity: float = attrs.field(default=86400.0, validator=positive)
    users: Mapping[str, str] = attrs.field(factory=dict)
    any_user: bool = False
    entries: Mapping[str, OvpEntry] = attrs.field(factory=dict)
    default_entry: OvpEntry | None = attrs.field(factory=OvpEntry)


class OvpBackend:
    """The OVP API: widget and user KSs with expiry and ``session/end``, media entries."""

    def __init__(self, config: OvpConfig, host: _Host) -> None:
        self.config = config
        self._host = host
        self.ledger = KsLedger("ovp", host)
        self.faults = ForcedFaults(ENDPOINTS)

    def fail_next(self, endpoint: str, count: int = 1, *, http_status: int = 200,
                  code: str | None = None, message: str = "") -> None:
        """Answer the next ``count`` calls of ``endpoint`` with this error (an OVP
        ``code`` in an HTTP 200 body, or ``http_status`` alone for a transport error)."""
        if http_status == 200 and code is None:
            raise ConfigError("a forced OVP error needs a code (in an HTTP 200 body, e.g. "
                              "'INVALID_KS') or an HTTP status other than 200")
        self.faults.fail_next(endpoint, count, OvpFault(http_status, None, message, code))

    def ks_status(self, ks: str | None) -> KsStatus:
        return self.ledger.status(ks)

    def mint_ks(self, partner_id: int, *, user_id: str = "", validity: float = 86400.0,
                device: str | None = None) -> str:
        """A KS the partner's own server created (as with its admin secret), the kind a
        self-implemented session provider hands out. No network call."""
        return self.ledger.issue(device, via="session/start", partner_id=partner_id,
                                 user_id=user_id, anonymous=not user_id, udid=None,
                                 validity=validity).ks

    # --- endpoints -----------------------------------------------------------------

    def start_widget_session(self, device: str | None, widget_id: str) -> ApiAnswer:
        endpoint = "session/startWidgetSession"
        forced = self._forced(device, endpoint)
        if forced is not None:
            return forced
        if not (widget_id.startswith("_") and widget_id[1:].isdigit()):
            return self._error(device, endpoint, "INVALID_WIDGET_ID",
                               f"widget id must be '_' followed by the partner id, "
                               f"not {widget_id!r}")
        record = self.ledger.issue(device, via=endpoint, partner_id=int(widget_id[1:]),
                                   user_id="", anonymous=True, udid=None,
                                   validity=self.config.widget_session_validity)
        return ApiAnswer(value={"ks": record.ks, "partner_id": record.partner_id})

    def prior_session(self, device: str | None, partner_id: int, login_id: str | None,
                      age: float) -> ApiAnswer:
        """A session the app started ``age`` seconds before the simulation (a widget
        session or ``loginByLoginId`` then): its KS expires ``age`` seconds sooner than
        a new one. Nothing travels: the answer is what the app kept."""
        anonymous = login_id is None
        validity = self.config.widget_session_validity if anonymous \
            else self.config.user_session_validity
        if not 0 <= age < validity:
            raise ConfigError(f"a prior session's age must be in [0, {validity:g}) s (the "
                              f"KS validity), not {age!r}")
        record = self.ledger.issue(
            device, via="session/startWidgetSession" if anonymous else "user/loginByLoginId",
            partner_id=partner_id, user_id=login_id or "", anonymous=anonymous, udid=None,
            validity=validity - age)
        return ApiAnswer(value={"ks": record.ks, "partner_id": partner_id,
                                "expiry": record.expires_at})

    def login_by_login_id(self, device: str | None, login_id: str, password: str,
                          partner_id: int) -> ApiAnswer:
        endpoint = "user/loginByLoginId"
        forced = self._forced(device, endpoint)
        if forced is not None:
            return forced
        listed = login_id in self.config.users
        if not listed and not self.config.any_user:
            return self._error(device, endpoint, "LOGIN_DATA_NOT_FOUND",
                               f"no login id {login_id!r}")
        if listed and self.config.users[login_id] != password:
            return self._error(device, endpoint, "USER_WRONG_PASSWORD",
                               f"wrong password for {login_id!r}")
        record = self.ledger.issue(device, via=endpoint, partner_id=partner_id,
                                   user_id=login_id, anonymous=False, udid=None,
                                   validity=self.config.user_session_validity)
        return ApiAnswer(value={"ks": record.ks})

    def session_get(self, device: str | None, ks: str) -> ApiAnswer:
        forced = self._forced(device, "session/get")
        if forced is not None:
            return forced
        record = self.ledger.valid(ks)
        if record is None:
            return self._ks_error(device, "session/get", ks)
        return ApiAnswer(value={"ks": ks, "expiry": record.expires_at,
                                "partner_id": record.partner_id, "user_id": record.user_id})

    def with_session(self, device: str | None, answer: ApiAnswer) -> ApiAnswer:
        """The second half of the ``loginByLoginId`` multirequest: ``session/get`` of
        its KS, merged into one answer (the real one is a bare array of the two)."""
        if not answer.ok:
            return answer
        info = self.session_get(device, answer.value["ks"])
        return ApiAnswer(value={**answer.value, **info.value}) if info.ok else info

    def session_end(self, device: str | None, ks: str) -> ApiAnswer:
        forced = self._forced(device, "session/end")
        if forced is not None:
            return forced
        record = self.ledger.valid(ks)
        if record is None:
            return self._ks_error(device, "session/end", ks)
        self.ledger.revoke_session(device, record, "session/end")
        return ApiAnswer(value={"result": True})

    def get_playback_context(self, device: str | None, ks: str, entry_id: str) -> ApiAnswer:
        endpoint = "baseEntry/getPlaybackContext"
        forced = self._forced(device, endpoint)
        if forced is not None:
            return forced
        if self.ledger.status(ks) is not KsStatus.VALID:
            return self._ks_error(device, endpoint, ks)
        entry = self.config.entries.get(entry_id, self.config.default_entry)
        if entry is None:
            return self._error(device, endpoint, "ENTRY_ID_NOT_FOUND",
                               f"no entry {entry_id!r}")
        self._host.record(device, "ovp_playback_context", {"entry_id": entry_id,
                                                           "drm_scheme": entry.drm_scheme,
                                                           "ssm": entry.ssm})
        return ApiAnswer(value={"entry_id": entry_id, "drm_scheme": entry.drm_scheme,
                                "license_url": entry.license_url, "ssm": entry.ssm})

    def base_entry_list(self, device: str | None, ks: str, entry_id: str) -> ApiAnswer:
        """``baseEntry/list`` filtered by id: the entry (first part of the media load)."""
        return self._entry_call(device, ks, entry_id, "baseEntry/list",
                                {"objects": ({"id": entry_id},)})

    def metadata_list(self, device: str | None, ks: str, entry_id: str) -> ApiAnswer:
        """``metadata/list`` of the entry (last part of the media load): none here."""
        return self._entry_call(device, ks, entry_id, "metadata/list", {"metadata": ()})

    def _entry_call(self, device: str | None, ks: str, entry_id: str, endpoint: str,
                    value: dict[str, Any]) -> ApiAnswer:
        forced = self._forced(device, endpoint)
        if forced is not None:
            return forced
        if self.ledger.status(ks) is not KsStatus.VALID:
            return self._ks_error(device, endpoint, ks)
        if entry_id not in self.config.entries and self.config.default_entry is None:
            return self._error(device, endpoint, "ENTRY_ID_NOT_FOUND", f"no entry {entry_id!r}")
        return ApiAnswer(value=value)

    def unavailable(self, device: str | None, endpoint: str) -> ApiAnswer:
        """The answer while the backend is unreachable (an outage on the ``ovp`` link)."""
        return self._answer(device, endpoint, ApiAnswer(
            408, name="ConnectionError", message="OVP backend not reachable",
            unreachable=True))

    # --- internals --------------------------------------------------------------------

    def _forced(self, device: str | None, endpoint: str) -> ApiAnswer | None:
        fault = self.faults.take(endpoint)
        if fault is None:
            return None
        code = fault.ovp_code if isinstance(fault, OvpFault) else None
        return self._answer(device, endpoint, ApiAnswer(
            fault.http_status, code=code, name=code or "", message=fault.message),
            forced=True)

    def _ks_error(self, device: str | None, endpoint: str, ks: str) -> ApiAnswer:
        status = self.ledger.status(ks)
        why = {KsStatus.EXPIRED: "KS expired", KsStatus.REVOKED: "KS was ended (session/end)",
               KsStatus.UNKNOWN: "KS unknown to this backend"}.get(status, "KS not valid")
        return self._error(device, endpoint, "INVALID_KS", why)

    def _error(self, device: str | None, endpoint: str, code: str, message: str) -> ApiAnswer:
        return self._answer(device, endpoint, ApiAnswer(200, code=code, name=code,
                                                        message=message))

    def _answer(self, device: str | None, endpoint: str, answer: ApiAnswer, *,
                forced: bool = False) -> ApiAnswer:
        return record_error(self._host, "ovp", device, endpoint, answer, forced=forced)
