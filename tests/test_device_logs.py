"""Device logs judged on their vantage: an Android logcat of the SDK's events."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from player_sim.capture import read_logcat
from player_sim.cli import main
from player_sim.explore import MUTANTS
from player_sim.rules import judge_trace
from player_sim.scenario import load_scenario, run_scenario
from player_sim.trace import Trace, Vantage

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "heartbeat_error_zap.yaml"


def _logcat(trace: Trace, device: str) -> str:
    """The device's records as a QA app would log them (threadtime), amid other lines."""
    lines = ["--------- beginning of main",
             "09-21 14:13:19.990  4242  4242 D ExoPlayerImpl: Init 2.19.1"]
    for record in trace.seen_from(Vantage.DEVICE, Vantage.HARNESS):
        if record.device not in (device, None):
            continue
        stamp = dt.datetime(2026, 9, 21, 14, 13, 20, tzinfo=dt.UTC) + dt.timedelta(
            seconds=record.t)
        item = json.loads(record.to_json())
        if item["device"] is None:
            item.pop("device")
        lines.append(f"{stamp.strftime('%m-%d %H:%M:%S.%f')[:-3]}  4242  4260 I PlayerSim: "
                     f"{json.dumps(item, separators=(',', ':'))}")
        lines.append(f"{stamp.strftime('%m-%d %H:%M:%S.%f')[:-3]}  4242  4261 W chromium: x")
    return "\n".join(lines) + "\n"


def test_a_logcat_is_judged_like_the_device_view_of_the_run(tmp_path: Path) -> None:
    result = run_scenario(load_scenario(str(SCENARIO)))
    [device] = {r.device for r in result.trace if r.device is not None}
    text = _logcat(result.trace, device)
    trace = read_logcat(text, device=device)
    assert trace.vantages == {Vantage.DEVICE, Vantage.HARNESS}
    expected = judge_trace(Trace(result.trace.seen_from(Vantage.DEVICE, Vantage.HARNESS),
                                 vantages=trace.vantages))
    verdict = judge_trace(trace)
    assert verdict.violations == () and verdict.judged == expected.judged
    assert verdict.observed == expected.observed
    assert "ssm.setup.limit-refuses" in verdict.not_judged  # the server's, not in a device log
    path = tmp_path / f"{device}.logcat"
    path.write_text(text)
    assert CliRunner().invoke(main, ["check", str(path)]).exit_code == 0


def test_a_mutant_s_logcat_fails_on_its_rule() -> None:
    mutant = next(m for m in MUTANTS if m.name == "ignores-heartbeat-errors")
    result = run_scenario(load_scenario(str(SCENARIO)), configure_device=mutant.apply)
    [device] = {r.device for r in result.trace if r.device is not None}
    trace = read_logcat(_logcat(result.trace, device), device=device)
    # The log runs to the scenario's end, as the device's log would go on past the error.
    verdict = judge_trace(trace, end=result.duration)
    assert {v.rule.id for v in verdict.violations} == {
        "ssm.errors.stop-playback", "ssm.background.heartbeat-error-zap"}


def test_bad_logcat_lines_name_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "phone.logcat"
    path.write_text("09-21 14:13:20.000  1  2 I Other: {\n"
                    "09-21 14:13:20.000  1  2 I PlayerSim: {\"kind\": \"ssm_session_created\", "
                    "\"data\": {}}\n")
    out = CliRunner().invoke(main, ["check", str(path)])
    assert out.exit_code == 2
    assert f"{path}:2" in out.output and "column 39" in out.output
    assert "seen from the server" in out.output
    path.write_text("09-21 14:13:20.000  1  2 I PlayerSim: not json\n")
    out = CliRunner().invoke(main, ["check", str(path)])
    assert out.exit_code == 2 and "not a JSON trace record" in out.output
