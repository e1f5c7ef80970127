"""The SDK seam (SdkModel), the bundled mutants, and ``player-sim mutants``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import attrs
import pytest
from click.testing import CliRunner

from player_sim import ConfigError, CoreConfig, DeviceConfig, PlayerCore, SdkModel
from player_sim.cli import main
from player_sim.explore import MUTANTS, Mutant, MutantResult, run_mutants
from player_sim.player import DocumentedAppPolicy
from player_sim.player import events as ev
from player_sim.scenario import load_scenario, run_scenario

# --- the SdkModel seam of the core ----------------------------------------------------------


def _playing(core: PlayerCore) -> None:
    core.feed(ev.Play("ch-1"))
    core.feed(ev.SetupAnswered(1, ev.SsmAnswer(200, token="t1", heartbeat_period=30.0)))
    core.feed(ev.LicenseAnswered(1, True, 200))


def test_the_default_sdk_model_is_the_documented_core() -> None:
    plain, modelled = PlayerCore(), PlayerCore(CoreConfig(sdk=SdkModel()))
    script = [ev.Play("ch-1"), ev.SetupAnswered(1, ev.SsmAnswer(200, token="t1",
                                                                   heartbeat_period=30.0)),
              ev.LicenseAnswered(1, True, 200), ev.HeartbeatDue(1),
              ev.HeartbeatAnswered(1, ev.SsmAnswer(200, token="t2")), ev.HeartbeatDue(1),
              ev.Zap("ch-2"), ev.SetupAnswered(2, ev.SsmAnswer(200, 1007, "limit")),
              ev.TeardownAnswered(1, ev.SsmAnswer(204)), ev.Play("ch-3"),
              ev.SetupAnswered(3, ev.SsmAnswer(200, token="t3", heartbeat_period=30.0)),
              ev.Stop()]
    for step in script:
        assert plain.feed(step) == modelled.feed(step)


def test_each_hook_changes_what_the_core_does() -> None:
    class Variant(SdkModel):
        def read_answer(self, answer: ev.SsmAnswer, call: str) -> ev.SsmAnswer:
            return attrs.evolve(answer, ssm_code=None)  # reads the status only

        def rotates_tokens(self) -> bool:
            return False

        def license_token(self, token: str | None) -> str | None:
            return None

        def sends_teardown(self) -> bool:
            return False

    core = PlayerCore(CoreConfig(sdk=Variant()))
    core.feed(ev.Play("ch-1"))
    effects = core.feed(ev.SetupAnswered(1, ev.SsmAnswer(200, token="t1",
                                                         heartbeat_period=30.0)))
    (license_request,) = [e for e in effects if isinstance(e, ev.SendLicenseRequest)]
    assert license_request.ssm_token is None
    core.feed(ev.LicenseAnswered(1, True, 200))
    core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(200, token="t2")))
    (sent, _) = core.feed(ev.HeartbeatDue(1))
    assert isinstance(sent, ev.SendHeartbeat) and sent.token == "t1"  # not rotated
    # a 200 whose body says 1006 is read as success: no notification
    assert core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(200, 1006, "stale", "t3"))) == ()
    effects = core.feed(ev.Stop())
    assert not [e for e in effects if isinstance(e, ev.SendSsmTeardown)]


def test_teardown_blocks_hook_turns_a_sync_teardown_async() -> None:
    class AsyncTeardown(SdkModel):
        def teardown_blocks(self, sync_configured: bool) -> bool:
            return False

    sync = CoreConfig(sync_ssm_setup_teardown=True)
    for config, blocking in ((sync, True), (attrs.evolve(sync, sdk=AsyncTeardown()), False)):
        core = PlayerCore(config)
        _playing(core)
        effects = core.feed(ev.Zap("ch-2"))
        teardowns = [e for e in effects if isinstance(e, ev.SendSsmTeardown)]
        setups = [e for e in effects if isinstance(e, ev.SendSsmSetup)]
        assert [t.blocking for t in teardowns] == [blocking]
        assert bool(setups) is not blocking  # async: the new setup leaves at once


def test_device_config_refuses_something_else_as_sdk() -> None:
    with pytest.raises(ConfigError, match="sdk must be an SdkModel"):
        DeviceConfig(name="phone", account="alice", sdk="ios-3.2")  # type: ignore[arg-type]


# --- the bundled mutants ---------------------------------------------------------------------



@pytest.fixture(scope="module")
def results() -> dict[str, MutantResult]:
    """Every bundled mutant against the bundled scenarios (the search: see below)."""
    return {r.mutant.name: r for r in run_mutants(examples=0)}


@pytest.fixture(scope="module")
def searched() -> dict[str, MutantResult]:
    """Two mutants against the random search alone (no scenarios)."""
    names = ("status-only-errors", "license-without-token")
    chosen = [m for m in MUTANTS if m.name in names]
    wanted = ["ssm.errors.body-decides", "ssm.license.carries-token", "ssm.zap.no-self-limit"]
    return {r.mutant.name: r for r in run_mutants(chosen, scenario_paths=[], examples=40,
                                                  rules=wanted)}


def test_every_mutant_is_caught(results: dict[str, MutantResult]) -> None:
    survivors = {name for name, r in results.items() if not r.caught}
    assert not survivors, survivors
    assert len(results) == len(MUTANTS) >= 30
    assert not [r.error for r in results.values() if r.error is not None]


#: Each caught mutant, the bundled scenario about its defect, and how it fails there.
_DEFECT_SCENARIOS: Final = pytest.mark.parametrize("name, scenario, what", [
    ("ignores-heartbeat-errors", "heartbeat_error_zap.scenario.yaml",
     "rule ssm.errors.stop-playback"),
    ("resumes-without-checking", "background_error_waiting.scenario.yaml",
     "rule ssm.errors.stop-playback"),
    ("resumes-despite-error", "background_error_waiting.scenario.yaml",
     "rule ssm.errors.stop-playback"),
    ("zaps-to-another-stream", "heartbeat_error_zap.scenario.yaml",
     "rule ssm.background.heartbeat-error-zap"),
    ("handles-heartbeat-errors-in-pip-only", "heartbeat_error_zap.scenario.yaml",
     "rule ssm.errors.stop-playback"),
    ("never-tears-down", "teardown_on_stop.scenario.yaml", "expect: "),
    ("async-teardown-at-limit", "sync_zap_at_limit.scenario.yaml", "expect: "),
    ("blocking-teardown-in-async-mode", "async_mode_never_blocks.scenario.yaml",
     "rule ssm.sync.blocks-main-thread"),
    ("sync-setup-does-not-block", "sync_mode_freezes_ui.scenario.yaml",
     "rule ssm.sync.blocks-main-thread"),
    ("stale-heartbeat-token", "heartbeat_keeps_session.scenario.yaml",
     "rule ssm.heartbeat.token-rotation"),
    ("heartbeat-with-setup-token", "heartbeat_keeps_session.scenario.yaml",
     "rule ssm.heartbeat.token-rotation"),
    ("teardown-with-setup-token", "teardown_on_stop.scenario.yaml",
     "rule ssm.teardown.ends-session"),
    ("license-without-token", "setup_before_license.scenario.yaml",
     "rule ssm.license.carries-token"),
    ("license-before-setup-answer", "setup_before_license.scenario.yaml",
     "rule ssm.setup.before-license"),
    ("fixed-heartbeat-period", "heartbeat_period_from_setup.scenario.yaml",
     "rule ssm.heartbeat.keeps-session"),
    ("heartbeats-stop-in-pip", "pip_runs_normally.scenario.yaml", "rule ssm.pip.runs-normally"),
    ("heartbeats-in-background", "background_short_resumes.scenario.yaml",
     "rule ssm.background.suspends"),
    ("heartbeat-timer-survives-stop", "stop_during_heartbeat.scenario.yaml", "rule "),
    ("status-only-errors", "legacy_200_denial.scenario.yaml", "rule "),
    ("setup-error-not-notified", "limit_refuses_third_device.scenario.yaml", "expect: "),
    ("heartbeat-error-not-notified", "heartbeat_error_zap.scenario.yaml", ""),
    ("teardown-error-only-logged", "teardown_error_notified.scenario.yaml", ""),
    ("notifies-without-http-status", "teardown_error_notified.scenario.yaml", ""),
    ("notifies-without-ssm-code", "teardown_error_notified.scenario.yaml", ""),
    ("retries-setup-1007", "zap_race_at_limit.scenario.yaml", "rule ssm.setup.no-retry"),
    ("retries-heartbeat", "heartbeat_error_zap.scenario.yaml", "rule "),
    ("retries-teardown", "teardown_error_notified.scenario.yaml",
     "rule ssm.teardown.no-retry"),
    ("never-refreshes-ks", "ott_refresh_android.scenario.yaml",
     "rule provider.ott.refresh-before-expiry"),
    ("ott-refreshes-after-expiry", "ott_refresh_android.scenario.yaml",
     "rule provider.ott.refresh-before-expiry"),
    ("ott-reuses-ended-ks", "ott_logout_ends_session.scenario.yaml",
     "rule provider.ended.requests-fail"),
    ("ovp-widget-id-without-underscore", "ovp_widget_session.scenario.yaml",
     "rule provider.ovp.widget-id"),
    ("ott-wrong-partner-id", "ott_user_login_play.scenario.yaml",
     "rule provider.partner-id.configured"),
    ("ovp-wrong-partner-id", "ovp_partner_id_reported.scenario.yaml",
     "rule provider.partner-id.configured"),
    ("ovp-never-renews", "ovp_widget_validity_from_send.scenario.yaml",
     "rule provider.ovp.renew-after-expiry"),
    ("ovp-reuses-ended-ks", "ovp_user_login_end.scenario.yaml",
     "rule provider.ended.requests-fail"),
])


@_DEFECT_SCENARIOS
def test_each_mutant_is_caught_by_the_scenario_about_its_defect(
        results: dict[str, MutantResult], name: str, scenario: str, what: str) -> None:
    caught = dict(results[name].scenarios)
    assert scenario in caught, results[name].scenarios
    assert caught[scenario].startswith(what)


def test_the_search_alone_catches_mutants_by_the_rules_they_break(
        searched: dict[str, MutantResult]) -> None:
    status_only = searched["status-only-errors"]
    assert status_only.scenarios == ()
    assert "ssm.errors.body-decides" in status_only.rules
    assert "ssm.license.carries-token" in searched["license-without-token"].rules
    # the documented SDK can hit the async zap race in the search's space; a mutant
    # is credited with a rule only if its counterexample passes without the mutant
    for result in searched.values():
        assert "ssm.zap.no-self-limit" not in result.rules


def test_every_caught_mutant_has_its_defect_scenario_listed() -> None:
    listed = {p[0] for p in _DEFECT_SCENARIOS.args[1]}
    assert listed == {m.name for m in MUTANTS}


def test_a_mutant_keeps_each_device_app_settings() -> None:
    mutant = next(m for m in MUTANTS if m.name == "ignores-heartbeat-errors")
    config = DeviceConfig(name="phone", account="alice",
                          policy=DocumentedAppPolicy(zap_on_heartbeat_error=False))
    changed = mutant.apply(config)
    assert type(changed.policy).__name__ == "IgnoresHeartbeatErrors"
    assert changed.policy.zap_on_heartbeat_error is False  # type: ignore[attr-defined]


def test_a_qa_team_adds_its_own_mutant() -> None:
    class ForgetsTheToken(SdkModel):
        def license_token(self, token: str | None) -> str | None:
            return "not-the-session-token"

    harmless = Mutant("no-op", "the documented SDK", sdk=SdkModel())
    wrong = Mutant("wrong-license-token", "a license request with another token",
                   sdk=ForgetsTheToken())
    caught = {r.mutant.name: r for r in run_mutants([harmless, wrong], examples=0)}
    assert not caught["no-op"].caught  # the documented SDK itself is never "caught"
    assert caught["wrong-license-token"].caught
    assert any(what == "rule ssm.license.carries-token"
               for _, what in caught["wrong-license-token"].scenarios)


def test_the_new_background_scenario_passes_and_catches_a_blind_resume() -> None:
    scenario = load_scenario("scenarios/background_error_waiting.scenario.yaml")
    assert run_scenario(scenario).passed
    blind = next(m for m in MUTANTS if m.name == "resumes-without-checking")
    result = run_scenario(scenario, configure_device=blind.apply)
    assert {f.text for f in result.failures if f.kind == "rule"} >= {
        "ssm.errors.stop-playback", "ssm.background.resume-if-no-error"}


def test_cli_mutants_prints_what_caught_each_and_exits_by_survivors(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["mutants", "--examples", "0", "--only",
                                       "status-only-errors", "--only", "never-tears-down"])
    assert result.exit_code == 0, result.output
    assert "2 mutants, 2 caught (0 by the search)" in result.output
    assert "CAUGHT   status-only-errors" in result.output
    # the table: one row per mutant, its seam, verdict, scenarios and searched rules
    assert re.search(r"^status-only-errors +sdk +CAUGHT +1 +-$", result.output, re.M)
    # with one scenario only, most mutants survive: exit 1 and their names
    lone = tmp_path / "lone.yaml"
    lone.write_text("name: one\ndevices: {phone: {account: alice}}\nsteps:\n"
                    "  - play: {device: phone, stream: c}\n  - wait: 1m\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["mutants", "--examples", "0", str(lone)])
    assert result.exit_code == 1, result.output
    assert "SURVIVED never-refreshes-ks" in result.output
    assert "survived: " in result.output


def test_cli_mutants_rejects_an_invalid_scenario_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndevices: {}\nsteps: [{plya: x}]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["mutants", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml:3:" in result.output


def test_the_readme_mutant_example_runs(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(root)  # as the README says: from the repository's root
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Mutants", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md:Mutants", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "CAUGHT   wrong-license-token" in out
    assert "2 mutants, 2 caught" in out


def test_the_readme_mutant_table_is_generated_from_the_catalogue() -> None:
    from player_sim.explore import mutants_markdown

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert mutants_markdown() in readme, "regenerate it with player_sim.explore.mutants_markdown()"
