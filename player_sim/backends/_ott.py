"""The simulated OTT backend (Kaltura Phoenix), reached over the ``ott`` link.

Calls (``seeds/004_0c9c6e939a18d3d9.txt`` and DOMAIN.md "Kaltura session providers"):

* ``ottUser/anonymousLogin(partnerId, udid)``: an anonymous KS (user id ``"0"``)
  and a refresh token (DOMAIN.md: anonymous sessions refresh like user ones);
* ``ottUser/login(partnerId, username, password, udid)``: a user KS and a
  refresh token;
* ``ottUser/refreshSession(ks, refreshToken, udid)``: a new KS and a new
  refresh token for the same login session (the old refresh token is spent);
  the KS may be left out once it expired: the refresh token authenticates;
* ``ottUser/logout(ks, udid)``: "making the session token invalid": every KS of
  the login session and its refresh token are revoked, "additional requests
  using that token will fail";
* ``session/get(ks)``: the KS's expiry, user id and partner id; the SDK sends
  it in ONE multirequest with a login, anonymous login or refresh
  (:meth:`OttBackend.with_session`), so nothing can fall between the two;
* ``asset/getPlaybackContext(ks, assetId, assetReferenceType, formats)``: the
  asset's DRM data (``drm[]``: scheme as the backend writes it, ``WIDEVINE_CENC``
  ..., and license URL) and whether SSM applies;
* ``asset/get(ks, assetId)``: the asset's metadata.

Server errors come in an HTTP 200 body (:class:`OttErrorCode`), their code a
string as Phoenix writes it (``"500016"``, WIRE.md; :func:`phoenix_code`), a
forced fault's too; an outage answers HTTP 408 (no connection).
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Mapping
from typing import Final, Literal, get_args

import attrs

from .._errors import ConfigError
from .._validators import limit_or_none, one_of, positive, typed
from ._faults import Fault, ForcedFaults
from ._ks import ApiAnswer, KsLedger, KsRecord, KsStatus, id_key, record_error
from ._ssm import _Host

__all__ = ["DRM_SCHEMES", "DrmScheme", "OttAsset", "OttBackend", "OttConfig", "OttErrorCode"]

#: The DRM schemes an OTT asset or an OVP entry can use.
DrmScheme = Literal["widevine", "playready", "fairplay"]
DRM_SCHEMES: Final[tuple[DrmScheme, ...]] = get_args(DrmScheme)

#: The API calls of the OTT backend, as named in fault injection and the trace.
ENDPOINTS: Final = ("ottUser/anonymousLogin", "ottUser/login", "ottUser/refreshSession",
                    "ottUser/logout", "session/get", "asset/getPlaybackContext", "asset/get",
                    "bookmark/add")

#: A bookmark's ``playerData.action`` (WIRE.md).
BOOKMARK_ACTIONS: Final = ("HIT", "PLAY", "PAUSE", "STOP", "FIRST_PLAY", "FINISH")

#: How a playback context writes each DRM scheme (WIRE.md: ``drm[].scheme``).
WIRE_DRM_SCHEMES: Final[Mapping[str, str]] = {"widevine": "WIDEVINE_CENC",
                                              "playready": "PLAYREADY_CENC",
                                              "fairplay": "FAIRPLAY"}

#: User id of an anonymous KS.
ANONYMOUS_USER_ID: Final = "0"


class OttErrorCode(enum.IntEnum):
    """Phoenix server error codes (DOMAIN.md; 1011 is Phoenix's failed-login code)."""

    KS_EXPIRED = 500016
    MEDIA_CONCURRENCY_LIMITATION = 4000
    CONCURRENCY_LIMITATION = 4001
    USER_SUSPENDED = 2001
    NOT_ENTITLED = 3032
    USER_NOT_ENTITLED = 3051
    WRONG_PASSWORD_OR_USERNAME = 1011


def phoenix_code(code: OttErrorCode | int | str) -> str:
    """A Phoenix error code as the backend writes it: a string (WIRE.md: ``"500016"``)."""
    return str(int(code)) if isinstance(code, int) else code


_check_drm: Final = one_of(DRM_SCHEMES)


@attrs.frozen(field_transformer=typed)
class OttAsset:
    """An asset's playback context: DRM scheme, license URL, whether SSM applies.

    ``entitled_users``: ``None`` lets everyone play it (anonymous users too);
    otherwise only those usernames (others get 3032, not entitled).
    """

    drm_scheme: DrmScheme = attrs.field(default="widevine", validator=_check_drm)
    license_url: str = "https://udrm.ott.example/widevine/license"
    ssm: bool = True
    formats: tuple[str, ...] = ("HD", "SD")
    entitled_users: frozenset[str] | None = None


@attrs.frozen(field_transformer=typed)
class OttConfig:
    """How the OTT (Phoenix) backend behaves.

    * ``ks_validity`` / ``anonymous_ks_validity``: seconds a user / anonymous KS
      is valid (24 h by default);
    * ``refresh_token_validity``: how long a refresh token can renew the session;
    * ``users``: username to password; ``suspended_users`` get 2001 on playback;
      ``any_user``: every username logs in, whatever its password (a fleet's
      accounts, too many to list); an unlisted user's id is derived from its name;
    * ``assets``: asset id to :class:`OttAsset`; an asset not listed gets
      ``default_asset`` (``None``: answered HTTP 404);
    * ``concurrency_limit``: how many devices (udids) of one user may play at
      once. DOMAIN.md: it is enforced by the player's heartbeats, not by the KS:
      a device holds a slot while its ``bookmark/add`` hits keep coming (at most
      ``concurrency_hit_timeout`` apart), a STOP bookmark frees it at once; one
      device more gets a playback context with a BLOCK action and a
      ConcurrencyLimitation message, and its hits are answered 4001.
    """

    ks_validity: float = attrs.field(default=86400.0, validator=positive)
    anonymous_ks_validity: float = attrs.field(default=86400.0, validator=positive)
    refresh_token_validity: float = attrs.field(default=30 * 86400.0, validator=positive)
    users: Mapping[str, str] = attrs.field(factory=dict)
    any_user: bool = False
    suspended_users: frozenset[str] = frozenset()
    assets: Mapping[str, OttAsset] = attrs.field(factory=dict)
    default_asset: OttAsset | None = attrs.field(factory=OttAsset)
    concurrency_limit: int | None = attrs.field(default=None, validator=limit_or_none)
    concurrency_hit_timeout: float = attrs.field(default=90.0, validator=positive)


@attrs.define(slots=True, eq=False)
class _RefreshToken:
    token: str
    session: int
    partner_id: int
    user_id: str
    username: str
    udid: str | None
    expires_at: float
    spent: bool = False


class OttBackend:
    """The Phoenix API: KSs with expiry and revocation, refresh tokens, playback contexts."""

    def __init__(self, config: OttConfig, host: _Host) -> None:
        self.config = config
        self._host = host
        self.ledger = KsLedger("ott", host)
        self.faults = ForcedFaults(ENDPOINTS)
        self._refresh_tokens: dict[str, _RefreshToken] = {}
        self._user_ids = {name: str(100001 + i) for i, name in enumerate(sorted(config.users))}
        self._usernames = {uid: name for name, uid in self._user_ids.items()}
        self._playing: dict[str, dict[str, float]] = {}  # user id -> udid -> last hit

    def fail_next(self, endpoint: str, count: int = 1, *, http_status: int = 200,
                  code: int | str | None = None, message: str = "") -> None:
        """Answer the next ``count`` calls of ``endpoint`` with this error (``code`` in
        an HTTP 200 body, or ``http_status`` alone for a transport error). The answer
        carries the code as Phoenix writes it, a string: 500016 and "500016" alike."""
        if http_status == 200 and code is None:
            raise ConfigError("a forced OTT error needs a code (in an HTTP 200 body) "
                              "or an HTTP status other than 200")
        if isinstance(code, str):
            if not code.isdigit():
                raise ConfigError(f"a Phoenix error code is a number, written as a string "
                                  f"(\"500016\"), not {code!r}")
            code = int(code)
        self.faults.fail_next(endpoint, count, Fault(http_status, code, message))

    def ks_status(self, ks: str | None) -> KsStatus:
        return self.ledger.status(ks)

    # --- endpoints -----------------------------------------------------------------

    def anonymous_login(self, device: str | None, partner_id: int,
                        udid: str | None) -> ApiAnswer:
        forced = self._forced(device, "ottUser/anonymousLogin")
        if forced is not None:
            return forced
        record = self.ledger.issue(device, via="ottUser/anonymousLogin", partner_id=partner_id,
                                   user_id=ANONYMOUS_USER_ID, anonymous=True, udid=udid,
                                   validity=self.config.anonymous_ks_validity)
        refresh = self._new_refresh_token(device, record, "")
        return ApiAnswer(value={"ks": record.ks, "refresh_token": refresh.token})

    def login(self, device: str | None, partner_id: int, username: str, password: str,
              udid: str | None) -> ApiAnswer:
        forced = self._forced(device, "ottUser/login")
        if forced is not None:
            return forced
        if self.config.users.get(username) != password and not (
                self.config.any_user and username not in self.config.users):
            return self._error(device, "ottUser/login", OttErrorCode.WRONG_PASSWORD_OR_USERNAME,
                               f"wrong username or password for {username!r}")
        return self._user_session(device, partner_id, username, udid, self.config.ks_validity)

    def prior_session(self, device: str | None, partner_id: int, username: str | None,
                      udid: str | None, age: float) -> ApiAnswer:
        """A session the app started ``age`` seconds before the simulation (a login or
        anonymous login then, and ``session/get``): its KS expires ``age`` seconds
        sooner than a new one. Nothing travels: the answer is what the app kept."""
        anonymous = username is None
        validity = self.config.anonymous_ks_validity if anonymous else self.config.ks_validity
        if not 0 <= age < validity:
            raise ConfigError(f"a prior session's age must be in [0, {validity:g}) s (the "
                              f"KS validity), not {age!r}")
        if anonymous:
            record = self.ledger.issue(device, via="ottUser/anonymousLogin",
                                       partner_id=partner_id, user_id=ANONYMOUS_USER_ID,
                                       anonymous=True, udid=udid, validity=validity - age)
            refresh = self._new_refresh_token(device, record, "")
            answer = ApiAnswer(value={"ks": record.ks, "refresh_token": refresh.token})
        else:
            assert username is not None
            answer = self._user_session(device, partner_id, username, udid, validity - age)
        info = self.session_get(device, answer.value["ks"])
        return ApiAnswer(value={**answer.value, **info.value})

    def _user_session(self, device: str | None, partner_id: int, username: str,
                      udid: str | None, validity: float) -> ApiAnswer:
        user_id = self._user_id(username)
        record = self.ledger.issue(device, via="ottUser/login", partner_id=partner_id,
                                   user_id=user_id, anonymous=False, udid=udid,
                                   validity=validity)
        refresh = self._new_refresh_token(device, record, username)
        return ApiAnswer(value={"ks": record.ks, "refresh_token": refresh.token,
                                "user_id": user_id})

    def _user_id(self, username: str) -> str:
        """A listed user's id; an unlisted one's (``any_user``), derived from its name
        alone, so it is the same in every shard of a fleet."""
        user_id = self._user_ids.get(username)
        if user_id is None:
            user_id = str(900000000 + zlib.crc32(username.encode()) % 100000000)
            self._user_ids[username] = user_id
            self._usernames.setdefault(user_id, username)
        return user_id

    def refresh_session(self, device: str | None, ks: str | None, refresh_token: str,
                        udid: str | None) -> ApiAnswer:
        endpoint = "ottUser/refreshSession"
        forced = self._forced(device, endpoint)
        if forced is not None:
            return forced
        held = self._refresh_tokens.get(refresh_token)
        now = self._host.now
        if held is None or held.spent or held.expires_at <= now:
            why = ("unknown" if held is None else "already used" if held.spent else "expired")
            return self._error(device, endpoint, OttErrorCode.KS_EXPIRED,
                               f"refresh token {why}: start a new session")
        if ks is not None and self.ledger.status(ks) is not KsStatus.VALID:
            return self._ks_error(device, endpoint, ks)
        held.spent = True  # kept, so a second use is told "already used"
        anonymous = held.user_id == ANONYMOUS_USER_ID
        record = self.ledger.issue(device, via=endpoint, partner_id=held.partner_id,
                                   user_id=held.user_id, anonymous=anonymous, udid=udid,
                                   validity=(self.config.anonymous_ks_validity if anonymous
                                             else self.config.ks_validity),
                                   session=held.session)
        refresh = self._new_refresh_token(device, record, held.username)
        return ApiAnswer(value={"ks": record.ks, "refresh_token": refresh.token})

    def with_session(self, device: str | None, answer: ApiAnswer) -> ApiAnswer:
        """The second half of a login, anonymous login or refresh multirequest:
        ``session/get`` of the KS the first half answered, merged into one answer
        (the first half's error, else ``session/get``'s)."""
        if not answer.ok:
            return answer
        info = self.session_get(device, answer.value["ks"])
        return ApiAnswer(value={**answer.value, **info.value}) if info.ok else info

    def logout(self, device: str | None, ks: str, udid: str | None) -> ApiAnswer:
        endpoint = "ottUser/logout"
        record = self._gate(device, endpoint, ks)
        if isinstance(record, ApiAnswer):
            return record
        self.ledger.revoke_session(device, record, endpoint)
        for token in [t for t, r in self._refresh_tokens.items() if r.session == record.session]:
            del self._refresh_tokens[token]
        return ApiAnswer(value={"result": True})

    def session_get(self, device: str | None, ks: str) -> ApiAnswer:
        forced = self._forced(device, "session/get")
        if forced is not None:
            return forced
        record = self.ledger.valid(ks)
        if record is None:
            return self._ks_error(device, "session/get", ks)
        return ApiAnswer(value={"ks": ks, "expiry": record.expires_at, "user_id": record.user_id,
                                "partner_id": record.partner_id, "udid": record.udid})

    def get_playback_context(self, device: str | None, ks: str, asset_id: str,
                             reference_type: str, formats: tuple[str, ...],
                             udid: str | None) -> ApiAnswer:
        endpoint = "asset/getPlaybackContext"
        record = self._gate(device, endpoint, ks)
        if isinstance(record, ApiAnswer):
            return record
        asset = self.config.assets.get(asset_id, self.config.default_asset)
        if asset is None:
            return self._answer(device, endpoint, ApiAnswer(
                404, code=None, name="NotFound", message=f"no asset {asset_id!r}"))
        username = self._usernames.get(record.user_id)
        if username is not None and username in self.config.suspended_users:
            return self._error(device, endpoint, OttErrorCode.USER_SUSPENDED,
                               f"user {username!r} is suspended")
        if asset.entitled_users is not None and username not in asset.entitled_users:
            return self._error(device, endpoint, OttErrorCode.NOT_ENTITLED,
                               f"{'anonymous user' if username is None else repr(username)} "
                               f"is not entitled to asset {asset_id!r}")
        refusal = self._concurrency_refusal(record, udid)
        if refusal is not None:  # WIRE.md: a BLOCK action with a ConcurrencyLimitation message
            self._host.record(device, "ott_concurrency_refused", {
                "endpoint": endpoint, "user_id": record.user_id, "message": refusal})
            return ApiAnswer(value={"asset_id": asset_id, "drm": (), "ssm": asset.ssm,
                                    "formats": (), "actions": ({"type": "BLOCK"},),
                                    "messages": ({"code": "ConcurrencyLimitation",
                                                  "message": refusal},)})
        sources = [f for f in formats if f in asset.formats] if formats else list(asset.formats)
        drm = {"scheme": WIRE_DRM_SCHEMES[asset.drm_scheme], "licenseURL": asset.license_url}
        answer = ApiAnswer(value={"asset_id": asset_id, "reference_type": reference_type,
                                  "drm": (drm,), "ssm": asset.ssm,
                                  "formats": tuple(sources)})
        self._host.record(device, "ott_playback_context", {"asset_id": asset_id,
                                                           "drm_scheme": asset.drm_scheme,
                                                           "ssm": asset.ssm})
        return answer

    def asset_get(self, device: str | None, ks: str, asset_id: str) -> ApiAnswer:
        """``asset/get``: the asset's metadata (the third part of the media load)."""
        checked = self._gate(device, "asset/get", ks)
        if isinstance(checked, ApiAnswer):
            return checked
        return ApiAnswer(value={"id": asset_id, "name": asset_id})

    def unavailable(self, device: str | None, endpoint: str) -> ApiAnswer:
        """The answer while the backend is unreachable (an outage on the ``ott`` link)."""
        return self._answer(device, endpoint, ApiAnswer(
            408, name="ConnectionError", message="OTT backend not reachable",
            unreachable=True))

    # --- internals --------------------------------------------------------------------

    def bookmark_add(self, device: str | None, ks: str, asset_id: str, action: str,
                     udid: str | None) -> ApiAnswer:
        """``bookmark/add``: a player heartbeat (HIT / PLAY ...) holds the device's
        concurrency slot; STOP frees it; one device over the limit gets 4001."""
        endpoint = "bookmark/add"
        record = self._gate(device, endpoint, ks)
        if isinstance(record, ApiAnswer):
            return record
        if action not in BOOKMARK_ACTIONS:
            return self._answer(device, endpoint, ApiAnswer(
                400, name="BadRequestError", message=f"no bookmark action {action!r}"))
        if self.config.concurrency_limit is None or record.anonymous:
            return ApiAnswer(value={"result": True})
        slots = self._playing.setdefault(record.user_id, {})
        if action == "STOP":
            slots.pop(udid or "", None)
            return ApiAnswer(value={"result": True})
        refusal = self._concurrency_refusal(record, udid)
        if refusal is not None:
            return self._error(device, endpoint, OttErrorCode.CONCURRENCY_LIMITATION, refusal)
        slots[udid or ""] = self._host.now
        return ApiAnswer(value={"result": True})

    def _concurrency_refusal(self, record: KsRecord, udid: str | None) -> str | None:
        """Why ``udid`` may not play now (another device too many holds a slot), or None."""
        limit = self.config.concurrency_limit
        if limit is None or record.anonymous:
            return None
        slots = self._playing.setdefault(record.user_id, {})
        stale = self._host.now - self.config.concurrency_hit_timeout
        for held, last_hit in list(slots.items()):
            if last_hit < stale:
                del slots[held]  # its hits stopped (a killed app): the slot is free
        if (udid or "") not in slots and len(slots) >= limit:
            return (f"concurrency limitation: {len(slots)} devices of user {record.user_id} "
                    f"already play (limit {limit})")
        return None

    def _new_refresh_token(self, device: str | None, record: KsRecord,
                           username: str) -> _RefreshToken:
        value = self._host.new_token("refresh", id_key(device, record.user_id))
        token = _RefreshToken(value, record.session, record.partner_id, record.user_id,
                              username, record.udid,
                              self._host.now + self.config.refresh_token_validity)
        self._refresh_tokens[token.token] = token
        return token

    def _forced(self, device: str | None, endpoint: str) -> ApiAnswer | None:
        fault = self.faults.take(endpoint)
        if fault is None:
            return None
        code = None if fault.code is None else str(fault.code)  # Phoenix writes strings
        known = {str(int(c)): c.name for c in OttErrorCode}
        name = "" if code is None else known.get(code, "ForcedError")
        return self._answer(device, endpoint, ApiAnswer(
            fault.http_status, code=code, name=name, message=fault.message), forced=True)

    def _gate(self, device: str | None, endpoint: str, ks: str) -> ApiAnswer | KsRecord:
        """What every call carrying a KS checks first: a planned fault for ``endpoint``
        answers instead; then the KS must be valid now. Returns the refusal (an
        answer), or the KS's record."""
        forced = self._forced(device, endpoint)
        if forced is not None:
            return forced
        record = self.ledger.valid(ks)
        if record is None:
            return self._ks_error(device, endpoint, ks)
        return record

    def _ks_error(self, device: str | None, endpoint: str, ks: str) -> ApiAnswer:
        status = self.ledger.status(ks)
        why = {KsStatus.EXPIRED: "KS expired", KsStatus.REVOKED: "KS was revoked by logout",
               KsStatus.UNKNOWN: "KS unknown to this backend"}.get(status, "KS not valid")
        return self._error(device, endpoint, OttErrorCode.KS_EXPIRED, why)

    def _error(self, device: str | None, endpoint: str, code: OttErrorCode,
               message: str) -> ApiAnswer:
        return self._answer(device, endpoint, ApiAnswer(200, code=phoenix_code(code),
                                                        name=code.name, message=message))

    def _answer(self, device: str | None, endpoint: str, answer: ApiAnswer, *,
                forced: bool = False) -> ApiAnswer:
        return record_error(self._host, "ott", device, endpoint, answer, forced=forced)
