"""The JSON Schema of scenario files and include fragments (draft 2020-12).

The schema checks the shape of a file (keys, types, durations with their units
largest first, enums, signal and event names and the payload keys each can
carry); the loader then checks what a schema can't (declared devices, rule ids,
time going forwards) and builds the :class:`~._model.Scenario`. Every file the
loader accepts (scenarios, fragments such as ``_world.yaml``, files whose devices
come from an include) passes the schema: a test checks it on every bundled file.
``player-sim schema`` prints it so editors can complete, explain (every key has a
description) and check files; a bad pattern comes with a readable
``errorMessage`` (shown by the YAML language server).
"""

from __future__ import annotations

import json
from typing import Any, Final

from .. import signals
from .._trace_kinds import Kind
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
    ENDPOINTS,
    METRICS,
)

__all__ = ["SCHEMA", "schema_json"]

_NUMBER: Final = r"\d+(\.\d+)?"
#: A duration's parts, largest unit first, each at most once (as the loader reads them):
#: ``1h30m`` yes, ``30s5m`` no. Stricter than, and within, ``DURATION_PATTERN``.
_ORDERED_DURATION: Final = ("^(?=.)" + "".join(f"({_NUMBER}{unit})?"
                                                for unit in ("d", "h", "m", "s", "ms")) + "$")
_DURATION: Final = {"title": "duration", "type": "string", "pattern": _ORDERED_DURATION,
                    "description": "A number and a unit: 300ms, 30s, 5m, 2h, 1d, or parts "
                                   "largest first: 1h30m.",
                    "errorMessage": "write a number followed by a unit (ms, s, m, h or d), "
                                    "e.g. 300ms, 30s, 5m, 2h, 1d; parts largest first, "
                                    "e.g. 1h30m"}
_TIME: Final = {**_DURATION, "description": "Virtual time since the start, as a duration."}
_NAME: Final = {"type": "string", "minLength": 1}
_RULE_ID: Final = {"title": "rule id", "type": "string",
                   "pattern": r"^[a-z0-9-]+(\.[a-z0-9-]+)+$",
                   "description": "A rule of the catalogue, e.g. ssm.setup.limit-refuses.",
                   "errorMessage": "a rule id is dotted lower-case words, e.g. "
                                   "ssm.setup.limit-refuses (player-sim rules lists them)"}


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
    "license": _obj({
        "require_ssm_token": {"type": ["boolean", "null"]},
        "enforced": {"type": "boolean",
                     "description": "DRM-enforced sessions (sessionDrmEnforced): the license "
                                    "answer carries the session token and the keep-alive is a "
                                    "license renewal."}}),
    "network": _obj({
        "latency": _DURATION,
        "links": _obj({link: _DURATION for link in LINKS},
                      description="One-way latency of one link, overriding latency."),
        "jitter": _DURATION,
    }),
    "trace_heartbeats": {"type": "boolean"},
}, description="Backends and network every device shares.")

#: A variant class named by reference (README: Bring your own SDK); resolving it
#: imports the module.
_REFERENCE: Final = {"title": "module:Name", "type": "string",
                     "pattern": r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$",
                     "description": "A class in an importable module, as module.path:Name "
                                    "(its module is imported: it runs code)."}

_APP_OBJ: Final = _obj({
    "policy": {"anyOf": [{"enum": list(APP_POLICIES)}, _REFERENCE],
               "description": "; ".join(f"{k}: {v}" for k, v in APP_POLICIES.items())
               + "; or module:Name, an AppPolicy subclass of your own."},
    "zap_on_heartbeat_error": {"type": "boolean"},
    "resume_after_background": {"type": "boolean"},
    "reaction_delay": _DURATION,
})
_APP: Final = {"anyOf": [_APP_OBJ, _REFERENCE],
               "description": "The app: settings of the documented one, or module:Name (an "
                              "AppPolicy subclass of your own)."}

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
    "content_token_delay": {**_DURATION,
                            "description": "How long after the SDK asks for a setup's "
                                           "content token the app hands it over (variant "
                                           "content_token_wait decides what the SDK does "
                                           "meanwhile)."},
    "profile": {"enum": list(PROFILES),
                "description": "The platform profile: the value of every SSM client variant "
                               "(README: Platform profiles)."},
    **_VARIANT_KEYS,
    "ssm": {"type": "boolean", "description": "The license delegate has an SSM server URL."},
    "sdk": {**_REFERENCE, "description": "An SdkModel subclass of your own, as "
                                         "module.path:Name (its module is imported)."},
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
        "variant": {"anyOf": [{"enum": list(VARIANT_NAMES)}, _REFERENCE],
                    "description": "The client: documented (the seed's), android or ios "
                                   "(DOMAIN.md: refresh races, margins, OVP windows); or "
                                   "module:Name, a subclass of the backend's provider."},
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
                       required=("link", "extra"),
                       description="Answers on link take 'extra' longer, from 'from' "
                                   "(default: now) for 'for' or until 'until'.")

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
    "signal": {"enum": list(signals.ALL_SIGNALS),
               "description": "An SDK notification the app receives (README: Signals)."},
    "event": {"enum": [kind.value for kind in Kind],
              "description": "A trace record kind (README: Trace format)."},
    "payload": _PAYLOAD,
}


def _payload_rules() -> dict[str, dict[str, dict[str, Any]]]:
    """For each signal and event: its payload may name only that record kind's fields
    (a misspelled ``ssm_cod`` is refused, listing the fields). By the key naming the
    kind (``signal`` or ``event``), then the kind: the rule the mapping's payload obeys."""
    rules: dict[str, dict[str, dict[str, Any]]] = {"signal": {}, "event": {}}
    for kind in Kind:
        fields = [f.name for f in kind.fields]
        rule = {"properties": {"payload": {
            "propertyNames": {"enum": fields},
            "errorMessage": f"{kind.value} records carry only: "
                            f"{', '.join(fields) or 'no fields'}"}}}
        for key in ("signal", "event") if kind.value in signals.ALL_SIGNALS else ("event",):
            rules[key][kind.value] = rule
    return rules


#: The payload rules by key and kind.
PAYLOAD_RULES: Final = _payload_rules()

#: The payload rules as standard JSON Schema, for the expectations and invariants: one
#: ``if``/``then`` per key and kind, all behind a single ``if`` the mapping has a
#: ``payload`` (the rules only constrain ``payload``: without one they all hold, and a
#: validator skips them at the cost of one check instead of one per kind).
_PAYLOAD_KEYS: Final = {
    "if": {"type": "object", "required": ["payload"]},
    "then": {"allOf": [{"if": {"properties": {key: {"const": kind.value}}, "required": [key]},
                        "then": by_kind[kind.value]}
                       for kind in Kind
                       for key, by_kind in PAYLOAD_RULES.items() if kind.value in by_kind]},
}

_EXPECT: Final = {**_obj({
    **_MATCH_KEYS, **_CONDITION_KEYS,
    "within": {**_DURATION, "description": "From now: it must happen (hold) within this."},
    "by": {**_TIME, "description": "It must happen (hold) by this virtual time."},
    "at": {**_TIME, "description": "A state or metric: it holds at this virtual time."},
    "for": {**_DURATION, "description": "A state or metric: it holds all along this span."},
    "absent_for": {**_DURATION, "description": "A signal or event: none for this span."},
    "absent_until": {**_TIME, "description": "A signal or event: none until this time."},
}, description="A signal or event (within / by / absent_for / absent_until), or a device "
               "state or metric (now, at, within, by, for)."), **_PAYLOAD_KEYS}

_INVARIANT: Final = {
    "type": ["string", "object"],
    "properties": {**_MATCH_KEYS, **_CONDITION_KEYS},
    "additionalProperties": False,
    **_PAYLOAD_KEYS,
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

#: Keys only a scenario has; a file with none of them is an include fragment
#: (``_world.yaml``: world, accounts, devices, include).
_SCENARIO_ONLY: Final = ("name", "description", "covers", "violates", "tags", "seed",
                         "steps", "always", "never")

SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://player-sim.example/scenario.schema.json",
    "title": "player_sim scenario",
    "anyOf": [
        {"required": ["name", "steps"],
         "description": "A scenario: its devices here or from an include.",
         "if": {"not": {"required": ["include"]}}, "then": {"required": ["devices"]}},
        {"not": {"anyOf": [{"required": [key]} for key in _SCENARIO_ONLY]},
         "description": "An include fragment: world, accounts, devices, include only."},
    ],
    **_obj({
        "name": {**_NAME, "description": "What the scenario shows, in one line (the test's "
                                         "name in reports)."},
        "description": {"type": "string",
                        "description": "Why: the quote or fact it checks, in prose."},
        "covers": {"type": "array", "items": _RULE_ID,
                   "description": "Rules this scenario's run judges (player-sim rules checks "
                                  "the label is true)."},
        "violates": {"type": "array", "items": _RULE_ID,
                     "description": "Rules this scenario breaks on purpose (a hazard it "
                                    "demonstrates); any other rule broken is a failure."},
        "tags": {"type": "array", "items": _NAME,
                 "description": "Words -k selects by (player-sim run -k, pytest -k)."},
        "seed": {"type": "integer",
                 "description": "The world seed (default 0; --seed overrides it)."},
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
            "properties": {"max_sessions": {"type": "integer", "minimum": 1,
                                            "description": "This account's own session "
                                                           "limit (content token claim)."}},
            "additionalProperties": False},
            "description": "Accounts by name, with their own settings."},
        "devices": {"type": "object", "minProperties": 1, "additionalProperties": _DEVICE,
                    "description": "The devices by name: their account and SDK "
                                   "configuration."},
        "steps": {"type": "array", "items": _STEP,
                  "description": "What happens, in order, in virtual time: actions, waits, "
                                 "faults and expectations."},
        "always": {"type": "array", "items": _INVARIANT,
                   "description": "Invariants checked at every record of the run."},
        "never": {"type": "array", "items": _INVARIANT,
                  "description": "Signals, events or states that must not occur."},
    }),
}


#: What a key means wherever it appears without a description of its own (editor hover
#: for every key; a test walks the schema). One sentence per key name.
_KEY_DESCRIPTIONS: Final[dict[str, str]] = {
    "above": "The metric is more than this.",
    "below": "The metric is less than this.",
    "at_least": "The metric is this or more.",
    "at_most": "The metric is this or less.",
    "equals": "The metric is exactly this.",
    "not_equals": "The metric is anything but this.",
    "account": "An account's name (a device's owner, or the subject of a metric or kill).",
    "account_id": "The token's device.accountId claim.",
    "app": "The app: its state (in a condition) or its policy settings (on a device).",
    "assets": "Assets by id, with their playback context.",
    "backend": "Which backend: a network link, or the Kaltura backend (ott / ovp).",
    "code": "The error code answered (OTT / OVP: number or text).",
    "count": "How many calls it applies to (default 1).",
    "device": "A device's name, as declared under devices.",
    "device_group": "The device's group, for the per-device-group limit.",
    "drm": "The DRM scheme of the content.",
    "empty": "The token is empty: setup fails (1003).",
    "enabled": "Whether the SSM server is in the path at all.",
    "endpoint": "The backend call: ssm.setup, ssm.heartbeat, license, ott:..., ovp:...",
    "entitled_users": "Only these users may play it (none: everyone).",
    "entries": "Media entries by id, with their DRM data.",
    "event": "A trace record kind (README: Trace format).",
    "formats": "Media formats offered or asked for.",
    "http_status": "The HTTP status of the answer.",
    "ip": "The device's client IP, for the per-IP limits.",
    "license": "The license server.",
    "license_url": "Where the license request goes.",
    "limit_policy": "At a limit: refuse the new session, or evict the oldest.",
    "link": "A network link: ssm, license, ott or ovp.",
    "max_ips_per_account": "Client IPs an account may play from at once.",
    "max_sessions": "Sessions this account (or token) may hold.",
    "max_sessions_per_account": "Sessions an account may hold (the common limit).",
    "max_sessions_per_channel_group": "Sessions an account may hold per channel group.",
    "max_sessions_per_device_group": "Sessions an account may hold per device group.",
    "max_sessions_per_ip": "Sessions one client IP may hold.",
    "message": "The error message answered.",
    "metric": "A counted quantity (README: Scenario files, metrics).",
    "network": "Latency of every link, per link, and jitter.",
    "partner_id": "The Kaltura partner id.",
    "password": "The user's password.",
    "payload": "Fields the record's data must have.",
    "pip": "The app supports picture-in-picture.",
    "playback": "The player's playback state.",
    "reference_type": "How the media entry is referenced (OTT).",
    "release_item_on_stop": "Stopping releases the player item (and so tears down).",
    "require_ssm_token": "The license server refuses requests without an SSM token.",
    "resume_after_background": "The app resumes playback when foregrounded.",
    "signal": "An SDK notification the app receives (README: Signals).",
    "ssm": "The SSM server, or (on a device or content) whether SSM is used.",
    "ssm_code": "The SSM error code in the answer's body (null: none).",
    "stream": "The stream (channel or asset) played.",
    "suspended_users": "Users whose login is refused as suspended.",
    "sync_setup_teardown": "syncSSMSetupTeardown: setup and teardown block the main thread.",
    "trace_heartbeats": "Record every heartbeat in the trace (off: long runs stay small).",
    "username": "The user's login id.",
    "zap_on_heartbeat_error": "The app zaps to the same stream after a heartbeat error.",
    "zap_order": "On a zap: tear the old session down first, or set the new one up first.",
}


def _describe(node: Any) -> None:
    """Give every property without a description the one of its key name (not inside
    ``if`` / ``then``, which only match and refine)."""
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            if isinstance(sub, dict) and "description" not in sub and name in _KEY_DESCRIPTIONS:
                node["properties"][name] = {**sub, "description": _KEY_DESCRIPTIONS[name]}
        for key, sub in node.items():
            if key not in ("if", "then"):
                _describe(sub)
    elif isinstance(node, list):
        for sub in node:
            _describe(sub)


_describe(SCHEMA)


#: The keyword of :data:`LOADER_SCHEMA` that the loader's validator implements: its
#: value is :data:`PAYLOAD_RULES`, and it applies the one rule of the kind the mapping
#: names, found by lookup.
PAYLOAD_KEYWORD: Final = "payloadRuleOfKind"


def _with_payload_keyword(node: Any) -> Any:
    """A copy of ``node`` whose chains of payload ``if``/``then`` rules are
    :data:`PAYLOAD_KEYWORD` instead."""
    if node is _PAYLOAD_KEYS["then"]:
        return {PAYLOAD_KEYWORD: PAYLOAD_RULES}
    if isinstance(node, dict):
        return {key: _with_payload_keyword(sub) for key, sub in node.items()}
    if isinstance(node, list):
        return [_with_payload_keyword(sub) for sub in node]
    return node


#: :data:`SCHEMA` as the loader validates with it: the same verdicts and errors, but a
#: mapping with a payload is checked against its kind's rule by one lookup instead of
#: trying all 85 ``if``/``then`` rules in turn (which was three quarters of validating
#: the bundled scenarios). ``tests/test_scenario_payload_rules.py`` checks both give the
#: same errors for every kind.
LOADER_SCHEMA: Final[dict[str, Any]] = _with_payload_keyword(SCHEMA)


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
