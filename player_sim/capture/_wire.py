"""Captured exchanges into wire-vantage trace records, through the shared wire dialects.

:func:`capture_trace` reads each :class:`~player_sim.traffic.CapturedEntry` the
way :mod:`player_sim.serve` reads a request (the same parsers of
:mod:`player_sim.traffic`) and writes what crossed the wire: one
``http_exchange`` record per SSM, license or Kaltura exchange and one
``api_call`` record per logical Kaltura call (a multirequest's
``{N:result:...}`` references resolved from the answer). Other traffic (media
segments, analytics, ...) is ignored and counted; redirects (3xx) are counted,
the request they lead to is read.

Devices are told apart, in this order, by a user-given request header
(``device_header``), the content token's ``device.deviceId`` claim (SSM setup,
license), the session token a setup or heartbeat of that device handed out, the
``udid`` parameter, or the KS a call of that device handed out. An exchange
nothing ties to a device belongs to ``(unknown)``.

Record times are seconds since the first entry started; each record keeps its
entry's index in ``entry``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from ..trace import Trace, TraceRecord, Vantage
from ..traffic import (
    ApiCall,
    CapturedEntry,
    UnresolvedReference,
    WireFormatError,
    load_json,
    parse_kaltura_path,
    parse_kaltura_request,
    read_content_token,
    read_phoenix_results,
    read_ssm_answer,
    resolve_references,
    ssm_call,
)

__all__ = ["CAPTURE_VANTAGES", "UNKNOWN_DEVICE", "Capture", "capture_trace"]

#: What a traffic capture is seen from.
CAPTURE_VANTAGES: Final = frozenset({Vantage.WIRE})
#: The device of an exchange nothing in it identifies.
UNKNOWN_DEVICE: Final = "(unknown)"

_SSM: Final = re.compile(r"/ssm(?:/v1)?/sessions/([^/]+)/?$")
_LICENSE: Final = re.compile(r"/(?:wvls|prls|fpls)/contentlicenseservice/v1/licenses/?$")
_KALTURA: Final = re.compile(r"/api_v3/(.*)$")
#: Where a login-like call's result holds the KS it hands out.
_KS_OUT: Final[Mapping[str, tuple[str, ...]]] = {
    "ottUser/login": ("loginSession", "ks"), "ottUser/anonymousLogin": ("ks",),
    "ottUser/refreshSession": ("ks",), "session/startWidgetSession": ("ks",),
    "user/loginByLoginId": (),
}


@attrs.frozen
class Capture:
    """A capture read as a trace: the records, and what was left out.

    ``entries`` are the HAR entries judged (sorted by time); ``origin`` is the
    Unix time of record time 0; ``ignored`` counts entries of other traffic,
    ``redirects`` 3xx answers; ``devices`` lists the devices told apart.
    """

    trace: Trace
    entries: Sequence[CapturedEntry]
    origin: float
    ignored: int
    redirects: int
    devices: tuple[str, ...]

    def entry_of(self, record: TraceRecord) -> CapturedEntry | None:
        """The HAR entry a record was read from."""
        index = record.data.get("entry")
        return self._by_index.get(index) if isinstance(index, int) else None

    @property
    def _by_index(self) -> Mapping[int, CapturedEntry]:
        return {e.index: e for e in self.entries}


def _at(value: Any, path: Sequence[str]) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


class _Reader:
    def __init__(self, device_header: str | None) -> None:
        self.device_header = device_header.lower() if device_header else None
        self.records: list[TraceRecord] = []
        self.by_token: dict[str, str] = {}
        self.by_ks: dict[str, str] = {}
        self.devices: dict[str, None] = {}
        self.origin = 0.0

    def _device(self, entry: CapturedEntry, *hints: str | None) -> str:
        if self.device_header is not None:
            named = entry.request_headers.get(self.device_header, "").strip()
            if named:
                return named
        for hint in hints:
            if hint:
                return hint
        return UNKNOWN_DEVICE

    def _record(self, entry: CapturedEntry, device: str, kind: str, data: dict[str, Any]
                ) -> None:
        self.devices.setdefault(device, None)
        data["entry"] = entry.index
        self.records.append(TraceRecord(round(entry.started - self.origin, 6), device, kind,
                                        data=data))

    def read(self, entry: CapturedEntry) -> str:
        """Record ``entry``; say what it was: ``judged``, ``redirect`` or ``ignored``."""
        path = entry.path
        ssm = _SSM.search(path)
        kaltura = _KALTURA.search(path)
        if ssm is None and kaltura is None and _LICENSE.search(path) is None:
            return "ignored"
        if 300 <= entry.status < 400:
            return "redirect"
        base: dict[str, Any] = {"request_id": entry.index + 1, "method": entry.method,
                                "path": path, "http_status": entry.status,
                                "seconds": round(entry.seconds, 6)}
        if ssm is not None:
            self._ssm(entry, base, ssm.group(1))
        elif kaltura is not None:
            self._kaltura(entry, base, kaltura.group(1))
        else:
            self._license(entry, base)
        return "judged"

    # --- SSM and the license --------------------------------------------------------------

    def _answer(self, entry: CapturedEntry) -> tuple[int | None, str, str | None, float | None]:
        try:
            answer = read_ssm_answer(entry.status, entry.response_body)
        except WireFormatError as err:
            return None, f"unreadable answer: {err.message}", None, None
        return answer.ssm_code, answer.message, answer.token, answer.heartbeat_period

    def _ssm(self, entry: CapturedEntry, data: dict[str, Any], segment: str) -> None:
        call = ssm_call(entry.method, segment)
        token = entry.request_headers.get("nv-authorizations", "").strip()
        code, message, token_out, period = self._answer(entry)
        ok = code is None and 200 <= entry.status < 300
        data.update(service="ssm", call=call.name if call is not None else "", code=code,
                    message=message)
        hint: str | None = None
        if call is not None and call.token == "content":
            identity = _identity(token)
            if identity is not None:
                hint, data["account"] = identity[0], identity[1]
                if identity[2] is not None:
                    data["stream"] = identity[2]
        elif call is not None and call.token == "session" and token:
            data["token"] = token
            hint = self.by_token.get(token)
        device = self._device(entry, hint)
        if ok and token_out is not None and call is not None and call.token != "operator":
            data["token_out"] = token_out
            self.by_token[token_out] = device
            if call.name == "setup":
                data["heartbeat_period"] = period
        self._record(entry, device, "http_exchange", data)

    def _license(self, entry: CapturedEntry, data: dict[str, Any]) -> None:
        content, comma, session = (p.strip() for p in entry.request_headers.get(
            "nv-authorizations", "").partition(","))
        code, message, _, _ = self._answer(entry)
        data.update(service="license", call="license", code=code, message=message)
        identity = _identity(content)
        hint = identity[0] if identity is not None else None
        if identity is not None:
            data["account"] = identity[1]
            if identity[2] is not None:
                data["stream"] = identity[2]
        if comma:  # the SSM form "<content token>,<session token>", the token maybe empty
            data["token"] = session
            hint = hint or self.by_token.get(session)
        self._record(entry, self._device(entry, hint), "http_exchange", data)

    # --- Phoenix and OVP -----------------------------------------------------------------------

    def _kaltura(self, entry: CapturedEntry, data: dict[str, Any], tail: str) -> None:
        try:
            answer = load_json(entry.response_body)
        except WireFormatError:
            answer = None
        path = entry.path
        if path.startswith("/ott/") or (isinstance(answer, dict) and (
                "executionTime" in answer or "result" in answer)):
            backend = "ott"
        else:
            backend = "ovp"
        where = parse_kaltura_path(tail)
        call_name = "" if where is None else (
            "multirequest" if where[0] == "multirequest" else f"{where[0]}/{where[1]}")
        data.update(service=backend, call=call_name, code=None, message="")
        calls: tuple[ApiCall, ...] = ()
        if where is not None:
            try:
                calls = parse_kaltura_request(where[0], where[1], entry.request_body).calls
            except WireFormatError as err:
                data["message"] = f"unreadable request: {err.message}"
        results = _results(backend, answer, len(calls))
        hint = None
        for call in calls:
            udid = call.params.get("udid")
            ks = call.params.get("ks")
            if isinstance(udid, str) and udid:
                hint = udid
                break
            if isinstance(ks, str) and ks in self.by_ks:
                hint = self.by_ks[ks]
                break
        device = self._device(entry, hint)
        records: list[dict[str, Any]] = []
        failed: set[int] = set()
        for number, (call, result) in enumerate(zip(calls, results, strict=True), start=1):
            error = _error(result)
            item: dict[str, Any] = {"request_id": entry.index + 1, "backend": backend,
                                    "call": call.name, "index": number,
                                    "ok": error is None and entry.status == 200,
                                    "code": None if error is None else error[0],
                                    "message": "" if error is None else error[1]}
            if error is not None:
                failed.add(number)
                if data["code"] is None:
                    data["code"], data["message"] = error
            try:
                params = resolve_references(call.params, results[:number - 1],
                                            frozenset(failed))
            except UnresolvedReference:
                params = dict(call.params)
            ks = params.get("ks")
            if isinstance(ks, str) and ks:
                item["ks"] = ks
            if call.name in _KS_OUT and item["ok"]:
                ks_out = _at(result, _KS_OUT[call.name])
                if isinstance(ks_out, str) and ks_out:
                    item["ks_out"] = ks_out
                    self.by_ks[ks_out] = device
            records.append(item)
        self._record(entry, device, "http_exchange", data)
        for item in records:
            self._record(entry, device, "api_call", item)


def _identity(token: str) -> tuple[str, str, str | None] | None:
    if not token:
        return None
    try:
        claims = read_content_token(token)
    except WireFormatError:
        return None
    return claims.device, claims.account, claims.content


def _results(backend: str, answer: Any, count: int) -> list[Any]:
    """One result per call: what the answer holds, ``None`` where it holds nothing."""
    if count == 0:
        return []
    if backend == "ott":
        items = read_phoenix_results(answer)
    else:
        items = answer if isinstance(answer, list) and count > 1 else [answer]
    if count > 1 and len(items) == 1 and _error(items[0]) is not None:
        items = items * count  # a whole-request error stands for every call
    return (list(items) + [None] * count)[:count]


def _error(result: Any) -> tuple[int | str | None, str] | None:
    """The error code and message of a call's result, or ``None`` for a success."""
    if not isinstance(result, dict):
        return None
    inner = result.get("error")
    found: dict[str, Any] = inner if isinstance(inner, dict) else result
    if found.get("objectType") == "KalturaAPIException" or found is not result:
        code = found.get("code")
        return (code if isinstance(code, int | str) and not isinstance(code, bool) else None,
                str(found.get("message", "")))
    return None


def capture_trace(entries: Iterable[CapturedEntry], *, device_header: str | None = None
                  ) -> Capture:
    """Read captured exchanges (in time order) as a wire-vantage trace."""
    ordered = list(entries)
    reader = _Reader(device_header)
    reader.origin = ordered[0].started if ordered else 0.0
    judged: list[CapturedEntry] = []
    ignored = redirects = 0
    for entry in ordered:
        fate = reader.read(entry)
        if fate == "judged":
            judged.append(entry)
        elif fate == "redirect":
            redirects += 1
        else:
            ignored += 1
    return Capture(Trace(reader.records, vantages=CAPTURE_VANTAGES), tuple(judged),
                   reader.origin, ignored, redirects, tuple(reader.devices))
