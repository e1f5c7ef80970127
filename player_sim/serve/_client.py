"""A typed client of a served lab's control API (``/_player_sim/``), over httpx.

Every method is one HTTP call; an error answer raises :class:`LabError` with
the lab's message (a :class:`TimeoutError` for a ``wait_for`` that timed out).
``url(service)`` gives the base URL to configure a device with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import httpx

from .._errors import PlayerSimError
from ..trace import TraceRecord
from ._lab import CONTROL_PREFIX

__all__ = ["SERVICE_PATHS", "Found", "LabClient", "LabError", "LabVerdict"]

#: The base URL path of each served backend, as a device is configured with it.
SERVICE_PATHS: Final[Mapping[str, str]] = {
    "ssm": "/{tenant}/ssm",
    "license": "/{tenant}/wvls/contentlicenseservice/v1/licenses",
    "ott": "/ott/api_v3/",
    "ovp": "/ovp/",
}


class LabError(PlayerSimError):
    """The lab refused a control call; the message is its own."""


@attrs.frozen
class Found:
    """A record ``wait_for`` found, and its 1-based line in the trace (pass it as
    ``since`` to wait for something later)."""

    line: int
    record: TraceRecord


@attrs.frozen
class LabVerdict:
    """The verdict so far. ``passed``: no violation among the rules asked about, and,
    when rules were named, each of them judged (a rule the server and wire can't show
    is in ``not_judged`` with the vantages it lacks)."""

    passed: bool
    t: float
    violations: tuple[Mapping[str, Any], ...]
    judged: tuple[str, ...]
    not_judged: Mapping[str, tuple[str, ...]]
    observed: Mapping[str, int]


class LabClient:
    """Drives a served lab at ``base_url`` (``http://127.0.0.1:8080``)."""

    def __init__(self, base_url: str, *, control_token: str | None = None,
                 timeout: float = 30.0, tenant: str = "lab") -> None:
        self.base_url = base_url.rstrip("/")
        self.tenant = tenant
        #: The :class:`~player_sim.serve.LabServer` behind this client, when the
        #: ``player_sim_server`` fixture started it (its ``lab`` is the served Lab).
        self.server: Any = None
        headers = {"authorization": f"Bearer {control_token}"} if control_token else {}
        self._http = httpx.Client(base_url=self.base_url + CONTROL_PREFIX.rstrip("/"),
                                  headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LabClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def url(self, service: str) -> str:
        """The base URL a device is given for ``service``: ssm, license, ott or ovp."""
        try:
            return self.base_url + SERVICE_PATHS[service].format(tenant=self.tenant)
        except KeyError:
            raise LabError(f"no service {service!r}; services: "
                           f"{', '.join(SERVICE_PATHS)}") from None

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None,
              params: Mapping[str, Any] | None = None, timeout: float | None = None) -> Any:
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = timeout
        answer = self._http.request(method, "/" + path, json=body,
                                    params={k: v for k, v in (params or {}).items()
                                            if v is not None}, **extra)
        if answer.status_code == 408:
            raise TimeoutError(answer.json().get("error", "timed out"))
        if answer.status_code != 200:
            try:
                message = answer.json().get("error", answer.text)
            except ValueError:
                message = answer.text
            raise LabError(f"{path}: {message}")
        if answer.headers.get("content-type", "").startswith("application/json"):
            return answer.json()
        return answer.text

    # --- faults, kills, time ---------------------------------------------------------

    def fail_next(self, endpoint: str, *, code: int | str | None = None,
                  device: str | None = None, count: int = 1, http_status: int | None = None,
                  message: str = "", malformed: bool = False, lost: bool = False,
                  reset: bool = False) -> None:
        """Answer the next ``count`` calls of ``endpoint`` (of ``device`` only, if given)
        with this error: ``setup``, ``heartbeat``, ``renewal``, ``teardown``,
        ``license``, ``ott:<service/action>``, ``ovp:<service/action>``. Instead
        (one of them): ``malformed`` handles them but cuts their answers short; ``lost``
        handles them and never answers (the response is lost); ``reset`` resets the
        connection before the backend sees them."""
        self._call("POST", "fail-next", {"endpoint": endpoint, "code": code, "device": device,
                                         "count": count, "http_status": http_status,
                                         "message": message, "malformed": malformed,
                                         "lost": lost, "reset": reset})

    def latency(self, link: str, extra: float | str, seconds: float | str) -> None:
        """Hold answers on ``link`` back ``extra`` seconds for the next ``seconds``."""
        self._call("POST", "latency", {"link": link, "extra": extra, "seconds": seconds})

    def outage(self, link: str, seconds: float | str) -> None:
        """Make ``link`` (ssm, license, ott, ovp) unreachable for ``seconds`` (or ``"5m"``)."""
        self._call("POST", "outage", {"link": link, "seconds": seconds})

    def kill(self, *, device: str | None = None, account: str | None = None) -> int:
        """Kill the sessions of ``device`` or ``account``; returns how many."""
        return int(self._call("POST", "kill", {"device": device, "account": account})["killed"])

    def advance(self, seconds: float | str) -> float:
        """Jump the lab's clock forward (``7200`` or ``"2h"``); returns the new time."""
        return float(self._call("POST", "advance", {"seconds": seconds})["now"])

    def reset(self) -> None:
        """Drop every session, KS, fault, outage and record: an empty world at time 0."""
        self._call("POST", "reset", {})

    # --- queries ---------------------------------------------------------------------------

    def sessions(self, account: str | None = None) -> list[dict[str, Any]]:
        """The live SSM sessions (of ``account``)."""
        return list(self._call("GET", "sessions", params={"account": account}))

    def zombies(self, account: str | None = None) -> list[dict[str, Any]]:
        """Live sessions whose device stopped heartbeating."""
        return list(self._call("GET", "zombies", params={"account": account}))

    def wait_for(self, kind: str, *, device: str | None = None, after: str | None = None,
                 call: str | None = None, since: int = 0, timeout: float = 10.0) -> Found:
        """Wait until the trace holds a ``kind`` record (of ``device``; for ``call``, on
        wire records) after the first ``after`` record, from line ``since`` on.

        Raises :class:`TimeoutError` after ``timeout`` seconds.
        """
        found = self._call("POST", "wait-for",
                           {"kind": kind, "device": device, "after": after, "call": call,
                            "since": since, "timeout": timeout}, timeout=timeout + 10.0)
        return Found(int(found["line"]), TraceRecord.from_json(found["record"]))

    def verdict(self, rules: Sequence[str] | None = None) -> LabVerdict:
        """The verdict so far (on ``rules``, or on every rule the lab can judge)."""
        data = self._call("POST", "verdict", {"rules": list(rules) if rules else None})
        return LabVerdict(bool(data["passed"]), float(data["t"]), tuple(data["violations"]),
                          tuple(data["judged"]),
                          {r: tuple(v) for r, v in data["not_judged"].items()},
                          dict(data["observed"]))

    def trace_jsonl(self) -> str:
        """The trace so far, as JSONL (format version 2)."""
        return str(self._call("GET", "trace"))

    def har(self) -> dict[str, Any]:
        """The HAR 1.2 document of the exchanges so far."""
        return dict(self._call("GET", "har"))
