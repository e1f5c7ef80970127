"""The served lab: one :class:`~player_sim.World` with no devices, answering HTTP.

:class:`Lab` is the synchronous core of ``player-sim serve``: it takes a
request as bytes (method, path, lower-cased headers, body) and returns an
:class:`Answer`, speaking each backend's wire dialect (:mod:`player_sim.traffic`)
over the world's own backend objects (``world.ssm``, ``world.license``,
``world.ott``, ``world.ovp``): the same code the simulator runs. It does no I/O;
the ASGI shell (:mod:`._app`) feeds it and the runner (:mod:`._run`) writes
what it recorded.

Rules:

* the world runs on the wall clock (``clock``) plus an offset that only grows
  (:meth:`Lab.advance`); before each request the world is brought up to then,
  so sessions and KSs expire on time;
* every exchange is one ``http_exchange`` wire record (and, for Kaltura, one
  ``api_call`` per logical call) next to the server records the backends
  write, and one HAR entry; a live :class:`~player_sim.rules.TraceChecker`
  judges the rules the server and wire vantages can show;
* identity comes from what real clients send: the content token's claims for
  SSM setup and the license, the session token afterwards, the ``udid`` for
  Phoenix; an unknown identity is refused with the backend's own error;
* malformed input gets the backend's own error shape, never an exception;
* over a shared world (``world=``, the reference device over real sockets:
  :func:`~player_sim.serve.served_devices`) the lab serves that world's own
  backends on its virtual clock, which its devices drive.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final, Literal
from urllib.parse import parse_qs, urlsplit

import attrs

from .._errors import ConfigError
from .._messages import ContentToken as ClaimedToken
from .._messages import SsmAnswer
from ..backends import (
    DEFAULT_HTTP_STATUS,
    ApiAnswer,
    Fault,
    LicenseServer,
    OttBackend,
    OttErrorCode,
    OvpBackend,
    OvpFault,
    SsmErrorCode,
    SsmServer,
)
from ..rules import CheckConfig, TraceChecker
from ..scenario import LabWorld
from ..trace import Trace, TraceRecord, Vantage
from ..traffic import (
    BAD_REQUEST,
    INVALID_AUTH_TOKEN,
    SSM_CALLS,
    ApiCall,
    ContentToken,
    Exchange,
    SsmCall,
    UnresolvedReference,
    WireFormatError,
    dump_json,
    har_entry,
    har_log,
    license_body,
    license_error_body,
    load_json,
    make_license,
    ovp_body,
    ovp_error,
    ovp_object,
    parse_kaltura_path,
    parse_kaltura_request,
    parse_license_request,
    parse_ssm_request,
    phoenix_body,
    phoenix_error,
    phoenix_object,
    read_content_token,
    resolve_references,
    ssm_answer_body,
    ssm_call,
    ssm_error_body,
    ssm_kill_body,
)
from ..world import World

__all__ = [
    "CONTROL_PREFIX",
    "FAULT_ENDPOINTS",
    "LINKS",
    "MISSING_PARAMETER",
    "SERVED_VANTAGES",
    "UNKNOWN_ACTION",
    "Answer",
    "Lab",
    "har_document",
]

#: Where the control API lives; no backend path starts so.
CONTROL_PREFIX: Final = "/_player_sim/"
#: What a served world's trace is seen from (the harness records its own plans).
SERVED_VANTAGES: Final = frozenset({Vantage.SERVER, Vantage.WIRE, Vantage.HARNESS})
#: The backends an outage can take down.
LINKS: Final = ("ssm", "license", "ott", "ovp")
#: Kaltura error codes this lab answers for a call it can't run (the real ones are not
#: public: WIRE.md). A missing or mistyped parameter, an action the lab does not serve.
MISSING_PARAMETER: Final = "MISSING_MANDATORY_PARAMETER"
UNKNOWN_ACTION: Final = "SERVICE_ACTION_NOT_SERVED"

_SSM_PATH: Final = re.compile(r"^/([^/]+)/ssm(?:/v1)?/sessions/([^/]+)/?$")
_LICENSE_PATH: Final = re.compile(r"^/([^/]+)/wvls/contentlicenseservice/v1/licenses/?$")
_KALTURA_PATH: Final = re.compile(r"^/(ott|ovp)/api_v3/(.*)$")
_UNKNOWN_DEVICE: Final = "(unknown)"
#: A forced error's message when none is given: the code's name.
_DEFAULT_MESSAGES: Final[Mapping[int | str, str]] = {
    **{int(c): c.name for c in SsmErrorCode}, **{int(c): c.name for c in OttErrorCode}}
_ZOMBIE_SLACK: Final = 5.0
_BROKEN_MESSAGES: Final[Mapping[str, str]] = {
    "malformed": "malformed answer: the body is cut in half",
    "lost": "response lost: the backend acts, no answer leaves",
    "reset": "connection reset before the backend sees the call",
}
#: The renewal endpoints as the trace names them (``RENEWAL_ENDPOINTS``' values).
_WV_RENEWAL: Final = "ssm:renewal-license-wv"
_LICENSE_RENEWAL: Final = "license:?renew=true"


@attrs.frozen
class Answer:
    """An HTTP answer: status, body bytes, content type (``None``: no body)."""

    status: int
    body: bytes
    content_type: str | None = "application/json"
    #: Seconds to hold the answer back (a planned latency).
    delay: float = 0.0
    #: A planned fault cuts the connection instead of answering: ``"lost"`` (the backend
    #: acted, the answer never leaves) or ``"reset"`` (the backend never saw the call).
    cut: Literal["lost", "reset"] | None = None


@attrs.frozen
class _Target:
    """Where a fault endpoint's faults go: the service, the served call, the backend's
    endpoint that takes the fault."""

    service: str
    call: str
    endpoint: str


def _fault_endpoints() -> dict[str, _Target]:
    from ..backends._ott import ENDPOINTS as OTT
    from ..backends._ovp import ENDPOINTS as OVP

    table = {"setup": _Target("ssm", "setup", "setup"),
             "heartbeat": _Target("ssm", "heartbeat", "heartbeat"),
             "renewal": _Target("ssm", "renewal", "heartbeat"),
             "teardown": _Target("ssm", "teardown", "teardown"),
             "license": _Target("license", "license", "license")}
    table.update({f"ott:{e}": _Target("ott", e, e) for e in OTT})
    table.update({f"ovp:{e}": _Target("ovp", e, e) for e in OVP})
    return table


#: Every endpoint ``fail_next`` accepts: the SSM calls, ``license``, and the Kaltura
#: calls as ``ott:<service/action>`` / ``ovp:<service/action>``.
FAULT_ENDPOINTS: Final[Mapping[str, _Target]] = _fault_endpoints()


#: What a planned fault does to an answer other than forcing an error: cut its body in
#: half, lose it after the backend acted, or reset the connection before the backend acts.
Broken = Literal["malformed", "lost", "reset"]


@attrs.define
class _Planned:
    target: _Target
    device: str | None
    fault: Fault | None  # None: a broken answer (``broken``)
    remaining: int
    broken: Broken = "malformed"


class _ConnectionReset(Exception):
    """A planned reset met its call before the backend acted (see ``Lab._arm``)."""

    def __init__(self, target: _Target, device: str | None) -> None:
        super().__init__(target.call)
        self.target = target
        self.device = device


class _BadParameter(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _param(params: Mapping[str, Any], name: str, kind: Any, *, required: bool = True) -> Any:
    value = params.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, kind) or value == "":
        raise _BadParameter(f"{name} must be {'a whole number' if kind is int else 'text'}"
                            f"{'' if required else ' or absent'}, not {value!r}")
    return value


def _redact(value: Any) -> Any:
    """``value`` with every ``password`` replaced (for the HAR and the trace)."""
    if isinstance(value, dict):
        return {k: "***" if k == "password" else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


class Lab:
    """One served world: its backends over HTTP, its control operations, its records.

    ``lab`` is the world configuration (a lab file); ``secret`` makes content
    tokens need an HS256 signature with it; ``control_token`` guards the
    operator calls (``killDeviceSessions``, ``killAccountSessions``);
    ``clock`` (monotonic seconds) and ``wall`` (Unix seconds) are the time
    sources, replaceable in tests.

    ``world``: serve this world's backends instead of a world of its own, on its
    virtual clock (its devices drive the time; :meth:`reset` is refused). A setup's
    content-token limit then applies to that setup, as in the simulator.
    ``trust_forwarded_for``: take the client IP (the SSM server's per-IP limits) from
    ``X-Forwarded-For`` (absent: no IP) instead of the socket's peer.
    """

    def __init__(self, lab: LabWorld, *, secret: str | None = None,
                 control_token: str | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 world: World | None = None, trust_forwarded_for: bool = False) -> None:
        self.lab = lab
        self.secret = secret
        self.control_token = control_token
        self._shared = world
        self._clock = clock if world is None else (lambda: world.now)
        self._wall = wall
        self.trust_forwarded_for = trust_forwarded_for
        self.reset()

    # --- lifecycle ------------------------------------------------------------------

    def reset(self) -> None:
        """Start again from an empty world at time 0: sessions, KSs, faults, outages,
        records and verdict are all dropped."""
        if self._shared is not None and hasattr(self, "world"):
            raise ConfigError("a lab serving a shared world can't reset it: its devices "
                              "own it")
        self.world = self._shared if self._shared is not None else \
            World(self.lab.world, seed=self.lab.seed)
        #: The backends this lab serves (held here: a shared world's devices may reach
        #: them through :func:`~player_sim.serve.served_devices`' HTTP stand-ins).
        self.ssm: SsmServer = self.world.ssm
        self.license: LicenseServer = self.world.license
        self._start = self._clock()
        self._epoch0 = self._wall()
        self._offset = 0.0
        self._limits: dict[str, int] = dict(self.lab.world.ssm.account_limits)
        base = CheckConfig.for_world(self.world)
        self.check_config = attrs.evolve(base, account_limits=self._limits)
        self.checker = TraceChecker(self.check_config, vantages=SERVED_VANTAGES)
        #: Every exchange since the reset, for the HAR (built when asked).
        self.exchanges: list[Exchange] = []
        self._planned: list[_Planned] = []
        self._outages: dict[str, float] = {}
        self._latencies: dict[str, tuple[float, float]] = {}  # link -> (until, extra)
        self._broken: Broken | None = None  # what a planned fault does to this answer
        self._device_of: dict[str, str] = {}  # every session token issued -> its device
        self._requests = 0

    @property
    def trace(self) -> Trace:
        """The records so far, seen from the server, the wire and the harness."""
        return Trace(self.world.trace, vantages=SERVED_VANTAGES)

    def now(self) -> float:
        """The served world's time: wall-clock seconds since the start, plus the jumps."""
        return self._clock() - self._start + self._offset

    def sync(self) -> None:
        """Bring the world up to :meth:`now` (expiries fire) and judge the new records."""
        target = self.now()
        if target > self.world.now:
            self.world.run_until(target)
        self.checker.catch_up(self.world.trace)

    def epoch(self, t: float) -> int:
        """Unix time of the world's time ``t`` (what ``expiry`` fields carry)."""
        return int(self._epoch0 + t)

    # --- the control operations -------------------------------------------------------

    def fail_next(self, endpoint: str, *, device: str | None = None, count: int = 1,
                  code: int | str | None = None, http_status: int | None = None,
                  message: str = "", malformed: bool = False, lost: bool = False,
                  reset: bool = False) -> None:
        """Answer the next ``count`` calls of ``endpoint`` (of ``device`` only, if given)
        with this error. ``endpoint`` is one of :data:`FAULT_ENDPOINTS`.

        Instead of an error (at most one of them):
        ``malformed``: the backend handles the calls as usual (a heartbeat rotates the
        token), but their answers are cut in half, so the device can't read them;
        ``lost``: the backend handles them, but no answer ever leaves (the connection is
        held until the device gives up, then closed): the response is lost;
        ``reset``: the connection is reset before the backend sees the call. In a Kaltura
        multirequest the calls before the broken one have acted.
        """
        flags: tuple[tuple[Broken, bool], ...] = (("malformed", malformed), ("lost", lost),
                                                  ("reset", reset))
        broken = [b for b, on in flags if on]
        if len(broken) > 1:
            raise ConfigError(f"give one of malformed, lost and reset, not {' and '.join(broken)}")
        target = FAULT_ENDPOINTS.get(endpoint)
        if target is None:
            raise ConfigError(f"no endpoint {endpoint!r}; expected one of "
                              f"{', '.join(FAULT_ENDPOINTS)}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ConfigError(f"a forced error needs a count of at least 1, not {count!r}")
        if broken:
            if code is not None or http_status is not None:
                raise ConfigError(f"a {broken[0]} answer is no error answer: give no code or "
                                  f"http_status with {broken[0]}")
            self.sync()
            self._planned.append(_Planned(target, device, None, count, broken[0]))
            self.world.record(device, "fault_planned", {
                "endpoint": endpoint, "count": count, "http_status": None, "code": None,
                "message": message or _BROKEN_MESSAGES[broken[0]]})
            return
        if not message:
            message = _DEFAULT_MESSAGES.get(code, f"forced error {code}") if code is not None \
                else "forced error"
        fault = self._fault(target, code, http_status, message)
        self.sync()
        self._planned.append(_Planned(target, device, fault, count))
        self.world.record(device, "fault_planned", {
            "endpoint": endpoint, "count": count, "http_status": fault.http_status,
            "code": fault.ovp_code if isinstance(fault, OvpFault) else fault.code,
            "message": fault.message})

    @staticmethod
    def _fault(target: _Target, code: int | str | None, http_status: int | None,
               message: str) -> Fault:
        if target.service == "ovp":
            if code is not None and not isinstance(code, str):
                raise ConfigError(f"an OVP error code is text (e.g. INVALID_KS), not {code!r}")
            status = 200 if http_status is None else http_status
            if status == 200 and code is None:
                raise ConfigError("a forced OVP error needs a code or an HTTP status "
                                  "other than 200")
            return OvpFault(status, None, message, code)
        if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
            raise ConfigError(f"a {target.service} error code is a whole number, not {code!r}")
        if target.service == "ott":
            status = 200 if http_status is None else http_status
            if status == 200 and code is None:
                raise ConfigError("a forced OTT error needs a code (in an HTTP 200 body) or "
                                  "an HTTP status other than 200")
        elif target.service == "license":
            status = 403 if http_status is None else http_status
        else:
            status = http_status if http_status is not None else \
                DEFAULT_HTTP_STATUS.get(code, 400) if code is not None else 500
        if not 200 <= status <= 599:
            raise ConfigError(f"an HTTP status is between 200 and 599, not {status}")
        return Fault(status, code, message)

    def outage(self, link: str, seconds: float) -> None:
        """Make the backend behind ``link`` answer as unreachable for ``seconds``."""
        if link not in LINKS:
            raise ConfigError(f"no link {link!r}; links are {', '.join(LINKS)}")
        if seconds <= 0:
            raise ConfigError(f"an outage lasts a positive number of seconds, not {seconds}")
        self.sync()
        start = self.world.now
        self._outages[link] = max(self._outages.get(link, start), start + seconds)
        self.world.record(None, "outage_planned", {"link": link, "start": round(start, 6),
                                                   "end": round(start + seconds, 6)})

    def latency(self, link: str, extra: float, seconds: float) -> None:
        """Hold every answer on ``link`` back ``extra`` (wall-clock) seconds, for the
        next ``seconds`` of the lab's time. The backend handles each call on arrival."""
        if link not in LINKS:
            raise ConfigError(f"no link {link!r}; links are {', '.join(LINKS)}")
        if not 0 < extra <= 300:
            raise ConfigError(f"extra latency is between 0 and 300 seconds, not {extra}")
        if seconds <= 0:
            raise ConfigError(f"a latency window lasts a positive number of seconds, "
                              f"not {seconds}")
        self.sync()
        start = self.world.now
        self._latencies[link] = (start + seconds, extra)
        self.world.record(None, "latency_planned", {
            "link": link, "extra": extra, "start": round(start, 6),
            "end": round(start + seconds, 6)})

    def _delay(self, service: str) -> float:
        window = self._latencies.get(service)
        if window is None:
            return 0.0
        if self.world.now < window[0]:
            return window[1]
        del self._latencies[service]
        return 0.0

    def kill(self, *, device: str | None = None, account: str | None = None) -> int:
        """Kill the live sessions of ``device`` or of ``account`` (exactly one of them);
        returns how many. Each one's next heartbeat fails with 1006."""
        if (device is None) == (account is None):
            raise ConfigError("kill needs a device or an account (one of them)")
        self.sync()
        killed = (self.ssm.kill_device_sessions(device) if device is not None
                  else self.ssm.kill_account_sessions(account or ""))
        self.checker.catch_up(self.world.trace)
        return killed

    def advance(self, seconds: float) -> float:
        """Jump the world's clock ``seconds`` forward (sessions and KSs expire as if the
        time had passed); returns the new time."""
        if not seconds > 0:
            raise ConfigError(f"the clock only jumps forward: give a positive duration, "
                              f"not {seconds}")
        self._offset += seconds
        self.sync()
        return self.world.now

    def sessions(self, account: str | None = None) -> list[dict[str, Any]]:
        """The live SSM sessions (of ``account``), oldest first."""
        self.sync()
        return [self._session(s) for s in self.ssm.active_sessions(account)]

    def zombies(self, account: str | None = None) -> list[dict[str, Any]]:
        """Live sessions whose device has sent nothing for longer than a heartbeat period
        (plus 5 s): the app stopped heartbeating, the slot is still held."""
        self.sync()
        cfg = self.ssm.config
        timeout = cfg.effective_session_timeout
        now = self.world.now
        return [self._session(s) for s in self.ssm.active_sessions(account)
                if now - (s.expires_at - timeout) > cfg.heartbeat_period + _ZOMBIE_SLACK]

    @staticmethod
    def _session(s: Any) -> dict[str, Any]:
        return {"session": s.session_id, "account": s.account, "device": s.device,
                "stream": s.stream, "heartbeats": s.heartbeats,
                "created_at": round(s.created_at, 6), "expires_at": round(s.expires_at, 6)}

    def find(self, kind: str, *, device: str | None = None, after: str | None = None,
             since: int = 0, call: str | None = None) -> tuple[int, TraceRecord] | None:
        """The first record of ``kind`` (of ``device``; with ``data["call"] == call``)
        at trace line ``since`` or later, and after the first ``after`` record there
        (same device), with its 1-based line; ``None`` if none yet."""
        self.sync()
        records = self.world.trace
        start = max(since, 0)
        if after is not None:
            for index in range(start, len(records)):
                rec = records[index]
                if rec.kind == after and (device is None or rec.device == device):
                    start = index + 1
                    break
            else:
                return None
        for index in range(start, len(records)):
            rec = records[index]
            if (rec.kind == kind and (device is None or rec.device == device)
                    and (call is None or rec.data.get("call") == call)):
                return index + 1, rec
        return None

    def verdict(self, rules: Collection[str] | None = None) -> dict[str, Any]:
        """The verdict so far: violations, rules judged and not judged (with the
        vantages they lacked), and ``passed`` (no violation among ``rules``, and each
        of them judged)."""
        self.sync()
        self.checker.finish(self.world.now)
        judged = self.checker.rules
        wanted = set(judged) | set(self.checker.not_judged) if rules is None else set(rules)
        unknown = sorted(wanted - set(judged) - set(self.checker.not_judged))
        if unknown:
            raise ConfigError(f"no rule {unknown[0]!r} in the catalogue "
                              "('player-sim rules' lists them)")
        violations = [v.to_dict() for v in self.checker.violations if v.rule.id in wanted]
        not_judged = {r: sorted(v.value for v in lacks)
                      for r, lacks in sorted(self.checker.not_judged.items()) if r in wanted}
        return {"passed": not violations and (rules is None or not not_judged),
                "t": round(self.world.now, 6), "violations": violations,
                "judged": [r for r in judged if r in wanted], "not_judged": not_judged,
                "observed": {r: self.checker.observed[r] for r in judged if r in wanted}}

    # --- serving ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes, *,
               client: str | None = None, url: str | None = None) -> Answer:
        """Answer one request to a backend path (``headers`` with lower-case names).

        Every exchange is recorded (``http_exchange``, a HAR entry), whatever its fate.
        """
        started, wall = self._clock(), self._wall()
        if self.trust_forwarded_for:
            client = headers.get("x-forwarded-for") or None
        self.sync()
        self._requests += 1
        request_id = self._requests
        note: dict[str, Any] = {}
        self._broken = None
        query = parse_qs(urlsplit(url).query) if url is not None else {}
        try:
            answer, service, call, device = self._route(method, path, headers, body, client,
                                                        request_id, note,
                                                        renew=query.get("renew") == ["true"])
        except _ConnectionReset as reset:
            answer = Answer(0, b"", None, cut="reset")
            service, call, device = reset.target.service, reset.target.call, reset.device
            note["reset"] = True
        if self._broken == "malformed":
            note["malformed"] = True
            answer = Answer(200 if answer.status == 204 else answer.status,
                            answer.body[:len(answer.body) // 2] or b"{", answer.content_type
                            or "application/json")
        elif self._broken == "lost":
            note["lost"] = True
            answer = attrs.evolve(answer, cut="lost")
        delay = self._delay(service)
        if delay:
            answer = attrs.evolve(answer, delay=delay)
        code, message = self._error_of(service, answer)
        data: dict[str, Any] = {"request_id": request_id, "method": method, "path": path,
                                "service": service, "call": call, "http_status": answer.status,
                                "code": code, "message": message, **note,
                                "seconds": round(self._clock() - started, 6)}
        self.world.record(device, "http_exchange", data)
        self.checker.catch_up(self.world.trace)
        self._har(wall, self._clock() - started, method, url or path, headers, body,
                  answer if answer.cut is None else Answer(0, b"", None))  # HAR: no answer
        return answer

    def refuse(self, method: str, path: str, headers: Mapping[str, str], status: int,
               message: str, *, url: str | None = None) -> Answer:
        """Answer a request the shell could not read (too large, cut short) in the error
        shape of the backend its path names, and record it."""
        self.sync()
        self._requests += 1
        service = self._service_of(path)
        answer = self._shaped_error(service, status, BAD_REQUEST if service in
                                    ("ssm", "license") else MISSING_PARAMETER, message)
        self.world.record(None, "http_exchange", {
            "request_id": self._requests, "method": method, "path": path, "service": service,
            "call": "", "http_status": status, "code": self._error_of(service, answer)[0],
            "message": message, "seconds": 0.0})
        self.checker.catch_up(self.world.trace)
        self._har(self._wall(), 0.0, method, url or path, headers, b"", answer)
        return answer

    @staticmethod
    def _service_of(path: str) -> str:
        if _SSM_PATH.match(path) or re.match(r"^/[^/]+/ssm(/|$)", path):
            return "ssm"
        if re.match(r"^/[^/]+/wvls/", path):
            return "license"
        match = re.match(r"^/(ott|ovp)/", path)
        return match.group(1) if match else "unknown"

    def _shaped_error(self, service: str, status: int, code: int | str | None,
                      message: str) -> Answer:
        if service in ("ssm", "license", "unknown"):
            return Answer(status, ssm_error_body(code if isinstance(code, int) else None,
                                                 message))
        if service == "ott":
            return Answer(status, phoenix_body([phoenix_error(code, message)], multi=False))
        return Answer(status, ovp_body([ovp_error(code, message)], multi=False))

    def _route(self, method: str, path: str, headers: Mapping[str, str], body: bytes,
               client: str | None, request_id: int, note: dict[str, Any], *,
               renew: bool = False) -> tuple[Answer, str, str, str | None]:
        match = _SSM_PATH.match(path)
        if match is not None:
            call = ssm_call(method, match.group(2))
            if call is None:
                return (Answer(404, ssm_error_body(None, f"no SSM call {method} "
                                                   f"/v1/sessions/{match.group(2)}; calls: "
                                                   + ", ".join(f"{c.method} {c.segment}"
                                                               for c in SSM_CALLS.values()))),
                        "ssm", "", None)
            answer, device = self._ssm(call, headers, body, client, note)
            return answer, "ssm", call.name, device
        if _LICENSE_PATH.match(path):
            if method != "POST":
                return Answer(404, license_error_body(None, "the license service takes POST")
                              ), "license", "", None
            if renew:  # enforced mode, PlayReady / FairPlay: a renewal at the license URL
                answer, device = self._license_renewal(headers, body, note)
                return answer, "license", "renewal", device
            answer, device = self._license(headers, body, note)
            return answer, "license", "license", device
        match = _KALTURA_PATH.match(path)
        if match is not None:
            backend, tail = match.group(1), match.group(2)
            where = parse_kaltura_path(tail)
            if where is None or method != "POST":
                return (self._shaped_error(backend, 404, UNKNOWN_ACTION,
                                           f"no API call {method} {path}: POST "
                                           "api_v3/service/<service>/action/<action>"),
                        backend, "", None)
            answer, call_name, device = self._kaltura(backend, where, body, request_id)
            return answer, backend, call_name, device
        service = self._service_of(path)
        return (self._shaped_error(service, 404, None, f"no such path {path}: the lab serves "
                                   "/<TENANT>/ssm/v1/sessions/..., /<TENANT>/wvls/"
                                   "contentlicenseservice/v1/licenses, /ott/api_v3/... and "
                                   "/ovp/api_v3/..."), service, "", None)

    # --- SSM ------------------------------------------------------------------------------

    def _identity(self, token: str) -> ContentToken:
        identity = read_content_token(token, secret=self.secret)
        if self.lab.accounts and identity.account not in self.lab.accounts:
            raise WireFormatError(f"unknown account {identity.account!r}: this lab serves "
                                  f"{', '.join(self.lab.accounts)}", code=INVALID_AUTH_TOKEN,
                                  http_status=401)
        return identity

    def _ssm(self, call: SsmCall, headers: Mapping[str, str], body: bytes,
             client: str | None, note: dict[str, Any]) -> tuple[Answer, str | None]:
        ssm = self.ssm
        endpoint = FAULT_ENDPOINTS.get(call.name)
        device: str | None = None
        identity: ContentToken | None = None
        try:
            request = parse_ssm_request(call, headers, body)
            if call.token == "content":
                identity = self._identity(request.token)
                device = identity.device
                note["account"] = identity.account
            elif call.token == "session":
                note["token"] = request.token
                device = self._device_of.get(request.token, _UNKNOWN_DEVICE)
            elif self.control_token is not None and request.token != self.control_token:
                raise WireFormatError("operator calls need the lab's control token in "
                                      "nv-authorizations", code=INVALID_AUTH_TOKEN,
                                      http_status=401)
        except WireFormatError as err:
            return Answer(err.http_status, ssm_error_body(
                err.code if isinstance(err.code, int) else None, err.message)), device
        if self._down("ssm"):
            if endpoint is None:  # an operator call: no session to refuse
                return Answer(503, ssm_error_body(4001, "SSM not available")), device
            down = ssm.unavailable(device or _UNKNOWN_DEVICE, endpoint.endpoint)
            return Answer(*ssm_answer_body(call, down)), device
        if call.name in ("kill-device", "kill-account"):
            killed = (ssm.kill_device_sessions(request.argument or "")
                      if call.name == "kill-device"
                      else ssm.kill_account_sessions(request.argument or ""))
            return Answer(200, ssm_kill_body(killed)), device
        assert endpoint is not None and device is not None
        self._arm(endpoint, device, ssm_target=True)
        license: str | None = None
        if identity is not None:  # a setup
            claimed: ClaimedToken | None = None
            if self._shared is not None:  # as in the simulator: the limit of this setup
                claimed = ClaimedToken(max_sessions=identity.max_sessions)
            elif identity.max_sessions is not None:
                ssm.set_account_limit(identity.account, identity.max_sessions)
                self._limits[identity.account] = identity.max_sessions
            answer: SsmAnswer = ssm.setup(identity.account, device, identity.content or "content",
                                          client, None, claimed)
        elif call.name == "teardown":
            answer = ssm.teardown(device, request.token)
        else:  # heartbeat, renewal
            answer = ssm.heartbeat(device, request.token,
                                   renewal=_WV_RENEWAL if call.name == "renewal" else None)
            if answer.ok and call.name == "renewal":
                session = ssm.session_of(answer.token or "")
                stream = session.stream if session is not None else "content"
                license = make_license(stream, (request.argument or "").encode())
        if answer.ok and answer.token is not None:
            self._device_of[answer.token] = device
            note["token_out"] = answer.token
            if identity is not None:
                note["heartbeat_period"] = answer.heartbeat_period
        return Answer(*ssm_answer_body(call, answer, license=license),
                      content_type=None if answer.http_status == 204 else "application/json"
                      ), device

    def _arm(self, target: _Target, device: str | None, *, ssm_target: bool = False
             ) -> _Planned | None:
        """Hand the first planned fault for this call and device to its backend, which
        answers the call with it (and records it as forced); return the plan used."""
        for planned in self._planned:
            if planned.target.service != target.service or planned.target.call != target.call:
                continue
            if planned.device is not None and planned.device != device:
                continue
            planned.remaining -= 1
            if planned.remaining == 0:
                self._planned.remove(planned)
            fault = planned.fault
            if fault is None and planned.broken == "reset":
                raise _ConnectionReset(target, device)
            if fault is None:
                self._broken = planned.broken
            elif ssm_target:
                self.ssm.faults.fail_next(target.endpoint, 1, fault)
            elif target.service == "license":
                self.license.faults.fail_next("license", 1, fault)
            elif target.service == "ott":
                self.world.ott.faults.fail_next(target.endpoint, 1, fault)
            else:
                self.world.ovp.faults.fail_next(target.endpoint, 1, fault)
            return planned
        return None

    def _disarm(self, planned: _Planned, api: OttBackend | OvpBackend, endpoint: str) -> None:
        """Take back a fault handed to ``api`` for a call that never reached it (its
        parameters were refused first): the plan applies to the next call instead."""
        if planned.fault is not None:
            api.faults.take(endpoint)
        else:
            self._broken = None
        planned.remaining += 1
        if planned not in self._planned:
            self._planned.insert(0, planned)

    def _down(self, link: str) -> bool:
        end = self._outages.get(link)
        if end is None:
            return False
        if self.world.now < end:
            return True
        del self._outages[link]
        return False

    # --- the license -------------------------------------------------------------------------

    def _license(self, headers: Mapping[str, str], body: bytes, note: dict[str, Any]
                 ) -> tuple[Answer, str | None]:
        try:
            request = parse_license_request(headers, body)
            identity = self._identity(request.content_token)
        except WireFormatError as err:
            return Answer(err.http_status, license_error_body(
                err.code if isinstance(err.code, int) else None, err.message)), None
        device, stream = identity.device, identity.content or "content"
        note["account"] = identity.account
        if request.session_token is not None:
            note["token"] = request.session_token
        if self._down("license"):
            verdict = self.license.unavailable(device, stream)
        else:
            self._arm(FAULT_ENDPOINTS["license"], device)
            verdict = self.license.request(device, stream, request.session_token, True)
        if not verdict.granted:
            return Answer(verdict.http_status, license_error_body(verdict.code,
                                                                  verdict.message)), device
        return Answer(200, license_body(make_license(stream, request.challenge),
                                        session_token=verdict.session_token)), device

    def _license_renewal(self, headers: Mapping[str, str], body: bytes, note: dict[str, Any]
                         ) -> tuple[Answer, str | None]:
        """Enforced mode, PlayReady / FairPlay (WIRE.md): the license URL with
        ``?renew=true`` and the session token alone; it rotates the token as a heartbeat
        does and answers the next token with a license."""
        token = headers.get("nv-authorizations", "").strip()
        if not token:
            return Answer(401, license_error_body(INVALID_AUTH_TOKEN, "a renewal carries the "
                                                  "session token in nv-authorizations")), None
        note["token"] = token
        device = self._device_of.get(token, _UNKNOWN_DEVICE)
        ssm = self.ssm
        if self._down("license"):
            answer = ssm.unavailable(device, "heartbeat")
        else:
            self._arm(FAULT_ENDPOINTS["renewal"], device, ssm_target=True)
            answer = ssm.heartbeat(device, token, renewal=_LICENSE_RENEWAL)
        if not answer.ok or answer.token is None:
            return Answer(answer.http_status if answer.http_status >= 400 else 400,
                          license_error_body(answer.ssm_code, answer.message)), device
        self._device_of[answer.token] = device
        note["token_out"] = answer.token
        session = ssm.session_of(answer.token)
        stream = session.stream if session is not None else "content"
        return Answer(200, license_body(make_license(stream, body[:16]),
                                        session_token=answer.token)), device

    # --- Phoenix and OVP -------------------------------------------------------------------------

    def _kaltura(self, backend: str, where: tuple[str, str], body: bytes, request_id: int
                 ) -> tuple[Answer, str, str | None]:
        service, action = where
        call_name = "multirequest" if service == "multirequest" else f"{service}/{action}"
        error = phoenix_error if backend == "ott" else ovp_error
        try:
            request = parse_kaltura_request(service, action, body)
        except WireFormatError as err:
            return (self._shaped_error(backend, 200, MISSING_PARAMETER, err.message),
                    call_name, None)
        results: list[Any] = []
        failed: set[int] = set()
        device: str | None = None
        transport: ApiAnswer | None = None
        for index, call in enumerate(request.calls, start=1):
            udid = call.params.get("udid")
            if device is None and isinstance(udid, str) and udid:
                device = udid
            params: dict[str, Any] | None = None
            try:
                params = resolve_references(call.params, results, frozenset(failed))
                answer = self._api(backend, call, params, device)
            except (UnresolvedReference, _BadParameter) as err:
                answer = ApiAnswer(200, code=MISSING_PARAMETER, message=err.message)
                self.world.record(device, f"{backend}_error", {
                    "endpoint": call.name, "http_status": 200, "code": MISSING_PARAMETER,
                    "message": err.message})
            data: dict[str, Any] = {"request_id": request_id, "backend": backend,
                                    "call": call.name, "index": index, "ok": answer.ok,
                                    "code": answer.code, "message": answer.message}
            ks = (params if params is not None else call.params).get("ks")
            if isinstance(ks, str):
                data["ks"] = ks
            self.world.record(device, "api_call", data)
            if answer.http_status != 200:
                transport = answer
                break
            if answer.ok:
                to_object = phoenix_object if backend == "ott" else ovp_object
                results.append(to_object(call.name, answer.value, self.epoch))
            else:
                failed.add(index)
                results.append(error(answer.code, answer.message))
        if transport is not None:
            return (self._shaped_error(backend, transport.http_status, transport.code,
                                       transport.message), call_name, device)
        body_out = (phoenix_body(results, multi=request.multi) if backend == "ott"
                    else ovp_body(results, multi=request.multi))
        return Answer(200, body_out), call_name, device

    def _api(self, backend: str, call: ApiCall, params: Mapping[str, Any],
             device: str | None) -> ApiAnswer:
        target = FAULT_ENDPOINTS.get(f"{backend}:{call.name}")
        if target is None:
            message = f"{backend} call {call.name} is not served by this lab"
            self.world.record(device, f"{backend}_error", {
                "endpoint": call.name, "http_status": 200, "code": UNKNOWN_ACTION,
                "message": message})
            return ApiAnswer(200, code=UNKNOWN_ACTION, message=message)
        api = self.world.ott if backend == "ott" else self.world.ovp
        ks = params.get("ks")
        if isinstance(ks, str) and ks:
            api.ledger.note_use(device, ks, call.name)
        if self._down(backend):
            return api.unavailable(device, call.name)
        planned = self._arm(target, device)
        try:
            return _OTT_CALLS[call.name](self, params, device) if backend == "ott" \
                else _OVP_CALLS[call.name](self, params, device)
        except _BadParameter:
            if planned is not None:
                self._disarm(planned, api, call.name)
            raise

    # --- records -------------------------------------------------------------------------------

    @staticmethod
    def _error_of(service: str, answer: Answer) -> tuple[int | str | None, str]:
        """The error code and message an answer's body carries (none for a success)."""
        body = answer.body
        if answer.status < 300 and b'"error' not in body and b"KalturaAPIException" not in body:
            return None, ""  # the hot path: a success, nothing to parse
        try:
            data = load_json(answer.body)
        except WireFormatError:
            return None, ""
        if isinstance(data, dict) and "errorCode" in data:
            return data.get("errorCode"), str(data.get("message", ""))
        if service == "ott" and isinstance(data, dict):
            result = data.get("result")
            items = result if isinstance(result, list) else [result]
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("error"), dict):
                    return item["error"].get("code"), str(item["error"].get("message", ""))
        if service == "ovp":
            items = data if isinstance(data, list) else [data]
            for item in items:
                if isinstance(item, dict) and item.get("objectType") == "KalturaAPIException":
                    return item.get("code"), str(item.get("message", ""))
        return None, ""

    def _har(self, wall: float, seconds: float, method: str, url: str,
             headers: Mapping[str, str], body: bytes, answer: Answer) -> None:
        text = body.decode("utf-8", "replace")
        if "password" in text:
            try:
                text = dump_json(_redact(load_json(body))).decode()
            except WireFormatError:
                text = "(redacted: a body naming a password that is not JSON)"
        response_headers = [("content-type", answer.content_type)] if answer.content_type \
            else []
        self.exchanges.append(Exchange(
            wall, seconds, method, url, list(headers.items()), text, answer.status,
            response_headers, answer.body.decode("utf-8", "replace")))


def package_version() -> str:
    try:
        return version("player_sim")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "0"


def har_document(lab: Lab) -> dict[str, Any]:
    """The HAR 1.2 document of every exchange since the lab's last reset."""
    return har_log((har_entry(e) for e in lab.exchanges), version=package_version())


# --- the Kaltura calls: parameters from the wire to the backend objects ---------------------------

_ApiFn = Callable[[Lab, Mapping[str, Any], "str | None"], ApiAnswer]

_OTT_CALLS: Final[Mapping[str, _ApiFn]] = {
    "ottUser/anonymousLogin": lambda lab, p, d: lab.world.ott.anonymous_login(
        d, _param(p, "partnerId", int), _param(p, "udid", str, required=False)),
    "ottUser/login": lambda lab, p, d: lab.world.ott.login(
        d, _param(p, "partnerId", int), _param(p, "username", str), _param(p, "password", str),
        _param(p, "udid", str, required=False)),
    "ottUser/refreshSession": lambda lab, p, d: lab.world.ott.refresh_session(
        d, _param(p, "ks", str, required=False), _param(p, "refreshToken", str),
        _param(p, "udid", str, required=False)),
    "ottUser/logout": lambda lab, p, d: lab.world.ott.logout(
        d, _param(p, "ks", str), _param(p, "udid", str, required=False)),
    "session/get": lambda lab, p, d: lab.world.ott.session_get(d, _param(p, "ks", str)),
    "asset/getPlaybackContext": lambda lab, p, d: lab.world.ott.get_playback_context(
        d, _param(p, "ks", str), str(_param(p, "assetId", str | int)),
        str(p.get("assetReferenceType") or p.get("assetType") or "media"), (),
        _param(p, "udid", str, required=False) or d),
    "asset/get": lambda lab, p, d: lab.world.ott.asset_get(
        d, _param(p, "ks", str), str(_param(p, "id", str | int))),
    # bookmark/add {ks, bookmark: {id, playerData: {action}}} (WIRE.md: the concurrency hit)
    "bookmark/add": lambda lab, p, d: lab.world.ott.bookmark_add(
        d, _param(p, "ks", str), str(_param(_bookmark(p), "id", str | int)),
        _param(_param(_bookmark(p), "playerData", dict), "action", str),
        _param(p, "udid", str, required=False) or d),
}


def _bookmark(params: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``bookmark`` object of a ``bookmark/add`` call."""
    bookmark: Mapping[str, Any] = _param(params, "bookmark", dict)
    return bookmark

_OVP_CALLS: Final[Mapping[str, _ApiFn]] = {
    "session/startWidgetSession": lambda lab, p, d: lab.world.ovp.start_widget_session(
        d, _param(p, "widgetId", str)),
    "user/loginByLoginId": lambda lab, p, d: lab.world.ovp.login_by_login_id(
        d, _param(p, "loginId", str), _param(p, "password", str), _param(p, "partnerId", int)),
    "session/get": lambda lab, p, d: lab.world.ovp.session_get(d, _param(p, "ks", str)),
    "session/end": lambda lab, p, d: lab.world.ovp.session_end(d, _param(p, "ks", str)),
    "baseEntry/getPlaybackContext": lambda lab, p, d: lab.world.ovp.get_playback_context(
        d, _param(p, "ks", str), _param(p, "entryId", str)),
    "baseEntry/list": lambda lab, p, d: lab.world.ovp.base_entry_list(
        d, _param(p, "ks", str), _entry_of(p, "redirectFromEntryId")),
    "metadata/list": lambda lab, p, d: lab.world.ovp.metadata_list(
        d, _param(p, "ks", str), _entry_of(p, "objectIdEqual")),
}


def _entry_of(params: Mapping[str, Any], filter_key: str) -> str:
    """The entry id of a list call: ``filter.<filter_key>`` as the SDK sends it, or a
    plain ``entryId``."""
    if "filter" in params:
        entry: str = _param(_param(params, "filter", dict), filter_key, str)
        return entry
    entry_id: str = _param(params, "entryId", str)
    return entry_id
