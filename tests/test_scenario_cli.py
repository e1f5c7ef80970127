"""``player-sim run``: exit codes, progress and summary, failure reports, report files."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from player_sim import Trace
from player_sim import cli as cli_module
from player_sim.cli import main
from player_sim.scenario import load_scenario, selection_words, write_atomic

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A copy of the bundled scenarios, run from a temporary working directory."""
    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    return tmp_path


def invoke(runner: CliRunner, where: Path, *args: str) -> object:
    old = os.getcwd()
    os.chdir(where)
    try:
        return runner.invoke(main, list(args))
    finally:
        os.chdir(old)


def test_default_run_takes_scenarios_without_broken_and_exits_0(
        runner: CliRunner, suite: Path) -> None:
    result = invoke(runner, suite, "run")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = result.stdout  # type: ignore[attr-defined]
    assert "broken" not in out
    assert "_world" not in out
    count = len([p for p in (suite / "scenarios").glob("*.yaml") if not p.name.startswith("_")])
    assert count >= 20
    progress = [ln for ln in out.splitlines() if ln.startswith("PASS  scenarios/")]
    assert len(progress) == count
    assert f"{count} scenarios: {count} passed, 0 failed, 0 errors" in out
    assert "status  scenario" in out  # the summary table
    assert "\x1b[" not in out  # not a terminal: no colour


def test_broken_scenarios_fail_with_exit_1_and_a_readable_report(
        runner: CliRunner, suite: Path) -> None:
    result = invoke(runner, suite, "run", "scenarios/broken")
    assert result.exit_code == 1
    out = result.stdout  # type: ignore[attr-defined]
    assert "FAIL  scenarios/broken/app_ignores_heartbeat_error.scenario.yaml" in out
    assert ("expect at scenarios/broken/app_ignores_heartbeat_error.scenario.yaml:13:13: "
            "{signal: zap, device: phone, payload: {same_stream: true}, within: 30s}") in out
    assert "13 |   - expect: {signal: zap" in out  # the scenario line itself
    assert ("expected signal zap from phone with same_stream=true between t=40s and t=70s; "
            "none was posted") in out
    assert "trace around t=70s:" in out
    assert "ssm_heartbeat_error" in out.split("trace around t=70s:")[1]
    assert "ERROR scenarios/broken/step_refused.scenario.yaml" in out
    assert "0 passed, 3 failed, 1 errors" in out


def test_quiet_prints_only_failures_and_the_summary(runner: CliRunner, suite: Path) -> None:
    result = invoke(runner, suite, "run", "-q", "scenarios",
                    "scenarios/broken/step_refused.scenario.yaml")
    assert result.exit_code == 1
    out = result.stdout  # type: ignore[attr-defined]
    assert "PASS" not in out
    assert "ERROR scenarios/broken/step_refused.scenario.yaml" in out
    assert out.rstrip().endswith("1 errors")


def test_k_selects_by_name_file_or_tag(runner: CliRunner, suite: Path) -> None:
    result = invoke(runner, suite, "run", "-k", "zombie or zap_race", "scenarios")
    out = result.stdout  # type: ignore[attr-defined]
    assert result.exit_code == 0
    assert "zombie_after_kill.scenario.yaml" in out and "zap_race_at_limit.scenario.yaml" in out
    assert "2 scenarios: 2 passed" in out
    result = invoke(runner, suite, "run", "-k", "heartbeat and not error", "scenarios")
    listed = [ln for ln in result.stdout.splitlines()  # type: ignore[attr-defined]
              if ln.startswith("PASS  scenarios/")]
    assert listed
    for line in listed:  # -k matches the name, the file, the tags and the covered rules
        path = suite / line.split()[1]
        scenario = load_scenario(path)
        words = " ".join(selection_words(scenario.name, str(path), scenario.tags,
                                         scenario.covers)).lower()
        assert "heartbeat" in words and "error" not in words, line
    qa = invoke(runner, suite, "run", "-q", "-k", "qa", "scenarios")
    tagged = sum(1 for f in SCENARIOS.glob("*.yaml")
                 if re.search(r"^tags: \[.*\bqa\b", f.read_text(encoding="utf-8"), re.M))
    assert f"{tagged} scenarios: {tagged} passed" in qa.stdout  # type: ignore[attr-defined]
    bad = invoke(runner, suite, "run", "-k", "zombie and (", "scenarios")
    assert bad.exit_code == 2  # type: ignore[attr-defined]
    assert "-k 'zombie and ('" in bad.stderr  # type: ignore[attr-defined]


def test_reports_are_written_and_identical_across_runs(runner: CliRunner, suite: Path) -> None:
    args = ["run", "scenarios/zombie_after_kill.scenario.yaml",
            "scenarios/broken/step_refused.scenario.yaml",
            "scenarios/broken/limit_broken_for_a_moment.scenario.yaml", "--seed", "3",
            "--json", "out/report.json", "--junit-xml", "out/junit.xml",
            "--trace-dir", "out/traces"]
    first = invoke(runner, suite, *args)
    assert first.exit_code == 1  # type: ignore[attr-defined]
    report = json.loads((suite / "out/report.json").read_text())
    assert report["summary"] == {"total": 3, "passed": 1, "failed": 1, "errors": 1}
    zombie, refused, broken = report["scenarios"]
    assert zombie["status"] == "passed" and zombie["failures"] == []
    assert zombie["rules_covered"] == ["ssm.kill.no-teardown", "ssm.session.expires",
                                       "ssm.setup.limit-refuses"]
    assert zombie["seed"] == 3 and zombie["duration"] > 0
    assert refused["status"] == "error"
    [failure] = broken["failures"]
    assert failure["kind"] == "always" and failure["line"] == 18
    assert failure["message"] == "always active_sessions(alice) <= 1 broke at t=0.06s: it was 2"

    tree = ElementTree.parse(suite / "out/junit.xml").getroot()
    suite_node = tree.find("testsuite")
    assert suite_node is not None
    assert (suite_node.get("tests"), suite_node.get("failures"), suite_node.get("errors")) == \
        ("3", "1", "1")
    cases = suite_node.findall("testcase")
    assert cases[1].find("error") is not None and cases[2].find("failure") is not None
    assert "broke at t=0.06s" in (cases[2].find("failure").get("message") or "")  # type: ignore[union-attr]

    traces = sorted(p.name for p in (suite / "out/traces").iterdir())
    assert traces == ["limit_broken_for_a_moment.jsonl", "step_refused.jsonl",
                      "zombie_after_kill.jsonl"]
    text = (suite / "out/traces/zombie_after_kill.jsonl").read_text()
    assert Trace.from_jsonl(text).of_kind("app_killed")

    before = {p: (suite / p).read_bytes() for p in ("out/report.json", "out/junit.xml",
                                                   "out/traces/zombie_after_kill.jsonl")}
    invoke(runner, suite, *args)
    assert {p: (suite / p).read_bytes() for p in before} == before
    assert not [p for p in (suite / "out").rglob(".tmp-*")]  # no temporary files left


def test_an_invalid_file_stops_the_run_with_exit_2(runner: CliRunner, suite: Path) -> None:
    (suite / "scenarios" / "zz_bad.scenario.yaml").write_text("name: bad\ndevices: {}\nsteps: []\n")
    result = invoke(runner, suite, "run")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "scenarios/zz_bad.scenario.yaml:2:10: devices can't be empty" in \
        result.stderr  # type: ignore[attr-defined]
    assert "PASS" not in result.stdout  # type: ignore[attr-defined]


def test_colour_follows_the_terminal_no_color_and_force_color(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setattr(sys, "stdout", Tty())
    assert cli_module._color_wanted()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not cli_module._color_wanted()
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: an empty value does not count
    assert cli_module._color_wanted()
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr(sys, "stdout", object())
    assert not cli_module._color_wanted()
    monkeypatch.setenv("FORCE_COLOR", "1")  # force-color.org: colour even when piped
    assert cli_module._color_wanted()
    monkeypatch.setenv("FORCE_COLOR", "")
    assert not cli_module._color_wanted()
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("NO_COLOR", "1")  # the user's refusal wins
    assert not cli_module._color_wanted()


def test_force_color_colours_a_piped_run(runner: CliRunner, suite: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    result = invoke(runner, suite, "run", "-q", "scenarios/broken/step_refused.scenario.yaml")
    assert "\x1b[31m" in result.stdout  # type: ignore[attr-defined]


def test_failure_lines_wrap_to_the_given_width() -> None:
    from player_sim.scenario import format_result, load_scenario, run_scenario

    result = run_scenario(load_scenario(str(
        SCENARIOS / "broken" / "app_ignores_heartbeat_error.scenario.yaml")))
    whole = format_result(result)
    assert max(len(line) for line in whole.splitlines()) > 120
    for width in (60, 76, 100):
        fitted = format_result(result, width=width)
        # Only a word longer than the width (a file path) may stick out, alone on its line.
        assert [line for line in fitted.splitlines()
                if len(line) > width and len(line.split()) > 1] == []
        assert fitted.split() == whole.split()  # the same words, only re-wrapped


def test_a_terminal_run_fits_its_width(runner: CliRunner, suite: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_module, "_terminal_width", lambda: 80)
    result = invoke(runner, suite, "run", "-q",
                    "scenarios/broken/app_ignores_heartbeat_error.scenario.yaml")
    lines = result.stdout.splitlines()  # type: ignore[attr-defined]
    assert max(len(line) for line in lines[1:-1]) <= 80, lines


def test_write_atomic_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.json"
    write_atomic(target, "first\n")
    write_atomic(target, "second\n")
    assert target.read_text() == "second\n"
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_timeline_draws_one_svg_per_scenario(runner: CliRunner, suite: Path) -> None:
    result = invoke(runner, suite, "run", "-q", "--timeline", "svg",
                    "scenarios/zombie_after_kill.scenario.yaml",
                    "scenarios/zap_race_at_limit.scenario.yaml")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    names = sorted(p.name for p in (suite / "svg").iterdir())
    assert names == ["zap_race_at_limit.svg", "zombie_after_kill.svg"]
    svg = (suite / "svg" / "zombie_after_kill.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg
    assert "A killed app leaves a zombie session" in svg


def test_selecting_nothing_is_never_green(runner: CliRunner, suite: Path) -> None:
    """An empty folder, a -k that matches nothing: exit 5 (pytest's code), not 0."""
    (suite / "empty").mkdir()
    for args in (("run", "empty"), ("validate", "empty"), ("run", "-k", "typo"),
                 ("run", "-q", "-k", "zombie and not zombie", "scenarios")):
        result = invoke(runner, suite, *args)
        assert result.exit_code == 5, (args, result.output)  # type: ignore[attr-defined]
        assert "no scenario selected: " in result.stderr  # type: ignore[attr-defined]
        assert "0 scenarios" not in result.stdout  # type: ignore[attr-defined]


def test_a_file_named_on_the_command_line_runs_whatever_its_name(runner: CliRunner,
                                                                  suite: Path) -> None:
    source = suite / "scenarios" / "zombie_after_kill.scenario.yaml"
    (suite / "scenarios" / "plain.yaml").write_text(source.read_text())
    result = invoke(runner, suite, "run", "-q", "scenarios/plain.yaml")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "1 scenario: 1 passed" in result.stdout  # type: ignore[attr-defined]
    folder = invoke(runner, suite, "run", "-q", "scenarios")
    assert "plain.yaml" not in folder.stdout  # type: ignore[attr-defined]
