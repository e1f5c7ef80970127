"""Property tests over whole generated scenarios, and the random ``player-sim explore``.

Hypothesis runs deterministically here (``derandomize=True``, no example
database), with modest example counts: the point is that the properties hold
for a broad, fixed sample of scenarios, and that the search finds the two
known races from scratch within its default budget.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from player_sim import ConfigError
from player_sim.cli import main
from player_sim.explore import (
    DEFAULT_EXAMPLES,
    DOCUMENTED_SPACE,
    EXPLORE_SPACE,
    Space,
    explore_random,
    replay_rules,
    scenario_dicts,
    scenario_yaml,
)
from player_sim.player import AppPolicy
from player_sim.scenario import load_scenario_text, run_scenario

DETERMINISTIC = settings(derandomize=True, database=None, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.data_too_large])

#: The rules the documented SDK can still break under the documented app: the
#: async-teardown zap race at the session limit (DOMAIN.md), the search's target, and
#: the stale-token teardown (a stop or zap while a heartbeat is on the wire: the
#: heartbeat rotates out the token the teardown carries, "using a stale token fails",
#: and the session is left to expire), which the exhaustive small world reports too.
KNOWN_RACES = frozenset({"ssm.zap.no-self-limit", "ssm.teardown.ends-session"})
#: The hazards DOMAIN.md documents for one client, known only where a device is that
#: client: the iOS SSM plugin skips the teardown of a setup still in flight (profile
#: ios, variant stop_during_setup: skip-teardown, "the iOS plugin finds no token yet,
#: skips the teardown"); the Android OTT client drops an earlier caller's callback
#: during a refresh ("the Android refresh race"); the iOS OTT client sends concurrent
#: refreshes ("iOS does not de-duplicate at all").
CLIENT_RACES = {"ssm.setup.late-answer-torn-down": lambda d: d.get("profile") == "ios",
                "provider.ks.completes": lambda d: _provider_variant(d) == ("ott", "android"),
                "provider.ott.one-refresh": lambda d: _provider_variant(d) == ("ott", "ios")}


def _provider_variant(device: dict[str, Any]) -> tuple[str, str] | None:
    provider = device.get("session_provider")
    if provider is None:
        return None
    return provider["backend"], provider.get("variant", "documented")


def known_races(data: dict[str, Any]) -> frozenset[str]:
    """The rules a generated scenario of DOCUMENTED_SPACE may break by a documented race:
    :data:`KNOWN_RACES`, and each of :data:`CLIENT_RACES` whose client is among its
    devices."""
    return KNOWN_RACES | {rule for rule, has in CLIENT_RACES.items()
                          if any(has(d) for d in data["devices"].values())}
ZAP_RACE, ANDROID_RACE = "ssm.zap.no-self-limit", "provider.ks.completes"
#: The iOS client's hazard: concurrent refreshes, the second one logs the user out.
IOS_DOUBLE_REFRESH = "provider.ott.one-refresh"
#: The iOS SSM plugin's hazard (profile ios): a stop while the setup is in flight skips
#: the teardown, and the late answer's session leaks.
IOS_LEAK = "ssm.setup.late-answer-torn-down"
#: The documented SDK's stale-token teardown (see KNOWN_RACES): a zap while a slow
#: heartbeat is on the wire.
STALE_TEARDOWN = "ssm.teardown.ends-session"
#: What ``player-sim explore`` finds with its defaults.
DEFAULT_FINDS = (ZAP_RACE, IOS_LEAK, ANDROID_RACE, IOS_DOUBLE_REFRESH, STALE_TEARDOWN)


def _run(data: dict[str, Any], **kwargs: Any) -> Any:
    return run_scenario(load_scenario_text(scenario_yaml(data), "<generated>"), **kwargs)


# --- the strategies -------------------------------------------------------------------------

@settings(DETERMINISTIC, max_examples=25)
@given(scenario_dicts(EXPLORE_SPACE))
def test_generated_scenarios_are_files_the_player_accepts_and_replay_byte_for_byte(
        data: dict[str, Any]) -> None:
    text = scenario_yaml(data)
    assert yaml.safe_load(text) == data  # the file says exactly what was generated
    first, second = _run(data), _run(data)
    assert not [f for f in first.failures if f.kind == "step"]  # no step refused
    assert first.trace.to_jsonl() == second.trace.to_jsonl()
    assert data["steps"][-1] == {"wait": "6m"}


@settings(DETERMINISTIC, max_examples=30)
@given(scenario_dicts(Space(max_devices=3, max_steps=8)))
def test_generated_scenarios_spread_devices_over_shared_accounts(data: dict[str, Any]) -> None:
    devices = data["devices"]
    assert 1 <= len(devices) <= 3
    assert {d["account"] for d in devices.values()} <= {"alice", "bob"}
    assert len(data["steps"]) <= 8 + 2 * 8 + len(devices) + 1  # bursts, logins, closing wait
    limit = data["world"]["ssm"]["max_sessions_per_account"]
    assert limit in (1, 2)


def test_a_space_without_options_never_draws_them() -> None:
    bare = Space(sync=False, pip=False, providers=False, legacy_status_200=False,
                 evict_oldest=False, faults=False, outages=False, slow_answers=False,
                 operator_kills=False, jitter=False, profiles=("documented",), limits=(1,))
    seen: list[dict[str, Any]] = []

    @settings(DETERMINISTIC, max_examples=40)
    @given(scenario_dicts(bare))
    def collect(data: dict[str, Any]) -> None:
        seen.append(data)

    collect()
    for data in seen:
        assert set(data["world"]) == {"ssm", "network"}
        assert set(data["world"]["ssm"]) == {"max_sessions_per_account", "heartbeat_period",
                                             "grace_period"}
        for device in data["devices"].values():
            assert set(device) <= {"account", "zap_order"}
        assert "accounts" not in data  # one limit: no account of its own
        kinds = {next(iter(step)) for step in data["steps"]}
        assert not kinds & {"fail", "outage", "latency", "login", "enter_pip", "operator_kill"}
        assert {"latency"} - kinds  # with slow_answers off and no faults: no latency steps


# --- the property: the documented app breaks no rule ---------------------------------------------

@settings(DETERMINISTIC, max_examples=200)
@given(scenario_dicts(DOCUMENTED_SPACE))
def test_under_the_documented_app_policy_no_rule_is_broken(data: dict[str, Any]) -> None:
    result = _run(data)
    broken = [f.message for f in result.failures if f.text not in known_races(data)]
    assert not broken, scenario_yaml(data)


class _IgnoresHeartbeatErrors(AppPolicy):
    """An app that keeps playing after ssm_heartbeat_error (what the document forbids)."""


def test_the_property_fails_for_an_app_that_ignores_heartbeat_errors() -> None:
    # The same property, against a wrong app: Hypothesis must find a rule broken.
    def passive(config: Any) -> Any:
        import attrs
        return attrs.evolve(config, policy=_IgnoresHeartbeatErrors())

    report = explore_random(examples=150, seed=0, space=DOCUMENTED_SPACE,
                            rules=["ssm.errors.stop-playback",
                                   "ssm.background.heartbeat-error-zap"],
                            configure_device=passive)
    assert report.rules, "a passive app was not caught"


# --- the random search -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def explored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """``player-sim explore`` as it comes: default budget, seed and rules."""
    out = tmp_path_factory.mktemp("counterexamples")
    result = CliRunner().invoke(main, ["explore", "--out", str(out)])
    return result, out


def test_explore_finds_both_races_from_scratch_within_the_default_budget(
        explored: tuple[Any, Path]) -> None:
    result, out = explored
    assert result.exit_code == 1, result.output
    assert {p.name for p in out.iterdir()} == {f"{r}.scenario.yaml" for r in DEFAULT_FINDS}
    assert f"({DEFAULT_EXAMPLES} examples, seed 0" in result.output
    for rule in DEFAULT_FINDS:
        assert f"BROKEN {rule} -> " in result.output


@pytest.mark.parametrize("rule_id", DEFAULT_FINDS)
def test_each_written_counterexample_replays_and_fails_for_the_same_reason(
        explored: tuple[Any, Path], rule_id: str) -> None:
    _, out = explored
    path = out / f"{rule_id}.scenario.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Counterexample found by `player-sim explore --examples "
                           f"{DEFAULT_EXAMPLES} --seed 0`.")
    assert f"# It breaks rule {rule_id} " in text
    run = CliRunner().invoke(main, ["run", str(path)])
    assert run.exit_code == 1, run.output
    assert f"rule {rule_id} broken at" in run.output
    broken = replay_rules(text)
    assert rule_id in broken
    # nothing else but another known hazard: the stale-token teardown's zap (an async,
    # setup-first device) can also race its own teardown at the limit
    assert set(broken) <= set(DEFAULT_FINDS), broken


def test_the_counterexamples_are_minimal(explored: tuple[Any, Path]) -> None:
    _, out = explored
    zap = yaml.safe_load((out / f"{ZAP_RACE}.scenario.yaml").read_text(encoding="utf-8"))
    assert list(zap["devices"]) == ["phone"]  # one device alone races its own teardown
    assert [next(iter(s)) for s in zap["steps"]] == ["play", "wait", "zap", "wait"]
    assert zap["world"]["ssm"]["max_sessions_per_account"] == 1
    for rule_id, variant in ((ANDROID_RACE, "android"), (IOS_DOUBLE_REFRESH, "ios")):
        found = yaml.safe_load((out / f"{rule_id}.scenario.yaml").read_text(encoding="utf-8"))
        (device,) = found["devices"].values()
        assert device["session_provider"]["variant"] == variant
        kinds = [next(iter(s)) for s in found["steps"]]
        # a login, time into the refresh window, then two token requests at one instant
        # (a play and a logout, which obtains a KS before its ottUser/logout)
        assert kinds[0] == "login" and kinds[-1] == "wait" and "play" in kinds
        assert len(kinds) <= 6


def test_fixing_the_sdk_makes_each_counterexample_pass(explored: tuple[Any, Path]) -> None:
    # The same files with the race switched off (sync teardown; no Android race) pass:
    # the counterexamples fail because of the race, not because of something else.
    _, out = explored
    zap = yaml.safe_load((out / f"{ZAP_RACE}.scenario.yaml").read_text(encoding="utf-8"))
    for device in zap["devices"].values():
        device["sync_setup_teardown"] = True
    assert _run(zap).passed
    for rule_id in (ANDROID_RACE, IOS_DOUBLE_REFRESH):
        found = yaml.safe_load((out / f"{rule_id}.scenario.yaml").read_text(encoding="utf-8"))
        for device in found["devices"].values():
            del device["session_provider"]["variant"]  # the documented client
        result = _run(found)
        assert not [f for f in result.failures if f.text == rule_id], result.failures
    leak = yaml.safe_load((out / f"{IOS_LEAK}.scenario.yaml").read_text(encoding="utf-8"))
    assert any(d.get("profile") == "ios" for d in leak["devices"].values())
    for device in leak["devices"].values():
        device["stop_during_setup"] = "teardown-when-answered"  # as the web client does
    assert not [f for f in _run(leak).failures if f.text == IOS_LEAK]
    # the stale-token teardown needs a heartbeat on the wire when the zap comes: without
    # the extra latency on the ssm link the same file passes
    stale = yaml.safe_load((out / f"{STALE_TEARDOWN}.scenario.yaml").read_text(encoding="utf-8"))
    kinds = [next(iter(s)) for s in stale["steps"]]
    assert "latency" in kinds and "zap" in kinds
    stale["steps"] = [s for s in stale["steps"] if "latency" not in s]
    assert not [f for f in _run(stale).failures if f.text == STALE_TEARDOWN]


def test_the_search_is_deterministic() -> None:
    first = explore_random(examples=60, seed=4, rules=[ZAP_RACE])
    second = explore_random(examples=60, seed=4, rules=[ZAP_RACE])
    assert first.rules == (ZAP_RACE,)
    assert [c.text for c in first.counterexamples] == [c.text for c in second.counterexamples]
    assert first.scenarios_run == second.scenarios_run


def test_explore_exits_0_and_writes_nothing_when_no_rule_breaks(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["explore", "--examples", "15", "--rule",
                                       "provider.base-url.host-only", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "no rule was broken" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (["--examples", "0"], "0 is not in the range x>=1"),
    (["--seed", "x"], "'x' is not a valid integer"),
    (["--rule", "ssm.zap.no-self-limt"], "did you mean ssm.zap.no-self-limit"),
    (["--depth", "3"], "--depth is for --exhaustive"),
    (["--exhaustive", "--examples", "5"], "--examples is for the random search"),
])
def test_explore_rejects_bad_arguments_with_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["explore", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_explore_refuses_a_file_as_out(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("", encoding="utf-8")
    result = CliRunner().invoke(main, ["explore", "--examples", "1", "--out", str(target)])
    assert result.exit_code == 2
    assert "is a file" in result.output


def test_explore_random_rejects_bad_budgets_and_rules() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        explore_random(examples=0)
    with pytest.raises(ValueError, match=r"no rule 'ssm\.nope'"):
        explore_random(rules=["ssm.nope"])


def test_the_readme_property_example_runs() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Property-based exploration", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {"__name__": "readme"}
    exec(compile(code, "README.md:Property-based exploration", "exec"), namespace)
    namespace["test_documented_app_breaks_no_rule"]()


@pytest.mark.parametrize("kwargs, message", [
    ({"max_devices": 4}, "Space.max_devices must be from 1 to 3, not 4"),
    ({"max_steps": 0}, "Space.max_steps must be from 1 to 100, not 0"),
    ({"accounts": ()}, "Space.accounts can't be empty"),
    ({"limits": (0, 1)}, "Space.limits are session limits, at least 1 each"),
])
def test_a_space_refuses_bounds_it_cannot_draw(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Space(**kwargs)
