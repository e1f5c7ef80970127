"""`player-sim rules` and `player-sim check`: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from player_sim import DeviceConfig, World
from player_sim.cli import main
from player_sim.rules import CATALOGUE

URL = "https://ssm.example/"


def _scenario(folder: Path, name: str, covers: list[str], stop: bool) -> None:
    (folder / f"{name}.scenario.yaml").write_text(
        f"name: {name}\ncovers: [{', '.join(covers)}]\n"
        "devices:\n  tv: {account: alice, ssm: true}\n"
        "steps:\n  - play: {device: tv, stream: c1}\n  - wait: 1m\n"
        + ("  - stop: tv\n  - wait: 1s\n" if stop else ""))


def test_rules_counts_the_runs_that_judged_each_rule_not_the_labels(tmp_path: Path) -> None:
    _scenario(tmp_path, "one", ["ssm.teardown.on-stop", "ssm.pip.runs-normally"], stop=True)
    _scenario(tmp_path, "two", ["ssm.teardown.on-stop"], stop=False)
    result = CliRunner().invoke(main, ["rules", str(tmp_path)])
    assert result.exit_code == 1, result.output
    lines = {line.split()[1]: line.split()[0] for line in result.output.splitlines()
             if line.strip() and len(line.split()) > 1 and line.split()[1] in CATALOGUE}
    assert lines["ssm.teardown.on-stop"] == "1"          # only the run that stopped
    assert lines["ssm.heartbeat.keeps-session"] == "2"   # unlabelled, judged by both runs
    assert lines["ssm.pip.runs-normally"] == "-"         # labelled, never in PiP
    assert "judged by no scenario run: " in result.output
    assert (f"{tmp_path / 'one.scenario.yaml'}: covers ssm.pip.runs-normally, but its run "
            "never met the situation that rule judges") in result.output
    assert f"{tmp_path / 'two.scenario.yaml'}: covers ssm.teardown.on-stop, but" in result.output


def test_the_bundled_scenarios_judge_every_rule_and_every_label_is_true() -> None:
    scenarios = Path(__file__).resolve().parent.parent / "scenarios"
    result = CliRunner().invoke(main, ["rules", str(scenarios)])
    assert result.exit_code == 0, result.output
    assert f"{len(CATALOGUE)} rules, {len(CATALOGUE)} judged by the runs of" in result.output
    assert "never met" not in result.output


def test_rules_rejects_invalid_scenarios(tmp_path: Path) -> None:
    (tmp_path / "bad.scenario.yaml").write_text("name: x\ncovers: [ssm.nope]\nsteps: []\n")
    result = CliRunner().invoke(main, ["rules", str(tmp_path)])
    assert result.exit_code == 2


def _trace(tmp_path: Path) -> Path:
    world = World()
    phone = world.add_device(DeviceConfig(name="phone", account="alice", ssm_server_url=URL))
    phone.play("c1")
    world.run_for(100)
    phone.stop()
    world.run_for(5)
    path = tmp_path / "run.jsonl"
    path.write_text(world.trace.to_jsonl())
    return path


def test_check_clean_trace_exits_0(tmp_path: Path) -> None:
    path = _trace(tmp_path)
    result = CliRunner().invoke(main, ["check", str(path), "--limit", "2",
                                       "--session-timeout", "70"])
    assert result.exit_code == 0, result.output
    assert result.output.endswith("0 violations\n")


def test_check_reports_violations_with_rule_quote_and_line(tmp_path: Path) -> None:
    path = _trace(tmp_path)
    lines = path.read_text().splitlines()
    # Drop every teardown: the stop no longer releases the session.
    kept = lines[:1] + [line for line in lines[1:]
                        if json.loads(line)["kind"] != "ssm_teardown_sent"]
    kept.append(json.dumps({"t": 200.0, "device": "phone", "kind": "action",
                            "app": "foreground", "playback": "stopped",
                            "data": {"name": "x", "origin": "user"}}))
    path.write_text("\n".join(kept) + "\n")
    result = CliRunner().invoke(main, ["check", str(path), "--rule", "ssm.teardown.on-stop"])
    assert result.exit_code == 1, result.output
    assert "ssm.teardown.on-stop: stop sent no SSM teardown" in result.output
    assert "The SDK tears down the SSM session when the playback stops." in result.output
    assert "on device 'phone'" in result.output
    assert "1 violation\n" in result.output


def test_check_malformed_trace_exits_2_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"format":"player_sim.trace","vantages":["device"],"version":2}\n'
                    '{"t": 0, "kind": "app_relaunched"}\n{"t": "soon", "kind": "zap"}\n')
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2
    assert f"{path}:3: 't' has the wrong type" in result.output
    assert "Traceback" not in result.output


def test_a_malformed_trace_is_bad_input_not_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("not json\n")
    for command in (["check", str(path)], ["timeline", str(path)]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2
        assert result.output.startswith(f"error: {path}:1: not JSON"), result.output
        assert "Usage:" not in result.output and "--help" not in result.output


@pytest.mark.parametrize("value", ["70s", "70", "1m10s", "70000ms"])
def test_check_takes_durations_like_every_option(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(main, ["check", str(_trace(tmp_path)),
                                       "--session-timeout", value,
                                       "--reaction-window", "5s", "--heartbeat-slack", "1"])
    assert result.exit_code in (0, 1), result.output
    assert "Invalid value" not in result.output


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--session-timeout", "0s", "a session timeout is more than 0"),
    ("--session-timeout", "-5", "is negative"),
    ("--reaction-window", "5 minutes", "bad duration '5 minutes'"),
])
def test_check_refuses_bad_durations(tmp_path: Path, option: str, value: str,
                                     message: str) -> None:
    result = CliRunner().invoke(main, ["check", str(_trace(tmp_path)), option, value])
    assert result.exit_code == 2
    assert message in result.output


def test_the_duration_type_is_the_same_for_timeline_and_check() -> None:
    from player_sim.cli import duration

    assert [duration(None, None, v) for v in ("4", "4s", "4000ms", 4)] == [4.0] * 4  # type: ignore[arg-type]


def test_check_unknown_rule_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(_trace(tmp_path)), "--rule", "ssm.nope"])
    assert result.exit_code == 2
    assert "no rule 'ssm.nope'" in result.output


def test_check_accepts_the_traces_player_sim_run_writes(tmp_path: Path) -> None:
    scenario = (Path(__file__).resolve().parent.parent / "scenarios"
                / "teardown_on_stop.scenario.yaml")
    ran = CliRunner().invoke(main, ["run", "-q", "--trace-dir", str(tmp_path), str(scenario)])
    assert ran.exit_code == 0, ran.output
    (trace,) = sorted(tmp_path.glob("*.jsonl"))
    result = CliRunner().invoke(main, ["check", str(trace)])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(" 0 violations\n")
