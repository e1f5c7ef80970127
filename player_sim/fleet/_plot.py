"""Charts of fleet results, drawn with matplotlib (the optional extra ``player_sim[plot]``).

:func:`fleet_figure` draws one run (sessions, request rates, refusals by reason);
:func:`sweep_figure` compares the runs of a sweep; :func:`sweep_html` is a
self-contained page (inline SVG, no scripts, no links) with the comparison
table and charts. matplotlib is imported only here, with the non-interactive
``Agg`` backend, and only when a chart is asked for.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from typing import Any

from .._errors import ConfigError
from ._counting import REFUSAL_REASONS
from ._results import FleetResult

__all__ = ["fleet_figure", "save_figure", "sweep_figure", "sweep_html", "sweep_rows"]

_REASONS = (*REFUSAL_REASONS, "other")


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("charts need matplotlib: pip install 'player_sim[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _hours(result: FleetResult) -> list[float]:
    return [(m + 1) / 60 for m in range(result.minutes)]


def fleet_figure(result: FleetResult, title: str | None = None) -> Any:
    """Panels over virtual time: sessions, SSM request rates, refusals by reason, and
    with session providers their logins, KS refreshes and backend requests."""
    plt = _pyplot()
    series = result.per_minute()
    x = _hours(result)
    providers = result.spec.providers.any
    fig, axes = plt.subplots(4 if providers else 3, 1, figsize=(9, 12 if providers else 9),
                             sharex=True, constrained_layout=True)
    top, middle, bottom = axes[:3]
    if providers:
        _provider_panel(axes[3], x, series)
    fig.suptitle(title or result.spec.name)
    top.plot(x, series["viewing"], label="viewers in a session")
    top.plot(x, series["active_sessions"], label="active SSM sessions")
    top.plot(x, series["zombie_sessions"], label="zombie sessions")
    top.set_ylabel("at the minute's end")
    top.legend(loc="upper left")
    middle.plot(x, series["heartbeats_per_second"], label="heartbeats/s")
    middle.plot(x, series["setups_per_second"], label="setups/s")
    middle.plot(x, series["peak_setups_per_second"], label="setups/s, busiest second",
                linestyle=":")
    middle.plot(x, series["teardowns_per_second"], label="teardowns/s")
    middle.set_ylabel("SSM requests per second")
    middle.legend(loc="upper left")
    bottom_total = [0.0] * len(x)
    for reason in _REASONS:
        values = series[f"refused_{reason}"]
        if any(values):
            bottom.bar(x, values, width=1 / 60, bottom=bottom_total, label=reason)
            bottom_total = [a + b for a, b in zip(bottom_total, values, strict=True)]
    bottom.set_ylabel("refused setups per minute")
    bottom.set_xlabel("" if providers else "hours from the start")
    if any(bottom_total):
        bottom.legend(loc="upper left")
    return fig


def _provider_panel(axis: Any, x: list[float], series: dict[str, list[float]]) -> None:
    """Logins and KS refreshes per minute (bars, by backend); backend requests per second."""
    below = [0.0] * len(x)
    for name, label in (("ks_refreshes_ott", "KS refreshes, OTT"),
                        ("ks_refreshes_ovp", "KS renewals, OVP"),
                        ("logins_ott", "logins, OTT"), ("logins_ovp", "logins, OVP")):
        values = series[name]
        if any(values):
            axis.bar(x, values, width=1 / 60, bottom=below, label=label)
            below = [a + b for a, b in zip(below, values, strict=True)]
    axis.set_ylabel("per minute")
    axis.set_xlabel("hours from the start")
    twin = axis.twinx()
    for name, label in (("ott_requests_per_second", "OTT requests/s"),
                        ("ovp_requests_per_second", "OVP requests/s")):
        if any(series[name]):
            twin.plot(x, series[name], label=label, linestyle="--")
    twin.set_ylabel("backend requests per second")
    axis.legend(loc="upper left")
    if twin.get_legend_handles_labels()[0]:
        twin.legend(loc="upper right")


def sweep_rows(label: str, results: Sequence[tuple[str, FleetResult]]) -> list[dict[str, Any]]:
    """One row per run of a sweep: the value swept and the numbers compared."""
    rows = []
    providers = any(result.spec.providers.any for _, result in results)
    for value, result in results:
        s = result.summary()
        extra: dict[str, Any] = {}
        if providers:
            p = s["providers"]
            extra = {"logins": p["ott"]["logins"] + p["ovp"]["logins"],
                     "KS refreshes": p["ott"]["ks_refreshes"] + p["ovp"]["ks_refreshes"],
                     "peak KS refreshes/s": p["peak_ks_refreshes_per_second"],
                     "peak OTT requests/s": p["ott"]["peak_requests_per_second"],
                     "KS errors": p["ks_errors"]}
        rows.append({label: value, "plays": s["plays"],
                     "refused %": round(100 * s["refused_fraction"], 3),
                     **{f"{r} %": round(100 * s["refused_fraction_by_reason"][r], 3)
                        for r in _REASONS},
                     "background expiries": s["expired_background"],
                     "zombie expiries": s["expired_zombie"],
                     "peak sessions": s["gauges"]["active_sessions"]["peak"],
                     "peak zombies": s["gauges"]["zombie_sessions"]["peak"],
                     "peak setups/s": s["rates"]["setups"]["peak_per_second"],
                     "p99 heartbeats/s": s["rates"]["heartbeats"]["p99_per_second"],
                     **extra})
    return rows


def sweep_figure(label: str, results: Sequence[tuple[str, FleetResult]]) -> Any:
    """Refusals by reason and expiries per swept value, and zombies over time."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    values = [value for value, _ in results]
    bottom = [0.0] * len(values)
    for reason in _REASONS:
        heights = [100 * r.summary()["refused_fraction_by_reason"][reason] for _, r in results]
        if any(heights):
            left.bar(values, heights, bottom=bottom, label=reason)
            bottom = [a + b for a, b in zip(bottom, heights, strict=True)]
    left.set_xlabel(label)
    left.set_ylabel("plays refused (%)")
    left.legend(title="why", loc="lower left")
    twin = left.twinx()
    twin.plot(values, [r.summary()["expired_background"] for _, r in results], "k--o",
              label="background expiries")
    twin.set_ylabel("sessions expired under backgrounded apps")
    twin.legend(loc="lower right")
    for value, result in results:
        right.plot(_hours(result), result.per_minute()["zombie_sessions"],
                   label=f"{label}={value}")
    right.set_xlabel("hours from the start")
    right.set_ylabel("zombie sessions")
    right.legend()
    return fig


def save_figure(fig: Any, path: str) -> None:
    """Write ``fig`` (PNG or SVG, by the path's suffix) and release it."""
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    _pyplot().close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def sweep_html(label: str, results: Sequence[tuple[str, FleetResult]]) -> str:
    """A self-contained HTML page comparing the runs of a sweep."""
    rows = sweep_rows(label, results)
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values())
                   + "</tr>" for row in rows)
    spec = results[0][1].spec
    charts = [_svg(sweep_figure(label, results))]
    charts += [_svg(fleet_figure(r, f"{label}={v}")) for v, r in results]
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(spec.name)}: sweep of {html.escape(label)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}</style></head>"
            f"<body><h1>{html.escape(spec.name)}</h1>"
            f"<p>{spec.accounts} accounts, {spec.duration / 3600:g} h, seed {spec.seed}; "
            f"sweep of <code>{html.escape(label)}</code>.</p>"
            f"<table><tr>{head}</tr>{body}</table>"
            + "".join(f"<div>{chart}</div>" for chart in charts) + "</body></html>\n")
