"""The JSON Schema of scenario files (draft 2020-12).

The schema checks the shape of a file (keys, types, durations, enums); the
loader then checks what a schema can't (declared devices, signal names, rule
ids, time going forwards) and builds the :class:`~._model.Scenario`.
``player-sim schema`` prints it so editors can complete and check files.
"""

from __future__ import annotations

import json
from typing import Any, Final

from .. import signals
from ..backends import DRM_SCHEMES, LIMIT_POLICIES
from ..player import AppState, PlaybackState
from ..player._actions import ActionSpec
from ..player._variants import PROFILES, VARIANTS
from ..providers import REFERENCE_TYPES, REFRESH_POLICY_NAMES, VARIANT_NAMES
from ..world import LINKS, TIMED_CALLS, ZAP_ORDERS
from ._model import (
    ACTIONS,
    APP_POLICIES,
    BASE_URLS,
    COMPARATORS,
    DURATION_PATTERN,
    ENDPOINTS,
    METRICS,
)

__all__ = ["SCHEMA", "schema_json"]

_DURATION: Final = {"title": "duration", "type": "string", "pattern": DURATION_PATTERN,
                    "description": "A number and a unit: 300ms, 30s, 5m, 2h, 1d."}
_TIME: Final = {**_DURATION, "description": "Virtual time since the start, as a duration."}
_NAME: Final = {"type": "string", "minLength": 1}
_RULE_ID: Final = {"title": "rule id", "type": "string",
                   "pattern": r"^[a-z0-9-]+(\.[a-z0-9-]+)+$",
                   "description": "A rule of the catalogue, e.g. ssm.setup.limit-refuses."}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = (),
         description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties,
                           "additionalProperties": False}
    if required:
        out["required"] = list(required)
    if description:
        out["description"] = description
    return out


_SSM: Final = _obj({
    "max_sessions_per_account": {"type": ["integer", "null"], "minimum": 1},
    "max_sessions_per_device_group": {"type": ["integer", "null"], "minimum": 1},
    "max_sessions_per_ip": {"type": ["integer", "null"], "minimum": 1},
    "max_ips_per_account": {"type": ["integer", "null"], "minimum": 1},
    "max_sessions_per_channel_group": {"type": ["integer", "null"], "minimum": 1},
    "channel_groups": {"type": "object", "additionalProperties": _NAME,
                       "description": "Stream to channel group, for the per-group limit."},
    "error_http_status": {"type": "object", "propertyNames": {"pattern": "^[0-9]+$"},
                          "additionalProperties": {"type": "integer", "minimum": 100,
                                                   "maximum": 599},
                          "description": "SSM error code to the HTTP status answered with it "
                                         "(README: SSM error codes)."},
    "limit_policy": {"enum": list(LIMIT_POLICIES)},
    "heartbeat_period": _DURATION,
    "grace_period": _DURATION,
    "session_timeout": {**_DURATION, "type": ["string", "null"]},
    "enabled": {"type": "boolean"},
    "legacy_status_200": {"type": "boolean",
                          "description": "Answer HTTP 200 even for a denial, as the older "
                                         "SRM session API did (not SSM)."},
}, description="The SSM server (session limits, heartbeats, expiry).")

_DRM: Final = {"enum": list(DRM_SCHEMES)}
_NAMES: Final = {"type": "array", "items": _NAME}
_OTT_ASSET: Final = _obj({"drm": _DRM, "license_url": _NAME, "ssm": {"type": "boolean"},
                          "formats": _NAMES, "entitled_users": _NAMES},
                         description="An asset's playback context.")
_OVP_ENTRY: Final = _obj({"drm": _DRM, "license_url": _NAME, "ssm": {"type": "boolean"}},
                         description="A media entry's DRM data.")
_PASSWORDS: Final = {"type": "object", "additionalProperties": {"type": "string"},
                     "description": "User name (login id) to password."}

_OTT: Final = _obj({
    "ks_validity": _DURATION,
    "anonymous_ks_validity": _DURATION,
    "refresh_token_validity": _DURATION,
    "users": _PASSWORDS,
    "suspended_users": _NAMES,
    "concurrency_limit": {"type": ["integer", "null"], "minimum": 1,
                          "description": "Devices of one user that may play at once, counted "
                                         "by their bookmark hits (DOMAIN.md)."},
    "concurrency_hit_timeout": {**_DURATION, "description": "A device whose hits stopped "
                                                            "this long frees its slot."},
    "assets": {"type": "object", "additionalProperties": _OTT_ASSET},
    "default_asset": {**_OTT_ASSET, "type": ["object", "null"]},
}, description="The Kaltura OTT (Phoenix) backend.")

_OVP: Final = _obj({
    "widget_session_validity": _DURATION,
    "user_session_validity": _DURATION,
    "users": _PASSWORDS,
    "entries": {"type": "object", "additionalProperties": _OVP_ENTRY},
    "default_entry": {**_OVP_ENTRY, "type": ["object", "null"]},
}, description="The Kaltura OVP backend.")

_WORLD: Final = _obj({
    "ssm": _SSM,
    "ott": _OTT,
    "ovp": _OVP,
    "license": _obj({"require_ssm_token": {"type": ["boolean", "null"]}}),
    "network": _obj({
        "latency": _DURATION,
        "links": _obj({link: _DURATION for link in LINKS},
                      description="One-way latency of one link, overriding latency."),
        "jitter": _DURATION,
    }),
    "trace_heartbeats": {"type": "boolean"},
}, description="Backends and network every device shares.")

_APP: Final = _obj({
    "policy": {"enum": list(APP_POLICIES),
               "description": "; ".join(f"{k}: {v}" for k, v in APP_POLICIES.items()) + "."},
    "zap_on_heartbeat_error": {"type": "boolean"},
    "resume_after_background": {"type": "boolean"},
    "reaction_delay": _DURATION,
})

#: One device key per SSM client variant (the profile table's rows).
_VARIANT_KEYS: Final[dict[str, Any]] = {
    v.name: ({"enum": list(v.choices), "description": v.meaning} if v.choices
             else {**_DURATION, "type": ["string", "null"], "description": v.meaning})
    for v in VARIANTS
}

_DEVICE: Final = _obj({
    "account": _NAME,
    "content_token": _obj({
        "account_id": _NAME, "max_sessions": {"type": "integer", "minimum": 1},
        "empty": {"type": "boolean"}},
        description="The content token its setups carry: claims device.accountId and "
                    "contentRights[].sessionControl.maxSessions; empty fails setup (1003)."),
    "timeouts": _obj({call: _DURATION for call in TIMED_CALLS},
                     description="The client's timeout per SSM call (none: waits for ever)."),
    "profile": {"enum": list(PROFILES),
                "description": "The platform profile: the value of every SSM client variant "
                               "(README: Platform profiles)."},
    **_VARIANT_KEYS,
    "ssm": {"type": "boolean", "description": "The license delegate has an SSM server URL."},
    "sync_setup_teardown": {"type": "boolean"},
    "pip": {"type": "boolean"},
    "zap_order": {"enum": list(ZAP_ORDERS)},
    "release_item_on_stop": {"type": "boolean"},
    "ip": _NAME,
    "device_group": _NAME,
    "app": _APP,
    "session_provider": _obj({
        "backend": {"enum": list(BASE_URLS)},
        "partner_id": {"type": "integer", "minimum": 0},
        "base_url": {**_NAME, "description": "OVP: scheme and host only (no path); OTT: "
                                             "with the API path (https://HOST/api_v3/)."},
        "variant": {"enum": list(VARIANT_NAMES),
                    "description": "The client: documented (the seed's), android or ios "
                                   "(DOMAIN.md: refresh races, margins, OVP windows)."},
        "refresh_policy": {"type": "string",
                           "description": f"OTT: {', '.join(REFRESH_POLICY_NAMES)}, or a "
                                          "fixed margin (5m); default: the variant's."},
        "bookmarks": {"type": "boolean",
                      "description": "OTT: the Phoenix analytics plugin sends bookmark/add "
                                     "hits every 30 s while playing and a STOP on stop; "
                                     "OTT concurrency counts them."},
        "persist_session": {"type": "boolean",
                            "description": "OTT: the app saves its session and recovers it "
                                           "when relaunched after a kill (recoverSession)."},
        "assumed_validity": _DURATION,
        "renew_window": _DURATION,
        "reference_type": {"enum": list(REFERENCE_TYPES)},
        "formats": _NAMES,
    }, required=("backend", "partner_id"),
        description="A KS session provider: playback obtains a KS, loads the media "
                    "entry (the played stream is its id), then SSM setup and license."),
}, required=("account",))

_DEVICE_REF: Final = {"type": ["string", "object"], "minLength": 1,
                      "properties": {"device": _NAME}, "required": ["device"],
                      "additionalProperties": False,
                      "description": "A device name, or {device: NAME}."}

_FAIL: Final = _obj({
    "endpoint": {"enum": list(ENDPOINTS)},
    "count": {"type": "integer", "minimum": 1},
    "http_status": {"type": "integer", "minimum": 100, "maximum": 599},
    "ssm_code": {"type": ["integer", "null"]},
    "code": {"type": ["integer", "string", "null"]},
    "message": {"type": "string"},
}, required=("endpoint",),
    description="Answer the next count calls of endpoint with this error.")

_WINDOW: Final = {"from": _TIME, "until": _TIME, "for": _DURATION}
_OUTAGE: Final = _obj({"backend": {"enum": list(LINKS)}, **_WINDOW}, required=("backend",),
                      description="The backend is unreachable from 'from' (default: now) "
                                  "for 'for' or until 'until'.")
_LATENCY: Final = _obj({"link": {"enum": list(LINKS)}, "extra": _DURATION, **_WINDOW},
                       required=("link", "extra"))

_PAYLOAD: Final = {"type": "object", "description": "Fields the record's data must have.",
                   "additionalProperties": {"type": ["string", "number", "boolean", "null"]}}

_CONDITION_KEYS: Final[dict[str, Any]] = {
    "device": _NAME,
    "app": {"enum": [s.value for s in AppState]},
    "playback": {"enum": [s.value for s in PlaybackState]},
    "stream": _NAME,
    "playing": {**_NAME, "description": "Shorthand: playback playing, this stream."},
    "metric": {"enum": list(METRICS)},
    "account": _NAME,
    **{name: {"type": ["number", "string"]} for name in COMPARATORS},
}
_MATCH_KEYS: Final[dict[str, Any]] = {
    "signal": {"enum": list(signals.ALL_SIGNALS)},
    "event": _NAME,
    "payload": _PAYLOAD,
}

_EXPECT: Final = _obj({
    **_MATCH_KEYS, **_CONDITION_KEYS,
    "within": _DURATION, "by": _TIME, "at": _TIME, "for": _DURATION,
    "absent_for": _DURATION, "absent_until": _TIME,
}, description="A signal or event (within / by / absent_for / absent_until), or a device "
               "state or metric (now, at, within, by, for).")

_INVARIANT: Final = {
    "type": ["string", "object"],
    "properties": {**_MATCH_KEYS, **_CONDITION_KEYS},
    "additionalProperties": False,
    "description": "'metric(subject) OP value', a state or metric mapping, or (under never) "
                   "a signal or event.",
}



def _action_step(spec: ActionSpec) -> dict[str, Any]:
    """A step performing ``spec``: ``DEVICE`` when no argument is required, else (and
    always allowed) ``{device, ARG...}``."""
    properties = {"device": _NAME, **{arg.name: _NAME for arg in spec.args}}
    required = ["device", *(arg.name for arg in spec.args if arg.required)]
    fields = ", ".join(["device", *(arg.name for arg in spec.args)])
    if len(required) > 1:
        return {**_obj(properties, tuple(required)), "description": f"{spec.meaning} "
                f"Written {{{fields}}}."}
    return {**_DEVICE_REF, "properties": properties,
            "description": f"{spec.meaning} Written DEVICE or {{{fields}}}."}


_STEP_KINDS: Final[dict[str, Any]] = {
    **{name: _action_step(spec) for name, spec in ACTIONS.items()},
    "wait": _DURATION,
    "at": _TIME,
    "fail": _FAIL,
    "outage": _OUTAGE,
    "latency": _LATENCY,
    "lose": _obj({"endpoint": {"enum": [e for e in ENDPOINTS if e.startswith("ssm.")]},
                  "count": {"type": "integer", "minimum": 1}}, required=("endpoint",),
                 description="The SSM server acts on the next count calls of endpoint, but "
                             "their answers never reach the device (it times out)."),
    "operator_kill": {**_obj({"device": _NAME, "account": _NAME}), "minProperties": 1,
                      "maxProperties": 1,
                      "description": "The operator kills sessions at the SSM server: "
                                     "{device: NAME} (killDeviceSessions) or {account: NAME} "
                                     "(killAccountSessions); their next heartbeat fails."},
    "expect": _EXPECT,
}

_STEP: Final = {"type": "object", "title": "step", "properties": _STEP_KINDS,
                "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
                "description": "One action, wait, fault or expectation."}

SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://player-sim.example/scenario.schema.json",
    "title": "player_sim scenario",
    **_obj({
        "name": _NAME,
        "description": {"type": "string"},
        "covers": {"type": "array", "items": _RULE_ID},
        "violates": {"type": "array", "items": _RULE_ID,
                     "description": "Rules this scenario breaks on purpose (a hazard it "
                                    "demonstrates); any other rule broken is a failure."},
        "tags": {"type": "array", "items": _NAME},
        "seed": {"type": "integer"},
        "max_events": {"type": "integer", "minimum": 1,
                       "description": "The run budget: world events this scenario may "
                                      "process (default 1,000,000) before it ends with an "
                                      "error."},
        "include": {"type": ["string", "array"], "items": _NAME,
                    "description": "YAML files (relative to this one) whose world, "
                                   "accounts and devices this file extends."},
        "world": _WORLD,
        "accounts": {"type": "object", "additionalProperties": {
            "type": ["object", "null"],
            "properties": {"max_sessions": {"type": "integer", "minimum": 1}},
            "additionalProperties": False}},
        "devices": {"type": "object", "minProperties": 1, "additionalProperties": _DEVICE},
        "steps": {"type": "array", "items": _STEP},
        "always": {"type": "array", "items": _INVARIANT},
        "never": {"type": "array", "items": _INVARIANT},
    }, required=("name", "devices", "steps")),
}


def schema_json() -> str:
    """The schema as indented JSON text, ending with a newline."""
    return json.dumps(SCHEMA, indent=2) + "\n"


def _step_form(spec: ActionSpec) -> str:
    names = ", ".join(["device", *(arg.name for arg in spec.args)])
    if any(arg.required for arg in spec.args):
        return f"`{spec.name}: {{{names}}}`"
    if spec.args:
        return f"`{spec.name}: DEVICE` or `{{{names}}}`"
    return f"`{spec.name}: DEVICE`"


def _who(spec: ActionSpec) -> str:
    who = [w for w, yes in (("user", spec.user), ("app policy", spec.app)) if yes]
    return ", ".join(who) or "app code"


def actions_markdown() -> str:
    """The README's table of action steps, one row per action of the action table."""
    rows = ["| step | by | does |", "|---|---|---|"]
    rows += [f"| {_step_form(spec)} | {_who(spec)} | {spec.meaning} |"
             for spec in ACTIONS.values()]
    return "\n".join(rows) + "\n"
