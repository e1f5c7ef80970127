"""What the search draws: features of scenarios, their distribution, and the README table.

The distribution is measured once per module (300 draws of DOCUMENTED_SPACE, the
search's default budget, seed 0: what ``player-sim explore --stats --space
documented`` prints) and checked two ways: every feature the issue lists is
reached at least once, and the README quotes exactly that table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from player_sim.backends import SSM_ERROR_CODES
from player_sim.cli import main
from player_sim.explore import (
    DEFAULT_EXAMPLES,
    DOCUMENTED_SPACE,
    Space,
    draw_statistics,
    features,
    format_statistics,
)
from player_sim.explore._strategies import TARGETS, _targets
from player_sim.player import PROFILES
from player_sim.scenario import load_scenario_text, run_scenario

README = Path(__file__).resolve().parent.parent / "README.md"
#: The command whose output the README quotes.
STATS_TITLE = "What `player-sim explore --stats --space documented` draws:"

PIP_HEARTBEAT_ERROR = """\
name: a heartbeat error while in picture-in-picture
world:
  ssm: {max_sessions_per_account: 1}
  ovp: {users: {alice: secret}}
accounts:
  alice: {max_sessions: 1}
devices:
  phone: {account: alice, pip: true, profile: web}
  tv: {account: alice, session_provider: {backend: ovp, partner_id: 3009}}
steps:
  - play: {device: phone, stream: channel-1}
  - wait: 5s
  - enter_background: phone
  - fail: {endpoint: ssm.heartbeat, http_status: 503, ssm_code: 4001, message: down}
  - wait: 1m
  - login: {device: tv}
  - wait: 1s
  - zap: {device: phone, stream: channel-1}
"""


def _features_of(text: str) -> tuple[str, ...]:
    import yaml

    result = run_scenario(load_scenario_text(text, "<test>"), check_rules=False)
    return features(yaml.safe_load(text), result.trace)


def test_features_name_what_the_file_has_and_what_the_run_reached() -> None:
    found = set(_features_of(PIP_HEARTBEAT_ERROR))
    assert {"devices: 2", "device: direct (no session provider)", "device: ovp",
            "provider: ovp documented", "profile: web", "profile: documented",
            "sdk: pip enabled", "limit: 1 per account", "limit: account's own 1",
            "accounts: devices sharing an account", "fault: ssm.heartbeat",
            "fault: ssm.heartbeat 503/4001", "session: anonymous login",
            "reached: playing", "reached: playing in pip", "reached: ssm_heartbeat_error",
            "reached: ssm_heartbeat_error in pip"} <= found
    # the web client keeps its session after a 4001 (keep-heartbeating): the zap comes
    # while alice holds her one session; the heartbeat error was in PiP, not after a
    # return from the background
    assert "reached: zap at the session limit" in found
    assert "reached: ssm_heartbeat_error back from the background" not in found
    assert not {f for f in found if f.startswith("outage:")}


def test_features_without_a_trace_are_the_file_alone() -> None:
    import yaml

    data = yaml.safe_load(PIP_HEARTBEAT_ERROR)
    assert not [f for f in features(data) if f.startswith("reached:")]


def test_targets_score_the_rare_situations_a_scenario_reached() -> None:
    scores = _targets({}, _features_of(PIP_HEARTBEAT_ERROR))
    assert set(scores) == set(TARGETS)
    assert scores["heartbeat errors off screen"] == 1.0
    assert scores["zaps at the session limit"] == 1.0
    assert scores["KS near expiry or renewed"] == 0.0  # a fresh 24 h widget session
    calm = "\n".join(line for line in PIP_HEARTBEAT_ERROR.splitlines()
                     if "fail:" not in line and "zap:" not in line)  # no error, no zap
    assert _targets({}, _features_of(calm)) == dict.fromkeys(TARGETS, 0.0)


@pytest.fixture(scope="module")
def documented_stats() -> Any:
    return draw_statistics(DOCUMENTED_SPACE, examples=DEFAULT_EXAMPLES, seed=0)


def test_the_default_space_reaches_every_feature_the_issue_lists(documented_stats: Any) -> None:
    counts = dict(documented_stats.counts)
    assert documented_stats.examples == DEFAULT_EXAMPLES
    wanted = [
        "device: ott", "device: ovp", "session: anonymous login", "session: user login",
        *(f"provider: {b} {v}" for b in ("ott", "ovp") for v in ("documented", "android", "ios")),
        "refresh policy: android", "refresh policy: ios", "refresh policy: 20s",
        "provider: ott persist_session", "action: logout", "reached: ks_refreshed",
        "reached: ks_renewed", "reached: provider session ended (user)",
        "reached: ssm_heartbeat_error in pip",
        "reached: ssm_heartbeat_error back from the background",
        "action: kill", "action: relaunch", "reached: app_killed",
        *(f"outage: {link}" for link in ("ssm", "license", "ott", "ovp")),
        "fault: ssm.setup", "fault: ssm.heartbeat", "fault: ssm.teardown", "fault: license",
        "operator kill: device", "operator kill: account",
        "accounts: several", "limit: 1 per account", "limit: 2 per account",
        "limit: account's own 1", "action: zap to the same stream",
        "action: zap to another stream", "reached: zap at the session limit",
        "network: jitter", "network: extra latency on ssm",
        *(f"profile: {p}" for p in PROFILES),
    ]
    missing = [label for label in wanted if counts.get(label, 0) == 0]
    assert not missing, missing
    assert any(label.startswith("fault: ott.") for label in counts)
    assert any(label.startswith("fault: ovp.") for label in counts)
    # forced SSM errors carry the codes WIRE.md lists: nearly all within one budget
    codes = {label.rsplit("/", 1)[1] for label in counts if label.startswith("fault: ssm.")
             and "/" in label}
    assert len(codes) >= len(SSM_ERROR_CODES) - 3, codes


def test_the_readme_quotes_the_measured_distribution(documented_stats: Any) -> None:
    text = README.read_text(encoding="utf-8")
    table = format_statistics(documented_stats, STATS_TITLE)
    assert table in text, "regenerate: player-sim explore --stats --space documented"


def test_the_statistics_are_deterministic() -> None:
    small = Space(max_devices=2, max_steps=4)
    first = draw_statistics(small, examples=15, seed=3)
    assert first == draw_statistics(small, examples=15, seed=3)
    assert first.examples == 15
    assert 0 < first.share("devices: 1") + first.share("devices: 2") <= 2


def test_explore_stats_prints_the_table_and_exits_0() -> None:
    result = CliRunner().invoke(main, ["explore", "--stats", "--examples", "12", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("What `player-sim explore --stats --space explore` draws:")
    assert "12 scenarios drawn (seed 1)" in result.output
    assert "| feature | scenarios | share |" in result.output


@pytest.mark.parametrize("args", [["--rule", "ssm.zap.no-self-limit"], ["--exhaustive"],
                                  ["--out", "x"], ["--seeds", "0:2"]])
def test_explore_stats_refuses_search_options_with_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["explore", "--stats", *args])
    assert result.exit_code == 2, result.output
    assert "--stats draws scenarios and counts their features" in result.output


def test_draw_statistics_refuses_an_empty_budget() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        draw_statistics(DOCUMENTED_SPACE, examples=0)
