"""The OpenAPI 3.1 description of the served backends and the control API.

Derived from the declarations that serve them: the SSM paths from the dialect's
call table (:data:`~player_sim.traffic.SSM_CALLS`), the control operations from
:data:`CONTROL_OPERATIONS` (the table :func:`~._app.build_app` routes by). Served
at ``GET /_player_sim/openapi.json``; the test suite fuzzes every operation from it
with Schemathesis (no answer may be a 5xx).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from ..traffic import SSM_CALLS

__all__ = ["CONTROL_OPERATIONS", "ControlOperation", "openapi_document"]


@attrs.frozen
class ControlOperation:
    """One control call: its HTTP methods, what it does, and its fields (name -> JSON
    Schema), taken from the JSON body of a POST or the query of a GET."""

    methods: tuple[str, ...]
    summary: str
    fields: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)


_TEXT: Final = {"type": "string"}
_DURATION: Final = {"type": ["number", "string"],
                    "description": "seconds, or a duration such as \"5m\""}
_COUNT: Final = {"type": "integer", "minimum": 1}

#: Every control call under ``/_player_sim/``, by path segment.
CONTROL_OPERATIONS: Final[Mapping[str, ControlOperation]] = {
    "fail-next": ControlOperation(("POST",), "Answer the next calls of an endpoint with an error",
                                  {"endpoint": _TEXT, "device": _TEXT, "count": _COUNT,
                                   "code": {"type": ["integer", "string"]},
                                   "http_status": {"type": "integer"}, "message": _TEXT,
                                   "malformed": {"type": "boolean"},
                                   "lost": {"type": "boolean"},
                                   "reset": {"type": "boolean"}}),
    "outage": ControlOperation(("POST",), "Take a backend down for a while",
                               {"link": {"enum": ["ssm", "license", "ott", "ovp"]},
                                "seconds": _DURATION}),
    "latency": ControlOperation(("POST",), "Hold a backend's answers back for a while",
                                {"link": {"enum": ["ssm", "license", "ott", "ovp"]},
                                 "extra": _DURATION, "seconds": _DURATION}),
    "kill": ControlOperation(("POST",), "End a device's or an account's live sessions",
                             {"device": _TEXT, "account": _TEXT}),
    "advance": ControlOperation(("POST",), "Jump the lab's clock forward",
                                {"seconds": _DURATION}),
    "sessions": ControlOperation(("GET",), "The live SSM sessions", {"account": _TEXT}),
    "zombies": ControlOperation(("GET",), "Live sessions whose device went silent",
                                {"account": _TEXT}),
    "wait-for": ControlOperation(("POST",), "Wait for a record in the live trace",
                                 {"kind": _TEXT, "device": _TEXT, "after": _TEXT,
                                  "call": _TEXT, "since": {"type": "integer", "minimum": 0},
                                  "timeout": _DURATION}),
    "verdict": ControlOperation(("GET", "POST"), "The rules' verdict so far",
                                {"rules": {"type": "array", "items": _TEXT}}),
    "reset": ControlOperation(("POST",), "Start again from an empty world at time 0"),
    "trace": ControlOperation(("GET",), "The trace so far (JSON Lines)"),
    "har": ControlOperation(("GET",), "Every exchange so far (HAR 1.2)"),
    "status": ControlOperation(("GET",), "The lab's time and counters"),
    "openapi.json": ControlOperation(("GET",), "This description"),
}

_SSM_ERROR: Final = {"type": "object", "properties": {"errorCode": {"type": "integer"},
                                                      "message": _TEXT}}
_TOKEN_HEADER: Final = {"name": "nv-authorizations", "in": "header", "required": True,
                        "schema": _TEXT}
_JSON_ANSWER: Final = {"description": "the backend's answer, errors in its own shape",
                       "content": {"application/json": {"schema": {}}}}


def _ssm_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for call in SSM_CALLS.values():
        body: dict[str, Any] = {"type": "object"}
        if call.body_field is not None:
            body = {"type": "object", "properties": {call.body_field: _TEXT},
                    "required": [call.body_field]}
        paths[f"/{{tenant}}/ssm/v1/sessions/{call.segment}"] = {call.method.lower(): {
            "summary": f"SSM {call.name} (nv-authorizations: the {call.token} token)",
            "operationId": f"ssm-{call.name}",
            "parameters": [{"name": "tenant", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}},
                           _TOKEN_HEADER],
            "requestBody": {"content": {"application/json": {"schema": body}}},
            "responses": {"200": _JSON_ANSWER, "204": {"description": "torn down"},
                          "default": {"description": "an SSM error",
                                      "content": {"application/json": {"schema": _SSM_ERROR}}}},
        }}
    return paths


def _kaltura_path(backend: str, title: str) -> dict[str, Any]:
    return {"post": {
        "summary": f"{title}: one call or a multirequest (every answer HTTP 200)",
        "operationId": f"{backend}-call",
        "parameters": [{"name": name, "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z]+$"}}
                       for name in ("service", "action")],
        "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {"200": _JSON_ANSWER, "default": _JSON_ANSWER},
    }}


def _control_paths(prefix: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for name, op in CONTROL_OPERATIONS.items():
        item: dict[str, Any] = {}
        for method in op.methods:
            spec: dict[str, Any] = {"summary": op.summary, "operationId":
                                    f"control-{name}-{method.lower()}",
                                    "responses": {"200": _JSON_ANSWER, "default": {
                                        "description": "a refused call: {\"error\": ...}",
                                        "content": {"application/json": {"schema": {
                                            "type": "object",
                                            "properties": {"error": _TEXT}}}}}}}
            if method == "POST" and op.fields:
                spec["requestBody"] = {"content": {"application/json": {"schema": {
                    "type": "object", "properties": dict(op.fields)}}}}
            elif op.fields:
                spec["parameters"] = [{"name": field, "in": "query", "required": False,
                                       "schema": {"type": "string"}} for field in op.fields]
            item[method.lower()] = spec
        paths[f"{prefix}{name}"] = item
    return paths


def openapi_document(prefix: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the lab (control API under ``prefix``)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "player_sim lab", "version": version,
                 "description": "Simulated SSM, SSP license, Phoenix (OTT) and OVP backends "
                                "in their real wire formats (WIRE.md), and the lab's control "
                                "API."},
        "paths": {
            **_ssm_paths(),
            "/{tenant}/wvls/contentlicenseservice/v1/licenses": {"post": {
                "summary": "SSP license (nv-authorizations: content token, session token); "
                           "?renew=true: an enforced-mode renewal with the session token",
                "operationId": "license",
                "parameters": [{"name": "tenant", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}},
                               _TOKEN_HEADER,
                               {"name": "renew", "in": "query", "required": False,
                                "schema": {"enum": ["true"]}}],
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "properties": {"challenge": _TEXT}}}}},
                "responses": {"200": _JSON_ANSWER, "default": {
                    "description": "a denial", "content": {"application/json": {
                        "schema": _SSM_ERROR}}}},
            }},
            "/ott/api_v3/service/{service}/action/{action}": _kaltura_path(
                "ott", "Phoenix (OTT)"),
            "/ovp/api_v3/service/{service}/action/{action}": _kaltura_path("ovp", "OVP"),
            **_control_paths(prefix),
        },
    }
