"""The SDK / app / provider seam (issue 11): each hook of SdkModel changes what the core
does, scenario files name variant classes as module:Name, the exhaustive explorer keeps a
variant's state, a bad variant is reported per mutant, variants pickle."""

from __future__ import annotations

import pickle
import sys
import textwrap
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import attrs
import pytest

from player_sim import CoreConfig, DeviceConfig, PlayerCore, SdkModel, World, WorldConfig
from player_sim.explore import (
    MUTANTS,
    Mutant,
    clone_core,
    explore_core,
    explore_exhaustive,
    run_mutants,
    state_key,
)
from player_sim.explore._coremodel import CoreEnv
from player_sim.player import DocumentedAppPolicy, PlaybackState
from player_sim.player import events as ev
from player_sim.scenario import ScenarioError, load_scenario_text, run_scenario

ROOT = Path(__file__).resolve().parent.parent
OK = ev.SsmAnswer(200, token="t1", heartbeat_period=30.0)


def _playing(core: PlayerCore, token: str = "t1") -> None:
    core.feed(ev.Play("ch-1"))
    core.feed(ev.SetupAnswered(core.playback_id, attrs.evolve(OK, token=token)))
    core.feed(ev.LicenseAnswered(core.playback_id, True, 200))


def _of(effects: tuple[ev.Effect, ...], kind: type) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]


# --- each hook --------------------------------------------------------------------------------

def test_read_answer_is_told_which_call_it_reads() -> None:
    seen: list[str] = []

    class Spy(SdkModel):
        def read_answer(self, answer: ev.SsmAnswer, call: Any) -> ev.SsmAnswer:
            seen.append(call)
            return answer

    core = PlayerCore(CoreConfig(sdk=Spy()))
    _playing(core)
    core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(200, token="t2")))
    core.feed(ev.Stop())
    core.feed(ev.TeardownAnswered(1, ev.SsmAnswer(204)))
    assert seen == ["setup", "heartbeat", "teardown"]


def test_heartbeat_and_teardown_token_hooks_see_the_setup_token() -> None:
    class SetupTokens(SdkModel):
        def heartbeat_token(self, current: str, setup_token: str) -> str:
            return setup_token

        def teardown_token(self, current: str, setup_token: str) -> str:
            return f"{setup_token}/{current}"

    core = PlayerCore(CoreConfig(sdk=SetupTokens()))
    _playing(core)
    core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(200, token="t2")))
    assert core.ssm_token == "t2"  # rotated, yet the heartbeat carries the setup's token
    (beat,) = _of(core.feed(ev.HeartbeatDue(1)), ev.SendHeartbeat)
    assert beat.token == "t1"
    (teardown,) = _of(core.feed(ev.Stop()), ev.SendSsmTeardown)
    assert teardown.token == "t1/t2"


def test_setup_blocks_period_and_license_wait_hooks() -> None:
    class Hasty(SdkModel):
        def setup_blocks(self, sync_configured: bool) -> bool:
            return not sync_configured

        def license_waits_for_setup(self) -> bool:
            return False

        def heartbeat_period(self, answered: float) -> float:
            return 30.0

    core = PlayerCore(CoreConfig(sdk=Hasty()))
    effects = core.feed(ev.Play("ch-1"))
    (setup,) = _of(effects, ev.SendSsmSetup)
    (early,) = _of(effects, ev.SendLicenseRequest)
    assert setup.blocking and early.ssm_token is None
    effects = core.feed(ev.SetupAnswered(1, attrs.evolve(OK, heartbeat_period=10.0)))
    assert [a.delay for a in _of(effects, ev.ArmHeartbeat)] == [30.0]


def test_heartbeats_in_pip_hook_keeps_the_timer_without_sending() -> None:
    class PipSilent(SdkModel):
        def heartbeats_in(self, app: str) -> bool:
            return app == "foreground"

    core = PlayerCore(CoreConfig(pip_enabled=True, sdk=PipSilent()))
    _playing(core)
    core.feed(ev.EnterPip())
    effects = core.feed(ev.HeartbeatDue(1))
    assert _of(effects, ev.SendHeartbeat) == [] and len(_of(effects, ev.ArmHeartbeat)) == 1
    core.feed(ev.LeavePip())
    assert len(_of(core.feed(ev.HeartbeatDue(1)), ev.SendHeartbeat)) == 1


def test_heartbeat_timer_not_cancelled_on_stop_beats_with_the_released_token() -> None:
    class KeepsTimer(SdkModel):
        def cancels_heartbeat_on_stop(self) -> bool:
            return False

    for sdk, expected in ((None, []), (KeepsTimer(), ["t1"])):
        core = PlayerCore(CoreConfig(sdk=sdk))
        _playing(core)
        core.feed(ev.Stop())
        beats = _of(core.feed(ev.HeartbeatDue(1)), ev.SendHeartbeat)
        assert [b.token for b in beats] == expected


def test_heartbeats_in_background_hook_reaches_the_device() -> None:
    class Awake(SdkModel):
        def heartbeats_in(self, app: str) -> bool:
            return True

    sent = []
    for sdk in (None, Awake()):
        world = World(WorldConfig())
        phone = world.add_device(DeviceConfig(name="phone", account="alice",
                                              ssm_server_url="https://ssm.example/", sdk=sdk))
        phone.play("ch-1")
        world.run_until(5.0)
        phone.enter_background()
        before = phone.heartbeats_sent
        world.run_until(200.0)
        sent.append(phone.heartbeats_sent - before)
    assert sent[0] == 0 and sent[1] >= 6


def test_notification_hooks_drop_or_change_the_payload() -> None:
    class Quiet(SdkModel):
        def notifies_error(self, call: Any, answer: ev.SsmAnswer) -> bool:
            return call != "teardown"

        def error_notice(self, call: Any, answer: ev.SsmAnswer) -> ev.SsmAnswer:
            return attrs.evolve(answer, ssm_code=None)

    core = PlayerCore(CoreConfig(sdk=Quiet()))
    _playing(core)
    (notice,) = core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(403, 1006, "stale")))
    assert isinstance(notice, ev.Notify) and notice.payload()["ssm_code"] is None
    assert notice.payload()["http_status"] == 403
    core.feed(ev.Stop())
    effects = core.feed(ev.TeardownAnswered(1, ev.SsmAnswer(403, 1006, "stale")))
    assert [e for e in effects if isinstance(e, ev.Notify) and e.kind.startswith("ssm_")] == []


def test_retries_hook_resends_setup_then_gives_up_and_notifies() -> None:
    class Retries1007(SdkModel):
        def retries(self, call: Any, answer: ev.SsmAnswer, attempt: int) -> bool:
            return call == "setup" and answer.ssm_code == 1007 and attempt <= 2

    core = PlayerCore(CoreConfig(sdk=Retries1007()))
    core.feed(ev.Play("ch-1"))
    refused = ev.SsmAnswer(400, 1007, "too many sessions")
    for _ in range(2):
        effects = core.feed(ev.SetupAnswered(1, refused))
        assert len(_of(effects, ev.SendSsmSetup)) == 1 and core.playback is PlaybackState.SSM_SETUP
    effects = core.feed(ev.SetupAnswered(1, refused))
    assert next(e.kind for e in _of(effects, ev.Notify)) == "ssm_setup_error"
    assert core.playback is PlaybackState.FAILED


def test_retries_hook_resends_a_failed_teardown_with_its_token() -> None:
    class RetriesTeardown(SdkModel):
        def retries(self, call: Any, answer: ev.SsmAnswer, attempt: int) -> bool:
            return call == "teardown" and attempt == 1

    core = PlayerCore(CoreConfig(sdk=RetriesTeardown()))
    _playing(core)
    core.feed(ev.Stop())
    failed = ev.SsmAnswer(503, 4001, "SSM not available")
    (again,) = _of(core.feed(ev.TeardownAnswered(1, failed)), ev.SendSsmTeardown)
    assert again.token == "t1"
    effects = core.feed(ev.TeardownAnswered(1, failed))
    assert [e.kind for e in _of(effects, ev.Notify)] == ["ssm_teardown_error"]


def test_each_core_reads_its_own_copy_of_a_stateful_model() -> None:
    class Counting(SdkModel):
        def __init__(self) -> None:
            self.beats = 0

        def heartbeat_token(self, current: str, setup_token: str) -> str:
            self.beats += 1
            return current

    model = Counting()
    a, b = PlayerCore(CoreConfig(sdk=model)), PlayerCore(CoreConfig(sdk=model))
    for core in (a, b):
        _playing(core)
    a.feed(ev.HeartbeatDue(1))
    a.feed(ev.HeartbeatDue(1))
    b.feed(ev.HeartbeatDue(1))
    assert (a._sdk.beats, b._sdk.beats, model.beats) == (2, 1, 0)  # type: ignore[union-attr]


def test_documented_app_policy_hooks() -> None:
    @attrs.frozen
    class Fallback(DocumentedAppPolicy):
        def zap_target(self, player: Any, payload: Any) -> str | None:
            return "fallback"

    core = PlayerCore()
    _playing(core)
    (zap,) = Fallback().on_notification(core, "ssm_heartbeat_error", {})
    assert zap == ev.Zap("fallback")
    assert DocumentedAppPolicy().on_notification(core, "ssm_heartbeat_error", {}) == (
        ev.Zap("ch-1"),)


# --- scenario files -------------------------------------------------------------------------------

class _FixtureSdk(SdkModel):
    """Used by name from the scenario texts below (this module is importable)."""

    def license_token(self, token: str | None) -> str | None:
        return None


@attrs.frozen
class _FixtureApp(DocumentedAppPolicy):
    def on_ssm_heartbeat_error(self, player: Any, payload: Any) -> Any:
        return ()


HERE = __name__


def _scenario(device: str) -> str:
    return textwrap.dedent(f"""\
        name: variant
        devices:
          phone: {device}
        steps:
          - play: {{device: phone, stream: c}}
          - wait: 5s
        """)


def test_scenario_file_names_sdk_app_and_provider_classes() -> None:
    scenario = load_scenario_text(_scenario(
        f'{{account: alice, sdk: "{HERE}:_FixtureSdk", app: {{policy: "{HERE}:_FixtureApp", '
        f'zap_on_heartbeat_error: false}}}}'))
    (device,) = scenario.devices
    assert isinstance(device.sdk, _FixtureSdk)
    assert isinstance(device.policy, _FixtureApp)
    assert device.policy.zap_on_heartbeat_error is False
    failures = {f.text for f in run_scenario(scenario).failures}
    assert "ssm.license.carries-token" in failures
    short = load_scenario_text(_scenario(f'{{account: alice, app: "{HERE}:_FixtureApp"}}'))
    assert isinstance(short.devices[0].policy, _FixtureApp)


def test_scenario_session_provider_variant_class() -> None:
    text = _scenario('{account: alice, session_provider: {backend: ott, partner_id: 3, '
                     'variant: "player_sim.explore._mutant_catalogue:NeverRefreshesKs"}}')
    scenario = load_scenario_text(text)
    provider, _ = scenario.providers["phone"].build()
    assert type(provider).__name__ == "NeverRefreshesKs"


@pytest.mark.parametrize("key, reference, message", [
    ("sdk", "no_such_module_xyz:Sdk", "can't import module 'no_such_module_xyz'"),
    ("sdk", f"{HERE}:Missing", f"module '{HERE}' has no 'Missing'"),
    ("sdk", f"{HERE}:_FixtureApp", "is not an SDK model: it must be a subclass of "
                                   "player_sim.SdkModel"),
    ("app", f"{HERE}:_FixtureSdk", "is not an app policy"),
])
def test_a_bad_reference_is_a_located_problem(key: str, reference: str, message: str) -> None:
    text = _scenario(f'{{account: alice, {key}: "{reference}"}}')
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, "variant.yaml")
    (problem,) = caught.value.problems
    assert str(problem).startswith("variant.yaml:3:")
    assert message in str(problem)


def test_a_provider_class_of_the_wrong_backend_is_refused() -> None:
    text = _scenario('{account: alice, session_provider: {backend: ovp, partner_id: 3, '
                     'variant: "player_sim.explore._mutant_catalogue:NeverRefreshesKs"}}')
    with pytest.raises(ScenarioError, match="is not an ovp session provider"):
        load_scenario_text(text, "variant.yaml")


# --- the exhaustive explorer ---------------------------------------------------------------

class _Toggle(SdkModel):
    """Stateful: every other heartbeat is skipped (the state the explorer must keep)."""

    def __init__(self) -> None:
        self.skip = False

    def heartbeats_in(self, app: str) -> bool:
        self.skip = not self.skip
        return not self.skip and app != "background"

    def state(self) -> Hashable:
        return self.skip


def test_a_stateful_model_is_copied_per_branch_and_part_of_the_key() -> None:
    core = PlayerCore(CoreConfig(sdk=_Toggle()))
    _playing(core)
    twin = clone_core(core)
    assert twin._sdk is not core._sdk
    env = CoreEnv()
    assert state_key(core, env) == state_key(twin, env)
    core.feed(ev.HeartbeatDue(1))
    assert core._sdk.skip and not twin._sdk.skip  # type: ignore[union-attr]
    assert state_key(core, env) != state_key(twin, env)


class _CountingCore(PlayerCore):
    """A core variant with its own (dict) state: how many plays it took."""

    def __init__(self, config: CoreConfig | None = None) -> None:
        super().__init__(config)
        self.plays = 0

    def _begin_play(self) -> None:  # a callback the tables name: a subclass may override it
        self.plays = min(self.plays + 1, 2)
        super()._begin_play()


def test_a_core_subclass_with_state_is_explored_not_reset() -> None:
    result = explore_core(CoreConfig(), 3, core_type=_CountingCore)
    plain = explore_core(CoreConfig(), 3)
    assert result.states > plain.states  # "plays" tells otherwise equal states apart
    core = _CountingCore()
    core.feed(ev.Play("a"))
    assert clone_core(core).plays == 1  # type: ignore[attr-defined]


def test_explore_exhaustive_takes_an_sdk() -> None:
    report = explore_exhaustive(4, sdk=_FixtureSdk(), world_configs={})
    assert "ssm.license.carries-token" in {v.rule_id for v in report.violations}


# --- mutants: errors, pickling ---------------------------------------------------------------

class _Raises(SdkModel):
    def license_token(self, token: str | None) -> str | None:
        raise RuntimeError("hook exploded")


def test_a_raising_mutant_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    scenario = tmp_path / "one.yaml"
    scenario.write_text(_scenario("{account: alice}"), encoding="utf-8")
    good = next(m for m in MUTANTS if m.name == "license-without-token")
    bad = Mutant("explodes", "a hook that raises", sdk=_Raises())
    results = run_mutants([bad, good], scenario_paths=[str(scenario)], examples=0)
    assert results[0].verdict == "ERROR" and "RuntimeError: hook exploded" in str(
        results[0].error)
    assert results[1].caught


def test_a_mutant_of_the_wrong_kind_is_refused_where_it_is_built() -> None:
    from player_sim import ConfigError

    with pytest.raises(ConfigError, match="a mutant's sdk is an SdkModel instance"):
        Mutant("bad", "", sdk=_FixtureSdk)  # type: ignore[arg-type]


def test_every_mutant_and_result_pickles() -> None:
    for mutant in MUTANTS:
        copy = pickle.loads(pickle.dumps(mutant))
        assert copy == mutant and type(copy.sdk) is type(mutant.sdk)
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from acme_sdk import AcmeSdk  # type: ignore[import-not-found]

        model = AcmeSdk()
        model.license_token("t1")
        assert pickle.loads(pickle.dumps(model)).cached_token == "t1"
    finally:
        sys.path.remove(str(ROOT / "examples"))


def test_mutants_are_spread_over_the_three_seams_and_tied_to_a_sentence() -> None:
    from player_sim.rules import CATALOGUE

    seams = [m.seam for m in MUTANTS]
    assert len(MUTANTS) >= 30 and len({m.name for m in MUTANTS}) == len(MUTANTS)
    assert min(seams.count(s) for s in ("sdk", "app", "provider")) >= 5
    for mutant in MUTANTS:
        quote, where = mutant.sentence
        assert quote and where, mutant.name
        assert mutant.rule is None or mutant.rule in CATALOGUE, mutant.name
        doc = ROOT.parent / "shared" / where.split(":")[0]
        if doc.exists():  # the shared documents sit beside the worktree
            text = " ".join(doc.read_text(encoding="utf-8").split())
            assert " ".join(quote.split())[:40].replace("`", "") in text.replace("`", ""), \
                mutant.name


def test_mutants_run_on_a_process_pool() -> None:
    """The mutant objects themselves travel to the workers (spawned processes)."""
    from click.testing import CliRunner

    from player_sim.cli import main

    result = CliRunner().invoke(main, [
        "mutants", "--workers", "2", "--examples", "0", "--only", "license-without-token",
        "--only", "ovp-never-renews",
        str(ROOT / "scenarios" / "setup_before_license.scenario.yaml"),
        str(ROOT / "scenarios" / "ovp_widget_session.scenario.yaml")])
    assert result.exit_code == 0, result.output
    assert "2 mutants, 2 caught" in result.output
