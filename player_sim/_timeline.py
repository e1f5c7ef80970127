"""A trace drawn as a standalone SVG timeline, for people who would rather look than read.

One lane per device, in order of first appearance in the trace. Each lane shows,
over virtual time:

* the app state (foreground, background, PiP, terminated) as a thin band and the
  playback state as a wide band below it, one ``<rect>`` per interval of constant
  state (intervals of zero virtual duration are not drawn);
* each heartbeat the device sent as a tick, and its notifications as markers
  (SSM errors, other play-pipeline errors, playback started / stopped, zap);
* user actions as small triangles above the bands, and the periods a synchronous
  SSM call blocked the main thread as a hatched overlay;
* its SSM sessions as seen by the server: a bar from creation to the end, closed
  by a mark saying how it ended (torn down, expired, evicted);
* the part of a session that outlives its killed app as a zombie;
* backend answers forced by a planned fault (records with ``forced``) as fault
  marks; above the lanes, what was planned for the world: outages
  (``outage_planned``, also shading every lane), extra latency
  (``latency_planned``) and forced errors (``fault_planned``).

Below the devices, one lane per account: how many SSM sessions the server holds
for it over time, how many of them are zombies (held for a killed app), and the
limit the server applied. Failures handed in as :class:`FailureMark` (a broken
rule, an expectation that did not hold) are drawn as numbered red lines across
every lane and listed under the title; in a long run, each failure also gets a
zoomed panel around its instant. The legend lists only the symbols drawn.

The output's size is bounded by the number of records (and failures), never by
the virtual time covered: an idle month draws like an idle minute.

Every mark carries a ``<title>`` (a tooltip in browsers) with its exact time and
payload, and ``data-*`` attributes for tools. The drawing is a pure function of
the trace: the same trace gives byte-identical SVG text (fixed float formatting,
no generated ids, no dict-order dependence).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from . import signals
from .player._states import AppState, PlaybackState
from .trace import Trace, TraceRecord

__all__ = ["FailureMark", "render_timeline", "window_around"]


# --- XML text ------------------------------------------------------------------------
# The same text as xml.sax.saxutils' escape and quoteattr, without importing that module
# (it imports urllib.request, and with it http, email and ssl: about a tenth of
# importing player_sim). tests/test_timeline_escape.py checks both give the same text.

def escape(data: str) -> str:
    """``data`` with ``&``, ``<`` and ``>`` escaped, for XML character data."""
    return data.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


_ATTRIBUTE_ESCAPES: Final = str.maketrans({"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def quoteattr(data: str) -> str:
    """``data`` escaped and quoted as an XML attribute value: in double quotes, or in
    single quotes when it holds a double quote but no single one (else with its double
    quotes escaped); line breaks and tabs as character references."""
    data = escape(data).translate(_ATTRIBUTE_ESCAPES)
    if '"' not in data:
        return f'"{data}"'
    if "'" not in data:
        return f"'{data}'"
    quoted = data.replace('"', "&quot;")
    return f'"{quoted}"'

# --- layout (pixels) ---------------------------------------------------------------

_WIDTH: Final = 1280
_LABEL_W: Final = 170
_RIGHT: Final = 40
_PLOT_W: Final = _WIDTH - _LABEL_W - _RIGHT
_TOP: Final = 80  # first lane starts here (title and axis above)
_LANE_H: Final = 100
_WORLD_ROW_H: Final = 22
_CHAR_W: Final = 6.2  # a generous width of one character of the 10 px marker labels

# Offsets inside a lane.
_ACTION_Y: Final = 4
_APP_Y, _APP_H = 12, 8
_PLAY_Y, _PLAY_H = 22, 24
_TICK_Y, _TICK_H = 50, 8
_MARK_Y: Final = 66  # centre of notification and fault markers
_SESSION_Y: Final = 88  # centre of session bars
_KS_ROW_H: Final = 18  # the KS row, drawn when the trace has session-provider records
_KS_Y: Final = _LANE_H + 4
_ACCOUNT_H: Final = 58  # an account lane: session counts over time
_ACCOUNT_PLOT_H: Final = 38
_FAILURE_ROW_H: Final = 16  # one line of the failure list under the title
_PANEL_CAPTION_H: Final = 24
#: A failure's neighbourhood narrower than this part of the drawn span gets a zoom panel.
_ZOOM_RATIO: Final = 20
_MAX_ZOOMS: Final = 3
_MAX_LISTED: Final = 12  # failures listed under the title (all are drawn)

# --- colours ----------------------------------------------------------------------

_P, _A = PlaybackState, AppState
#: The colour of each playback state's band; every state of the enum needs one.
_PLAYBACK_COLOUR: Final[Mapping[PlaybackState, str]] = {
    _P.IDLE: "#d9d9d9",
    _P.OBTAINING_KS: "#fde7a9",
    _P.LOADING_MEDIA: "#fdd882",
    _P.SSM_SETUP: "#fdc35a",
    _P.LICENSE_REQUEST: "#f6a93b",
    _P.PLAYING: "#4caf50",
    _P.PAUSED: "#7fb3e6",
    _P.STOPPING: "#c98bd6",
    _P.STOPPED: "#9e9e9e",
    _P.FAILED: "#e53935",
}
#: The colour of each app state's band; every state of the enum needs one.
_APP_COLOUR: Final[Mapping[AppState, str]] = {
    _A.FOREGROUND: "#81c784",
    _A.BACKGROUND: "#546e7a",
    _A.PIP: "#8e63ce",
    _A.TERMINATED: "#212121",
}
#: Band colours by state value as the trace writes it, in the enums' order (the legend's).
PLAYBACK_COLOURS: Final = {state.value: _PLAYBACK_COLOUR[state] for state in PlaybackState}
APP_COLOURS: Final = {state.value: _APP_COLOUR[state] for state in AppState}
_UNKNOWN_COLOUR: Final = "#ffffff"

#: Marker shape and colour per notification kind; kinds not listed get the last entry.
_NOTIFICATION_STYLE: Final[dict[str, tuple[str, str]]] = {
    "ssm_setup_error": ("diamond", "#d50000"),
    "ssm_heartbeat_error": ("diamond", "#ff6d00"),
    "ssm_teardown_error": ("diamond", "#6d4c41"),
    "license_error": ("triangle", "#d50000"),
    "ks_error": ("triangle", "#ad1457"),
    "media_load_error": ("triangle", "#6a1b9a"),
    "content_token_error": ("triangle", "#ef6c00"),
    "playback_started": ("circle", "#1b5e20"),
    "playback_stopped": ("square", "#424242"),
    "zap": ("chevron", "#1565c0"),
    "": ("circle", "#00838f"),
}
_SESSION_COLOUR: Final = "#26a69a"
_SESSION_ENDS: Final = {
    "ssm_session_ended": ("bar", "#00695c", "torn down"),
    "ssm_session_expired": ("cross", "#000000", "expired"),
    "ssm_session_evicted": ("triangle", "#7b1fa2", "evicted"),
    "ssm_session_killed": ("cross", "#c62828", "killed by the operator"),
}
_HEARTBEAT_COLOUR: Final = "#2e7d32"
_FAULT_COLOUR: Final = "#ffca28"
_ZOMBIE_COLOUR: Final = "#b71c1c"
_FAILURE_COLOUR: Final = "#d50000"
_LIMIT_COLOUR: Final = "#37474f"
_OUTAGE_FILL: Final = "#ef5350"
_LATENCY_FILL: Final = "#ffe0b2"
#: World records drawn in the row above the lanes.
_PLANNED: Final = frozenset({"outage_planned", "fault_planned", "latency_planned"})
_AXIS_STEPS: Final = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15,
                      30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
                      86400, 172800, 432000, 864000)
_KS_COLOUR: Final = "#3949ab"
_KS_FAILURE_COLOUR: Final = "#d50000"
#: Session-provider records drawn in the KS row: a shape and colour per kind.
_KS_MARKS: Final[dict[str, tuple[str, str, str]]] = {
    "session_started": ("square", _KS_COLOUR, "provider session started"),
    "ks_refreshed": ("circle", _KS_COLOUR, "KS refreshed / renewed"),
    "ks_renewed": ("circle", _KS_COLOUR, ""),
    "session_ended": ("bar", "#616161", "provider session ended"),
    "session_forgotten": ("bar", "#616161", ""),
    "session_start_failed": ("cross", _KS_FAILURE_COLOUR, "provider failure"),
    "ks_refresh_failed": ("cross", _KS_FAILURE_COLOUR, ""),
    "ott_error": ("cross", _KS_FAILURE_COLOUR, ""),
    "ovp_error": ("cross", _KS_FAILURE_COLOUR, ""),
}
_KS_KINDS: Final = frozenset({*_KS_MARKS, "ks_issued", "ks_revoked", "ks_used"})
#: Notification kinds drawn as bands, not markers.
_NOT_MARKERS: Final = frozenset({"state_changed"})


@attrs.frozen
class _Interval:
    state: str
    start: float
    end: float


@attrs.define
class _Lane:
    device: str
    start: float
    records: list[TraceRecord] = attrs.field(factory=list)


# --- public ------------------------------------------------------------------------


@attrs.frozen
class FailureMark:
    """A failure to draw on a timeline, at virtual time ``t``.

    ``what`` names what failed (a rule id, or an expectation as written),
    ``where`` where it is written (``file:line:column``; may be empty) and
    ``message`` what happened instead. Only ``t`` places it; the rest is text.
    """

    t: float
    what: str
    where: str = ""
    message: str = ""


def window_around(trace: Trace | Iterable[TraceRecord], t: float) -> tuple[float, float]:
    """The window a zoom around virtual time ``t`` shows: ``(start, end)``.

    It spans up to 12 records before ``t`` and 4 after it (as a failure's trace
    excerpt does), stopping at an idle gap (one longer than a minute and than the
    span gathered so far), at least 10 s wide, with a margin on both sides; never
    before 0. Raises ``ValueError`` unless ``t`` is a finite time of at least 0.
    """
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"a zoom needs a finite time of at least 0, not {t!r}")
    times = sorted({round(r.t, 6) for r in trace})
    lo = hi = t
    for x in reversed([x for x in times if x <= t][-12:]):
        if lo - x > max(60.0, hi - lo):
            break
        lo = x
    for x in [x for x in times if x > t][:4]:
        if x - hi > max(60.0, hi - lo):
            break
        hi = x
    width = max(hi - lo, 10.0)
    centre = (lo + hi) / 2
    lo, hi = centre - width * 0.55, centre + width * 0.55
    if lo < 0:
        lo, hi = 0.0, hi - lo
    return round(lo, 6), round(hi, 6)


@attrs.frozen
class _Drawing:
    """What every panel draws from: the trace split into lanes, and the failures."""

    records: list[TraceRecord]
    lanes: list[_Lane]
    accounts: list[_Account]
    planned: list[TraceRecord]
    failures: list[FailureMark]
    end: float  # state intervals run to here
    with_ks: bool
    used: set[str]  # legend keys of the symbols drawn


def render_timeline(trace: Trace | Iterable[TraceRecord], title: str, *,
                    start: float = 0.0, end: float | None = None,
                    failures: Iterable[FailureMark] = ()) -> str:
    """The trace as a standalone SVG document (text, ending with a newline).

    The drawing shows virtual time from ``start`` to ``end`` (by default the whole
    trace: ``end`` is the last record's time; a scenario that ended with a long
    wait passes its end time). A narrower window zooms in; what lies outside it
    is left out. A window of no width (a run that covered 0 s) draws 1 s.
    ``failures`` are marked where they happened; a failure whose neighbourhood
    (:func:`window_around`) is under a twentieth of the window also gets a zoomed
    panel (at most three). Raises ``ValueError`` unless ``0 <= start <= end``,
    both finite.
    """
    # Times to the microsecond, as the JSONL form writes them: a trace read back from
    # its file draws exactly like the trace in memory.
    records = [r if r.t == round(r.t, 6) else attrs.evolve(r, t=round(r.t, 6)) for r in trace]
    if not math.isfinite(start) or (end is not None and not math.isfinite(end)):
        raise ValueError(f"a timeline window needs finite times, not [{start}, {end}]")
    start, end = round(start, 6), None if end is None else round(end, 6)
    last = max((r.t for r in records), default=0.0)
    if end is None:
        end = max(last, start + 1.0) if last <= start else last
    elif end == start >= 0:
        end = start + 1.0  # a run that covered no time: an empty second
    if not 0 <= start < end:
        raise ValueError(f"a timeline window needs 0 <= start < end, not [{start}, {end}]")
    marks = sorted((attrs.evolve(f, t=round(f.t, 6)) for f in failures),
                   key=lambda f: (f.t, f.what, f.where, f.message))
    if any(not math.isfinite(f.t) for f in marks):
        raise ValueError("a failure mark needs a finite time")
    lanes = _lanes(records)
    drawing = _Drawing(
        records=records, lanes=lanes, accounts=_accounts(records, lanes, max(end, last)),
        planned=[r for r in records if r.device is None and r.kind in _PLANNED],
        failures=marks, end=max(end, last), with_ks=any(r.kind in _KS_KINDS for r in records),
        used=set())
    main = _Scale(start, end)

    listed = [f for f in marks if main.shows(f.t)]
    body: list[str] = []
    top = 48 + _FAILURE_ROW_H * (min(len(listed), _MAX_LISTED) + (1 if listed else 0))
    if listed:
        body += _failure_list(listed, marks)
    lines, top = _panel(drawing, main, top, "")
    body += lines
    for zoom in _zooms(drawing, main):
        caption = (f"zoom: {_duration(zoom.start)} to {_duration(zoom.end)}, around failure "
                   + ", ".join(f"✗{marks.index(f) + 1}" for f in marks if zoom.shows(f.t)))
        lines, top = _panel(drawing, zoom, top + 16, caption)
        body += lines
    legend = _legend(top + 46, drawing.used)
    height = legend.bottom + 16

    lanes_text = f"{len(lanes)} device{'s' if len(lanes) != 1 else ''}"
    failed = f" · {len(marks)} failure{'s' if len(marks) != 1 else ''}" if marks else ""
    out: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" font-family="DejaVu Sans, Verdana, sans-serif" '
        'font-size="12">',
        f"<title>{escape(title)}</title>",
        "<defs>",
        '<pattern id="blocked-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#000000" '
        'fill-opacity="0.15"/><line x1="0" y1="0" x2="0" y2="6" stroke="#000000" '
        'stroke-width="2.5"/></pattern>',
        "</defs>",
        f'<rect class="background" x="0" y="0" width="{_WIDTH}" height="{height}" '
        'fill="#ffffff"/>',
        f'<text class="title" x="16" y="26" font-size="18" font-weight="bold">'
        f"{escape(title)}</text>",
        f'<text class="subtitle" x="16" y="46" fill="#555555">virtual time '
        f"{escape(_duration(main.start))} to "
        f"{escape(_duration(main.end))} · {lanes_text} · "
        f"{len(records)} trace records{failed}</text>",
        *body,
        *legend.lines,
        "</svg>",
    ]
    return "\n".join(out) + "\n"


def _panel(drawing: _Drawing, scale: _Scale, top: int, caption: str) -> tuple[list[str], int]:
    """The axis, the world row, the device lanes, the account lanes and the failure lines
    over one window; returns the lines and the panel's bottom."""
    out = [f'<g class="panel" data-start="{_num(scale.start)}" data-end="{_num(scale.end)}">']
    if caption:
        out.append(f'<text class="panel-caption" x="16" y="{top + 14}" font-weight="bold" '
                   f'fill="{_FAILURE_COLOUR}">{escape(caption)}</text>')
        top += _PANEL_CAPTION_H
    row_top = top + 32
    lanes_top = row_top + (_WORLD_ROW_H if drawing.planned else 0)
    lane_h = _LANE_H + (_KS_ROW_H if drawing.with_ks else 0)
    accounts_top = lanes_top + lane_h * max(len(drawing.lanes), 1)
    bottom = accounts_top + _ACCOUNT_H * len(drawing.accounts)
    out += _axis(scale, row_top - 12, bottom)
    out += _world_row(drawing.planned, scale, row_top, bottom, drawing.used)
    if not drawing.lanes:
        out.append(f'<text x="{_LABEL_W}" y="{lanes_top + 40}" fill="#777777">'
                   "no device events in this trace</text>")
    for index, lane in enumerate(drawing.lanes):
        out += _lane(lane, lanes_top + index * lane_h, lane_h, drawing.end, scale,
                     drawing.with_ks, drawing.used)
    for index, account in enumerate(drawing.accounts):
        out += _account(account, accounts_top + index * _ACCOUNT_H, scale, drawing.used)
    if any(scale.shows(f.t) for f in drawing.failures):
        out += _failure_lines(drawing.failures, scale, row_top - 12, bottom, drawing.used)
        bottom += 20  # the flags, under the lanes
    out.append("</g>")
    return out, bottom


def _zooms(drawing: _Drawing, scale: _Scale) -> list[_Scale]:
    """Windows around the failures too narrow to read in ``scale`` (overlapping ones
    merged), at most :data:`_MAX_ZOOMS`."""
    windows: list[tuple[float, float]] = []
    for failure in drawing.failures:
        if not scale.shows(failure.t):
            continue
        lo, hi = window_around(drawing.records, failure.t)
        lo, hi = max(lo, scale.start), min(hi, scale.end)
        if (hi - lo) * _ZOOM_RATIO > scale.end - scale.start or hi <= lo:
            continue
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(hi, windows[-1][1]))
        else:
            windows.append((lo, hi))
    return [_Scale(lo, hi) for lo, hi in windows[:_MAX_ZOOMS]]


def _failure_list(shown: Sequence[FailureMark], marks: Sequence[FailureMark]) -> list[str]:
    """One line per failure under the title (the first :data:`_MAX_LISTED`)."""
    out = ['<g class="failure-list">']
    for row, failure in enumerate(shown[:_MAX_LISTED]):
        number = marks.index(failure) + 1
        where = f" at {failure.where}" if failure.where else ""
        text = f"✗{number} {_when(failure.t)} · {failure.what}{where}: {failure.message}"
        out.append(f'<text class="failure-item" x="16" y="{62 + _FAILURE_ROW_H * row}" '
                   f'fill="{_FAILURE_COLOUR}">{escape(_clip(text, 190))}'
                   f"<title>{escape(text)}</title></text>")
    if len(shown) > _MAX_LISTED:
        out.append(f'<text x="16" y="{62 + _FAILURE_ROW_H * _MAX_LISTED}" fill="#777777">'
                   f"… and {len(shown) - _MAX_LISTED} more failures</text>")
    out.append("</g>")
    return out


def _failure_lines(failures: Sequence[FailureMark], scale: _Scale, axis_y: int, bottom: int,
                   used: set[str]) -> list[str]:
    """A red line from the axis down every lane and a numbered flag under the lanes,
    per failure (a flag that would overlap the previous one is nudged right)."""
    out = ['<g class="failures">']
    last_x = -math.inf
    for number, failure in enumerate(failures, start=1):
        if not scale.shows(failure.t):
            continue
        used.add("failure")
        x = scale.x(failure.t)
        flag_x = max(x, last_x + 22)
        last_x = flag_x
        where = f" at {failure.where}" if failure.where else ""
        tip = f"failure {number} · {_when(failure.t)} · {failure.what}{where}: {failure.message}"
        out.append(f'<g class="failure" data-t="{_num(failure.t)}" '
                   f'data-what={quoteattr(failure.what)} data-where={quoteattr(failure.where)}>'
                   f"<title>{escape(tip)}</title>"
                   f'<line x1="{_px(x)}" y1="{axis_y}" x2="{_px(x)}" y2="{bottom + 4}" '
                   f'stroke="{_FAILURE_COLOUR}" stroke-width="1.5" stroke-dasharray="5 3"/>'
                   f'<rect x="{_px(flag_x - 11)}" y="{bottom + 4}" width="22" height="14" rx="3" '
                   f'fill="{_FAILURE_COLOUR}"/><text x="{_px(flag_x)}" y="{bottom + 15}" '
                   'font-size="10" font-weight="bold" fill="#ffffff" text-anchor="middle">'
                   f"✗{number}</text></g>")
    out.append("</g>")
    return out


# --- lanes -----------------------------------------------------------------------------


def _lanes(records: Sequence[TraceRecord]) -> list[_Lane]:
    """One lane per device, in order of first appearance."""
    lanes: dict[str, _Lane] = {}
    for record in records:
        if record.device is None:
            continue
        lane = lanes.get(record.device)
        if lane is None:
            lane = lanes[record.device] = _Lane(record.device, record.t)
        lane.records.append(record)
    return list(lanes.values())


@attrs.frozen
class _Account:
    """One account's SSM sessions over time: intervals of a constant count (> 0)."""

    name: str
    active: list[tuple[float, float, int]]
    zombies: list[tuple[float, float, int]]
    limits: list[tuple[float, float, int]]
    peak: int


def _steps(changes: Sequence[tuple[float, int]], end: float) -> list[tuple[float, float, int]]:
    """``(t, value)`` changes in time order as intervals of a constant non-zero value
    (the last change of an instant wins; the last value runs to ``end``)."""
    out: list[tuple[float, float, int]] = []
    for (t, value), (following, _) in zip(changes, [*changes[1:], (end, 0)], strict=False):
        if following > t and value:
            if out and out[-1][1] == t and out[-1][2] == value:
                out[-1] = (out[-1][0], following, value)
            else:
                out.append((t, following, value))
    return out


def _accounts(records: Sequence[TraceRecord], lanes: Sequence[_Lane],
              end: float) -> list[_Account]:
    """One entry per account the SSM server held sessions for, in order of first session.

    The live count is the ``active`` the server wrote with each session event; a
    zombie is a session held while its device's app is terminated (killed)."""
    killed = {lane.device: [(iv.start, iv.end) for iv in
                            _state_intervals(lane.records, "app", lane.start, end)
                            if iv.state == "terminated"] for lane in lanes}
    active: dict[str, list[tuple[float, int]]] = {}
    limits: dict[str, list[tuple[float, int]]] = {}
    opened: dict[Any, TraceRecord] = {}
    held: dict[str, list[tuple[float, int]]] = {}  # zombie +1 / -1 edges
    sessions: list[tuple[TraceRecord, float]] = []
    for r in records:
        if r.kind != "ssm_session_created" and r.kind not in _SESSION_ENDS:
            continue
        account = str(r.data.get("account", "?"))
        count = r.data.get("active")
        if isinstance(count, int) and not isinstance(count, bool):
            active.setdefault(account, []).append((r.t, count))
        if r.kind == "ssm_session_created":
            opened[r.data.get("session")] = r
            limit = r.data.get("limit")
            if isinstance(limit, int) and not isinstance(limit, bool):
                limits.setdefault(account, []).append((r.t, limit))
        else:
            start = opened.pop(r.data.get("session"), None)
            if start is not None:
                sessions.append((start, r.t))
    sessions += [(start, end) for start in opened.values()]
    for start, stop in sessions:
        account = str(start.data.get("account", "?"))
        for dead_from, dead_to in killed.get(start.device or "", []):
            z0, z1 = max(start.t, dead_from), min(stop, dead_to)
            if z1 > z0:
                held.setdefault(account, []).extend([(z0, 1), (z1, -1)])
    accounts = []
    for name, changes in active.items():
        zombies: list[tuple[float, int]] = []
        count = 0
        for t, delta in sorted(held.get(name, []), key=lambda edge: (edge[0], edge[1])):
            count += delta
            zombies.append((t, count))
        limit_steps = _steps(limits.get(name, []), end)
        peak = max([n for _, n in changes] + [n for *_, n in limit_steps] + [1])
        accounts.append(_Account(name, _steps(changes, end), _steps(zombies, end),
                                 limit_steps, peak))
    return accounts


def _account(account: _Account, top: int, scale: _Scale, used: set[str]) -> list[str]:
    """An account lane: live sessions as a step area, zombies over it, the limit dashed."""
    name = account.name
    base = top + 8 + _ACCOUNT_PLOT_H
    unit = _ACCOUNT_PLOT_H / account.peak
    out = [f'<g class="account" data-account={quoteattr(name)}>',
           f'<line class="lane-separator" x1="0" y1="{top + _ACCOUNT_H}" x2="{_WIDTH}" '
           f'y2="{top + _ACCOUNT_H}" stroke="#cccccc"/>',
           f'<text class="lane-label" x="12" y="{top + 24}" font-size="13" '
           f'font-weight="bold">{escape(_clip("account " + name, 22))}</text>',
           f'<text class="row-caption" x="12" y="{top + 40}" fill="#555555">SSM sessions</text>',
           f'<line x1="{_LABEL_W}" y1="{base}" x2="{_LABEL_W + _PLOT_W}" y2="{base}" '
           'stroke="#bbbbbb"/>',
           f'<text x="{_LABEL_W - 6}" y="{base}" font-size="9" fill="#888888" '
           'text-anchor="end">0</text>',
           f'<text x="{_LABEL_W - 6}" y="{base - _ACCOUNT_PLOT_H + 8}" font-size="9" '
           f'fill="#888888" text-anchor="end">{account.peak}</text>']
    for cls, key, steps, colour, opacity, noun in (
            ("account-active", "account-active", account.active, _SESSION_COLOUR, "0.55",
             "live SSM session"),
            ("account-zombies", "account-zombies", account.zombies, _ZOMBIE_COLOUR, "0.9",
             "zombie session")):
        for t0, t1, count in steps:
            if not scale.overlaps(t0, t1):
                continue
            used.add(key)
            x0, x1 = scale.x(t0), scale.x(t1)
            tip = (f"account {name}: {count} {noun}{'s' if count != 1 else ''}, "
                   f"{_when(t0)} to {_when(t1)}")
            out.append(f'<rect class="{cls}" data-start="{_num(t0)}" data-end="{_num(t1)}" '
                       f'data-count="{count}" x="{_px(x0)}" y="{_px(base - count * unit)}" '
                       f'width="{_px(max(x1 - x0, 0.5))}" height="{_px(count * unit)}" '
                       f'fill="{colour}" fill-opacity="{opacity}"><title>{escape(tip)}'
                       "</title></rect>")
    for t0, t1, limit in account.limits:
        if not scale.overlaps(t0, t1):
            continue
        used.add("account-limit")
        y = _px(base - limit * unit)
        tip = f"account {name}: the server's limit is {limit}, {_when(t0)} to {_when(t1)}"
        out.append(f'<line class="account-limit" data-start="{_num(t0)}" '
                   f'data-end="{_num(t1)}" data-limit="{limit}" x1="{_px(scale.x(t0))}" '
                   f'y1="{y}" x2="{_px(scale.x(t1))}" y2="{y}" stroke="{_LIMIT_COLOUR}" '
                   f'stroke-width="1.5" stroke-dasharray="4 2"><title>{escape(tip)}</title>'
                   "</line>")
    out.append("</g>")
    return out


def _state_intervals(records: Sequence[TraceRecord], attribute: str, start: float,
                     end: float) -> list[_Interval]:
    """Intervals of constant ``attribute`` ("app" or "playback") of one device's records.

    Records carry the device's state *after* the event. Before the first record
    that carries a state, the state is the ``*_from`` of the first
    ``state_changed`` (foreground and idle for a new device).
    """
    changes: list[tuple[float, str]] = []
    for record in records:
        value = getattr(record, attribute)
        if value is not None and (not changes or changes[-1][1] != value):
            changes.append((record.t, value))
    if not changes:
        return []
    first_change = next((r for r in records if r.kind == "state_changed"), None)
    initial = first_change.data.get(f"{attribute}_from") if first_change is not None else None
    if isinstance(initial, str) and changes[0][0] > start:
        if initial == changes[0][1]:
            changes[0] = (start, initial)
        else:
            changes.insert(0, (start, initial))
    intervals = []
    for (t, value), following in zip(changes, [*changes[1:], (end, "")], strict=True):
        if following[0] > t:
            intervals.append(_Interval(value, t, following[0]))
    return intervals


def _lane(lane: _Lane, top: int, height: int, end: float, scale: _Scale,
          with_ks: bool, used: set[str]) -> list[str]:
    records = lane.records
    name = lane.device
    out = [f'<g class="lane" data-device={quoteattr(name)}>']
    out.append(f'<line class="lane-separator" x1="0" y1="{top + height}" x2="{_WIDTH}" '
               f'y2="{top + height}" stroke="#cccccc"/>')
    for caption, y in (("app", _APP_Y + 7), ("signals", _MARK_Y + 4),
                       ("SSM server", _SESSION_Y + 4), *([("KS", _KS_Y + 4)] if with_ks else [])):
        out.append(f'<text class="row-caption" x="{_LABEL_W - 8}" y="{top + y}" '
                   f'font-size="9" fill="#888888" text-anchor="end">{caption}</text>')
    out.append(f'<text class="lane-label" x="12" y="{top + 38}" font-size="14" '
               f'font-weight="bold">{escape(_clip(name, 20))}</text>')
    added = next((r for r in records if r.kind == "device_added"), None)
    if added is not None:
        bits = [str(added.data.get("account", "?"))]
        if added.data.get("ssm"):
            bits.append("SSM sync" if added.data.get("sync") else "SSM async")
        out.append(f'<text class="lane-detail" x="12" y="{top + 56}" fill="#555555">'
                   f"{escape(_clip(' · '.join(bits), 26))}</text>")
    for row, y, h in (("app", _APP_Y, _APP_H), ("playback", _PLAY_Y, _PLAY_H)):
        colours = APP_COLOURS if row == "app" else PLAYBACK_COLOURS
        out.append(f'<g class="{row}-states">')
        for iv in _state_intervals(records, row, lane.start, end):
            if not scale.overlaps(iv.start, iv.end):
                continue
            x0, x1 = scale.x(iv.start), scale.x(iv.end)
            used.add(f"{row}:{iv.state}")
            tip = (f"{name} · {row} {iv.state} · {_when(iv.start)} to {_when(iv.end)} "
                   f"({_duration(iv.end - iv.start)})")
            out.append(f'<rect class="band {row}-state" data-state={quoteattr(iv.state)} '
                       f'data-start="{_num(iv.start)}" data-end="{_num(iv.end)}" '
                       f'x="{_px(x0)}" y="{top + y}" width="{_px(max(x1 - x0, 0.5))}" '
                       f'height="{h}" fill="{colours.get(iv.state, _UNKNOWN_COLOUR)}" '
                       f'stroke="#ffffff" stroke-width="0.5"><title>{escape(tip)}</title>'
                       "</rect>")
            label = iv.state.replace("_", " ")
            if row == "playback" and x1 - x0 > 7 * len(label) + 8:
                colour = "#ffffff" if iv.state in ("playing", "failed", "stopped") else "#222222"
                out.append(f'<text class="band-label" x="{_px(x0 + 4)}" '
                           f'y="{top + y + h / 2 + 4:.0f}" fill="{colour}" '
                           f'pointer-events="none">{escape(label)}</text>')
        out.append("</g>")
    killed = [(iv.start, iv.end) for iv in _state_intervals(records, "app", lane.start, end)
              if iv.state == "terminated"]
    out += _killed(killed, top, scale, used)
    out += _blocked(records, top, scale, used)
    out += _actions(records, top, scale, used)
    out += _heartbeats(records, top, scale, used)
    out += _notifications(records, top, scale, used)
    out += _faults(records, top, scale, with_ks, used)
    out += _sessions(records, top, end, scale, killed, used)
    if with_ks:
        out += _ks(records, top, end, scale, used)
    out.append("</g>")
    return out


def _killed(killed: Sequence[tuple[float, float]], top: int, scale: _Scale,
            used: set[str]) -> list[str]:
    """Shade the playback band while the app is terminated: its last state is frozen."""
    out = ['<g class="killed">']
    for start, stop in killed:
        if not scale.overlaps(start, stop):
            continue
        x0, x1 = scale.x(start), scale.x(stop)
        used.add("killed")
        out.append(f'<rect class="app-killed" data-start="{_num(start)}" data-end="{_num(stop)}" '
                   f'x="{_px(x0)}" y="{top + _PLAY_Y}" width="{_px(max(x1 - x0, 1.0))}" '
                   f'height="{_PLAY_H}" fill="#000000" fill-opacity="0.45">'
                   f"<title>app killed {_when(start)}: the player's last state, frozen"
                   "</title></rect>")
        if x1 - x0 > 60:
            out.append(f'<text x="{_px(x1 - 4)}" y="{top + _PLAY_Y + _PLAY_H / 2 + 4:.0f}" '
                       'fill="#ffffff" text-anchor="end" pointer-events="none">app killed'
                       "</text>")
    out.append("</g>")
    return out


def _blocked(records: Sequence[TraceRecord], top: int, scale: _Scale,
             used: set[str]) -> list[str]:
    out = ['<g class="main-thread-blocked">']
    for r in records:
        if r.kind != "main_thread_blocked":
            continue
        seconds = float(r.data.get("seconds", 0.0))
        if seconds <= 0 or not scale.overlaps(r.t - seconds, r.t):
            continue
        x0, x1 = scale.x(r.t - seconds), scale.x(r.t)
        used.add("blocked")
        tip = f"main thread blocked {_duration(seconds)}, until {_when(r.t)}"
        out.append(f'<rect class="blocked" data-start="{_num(r.t - seconds)}" '
                   f'data-end="{_num(r.t)}" x="{_px(x0)}" y="{top + _PLAY_Y}" '
                   f'width="{_px(max(x1 - x0, 1.0))}" height="{_PLAY_H}" '
                   f'fill="url(#blocked-hatch)"><title>{escape(tip)}</title></rect>')
    out.append("</g>")
    return out


def _actions(records: Sequence[TraceRecord], top: int, scale: _Scale,
             used: set[str]) -> list[str]:
    out = ['<g class="actions">']
    y = top + _ACTION_Y
    for r in records:
        if r.kind not in ("action", "app_killed", "app_relaunched") or not scale.shows(r.t):
            continue
        # A kill or relaunch is the harness's doing, like a user's action.
        name = str(r.data.get("name", r.kind.removeprefix("app_").removesuffix("ed")))
        origin = str(r.data.get("origin", "user"))
        x = scale.x(r.t)
        fill = "#000000" if origin == "user" else "#ffffff"
        used.add("action:user" if origin == "user" else "action:app")
        tip = f"{_when(r.t)} · {origin} action: {name}{_payload(r.data, ('name', 'origin'))}"
        out.append(f'<path class="action" data-t="{_num(r.t)}" data-name={quoteattr(name)} '
                   f'data-origin={quoteattr(origin)} d="M{_px(x - 4)} {y - 3}h8l-4 6z" '
                   f'fill="{fill}" stroke="#000000" stroke-width="0.8">'
                   f"<title>{escape(tip)}</title></path>")
    out.append("</g>")
    return out


def _heartbeats(records: Sequence[TraceRecord], top: int, scale: _Scale,
                used: set[str]) -> list[str]:
    out = ['<g class="heartbeats">']
    y0, y1 = top + _TICK_Y, top + _TICK_Y + _TICK_H
    for r in records:
        if r.kind != "heartbeat_sent" or not scale.shows(r.t):
            continue
        x = _px(scale.x(r.t))
        renewal = r.data.get("renewal")  # enforced mode: the keep-alive is a license renewal
        what = "heartbeat sent" if renewal is None else f"license renewal sent ({renewal})"
        dash = "" if renewal is None else ' stroke-dasharray="2 1"'
        used.add("heartbeat")
        out.append(f'<line class="heartbeat" data-t="{_num(r.t)}" x1="{x}" y1="{y0}" '
                   f'x2="{x}" y2="{y1}" stroke="{_HEARTBEAT_COLOUR}" stroke-width="1.5"{dash}>'
                   f"<title>{escape(_when(r.t))} · {escape(what)}</title></line>")
    out.append("</g>")
    return out


_MARKER_KINDS: Final = tuple(k for k in signals.ALL_SIGNALS if k not in _NOT_MARKERS)


def _notifications(records: Sequence[TraceRecord], top: int, scale: _Scale,
                   used: set[str]) -> list[str]:
    """Markers in time order. One that would overlap the previous is nudged right, with
    a leader line from its true time; after each such cluster, a short label names its
    errors where there is room before the next cluster."""
    y = top + _MARK_Y
    placed: list[tuple[float, float, int, TraceRecord]] = []  # (true x, x, size, record)
    last_x = -math.inf
    for r in records:
        if r.kind not in _MARKER_KINDS or not scale.shows(r.t):
            continue
        shape, _ = _NOTIFICATION_STYLE.get(r.kind, _NOTIFICATION_STYLE[""])
        size = 6 if shape in ("diamond", "triangle") else 4
        true_x = scale.x(r.t)
        last_x = max(true_x, last_x + 2 * size + 1)
        placed.append((true_x, last_x, size, r))
    clusters: list[list[tuple[float, float, int, TraceRecord]]] = []
    for item in placed:
        if clusters and item[1] - item[0] > 0.01:
            clusters[-1].append(item)
        else:
            clusters.append([item])
    for index, cluster in enumerate(clusters):  # keep a cluster at the right edge inside
        overflow = cluster[-1][1] + cluster[-1][2] - (_WIDTH - 4)
        if overflow > 0:
            clusters[index] = [(tx, x - overflow, size, r) for tx, x, size, r in cluster]
    out = ['<g class="notifications">']
    for index, cluster in enumerate(clusters):
        for true_x, x, size, r in cluster:
            shape, colour = _NOTIFICATION_STYLE.get(r.kind, _NOTIFICATION_STYLE[""])
            used.add(f"signal:{r.kind if r.kind in _NOTIFICATION_STYLE else ''}")
            if x - true_x > 1:
                out.append(f'<path class="leader" d="M{_px(true_x)} {y - 8}L{_px(x)} '
                           f'{y - size}" stroke="#9e9e9e" stroke-width="0.8" fill="none"/>')
            tip = f"{_when(r.t)} · {r.kind}{_payload(r.data)}"
            out.append(f'<path class="notification" data-kind={quoteattr(r.kind)} '
                       f'data-t="{_num(r.t)}" d="{_shape(shape, x, y, size)}" '
                       f'fill="{colour}" stroke="#ffffff" stroke-width="0.8">'
                       f"<title>{escape(tip)}</title></path>")
        errors = [r for _, _, _, r in cluster if r.kind.endswith("_error")]
        if not errors:
            continue
        text = " · ".join(_error_label(r) for r in errors)
        colour = _NOTIFICATION_STYLE.get(errors[0].kind, _NOTIFICATION_STYLE[""])[1]
        # Right of the cluster if it fits there, else left of it, else shortened on the right.
        _, x, size, _ = cluster[-1]
        left = x + size + 3
        right = clusters[index + 1][0][1] - 8 if index + 1 < len(clusters) else _WIDTH - 4
        _, before_x, before_size, _ = cluster[0]
        room_left = before_x - before_size - 3 - (
            clusters[index - 1][-1][1] + 8 if index > 0 else _LABEL_W)
        if len(text) * _CHAR_W > right - left and len(text) * _CHAR_W <= room_left:
            out.append(f'<text class="marker-label" x="{_px(before_x - before_size - 3)}" '
                       f'y="{y + 4}" font-size="10" fill="{colour}" text-anchor="end">'
                       f"{escape(text)}</text>")
            continue
        label = _fit(text, (right - left) / _CHAR_W)
        if label:
            out.append(f'<text class="marker-label" x="{_px(left)}" y="{y + 4}" '
                       f'font-size="10" fill="{colour}">{escape(label)}</text>')
    out.append("</g>")
    return out


def _error_label(r: TraceRecord) -> str:
    label = r.kind.removeprefix("ssm_").replace("_", " ")
    code = r.data.get("ssm_code")
    if code is None:
        code = r.data.get("code")
    if code is None:
        code = r.data.get("http_status")
    return f"{label} {code}" if code is not None else label


def _fit(text: str, chars: float) -> str:
    """``text``, shortened with an ellipsis to ``chars`` characters; empty if under 8."""
    if len(text) <= chars:
        return text
    if chars < 8:
        return ""
    return text[: int(chars) - 1] + "…"


def _is_fault(r: TraceRecord) -> bool:
    """A backend's answer forced by a planned fault (not its own decision)."""
    return bool(r.data.get("forced"))


def _faults(records: Sequence[TraceRecord], top: int, scale: _Scale,
            with_ks: bool, used: set[str]) -> list[str]:
    """Forced answers: OTT / OVP ones in the KS row (when drawn), the others in the SSM
    server row; one that would overlap the previous in its row is nudged right."""
    out = ['<g class="faults">']
    last_x = {_SESSION_Y: -math.inf, _KS_Y: -math.inf}
    for r in records:
        if not _is_fault(r) or not scale.shows(r.t):
            continue
        row = _KS_Y if with_ks and r.kind in ("ott_error", "ovp_error") else _SESSION_Y
        y = top + row
        x = max(scale.x(r.t), last_x[row] + 17)
        last_x[row] = x
        used.add("fault")
        tip = f"{_when(r.t)} · forced error: {r.kind}{_payload(r.data, ('forced',))}"
        out.append(f'<path class="fault" data-kind={quoteattr(r.kind)} data-t="{_num(r.t)}" '
                   f'd="M{_px(x)} {y - 9}l8 14h-16z" fill="{_FAULT_COLOUR}" stroke="#000000" '
                   f'stroke-width="1"><title>{escape(tip)}</title></path>')
        out.append(f'<text x="{_px(x)}" y="{y + 3}" font-size="9" font-weight="bold" '
                   'text-anchor="middle" pointer-events="none">!</text>')
    out.append("</g>")
    return out


def _sessions(records: Sequence[TraceRecord], top: int, end: float, scale: _Scale,
              killed: Sequence[tuple[float, float]], used: set[str]) -> list[str]:
    """Session bars; the part of a session that outlives its app (killed, so no
    teardown) is drawn as a zombie."""
    out = ['<g class="sessions">']
    y = top + _SESSION_Y
    opened: dict[Any, TraceRecord] = {}
    closed: list[tuple[TraceRecord, TraceRecord | None]] = []
    for r in records:
        if r.kind == "ssm_session_created":
            opened[r.data.get("session")] = r
        elif r.kind in _SESSION_ENDS:
            start = opened.pop(r.data.get("session"), None)
            if start is not None:
                closed.append((start, r))
    closed += [(start, None) for start in opened.values()]
    closed.sort(key=lambda pair: (pair[0].t, str(pair[0].data.get("session"))))
    for start, stop in closed:
        session = start.data.get("session")
        t1 = stop.t if stop is not None else end
        how = _SESSION_ENDS[stop.kind][2] if stop is not None else "still active"
        if not scale.overlaps(start.t, t1):
            continue
        x0, x1 = scale.x(start.t), scale.x(t1)
        used.add("session")
        tip = (f"SSM session {session} ({start.data.get('stream', '?')}) · "
               f"{_when(start.t)} to {_when(t1)} · {how}")
        out.append(f'<rect class="session" data-session={quoteattr(str(session))} '
                   f'data-start="{_num(start.t)}" data-end="{_num(t1)}" '
                   f'data-how={quoteattr(how)} x="{_px(x0)}" y="{y - 3}" '
                   f'width="{_px(max(x1 - x0, 1.0))}" height="6" rx="3" '
                   f'fill="{_SESSION_COLOUR}"><title>{escape(tip)}</title></rect>')
        # The label needs room before the session's first zombie part (labelled itself).
        room = min([scale.x(max(start.t, dead_from)) for dead_from, dead_to in killed
                    if min(t1, dead_to) > max(start.t, dead_from)] + [x1]) - x0
        if room > 8 + 5 * len(f"session {session}"):
            out.append(f'<text x="{_px(x0 + 4)}" y="{y - 6}" font-size="9" fill="#00695c">'
                       f"session {escape(str(session))}</text>")
        for dead_from, dead_to in killed:
            z0, z1 = max(start.t, dead_from), min(t1, dead_to)
            if z1 <= z0 or not scale.overlaps(z0, z1):
                continue
            zx0, zx1 = scale.x(z0), scale.x(z1)
            used.add("zombie")
            tip = (f"zombie: SSM session {session} still holds a slot after the app was "
                   f"killed, {_when(z0)} to {_when(z1)} ({_duration(z1 - z0)})")
            out.append(f'<rect class="zombie" data-session={quoteattr(str(session))} '
                       f'data-start="{_num(z0)}" data-end="{_num(z1)}" x="{_px(zx0)}" '
                       f'y="{y - 4}" width="{_px(max(zx1 - zx0, 1.0))}" height="8" '
                       f'fill="{_ZOMBIE_COLOUR}"><title>{escape(tip)}</title></rect>')
            if zx1 - zx0 > 40:
                out.append(f'<text x="{_px(zx0 + 4)}" y="{y - 6}" font-size="9" '
                           f'fill="{_ZOMBIE_COLOUR}">zombie</text>')
        if stop is not None and scale.shows(stop.t):
            shape, colour, _ = _SESSION_ENDS[stop.kind]
            used.add(f"end:{stop.kind}")
            out.append(f'<path class="session-end" data-kind={quoteattr(stop.kind)} '
                       f'data-t="{_num(stop.t)}" d="{_shape(shape, x1, y, 5)}" '
                       f'fill="{colour}" stroke="{colour}" stroke-width="1.6">'
                       f"<title>{escape(_when(stop.t))} · {escape(stop.kind)}"
                       f"{escape(_payload(stop.data))}</title></path>")
    out.append("</g>")
    return out


def _ks(records: Sequence[TraceRecord], top: int, end: float, scale: _Scale,
        used: set[str]) -> list[str]:
    """KS validity bars (issued to expiry or revocation, on two alternating tracks so a
    refreshed KS shows beside the old one), provider events, and requests that left
    carrying a KS the backend no longer accepted."""
    y = top + _KS_Y
    out = ['<g class="ks">']
    revoked = {r.data.get("ks"): r.t for r in records if r.kind == "ks_revoked"}
    track_end = [-math.inf, -math.inf]
    for r in records:
        if r.kind != "ks_issued":
            continue
        ks = str(r.data.get("ks", "?"))
        expires = r.data.get("expires_at")
        stop = float(expires) if isinstance(expires, int | float) else end
        stop = min(stop, revoked.get(ks, math.inf), end)
        track = 0 if track_end[0] <= r.t else 1 if track_end[1] <= r.t else 0
        track_end[track] = stop
        if not scale.overlaps(r.t, stop):
            continue
        x0, x1 = scale.x(r.t), scale.x(stop)
        used.add("ks-valid")
        how = "revoked" if ks in revoked and revoked[ks] <= stop else "valid"
        who = "anonymous" if r.data.get("anonymous") else f"user {r.data.get('user_id', '?')}"
        tip = (f"KS {ks} ({r.data.get('backend', '?')}, {who}) issued via "
               f"{r.data.get('via', '?')} at {_when(r.t)}, {how} until {_when(stop)}")
        out.append(f'<rect class="ks-validity" data-ks={quoteattr(ks)} '
                   f'data-start="{_num(r.t)}" data-end="{_num(stop)}" x="{_px(x0)}" '
                   f'y="{y - 5 + 5 * track}" width="{_px(max(x1 - x0, 1.0))}" height="4" '
                   f'fill="{_KS_COLOUR}" fill-opacity="{0.9 - 0.35 * track:.2f}">'
                   f"<title>{escape(tip)}</title></rect>")
    for r in records:
        if not scale.shows(r.t):
            continue
        if r.kind == "ks_used" and r.data.get("valid") is False:
            shape, colour = "diamond", _KS_FAILURE_COLOUR
            used.add("ks-invalid")
            tip = (f"{_when(r.t)} · a request to {r.data.get('endpoint', '?')} left carrying "
                   f"a KS the backend finds {r.data.get('status', 'invalid')}"
                   f"{_payload(r.data)}")
        elif r.kind in _KS_MARKS and not _is_fault(r):  # a forced one is drawn as a fault
            shape, colour, _ = _KS_MARKS[r.kind]
            used.add(f"ks:{shape}:{colour}")
            tip = f"{_when(r.t)} · {r.kind}{_payload(r.data)}"
        else:
            continue
        out.append(f'<path class="ks-event" data-kind={quoteattr(r.kind)} '
                   f'data-t="{_num(r.t)}" d="{_shape(shape, scale.x(r.t), y, 4)}" '
                   f'fill="{colour}" stroke="{colour}" stroke-width="1.6">'
                   f"<title>{escape(tip)}</title></path>")
    out.append("</g>")
    return out


def _world_row(planned: Sequence[TraceRecord], scale: _Scale, row_top: int,
               lanes_bottom: int, used: set[str]) -> list[str]:
    """What the harness planned for the whole world: outages (shading every lane),
    extra latency windows and forced errors (``fault_planned``, ``latency_planned``)."""
    out = ['<g class="world">']
    if planned:
        out.append(f'<text class="row-caption" x="12" y="{row_top + 15}" fill="#b71c1c" '
                   'font-weight="bold">faults planned</text>')
    for r in planned:
        if r.kind == "latency_planned":
            link = str(r.data.get("link", "?"))
            start = float(r.data.get("start", r.t))
            stop_at = r.data.get("end")
            stop = float(stop_at) if isinstance(stop_at, int | float) else scale.end
            if not scale.overlaps(start, stop):
                continue
            x0, x1 = scale.x(start), scale.x(stop)
            extra = float(r.data.get("extra", 0.0))
            used.add("latency")
            tip = (f"{link} messages take {_duration(extra)} more from {_when(start)} "
                   f"to {_when(stop) if stop_at is not None else 'the end'}")
            out.append(f'<rect class="latency" data-link={quoteattr(link)} '
                       f'data-start="{_num(start)}" data-end="{_num(stop)}" x="{_px(x0)}" '
                       f'y="{row_top + 3}" width="{_px(max(x1 - x0, 1.0))}" height="16" '
                       f'fill="{_LATENCY_FILL}"><title>{escape(tip)}</title></rect>')
            out.append(f'<text x="{_px(x0 + 4)}" y="{row_top + 15}" fill="#6d4c41">'
                       f"{escape(_fit(f'+{_duration(extra)} {link} latency', (x1 - x0) / 7))}"
                       "</text>")
        elif r.kind == "fault_planned":
            x = scale.x(r.t)
            if not scale.shows(r.t):
                continue
            what = (f"next {r.data.get('count', '?')} {r.data.get('endpoint', '?')} call(s) "
                    f"fail: HTTP {r.data.get('http_status', '?')}")
            if r.data.get("code") is not None:
                what += f", code {r.data['code']}"
            tip = f"{_when(r.t)} · planned: {what}"
            used.add("fault-planned")
            out.append(f'<path class="fault-planned" data-t="{_num(r.t)}" '
                       f'data-endpoint={quoteattr(str(r.data.get("endpoint", "?")))} '
                       f'd="M{_px(x)} {row_top + 4}l7 12h-14z" fill="#ffffff" '
                       f'stroke="#000000" stroke-width="1.2"><title>{escape(tip)}</title></path>')
    for r in planned:
        if r.kind != "outage_planned":
            continue
        link = str(r.data.get("link", "?"))
        start = float(r.data.get("start", r.t))
        stop = float(r.data.get("end", start))
        if not scale.overlaps(start, stop):
            continue
        x0, x1 = scale.x(start), scale.x(stop)
        tip = f"{link} backend unreachable from {_when(start)} to {_when(stop)}"
        used.add("outage")
        out.append(f'<rect class="outage" data-link={quoteattr(link)} '
                   f'data-start="{_num(start)}" data-end="{_num(stop)}" x="{_px(x0)}" '
                   f'y="{row_top + 2}" width="{_px(max(x1 - x0, 1.0))}" '
                   f'height="{lanes_bottom - row_top - 2}" fill="{_OUTAGE_FILL}" '
                   f'fill-opacity="0.15" stroke="{_OUTAGE_FILL}" stroke-dasharray="4 3">'
                   f"<title>{escape(tip)}</title></rect>")
        out.append(f'<text x="{_px(x0 + 4)}" y="{row_top + 15}" fill="#b71c1c">'
                   f"{escape(link)} outage</text>")
    out.append("</g>")
    return out


# --- axis and legend ---------------------------------------------------------------------


class _Scale:
    """Virtual time ``[start, end]`` onto the plot's width; ``x`` clamps to the window."""

    __slots__ = ("end", "start")

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.end = end

    def x(self, t: float) -> float:
        t = min(max(t, self.start), self.end)
        return _LABEL_W + _PLOT_W * ((t - self.start) / (self.end - self.start))

    def shows(self, t: float) -> bool:
        return self.start <= t <= self.end

    def overlaps(self, t0: float, t1: float) -> bool:
        return t0 <= self.end and t1 >= self.start


def _axis_step(span: float) -> float:
    """A round tick step giving at most 12 ticks over ``span`` seconds, however long."""
    for step in _AXIS_STEPS:
        if span / step <= 12:
            return step
    base = _AXIS_STEPS[-1]
    while True:  # 20d, 50d, 100d, 200d, ...: as many rounds as digits, not as days
        for factor in (2, 5, 10):
            if span / (base * factor) <= 12:
                return base * factor
        base *= 10


def _axis(scale: _Scale, y: int, bottom: int) -> list[str]:
    step = _axis_step(scale.end - scale.start)
    out = ['<g class="axis">',
           f'<line x1="{_LABEL_W}" y1="{y}" x2="{_LABEL_W + _PLOT_W}" y2="{y}" '
           'stroke="#333333"/>']
    first = math.ceil(scale.start / step - 1e-9)
    last = math.floor(scale.end / step + 1e-9)
    for i in range(first, last + 1):
        t = round(i * step, 6)
        x = _px(scale.x(t))
        out.append(f'<line class="grid" x1="{x}" y1="{y}" x2="{x}" y2="{bottom}" '
                   'stroke="#e6e6e6"/>')
        out.append(f'<line x1="{x}" y1="{y - 5}" x2="{x}" y2="{y}" stroke="#333333"/>')
        out.append(f'<text class="tick" x="{x}" y="{y - 8}" text-anchor="middle" '
                   f'fill="#333333">{escape(_duration(t))}</text>')
    out.append(f'<text x="{_LABEL_W - 8}" y="{y - 8}" text-anchor="end" fill="#777777">'
               "virtual time</text>")
    out.append("</g>")
    return out


@attrs.frozen
class _Legend:
    lines: list[str]
    bottom: int


def _legend_items() -> tuple[tuple[str, str, str], ...]:
    """Every symbol the timeline can draw: (key, SVG of the symbol at (0, 0), label)."""
    items: list[tuple[str, str, str]] = []
    for state, colour in PLAYBACK_COLOURS.items():
        items.append((f"playback:{state}",
                      f'<rect x="0" y="-7" width="22" height="12" fill="{colour}"/>',
                      f"playback: {state.replace('_', ' ')}"))
    for state, colour in APP_COLOURS.items():
        items.append((f"app:{state}", f'<rect x="0" y="-4" width="22" height="6" fill="{colour}"/>',
                      f"app: {state}"))
    items.append(("heartbeat", f'<line x1="11" y1="-6" x2="11" y2="4" '
                  f'stroke="{_HEARTBEAT_COLOUR}" stroke-width="1.5"/>', "heartbeat sent"))
    for kind, (shape, colour) in _NOTIFICATION_STYLE.items():
        size = 6 if shape in ("diamond", "triangle") else 4
        items.append((f"signal:{kind}", f'<path d="{_shape(shape, 11, -1, size)}" '
                      f'fill="{colour}"/>', kind or "other notification"))
    items.append(("fault", f'<path d="M11 -10l8 14h-16z" fill="{_FAULT_COLOUR}" '
                  'stroke="#000000"/>', "forced error (fault)"))
    items.append(("fault-planned", '<path d="M11 -8l7 12h-14z" fill="#ffffff" '
                  'stroke="#000000"/>', "forced error planned"))
    items.append(("latency", f'<rect x="0" y="-7" width="22" height="12" '
                  f'fill="{_LATENCY_FILL}"/>', "extra latency"))
    items.append(("outage", f'<rect x="0" y="-7" width="22" height="12" fill="{_OUTAGE_FILL}" '
                  f'fill-opacity="0.15" stroke="{_OUTAGE_FILL}" stroke-dasharray="4 3"/>',
                  "backend outage"))
    items.append(("blocked", '<rect x="0" y="-7" width="22" height="12" '
                  'fill="url(#blocked-hatch)"/>', "main thread blocked"))
    items.append(("killed", '<rect x="0" y="-7" width="22" height="12" fill="#4caf50"/>'
                  '<rect x="0" y="-7" width="22" height="12" fill="#000000" '
                  'fill-opacity="0.45"/>', "app killed: last state"))
    items.append(("action:user", '<path d="M7 -4h8l-4 6z" fill="#000000"/>', "user action"))
    items.append(("action:app", '<path d="M7 -4h8l-4 6z" fill="#ffffff" stroke="#000000"/>',
                  "app action"))
    items.append(("session", f'<rect x="0" y="-4" width="22" height="6" rx="3" '
                  f'fill="{_SESSION_COLOUR}"/>', "SSM session at the server"))
    items.append(("zombie", f'<rect x="0" y="-5" width="22" height="8" '
                  f'fill="{_ZOMBIE_COLOUR}"/>', "zombie session (app killed)"))
    for kind, (shape, colour, how) in _SESSION_ENDS.items():
        items.append((f"end:{kind}", f'<path d="{_shape(shape, 11, -1, 5)}" fill="{colour}" '
                      f'stroke="{colour}" stroke-width="1.6"/>', f"session {how}"))
    items.append(("ks-valid", f'<rect x="0" y="-4" width="22" height="4" '
                  f'fill="{_KS_COLOUR}"/>', "KS valid (session provider)"))
    for shape, colour, label in _KS_MARKS.values():
        if label:
            items.append((f"ks:{shape}:{colour}", f'<path d="{_shape(shape, 11, -1, 4)}" '
                          f'fill="{colour}" stroke="{colour}" stroke-width="1.6"/>', label))
    items.append(("ks-invalid", f'<path d="{_shape("diamond", 11, -1, 4)}" '
                  f'fill="{_KS_FAILURE_COLOUR}"/>', "request with an invalid KS"))
    items.append(("account-active", f'<rect x="0" y="-7" width="22" height="12" '
                  f'fill="{_SESSION_COLOUR}" fill-opacity="0.55"/>',
                  "account: live SSM sessions"))
    items.append(("account-zombies", f'<rect x="0" y="-4" width="22" height="8" '
                  f'fill="{_ZOMBIE_COLOUR}"/>', "account: of which zombies"))
    items.append(("account-limit", f'<line x1="0" y1="-1" x2="22" y2="-1" '
                  f'stroke="{_LIMIT_COLOUR}" stroke-dasharray="4 2"/>',
                  "account: session limit"))
    items.append(("failure", f'<rect x="0" y="-7" width="22" height="14" rx="3" '
                  f'fill="{_FAILURE_COLOUR}"/><text x="11" y="3" font-size="10" '
                  'font-weight="bold" fill="#ffffff" text-anchor="middle">✗</text>',
                  "failure (rule or expectation)"))
    return tuple(items)


def _legend(top: int, used: set[str]) -> _Legend:
    """The symbols whose keys are in ``used``, in the catalogue's order."""
    items = [(symbol, label) for key, symbol, label in _LEGEND if key in used]
    columns, col_w, row_h = 6, (_WIDTH - 32) // 6, 22
    out = ['<g class="legend">',
           f'<text x="16" y="{top - 14}" font-weight="bold">Legend</text>']
    for index, (symbol, label) in enumerate(items):
        x = 16 + (index % columns) * col_w
        y = top + (index // columns) * row_h
        out.append(f'<g transform="translate({x} {y})">{symbol}'
                   f'<text x="30" y="3">{escape(label)}</text></g>')
    if not items:
        out.append(f'<text x="16" y="{top}" fill="#777777">nothing drawn</text>')
    out.append("</g>")
    rows = max((len(items) + columns - 1) // columns, 1)
    return _Legend(out, top + rows * row_h)


# --- small helpers ---------------------------------------------------------------------


def _shape(shape: str, x: float, y: float, r: float) -> str:
    """An SVG path for a marker centred on (x, y) with radius ``r``."""
    if shape == "diamond":
        return f"M{_px(x)} {_px(y - r)}l{_px(r)} {_px(r)}l{_px(-r)} {_px(r)}l{_px(-r)} {_px(-r)}z"
    if shape == "triangle":
        return f"M{_px(x - r)} {_px(y - r)}h{_px(2 * r)}l{_px(-r)} {_px(2 * r)}z"
    if shape == "square":
        return f"M{_px(x - r)} {_px(y - r)}h{_px(2 * r)}v{_px(2 * r)}h{_px(-2 * r)}z"
    if shape == "chevron":
        return f"M{_px(x - r)} {_px(y - r)}l{_px(2 * r)} {_px(r)}l{_px(-2 * r)} {_px(r)}z"
    if shape == "cross":
        return (f"M{_px(x - r)} {_px(y - r)}l{_px(2 * r)} {_px(2 * r)}"
                f"M{_px(x + r)} {_px(y - r)}l{_px(-2 * r)} {_px(2 * r)}")
    if shape == "bar":
        return f"M{_px(x)} {_px(y - r)}v{_px(2 * r)}"
    # circle, as two arcs
    return (f"M{_px(x - r)} {_px(y)}a{_px(r)} {_px(r)} 0 1 0 {_px(2 * r)} 0"
            f"a{_px(r)} {_px(r)} 0 1 0 {_px(-2 * r)} 0z")


def _px(value: float) -> str:
    """A coordinate with two decimals at most, never ``-0``."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _num(value: float) -> str:
    """A time in seconds, to the microsecond, as the trace writes it."""
    text = f"{round(value, 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _duration(seconds: float) -> str:
    """``0``, ``300ms``, ``1.5s``, ``5m``, ``1h 30m``, ``2d 3h``: the scenario notation."""
    if seconds <= 0:
        return "0"
    if seconds < 1:
        return f"{_num(seconds * 1000)}ms"
    if seconds < 60:
        return f"{_num(round(seconds, 3))}s"
    parts = []
    rest = round(seconds, 3)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        whole = int(rest // size)
        if whole:
            parts.append(f"{whole}{unit}")
            rest = round(rest - whole * size, 3)
    if rest:
        parts.append(f"{_num(rest)}s")
    return " ".join(parts)


def _when(t: float) -> str:
    return f"t={_num(t)}s" if t < 60 else f"t={_num(t)}s ({_duration(t)})"


def _payload(data: Mapping[str, Any], skip: tuple[str, ...] = ()) -> str:
    shown = [f"{key}={data[key]!r}" for key in sorted(data) if key not in skip]
    return f" ({', '.join(shown)})" if shown else ""


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


_LEGEND: Final = _legend_items()
#: Every legend key and its label, in the legend's order (what the legend can list).
LEGEND_LABELS: Final = {key: label for key, _, label in _LEGEND}
