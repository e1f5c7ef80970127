"""The SVG timeline: its structure matches the trace, and its bytes depend only on the trace."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from player_sim import (
    DeviceConfig,
    FailureMark,
    SsmConfig,
    Trace,
    TraceRecord,
    World,
    WorldConfig,
    render_timeline,
    window_around,
)
from player_sim.cli import main

NS = {"svg": "http://www.w3.org/2000/svg"}
SSM = "https://ssm.example/"


def parse(svg: str) -> ET.Element:
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    return ET.fromstring(svg.encode("utf-8"))


def lanes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-device", ""): g for g in root.iterfind(".//svg:g[@class='lane']", NS)}


def bands(lane: ET.Element, row: str) -> list[tuple[str, float, float]]:
    return [(r.get("data-state", ""), float(r.get("data-start", "nan")),
             float(r.get("data-end", "nan")))
            for r in lane.iterfind(f".//svg:rect[@class='band {row}-state']", NS)]


def marks(element: ET.Element, cls: str, attribute: str = "data-t") -> list[str]:
    return [e.get(attribute, "") for e in element.iterfind(f".//*[@class='{cls}']", NS)]


def rec(t: float, device: str | None, kind: str, app: str | None = None,
        playback: str | None = None, **data: Any) -> TraceRecord:
    return TraceRecord(t, device, kind, app, playback, data)


def changed(t: float, device: str, app_from: str, playback_from: str, app: str,
            playback: str) -> TraceRecord:
    return TraceRecord(t, device, "state_changed", app, playback,
                       {"app_from": app_from, "playback_from": playback_from, "app": app,
                        "playback": playback})


FG, BG = "foreground", "background"

#: A small hand-written trace whose drawing is known exactly.
HAND = Trace([
    rec(0, "phone", "device_added", account="alice", ssm=True, sync=False),
    rec(0, None, "outage_planned", link="ssm", start=120.0, end=180.0),
    rec(0, None, "latency_planned", link="license", extra=2.0, start=10.0, end=None),
    rec(0, "phone", "action", FG, "ssm_setup", name="play", origin="user", stream="ch-1"),
    changed(0, "phone", FG, "idle", FG, "ssm_setup"),
    rec(0.02, "phone", "ssm_session_created", session=1, account="alice", stream="ch-1",
        active=1),
    changed(0.04, "phone", FG, "ssm_setup", FG, "license_request"),
    rec(0.08, "phone", "playback_started", FG, "playing", stream="ch-1"),
    changed(0.08, "phone", FG, "license_request", FG, "playing"),
    rec(30, "phone", "heartbeat_sent", FG, "playing", token="t1"),
    rec(45, None, "fault_planned", endpoint="ssm.heartbeat", count=1, http_status=500,
        code=None, message="x"),
    rec(60, "phone", "heartbeat_sent", FG, "playing", token="t2"),
    rec(60.02, "phone", "ssm_heartbeat_refused", http_status=500, ssm_code=None, message="x",
        forced=True),
    rec(60.04, "phone", "ssm_heartbeat_error", FG, "playing", stream="ch-1", http_status=500,
        ssm_code=None, message="x"),
    rec(100, "phone", "action", BG, "paused", name="enter_background", origin="user"),
    changed(100, "phone", FG, "playing", BG, "paused"),
    rec(150, "phone", "ssm_session_expired", session=1, account="alice", active=0),
    rec(200, "tv", "device_added", account="bob", ssm=False, sync=False),
    rec(200, "tv", "action", FG, "license_request", name="play", origin="user", stream="ch-2"),
])


def test_one_lane_per_device_in_order_of_appearance() -> None:
    root = parse(render_timeline(HAND, "hand"))
    assert list(lanes(root)) == ["phone", "tv"]


def test_a_band_per_state_interval_with_its_start_and_end() -> None:
    found = lanes(parse(render_timeline(HAND, "hand", end=300)))
    assert bands(found["phone"], "playback") == [
        ("ssm_setup", 0, 0.04), ("license_request", 0.04, 0.08), ("playing", 0.08, 100),
        ("paused", 100, 300)]
    assert bands(found["phone"], "app") == [(FG, 0, 100), (BG, 100, 300)]
    # No state_changed for the tv: its lane starts with its first state.
    assert bands(found["tv"], "playback") == [("license_request", 200, 300)]
    assert bands(found["tv"], "app") == [(FG, 200, 300)]


def test_the_first_state_comes_from_the_first_state_change() -> None:
    trace = Trace([rec(0, "phone", "device_added"),
                   changed(5, "phone", FG, "idle", FG, "license_request")])
    found = lanes(parse(render_timeline(trace, "t", end=10)))
    assert bands(found["phone"], "playback") == [("idle", 0, 5), ("license_request", 5, 10)]
    assert bands(found["phone"], "app") == [(FG, 0, 10)]


def test_band_geometry_is_one_linear_scale() -> None:
    root = parse(render_timeline(HAND, "hand", end=300))
    rects = [r for r in root.iterfind(".//svg:rect", NS)
             if (r.get("class") or "").startswith("band ")]
    origin = float(next(r.get("x", "") for r in rects if r.get("data-start") == "0"))
    widest = max(rects, key=lambda r: float(r.get("width", "0")))
    per_second = float(widest.get("width", "0")) / (float(widest.get("data-end", "0"))
                                                   - float(widest.get("data-start", "0")))
    assert per_second > 0
    for r in rects:
        start, stop = float(r.get("data-start", "0")), float(r.get("data-end", "0"))
        assert float(r.get("x", "0")) == pytest.approx(origin + start * per_second, abs=0.02)
        if stop - start >= 1:
            assert float(r.get("width", "0")) == pytest.approx((stop - start) * per_second,
                                                               abs=0.02)


def test_markers_for_heartbeats_notifications_faults_sessions_and_outages() -> None:
    root = parse(render_timeline(HAND, "hand", end=300))
    phone, tv = lanes(root)["phone"], lanes(root)["tv"]
    assert marks(phone, "heartbeat") == ["30", "60"]
    assert marks(tv, "heartbeat") == []
    assert marks(phone, "notification", "data-kind") == ["playback_started",
                                                        "ssm_heartbeat_error"]
    assert marks(phone, "fault", "data-kind") == ["ssm_heartbeat_refused"]
    sessions = phone.findall(".//svg:rect[@class='session']", NS)
    assert [(s.get("data-session"), s.get("data-start"), s.get("data-end"), s.get("data-how"))
            for s in sessions] == [("1", "0.02", "150", "expired")]
    assert marks(phone, "session-end", "data-kind") == ["ssm_session_expired"]
    outages = root.findall(".//svg:rect[@class='outage']", NS)
    assert [(o.get("data-link"), o.get("data-start"), o.get("data-end")) for o in outages] == [
        ("ssm", "120", "180")]
    assert marks(phone, "action", "data-name") == ["play", "enter_background"]
    assert marks(root, "fault-planned", "data-endpoint") == ["ssm.heartbeat"]
    latency = root.findall(".//svg:rect[@class='latency']", NS)
    assert [(r.get("data-link"), r.get("data-start"), r.get("data-end")) for r in latency] == [
        ("license", "10", "300")]  # no end: to the end of the drawing


def test_session_provider_records_get_a_ks_row() -> None:
    trace = Trace([
        rec(0, "phone", "device_added"),
        rec(0.02, "phone", "ks_issued", backend="ott", ks="ks-1", via="ottUser/login",
            anonymous=False, user_id="7", expires_at=100.0),
        rec(0.08, "phone", "session_started", backend="ott", ks="ks-1"),
        rec(50, "phone", "ks_issued", backend="ott", ks="ks-2", via="ottUser/refreshSession",
            anonymous=False, user_id="7", expires_at=150.0),
        rec(50.1, "phone", "ks_refreshed", backend="ott", ks="ks-2", ks_from="ks-1"),
        rec(60, "phone", "ks_revoked", backend="ott", ks="ks-2", via="ottUser/logout"),
        rec(61, "phone", "ks_used", backend="ott", endpoint="asset/get", ks="ks-2",
            valid=False, status="revoked"),
        rec(62, "phone", "ks_used", backend="ott", endpoint="asset/get", ks="ks-1",
            valid=True, status="valid"),
        rec(63, "phone", "ks_refresh_failed", backend="ott", code=601, message="x"),
        rec(64, "phone", "ott_error", endpoint="asset/get", http_status=200, code=500016,
            message="x", forced=True),
    ])
    phone = lanes(parse(render_timeline(trace, "ks", end=200)))["phone"]
    bars = phone.findall(".//svg:rect[@class='ks-validity']", NS)
    assert [(b.get("data-ks"), b.get("data-start"), b.get("data-end")) for b in bars] == [
        ("ks-1", "0.02", "100"), ("ks-2", "50", "60")]
    # Only a request with a KS the backend refused is marked, not every use.
    assert marks(phone, "ks-event", "data-kind") == [
        "session_started", "ks_refreshed", "ks_used", "ks_refresh_failed"]
    assert marks(phone, "ks-event") == ["0.08", "50.1", "61", "63"]
    assert marks(phone, "fault", "data-kind") == ["ott_error"]
    assert parse(render_timeline(HAND, "no ks")).find(".//svg:g[@class='ks']", NS) is None


def test_an_unforced_refusal_is_not_a_fault() -> None:
    trace = Trace([rec(0, "phone", "device_added"),
                   rec(1, "phone", "ssm_setup_refused", http_status=403, ssm_code=1007,
                       message="max")])
    assert marks(parse(render_timeline(trace, "t")), "fault") == []


def test_every_mark_has_a_tooltip_with_its_time() -> None:
    root = parse(render_timeline(HAND, "hand", end=300))
    error = root.find(".//svg:path[@data-kind='ssm_heartbeat_error']", NS)
    assert error is not None
    tip = error.find("svg:title", NS)
    assert tip is not None and tip.text is not None
    assert tip.text.startswith("t=60.04s (1m 0.04s) · ssm_heartbeat_error (")


def test_a_window_draws_only_what_falls_inside_it() -> None:
    root = parse(render_timeline(HAND, "hand", start=50, end=150))
    phone = lanes(root)["phone"]
    assert [b[0] for b in bands(phone, "playback")] == ["playing", "paused"]
    assert marks(phone, "heartbeat") == ["60"]
    # The tv has records only after the window: a lane, but nothing in it.
    assert bands(lanes(root)["tv"], "playback") == []


def test_axis_ticks_read_as_durations() -> None:
    root = parse(render_timeline(HAND, "hand", end=300))
    ticks = [t.text for t in root.iterfind(".//svg:text[@class='tick']", NS)]
    assert ticks == ["0", "30s", "1m", "1m 30s", "2m", "2m 30s", "3m", "3m 30s", "4m",
                     "4m 30s", "5m"]


@pytest.mark.parametrize(("start", "end", "message"), [
    (10, 5, "needs 0 <= start < end"), (-1, 5, "needs 0 <= start < end"),
    (0, math.inf, "needs finite times"), (math.nan, 5, "needs finite times")])
def test_a_bad_window_is_refused(start: float, end: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_timeline(HAND, "hand", start=start, end=end)


def test_names_are_escaped() -> None:
    name = 'a<b> & "c"'
    trace = Trace([rec(0, name, "device_added"), rec(1, name, "action", FG, "stopped")])
    root = parse(render_timeline(trace, "<title & more>"))
    assert list(lanes(root)) == [name]
    title = root.find("svg:title", NS)
    assert title is not None and title.text == "<title & more>"


def test_an_empty_trace_still_draws() -> None:
    root = parse(render_timeline(Trace(), "nothing"))
    assert lanes(root) == {}


# --- with a real world ---------------------------------------------------------------


def world_trace(seed: int) -> World:
    world = World(WorldConfig(ssm=SsmConfig(max_sessions_per_account=2)), seed=seed)
    phone = world.add_device(DeviceConfig("phone", "alice", ssm_server_url=SSM))
    tv = world.add_device(DeviceConfig("tv", "alice", ssm_server_url=SSM,
                                       sync_ssm_setup_teardown=True))
    world.outage("ssm", 200, 230)
    phone.play("ch-1")
    tv.play("ch-2")
    world.run_for(100)
    world.ssm.fail_next("heartbeat", 1, http_status=500, ssm_code=4001, message="boom")
    world.run_for(200)
    phone.enter_background()
    world.run_for(600)
    phone.enter_foreground()
    tv.zap("ch-3")
    world.run_for(60)
    tv.kill()
    world.run_for(200)
    return world


def test_world_trace_lanes_tile_time_and_count_every_heartbeat() -> None:
    world = world_trace(seed=3)
    trace = world.trace
    root = parse(render_timeline(trace, "world", end=world.now))
    found = lanes(root)
    assert list(found) == ["phone", "tv"]
    for name, lane in found.items():
        assert len(marks(lane, "heartbeat")) == len(trace.of_kind("heartbeat_sent", device=name))
        for row in ("app", "playback"):
            intervals = bands(lane, row)
            assert intervals[0][1] == 0 and intervals[-1][2] == round(world.now, 6)
            for (_, _, end), (_, start, _) in itertools.pairwise(intervals):
                assert end == start
            # Each band's state is the one the trace says the device was in at its start
            # (the SVG, like the JSONL, writes times to the microsecond).
            for state, start, _ in intervals:
                after = [r for r in trace if r.device == name and round(r.t, 6) <= start
                         and getattr(r, row) is not None]
                assert getattr(after[-1], row) == state
        blocked = [r for r in trace.of_kind("main_thread_blocked", device=name)
                   if r.data["seconds"] > 0]
        assert len(marks(lane, "blocked", "data-end")) == len(blocked)
    assert len(marks(found["phone"], "heartbeat")) > 3
    assert marks(root, "fault", "data-kind") == ["ssm_heartbeat_refused"]
    assert marks(found["tv"], "blocked", "data-end")  # the sync device blocked its main thread
    killed_at = trace.of_kind("app_killed", device="tv")[0].t
    assert bands(found["tv"], "app")[-1][:2] == ("terminated", killed_at)
    assert [float(t) for t in marks(found["tv"], "app-killed", "data-start")] == [killed_at]
    assert marks(found["phone"], "app-killed") == []
    # The tv's session outlives its killed app until it expires: drawn as a zombie.
    expired = trace.of_kind("ssm_session_expired", device="tv")[-1].t
    zombies = found["tv"].findall(".//svg:rect[@class='zombie']", NS)
    assert [(float(z.get("data-start", "")), float(z.get("data-end", ""))) for z in zombies] == [
        (killed_at, round(expired, 6))]
    assert found["phone"].findall(".//svg:rect[@class='zombie']", NS) == []


def test_same_trace_same_bytes() -> None:
    first = world_trace(seed=11)
    second = world_trace(seed=11)
    svg = render_timeline(first.trace, "run", end=first.now)
    assert svg == render_timeline(second.trace, "run", end=second.now)
    reread = Trace.from_jsonl(first.trace.to_jsonl())
    assert svg == render_timeline(reread, "run", end=first.now)


# --- the command -----------------------------------------------------------------------


def test_cli_writes_the_same_svg_as_the_function(tmp_path: Path) -> None:
    world = world_trace(seed=5)
    source = tmp_path / "run.jsonl"
    source.write_text(world.trace.to_jsonl(), encoding="utf-8")
    result = CliRunner().invoke(main, ["timeline", str(source)])
    assert result.exit_code == 0, result.output
    written = (tmp_path / "run.svg").read_text(encoding="utf-8")
    assert written == render_timeline(Trace.from_jsonl(source.read_text()), "run")
    result = CliRunner().invoke(main, ["timeline", str(source), "-o", "-", "--title", "T",
                                       "--from", "1m", "--to", "5m"])
    assert result.exit_code == 0
    assert result.stdout == render_timeline(world.trace, "T", start=60, end=300)
    assert sorted(tmp_path.iterdir()) == [tmp_path / "run.jsonl", tmp_path / "run.svg"]


HEADER = '{"format":"player_sim.trace","vantages":["device"],"version":2}\n'


@pytest.mark.parametrize(("content", "args", "message"), [
    (HEADER + '{"t": 1}\n', [], "bad.jsonl:2: missing required key 'kind'"),
    (HEADER + '{"t": 0, "kind": "app_relaunched"}\nnot json\n', [], "bad.jsonl:3: not JSON"),
    (HEADER + '{"t": 0, "kind": "app_relaunched"}\n', ["--to", "5 minutes"],
     "bad duration '5 minutes'"),
    (HEADER + '{"t": 0, "kind": "app_relaunched"}\n', ["--from", "5m", "--to", "1m"],
     "needs 0 <= start < end"),
    ('{"t": 0, "kind": "app_relaunched"}\n', [], "bad.jsonl:1: no header line"),
])
def test_cli_bad_input_exits_2_with_the_reason(tmp_path: Path, content: str, args: list[str],
                                               message: str) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["timeline", str(source), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "bad.svg").exists()


def test_cli_missing_trace_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["timeline", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


# --- the verdict, accounts, bounds ---------------------------------------------------------


def failure_flags(root: ET.Element) -> list[tuple[str, str, str]]:
    return [(g.get("data-t", ""), g.get("data-what", ""), g.get("data-where", ""))
            for g in root.iterfind(".//svg:g[@class='failure']", NS)]


def legend_labels(root: ET.Element) -> list[str]:
    legend = root.find(".//svg:g[@class='legend']", NS)
    assert legend is not None
    return [t.text or "" for t in legend.iterfind("svg:g/svg:text", NS)]


def test_failures_are_marked_at_their_instant_and_listed() -> None:
    marks = [FailureMark(150, "always active_sessions(alice) <= 1", "s.yaml:18:5", "it was 2"),
             FailureMark(60.04, "rule ssm.errors.stop-playback", "s.yaml:1:1", "kept playing")]
    root = parse(render_timeline(HAND, "hand", end=300, failures=marks))
    # In time order, numbered in that order, each with what failed and where it is written.
    assert failure_flags(root) == [("60.04", "rule ssm.errors.stop-playback", "s.yaml:1:1"),
                                   ("150", "always active_sessions(alice) <= 1", "s.yaml:18:5")]
    listed = [t.text or "" for t in root.iterfind(".//svg:text[@class='failure-item']", NS)]
    assert listed[0].startswith("✗1 t=60.04s (1m 0.04s) · rule ssm.errors.stop-playback at "
                                "s.yaml:1:1: kept playing")
    assert listed[1].startswith("✗2 t=150s")
    assert "failure (rule or expectation)" in legend_labels(root)
    # A failure outside the window is not drawn.
    zoomed = parse(render_timeline(HAND, "hand", start=100, end=300, failures=marks))
    assert [f[0] for f in failure_flags(zoomed)] == ["150"]
    clean = parse(render_timeline(HAND, "hand", end=300))
    assert failure_flags(clean) == []
    assert "failure (rule or expectation)" not in legend_labels(clean)


def test_the_legend_lists_only_what_is_drawn() -> None:
    labels = legend_labels(parse(render_timeline(HAND, "hand", end=300)))
    assert "heartbeat sent" in labels and "playback: playing" in labels
    assert "session expired" in labels and "backend outage" in labels
    for absent in ("playback: failed", "app: pip", "KS valid (session provider)",
                   "zombie session (app killed)", "session evicted", "main thread blocked"):
        assert absent not in labels
    assert len(labels) == len(set(labels))
    assert legend_labels(parse(render_timeline(Trace(), "nothing"))) == []


def account_steps(root: ET.Element, account: str, cls: str) -> list[tuple[float, float, int]]:
    lane = root.find(f".//svg:g[@class='account'][@data-account='{account}']", NS)
    assert lane is not None
    return [(float(r.get("data-start", "")), float(r.get("data-end", "")),
             int(r.get("data-count", "")))
            for r in lane.iterfind(f"svg:rect[@class='{cls}']", NS)]


def test_an_account_lane_counts_live_and_zombie_sessions() -> None:
    world = world_trace(seed=3)
    trace = world.trace
    root = parse(render_timeline(trace, "world", end=world.now))
    active = account_steps(root, "alice", "account-active")
    # Each step is the count the server wrote with the session event that started it.
    events = [r for r in trace if r.kind.startswith("ssm_session_") and "active" in r.data]
    for start, _, count in active:
        at = [r for r in events if round(r.t, 6) <= start]
        assert at[-1].data["active"] == count
    assert max(count for *_, count in active) == 2
    for (_, end, _), (start, _, _) in itertools.pairwise(active):
        assert end <= start
    # Zombies: the tv's session while its app is killed, the same span as the lane's zombie.
    zombie = lanes(root)["tv"].find(".//svg:rect[@class='zombie']", NS)
    assert zombie is not None
    assert account_steps(root, "alice", "account-zombies") == [
        (float(zombie.get("data-start", "")), float(zombie.get("data-end", "")), 1)]
    limits = root.findall(".//svg:line[@class='account-limit']", NS)
    assert {line.get("data-limit") for line in limits} == {"2"}


def test_limit_broken_for_a_moment_shows_two_sessions_and_the_failure() -> None:
    from player_sim.scenario import load_scenario, result_timeline, run_scenario

    result = run_scenario(load_scenario(str(SCENARIOS / "broken/limit_broken_for_a_moment.yaml")))
    assert not result.passed
    root = parse(result_timeline(result))
    failure = result.failures[0]
    assert failure_flags(root) == [(str(failure.time), f"always {failure.text}",
                                    str(failure.location))]
    active = account_steps(root, "alice", "account-active")
    two = [step for step in active if step[2] == 2]
    assert two and two[0][0] == failure.time  # the second session, at the failing instant


SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def idle_trace(seconds: float) -> Trace:
    return Trace([rec(0, "phone", "device_added", account="alice"),
                  rec(0, "phone", "action", FG, "stopped", name="play", origin="user"),
                  rec(seconds, "phone", "action", FG, "stopped", name="stop", origin="user")])


@pytest.mark.parametrize("days", [1, 10_000_000, 10**9])
def test_output_is_bounded_by_records_not_virtual_time(days: int) -> None:
    minute = render_timeline(idle_trace(60), "idle")
    svg = render_timeline(idle_trace(days * 86400.0), "idle")
    root = parse(svg)
    assert 2 <= len(root.findall(".//svg:text[@class='tick']", NS)) <= 13
    assert len(svg) < 1.2 * len(minute)


def test_a_run_covering_no_time_draws_an_empty_timeline() -> None:
    trace = Trace([rec(0, "phone", "device_added", account="alice")])
    root = parse(render_timeline(trace, "instant", end=0))
    panel = root.find(".//svg:g[@class='panel']", NS)
    assert panel is not None and (panel.get("data-start"), panel.get("data-end")) == ("0", "1")
    assert bands(lanes(root)["phone"], "playback") == []


@pytest.mark.parametrize("busy", [True, False])
def test_a_long_run_gets_a_zoom_around_each_failure(busy: bool) -> None:
    # 21 hours: heartbeats all along, or a burst at the start and one near the failure.
    times = (range(30, 75600, 30) if busy else [*range(1, 11), *range(39990, 40010)])
    records = [rec(0, "phone", "device_added", account="alice")]
    records += [rec(float(t), "phone", "heartbeat_sent", FG, "playing") for t in times]
    records += [rec(75600, "phone", "action", FG, "stopped", name="stop", origin="user")]
    trace = Trace(records)
    marks = [FailureMark(40000.5, "expect something", "s.yaml:3:3", "none was posted")]
    root = parse(render_timeline(trace, "21 hours", failures=marks))
    panels = [(float(p.get("data-start", "")), float(p.get("data-end", "")))
              for p in root.iterfind(".//svg:g[@class='panel']", NS)]
    assert len(panels) == 2
    assert panels[0] == (0, 75600)
    assert panels[1] == window_around(trace, 40000.5)
    lo, hi = panels[1]
    assert lo < 40000.5 < hi and hi - lo < 75600 / 20
    assert [f[0] for f in failure_flags(root)] == ["40000.5", "40000.5"]  # in both panels
    # A short run needs no zoom.
    short = parse(render_timeline(HAND, "hand", failures=[FailureMark(60, "x")]))
    assert len(short.findall(".//svg:g[@class='panel']", NS)) == 1


def test_window_around_spans_the_records_near_the_instant() -> None:
    lo, hi = window_around(HAND, 60.04)
    assert lo <= 0.02 and 200 <= hi < 300  # 12 records before, 4 after, a margin
    # An idle gap longer than a minute (and than the span so far) ends the window.
    gap = Trace([rec(0, "phone", "device_added"), rec(1, "phone", "action", FG, "idle"),
                 *[rec(9000 + i, "phone", "heartbeat_sent", FG, "playing") for i in range(3)]])
    lo, hi = window_around(gap, 9001)
    assert 8990 <= lo < 9000 and hi <= 9012
    assert window_around(Trace(), 5) == (0, 11)
    with pytest.raises(ValueError, match="finite time"):
        window_around(HAND, math.inf)


def test_cli_around_zooms_and_check_marks_violations(tmp_path: Path) -> None:
    world = world_trace(seed=5)
    source = tmp_path / "run.jsonl"
    source.write_text(world.trace.to_jsonl(), encoding="utf-8")
    result = CliRunner().invoke(main, ["timeline", str(source), "-o", "-", "--around", "5m"])
    assert result.exit_code == 0, result.output
    assert result.stdout == render_timeline(world.trace, "run", start=window_around(
        world.trace, 300)[0], end=window_around(world.trace, 300)[1])
    result = CliRunner().invoke(main, ["timeline", str(source), "--around", "5m", "--from", "1m"])
    assert result.exit_code == 2 and "leave out --from and --to" in result.output
    # A trace that breaks a rule: the stop sent no teardown.
    world = World(WorldConfig(ssm=SsmConfig(max_sessions_per_account=2)))
    world.add_device(DeviceConfig("phone", "alice", ssm_server_url=SSM)).play("c1")
    world.run_for(100)
    world.device("phone").stop()
    world.run_for(5)
    broken = tmp_path / "broken.jsonl"
    kept = [r for r in world.trace if r.kind != "ssm_teardown_sent"]
    kept.append(rec(200, "phone", "action", FG, "stopped", name="x", origin="user"))
    broken.write_text(Trace(kept).to_jsonl(), encoding="utf-8")
    result = CliRunner().invoke(main, ["timeline", str(broken), "-o", "-", "--check"])
    assert result.exit_code == 0, result.output
    flags = failure_flags(parse(result.stdout))
    assert "rule ssm.teardown.on-stop" in {what for _, what, _ in flags}
    assert all(where.startswith(f"{broken}:") for _, _, where in flags)
    plain = CliRunner().invoke(main, ["timeline", str(broken), "-o", "-"])
    assert failure_flags(parse(plain.stdout)) == []


def test_session_and_zombie_labels_do_not_overlap() -> None:
    from player_sim.scenario import load_scenario, result_timeline, run_scenario

    result = run_scenario(load_scenario(str(SCENARIOS / "broken/zombie_expected_to_linger.yaml")))
    root = parse(result_timeline(result))
    for lane in lanes(root).values():
        group = lane.find("svg:g[@class='sessions']", NS)
        assert group is not None
        spans = sorted((float(t.get("x", "0")), float(t.get("x", "0")) + 5 * len(t.text or ""))
                       for t in group.iterfind("svg:text", NS))
        assert any(True for _ in spans)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start, spans
