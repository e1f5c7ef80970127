"""The exhaustive explorers judging a selection of rules (``rules=``, ``--rule``).

Judging fewer rules feeds and copies fewer monitors at each step. A judged rule's
violations (its messages and shortest paths) are the same judged alone as judged with
every other rule, and so is the coverage; states that differed only in what an unjudged
rule's monitor awaited are one state, so there may be fewer.
"""

from __future__ import annotations

import attrs
import pytest
from click.testing import CliRunner

from player_sim.cli import main
from player_sim.explore import (
    CORE_CONFIGS,
    CORE_RULES,
    MUTANTS,
    UNJUDGED,
    WORLD_CONFIGS,
    explore_core,
    explore_exhaustive,
    explore_world,
    format_exhaustive,
)
from player_sim.rules import CATALOGUE

#: SDK mutants the core explorer catches at depth 4 (some breaking several rules at once).
CAUGHT = ("never-tears-down", "retries-heartbeat", "license-without-token",
          "retries-setup-1007", "sync-setup-does-not-block")


def _found(result):  # (rule, message, steps) of each violation reported
    return sorted((v.rule_id, v.message, v.steps) for v in result.violations)


@pytest.mark.parametrize("name", [None, *CAUGHT])
def test_a_rule_judged_alone_finds_what_it_finds_among_all(name: str | None) -> None:
    mutant = {m.name: m for m in MUTANTS}.get(name or "")
    config = CORE_CONFIGS["default" if name != "sync-setup-does-not-block" else "sync"]
    if mutant is not None:
        config = attrs.evolve(config, sdk=mutant.sdk)
    every = explore_core(config, 4)
    found = {v.rule_id for v in every.violations}
    if mutant is not None:
        assert found, f"{name} is caught at depth 4 (the test's premise)"
    # Each rule found, and a few that are not, judged alone.
    for rule_id in sorted(found) + [r for r in CORE_RULES if r not in found][:3]:
        alone = explore_core(config, 4, rules=(rule_id,))
        assert (alone.reached, alone.rows) == (every.reached, every.rows)
        assert alone.states <= every.states and alone.steps <= every.steps
        assert _found(alone) == [f for f in _found(every) if f[0] == rule_id], rule_id


def test_the_small_world_judging_its_races_alone_finds_them_as_among_all() -> None:
    config = WORLD_CONFIGS["setup-first"]
    every = explore_world(config, 7)
    assert {v.rule_id for v in every.violations} == {"ssm.zap.no-self-limit",
                                                     "ssm.teardown.ends-session"}
    for rule_id in ("ssm.zap.no-self-limit", "ssm.teardown.ends-session",
                    "ssm.setup.limit-refuses"):
        alone = explore_world(config, 7, rules=(rule_id,))
        assert alone.states <= every.states
        assert _found(alone) == [f for f in _found(every) if f[0] == rule_id], rule_id


def test_judging_no_rule_explores_the_same_and_finds_nothing() -> None:
    every = explore_core(CORE_CONFIGS["pip"], 4)
    none = explore_core(CORE_CONFIGS["pip"], 4, rules=())
    assert (none.reached, none.rows, none.violations) == (every.reached, every.rows, ())
    assert 0 < none.states <= every.states


def test_a_selection_goes_to_the_explorer_that_judges_each_rule() -> None:
    report = explore_exhaustive(
        3, core_configs={"default": CORE_CONFIGS["default"]},
        world_configs={"setup-first": WORLD_CONFIGS["setup-first"]},
        rules=["ssm.zap.no-self-limit", "ssm.license.carries-token"])
    # Catalogue order, whatever the order asked.
    assert report.rules == tuple(r for r in CATALOGUE if r in (
        "ssm.zap.no-self-limit", "ssm.license.carries-token"))
    assert {p.rule_id for p in report.violations} == {"ssm.zap.no-self-limit"}
    assert "judging only: " in format_exhaustive(report)
    assert "judging only" not in format_exhaustive(explore_exhaustive(
        1, core_configs={}, world_configs={"sync": WORLD_CONFIGS["sync"]}))


def test_a_rule_an_explorer_cannot_judge_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"no rule 'ssm\.nope' in the catalogue"):
        explore_core(CORE_CONFIGS["default"], 2, rules=("ssm.nope",))
    with pytest.raises(ValueError, match=r"core explorer does not judge ssm\.zap\.no-self-limit"
                                         ": the abstract server refuses at will"):
        explore_core(CORE_CONFIGS["default"], 2, rules=("ssm.zap.no-self-limit",))
    with pytest.raises(ValueError, match="small world does not judge provider"):
        explore_world(WORLD_CONFIGS["sync"], 2, rules=(next(
            r for r in CORE_RULES if r.startswith("provider.")),))
    app_duty = "ssm.errors.stop-playback"
    with pytest.raises(ValueError, match=f"exhaustive explorer does not judge {app_duty}") \
            as refused:
        explore_exhaustive(2, rules=(app_duty,))
    assert str(refused.value).endswith(f": {UNJUDGED[app_duty]}")  # (said once: the same)
    with pytest.raises(TypeError, match="not the string"):
        explore_core(CORE_CONFIGS["default"], 2, rules="ssm.license.carries-token")


def test_cli_exhaustive_takes_rules_and_refuses_unknown_ones() -> None:
    result = CliRunner().invoke(main, ["explore", "--exhaustive", "--depth", "3",
                                       "--rule", "ssm.zap.no-self-limit"])
    assert result.exit_code == 1, result.output
    assert "judging only: ssm.zap.no-self-limit\n" in result.output
    assert "ssm.zap.no-self-limit (world/setup-first, 5 steps)" in result.output
    assert "states reached: 14 of 14" in result.output  # (coverage is reported whole)
    quiet = CliRunner().invoke(main, ["explore", "--exhaustive", "--depth", "3",
                                      "--rule", "ssm.license.carries-token"])
    assert quiet.exit_code == 0, quiet.output
    for bad, said in (("ssm.nope", "no rule 'ssm.nope' in the catalogue"),
                      ("ssm.errors.stop-playback", "does not judge ssm.errors.stop-playback")):
        refused = CliRunner().invoke(main, ["explore", "--exhaustive", "--rule", bad])
        assert refused.exit_code == 2
        assert said in refused.output
        assert "Traceback" not in refused.output
