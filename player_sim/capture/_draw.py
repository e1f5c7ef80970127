"""A capture's timeline: one lane per device, its calls, errors and verdicts (SVG).

:func:`render_capture` draws what the wire showed (the records of a
:class:`~player_sim.capture.Capture`): a tick per SSM, license or Kaltura
exchange, coloured by call, red with its code when the answer was an error; a
red marker where a rule was broken (its id and message in the tooltip); the
wall-clock time of the capture on the axis. Tooltips name the HAR entry; tokens
and KSs in them are shortened unless ``show_secrets``.
"""

from __future__ import annotations

import datetime as dt
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from ._report import CaptureReport
from ._wire import Capture

__all__ = ["render_capture"]

_LEFT: Final = 150
_WIDTH: Final = 1280
_LANE: Final = 56
_TOP: Final = 70
_COLOURS: Final = {"setup": "#1565c0", "heartbeat": "#2e7d32", "renewal": "#2e7d32",
                   "teardown": "#00695c", "license": "#ef6c00"}
_KALTURA: Final = "#6a1b9a"
_ERROR: Final = "#d50000"


def _short(text: str, show: bool) -> str:
    return text if show or len(text) <= 16 else f"{text[:8]}…{text[-4:]}"


def render_capture(capture: Capture, report: CaptureReport | None, title: str, *,
                   show_secrets: bool = False) -> str:
    """The capture as a standalone SVG document (deterministic for a given capture)."""
    records = list(capture.trace)
    devices = list(capture.devices) or ["(none)"]
    end = max([r.t + float(r.data.get("seconds") or 0.0) for r in records] + [1.0])
    span = _WIDTH - _LEFT - 40

    def x(t: float) -> float:
        return round(_LEFT + span * t / end, 2)

    height = _TOP + _LANE * len(devices) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
           'font-family="DejaVu Sans, Verdana, sans-serif" font-size="12">',
           f"<title>{escape(title)}</title>",
           f'<rect width="{_WIDTH}" height="{height}" fill="#ffffff"/>',
           f'<text x="16" y="26" font-size="18" font-weight="bold">{escape(title)}</text>']
    started = dt.datetime.fromtimestamp(capture.origin, dt.UTC)
    out.append(f'<text x="16" y="46" fill="#555555">captured from '
               f'{started.strftime("%Y-%m-%d %H:%M:%S")} UTC for {end:.1f} s · '
               f'{len(capture.entries)} entries judged · {capture.ignored} other traffic '
               f"ignored · {len(capture.devices)} devices</text>")
    for n in range(6):
        t = end * n / 5
        out.append(f'<line x1="{x(t)}" y1="{_TOP - 8}" x2="{x(t)}" y2="{height - 40}" '
                   'stroke="#e6e6e6"/>')
        out.append(f'<text x="{x(t)}" y="{_TOP - 12}" text-anchor="middle" fill="#333333">'
                   f"+{t:.0f}s</text>")
    lane_of = {d: _TOP + _LANE * i for i, d in enumerate(devices)}
    for device, top in lane_of.items():
        out.append(f'<g class="lane" data-device={quoteattr(device)}>')
        out.append(f'<line x1="0" y1="{top + _LANE}" x2="{_WIDTH}" y2="{top + _LANE}" '
                   'stroke="#cccccc"/>')
        out.append(f'<text x="12" y="{top + 30}" font-size="14" font-weight="bold">'
                   f"{escape(device)}</text>")
        out.append("</g>")
    for record in records:
        if record.kind != "http_exchange" or record.device not in lane_of:
            continue
        data = record.data
        top = lane_of[record.device]
        call = str(data.get("call") or "")
        failed = data.get("code") is not None or not 200 <= int(data.get("http_status")
                                                                 or 0) < 300
        colour = _ERROR if failed else _COLOURS.get(call, _KALTURA)
        tip = [f"entry {data.get('entry')}: {data.get('service')} {call or data.get('path')}",
               f"HTTP {data.get('http_status')}"]
        if data.get("code") is not None:
            tip.append(f"code {data.get('code')} {data.get('message', '')}")
        for key in ("token", "token_out"):
            if isinstance(data.get(key), str):
                tip.append(f"{key} {_short(str(data[key]), show_secrets)}")
        out.append(f'<g class="exchange"><title>{escape(" · ".join(tip))}</title>'
                   f'<line x1="{x(record.t)}" y1="{top + 12}" x2="{x(record.t)}" '
                   f'y2="{top + 44}" stroke="{colour}" stroke-width="2"/></g>')
        if failed and data.get("code") is not None:
            out.append(f'<text x="{x(record.t) + 3}" y="{top + 10}" font-size="9" '
                       f'fill="{_ERROR}">{escape(str(data.get("code")))}</text>')
    if report is not None:
        for line in report.lines:
            for v in line.violations:
                who = v.get("device")
                top = lane_of.get(who, _TOP) if isinstance(who, str) else _TOP
                px = x(float(v["t"]))
                message = f"{line.rule} {v['where']}: {v['message']}"
                out.append(f'<g class="violation"><title>{escape(message)}</title>'
                           f'<path d="M{px} {top + 46}l6 9h-12z" fill="{_ERROR}"/></g>')
    legend_y = height - 16
    items = [("setup", _COLOURS["setup"]), ("heartbeat", _COLOURS["heartbeat"]),
             ("license", _COLOURS["license"]), ("teardown", _COLOURS["teardown"]),
             ("Kaltura call", _KALTURA), ("error answer / rule broken", _ERROR)]
    for n, (label, colour) in enumerate(items):
        lx = 16 + 200 * n
        out.append(f'<rect x="{lx}" y="{legend_y - 9}" width="12" height="10" '
                   f'fill="{colour}"/><text x="{lx + 18}" y="{legend_y}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
