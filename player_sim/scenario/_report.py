"""Reports of scenario runs: failure text, JSON, JUnit XML, and atomic writes.

Every report is built from results alone (virtual time, no wall clock), so the
same run gives the same bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import textwrap
from collections.abc import Sequence
from typing import Any, Final

from ..trace import TraceRecord
from ._discover import scenario_stem
from ._runner import Failure, ScenarioResult, format_time

__all__ = ["REPORT_SCHEMA", "REPORT_VERSION", "format_failure", "format_record",
           "format_result", "json_report", "junit_xml", "summary_line", "summary_table",
           "trace_file_names", "write_atomic"]


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


def format_failure(failure: Failure, width: int | None = None) -> str:
    """A failure as a reader wants it: what was expected, where, what happened, the trace.

    With ``width``, every line longer than that is wrapped at spaces, its continuation
    indented under it, so a terminal shows it without wrapping mid-word.
    """
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
    if width is not None:
        lines = [part for line in lines for part in _fit(line, width)]
    return "\n".join(lines)


def _fit(line: str, width: int) -> list[str]:
    """``line`` wrapped at spaces to ``width`` columns (a word longer than that stays
    whole), continuations indented six columns deeper than the line."""
    if len(line) <= width:
        return [line]
    indent = " " * (len(line) - len(line.lstrip(" ")) + 6)
    return textwrap.wrap(line, width, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False) or [line]


def format_result(result: ScenarioResult, width: int | None = None) -> str:
    """Every failure of ``result``, separated by blank lines ('' when it passed); lines
    wrapped to ``width`` columns when given (see :func:`format_failure`)."""
    return "\n\n".join(format_failure(f, width) for f in result.failures)


#: The version of the JSON report's layout (``"version"``): raised when a field changes
#: meaning or goes away; new fields may appear within a version.
REPORT_VERSION: Final = 1


def _failure_json(failure: Failure) -> dict[str, Any]:
    loc = failure.location
    return {"kind": failure.kind, "file": loc.file, "line": loc.line, "column": loc.column,
            "expectation": failure.text, "message": failure.message,
            "time": round(failure.time, 6)}


def json_report(results: Sequence[ScenarioResult]) -> str:
    """``{"version": 1, "summary": counts, "scenarios": [...]}`` as indented JSON text.

    Each scenario entry has ``name``, ``file``, ``status`` (``passed`` / ``failed`` /
    ``error``), ``duration`` (virtual seconds), ``seed``, ``rules_covered``,
    ``records`` (trace records) and ``failures`` (``kind``, ``file``, ``line``,
    ``column``, ``expectation``, ``message``, ``time``). :data:`REPORT_SCHEMA` is its
    JSON Schema (``player-sim schema --report``).
    """
    summary = {"total": len(results),
               "passed": sum(r.status == "passed" for r in results),
               "failed": sum(r.status == "failed" for r in results),
               "errors": sum(r.status == "error" for r in results)}
    scenarios = [{
        "name": r.scenario.name, "file": r.scenario.path, "status": r.status,
        "duration": round(r.duration, 6), "seed": r.seed,
        "rules_covered": list(r.scenario.covers), "records": len(r.trace),
        "failures": [_failure_json(f) for f in r.failures],
    } for r in results]
    return json.dumps({"version": REPORT_VERSION, "summary": summary,
                       "scenarios": scenarios}, indent=2) + "\n"


def _count(description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "description": description}


#: The JSON Schema of :func:`json_report`'s output (draft 2020-12).
REPORT_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "player_sim run report",
    "description": "player-sim run --json FILE: one entry per scenario run, in file order. "
                   "No wall-clock time: the same files and seed give the same bytes.",
    "type": "object",
    "required": ["version", "summary", "scenarios"],
    "properties": {
        "version": {"const": REPORT_VERSION,
                    "description": "The report layout's version."},
        "summary": {
            "type": "object", "description": "How many scenarios ended each way.",
            "required": ["total", "passed", "failed", "errors"],
            "properties": {"total": _count("Scenarios run."),
                           "passed": _count("Scenarios whose every check held."),
                           "failed": _count("Scenarios with a failed expectation or rule."),
                           "errors": _count("Scenarios a step of which the player refused.")},
            "additionalProperties": False},
        "scenarios": {"type": "array", "items": {"$ref": "#/$defs/scenario"}},
    },
    "additionalProperties": False,
    "$defs": {
        "scenario": {
            "type": "object",
            "required": ["name", "file", "status", "duration", "seed", "rules_covered",
                         "records", "failures"],
            "properties": {
                "name": {"type": "string", "description": "The file's name: line."},
                "file": {"type": "string", "description": "The scenario file, as given."},
                "status": {"enum": ["passed", "failed", "error"],
                           "description": "error: a step was refused by the player."},
                "duration": {"type": "number", "minimum": 0,
                             "description": "Virtual seconds the run covered."},
                "seed": {"type": "integer", "description": "The world seed it ran with."},
                "rules_covered": {"type": "array", "items": {"type": "string"},
                                  "description": "The rule ids its covers: label names."},
                "records": _count("Trace records the run produced."),
                "failures": {"type": "array", "items": {"$ref": "#/$defs/failure"}},
            },
            "additionalProperties": False},
        "failure": {
            "type": "object",
            "required": ["kind", "file", "line", "column", "expectation", "message", "time"],
            "properties": {
                "kind": {"enum": ["expect", "always", "never", "step", "rule"],
                         "description": "What failed: an expectation, an invariant, a "
                                        "refused step, or a rule of the catalogue."},
                "file": {"type": "string", "description": "The file of the line at fault."},
                "line": {"type": "integer", "minimum": 1,
                         "description": "The expectation's line; for a rule, the step "
                                        "that drove the world into the violation."},
                "column": {"type": "integer", "minimum": 1},
                "expectation": {"type": "string",
                                "description": "The expectation as written, or a rule id."},
                "message": {"type": "string", "description": "What happened instead."},
                "time": {"type": "number", "minimum": 0,
                         "description": "Virtual seconds at which it failed."},
            },
            "additionalProperties": False},
    },
}


def _classnames(results: Sequence[ScenarioResult]) -> list[str]:
    """A distinct JUnit classname per result: its file's path (relative to the current
    folder when inside it) without ``.scenario.yaml``, folders joined by dots, so two
    ``same.scenario.yaml`` in different folders differ."""
    names: list[str] = []
    used: set[str] = set()
    here = os.getcwd()
    for r in results:
        path = os.path.normpath(r.scenario.path)
        if os.path.isabs(path) and os.path.commonpath([here, path]) == here:
            path = os.path.relpath(path, here)
        folder = os.path.dirname(path).strip(os.sep).replace(os.sep, ".")
        stem = scenario_stem(path) or "scenario"
        base = f"{folder}.{stem}" if folder and folder != "." else stem
        name, n = base, 2
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        names.append(name)
    return names


def junit_xml(results: Sequence[ScenarioResult], suite: str = "player_sim scenarios") -> str:
    """A JUnit XML report valid against Jenkins' ``junit-10.xsd``: one testcase per
    scenario (unique classname from its path), a failure or error per failed one, and
    the file, seed, virtual duration and covered rules in the testcase's
    ``system-out``. ``time`` is ``0``: a report carries no wall-clock time, so the same
    run gives the same bytes."""
    from xml.etree import ElementTree  # only this report needs it

    failures = str(sum(r.status == "failed" for r in results))
    errors = str(sum(r.status == "error" for r in results))
    root = ElementTree.Element("testsuites", {
        "name": suite, "tests": str(len(results)), "failures": failures, "errors": errors,
        "time": "0"})
    node = ElementTree.SubElement(root, "testsuite", {
        "name": suite, "tests": str(len(results)), "failures": failures, "errors": errors,
        "skipped": "0", "time": "0"})
    for r, classname in zip(results, _classnames(results), strict=True):
        case = ElementTree.SubElement(node, "testcase", {
            "classname": classname, "name": r.scenario.name, "time": "0"})
        if r.failures:
            tag = "error" if r.status == "error" else "failure"
            first = r.failures[0]
            element = ElementTree.SubElement(case, tag, {
                "message": f"{first.location}: {first.message}", "type": first.kind})
            element.text = format_result(r)
        out = ElementTree.SubElement(case, "system-out")
        out.text = (f"file: {r.scenario.path}\nseed: {r.seed}\n"
                    f"virtual duration: {_clock(r.duration)}\n"
                    f"records: {len(r.trace)}\n"
                    f"covers: {' '.join(r.scenario.covers) or '-'}\n")
    ElementTree.indent(root)
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            + ElementTree.tostring(root, encoding="unicode") + "\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` all at once: a temporary file, then ``os.replace``.

    A reader never sees a half-written report; folders are created as needed. A
    target that exists and is not a regular file (``/dev/null``, ``/dev/stdout``, a
    FIFO) is written through, never replaced.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
        with open(path, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        return
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    import tempfile  # only writing a report file needs it

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
    """A fixed-width table: status, file, virtual time covered, trace records, failures,
    rules covered."""
    rows = [("status", "scenario", "virtual", "records", "failures", "covers")]
    for r in results:
        rows.append((_STATUS_WORD[r.status], r.scenario.path,
                     _clock(r.duration), str(len(r.trace)),
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
