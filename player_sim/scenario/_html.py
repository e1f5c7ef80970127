"""A scenario run as one self-contained HTML page: the verdict, the failures, the pictures.

:func:`html_report` writes a summary table, then per scenario its verdict; for
each failure what was expected (as written), where, what happened instead, the
scenario's lines around it and the trace window around the failing instant; and
the scenario's timeline as inline SVG with every failure marked. No script, no
external resource (a Content-Security-Policy forbids both), no wall-clock time:
the same results give the same bytes. Every text from a scenario file, a trace or
a result is escaped (scenario files are untrusted input); values of secret keys
(``password``, ``secret``, ...) and of ``users:`` maps (user name to password) are
replaced by ``***``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from ._report import format_record, summary_line
from ._runner import Failure, ScenarioResult, format_time

if TYPE_CHECKING:
    from .._timeline import FailureMark

__all__ = ["failure_marks", "html_report", "result_timeline"]

#: Scenario lines shown before and after a failing line.
_CONTEXT: Final = 3
#: Keys whose values never appear in a report (as the lab's logs redact passwords).
_SECRET: Final = re.compile(
    r"(?P<key>\b(?:password|passwd|secret|[a-z_]*_secret|api_key|private_key)\b['\"]?\s*:\s*)"
    r"(?P<value>[^,}\]\s][^,}\]]*|$)", re.IGNORECASE)
#: A map of user names to passwords (``users:`` of the OTT and OVP backends).
_USERS: Final = re.compile(r"^(?P<indent>\s*)(?:-\s*)?users\s*:\s*(?:#.*)?$")
_INLINE_USERS: Final = re.compile(r"(?P<head>\busers\s*:\s*\{)(?P<body>[^}]*)")
_ENTRY: Final = re.compile(r"(?P<key>[^\s{},:][^{},:]*:\s*)(?P<value>[^,}\s][^,}]*)")
_STATUS_WORD: Final = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}
_MAX_SOURCE_BYTES: Final = 1 << 20  # a scenario excerpt reads at most this much of its file

_STYLE: Final = """
body{font-family:system-ui,'DejaVu Sans',Verdana,sans-serif;margin:24px;color:#222;
background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:left;font-size:13px}th{background:#f3f3f3}
.badge{display:inline-block;min-width:44px;text-align:center;border-radius:3px;color:#fff;
font-weight:bold;font-size:12px;padding:1px 4px}
.passed .badge,.badge.passed{background:#2e7d32}.failed .badge,.badge.failed{background:#c62828}
.error .badge,.badge.error{background:#6a1b9a}
.meta{color:#555;font-size:13px}
.failure{border-left:4px solid #c62828;background:#fff5f5;padding:6px 12px;margin:10px 0}
.failure h3{font-size:14px;margin:4px 0}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:6px;overflow-x:auto;font-size:12px;
line-height:1.35}
pre .hit{background:#ffe0e0;font-weight:bold;display:inline-block;min-width:100%}
figure{margin:10px 0;overflow-x:auto}figure svg{max-width:none}
summary{cursor:pointer;color:#1565c0}
"""


def failure_marks(result: ScenarioResult) -> list[FailureMark]:
    """The result's failures as timeline marks: what failed, where it is written, why."""
    from .._timeline import FailureMark  # drawing only: not imported by every run

    return [FailureMark(f.time, _what(f), str(f.location), f.message) for f in result.failures]


def result_timeline(result: ScenarioResult) -> str:
    """The run drawn as SVG over the whole virtual time it covered, failures marked."""
    from .._timeline import render_timeline

    return render_timeline(result.trace, result.scenario.name, end=result.duration,
                           failures=failure_marks(result))


def _what(failure: Failure) -> str:
    if failure.kind == "rule":
        return f"rule {failure.text}"
    return f"{failure.kind} {redact(failure.text)}"


def redact(text: str) -> str:
    """``text`` with the value of every secret key (``password: x``) replaced by ``***``."""
    return _SECRET.sub(lambda m: m.group("key") + ("***" if m.group("value") else ""), text)


def _redact_lines(lines: Sequence[str]) -> list[str]:
    """A scenario file's lines with secrets replaced: :func:`redact` on each, and every
    value of a ``users:`` map (user name to password), inline or as a block."""
    out: list[str] = []
    block: int | None = None  # the indentation of an open ``users:`` block
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if block is not None and line.strip() and indent <= block:
            block = None
        if block is not None and line.strip() and not line.lstrip().startswith("#"):
            line = _ENTRY.sub(lambda m: m.group("key") + "***", line)
        match = _USERS.match(line)
        if match:
            block = len(match.group("indent"))
        line = _INLINE_USERS.sub(lambda m: m.group("head") + _ENTRY.sub(
            lambda e: e.group("key") + "***", m.group("body")), line)
        out.append(redact(line))
    return out


def html_report(results: Sequence[ScenarioResult],
                title: str = "player_sim scenarios") -> str:
    """The results as one HTML document (text ending with a newline); see the module."""
    from html import escape as e  # only drawing a report needs it

    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
           "style-src 'unsafe-inline'; img-src data:\">",
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
           f"<h1>{e(title)}</h1>", f'<p class="summary">{e(summary_line(results))}</p>']
    out.append("<table><thead><tr><th>status</th><th>scenario</th><th>file</th>"
               "<th>virtual time</th><th>trace records</th><th>failures</th></tr></thead>"
               "<tbody>")
    for index, r in enumerate(results, start=1):
        out.append(f'<tr class="{r.status}"><td><span class="badge">'
                   f"{_STATUS_WORD[r.status]}</span></td>"
                   f'<td><a href="#scenario-{index}">{e(r.scenario.name)}</a></td>'
                   f"<td>{e(r.scenario.path)}</td><td>{e(format_time(r.duration))}</td>"
                   f"<td>{len(r.trace)}</td><td>{len(r.failures)}</td></tr>")
    out.append("</tbody></table>")
    for index, r in enumerate(results, start=1):
        out += _scenario(index, r)
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _scenario(index: int, r: ScenarioResult) -> list[str]:
    from html import escape as e  # only drawing a report needs it

    s = r.scenario
    out = [f'<section class="scenario {r.status}" id="scenario-{index}">',
           f'<h2><span class="badge">{_STATUS_WORD[r.status]}</span> {e(s.name)}</h2>',
           f'<p class="meta">{e(s.path)} · seed {r.seed} · virtual time '
           f"{e(format_time(r.duration))} · {len(r.trace)} trace records"
           + (f" · covers {e(', '.join(s.covers))}" if s.covers else "") + "</p>"]
    if s.description:
        out.append(f'<p class="description">{e(redact(s.description))}</p>')
    # Numbered as the timeline numbers its marks: in time order.
    ordered = sorted(r.failures, key=lambda f: (round(f.time, 6), _what(f), str(f.location),
                                                f.message))
    for number, failure in enumerate(ordered, start=1):
        out += _failure(number, failure)
    # Each drawing gets its own pattern id: an HTML page shares one id space.
    svg = result_timeline(r).split("\n", 1)[1].replace("blocked-hatch",
                                                          f"blocked-hatch-{index}")
    if r.passed:
        out += ["<details>", "<summary>timeline</summary>",
                f'<figure class="timeline">{svg}</figure>', "</details>"]
    else:
        out.append(f'<figure class="timeline">{svg}</figure>')
    out.append("</section>")
    return out


def _failure(number: int, failure: Failure) -> list[str]:
    from html import escape as e  # only drawing a report needs it

    loc = failure.location
    out = ['<div class="failure">',
           f"<h3>✗{number} {e(failure.kind)} at {e(str(loc))} · "
           f"{e(format_time(failure.time))}</h3>",
           f'<p class="expectation">expected: <code>{e(_what(failure))}</code></p>',
           f'<p class="message">{e(failure.message)}</p>']
    excerpt = _source_excerpt(loc.file, loc.line)
    if excerpt:
        out.append('<pre class="source">')
        for line_number, text in excerpt:
            line = f"{line_number:>5} | {e(text)}"
            out.append(f'<span class="hit">{line}</span>' if line_number == loc.line else line)
        out.append("</pre>")
    if failure.excerpt:
        out.append(f'<p class="meta">trace around {e(format_time(failure.time))} '
                   "(&gt; marks the failing instant):</p>")
        out.append('<pre class="trace">')
        for record in failure.excerpt:
            hit = abs(record.t - failure.time) < 1e-9
            line = f"{'&gt;' if hit else ' '} {e(format_record(record))}"
            out.append(f'<span class="hit">{line}</span>' if hit else line)
        out.append("</pre>")
    out.append("</div>")
    return out


def _source_excerpt(path: str, line: int) -> list[tuple[int, str]]:
    """The lines around ``line`` of the scenario file (none if it can't be read)."""
    if line < 1:
        return []
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_SOURCE_BYTES)
    except OSError:
        return []
    lines = _redact_lines(data.decode("utf-8", errors="replace").splitlines()[:line + _CONTEXT])
    first = max(line - _CONTEXT, 1)
    return [(n, lines[n - 1]) for n in range(first, min(line + _CONTEXT, len(lines)) + 1)]
