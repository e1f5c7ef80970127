"""Where real SSM clients differ: every named variant and its value per platform profile.

One declaration (:data:`VARIANTS`) states each difference between the clients
DOMAIN.md describes (Nagra's iOS plugin, its web client, the Android SDK) with
its value in every :data:`PROFILES` member. ``documented`` is the reading of
``seeds/000_7011756516eda0b2.txt`` the simulator shipped first; where a source
is silent for a platform, the profile keeps the documented value. Everything
else derives from the table: :class:`SsmVariants` (what the player core reads),
``DeviceConfig(profile=..., variants=...)``, the scenario schema's device keys,
and the README's profile table (:func:`profiles_markdown`, compared by a test).

Rules::

    a profile picks one value of every variant;
    a variant set on its own overrides its profile's value;
    a value not among the variant's choices is refused where it enters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, get_args

import attrs

from .._errors import ConfigError

__all__ = [
    "CONTENT_TOKEN_ERROR_CODE",
    "CONTENT_TOKEN_POLLS",
    "CONTENT_TOKEN_POLL_INTERVAL",
    "PLATFORM_ERROR_CODES",
    "PROFILES",
    "RENEWAL_ENDPOINTS",
    "VARIANTS",
    "WEB_MAX_SESSIONS_CODE",
    "Profile",
    "SsmVariants",
    "Variant",
    "platform_fields",
    "profiles_markdown",
]

#: The platform profiles, in the README table's column order.
Profile = Literal["documented", "ios", "android", "web"]
PROFILES: Final[tuple[Profile, ...]] = get_args(Profile)


@attrs.frozen
class Variant:
    """One way real clients differ: its name (the Python and scenario key), the
    choices it takes, its value in each profile, what it means and where it is stated.

    A ``choices`` of ``()`` marks a duration (seconds, or ``None`` for none).
    """

    name: str
    choices: tuple[str, ...]
    values: Mapping[Profile, Any]
    meaning: str
    source: str

    def check(self, value: object) -> None:
        """Refuse ``value`` unless it is one of this variant's choices."""
        if self.choices:
            if value not in self.choices:
                raise ConfigError(f"{self.name} must be one of {', '.join(self.choices)}, "
                                  f"not {value!r}")
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                    or value <= 0):
            raise ConfigError(f"{self.name} must be a positive number of seconds or None "
                              f"(no cap), not {value!r}")


def _v(name: str, choices: tuple[str, ...], meaning: str, source: str, *,
       documented: Any, ios: Any, android: Any, web: Any) -> Variant:
    return Variant(name, choices, {"documented": documented, "ios": ios, "android": android,
                                   "web": web}, meaning, source)


#: Every variant, in the README table's row order.
VARIANTS: Final[tuple[Variant, ...]] = (
    _v("after_heartbeat_error", ("stop-heartbeating", "keep-heartbeating"),
       "after a failed heartbeat: stop heartbeating and drop the token, or keep the timer, "
       "re-send the same stale token every period (an error each time) and tear down with "
       "it at the next stop or zap",
       "DOMAIN.md: \"After a failed heartbeat, Nagra's iOS and web clients keep their "
       "heartbeat timer\"",
       documented="stop-heartbeating", ios="keep-heartbeating", android="stop-heartbeating",
       web="keep-heartbeating"),
    _v("stop_during_setup", ("teardown-when-answered", "skip-teardown"),
       "a stop or zap while the setup is in flight: tear the late session down when its "
       "answer comes, or find no token, skip the teardown and leak the session",
       "DOMAIN.md: \"the web client waits for the setup answer and then tears down; the iOS "
       "plugin finds no token yet, skips the teardown\"",
       documented="teardown-when-answered", ios="skip-teardown",
       android="teardown-when-answered", web="teardown-when-answered"),
    _v("heartbeat_start", ("after-setup-answer", "after-license-answer"),
       "when the heartbeat timer starts: one period after the setup answer, or one period "
       "after the license answer",
       "DOMAIN.md: \"Heartbeat start: iOS one period after the setup answer; web after the "
       "license answer.\"",
       documented="after-setup-answer", ios="after-setup-answer",
       android="after-setup-answer", web="after-license-answer"),
    _v("error_numbering", ("none", "ios-userinfo", "android", "web"),
       "what an SSM error notification adds for the platform's app: nothing; iOS userInfo "
       "keys error, errorCode, code; Android -1352 / -1353 / -1354; web 6001 / 6002 / 6003, "
       "6004 for 1007 (see PLATFORM_ERROR_CODES)",
       "DOMAIN.md: \"Other platforms number the errors: setup 6001 / teardown 6002 / "
       "heartbeat 6003 (one platform), or -1352 setup / -1353 renewal / -1354 teardown "
       "(another).\"",
       documented="none", ios="ios-userinfo", android="android", web="web"),
    _v("sync_setup_cap", (),
       "in sync mode, the longest a setup blocks the main thread; then it is released while "
       "the request goes on (none: until the answer)",
       "DOMAIN.md: \"Nagra's own iOS plugin caps the wait: at most 5 s for setup and 3 s for "
       "teardown\"",
       documented=None, ios=5.0, android=None, web=None),
    _v("sync_teardown_cap", (),
       "in sync mode, the longest a teardown blocks the main thread (a stop or zap waiting "
       "for it goes on); none: until the answer",
       "DOMAIN.md: \"Nagra's own iOS plugin caps the wait: at most 5 s for setup and 3 s for "
       "teardown\"",
       documented=None, ios=3.0, android=None, web=None),
    _v("ssm_version", ("v1", "v2"),
       "v1: a setup call of its own, and the SDK tears the session down at stop or zap; "
       "v2: the setup travels inside the license request, and stop or zap leaves the "
       "session (the app tears it down itself with release_item, or it expires)",
       "DOMAIN.md: \"SSM V2: the setup travels inside the license request, and stopping "
       "does not tear the session down: the app calls teardown itself or lets the session "
       "expire.\"",
       documented="v1", ios="v1", android="v1", web="v1"),
    _v("drm", ("widevine", "playready", "fairplay"),
       "the DRM the license is for; in enforced mode it names the keep-alive: Widevine "
       "renews at the SSM server's renewal-license-wv, PlayReady and FairPlay at the "
       "license URL with ?renew=true",
       "WIRE.md: \"Renewal in enforced mode for PlayReady / FairPlay: the same URL with "
       "`?renew=true` and the session token alone.\"",
       documented="widevine", ios="fairplay", android="widevine", web="widevine"),
    _v("content_token_wait", ("send-at-once", "poll"),
       "a setup whose content token is not there yet: send it at once with none (the server "
       "refuses it, 1003), or poll for it 50 times every 100 ms, then post a content_token "
       "error 5022 without calling the server",
       "issue 9 / the web client: \"a token that arrives late delays setup (the web client "
       "polls 50 x 100 ms, then posts a content-token error, 5022)\"",
       documented="send-at-once", ios="send-at-once", android="send-at-once", web="poll"),
)

_BY_NAME: Final = {v.name: v for v in VARIANTS}

HeartbeatErrorMode = Literal["stop-heartbeating", "keep-heartbeating"]
StopDuringSetup = Literal["teardown-when-answered", "skip-teardown"]
HeartbeatStart = Literal["after-setup-answer", "after-license-answer"]
ErrorNumbering = Literal["none", "ios-userinfo", "android", "web"]
SsmVersion = Literal["v1", "v2"]
Drm = Literal["widevine", "playready", "fairplay"]
ContentTokenWait = Literal["send-at-once", "poll"]

#: Where an enforced-mode renewal goes, per DRM (WIRE.md): the SSM server's Widevine
#: renewal endpoint, or the license URL with ``?renew=true``.
RENEWAL_ENDPOINTS: Final[Mapping[str, str]] = {
    "widevine": "ssm:renewal-license-wv", "playready": "license:?renew=true",
    "fairplay": "license:?renew=true",
}
#: How a polling client waits for a late content token: this many polls, this far apart
#: (seconds), then the content-token error it posts (the web client's numbers).
CONTENT_TOKEN_POLLS: Final = 50
CONTENT_TOKEN_POLL_INTERVAL: Final = 0.1
CONTENT_TOKEN_ERROR_CODE: Final = 5022

#: The error number each platform's app sees per SSM error notification (DOMAIN.md;
#: Android's -1353 is the "renewal", i.e. heartbeat, error).
PLATFORM_ERROR_CODES: Final[Mapping[str, Mapping[str, int]]] = {
    "android": {"ssm_setup_error": -1352, "ssm_heartbeat_error": -1353,
                "ssm_teardown_error": -1354},
    "web": {"ssm_setup_error": 6001, "ssm_teardown_error": 6002, "ssm_heartbeat_error": 6003},
}
#: The web number of a "max sessions" error (SSM code 1007), whichever call it failed.
WEB_MAX_SESSIONS_CODE: Final = 6004


def platform_fields(numbering: str, kind: str, http_status: int, ssm_code: int | None,
                    message: str) -> dict[str, Any]:
    """What an SSM error notification ``kind`` adds for the app of ``numbering``:
    ``error_code`` (Android, web), or the iOS userInfo keys ``error`` (the message),
    ``errorCode`` (the SSM code) and ``code`` (the HTTP status). The iOS key-to-value
    mapping is ours: the key names are public, their values are not."""
    if numbering == "ios-userinfo":
        return {"error": message, "errorCode": ssm_code, "code": http_status}
    codes = PLATFORM_ERROR_CODES.get(numbering)
    if codes is None:
        return {}
    if numbering == "web" and ssm_code == 1007:
        return {"error_code": WEB_MAX_SESSIONS_CODE}
    return {"error_code": codes[kind]}


def _check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _BY_NAME[attribute.name].check(value)


@attrs.frozen
class SsmVariants:
    """One client's value of every variant (the player core reads these).

    Build it with :meth:`of`: a profile's values, with any variant overridden.
    """

    after_heartbeat_error: HeartbeatErrorMode = attrs.field(validator=_check)
    stop_during_setup: StopDuringSetup = attrs.field(validator=_check)
    heartbeat_start: HeartbeatStart = attrs.field(validator=_check)
    error_numbering: ErrorNumbering = attrs.field(validator=_check)
    sync_setup_cap: float | None = attrs.field(validator=_check)
    sync_teardown_cap: float | None = attrs.field(validator=_check)
    ssm_version: SsmVersion = attrs.field(validator=_check)
    drm: Drm = attrs.field(validator=_check)
    content_token_wait: ContentTokenWait = attrs.field(validator=_check)

    @classmethod
    def of(cls, profile: str = "documented", overrides: Mapping[str, object] | None = None
           ) -> SsmVariants:
        """The variants of ``profile``, each of ``overrides`` replacing its value."""
        if profile not in PROFILES:
            raise ConfigError(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")
        overrides = overrides or {}
        unknown = sorted(set(overrides) - set(_BY_NAME))
        if unknown:
            raise ConfigError(f"no variant {unknown[0]!r}; variants are "
                              f"{', '.join(_BY_NAME)}")
        values: dict[str, Any] = {v.name: overrides.get(v.name, v.values[profile])
                                  for v in VARIANTS}
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Every variant's value, by name (as the ``device_added`` record carries them)."""
        return attrs.asdict(self)


def _fields_match_table() -> None:
    """SsmVariants has exactly one field per row of VARIANTS (caught at import)."""
    fields = [f.name for f in attrs.fields(SsmVariants)]
    rows = [v.name for v in VARIANTS]
    if fields != rows:
        raise TypeError(f"SsmVariants fields {fields} must be the VARIANTS rows {rows}, in "
                        "order: add the field (or the row) that is missing")
    for v in VARIANTS:
        missing = [p for p in PROFILES if p not in v.values]
        if missing:
            raise TypeError(f"variant {v.name!r} has no value for profile {missing[0]!r}")
        for value in v.values.values():
            v.check(value)


_fields_match_table()


def _cell(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{value:g} s"
    return f"`{value}`"


def profiles_markdown() -> str:
    """The README's profile table: one row per variant, one column per profile."""
    head = "| variant | " + " | ".join(f"`{p}`" for p in PROFILES) + " | meaning |"
    rows = [head, "|---" * (len(PROFILES) + 2) + "|"]
    for v in VARIANTS:
        cells = " | ".join(_cell(v.values[p]) for p in PROFILES)
        rows.append(f"| `{v.name}` | {cells} | {v.meaning} ({v.source}) |")
    return "\n".join(rows) + "\n"
