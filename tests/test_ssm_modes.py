"""Enforced mode, SSM V2 and a late content token (issue 9 items 5, 6 and 12).

The pure core first (fed by hand), then the world on the synchronous engine, then
the monitors: each mode's documented behaviour passes its rules, and the same
trace from a client that gets it wrong is caught.
"""

from __future__ import annotations

from typing import Any

from conftest import notifies, playing_core, without_notifies

from player_sim import (
    CoreConfig,
    DeviceConfig,
    LicenseConfig,
    PlaybackState,
    PlayerCore,
    SsmConfig,
    World,
    WorldConfig,
    events,
)
from player_sim.player import SsmVariants
from player_sim.rules import check_world

ev = events
P = PlaybackState
URL = "https://ssm.example/"
OK = ev.SsmAnswer(200, None, "", "tok-1", 30.0)


def v2_core(**variants: Any) -> PlayerCore:
    return PlayerCore(CoreConfig(variants=SsmVariants.of("documented",
                                                         {"ssm_version": "v2", **variants})))


def device(name: str, account: str = "alice", **options: Any) -> DeviceConfig:
    return DeviceConfig(name=name, account=account, ssm_server_url=URL, **options)


def kinds(w: World, name: str, *wanted: str) -> list[tuple[float, str]]:
    return [(round(r.t, 6), r.kind) for r in w.trace.of_kind(*wanted, device=name)]


# --- enforced mode: the keep-alive is a license renewal ------------------------------------


def test_a_license_answer_with_a_session_token_makes_the_keep_alive_a_renewal() -> None:
    core = PlayerCore()
    core.feed(ev.Play("ch-1"))
    core.feed(ev.SetupAnswered(1, OK))
    core.feed(ev.LicenseAnswered(1, True, 200, session_token="tok-1"))
    assert core.playback is P.PLAYING
    [send, _arm] = core.feed(ev.HeartbeatDue(1))
    assert send == ev.SendHeartbeat(1, "tok-1", renewal=True)
    core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(200, None, "", "tok-2", 30.0)))
    [send, _arm] = core.feed(ev.HeartbeatDue(1))
    assert send == ev.SendHeartbeat(1, "tok-2", renewal=True)  # rotated like a heartbeat


def test_without_a_session_token_in_the_license_answer_heartbeats_stay_plain() -> None:
    core = playing_core()
    [send, _arm] = core.feed(ev.HeartbeatDue(1))
    assert send == ev.SendHeartbeat(1, "tok-1", renewal=False)


def test_a_refused_renewal_is_a_heartbeat_error() -> None:
    core = PlayerCore()
    core.feed(ev.Play("ch-1"))
    core.feed(ev.SetupAnswered(1, OK))
    core.feed(ev.LicenseAnswered(1, True, 200, session_token="tok-1"))
    core.feed(ev.HeartbeatDue(1))
    effects = core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(401, 1006, "invalid token")))
    [error] = notifies(effects, "ssm_heartbeat_error")
    assert error.payload()["ssm_code"] == 1006


def test_renewals_go_where_the_drm_says_and_rotate_the_servers_token() -> None:
    w = World(WorldConfig(ssm=SsmConfig(), license=LicenseConfig(enforced=True)), seed=1)
    w.add_device(device("pixel", variants={"drm": "widevine"})).play("ch-1")
    w.add_device(device("phone", variants={"drm": "fairplay"})).play("ch-1")
    w.run_until(95)
    renewals = {r.device: r.data.get("renewal")
                for r in w.trace.of_kind("heartbeat_sent")}
    assert renewals == {"pixel": "ssm:renewal-license-wv", "phone": "license:?renew=true"}
    assert [r.data.get("renewal") for r in w.trace.of_kind("ssm_heartbeat", device="phone")] \
        == ["license:?renew=true"] * 3
    assert [r.data.get("enforced") for r in w.trace.of_kind("license_granted")] == [True, True]
    assert check_world(w) == []
    assert len(w.active_sessions()) == 2


def test_a_plain_license_server_leaves_no_enforced_fields() -> None:
    w = World(WorldConfig(ssm=SsmConfig()), seed=1)
    w.add_device(device("pixel")).play("ch-1")
    w.run_until(35)
    assert all("renewal" not in r.data for r in w.trace.of_kind("heartbeat_sent"))
    assert all("session_token" not in r.data for r in w.trace.of_kind("license_answered"))


# --- SSM V2: the setup inside the license request, stop leaves the session -----------------


def test_v2_sets_up_inside_the_license_request_and_plays_on_its_answer() -> None:
    core = v2_core()
    effects = core.feed(ev.Play("ch-1"))
    assert without_notifies(effects) == [ev.SendSsmSetup(1, "ch-1", blocking=False,
                                                         in_license=True)]
    effects = core.feed(ev.SetupAnswered(1, OK))
    assert core.playback is P.PLAYING
    assert not any(isinstance(e, ev.SendLicenseRequest) for e in effects)
    assert ev.ArmHeartbeat(1, 30.0) in effects
    assert notifies(effects, "playback_started")


def test_v2_stop_and_zap_leave_the_session_and_the_app_tears_it_down() -> None:
    core = v2_core()
    core.feed(ev.Play("ch-1"))
    core.feed(ev.SetupAnswered(1, OK))
    effects = core.feed(ev.Stop())
    assert not any(isinstance(e, ev.SendSsmTeardown) for e in effects)
    assert core.playback is P.STOPPED
    assert core.feed(ev.HeartbeatDue(1)) == ()  # no more heartbeats: it expires unrenewed
    effects = core.feed(ev.ReleaseItem())
    assert without_notifies(effects) == [ev.SendSsmTeardown(1, "tok-1", blocking=False,
                                                            stream="ch-1")]
    assert without_notifies(core.feed(ev.ReleaseItem())) == []  # nothing left to tear down


def test_v2_zap_sends_the_new_setup_and_no_teardown() -> None:
    core = v2_core()
    core.feed(ev.Play("ch-1"))
    core.feed(ev.SetupAnswered(1, OK))
    effects = without_notifies(core.feed(ev.Zap("ch-2")))
    assert effects == [ev.SendSsmSetup(2, "ch-2", blocking=False, in_license=True)]


def test_v2_in_the_world_leaves_a_zombie_that_blocks_the_account_until_it_expires() -> None:
    w = World(WorldConfig(ssm=SsmConfig(max_sessions_per_account=1)), seed=1)
    phone = w.add_device(device("phone", variants={"ssm_version": "v2"}))
    tablet = w.add_device(device("tablet"))
    phone.play("ch-1")
    w.run_until(40)
    phone.stop()
    w.run_until(41)
    tablet.play("ch-1")
    w.run_until(42)
    assert tablet.core.playback is P.FAILED
    assert kinds(w, "phone", "license_request_sent", "ssm_teardown_sent") == []
    w.run_until(101)
    assert [r.device for r in w.trace.of_kind("ssm_session_expired")] == ["phone"]
    assert check_world(w) == []


def test_a_v1_client_that_skips_the_teardown_is_still_caught() -> None:
    """The monitors excuse only V2: the same missing teardown from a V1 client breaks
    ssm.teardown.on-stop."""

    class LeavesSessions(PlayerCore):
        __slots__ = ()

        def _sends_teardown(self) -> bool:
            return False

    w = World(WorldConfig(ssm=SsmConfig()), seed=1)
    phone = w.add_device(device("phone"))
    phone.core.__class__ = LeavesSessions
    phone.play("ch-1")
    w.run_until(40)
    phone.stop()
    w.run_until(45)
    assert "ssm.teardown.on-stop" in {v.rule.id for v in check_world(w)}


# --- a late content token ----------------------------------------------------------------


def test_a_polling_client_sets_up_once_the_content_token_is_there() -> None:
    w = World(WorldConfig(ssm=SsmConfig()), seed=1)
    laptop = w.add_device(device("laptop", profile="web", content_token_delay=2.0))
    laptop.play("ch-1")
    w.run_until(5)
    [polled] = w.trace.of_kind("content_token_polled", device="laptop")
    assert (polled.t, polled.data) == (2.0, {"polls": 20, "found": True})
    assert [round(r.t, 6) for r in w.trace.of_kind("ssm_setup_sent")] == [2.0]
    assert laptop.core.playback is P.PLAYING


def test_a_polling_client_gives_up_after_fifty_polls_with_5022() -> None:
    w = World(WorldConfig(ssm=SsmConfig()), seed=1)
    desk = w.add_device(device("desk", profile="web", content_token_delay=8.0))
    desk.play("ch-1")
    w.run_until(10)
    [error] = w.trace.of_kind("content_token_error", device="desk")
    assert (error.t, error.data["error_code"]) == (5.0, 5022)
    assert w.trace.of_kind("ssm_setup_sent") == []
    assert desk.core.playback is P.FAILED
    assert check_world(w) == []


def test_a_stop_while_polling_ends_the_polls() -> None:
    w = World(WorldConfig(ssm=SsmConfig()), seed=1)
    desk = w.add_device(device("desk", profile="web", content_token_delay=8.0))
    desk.play("ch-1")
    w.run_until(1)
    desk.stop()
    w.run_until(10)
    assert w.trace.of_kind("content_token_polled", "content_token_error", "ssm_setup_sent") \
        == []


def test_a_client_that_does_not_poll_sends_the_setup_without_a_token() -> None:
    w = World(WorldConfig(ssm=SsmConfig()), seed=1)
    phone = w.add_device(device("phone", content_token_delay=2.0))
    phone.play("ch-1")
    w.run_until(1)
    [error] = w.trace.of_kind("ssm_setup_error", device="phone")
    assert error.data["ssm_code"] == 1003
