"""The SSM wire dialect (WIRE.md "SSM"): requests in, answers out, as pure functions.

Paths are ``/<TENANT>/ssm/v1/sessions/<call>``; the token travels in the
``nv-authorizations`` header. A setup answer carries both ``heartBeat`` (as
documented) and ``heartbeat`` (as clients read it). Errors are
``{"errorCode": <int>, "message": "..."}``.

The table :data:`SSM_CALLS` is the dialect: method, path segment, which token
the header carries, and which body field is required.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

from .._messages import SsmAnswer
from ._common import WireFormatError, dump_json, load_json, load_json_object
from ._jwt import INVALID_AUTH_TOKEN

__all__ = ["BAD_REQUEST", "SSM_CALLS", "SsmCall", "SsmRequest", "parse_ssm_request",
           "read_ssm_answer", "ssm_answer_body", "ssm_call", "ssm_error_body",
           "ssm_kill_body"]

#: The token a call's ``nv-authorizations`` header carries.
TokenKind = Literal["content", "session", "operator"]

#: The code this lab answers a malformed SSM request with (the real one is not public).
BAD_REQUEST: Final = 1000


@attrs.frozen
class SsmCall:
    """One SSM call: its name, HTTP method, path segment, token and required body field."""

    name: str
    method: str
    segment: str
    token: TokenKind
    body_field: str | None = None


#: Every SSM call, by name (the names used in fault injection and the trace).
SSM_CALLS: Final[Mapping[str, SsmCall]] = {c.name: c for c in (
    SsmCall("setup", "POST", "setup", "content"),
    SsmCall("heartbeat", "POST", "heartbeat", "session"),
    SsmCall("renewal", "POST", "renewal-license-wv", "session", "challenge"),
    SsmCall("teardown", "POST", "teardown", "session"),
    SsmCall("kill-device", "PUT", "killDeviceSessions", "operator", "device"),
    SsmCall("kill-account", "PUT", "killAccountSessions", "operator", "account"),
)}
_BY_SEGMENT: Final = {c.segment: c for c in SSM_CALLS.values()}


@attrs.frozen
class SsmRequest:
    """A well-formed SSM request: the call, the header's token, the required field."""

    call: SsmCall
    token: str
    argument: str | None = None


def ssm_call(method: str, segment: str) -> SsmCall | None:
    """The call at ``/v1/sessions/<segment>`` with ``method``, or ``None`` (not an SSM path)."""
    call = _BY_SEGMENT.get(segment)
    return call if call is not None and call.method == method.upper() else None


def parse_ssm_request(call: SsmCall, headers: Mapping[str, str], body: bytes) -> SsmRequest:
    """Check a request to ``call``: the token header, then the body.

    ``headers`` has lower-case names. Raises :class:`WireFormatError`: 1003 (401)
    without a token, :data:`BAD_REQUEST` (400) for a malformed body.
    """
    token = headers.get("nv-authorizations", "").strip()
    if not token:
        raise WireFormatError(f"{call.name} needs the {call.token} token in the "
                              "nv-authorizations header", code=INVALID_AUTH_TOKEN,
                              http_status=401)
    try:
        data = load_json_object(body)
    except WireFormatError as err:
        raise WireFormatError(err.message, code=BAD_REQUEST) from None
    argument = None
    if call.body_field is not None:
        argument = data.get(call.body_field)
        if not isinstance(argument, str) or not argument:
            raise WireFormatError(f"{call.name} needs {{\"{call.body_field}\": \"...\"}} "
                                  "in its JSON body", code=BAD_REQUEST)
    return SsmRequest(call, token, argument)


def _period(value: float | None) -> int | float | None:
    return int(value) if value is not None and float(value).is_integer() else value


def ssm_error_body(code: int | None, message: str) -> bytes:
    """The error body of every SSM call."""
    return dump_json({"errorCode": code, "message": message})


def ssm_answer_body(call: SsmCall, answer: SsmAnswer, *, license: str | None = None
                    ) -> tuple[int, bytes]:
    """The HTTP status and body answering ``call`` with ``answer``.

    A failed answer (or an SRM-style 200 denial) gets the error body; a setup
    both heartbeat keys; a teardown 204 and no body; a renewal its ``license``.
    """
    if not answer.ok:
        return answer.http_status, ssm_error_body(answer.ssm_code, answer.message)
    if call.name == "teardown":
        return 204, b""
    body: dict[str, Any] = {}
    if call.name == "setup":
        period = _period(answer.heartbeat_period)
        body = {"heartBeat": period, "heartbeat": period}
    body["sessionToken"] = answer.token
    if call.name == "renewal":
        body["license"] = license
    return answer.http_status, dump_json(body)


def ssm_kill_body(killed: int) -> bytes:
    """The answer of ``killDeviceSessions`` / ``killAccountSessions``: how many were killed."""
    return dump_json(killed)


def read_ssm_answer(status: int, body: bytes) -> SsmAnswer:
    """What an SSM answer tells a client: the inverse of :func:`ssm_answer_body`.

    Reads ``heartbeat`` or ``heartBeat``; an ``errorCode`` in the body is an
    error whatever the status. Raises :class:`WireFormatError` for a body a
    client could not read.
    """
    data = load_json(body, empty={})
    if not isinstance(data, dict):
        raise WireFormatError(f"an SSM answer is a JSON object, not {type(data).__name__}")
    code = data.get("errorCode")
    if code is not None:
        if isinstance(code, bool) or not isinstance(code, int):
            raise WireFormatError(f"errorCode must be a whole number, not {code!r}")
        return SsmAnswer(status, code, str(data.get("message", "")))
    if status >= 400:
        return SsmAnswer(status, None, str(data.get("message", "")))
    period = data.get("heartbeat", data.get("heartBeat"))
    token = data.get("sessionToken")
    return SsmAnswer(status, None, "", token if isinstance(token, str) else None,
                     float(period) if isinstance(period, int | float) else None)
