"""The live proxy's fault file: which requests to fail, delay, lose or rewrite, and how.

Pure: :func:`load_fault_file` reads the YAML, :meth:`FaultPlan.decide` says what to
do with one request (counting calls per endpoint), and :func:`error_answer` writes a
forced error in the backend's own format (SSM / license: ``{"errorCode": ...}``;
Phoenix: HTTP 200 with the error in the result's place; OVP: the bare error
object). The mitmproxy addon (``mitm_addon.py``) only applies the decisions.

Endpoints are ``player-sim ctl fail-next``'s names: ``setup``, ``heartbeat``,
``renewal``, ``teardown``, ``license``, and ``ott:<service/action>`` /
``ovp:<service/action>`` (a multirequest counts as each of its calls; a Kaltura path
starting ``/ovp/`` is OVP's, any other ``api_v3`` path Phoenix's)::

    faults:
      - {endpoint: heartbeat, nth: 3, code: 1006, http_status: 401}
      - {endpoint: license, delay: 3s}
      - {endpoint: teardown, lose_answer: true}
      - {endpoint: setup, heartbeat_period: 5}
      - {endpoint: "ott:ottUser/refreshSession", code: 500016, message: KS expired}
    outages:
      - {link: ssm, start: 60s, seconds: 30s}   # from the proxy's start
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import yaml

from .._durations import parse_duration
from .._errors import PlayerSimError
from ..traffic import (
    SSM_CALLS,
    WireFormatError,
    ovp_body,
    ovp_error,
    parse_kaltura_path,
    parse_kaltura_request,
    phoenix_body,
    phoenix_error,
    ssm_call,
    ssm_error_body,
)
from ._wire import _KALTURA, _LICENSE, _SSM

__all__ = ["Decision", "FaultFileError", "FaultPlan", "ProxyFault", "ProxyOutage",
           "error_answer", "load_fault_file"]

_LINKS: Final = ("ssm", "license", "ott", "ovp")
_KEYS: Final = frozenset({"endpoint", "nth", "count", "code", "http_status", "message",
                          "delay", "lose_answer", "heartbeat_period"})
#: What SSM answers while it is down (as the served lab does).
SSM_UNAVAILABLE: Final = 4001


class FaultFileError(PlayerSimError):
    """A fault file that can't be used: the message names the file and the entry."""


@attrs.frozen
class ProxyFault:
    """One planned fault: calls ``nth`` .. ``nth + count - 1`` of ``endpoint`` get it."""

    endpoint: str
    nth: int = 1
    count: int = 1
    code: int | str | None = None
    http_status: int | None = None
    message: str = ""
    delay: float = 0.0
    lose_answer: bool = False
    heartbeat_period: float | None = None

    @property
    def forces_error(self) -> bool:
        return self.code is not None or self.http_status is not None


@attrs.frozen
class ProxyOutage:
    """``link`` is down from ``start`` for ``seconds`` (seconds since the proxy started)."""

    link: str
    start: float
    seconds: float


@attrs.frozen
class Decision:
    """What to do with one request: its link and endpoints, and the fault or outage."""

    link: str
    endpoints: tuple[str, ...]
    fault: ProxyFault | None = None
    outage: bool = False


def _endpoints(method: str, path: str, body: bytes) -> tuple[str, tuple[str, ...]] | None:
    ssm = _SSM.search(path)
    if ssm is not None:
        call = ssm_call(method, ssm.group(1))
        return "ssm", (call.name,) if call is not None else ()
    if _LICENSE.search(path):
        return "license", ("license",)
    kaltura = _KALTURA.search(path)
    if kaltura is None:
        return None
    link = "ovp" if path.startswith("/ovp/") else "ott"
    where = parse_kaltura_path(kaltura.group(1))
    if where is None:
        return link, ()
    try:
        calls = parse_kaltura_request(where[0], where[1], body).calls
    except WireFormatError:
        return link, ()
    return link, tuple(f"{link}:{c.name}" for c in calls)


class FaultPlan:
    """The faults and outages of a fault file, and the calls counted so far."""

    def __init__(self, faults: Sequence[ProxyFault] = (),
                 outages: Sequence[ProxyOutage] = ()) -> None:
        self.faults = tuple(faults)
        self.outages = tuple(outages)
        self.calls: dict[str, int] = {}

    def decide(self, method: str, path: str, body: bytes, now: float) -> Decision | None:
        """What to do with a request ``now`` seconds after the start (``None``: it is not
        a backend's, leave it alone). Counts the request's calls."""
        found = _endpoints(method, path, body)
        if found is None:
            return None
        link, endpoints = found
        hit: ProxyFault | None = None
        for endpoint in endpoints:
            number = self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
            for fault in self.faults:
                if hit is None and fault.endpoint == endpoint \
                        and fault.nth <= number < fault.nth + fault.count:
                    hit = fault
        down = any(o.link == link and o.start <= now < o.start + o.seconds
                   for o in self.outages)
        return Decision(link, endpoints, hit, down)


def error_answer(decision: Decision) -> tuple[int, bytes] | None:
    """The forced answer for ``decision`` in its backend's format (``None``: forward it;
    an OTT / OVP outage gets no answer at all: the addon drops the connection)."""
    fault = decision.fault
    if decision.outage:
        if decision.link in ("ssm", "license"):
            message = "SSM not available" if decision.link == "ssm" \
                else "license server not available"
            return 503, ssm_error_body(SSM_UNAVAILABLE, message)
        return None
    if fault is None or not fault.forces_error:
        return None
    message = fault.message or "forced by player_sim"
    if decision.link in ("ssm", "license"):
        code = fault.code if isinstance(fault.code, int) else None
        return fault.http_status or 400, ssm_error_body(code, message)
    calls = max(len(decision.endpoints), 1)
    multi = calls > 1
    if decision.link == "ott":
        error = phoenix_error(fault.code, message)
        return fault.http_status or 200, phoenix_body([error] * calls, multi=multi)
    return fault.http_status or 200, ovp_body([ovp_error(fault.code, message)] * calls,
                                              multi=multi)


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise FaultFileError(f"{where}: expected seconds (a number or e.g. 3s), not {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise FaultFileError(f"{where}: must not be negative")
        return float(value)
    try:
        return parse_duration(str(value))
    except ValueError as err:
        raise FaultFileError(f"{where}: {err}") from None


def _fault(item: Any, where: str) -> ProxyFault:
    if not isinstance(item, Mapping):
        raise FaultFileError(f"{where}: a fault is a mapping like {{endpoint: heartbeat, "
                             "code: 1006}}")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise FaultFileError(f"{where}: no key {unknown[0]!r}; keys: {', '.join(sorted(_KEYS))}")
    endpoint = item.get("endpoint")
    known = (*SSM_CALLS, "license")
    if not isinstance(endpoint, str) or not (
            endpoint in known or endpoint.startswith(("ott:", "ovp:"))):
        raise FaultFileError(f"{where}: endpoint must be one of {', '.join(known)} or "
                             f"ott:<service/action> / ovp:<service/action>, not {endpoint!r}")
    counts = {}
    for key in ("nth", "count"):
        value = item.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise FaultFileError(f"{where}: {key} must be a whole number from 1, not {value!r}")
        counts[key] = value
    status = item.get("http_status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                               or not 100 <= status <= 599):
        raise FaultFileError(f"{where}: http_status must be an HTTP status (100-599)")
    code = item.get("code")
    if code is not None and (isinstance(code, bool) or not isinstance(code, int | str)):
        raise FaultFileError(f"{where}: code must be a number or a string code")
    period = item.get("heartbeat_period")
    return ProxyFault(endpoint, counts["nth"], counts["count"], code, status,
                      str(item.get("message", "")),
                      _seconds(item.get("delay", 0), f"{where}: delay"),
                      bool(item.get("lose_answer", False)),
                      None if period is None else _seconds(period, f"{where}: heartbeat_period"))


def _outage(item: Any, where: str) -> ProxyOutage:
    if not isinstance(item, Mapping) or item.get("link") not in _LINKS:
        raise FaultFileError(f"{where}: an outage is {{link: {'|'.join(_LINKS)}, start: 60s, "
                             "seconds: 30s}}")
    return ProxyOutage(str(item["link"]), _seconds(item.get("start", 0), f"{where}: start"),
                       _seconds(item.get("seconds"), f"{where}: seconds"))


def load_fault_file(text: str, source: str = "<faults>") -> FaultPlan:
    """The plan in a fault file's YAML text; :class:`FaultFileError` names the entry."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        raise FaultFileError(f"{where}: not YAML ({getattr(err, 'problem', err)})") from None
    if data is None:
        return FaultPlan()
    if not isinstance(data, Mapping) or set(data) - {"faults", "outages"}:
        raise FaultFileError(f"{source}: a fault file is a mapping with faults: and outages:")
    faults, outages = data.get("faults") or [], data.get("outages") or []
    if not isinstance(faults, list) or not isinstance(outages, list):
        raise FaultFileError(f"{source}: faults: and outages: are lists")
    return FaultPlan([_fault(f, f"{source}: faults[{n}]") for n, f in enumerate(faults)],
                     [_outage(o, f"{source}: outages[{n}]") for n, o in enumerate(outages)])
