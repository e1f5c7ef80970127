"""Judging a capture and reporting it: a line per rule, JSON, JUnit XML, secrets hidden.

:func:`judge_capture` judges a :class:`~player_sim.capture.Capture` on the rules
its vantage (the wire) can show; :class:`CaptureReport` says, per rule, PASS,
FAIL (each violation pointing at the HAR entry: index and wall-clock time) or
NOT JUDGED (with what the rule needs that traffic does not hold).

Captures hold secrets: unless ``show_secrets``, tokens and KSs in messages are
shortened (the monitors already quote them so) and any ``password`` value is
never printed (records hold none: requests are read, not copied).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from typing import Any, Final
from xml.sax.saxutils import escape, quoteattr

import attrs

from ..rules import CATALOGUE, CheckConfig, Verdict, Violation, judge_trace
from ..trace import Vantage
from ._wire import Capture

__all__ = ["CaptureReport", "RuleLine", "judge_capture"]

#: Why a rule can't be judged on traffic, by the vantage it lacks.
_NEEDS: Final = {
    Vantage.DEVICE: "what the device did and was told (actions, states, notifications): "
                    "a device log, not in traffic",
    Vantage.SERVER: "what a backend decided (sessions, limits, expiry): a server log, "
                    "not in traffic",
}


@attrs.frozen
class RuleLine:
    """One rule's result: ``status`` is PASS, FAIL or NOT JUDGED."""

    rule: str
    status: str
    detail: str
    violations: tuple[dict[str, Any], ...] = ()


@attrs.frozen
class CaptureReport:
    """The verdict on a capture, rule by rule, ready to print or write."""

    source: str
    lines: tuple[RuleLine, ...]
    entries: int
    ignored: int
    redirects: int
    devices: tuple[str, ...]
    verdict: Verdict

    @property
    def failed(self) -> bool:
        return any(line.status == "FAIL" for line in self.lines)

    def text(self) -> str:
        """The terminal report: one line per rule (failures first), then a summary."""
        order = {"FAIL": 0, "PASS": 1, "NOT JUDGED": 2}
        out = []
        for line in sorted(self.lines, key=lambda x: (order[x.status], x.rule)):
            if line.status == "FAIL":
                for v in line.violations:
                    out.append(f"FAIL {line.rule}  {v['where']}: {v['message']}")
            else:
                out.append(f"{line.status} {line.rule}  {line.detail}")
        failed = sum(1 for x in self.lines if x.status == "FAIL")
        passed = sum(1 for x in self.lines if x.status == "PASS")
        unjudged = sum(1 for x in self.lines if x.status == "NOT JUDGED")
        out.append(f"{self.source}: {self.entries} entries judged ({self.ignored} other "
                   f"traffic ignored, {self.redirects} redirects), {len(self.devices)} "
                   f"device{'s' if len(self.devices) != 1 else ''}; {passed} passed, "
                   f"{failed} failed, {unjudged} not judged")
        return "\n".join(out) + "\n"

    def to_json(self) -> str:
        """The JSON report (as ``player-sim run --json``: summary counts, then rules)."""
        return json.dumps({
            "source": self.source,
            "summary": {"entries": self.entries, "ignored": self.ignored,
                        "redirects": self.redirects, "devices": list(self.devices),
                        **{s: sum(1 for x in self.lines if x.status == s)
                           for s in ("PASS", "FAIL", "NOT JUDGED")}},
            "rules": [attrs.asdict(x) for x in self.lines]}, indent=2, sort_keys=True) + "\n"

    def junit_xml(self) -> str:
        """A JUnit XML report: one test case per rule, NOT JUDGED ones skipped."""
        failures = sum(1 for x in self.lines if x.status == "FAIL")
        skipped = sum(1 for x in self.lines if x.status == "NOT JUDGED")
        out = ['<?xml version="1.0" encoding="utf-8"?>',
               f'<testsuite name={quoteattr("player_sim check " + self.source)} '
               f'tests="{len(self.lines)}" failures="{failures}" skipped="{skipped}">']
        for line in self.lines:
            out.append(f'  <testcase classname="player_sim.rules" name={quoteattr(line.rule)}>')
            if line.status == "FAIL":
                body = "\n".join(f"{v['where']}: {v['message']}" for v in line.violations)
                out.append(f'    <failure message={quoteattr(line.violations[0]["message"])}>'
                           f"{escape(body)}</failure>")
            elif line.status == "NOT JUDGED":
                out.append(f"    <skipped message={quoteattr(line.detail)}/>")
            out.append("  </testcase>")
        out.append("</testsuite>")
        return "\n".join(out) + "\n"


def _clock(unix: float) -> str:
    when = dt.datetime.fromtimestamp(unix, dt.UTC)
    return when.strftime("%H:%M:%S.") + f"{when.microsecond // 100000}"


def _where(capture: Capture, violation: Violation) -> str:
    """``entry N (HH:MM:SS.d)`` of the record that revealed a violation."""
    records = [r for n, r in violation.excerpt if n == violation.line]
    index: Any = records[0].data.get("entry") if records else None
    if not isinstance(index, int):
        index = next((r.data.get("entry") for _, r in reversed(violation.excerpt)
                      if isinstance(r.data.get("entry"), int)), None)
    unix = capture.origin + violation.t
    if index is None:
        return f"at {_clock(unix)}"
    return f"entry {index} ({_clock(unix)})"


def _needs(missing: frozenset[Vantage]) -> str:
    return "needs " + "; and ".join(_NEEDS.get(v, f"{v.value} records")
                                    for v in sorted(missing, key=lambda v: v.value))


def _secrets(capture: Capture) -> list[str]:
    """Every session token and KS the capture's records hold."""
    found: set[str] = set()
    for record in capture.trace:
        for key in ("token", "token_out", "ks", "ks_out"):
            value = record.data.get(key)
            if isinstance(value, str) and value:
                found.add(value)
    return sorted(found)


def judge_capture(capture: Capture, config: CheckConfig | None = None, *,
                  rules: Collection[str] | None = None, source: str = "<capture>",
                  show_secrets: bool = False) -> CaptureReport:
    """Judge ``capture`` on the rules the wire can show (or on ``rules``).

    Unless ``show_secrets``, the capture's session tokens and KSs are shortened in
    the messages (``ssm-phon…03d2``).
    """
    verdict = judge_trace(capture.trace, config, rules=rules)
    secrets = [] if show_secrets else _secrets(capture)
    by_rule: dict[str, list[Violation]] = {}
    for violation in verdict.violations:
        by_rule.setdefault(violation.rule.id, []).append(violation)
    lines: list[RuleLine] = []
    for rule_id in verdict.judged:
        found = by_rule.get(rule_id, [])
        if found:
            lines.append(RuleLine(rule_id, "FAIL", f"{len(found)} violations", tuple(
                {"where": _where(capture, v), "device": v.device, "t": round(v.t, 6),
                 "message": redact_text(v.message, secrets)} for v in found)))
        else:
            count = verdict.observed.get(rule_id, 0)
            lines.append(RuleLine(rule_id, "PASS", f"({count} judged)"))
    for rule_id, missing in verdict.not_judged.items():
        lines.append(RuleLine(rule_id, "NOT JUDGED", _needs(missing)))
    order = list(CATALOGUE)
    lines.sort(key=lambda x: order.index(x.rule) if x.rule in order else len(order))
    return CaptureReport(source, tuple(lines), len(capture.entries), capture.ignored,
                         capture.redirects, capture.devices, verdict)


def redact_text(text: str, secrets: Sequence[str]) -> str:
    """``text`` with each of ``secrets`` shortened (for timelines and logs)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) > 16:
            text = text.replace(secret, f"{secret[:8]}…{secret[-4:]}")
    return text
