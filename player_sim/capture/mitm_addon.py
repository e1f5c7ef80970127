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

The fault file is described in :mod:`player_sim.capture._faults` (the endpoint
names of ``player-sim ctl fail-next``; forced errors in the backend's own format,
delays, lost answers, rewritten heartbeat periods, outages).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from mitmproxy import ctx, http  # type: ignore[import-not-found,unused-ignore]

from player_sim.capture._faults import FaultPlan, error_answer, load_fault_file
from player_sim.capture._report import judge_capture
from player_sim.capture._wire import CAPTURE_VANTAGES, Capture, _Reader
from player_sim.rules import CheckConfig, TraceChecker
from player_sim.trace import Trace
from player_sim.traffic import CapturedEntry, Exchange, har_entry, har_log


class PlayerSimAddon:
    """The addon object mitmproxy loads (see the module's documentation)."""

    def __init__(self) -> None:
        self.plan = FaultPlan()
        self.started = time.monotonic()
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
            path = ctx.options.player_sim_faults
            self.plan = load_fault_file(Path(path).read_text(encoding="utf-8"), path)

    async def request(self, flow: Any) -> None:
        decision = self.plan.decide(flow.request.method, flow.request.path.split("?")[0],
                                    flow.request.get_content(strict=False) or b"",
                                    time.monotonic() - self.started)
        if decision is None:
            return
        fault = decision.fault
        flow.metadata["player_sim_fault"] = fault
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        answer = error_answer(decision)
        if answer is not None:
            flow.response = http.Response.make(answer[0], answer[1],
                                               {"content-type": "application/json"})
        elif decision.outage:
            flow.kill()  # the backend is unreachable: no answer at all

    def response(self, flow: Any) -> None:
        fault = flow.metadata.get("player_sim_fault")
        period = fault.heartbeat_period if fault is not None else None
        if period is not None and flow.response.status_code == 200:
            try:
                body = json.loads(flow.response.content or b"{}")
                value = int(period) if float(period).is_integer() else period
                body["heartBeat"] = body["heartbeat"] = value
                flow.response.content = json.dumps(body).encode()
            except (ValueError, TypeError):
                pass
        self._record(flow)
        if fault is not None and fault.lose_answer:
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
