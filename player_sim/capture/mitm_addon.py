"""A mitmproxy addon: judge a device's real traffic live, record it, inject faults.

Load it into ``mitmdump`` / ``mitmweb`` (``player-sim proxy-addon`` prints this
file's path; mitmproxy and player_sim must be installed in the same environment,
``pip install 'player_sim[proxy]'``)::

    mitmdump --listen-host 127.0.0.1 -s "$(player-sim proxy-addon)" \\
        --set player_sim_faults=faults.yaml --set player_sim_out=session

Every finished exchange is read as the HAR check reads a capture (the same
reader, :mod:`player_sim.capture._wire`) and fed to a live
:class:`~player_sim.rules.TraceChecker` with the wire monitors: a line
``player_sim: FAIL <rule> ...`` is printed at each violation. When mitmproxy
stops, ``<out>.har``, ``<out>.trace.jsonl`` and the report ``<out>.txt`` are written.

The fault file (YAML) lists faults by the endpoint names of ``player-sim ctl
fail-next`` (``setup``, ``heartbeat``, ``renewal``, ``teardown``, ``license``)::

    faults:
      - {endpoint: heartbeat, nth: 3, code: 1006, http_status: 401}  # forced error, SSM's shape
      - {endpoint: license, delay: 3}                                # seconds before forwarding
      - {endpoint: teardown, lose_answer: true}                      # the backend acts, the
                                                                     # device gets no answer
      - {endpoint: setup, heartbeat_period: 5}                       # rewrite the period

``nth`` (default 1) is the call of that endpoint the fault hits; ``count``
(default 1) how many in a row.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import yaml
from mitmproxy import ctx, http  # type: ignore[import-not-found,unused-ignore]

from player_sim.capture._report import judge_capture
from player_sim.capture._wire import _SSM, CAPTURE_VANTAGES, Capture, _Reader
from player_sim.rules import CheckConfig, TraceChecker
from player_sim.trace import Trace
from player_sim.traffic import CapturedEntry, Exchange, har_entry, har_log, ssm_error_body

_SEGMENTS = {"setup": "setup", "heartbeat": "heartbeat", "renewal": "renewal-license-wv",
             "teardown": "teardown"}


def _endpoint(path: str) -> str | None:
    match = _SSM.search(path)
    if match is not None:
        return next((k for k, v in _SEGMENTS.items() if v == match.group(1)), None)
    if "/contentlicenseservice/v1/licenses" in path:
        return "license"
    return None


class PlayerSimAddon:
    """The addon object mitmproxy loads (see the module's documentation)."""

    def __init__(self) -> None:
        self.faults: list[dict[str, Any]] = []
        self.calls: dict[str, int] = {}
        self.reader = _Reader(None)
        self.reader.origin = time.time()
        self.checker = TraceChecker(CheckConfig(), vantages=CAPTURE_VANTAGES)
        self.entries: list[CapturedEntry] = []
        self.exchanges: list[Exchange] = []
        self.lines: list[str] = []

    def load(self, loader: Any) -> None:
        loader.add_option("player_sim_faults", str, "", "player_sim fault file (YAML)")
        loader.add_option("player_sim_out", str, "player_sim_capture",
                          "prefix of the HAR, trace and report written at the end")

    def configure(self, updated: Any) -> None:
        if "player_sim_faults" in updated and ctx.options.player_sim_faults:
            data = yaml.safe_load(Path(ctx.options.player_sim_faults).read_text()) or {}
            self.faults = [dict(f) for f in data.get("faults", [])]

    def _fault(self, flow: Any) -> dict[str, Any] | None:
        endpoint = _endpoint(flow.request.path.split("?")[0])
        if endpoint is None:
            return None
        number = self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
        flow.metadata["player_sim_endpoint"] = endpoint
        for fault in self.faults:
            first = int(fault.get("nth", 1))
            if fault.get("endpoint") == endpoint and first <= number < first + int(
                    fault.get("count", 1)):
                return fault
        return None

    async def request(self, flow: Any) -> None:
        fault = self._fault(flow)
        if fault is None:
            return
        flow.metadata["player_sim_fault"] = fault
        if fault.get("delay"):
            await asyncio.sleep(float(fault["delay"]))
        if fault.get("code") is not None or fault.get("http_status") is not None:
            code = fault.get("code")
            status = int(fault.get("http_status") or 400)
            flow.response = http.Response.make(
                status, ssm_error_body(int(code) if code is not None else None,
                                       str(fault.get("message", "forced by player_sim"))),
                {"content-type": "application/json"})

    def response(self, flow: Any) -> None:
        fault = flow.metadata.get("player_sim_fault") or {}
        period = fault.get("heartbeat_period")
        if period is not None and flow.response.status_code == 200:
            try:
                body = json.loads(flow.response.content or b"{}")
                body["heartBeat"] = body["heartbeat"] = period
                flow.response.content = json.dumps(body).encode()
            except (ValueError, TypeError):
                pass
        self._record(flow)
        if fault.get("lose_answer"):
            flow.kill()  # the backend acted; the device never hears of it

    def _record(self, flow: Any) -> None:
        req, resp = flow.request, flow.response
        started = req.timestamp_start
        seconds = max(0.0, (resp.timestamp_end or started) - started)
        headers = [(k, v) for k, v in req.headers.items(multi=True)]
        answer_headers = [(k, v) for k, v in resp.headers.items(multi=True)]
        entry = CapturedEntry(len(self.exchanges), started, seconds, req.method, req.url,
                              {k.lower(): v for k, v in reversed(headers)},
                              req.get_content(strict=False) or b"", resp.status_code,
                              {k.lower(): v for k, v in reversed(answer_headers)},
                              resp.get_content(strict=False) or b"")
        self.exchanges.append(Exchange(
            started, seconds, req.method, req.url, headers,
            entry.request_body.decode("utf-8", "replace"), resp.status_code, answer_headers,
            entry.response_body.decode("utf-8", "replace")))
        before = len(self.reader.records)
        if self.reader.read(entry) == "judged":
            self.entries.append(entry)
        for record in self.reader.records[before:]:
            for violation in self.checker.feed(record):
                line = (f"player_sim: FAIL {violation.rule.id} entry {entry.index}: "
                        f"{violation.message}")
                self.lines.append(line)
                print(line, flush=True)

    def done(self) -> None:
        for violation in self.checker.finish():
            line = f"player_sim: FAIL {violation.rule.id} at the end: {violation.message}"
            self.lines.append(line)
            print(line, flush=True)
        prefix = Path(ctx.options.player_sim_out)
        har = har_log((har_entry(e) for e in self.exchanges), version="proxy")
        prefix.with_suffix(".har").write_text(json.dumps(har, indent=1), encoding="utf-8")
        trace = Trace(self.reader.records, vantages=CAPTURE_VANTAGES)
        prefix.with_suffix(".trace.jsonl").write_text(trace.to_jsonl(), encoding="utf-8")
        capture = Capture(trace, tuple(self.entries), self.reader.origin, 0, 0,
                          tuple(self.reader.devices))
        report = judge_capture(capture, source=str(prefix.with_suffix(".har")))
        prefix.with_suffix(".txt").write_text("\n".join(self.lines) + "\n" + report.text(),
                                              encoding="utf-8")


addons = [PlayerSimAddon()]
