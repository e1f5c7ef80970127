"""Reports of scenario runs: failure text, JSON, JUnit XML, and atomic writes.

Every report is built from results alone (virtual time, no wall clock), so the
same run gives the same bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree

from ..trace import TraceRecord
from ._discover import scenario_stem
from ._runner import Failure, ScenarioResult, format_time

__all__ = ["format_failure", "format_record", "format_result", "json_report", "junit_xml",
           "summary_line", "summary_table", "trace_file_names", "write_atomic"]


def _source_line(file: str, line: int) -> str | None:
    try:
        with open(file, encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if number == line:
                    return text.rstrip("\n")
    except (OSError, UnicodeDecodeError):
        return None
    return None


def format_record(record: TraceRecord) -> str:
    """One trace record on one line: time, device, kind, states, then the data fields."""
    states = f"{record.app}/{record.playback}" if record.app is not None else "-"
    fields = " ".join(f"{k}={_compact(v)}" for k, v in sorted(record.data.items()))
    return (f"{format_time(record.t):<14} {record.device or '-':<10} {record.kind:<22} "
            f"{states:<24} {fields}").rstrip()


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value if value and " " not in value else json.dumps(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def format_failure(failure: Failure) -> str:
    """A failure as a reader wants it: what was expected, where, what happened, the trace."""
    loc = failure.location
    lines = [f"{failure.kind} at {loc}: {failure.text}"]
    source = _source_line(loc.file, loc.line)
    if source is not None:
        lines.append(f"  {loc.line:>4} | {source}")
    lines.append(f"  {failure.message}")
    if failure.excerpt:
        lines.append(f"  trace around {format_time(failure.time)}:")
        for record in failure.excerpt:
            marker = ">" if abs(record.t - failure.time) < 1e-9 else " "
            lines.append(f"   {marker} {format_record(record)}")
    return "\n".join(lines)


def format_result(result: ScenarioResult) -> str:
    """Every failure of ``result``, separated by blank lines ('' when it passed)."""
    return "\n\n".join(format_failure(f) for f in result.failures)


def _failure_json(failure: Failure) -> dict[str, Any]:
    loc = failure.location
    return {"kind": failure.kind, "file": loc.file, "line": loc.line, "column": loc.column,
            "expectation": failure.text, "message": failure.message,
            "time": round(failure.time, 6)}


def json_report(results: Sequence[ScenarioResult]) -> str:
    """``{"summary": counts, "scenarios": [...]}`` as indented JSON text.

    Each scenario entry has ``name``, ``file``, ``status``, ``duration`` (virtual
    seconds), ``seed``, ``rules_covered``, ``events`` and ``failures``.
    """
    summary = {"total": len(results),
               "passed": sum(r.status == "passed" for r in results),
               "failed": sum(r.status == "failed" for r in results),
               "errors": sum(r.status == "error" for r in results)}
    scenarios = [{
        "name": r.scenario.name, "file": r.scenario.path, "status": r.status,
        "duration": round(r.duration, 6), "seed": r.seed,
        "rules_covered": list(r.scenario.covers), "events": r.events,
        "failures": [_failure_json(f) for f in r.failures],
    } for r in results]
    return json.dumps({"summary": summary, "scenarios": scenarios}, indent=2) + "\n"


def junit_xml(results: Sequence[ScenarioResult], suite: str = "player_sim scenarios") -> str:
    """A JUnit XML report: one testcase per scenario, a failure or error per problem."""
    root = ElementTree.Element("testsuites")
    node = ElementTree.SubElement(root, "testsuite", {
        "name": suite, "tests": str(len(results)),
        "failures": str(sum(r.status == "failed" for r in results)),
        "errors": str(sum(r.status == "error" for r in results)), "skipped": "0"})
    for r in results:
        case = ElementTree.SubElement(node, "testcase", {
            "classname": os.path.splitext(os.path.basename(r.scenario.path))[0],
            "name": r.scenario.name, "file": r.scenario.path})
        props = ElementTree.SubElement(case, "properties")
        for key, value in (("seed", str(r.seed)),
                           ("virtual_duration", f"{round(r.duration, 6):g}"),
                           ("covers", " ".join(r.scenario.covers))):
            ElementTree.SubElement(props, "property", {"name": key, "value": value})
        if r.failures:
            tag = "error" if r.status == "error" else "failure"
            first = r.failures[0]
            element = ElementTree.SubElement(case, tag, {
                "message": f"{first.location}: {first.message}", "type": first.kind})
            element.text = format_result(r)
    ElementTree.indent(root)
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            + ElementTree.tostring(root, encoding="unicode") + "\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` all at once: a temporary file, then ``os.replace``.

    A reader never sees a half-written report; folders are created as needed.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give a report normal rights
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_STATUS_WORD = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}


def summary_table(results: Sequence[ScenarioResult]) -> str:
    """A fixed-width table: status, file, virtual time covered, events, rules covered."""
    rows = [("status", "scenario", "virtual", "events", "failures", "covers")]
    for r in results:
        rows.append((_STATUS_WORD[r.status], r.scenario.path,
                     _clock(r.duration), str(r.events),
                     str(len(r.failures)), ", ".join(r.scenario.covers) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 5 else cell for i, cell in enumerate(row))
             .rstrip() for row in rows]
    return "\n".join(lines)


def _clock(seconds: float) -> str:
    """Virtual time covered, as ``1d02h03m04s`` (leading zero units dropped)."""
    days, rest = divmod(round(seconds, 6), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    sec = f"{secs:g}"
    if days:
        return f"{int(days)}d{int(hours):02d}h{int(minutes):02d}m{sec.zfill(2)}s"
    if hours:
        return f"{int(hours)}h{int(minutes):02d}m{sec.zfill(2)}s"
    if minutes:
        return f"{int(minutes)}m{sec.zfill(2)}s"
    return f"{sec}s"


def summary_line(results: Sequence[ScenarioResult]) -> str:
    """``"22 scenarios: 21 passed, 1 failed, 0 errors"``."""
    passed = sum(r.status == "passed" for r in results)
    failed = sum(r.status == "failed" for r in results)
    errors = sum(r.status == "error" for r in results)
    noun = "scenario" if len(results) == 1 else "scenarios"
    return f"{len(results)} {noun}: {passed} passed, {failed} failed, {errors} errors"


def trace_file_names(results: Sequence[ScenarioResult]) -> list[str]:
    """One distinct ``NAME.jsonl`` per result, from its file's name (numbered on clashes)."""
    names: list[str] = []
    used: set[str] = set()
    for r in results:
        stem = scenario_stem(r.scenario.path) or "scenario"
        name, n = f"{stem}.jsonl", 2
        while name in used:
            name, n = f"{stem}-{n}.jsonl", n + 1
        used.add(name)
        names.append(name)
    return names
