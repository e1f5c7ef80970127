"""The capture a simulated run would have left: its SSM and license traffic as HAR 1.2.

:func:`har_of_trace` pairs each request a device sent with its answer
(``ssm_setup_sent`` / ``ssm_setup_answered``, heartbeats, teardowns, license
requests, by device and ``request_id``) and writes them as HAR entries in the real
wire formats (:mod:`player_sim.traffic`): the content token minted from the
device's account and stream, the session token in ``nv-authorizations``, the
answers' bodies as the backends write them. A request whose answer never arrived
(lost, the app killed) is an entry with status 0, as browsers export a failed
request. So a bundled scenario, with or without a mutant, becomes a capture the HAR
check judges like a real one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from .._messages import SsmAnswer
from ..trace import TraceRecord
from ..traffic import (
    SSM_CALLS,
    Exchange,
    har_entry,
    har_log,
    license_body,
    license_error_body,
    make_license,
    mint_content_token,
    ssm_answer_body,
)

__all__ = ["har_of_trace"]

_BASE: Final = "https://ssm.example/tenant"
_PAIRS: Final[Mapping[str, tuple[str, str]]] = {
    "ssm_setup_sent": ("ssm_setup_answered", "setup"),
    "heartbeat_sent": ("heartbeat_answered", "heartbeat"),
    "ssm_teardown_sent": ("ssm_teardown_answered", "teardown"),
    "license_request_sent": ("license_answered", "license"),
}
_ANSWERS: Final = frozenset(answer for answer, _ in _PAIRS.values())


def _request(call: str, data: Mapping[str, Any], account: str, device: str
             ) -> tuple[str, list[tuple[str, str]], str]:
    stream = str(data.get("stream") or "content")
    content = mint_content_token(account, device, content=stream)
    if call == "license":
        token = data.get("ssm_token")
        auth = f"{content},{token}" if isinstance(token, str) else content
        return (f"{_BASE}/wvls/contentlicenseservice/v1/licenses",
                [("nv-authorizations", auth), ("content-type", "application/json")],
                '{"challenge":"Q0hBTExFTkdF"}')
    auth = content if call == "setup" else str(data.get("token") or "")
    return (f"{_BASE}/ssm/v1/sessions/{SSM_CALLS[call].segment}",
            [("nv-authorizations", auth), ("content-type", "application/json")], "{}")


def _answer(call: str, data: Mapping[str, Any], stream: str) -> tuple[int, str]:
    if call == "license":
        if data.get("granted"):
            return 200, license_body(make_license(stream, b"CHALLENGE")).decode()
        code = data.get("code")
        return int(data.get("http_status") or 403), license_error_body(
            code if isinstance(code, int) else None, str(data.get("message", ""))).decode()
    period = data.get("heartbeat_period")
    answer = SsmAnswer(int(data.get("http_status") or 0), data.get("ssm_code"),
                       str(data.get("message", "")), data.get("token"),
                       float(period) if isinstance(period, int | float) else None)
    status, body = ssm_answer_body(SSM_CALLS[call], answer)
    return status, body.decode()


def har_of_trace(records: Iterable[TraceRecord], *, epoch: float = 1_790_000_000.0
                 ) -> dict[str, Any]:
    """The HAR document of the SSM and license traffic in a simulated trace.

    ``epoch`` is the Unix time of virtual time 0.
    """
    accounts: dict[str, str] = {}
    open_requests: dict[tuple[str, str, Any], tuple[TraceRecord, str]] = {}
    exchanges: list[tuple[float, int, Exchange]] = []

    def add(sent: TraceRecord, call: str, answer: TraceRecord | None) -> None:
        device = sent.device or "device"
        url, headers, body = _request(call, sent.data, accounts.get(device, "account"),
                                      device)
        if answer is None:
            status, text, seconds = 0, "", 0.0
        else:
            status, text = _answer(call, answer.data, str(sent.data.get("stream") or
                                                         "content"))
            seconds = max(0.0, answer.t - sent.t)
        response_headers = [("content-type", "application/json")] if text else []
        exchanges.append((sent.t, len(exchanges), Exchange(
            epoch + sent.t, seconds, "POST", url, headers, body, status, response_headers,
            text)))

    for record in records:
        device = record.device or ""
        if record.kind == "device_added":
            accounts[device] = str(record.data.get("account"))
        elif record.kind in _PAIRS:
            answer_kind, call = _PAIRS[record.kind]
            open_requests[(device, answer_kind, record.data.get("request_id"))] = (record, call)
        elif record.kind in _ANSWERS:
            found = open_requests.pop((device, record.kind, record.data.get("request_id")),
                                      None)
            if found is not None:
                add(found[0], found[1], record)
    for sent, call in open_requests.values():
        add(sent, call, None)
    exchanges.sort(key=lambda item: (item[0], item[1]))
    document = har_log((har_entry(e) for _, _, e in exchanges), version="simulated")
    for entry in document["log"]["entries"]:
        if entry["response"]["status"] == 0:
            entry["response"]["statusText"] = ""
            entry["time"] = -1
    return document
