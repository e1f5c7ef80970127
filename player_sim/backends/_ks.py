"""What the OTT (Phoenix) and OVP backends share: the KS ledger and the API answer.

A KS (Kaltura Session) is the session token of those backends. The ledger
knows every KS a backend issued: who it belongs to (partner id, user id), when
it expires, and whether it was revoked (by ``ottUser/logout`` or
``session/end``). KSs issued one from another (a refresh) share a *login
session*; ending the session revokes all of them.

Trace records (device = the device that caused them):

* ``ks_issued``: ``backend``, ``ks``, ``via`` (the API call), ``partner_id``,
  ``user_id``, ``anonymous``, ``expires_at``;
* ``ks_revoked``: ``backend``, ``ks``, ``via``;
* ``ks_used``: a request left a device carrying ``ks``: ``backend``,
  ``endpoint``, ``valid`` (whether the backend considered the KS valid at that
  instant) and ``status`` (``valid``, ``expired``, ``revoked``, ``unknown``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from ._ssm import _Host

__all__ = ["ApiAnswer", "KsLedger", "KsRecord", "KsStatus", "id_key", "record_error"]


def id_key(device: str | None, user_id: str) -> str:
    """Whose stream a KS or refresh token is drawn from: the device it is issued
    to, else (a provider driven without a device) the user's."""
    return device if device is not None else f"user:{user_id}"


class KsStatus(enum.Enum):
    """What a backend thinks of a KS at one instant."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@attrs.define(slots=True, eq=False)
class KsRecord:
    """One KS as its backend holds it. ``session`` groups a KS with its refreshes."""

    ks: str
    session: int
    partner_id: int
    user_id: str
    anonymous: bool
    udid: str | None
    issued_at: float
    expires_at: float
    revoked: bool = False


@attrs.frozen
class ApiAnswer:
    """A backend's answer to one API call.

    ``http_status`` 200 with ``code is None`` is a success carrying ``value``.
    Like the real APIs, a server error comes with HTTP 200 and the error in the
    body (``code``: a Phoenix number or an OVP string, ``name``, ``message``);
    a transport failure (outage, forced HTTP error) has another status.
    ``value`` of a multirequest holds its halves merged (the SDK reads both).
    """

    http_status: int = 200
    value: Mapping[str, Any] = attrs.field(factory=dict)
    code: int | str | None = None
    name: str = ""
    message: str = ""
    #: the backend was not reached (an outage): a client with a connect timeout
    #: learns it only when that timeout fires
    unreachable: bool = False

    @property
    def ok(self) -> bool:
        return self.http_status == 200 and self.code is None


class KsLedger:
    """Every KS one backend issued, by KS string."""

    __slots__ = ("_backend", "_host", "_next_session", "_records", "_sessions")

    def __init__(self, backend: str, host: _Host) -> None:
        self._backend = backend
        self._host = host
        self._records: dict[str, KsRecord] = {}
        self._sessions: dict[int, list[KsRecord]] = {}
        self._next_session = 1

    def issue(self, device: str | None, *, via: str, partner_id: int, user_id: str,
              anonymous: bool, udid: str | None, validity: float,
              session: int | None = None) -> KsRecord:
        """A new KS valid for ``validity`` seconds (in ``session``, or a new one)."""
        host = self._host
        if session is None:
            session = self._next_session
            self._next_session += 1
        ks = host.new_token("ks", id_key(device, user_id))
        record = KsRecord(ks, session, partner_id, user_id, anonymous, udid, host.now,
                          host.now + validity)
        self._records[record.ks] = record
        self._sessions.setdefault(session, []).append(record)
        host.record(device, "ks_issued", {
            "backend": self._backend, "ks": record.ks, "via": via, "partner_id": partner_id,
            "user_id": user_id, "anonymous": anonymous, "expires_at": round(record.expires_at, 6)})
        return record

    def get(self, ks: str | None) -> KsRecord | None:
        return None if ks is None else self._records.get(ks)

    def valid(self, ks: str | None) -> KsRecord | None:
        """The record of ``ks`` if the KS is valid now, else ``None``."""
        return self.get(ks) if self.status(ks) is KsStatus.VALID else None

    def status(self, ks: str | None) -> KsStatus:
        """Whether ``ks`` is valid now; an expired KS is expired at its ``expires_at``."""
        record = self.get(ks)
        if record is None:
            return KsStatus.UNKNOWN
        if record.revoked:
            return KsStatus.REVOKED
        if record.expires_at <= self._host.now:
            return KsStatus.EXPIRED
        return KsStatus.VALID

    def revoke_session(self, device: str | None, record: KsRecord, via: str) -> None:
        """Revoke ``record`` and every KS of its login session (logout, session/end)."""
        for member in self._sessions.get(record.session, [record]):
            if member.revoked:
                continue
            member.revoked = True
            self._host.record(device, "ks_revoked", {"backend": self._backend,
                                                     "ks": member.ks, "via": via})

    def note_use(self, device: str | None, ks: str, endpoint: str) -> KsStatus:
        """Record that a request carrying ``ks`` left ``device`` now; return its status."""
        status = self.status(ks)
        self._host.record(device, "ks_used", {"backend": self._backend, "endpoint": endpoint,
                                              "ks": ks, "valid": status is KsStatus.VALID,
                                              "status": status.value})
        return status


def record_error(host: _Host, backend: str, device: str | None, endpoint: str,
                 answer: ApiAnswer, *, forced: bool = False) -> ApiAnswer:
    """Trace an error answer as ``<backend>_error`` (``endpoint``, ``http_status``,
    ``code``, ``message``, and ``forced`` for a planned fault); return it."""
    data: dict[str, Any] = {"endpoint": endpoint, "http_status": answer.http_status,
                            "code": answer.code, "message": answer.message}
    if forced:
        data["forced"] = True
    host.record(device, f"{backend}_error", data)
    return answer
