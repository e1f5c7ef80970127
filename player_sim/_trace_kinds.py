"""Every kind of trace record, declared once: its vantage, its meaning and its fields.

This table *is* the trace format. The record constructor refuses a kind that is
not here and a field its kind does not declare; the JSON Schema of a trace
(:func:`player_sim.trace.json_schema`), the loader's checks, the monitors'
declarations (a monitor may read only declared fields) and the README's kind
table all derive from it.

A kind's *vantage* says who could have seen it:

* ``device``: what the SDK and the app did and saw (a device log shows these);
* ``server``: what a backend did (a server log shows these);
* ``wire``: what crossed the network, a request and its answer (a traffic
  capture shows these);
* ``harness``: what the test harness arranged (faults, outages, latency).

A rule is judged on a trace only when the trace has every vantage its monitor
needs (see :mod:`player_sim.rules`).
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

__all__ = ["Field", "Kind", "Vantage"]


class Vantage(enum.Enum):
    """Who could have seen a record: the device, a server, the wire, or the harness."""

    DEVICE = "device"
    SERVER = "server"
    WIRE = "wire"
    HARNESS = "harness"


#: JSON types a field may take, by short name.
_JSON: Final = {"str": "string", "int": "integer", "num": "number", "bool": "boolean",
                "null": "null", "obj": "object"}


@attrs.frozen
class Field:
    """One field of a record's ``data``: its name, JSON types and meaning.

    ``types`` are JSON Schema type names (``string``, ``integer``, ``number``,
    ``boolean``, ``null``, ``object``). An optional field may be absent.
    """

    name: str
    types: tuple[str, ...]
    meaning: str
    required: bool = True

    def accepts(self, value: object) -> bool:
        """Whether ``value`` (as read from JSON) has one of this field's types."""
        for t in self.types:
            if t == "null" and value is None:
                return True
            if t == "boolean" and isinstance(value, bool):
                return True
            if isinstance(value, bool):
                continue
            if t == "string" and isinstance(value, str):
                return True
            if t == "integer" and isinstance(value, int):
                return True
            if t == "number" and isinstance(value, int | float):
                return True
            if t == "object" and isinstance(value, dict):
                return True
        return False


def _f(name: str, types: str, meaning: str, *, required: bool = True) -> Field:
    return Field(name, tuple(_JSON[t] for t in types.split("|")), meaning, required)


# Fields several kinds share, stated once.
_STREAM = _f("stream", "str", "the stream (channel or asset) played")
_STREAM_OR_NONE = _f("stream", "str|null", "the stream of the current or last playback")
_REQUEST_ID = _f("request_id", "int", "pairs a request with its answer (per device)")
_HTTP_STATUS = _f("http_status", "int", "the answer's HTTP status")
_SSM_CODE = _f("ssm_code", "int|null", "the SSM error code in the answer's body (null: none)")
_MESSAGE = _f("message", "str", "the error message (empty when none)")
_TOKEN = _f("token", "str", "the SSM session token the request carries")
_BLOCKING = _f("blocking", "bool", "the request blocks the main thread (sync mode)")
_FORCED = _f("forced", "bool", "the answer was a planned fault", required=False)
_SESSION = _f("session", "str", "the SSM session's id at the server (device/number)")
_ACCOUNT = _f("account", "str", "the account the session counts against")
_ACTIVE = _f("active", "int", "the account's live SSM sessions after this event")
_BACKEND = _f("backend", "str", "which Kaltura backend: ott or ovp")
_KS = _f("ks", "str", "the KS (session token of a Kaltura backend)")
_EXPIRES_AT = _f("expires_at", "num", "when the KS expires (virtual seconds)")
_ACTION_NAME = _f("name", "str", "the action's verb (the same word as in scenario files)")
_ORIGIN = _f("origin", "str", "who acted: user (the harness) or app (its policy)")
_CODE = _f("code", "int|null", "the error code (null: none, or a string code in message)")
_RENEWAL = _f("renewal", "str", "enforced mode: the keep-alive was a license renewal at this "
              "endpoint (ssm:renewal-license-wv, license:?renew=true)", required=False)
_LINK = _f("link", "str", "the network link: ssm, license, ott or ovp")
_ENDPOINT = _f("endpoint", "str", "the backend endpoint")
_SSM_ERROR = (_STREAM_OR_NONE, _HTTP_STATUS, _SSM_CODE, _MESSAGE,
              _f("error_code", "int", "the platform's error number (variant error_numbering: "
                 "Android -1352/-1353/-1354, web 6001/6002/6003/6004)", required=False),
              _f("error", "str", "iOS userInfo key error (the message)", required=False),
              _f("errorCode", "int|null", "iOS userInfo key errorCode (the SSM code)",
                 required=False),
              _f("code", "int", "iOS userInfo key code (the HTTP status)", required=False))
#: An SSM answer that hands out a session token (setup, heartbeat).
_SSM_TOKEN_ANSWER = (_REQUEST_ID, _HTTP_STATUS, _SSM_CODE, _MESSAGE,
                     _f("token", "str", "the session token to use next (on success)",
                        required=False),
                     _f("heartbeat_period", "num|null", "seconds between heartbeats",
                        required=False))

_HAR_ENTRY = _f("entry", "int", "the HAR entry it was read from (captured traffic: its "
                "0-based index in log.entries)", required=False)

_D, _S, _W, _H = Vantage.DEVICE, Vantage.SERVER, Vantage.WIRE, Vantage.HARNESS


class Kind(enum.StrEnum):
    """A record kind. Each member carries its ``vantage``, ``states`` (whether the
    record is stamped with the device's app and playback states), ``meaning`` and
    ``fields``; it compares equal to its string value."""

    vantage: Vantage
    states: bool
    meaning: str
    fields: tuple[Field, ...]
    names: frozenset[str]
    required: frozenset[str]

    def __new__(cls, value: str, vantage: Vantage, states: bool, meaning: str,
                *fields: Field) -> Kind:
        member = str.__new__(cls, value)
        member._value_ = value
        member.vantage = vantage
        member.states = states
        member.meaning = meaning
        member.fields = fields
        member.names = frozenset(f.name for f in fields)
        member.required = frozenset(f.name for f in fields if f.required)
        return member

    # --- the device: configuration, actions, main thread --------------------------------

    DEVICE_ADDED = ("device_added", _D, False, "a device joined the world (its configuration)",
                    _ACCOUNT, _f("ssm", "bool", "it was given an SSM server URL"),
                    _f("sync", "bool", "syncSSMSetupTeardown"),
                    _f("variants", "obj", "its value of every SSM client variant, by name",
                       required=False),
                    _f("base_url", "str", "its session provider's base URL", required=False),
                    _f("partner_id", "int|null", "its session provider's partner id",
                       required=False))
    ACTION = ("action", _D, True, "the user or the app performed an action",
              _ACTION_NAME, _ORIGIN, _f("stream", "str", "the stream to play", required=False),
              _f("username", "str|null", "the user of a login (never the password)",
                 required=False))
    ACTION_WAITS = ("action_waits", _D, True,
                    "an action waits: a sync SSM request blocks the main thread",
                    _ACTION_NAME, _ORIGIN)
    ACTION_DELAYED = ("action_delayed", _D, True,
                      "a waiting action runs once the main thread is free",
                      _ACTION_NAME, _f("waited", "num", "seconds it waited"))
    ACTION_DROPPED = ("action_dropped", _D, True,
                      "a waiting action was refused by the player when its turn came",
                      _ACTION_NAME, _ORIGIN, _f("reason", "str", "why the player refused it"))
    APP_KILLED = ("app_killed", _D, True, "the OS killed the app: nothing is sent",
                  _STREAM_OR_NONE)
    APP_RELAUNCHED = ("app_relaunched", _D, True, "the app started again after a kill")
    MAIN_THREAD_BLOCKED = ("main_thread_blocked", _D, True,
                           "a period of the main thread blocked by sync SSM requests ended",
                           _f("seconds", "num", "how long it was blocked"),
                           _f("capped", "bool", "the client's cap released it before the "
                              "answer (variants sync_setup_cap, sync_teardown_cap)",
                              required=False))
    HEARTBEAT_OVERDUE = ("heartbeat_overdue", _D, True,
                         "back from normal background, the heartbeat due meanwhile fires now")

    # --- the device: SSM and license traffic --------------------------------------------

    SSM_SETUP_SENT = ("ssm_setup_sent", _D, True, "the SDK asked the SSM server for a session",
                      _REQUEST_ID, _STREAM, _BLOCKING,
                      _f("in_license", "bool", "SSM V2: the setup travels inside the license "
                         "request, whose answer grants the license too", required=False))
    CONTENT_TOKEN_POLLED = ("content_token_polled", _D, True,
                            "the SDK polled for a content token that was not there yet "
                            "(variant content_token_wait: poll)",
                            _f("polls", "int", "how many polls it took (or made in vain)"),
                            _f("found", "bool", "the content token arrived in time"))
    SSM_SETUP_ANSWERED = ("ssm_setup_answered", _D, True, "the SSM setup answer reached the SDK",
                          *_SSM_TOKEN_ANSWER)
    HEARTBEAT_SENT = ("heartbeat_sent", _D, True, "the SDK sent an SSM heartbeat",
                      _REQUEST_ID, _TOKEN, _RENEWAL)
    HEARTBEAT_ANSWERED = ("heartbeat_answered", _D, True,
                          "an SSM heartbeat answer reached the SDK (with the rotated-in token)",
                          *_SSM_TOKEN_ANSWER)
    SSM_TEARDOWN_SENT = ("ssm_teardown_sent", _D, True, "the SDK asked to end an SSM session",
                         _REQUEST_ID, _TOKEN, _BLOCKING,
                         _f("stream", "str|null", "the stream whose session it ends",
                            required=False))
    SSM_TEARDOWN_ANSWERED = ("ssm_teardown_answered", _D, True,
                             "the SSM teardown answer reached the SDK",
                             _REQUEST_ID, _HTTP_STATUS, _SSM_CODE, _MESSAGE)
    LICENSE_REQUEST_SENT = ("license_request_sent", _D, True, "the SDK asked for a license",
                            _REQUEST_ID, _STREAM,
                            _f("ssm_token", "str|null", "the SSM session token it carries"))
    LICENSE_ANSWERED = ("license_answered", _D, True, "the license answer reached the SDK",
                        _REQUEST_ID, _f("granted", "bool", "the license was granted"),
                        _HTTP_STATUS, _CODE, _MESSAGE,
                        _f("session_token", "str", "enforced mode: the session token the "
                           "answer carries (the keep-alive becomes a license renewal)",
                           required=False))

    # --- the device: session provider and media provider --------------------------------

    KS_REQUESTED = ("ks_requested", _D, True, "the player asked its session provider for a KS")
    KS_ANSWERED = ("ks_answered", _D, True, "the session provider answered with a KS or an error",
                   _f("ks", "str|null", "the KS (null: an error)"),
                   _f("error_code", "int|null", "the error code"), _MESSAGE)
    MEDIA_LOAD_STARTED = ("media_load_started", _D, True, "the media provider started a load",
                          _STREAM)
    MEDIA_ANSWERED = ("media_answered", _D, True, "the media provider finished a load",
                      _f("ok", "bool", "a media entry was loaded"),
                      _f("drm_scheme", "str|null", "the entry's DRM scheme", required=False),
                      _f("license_url", "str|null", "the entry's license URL", required=False),
                      _f("ssm", "bool", "the entry is under SSM"),
                      _f("error_code", "int|null", "the error code"), _MESSAGE)
    SESSION_ANSWERED = ("session_answered", _D, True,
                        "a login, logout or end-session action completed",
                        _f("action", "str", "the action's verb"),
                        _f("ok", "bool", "it succeeded"),
                        _f("code", "int|str|null", "the error code", required=False),
                        _f("message", "str", "the error message", required=False))
    SESSION_STARTED = ("session_started", _D, False, "the session provider started a session",
                       _BACKEND, _f("anonymous", "bool", "an anonymous session"),
                       _f("user_id", "str", "the user id (\"0\" or empty: anonymous)"), _KS,
                       _f("partner_id", "int", "the partner id"), _EXPIRES_AT,
                       _f("refresh_delta", "num", "seconds before expiry it refreshes (OTT)",
                          required=False),
                       _f("base_url", "str", "the provider's base URL", required=False),
                       _f("recovered", "bool", "a saved session recovered after a relaunch "
                          "(its KS comes from ottUser/refreshSession)", required=False),
                       _f("variant", "str", "the provider's client variant (documented, "
                          "android, ios)", required=False))
    SESSION_START_FAILED = ("session_start_failed", _D, False, "a login failed",
                            _BACKEND, _f("code", "int|str", "the error code"),
                            _f("name", "str", "the error's name"), _MESSAGE)
    SESSION_ENDED = ("session_ended", _D, False, "the session provider ended its session",
                     _BACKEND, _f("anonymous", "bool", "an anonymous session"), _KS,
                     _f("server_call", "bool", "a logout / session end was sent"),
                     _f("ok", "bool", "the server call succeeded", required=False),
                     _f("code", "int|str|null", "the server's error code", required=False),
                     _f("cleared", "bool", "the provider dropped the session (false: an "
                        "anonymous OTT session, kept until its KS expires)", required=False))
    SESSION_FORGOTTEN = ("session_forgotten", _D, False,
                         "the app was killed: its in-memory session is gone", _BACKEND, _KS)
    KS_REFRESHED = ("ks_refreshed", _D, False, "the provider refreshed its KS before expiry",
                    _BACKEND, _f("ks_from", "str", "the KS replaced"), _KS, _EXPIRES_AT,
                    _f("time_left", "num", "seconds the old KS had left"))
    KS_RENEWED = ("ks_renewed", _D, False, "the provider renewed its KS",
                  _BACKEND, _f("ks_from", "str", "the KS replaced"), _KS, _EXPIRES_AT,
                  _f("expired_for", "num", "seconds since the old KS expired", required=False),
                  _f("time_left", "num", "seconds the old KS had left", required=False),
                  _f("background", "bool", "a background renewal (OVP)", required=False))
    KS_REFRESH_FAILED = ("ks_refresh_failed", _D, False, "a refresh or renewal failed",
                         _BACKEND, _f("code", "int|str", "the session error code (601)"),
                         _MESSAGE,
                         _f("cleared", "bool", "the provider cleared its session for it "
                            "(iOS OTT, OVP)", required=False))
    KS_REFRESH_SENT = ("ks_refresh_sent", _D, False,
                       "the provider sent a refresh or renewal of its KS",
                       _BACKEND, _f("ks_from", "str", "the KS it replaces"),
                       _f("expired", "bool", "the KS had expired when it was sent"))
    SESSION_CLEARED = ("session_cleared", _D, False,
                       "the provider dropped its session without the user ending it",
                       _BACKEND, _KS, _f("why", "str", "what made it drop the session"))
    SESSION_RECOVERED = ("session_recovered", _D, False,
                         "a relaunched app gave the provider its saved session (recoverSession)",
                         _BACKEND, _KS)
    REQUEST_RETRIED = ("request_retried", _D, False,
                       "the network kit will send a request again after an HTTP error",
                       _BACKEND, _ENDPOINT, _f("attempt", "int", "the retry's number, from 1"),
                       _f("delay", "num", "seconds before it is sent"), _HTTP_STATUS)
    REQUEST_TIMED_OUT = ("request_timed_out", _D, False,
                         "the network kit gave up waiting for an answer (408)",
                         _BACKEND, _ENDPOINT, _f("after", "num", "seconds it waited"))

    # --- the device: notifications (the signals of the same name) -------------------------

    SSM_SETUP_ERROR = ("ssm_setup_error", _D, True, "OTVSSMSetupErrorNotification", *_SSM_ERROR)
    SSM_TEARDOWN_ERROR = ("ssm_teardown_error", _D, True, "OTVSSMTeardownErrorNotification",
                          *_SSM_ERROR)
    SSM_HEARTBEAT_ERROR = ("ssm_heartbeat_error", _D, True, "OTVSSMHeartbeatErrorNotification",
                           *_SSM_ERROR)
    LICENSE_ERROR = ("license_error", _D, True, "the license server denied the license",
                     _STREAM_OR_NONE, _HTTP_STATUS, _CODE, _MESSAGE)
    CONTENT_TOKEN_ERROR = ("content_token_error", _D, True,
                           "the SDK gave up polling for a content token: no setup was sent",
                           _STREAM_OR_NONE, _f("error_code", "int", "the client's error "
                                               "number (web: 5022)"), _MESSAGE)
    KS_ERROR = ("ks_error", _D, True, "no KS could be obtained for a playback",
                _STREAM_OR_NONE, _CODE, _MESSAGE)
    MEDIA_LOAD_ERROR = ("media_load_error", _D, True, "the media load failed",
                        _STREAM_OR_NONE, _CODE, _MESSAGE)
    CONCURRENCY_LIMITATION = ("concurrency_limitation", _D, True,
                              "the player's concurrency event: a bookmark hit was refused "
                              "(4001, ConcurrencyLimitation)",
                              _STREAM_OR_NONE, _f("code", "int|str", "the server's code"),
                              _MESSAGE)
    STATE_CHANGED = ("state_changed", _D, True, "the player's app or playback state changed",
                     _f("app_from", "str", "the app state before"),
                     _f("app", "str", "the app state after"),
                     _f("playback_from", "str", "the playback state before"),
                     _f("playback", "str", "the playback state after"))
    PLAYBACK_STARTED = ("playback_started", _D, True, "the license was granted: playing",
                        _STREAM_OR_NONE)
    PLAYBACK_STOPPED = ("playback_stopped", _D, True, "a playing or paused playback ended",
                        _STREAM_OR_NONE, _f("reason", "str", "stop or zap"))
    ZAP = ("zap", _D, True, "the app zapped to a stream",
           _f("stream_from", "str|null", "the stream zapped from"), _STREAM,
           _f("same_stream", "bool", "it zapped to the same stream"))

    # --- the SSM server -------------------------------------------------------------------

    SSM_SESSION_CREATED = ("ssm_session_created", _S, False, "the SSM server set a session up",
                           _SESSION, _ACCOUNT, _STREAM, _ACTIVE,
                           _f("limit", "int|null", "the account's limit the server applied "
                              "(from its configuration or the content token's claims)",
                              required=False))
    SSM_HEARTBEAT = ("ssm_heartbeat", _S, False,
                     "the SSM server took a heartbeat and rotated the token", _SESSION,
                     _RENEWAL)
    SSM_SESSION_ENDED = ("ssm_session_ended", _S, False, "a teardown ended a session",
                         _SESSION, _ACCOUNT, _ACTIVE)
    SSM_SESSION_EXPIRED = ("ssm_session_expired", _S, False,
                           "a session expired without heartbeats", _SESSION, _ACCOUNT, _ACTIVE)
    SSM_SESSION_EVICTED = ("ssm_session_evicted", _S, False,
                           "the evict-oldest policy ended a session", _SESSION, _ACCOUNT, _ACTIVE)
    SSM_SESSION_KILLED = ("ssm_session_killed", _S, False,
                          "an operator killed a session (killDeviceSessions, "
                          "killAccountSessions): its next heartbeat fails",
                          _SESSION, _ACCOUNT, _ACTIVE)
    SSM_SETUP_REFUSED = ("ssm_setup_refused", _S, False, "the SSM server refused a setup",
                         _HTTP_STATUS, _SSM_CODE, _MESSAGE, _FORCED)
    SSM_HEARTBEAT_REFUSED = ("ssm_heartbeat_refused", _S, False,
                             "the SSM server refused a heartbeat",
                             _HTTP_STATUS, _SSM_CODE, _MESSAGE, _FORCED)
    SSM_TEARDOWN_REFUSED = ("ssm_teardown_refused", _S, False,
                            "the SSM server refused a teardown",
                            _HTTP_STATUS, _SSM_CODE, _MESSAGE, _FORCED)

    # --- the license server -----------------------------------------------------------------

    LICENSE_GRANTED = ("license_granted", _S, False, "the license server granted a license",
                       _STREAM, _f("granted", "bool", "always true"), _HTTP_STATUS, _FORCED,
                       _f("enforced", "bool", "the answer carried the session token "
                          "(enforced mode)", required=False),
                       _f("ssm_setup", "bool", "SSM V2: the request set the session up too",
                          required=False))
    LICENSE_DENIED = ("license_denied", _S, False, "the license server denied a license",
                      _STREAM, _f("granted", "bool", "always false"), _HTTP_STATUS, _CODE,
                      _MESSAGE, _FORCED)

    # --- the Kaltura backends (OTT / Phoenix and OVP) ------------------------------------------

    KS_ISSUED = ("ks_issued", _S, False, "a backend issued a KS",
                 _BACKEND, _KS, _f("via", "str", "the call that issued it"),
                 _f("partner_id", "int", "the partner id"),
                 _f("user_id", "str", "the user id (\"0\" or empty: anonymous)"),
                 _f("anonymous", "bool", "an anonymous session"), _EXPIRES_AT)
    KS_REVOKED = ("ks_revoked", _S, False, "a backend revoked a KS (logout, session end)",
                  _BACKEND, _KS, _f("via", "str", "the call that revoked it"))
    KS_USED = ("ks_used", _S, False, "a request carrying a KS reached a backend",
               _BACKEND, _ENDPOINT, _KS, _f("valid", "bool", "the KS was valid then"),
               _f("status", "str", "valid, expired, revoked or unknown"))
    OTT_PLAYBACK_CONTEXT = ("ott_playback_context", _S, False,
                            "the OTT backend served a media entry with its DRM data",
                            _f("asset_id", "str", "the asset"),
                            _f("drm_scheme", "str", "the DRM scheme"),
                            _f("ssm", "bool", "the entry is under SSM"))
    OVP_PLAYBACK_CONTEXT = ("ovp_playback_context", _S, False,
                            "the OVP backend served a media entry with its DRM data",
                            _f("entry_id", "str", "the entry"),
                            _f("drm_scheme", "str", "the DRM scheme"),
                            _f("ssm", "bool", "the entry is under SSM"))
    OTT_CONCURRENCY_REFUSED = ("ott_concurrency_refused", _S, False,
                               "the OTT backend blocked a playback: too many devices play",
                               _ENDPOINT, _f("user_id", "str", "the user (household)"),
                               _MESSAGE)
    OTT_ERROR = ("ott_error", _S, False, "the OTT backend answered an error",
                 _ENDPOINT, _HTTP_STATUS, _f("code", "int|str|null", "the error code"),
                 _MESSAGE, _FORCED)
    OVP_ERROR = ("ovp_error", _S, False, "the OVP backend answered an error",
                 _ENDPOINT, _HTTP_STATUS, _f("code", "int|str|null", "the error code"),
                 _MESSAGE, _FORCED)

    # --- the harness ----------------------------------------------------------------------------

    OUTAGE_PLANNED = ("outage_planned", _H, False, "a backend is unreachable for a window",
                      _LINK, _f("start", "num", "from (virtual seconds)"),
                      _f("end", "num", "until (virtual seconds)"))
    FAULT_PLANNED = ("fault_planned", _H, False, "the next calls of an endpoint will fail",
                     _ENDPOINT, _f("count", "int", "how many calls"),
                     _f("http_status", "int|null", "the answer's HTTP status"),
                     _f("code", "int|str|null", "the answer's error code"), _MESSAGE)
    ANSWER_LOSS_PLANNED = ("answer_loss_planned", _H, False,
                           "the server will act on the next calls of an endpoint, but their "
                           "answers will be lost", _ENDPOINT, _f("count", "int", "how many calls"))
    ANSWER_LOST = ("answer_lost", _H, False,
                   "an answer was lost on its way back: the device waits for its timeout",
                   _ENDPOINT, _REQUEST_ID)
    LATENCY_PLANNED = ("latency_planned", _H, False,
                       "messages on a link take longer for a window (widens deadlines near it)",
                       _LINK, _f("extra", "num", "extra seconds"),
                       _f("start", "num", "from (virtual seconds)"),
                       _f("end", "num|null", "until (null: forever)"))

    # --- the wire (served backends, captured traffic) ----------------------------------------

    HTTP_EXCHANGE = ("http_exchange", _W, False,
                     "an HTTP request reached a backend and was answered (one per exchange; "
                     "a Kaltura multirequest is one)",
                     _f("request_id", "int", "the exchange's number (per served world)"),
                     _f("method", "str", "the HTTP method"),
                     _f("path", "str", "the URL path (no query)"),
                     _f("service", "str", "ssm, license, ott, ovp, or unknown"),
                     _f("call", "str", "the SSM call, license, a Kaltura service/action, "
                                       "multirequest, or empty (unknown path)"),
                     _HTTP_STATUS,
                     _f("code", "int|str|null", "the error code in the body (null: none)"),
                     _MESSAGE,
                     _f("token", "str", "the SSM session token the request carried",
                        required=False),
                     _f("token_out", "str", "the session token the answer carried",
                        required=False),
                     _f("account", "str", "the account the request was made for",
                        required=False),
                     _f("seconds", "num", "server time spent answering"),
                     _f("malformed", "bool", "a planned fault cut the answer's body short",
                        required=False),
                     _f("lost", "bool", "a planned fault lost the answer: the backend acted, "
                        "the connection was held, then closed", required=False),
                     _f("reset", "bool", "a planned fault reset the connection before the "
                        "backend saw the call (http_status 0)", required=False),
                     _f("heartbeat_period", "num|null", "the heartbeat period a setup answer "
                        "gave (seconds)", required=False),
                     _f("stream", "str", "the content the content token names",
                        required=False),
                     _HAR_ENTRY)
    API_CALL = ("api_call", _W, False,
                "one logical call of a Kaltura request (a multirequest holds several)",
                _f("request_id", "int", "the exchange it was part of"), _BACKEND,
                _f("call", "str", "service/action"),
                _f("index", "int", "its number in a multirequest (1 for a single call)"),
                _f("ok", "bool", "it answered a result, not an error"),
                _f("code", "int|str|null", "the error code (null: none)"), _MESSAGE,
                _f("ks", "str", "the KS it carried", required=False),
                _f("ks_out", "str", "the KS its result handed out (a login, a refresh)",
                   required=False),
                _HAR_ENTRY)
