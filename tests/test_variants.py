"""Platform profiles and SSM client variants: one table, and what each variant changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from player_sim import ConfigError, DeviceConfig, World, WorldConfig
from player_sim.player import (
    PROFILES,
    VARIANTS,
    CoreConfig,
    PlayerCore,
    SsmVariants,
    events,
    profiles_markdown,
)
from player_sim.rules import CheckConfig, check_trace
from player_sim.scenario import load_scenario_text

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
URL = "https://ssm.example/"


def test_the_readme_profile_table_is_generated_from_the_declaration() -> None:
    assert profiles_markdown() in README, "regenerate it with player_sim.player.profiles_markdown()"


def test_the_table_has_one_row_per_variant_and_a_column_per_profile() -> None:
    rows = profiles_markdown().splitlines()[2:]
    assert [row.split("`")[1] for row in rows] == [v.name for v in VARIANTS]
    assert all(set(v.values) == set(PROFILES) for v in VARIANTS)


@pytest.mark.parametrize("profile", PROFILES)
def test_a_profile_gives_its_column(profile: str) -> None:
    got = SsmVariants.of(profile).as_dict()
    assert got == {v.name: v.values[profile] for v in VARIANTS}


def test_a_variant_set_on_its_own_overrides_the_profile() -> None:
    config = DeviceConfig(name="p", account="a", profile="ios",
                          variants={"stop_during_setup": "teardown-when-answered"})
    assert config.ssm_variants.stop_during_setup == "teardown-when-answered"
    assert config.ssm_variants.after_heartbeat_error == "keep-heartbeating"  # ios
    assert config.core_config().variants == config.ssm_variants


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"profile": "tizen"}, r"profile must be one of documented, ios, android, web"),
    ({"variants": {"after_heartbeat": "x"}}, r"no variant 'after_heartbeat'"),
    ({"variants": {"after_heartbeat_error": "retry"}},
     r"after_heartbeat_error must be one of stop-heartbeating, keep-heartbeating"),
])
def test_bad_profiles_and_variants_are_refused_where_they_enter(kwargs: dict[str, object],
                                                                message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DeviceConfig(name="p", account="a", **kwargs)  # type: ignore[arg-type]


def test_scenario_devices_take_a_profile_and_single_variants() -> None:
    scenario = load_scenario_text(
        "name: x\ndevices:\n  phone: {account: a, profile: web, "
        "after_heartbeat_error: stop-heartbeating}\nsteps: []\n")
    (device,) = scenario.devices
    assert device.profile == "web"
    assert device.ssm_variants.after_heartbeat_error == "stop-heartbeating"


# --- the core under each variant -----------------------------------------------------------


def _playing(variants: SsmVariants) -> PlayerCore:
    core = PlayerCore(CoreConfig(variants=variants))
    core.feed(events.Play("c1"))
    core.feed(events.SetupAnswered(1, events.SsmAnswer(200, token="T1", heartbeat_period=30)))
    core.feed(events.LicenseAnswered(1, True, 200))
    return core


@pytest.mark.parametrize("mode", ["stop-heartbeating", "keep-heartbeating"])
def test_after_a_heartbeat_error(mode: str) -> None:
    core = _playing(SsmVariants.of(overrides={"after_heartbeat_error": mode}))
    failed = events.HeartbeatAnswered(1, events.SsmAnswer(401, 1006, "killed"))
    notices = core.feed(failed)
    assert [n.kind for n in notices if isinstance(n, events.Notify)] == ["ssm_heartbeat_error"]
    again = core.feed(events.HeartbeatDue(1))
    second = core.feed(failed)
    teardowns = [e for e in core.feed(events.Zap("c1")) if isinstance(e, events.SendSsmTeardown)]
    if mode == "keep-heartbeating":
        assert events.SendHeartbeat(1, "T1") in again          # the same stale token
        assert [n.kind for n in second if isinstance(n, events.Notify)] == [
            "ssm_heartbeat_error"]                              # another error each time
        assert [(t.token, t.stream) for t in teardowns] == [("T1", "c1")]
    else:
        assert again == () and second == () and teardowns == []


@pytest.mark.parametrize("mode", ["teardown-when-answered", "skip-teardown"])
def test_a_setup_answered_after_a_stop(mode: str) -> None:
    core = PlayerCore(CoreConfig(variants=SsmVariants.of(overrides={"stop_during_setup": mode})))
    core.feed(events.Play("c1"))
    core.feed(events.Stop())
    late = core.feed(events.SetupAnswered(1, events.SsmAnswer(200, token="T1",
                                                               heartbeat_period=30)))
    sent = [e for e in late if isinstance(e, events.SendSsmTeardown)]
    assert sent == ([] if mode == "skip-teardown"
                    else [events.SendSsmTeardown(1, "T1", blocking=False, stream="c1")])


def test_a_teardown_error_after_a_zap_names_the_old_stream() -> None:
    core = _playing(SsmVariants.of())
    core.feed(events.Zap("c2"))
    notices = core.feed(events.TeardownAnswered(1, events.SsmAnswer(503, 4001, "x")))
    (error,) = [n for n in notices if isinstance(n, events.Notify)
                and n.kind == "ssm_teardown_error"]
    assert error.payload()["stream"] == "c1"


def test_a_capped_teardown_wait_lets_the_zap_go_on_and_its_late_answer_only_notifies() -> None:
    core = PlayerCore(CoreConfig(sync_ssm_setup_teardown=True))
    core.feed(events.Play("c1"))
    core.feed(events.SetupAnswered(1, events.SsmAnswer(200, token="T1", heartbeat_period=30)))
    core.feed(events.LicenseAnswered(1, True, 200))
    core.feed(events.Zap("c2"))
    assert core.playback.value == "stopping"
    assert core.feed(events.TeardownWaitEnded(7)) == ()          # not the teardown waited for
    moved = core.feed(events.TeardownWaitEnded(1))
    assert [e for e in moved if isinstance(e, events.SendSsmSetup)] == [
        events.SendSsmSetup(2, "c2", blocking=True)]
    late = core.feed(events.TeardownAnswered(1, events.SsmAnswer(503, 4001, "x")))
    assert [n.kind for n in late if isinstance(n, events.Notify)] == ["ssm_teardown_error"]
    assert core.playback.value == "ssm_setup"


@pytest.mark.parametrize(("start", "armed_at"), [("after-setup-answer", "setup"),
                                                  ("after-license-answer", "license")])
def test_the_heartbeat_timer_starts_at_the_answer_its_variant_names(start: str,
                                                                    armed_at: str) -> None:
    core = PlayerCore(CoreConfig(variants=SsmVariants.of(overrides={"heartbeat_start": start})))
    core.feed(events.Play("c1"))
    setup = core.feed(events.SetupAnswered(1, events.SsmAnswer(200, token="T1",
                                                                heartbeat_period=30)))
    license = core.feed(events.LicenseAnswered(1, True, 200))
    arm = events.ArmHeartbeat(1, 30.0)
    assert (arm in setup, arm in license) == (armed_at == "setup", armed_at == "license")


@pytest.mark.parametrize(("numbering", "extra"), [
    ("none", {}),
    ("ios-userinfo", {"error": "killed", "errorCode": 1006, "code": 401}),
    ("android", {"error_code": -1353}),
    ("web", {"error_code": 6003}),
])
def test_a_heartbeat_error_carries_the_platform_s_numbers(numbering: str,
                                                          extra: dict[str, object]) -> None:
    core = _playing(SsmVariants.of(overrides={"error_numbering": numbering}))
    (notice,) = core.feed(events.HeartbeatAnswered(1, events.SsmAnswer(401, 1006, "killed")))
    assert isinstance(notice, events.Notify)
    assert notice.payload() == {"stream": "c1", "http_status": 401, "ssm_code": 1006,
                                "message": "killed", **extra}


def test_the_web_numbers_a_max_sessions_refusal_6004_whichever_call() -> None:
    from player_sim.player import platform_fields

    assert platform_fields("web", "ssm_setup_error", 400, 1007, "max") == {"error_code": 6004}
    assert platform_fields("web", "ssm_setup_error", 503, 4001, "x") == {"error_code": 6001}
    assert platform_fields("android", "ssm_teardown_error", 401, 1006, "x") == {
        "error_code": -1354}


# --- the operator kill, end to end, under both heartbeat-error variants -----------------------


@pytest.mark.parametrize(("profile", "errors", "teardown_errors"),
                         [("documented", 1, 0), ("ios", 2, 1)])
def test_operator_kill(profile: str, errors: int, teardown_errors: int) -> None:
    world = World(WorldConfig(), seed=1)
    phone = world.add_device(DeviceConfig(name="phone", account="alice", ssm_server_url=URL,
                                          profile=profile, app_reaction_delay=40))  # type: ignore[arg-type]
    phone.play("c1")
    world.run_for(45)
    assert world.ssm.kill_device_sessions("phone") == 1
    assert world.ssm.kill_account_sessions("alice") == 0
    world.run_for(50)  # heartbeats at 60 and 90 s; the app zaps at 100 s
    kinds = [r.kind for r in world.trace if r.device == "phone"]
    assert kinds.count("ssm_heartbeat_error") == errors
    world.run_for(10)
    kinds = [r.kind for r in world.trace if r.device == "phone"]
    assert kinds.count("ssm_teardown_error") == teardown_errors
    # The app takes 40 s to react: late by the documented bound, whatever its setting.
    late = {v.rule.id for v in check_trace(world.trace, CheckConfig.for_world(world),
                                           end=world.now)}
    assert late == {"ssm.errors.stop-playback", "ssm.background.heartbeat-error-zap"}


# --- the random explorer finds the iOS leak from scratch, and not on the web ------------------


def test_explore_over_ios_finds_the_stop_during_setup_leak_and_writes_a_replayable_file(
        tmp_path: Path) -> None:
    import attrs

    from player_sim.explore import EXPLORE_SPACE, explore_random, write_counterexamples
    from player_sim.scenario import load_scenario, run_scenario

    rule = "ssm.setup.late-answer-torn-down"
    ios = explore_random(examples=100, seed=0, rules=[rule],
                         space=attrs.evolve(EXPLORE_SPACE, profile="ios"))
    assert ios.rules == (rule,)
    (path,) = write_counterexamples(ios, tmp_path)
    replay = run_scenario(load_scenario(path))
    assert replay.status == "failed"
    assert [f.text for f in replay.failures] == [rule]
    assert all(d.profile == "ios" for d in load_scenario(path).devices)
    web = explore_random(examples=100, seed=0, rules=[rule],
                         space=attrs.evolve(EXPLORE_SPACE, profile="web"))
    assert web.rules == ()


# --- client timeouts and lost answers ------------------------------------------------------


def test_a_timed_out_setup_fails_and_its_late_answer_is_dropped() -> None:
    from player_sim import NetworkConfig

    world = World(WorldConfig(network=NetworkConfig(link_latency={"ssm": 4.0})), seed=1)
    phone = world.add_device(DeviceConfig(name="phone", account="alice", ssm_server_url=URL,
                                          request_timeouts={"setup": 5.0}))
    phone.play("c1")
    world.run_for(20)
    answers = [(r.t, r.data["http_status"]) for r in world.trace
               if r.kind == "ssm_setup_answered"]
    assert answers == [(5.0, 0)]                       # the 8 s answer came too late
    assert [r.data["http_status"] for r in world.trace if r.kind == "ssm_setup_error"] == [0]
    assert len(world.ssm.active_sessions("alice")) == 1  # the server did set it up
    assert phone.playback_state.value == "failed"


def test_a_lost_answer_leaves_the_server_changed_and_the_device_waiting_for_its_timeout(
        ) -> None:
    world = World(WorldConfig(), seed=1)
    phone = world.add_device(DeviceConfig(name="phone", account="alice", ssm_server_url=URL))
    world.ssm.lose_next("teardown")
    phone.play("c1")
    world.run_for(5)
    phone.stop()
    world.run_for(5)
    kinds = [r.kind for r in world.trace if r.device == "phone"]
    assert "ssm_session_ended" in kinds and "answer_lost" in kinds
    assert "ssm_teardown_answered" not in kinds  # no timeout set: it waits for ever
    with pytest.raises(ConfigError, match=r"no endpoint 'license'"):
        world.ssm.lose_next("license")


@pytest.mark.parametrize(("timeouts", "message"), [
    ({"license": 5.0}, r"request_timeouts: no call 'license'; calls are setup, heartbeat"),
    ({"setup": 0}, r"request_timeouts\['setup'\] must be a positive number of seconds"),
])
def test_bad_timeouts_are_refused(timeouts: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DeviceConfig(name="p", account="a", request_timeouts=timeouts)
