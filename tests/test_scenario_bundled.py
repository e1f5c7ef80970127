"""The bundled scenarios: valid, tagged with known rules, passing; the broken ones failing."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from player_sim import AppPolicy, DeviceConfig
from player_sim.rules import CATALOGUE
from player_sim.scenario import (
    discover,
    format_result,
    load_scenario,
    run_scenario,
    scenario_stem,
)

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
DEFAULT = discover([str(SCENARIOS)])
BROKEN = discover([str(SCENARIOS / "broken")])


def test_the_default_run_has_at_least_twenty_files_and_no_broken_or_fragments() -> None:
    assert len(DEFAULT) >= 20
    assert not [p for p in DEFAULT if "/broken/" in p or Path(p).name.startswith("_")]
    assert len(BROKEN) >= 3


@pytest.mark.parametrize("path", DEFAULT, ids=[scenario_stem(p) for p in DEFAULT])
def test_bundled_scenario_passes(path: str) -> None:
    scenario = load_scenario(path)
    assert scenario.covers, f"{path} must say which rules it covers"
    assert set(scenario.covers) <= set(CATALOGUE), set(scenario.covers) - set(CATALOGUE)
    result = run_scenario(scenario)
    assert result.passed, format_result(result)
    assert result.checks > 0


@pytest.mark.parametrize("path", BROKEN, ids=[scenario_stem(p) for p in BROKEN])
def test_broken_scenario_fails(path: str) -> None:
    result = run_scenario(load_scenario(path))
    assert not result.passed
    assert all(f.location.file == path for f in result.failures)


def test_the_qa_situations_of_domain_md_are_bundled() -> None:
    names = {scenario_stem(p) for p in DEFAULT}
    assert {"zombie_after_kill", "zap_race_at_limit", "stale_token_rotation",
            "sync_mode_freezes_ui", "legacy_200_denial", "background_long_loses_session",
            "switching_devices", "heartbeat_failure_no_retry"} <= names


def test_every_catalogue_rule_is_covered_by_a_bundled_scenario() -> None:
    covered = {rule for p in DEFAULT for rule in load_scenario(p).covers}
    assert set(CATALOGUE) <= covered, sorted(set(CATALOGUE) - covered)


def test_the_suite_catches_an_app_that_ignores_ssm_errors() -> None:
    """A wrong app (never reacts) must make the scenarios about reactions fail."""
    def passive(config: DeviceConfig) -> DeviceConfig:
        return attrs.evolve(config, policy=AppPolicy())

    failing = {scenario_stem(p) for p in DEFAULT
               if not run_scenario(load_scenario(p), configure_device=passive).passed}
    assert {"heartbeat_error_zap", "background_long_loses_session",
            "background_short_resumes", "stale_token_rotation"} <= failing
