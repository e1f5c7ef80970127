"""The simulated world on trio's autojump clock: each behaviour the SSM document states.

Default timings used in the assertions: one-way latency 0.02 s per link, a 30 s
heartbeat period and a session timeout of 2 * 30 + 10 = 70 s after the last
setup or heartbeat the server handled.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
import trio
from conftest import SignalLog

from player_sim import (
    AppState,
    ConfigError,
    DeviceConfig,
    DocumentedAppPolicy,
    InvalidTransition,
    LicenseConfig,
    NetworkConfig,
    PlaybackState,
    PlayerSimError,
    Simulation,
    SsmConfig,
    Trace,
    World,
    WorldConfig,
)
from player_sim.rules import check_world

URL = "https://ssm.example/"
P = PlaybackState


def device(name: str, account: str = "alice", **options: Any) -> DeviceConfig:
    return DeviceConfig(name=name, account=account, ssm_server_url=URL, **options)


def world(**ssm: Any) -> WorldConfig:
    return WorldConfig(ssm=SsmConfig(**ssm))


def kinds(trace: Trace, device: str, *wanted: str) -> list[tuple[float, str]]:
    return [(round(r.t, 6), r.kind) for r in trace.of_kind(*wanted, device=device)]


# --- the session limit ---------------------------------------------------------------------


async def test_third_device_of_a_two_session_account_is_refused(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    async with Simulation(world(max_sessions_per_account=2), seed=1) as sim:
        phones = [sim.add_device(device(name)) for name in ("phone", "tablet", "tv")]
        for phone in phones:
            phone.play("ch-1")
        await sim.sleep(600)
        assert [p.playback_state for p in phones] == [P.PLAYING, P.PLAYING, P.FAILED]
        [error] = signal_log.of("ssm_setup_error")
        assert (error.device, error.time) == ("tv", pytest.approx(0.04))
        assert error.payload == {
            "stream": "ch-1", "http_status": 400, "ssm_code": 1007,
            "message": "max active sessions exceeded for account 'alice' (limit 2)"}
        assert sim.trace.of_kind("license_request_sent", device="tv") == []
        assert signal_log.of("playback_started", device="tv") == []
        assert [s.device for s in sim.active_sessions("alice")] == ["phone", "tablet"]


async def test_refused_device_plays_once_a_slot_is_torn_down(
        autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(world(max_sessions_per_account=1), seed=1) as sim:
        phone, tv = sim.add_device(device("phone")), sim.add_device(device("tv"))
        phone.play("ch-1")
        await sim.sleep(1)
        tv.play("ch-1")
        await sim.sleep(1)
        assert tv.playback_state is P.FAILED
        phone.stop()
        await sim.sleep(1)  # the teardown (204) has freed the slot
        assert [r.data["http_status"] for r in sim.trace.of_kind("ssm_teardown_answered")] == [204]
        tv.play("ch-1")
        await sim.sleep(1)
        assert tv.playback_state is P.PLAYING


# --- heartbeats and their errors ----------------------------------------------------------


async def test_heartbeat_error_makes_the_app_zap_to_the_same_stream(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.sleep(10)
        sim.world.ssm.fail_next("heartbeat", http_status=500, ssm_code=None, message="boom")
        await sim.sleep(60)
        [error] = signal_log.of("ssm_heartbeat_error")
        # The first heartbeat leaves at 30.04 and its error is back at 30.08.
        assert error.time == pytest.approx(30.08)
        assert error.payload == {"stream": "news", "http_status": 500, "ssm_code": None,
                                 "message": "boom"}
        [zap] = sim.trace.of_kind("action", device="phone")[1:]
        assert (zap.t, dict(zap.data)) == (pytest.approx(30.08),
                                           {"name": "zap", "origin": "app", "stream": "news"})
        assert [n.payload for n in signal_log.of("zap")] == [
            {"stream_from": "news", "stream": "news", "same_stream": True}]
        assert [n.payload for n in signal_log.of("playback_stopped")] == [
            {"stream": "news", "reason": "zap"}]
        assert phone.playback_state is P.PLAYING
        assert len(signal_log.of("playback_started")) == 2
        # The new session heartbeats with its own tokens.
        created = [r.data["session"] for r in sim.trace.of_kind("ssm_session_created")]
        assert created == ["phone/1", "phone/2"]


async def test_heartbeat_error_stops_playback_when_the_app_does_not_zap(
        autojump_clock: trio.abc.Clock) -> None:
    policy = DocumentedAppPolicy(zap_on_heartbeat_error=False)
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone", policy=policy))
        phone.play("news")
        await sim.sleep(10)
        sim.world.ssm.fail_next("heartbeat", http_status=401, ssm_code=1006, message="stale")
        await sim.sleep(600)
        assert phone.playback_state is P.STOPPED
        assert [(r.t, r.data["name"]) for r in sim.trace.of_kind("action", device="phone")] == [
            (0.0, "play"), (pytest.approx(30.08), "stop")]
        # No heartbeat after the error: the session is lost.
        sent = [r.t for r in sim.trace.of_kind("heartbeat_sent", device="phone")]
        assert sent == [pytest.approx(30.04)]


async def test_teardown_error_is_signalled_and_leaves_a_zombie(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.sleep(5)
        sim.world.ssm.fail_next("teardown", http_status=500, ssm_code=None,
                                message="internal error")
        phone.stop()
        await sim.sleep(1)
        [error] = signal_log.of("ssm_teardown_error")
        assert (error.device, error.time) == ("phone", pytest.approx(5.04))
        assert error.payload == {"stream": "news", "http_status": 500, "ssm_code": None,
                                 "message": "internal error"}
        assert phone.playback_state is P.STOPPED
        # The slot stays taken until the session expires (70 s after its setup at 0.02).
        assert [s.session_id for s in sim.zombie_sessions()] == ["phone/1"]
        await sim.sleep(70.02 - 6 - 0.01)
        assert len(sim.zombie_sessions()) == 1
        await sim.sleep(0.02)
        assert sim.zombie_sessions() == []


async def test_stop_during_a_heartbeat_round_trip_tears_down_with_a_stale_token(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.sleep(30.05)  # the heartbeat left at 30.04; the server rotates at 30.06
        phone.stop()  # the teardown carries the token the heartbeat is replacing
        await sim.sleep(1)
        [error] = signal_log.of("ssm_teardown_error")
        assert (error.time, error.payload) == (pytest.approx(30.09), {
            "stream": "news", "http_status": 401, "ssm_code": 1006,
            "message": "stale token: a heartbeat already rotated it"})
        # Nobody holds the rotated token: a zombie until 70 s after that heartbeat.
        assert [z.session_id for z in sim.zombie_sessions()] == ["phone/1"]
        await sim.sleep(100.05 - sim.now)
        assert len(sim.zombie_sessions()) == 1
        await sim.sleep(0.02)
        assert sim.zombie_sessions() == []


async def test_pip_keeps_heartbeats_flowing_for_hours(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone", pip=True))
        phone.play("news")
        await sim.sleep(60)
        phone.enter_background()
        assert (phone.app_state, phone.playback_state) == (AppState.PIP, P.PLAYING)
        await sim.sleep(3 * 3600)
        sent = [r.t for r in sim.trace.of_kind("heartbeat_sent", device="phone")]
        # Every 30 s from 30.04 to 10830.04 (3 h plus 60 s): 361 heartbeats, none missed.
        assert len(sent) == 361
        assert sent[-1] == pytest.approx(10830.04)
        assert sent[0] == pytest.approx(30.04)
        assert all(b - a == pytest.approx(30.0) for a, b in itertools.pairwise(sent))
        assert sim.trace.of_kind("ssm_heartbeat", device="phone")[-1].t == pytest.approx(
            sent[-1] + 0.02)
        assert [s.session_id for s in sim.active_sessions()] == ["phone/1"]
        assert [n for n in signal_log.received if n[1].kind.startswith("ssm_")] == []
        assert phone.playback_state is P.PLAYING


# --- background ----------------------------------------------------------------------------


async def test_short_background_resumes_without_an_error(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.sleep(300)
        phone.enter_background()
        assert phone.playback_state is P.PAUSED
        await sim.sleep(40)  # the last heartbeat was handled at 270.06: expiry 340.06
        # Suspended: no heartbeat left the device while in background.
        assert [r.t for r in sim.trace.of_kind("heartbeat_sent", device="phone")
                if r.t > 300] == []
        phone.enter_foreground()
        await sim.sleep(100)
        assert phone.playback_state is P.PLAYING
        assert [r.data["name"] for r in sim.trace.of_kind("action", device="phone")] == [
            "play", "enter_background", "enter_foreground", "resume"]
        assert [n for n in signal_log.received if n[1].kind.startswith("ssm_")] == []
        assert [s.session_id for s in sim.active_sessions()] == ["phone/1"]
        # The overdue heartbeat leaves at once on foreground, then every 30 s.
        after = [r.t for r in sim.trace.of_kind("heartbeat_sent", device="phone") if r.t >= 340]
        assert after == [pytest.approx(t) for t in (340.0, 370.0, 400.0, 430.0)]


async def test_long_background_fails_the_first_heartbeat_and_zaps_to_the_same_stream(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.sleep(300)
        phone.enter_background()
        await sim.sleep(3600)
        # The server let the session go 70 s after the last heartbeat it handled.
        [expired] = sim.trace.of_kind("ssm_session_expired")
        assert expired.t == pytest.approx(340.06)
        phone.enter_foreground()
        await sim.sleep(10)
        [error] = signal_log.of("ssm_heartbeat_error")
        assert error.time == pytest.approx(3900.04)
        assert error.payload == {"stream": "news", "http_status": 401, "ssm_code": 1006,
                                 "message": "invalid token: its session expired"}
        first_after = [r for r in sim.trace.of_kind("heartbeat_sent") if r.t >= 3900]
        assert first_after[0].t == 3900.0
        assert [n.payload for n in signal_log.of("zap")] == [
            {"stream_from": "news", "stream": "news", "same_stream": True}]
        assert phone.playback_state is P.PLAYING
        assert [s.session_id for s in sim.active_sessions()] == ["phone/2"]


# --- zombies -------------------------------------------------------------------------------


@pytest.mark.parametrize(("timeout", "expected_expiry"), [(None, 90.06 + 70), (300.0, 90.06 + 300)])
async def test_killed_app_leaves_a_zombie_until_the_timeout(
        autojump_clock: trio.abc.Clock, timeout: float | None, expected_expiry: float) -> None:
    async with Simulation(world(session_timeout=timeout), seed=1) as sim:
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.sleep(100)  # last heartbeat handled at 90.06
        phone.kill()
        assert phone.app_state is AppState.TERMINATED
        assert [z.session_id for z in sim.zombie_sessions("alice")] == ["phone/1"]
        await sim.sleep(expected_expiry - 100 - 0.01)
        assert [z.session_id for z in sim.zombie_sessions("alice")] == ["phone/1"]
        await sim.sleep(0.02)
        assert sim.zombie_sessions("alice") == []
        [expired] = sim.trace.of_kind("ssm_session_expired")
        assert expired.t == pytest.approx(expected_expiry)
        # The killed app sent nothing after the kill.
        killed_at = sim.trace.of_kind("app_killed")[0].t
        assert [r for r in sim.trace if r.device == "phone" and r.t > killed_at
                and r.kind.endswith("_sent")] == []


async def test_zombie_holds_the_slot_against_the_relaunched_app(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    async with Simulation(world(max_sessions_per_account=1), seed=1) as sim:
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.sleep(5)
        phone.kill()
        phone.relaunch()
        phone.play("news")
        await sim.sleep(1)
        assert phone.playback_state is P.FAILED
        assert [n.payload["ssm_code"] for n in signal_log.of("ssm_setup_error")] == [1007]
        await sim.sleep(70)  # the zombie (set up at 0.02) has expired at 70.02
        phone.play("news")
        await sim.sleep(1)
        assert phone.playback_state is P.PLAYING


async def test_answers_to_a_killed_app_never_reach_the_relaunched_one(
        autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone", sync_ssm_setup_teardown=True))
        phone.play("news")
        await sim.sleep(0.01)  # the setup is on the wire, the main thread blocked
        phone.kill()
        phone.relaunch()
        await sim.sleep(0.005)
        phone.play("news")  # its setup answer comes back at 0.055, the dead one's at 0.04
        await sim.sleep(1)
        assert phone.playback_state is P.PLAYING
        assert not phone.main_thread_blocked
        # Blocked 0.00-0.01 until the kill, then 0.015-0.055 for the new setup.
        assert phone.blocked_time == pytest.approx(0.05)
        # The new player holds the new session; the dead process's one is a zombie.
        assert [z.session_id for z in sim.zombie_sessions()] == ["phone/1"]
        assert [r.data["token"] for r in sim.trace.of_kind("ssm_setup_answered")] == [
            sim.trace.of_kind("license_request_sent")[0].data["ssm_token"]]
        assert sim.trace.of_kind("ssm_teardown_sent") == []
        phone.stop()  # the main thread is free: the stop runs at once
        assert sim.trace.of_kind("action_waits") == []
        await sim.sleep(1)
        assert phone.playback_state is P.STOPPED


async def test_heartbeat_timers_of_a_killed_app_die_with_it(
        autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.sleep(10)  # the first heartbeat is due at 30.04
        phone.kill()
        phone.relaunch()
        phone.play("news")  # set up at 10.04: heartbeats at 40.04, 70.04
        await sim.sleep(90)
        sent = [r.t for r in sim.trace.of_kind("heartbeat_sent")]
        assert sent == [pytest.approx(40.04), pytest.approx(70.04)]


# --- zap at the limit ----------------------------------------------------------------------


@pytest.mark.parametrize(("sync", "order", "outcome", "setup_errors"), [
    (False, "setup-first", P.FAILED, [1007]),
    (False, "teardown-first", P.PLAYING, []),
    (True, "setup-first", P.PLAYING, []),
])
async def test_zap_at_the_limit(autojump_clock: trio.abc.Clock, signal_log: SignalLog,
                                sync: bool, order: str, outcome: PlaybackState,
                                setup_errors: list[int]) -> None:
    async with Simulation(world(max_sessions_per_account=1), seed=1) as sim:
        phone = sim.add_device(device("phone", sync_ssm_setup_teardown=sync,
                                      async_zap_order=order))
        phone.play("ch-1")
        await sim.sleep(10)
        phone.zap("ch-2")
        await sim.sleep(10)
        assert phone.playback_state is outcome
        assert [n.payload["ssm_code"] for n in signal_log.of("ssm_setup_error")] == setup_errors
        # The old session was torn down in every case; only the order differs.
        assert [r.data["session"] for r in sim.trace.of_kind("ssm_session_ended")] == ["phone/1"]


# --- sync mode blocks the main thread ------------------------------------------------------


async def test_sync_mode_records_blocked_time_and_delays_actions(
        autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone", sync_ssm_setup_teardown=True))
        phone.play("news")
        await sim.sleep(0.01)
        assert phone.main_thread_blocked
        phone.stop()  # issued while the setup blocks: it waits
        assert phone.playback_state is P.SSM_SETUP
        await sim.sleep(10)
        assert phone.playback_state is P.STOPPED
        assert not phone.main_thread_blocked
        [waits] = sim.trace.of_kind("action_waits")
        assert (waits.t, dict(waits.data)) == (0.01, {"name": "stop", "origin": "user"})
        [delayed] = sim.trace.of_kind("action_delayed")
        assert (delayed.t, dict(delayed.data)) == (pytest.approx(0.04),
                                                   {"name": "stop", "waited": 0.03})
        # Setup 0.00 -> 0.04, then teardown 0.04 -> 0.08.
        blocked = [(r.t, r.data["seconds"]) for r in sim.trace.of_kind("main_thread_blocked")]
        assert blocked == [(pytest.approx(0.04), 0.04), (pytest.approx(0.08), 0.04)]
        assert phone.blocked_time == pytest.approx(0.08)


async def test_a_waiting_action_refused_when_its_turn_comes_is_dropped_not_raised(
        autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone", sync_ssm_setup_teardown=True))
        phone.play("news")
        await sim.sleep(0.01)
        phone.resume()  # nothing is paused, but the main thread is blocked: it waits
        phone.zap("sport")  # waits too, and is fine when its turn comes
        await sim.sleep(10)  # the setup answer at 0.04 frees the main thread
        [dropped] = sim.trace.of_kind("action_dropped")
        assert (dropped.t, dict(dropped.data)) == (pytest.approx(0.04), {
            "name": "resume", "origin": "user",
            "reason": "can't 'resume' while playback is 'license_request'"})
        assert [r.data["name"] for r in sim.trace.of_kind("action_delayed")] == ["resume", "zap"]
        assert (phone.stream, phone.playback_state) == ("sport", P.PLAYING)


async def test_a_waiting_action_the_device_can_never_take_is_dropped_with_the_rule(
        autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone", sync_ssm_setup_teardown=True))  # no PiP
        phone.play("news")
        phone.enter_pip()
        await sim.sleep(10)
        [dropped] = sim.trace.of_kind("action_dropped")
        assert dropped.data["reason"] == (
            "can't 'enter_pip': picture-in-picture is not enabled on this device")
        assert phone.playback_state is P.PLAYING


async def test_async_mode_never_blocks(autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone"))
        phone.play("news")
        phone.stop()
        phone.play("news")
        await sim.sleep(100)
        assert phone.blocked_time == 0.0
        assert sim.trace.of_kind("action_waits", "main_thread_blocked") == []


async def test_sync_mode_blocks_longer_on_a_slow_ssm_link(autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(seed=1) as sim:
        sim.world.add_latency("ssm", 1.5)
        phone = sim.add_device(device("phone", sync_ssm_setup_teardown=True))
        phone.play("news")
        await sim.sleep(10)
        phone.zap("sport")
        await sim.sleep(10)
        # Each round trip is 2 * (0.02 + 1.5) s: setup, then teardown + setup of the zap.
        assert phone.blocked_time == pytest.approx(3 * 3.04)
        assert phone.playback_state is P.PLAYING


# --- server variants -----------------------------------------------------------------------


async def test_ssm_outage_answers_503_with_4001(autojump_clock: trio.abc.Clock,
                                                signal_log: SignalLog) -> None:
    async with Simulation(seed=1) as sim:
        sim.world.outage("ssm", 100.0, 200.0)
        phone, tv = sim.add_device(device("phone")), sim.add_device(device("tv"))
        phone.play("news")
        await sim.sleep(150)
        tv.play("news")
        await sim.sleep(1)
        [setup_error] = signal_log.of("ssm_setup_error", device="tv")
        assert setup_error.payload == {
            "stream": "news", "http_status": 503, "ssm_code": 4001,
            "message": "SSM not available"}
        assert tv.playback_state is P.FAILED
        # The phone's heartbeat at 120.04 hits the outage too.
        [hb_error] = signal_log.of("ssm_heartbeat_error")
        assert (hb_error.device, hb_error.time) == ("phone", pytest.approx(120.08))
        assert (hb_error.payload["http_status"], hb_error.payload["ssm_code"]) == (503, 4001)
        # Its app zaps to the same stream, whose setup fails in the outage as well.
        assert [n.time for n in signal_log.of("ssm_setup_error", device="phone")] == [
            pytest.approx(120.12)]
        assert phone.playback_state is P.FAILED
        await sim.sleep(100)  # after the outage: a new play works
        tv.play("news")
        await sim.sleep(1)
        assert tv.playback_state is P.PLAYING


async def test_legacy_200_with_a_denial_in_the_body_is_still_an_error(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    async with Simulation(world(max_sessions_per_account=1, legacy_status_200=True),
                          seed=1) as sim:
        phone, tv = sim.add_device(device("phone")), sim.add_device(device("tv"))
        phone.play("news")
        await sim.sleep(1)
        tv.play("news")
        await sim.sleep(1)
        [error] = signal_log.of("ssm_setup_error")
        assert (error.device, error.payload["http_status"], error.payload["ssm_code"]) == (
            "tv", 200, 1007)
        assert tv.playback_state is P.FAILED
        assert sim.trace.of_kind("license_request_sent", device="tv") == []


async def test_evict_oldest_policy_ends_the_oldest_session(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    config = world(max_sessions_per_account=1, limit_policy="evict-oldest")
    async with Simulation(config, seed=1) as sim:
        phone, tv = sim.add_device(device("phone")), sim.add_device(device("tv"))
        phone.play("news")
        await sim.sleep(5)
        tv.play("news")
        await sim.sleep(1)
        assert tv.playback_state is P.PLAYING
        [evicted] = sim.trace.of_kind("ssm_session_evicted")
        assert (evicted.t, evicted.device, evicted.data["session"]) == (
            pytest.approx(5.02), "phone", "phone/1")
        assert [s.device for s in sim.active_sessions()] == ["tv"]
        assert signal_log.of("ssm_setup_error") == []
        await sim.sleep(30)  # the phone's next heartbeat (30.04) finds its session gone
        [error] = signal_log.of("ssm_heartbeat_error", device="phone")
        assert error.payload["ssm_code"] == 1006
        assert error.payload["message"] == (
            "invalid token: its session was evicted by a newer session")


async def test_per_ip_limit_counts_sessions_of_every_account(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    async with Simulation(world(max_sessions_per_account=5, max_sessions_per_ip=1),
                          seed=1) as sim:
        a = sim.add_device(device("a", "alice", ip="10.0.0.1"))
        b = sim.add_device(device("b", "bob", ip="10.0.0.1"))
        c = sim.add_device(device("c", "bob", ip="10.0.0.2"))
        for d in (a, b, c):
            d.play("news")
        await sim.sleep(1)
        assert [d.playback_state for d in (a, b, c)] == [P.PLAYING, P.FAILED, P.PLAYING]
        [error] = signal_log.of("ssm_setup_error")
        assert (error.device, error.payload["ssm_code"], error.payload["message"]) == (
            "b", 1007, "max active sessions exceeded for IP 10.0.0.1 (limit 1)")


async def test_max_ips_per_account(autojump_clock: trio.abc.Clock,
                                   signal_log: SignalLog) -> None:
    async with Simulation(world(max_sessions_per_account=5, max_ips_per_account=1),
                          seed=1) as sim:
        a = sim.add_device(device("a", ip="10.0.0.1"))
        b = sim.add_device(device("b", ip="10.0.0.1"))
        c = sim.add_device(device("c", ip="10.0.0.2"))
        for d in (a, b, c):
            d.play("news")
        await sim.sleep(1)
        assert [d.playback_state for d in (a, b, c)] == [P.PLAYING, P.PLAYING, P.FAILED]
        assert [n.payload["message"] for n in signal_log.of("ssm_setup_error")] == [
            "max IPs exceeded for account 'alice' (limit 1)"]


async def test_device_group_limit(autojump_clock: trio.abc.Clock,
                                  signal_log: SignalLog) -> None:
    config = world(max_sessions_per_account=5, max_sessions_per_device_group=1)
    async with Simulation(config, seed=1) as sim:
        a = sim.add_device(device("a", device_group="mobile"))
        b = sim.add_device(device("b", device_group="mobile"))
        c = sim.add_device(device("c", device_group="tv"))
        d = sim.add_device(device("d"))  # no group: not counted against one
        for x in (a, b, c, d):
            x.play("news")
        await sim.sleep(1)
        assert [x.playback_state for x in (a, b, c, d)] == [
            P.PLAYING, P.FAILED, P.PLAYING, P.PLAYING]
        assert [(n.device, n.payload["message"]) for n in signal_log.of("ssm_setup_error")] == [
            ("b", "max active sessions exceeded for device group 'mobile' (limit 1)")]


async def test_without_ssm_url_no_ssm_traffic(autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(world(max_sessions_per_account=1), seed=1) as sim:
        phones = [sim.add_device(DeviceConfig(name=n, account="alice")) for n in ("a", "b")]
        for p in phones:
            p.play("free")
        await sim.sleep(600)
        assert [p.playback_state for p in phones] == [P.PLAYING, P.PLAYING]
        assert [r for r in sim.trace if r.kind.startswith(("ssm", "heartbeat"))] == []
        assert [r.data["ssm_token"] for r in sim.trace.of_kind("license_request_sent")] == [
            None, None]


# --- the license server ----------------------------------------------------------------------


async def test_license_request_with_a_token_rotated_meanwhile_is_denied(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    async with Simulation(seed=1) as sim:
        sim.world.add_latency("license", 35.0)
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.sleep(100)
        # The request leaves at 0.04 with the setup's token and arrives at 35.06, after
        # the heartbeat of 30.04 rotated that token at the server (30.06).
        [sent] = sim.trace.of_kind("license_request_sent")
        assert sent.data["ssm_token"] == sim.trace.of_kind("heartbeat_sent")[0].data["token"]
        [error] = signal_log.of("license_error")
        assert (error.time, error.payload) == (pytest.approx(70.08), {
            "stream": "news", "http_status": 403, "code": 1006,
            "message": "SSM token is not the current token of a live session"})
        assert phone.playback_state is P.FAILED
        # The failed item releases its session, with the newest token: 204.
        assert [r.data["http_status"] for r in sim.trace.of_kind("ssm_teardown_answered")] == [
            204]
        assert sim.active_sessions() == []


async def test_license_server_can_require_a_token_even_without_ssm(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    config = WorldConfig(license=LicenseConfig(require_ssm_token=True))
    async with Simulation(config, seed=1) as sim:
        phone = sim.add_device(DeviceConfig(name="phone", account="alice"))
        phone.play("news")
        await sim.sleep(1)
        assert phone.playback_state is P.FAILED
        assert [n.payload for n in signal_log.of("license_error")] == [{
            "stream": "news", "http_status": 403, "code": None,
            "message": "license request carries no SSM token"}]


async def test_license_granted_only_for_the_current_token(autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.sleep(1)
        lic = sim.world.license
        token = phone.core.ssm_token
        assert lic.request("probe", "news", token, True).granted
        assert not lic.request("probe", "news", "forged", True).granted
        assert lic.request("probe", "news", None, False).granted  # content not under SSM
        phone.stop()
        await sim.sleep(1)
        verdict = lic.request("probe", "news", token, True)
        assert (verdict.granted, verdict.http_status, verdict.code) == (False, 403, 1006)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: NetworkConfig(link_latency={"cdn": 1}),
     "link_latency: no link 'cdn'; links are ssm, license, ott, ovp"),
    (lambda: NetworkConfig(latency=-1), "latency can't be negative, not -1"),
    (lambda: World().outage("ssm", 5, 5), "a window needs 0 <= start < end, not [5, 5)"),
    (lambda: World().outage("dns", 0, 1), "no link 'dns'; links are ssm, license, ott, ovp"),
    (lambda: World().add_latency("ssm", -1), "extra latency can't be negative, not -1"),
    (lambda: DeviceConfig(name="p", account="a", ssm_server_url="ssm.example"),
     "ssm_server_url must be an http(s) URL with a host, not 'ssm.example'"),
    (lambda: DeviceConfig(name=" ", account="a"), "name can't be empty"),
])
def test_bad_world_config_is_refused_where_it_enters(build: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build()
    assert str(info.value) == message


async def test_license_outage_fails_the_playback_and_releases_its_session(
        autojump_clock: trio.abc.Clock, signal_log: SignalLog) -> None:
    async with Simulation(seed=1) as sim:
        sim.world.outage("license", 0.0, 10.0)
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.sleep(1)
        assert phone.playback_state is P.FAILED
        assert [n.payload for n in signal_log.of("license_error")] == [{
            "stream": "news", "http_status": 503, "code": None,
            "message": "license server not available"}]
        assert sim.active_sessions() == []  # the failed item tore its SSM session down


# --- virtual time on trio ------------------------------------------------------------------


async def _scenario(sim: Simulation, wait: Any) -> None:
    phone = sim.add_device(device("phone"))
    phone.play("news")
    await wait(600)
    phone.enter_background()
    await wait(600)
    phone.enter_foreground()
    await wait(600)


async def test_trio_sleep_advances_the_world_like_sim_sleep(
        autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(seed=3) as by_sim:
        start = trio.current_time()
        await _scenario(by_sim, by_sim.sleep)
        assert by_sim.now == 1800.0
        assert trio.current_time() - start == 1800.0  # one clock for both
        expected = by_sim.trace.to_jsonl()
    async with Simulation(seed=3) as by_trio:
        start = trio.current_time()
        await _scenario(by_trio, trio.sleep)
        assert trio.current_time() - start == 1800.0
        assert by_trio.now == 1800.0
        assert by_trio.trace.to_jsonl() == expected
    assert "heartbeat_sent" in expected and "ssm_heartbeat_error" in expected


async def test_mixing_trio_sleep_and_sim_sleep_keeps_one_clock(
        autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(seed=3) as sim:
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.sleep(100)
        await trio.sleep(100)
        await sim.sleep(100)
        assert sim.now == 300.0
        sent = [r.t for r in sim.trace.of_kind("heartbeat_sent")]
        assert sent == [pytest.approx(30.04 + 30 * k) for k in range(9)]


async def test_wait_until_stops_at_the_event_that_makes_it_true(
        autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone"))
        phone.play("news")
        await sim.wait_until(lambda: phone.playback_state is P.PLAYING, timeout=1)
        assert sim.now == pytest.approx(0.08)  # the license answer's arrival
        with pytest.raises(trio.TooSlowError, match="not met within 5 virtual seconds"):
            await sim.wait_until(lambda: phone.playback_state is P.STOPPED, timeout=5)
        assert sim.now == pytest.approx(5.08)


async def test_simulation_refuses_misuse_with_the_rule(autojump_clock: trio.abc.Clock) -> None:
    sim = Simulation(seed=1)
    async with sim:
        with pytest.raises(ConfigError, match="can't sleep a negative time"):
            await sim.sleep(-1)
        with pytest.raises(PlayerSimError, match="time can't go backwards"):
            sim.world.run_until(-1.0)
        sim.add_device(device("phone"))
        with pytest.raises(ConfigError, match="a device named 'phone' already exists"):
            sim.add_device(device("phone"))
        with pytest.raises(ConfigError, match="no device named 'tv'; devices: phone"):
            sim.device("tv")
    with pytest.raises(PlayerSimError, match="entered only once"):
        async with sim:
            pass


async def test_app_reaction_delay_postpones_the_policys_actions(
        autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(WorldConfig(trace_heartbeats=False), seed=1) as sim:
        phone = sim.add_device(device("phone", app_reaction_delay=2.0))
        phone.play("news")
        sim.world.ssm.fail_next("heartbeat", http_status=500)
        await sim.sleep(100)
        # The error arrives at 30.08; the app zaps two seconds later.
        assert [(r.t, r.data["name"], r.data["origin"])
                for r in sim.trace.of_kind("action")] == [
            (0.0, "play", "user"), (pytest.approx(32.08), "zap", "app")]
        # Heartbeats are counted, not traced: 30.04, then the new session's 62.16, 92.16.
        assert phone.heartbeats_sent == 3
        assert sim.trace.of_kind("heartbeat_sent", "ssm_heartbeat") == []


async def test_listen_delivers_notifications_into_a_trio_channel(
        autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(world(max_sessions_per_account=1), seed=1) as sim:
        phone, tv = sim.add_device(device("phone")), sim.add_device(device("tv"))
        with sim.listen("ssm_setup_error", "playback_started") as notes:
            phone.play("news")
            await sim.sleep(5)
            tv.play("news")
            with trio.fail_after(60):
                first = await notes.receive()
                second = await notes.receive()
        assert (first.kind, first.device, first.time) == (
            "playback_started", "phone", pytest.approx(0.08))
        assert (second.kind, second.device, second.time) == (
            "ssm_setup_error", "tv", pytest.approx(5.04))
        assert second.payload["ssm_code"] == 1007
        # The channel is closed when the block ends.
        with pytest.raises(trio.EndOfChannel):
            await notes.receive()


async def test_listen_hears_events_without_the_harness_touching_the_world(
        autojump_clock: trio.abc.Clock) -> None:
    async with Simulation(seed=1) as sim:
        phone = sim.add_device(device("phone"))
        sim.world.ssm.fail_next("heartbeat", http_status=500, message="boom")
        with sim.listen("ssm_heartbeat_error") as notes:
            phone.play("news")
            with trio.fail_after(100):
                note = await notes.receive()  # only trio's clock moves the world here
        assert (note.time, note.payload["message"]) == (pytest.approx(30.08), "boom")


# --- random users -----------------------------------------------------------------------------

_USER_MOVES = ("play", "stop", "zap", "resume", "release_item", "enter_background",
               "enter_foreground", "enter_pip", "leave_pip", "close_pip", "kill", "relaunch")


def _random_world(seed: int) -> tuple[World, bool]:
    """A small world of 1-3 devices of one account, driven by a seeded random user.

    Returns the world, settled for 1000 s, and whether faults were injected.
    """
    rnd = random.Random(seed)
    config = WorldConfig(
        ssm=SsmConfig(max_sessions_per_account=rnd.choice([1, 2, 3]),
                      limit_policy=rnd.choice(["refuse-new", "evict-oldest"])),
        network=NetworkConfig(jitter=rnd.choice([0.0, 0.05])))
    sim_world = World(config, seed=seed)
    devices = [sim_world.add_device(DeviceConfig(
        name=f"d{i}", account="acc", ssm_server_url=rnd.choice([URL, URL, None]),
        sync_ssm_setup_teardown=rnd.random() < 0.5, pip=rnd.random() < 0.5,
        async_zap_order=rnd.choice(["setup-first", "teardown-first"]),
        release_item_on_stop=rnd.random() < 0.7, app_reaction_delay=rnd.choice([0.0, 0.5])))
        for i in range(rnd.randint(1, 3))]
    faulty = rnd.random() < 0.5
    if faulty:
        start = rnd.uniform(0, 200)
        sim_world.outage("ssm", start, start + rnd.uniform(1, 100))
        sim_world.ssm.fail_next(rnd.choice(["setup", "heartbeat", "teardown"]), rnd.randint(1, 3),
                                http_status=500)
    for _ in range(rnd.randint(5, 40)):
        target, move = rnd.choice(devices), rnd.choice(_USER_MOVES)
        try:
            if move == "kill":
                if not target.killed:
                    target.kill()
            elif move == "relaunch":
                if target.killed:
                    target.relaunch()
            elif move in ("play", "zap"):
                getattr(target, move)(rnd.choice(["x", "y"]))
            else:
                getattr(target, move)()
        except (InvalidTransition, ConfigError):
            pass  # refused now, with the rule: that is the contract of perform()
        sim_world.run_for(rnd.choice([0.0, 0.01, 0.03, 1, 10, 45, 200]))
    sim_world.run_for(1000)
    return sim_world, faulty


@pytest.mark.parametrize("block", range(4))
def test_random_users_never_break_the_world(block: int) -> None:
    for seed in range(block * 100, block * 100 + 100):
        settled, faulty = _random_world(seed)  # no exception escapes the event loop
        ssm = settled.ssm
        for d in settled.devices:
            # The main thread is never left blocked in the foreground once things settle
            # (a suspended app holds its answers until it comes back: that is by design).
            assert d.core.app is AppState.BACKGROUND or d.killed or not d.main_thread_blocked, (
                seed, d.name)
        if faulty:
            continue
        held = {d.core.ssm_token for d in settled.devices
                if not d.killed and d.core.ssm_token is not None}
        # Without faults every live session is held by a running player: no zombie
        # outlives its timeout, no teardown is lost.
        assert all(s.token in held or s.previous_token in held
                   for s in ssm.active_sessions()), seed
        if settled.config.ssm.limit_policy == "refuse-new":
            assert len(ssm.active_sessions("acc")) <= settled.config.ssm.max_sessions_per_account
            for d in settled.devices:
                token = d.core.ssm_token
                if token is not None and not d.killed and d.core.app is not AppState.BACKGROUND:
                    assert any(token in (s.token, s.previous_token)
                               for s in ssm.active_sessions()), (seed, d.name)


# --- determinism ---------------------------------------------------------------------------


async def _busy_world(seed: int) -> str:
    config = WorldConfig(ssm=SsmConfig(max_sessions_per_account=2),
                         network=NetworkConfig(jitter=0.05))  # seeded jitter too
    async with Simulation(config, seed=seed) as sim:
        devices = [sim.add_device(device(n, sync_ssm_setup_teardown=n == "tv"))
                   for n in ("phone", "tablet", "tv")]
        for d in devices:
            d.play("news")
        await sim.sleep(100)
        devices[0].zap("sport")
        devices[1].kill()
        await sim.sleep(300)
        devices[2].zap("sport")  # refused or playing, depending on the seeded jitter
        await sim.sleep(300)
        return sim.trace.to_jsonl()


async def test_same_seed_gives_a_byte_identical_trace(autojump_clock: trio.abc.Clock) -> None:
    first = await _busy_world(7)
    second = await _busy_world(7)
    assert first == second
    assert first.count("\n") > 50


async def test_different_seeds_give_different_tokens(autojump_clock: trio.abc.Clock) -> None:
    def tokens(jsonl: str) -> list[str]:
        trace = Trace.from_jsonl(jsonl)
        return [r.data["token"] for r in trace.of_kind("ssm_setup_answered")
                if r.data.get("token")]

    seven, eight = tokens(await _busy_world(7)), tokens(await _busy_world(8))
    assert min(len(seven), len(eight)) >= 3
    assert set(seven).isdisjoint(eight)


# --- sessions settling on the wire ------------------------------------------------------


def test_a_session_whose_setup_answer_is_on_the_wire_is_no_zombie() -> None:
    w = World(world(), seed=1)
    phone = w.add_device(device("phone"))
    phone.play("ch-1")
    w.run_until(0.03)  # created at the server at 0.02; the token reaches the phone at 0.04
    assert [s.session_id for s in w.active_sessions()] == ["phone/1"]
    assert w.zombie_sessions() == []
    phone.kill()  # a killed app's session is a zombie at once, answer or not
    assert [s.session_id for s in w.zombie_sessions()] == ["phone/1"]


def test_a_session_whose_teardown_is_on_the_wire_is_no_zombie_until_it_fails() -> None:
    w = World(world(), seed=1)
    phone = w.add_device(device("phone"))
    phone.play("ch-1")
    w.run_until(10)
    w.ssm.fail_next("teardown", http_status=500, ssm_code=None, message="boom")
    phone.stop()
    w.run_until(10.03)  # the teardown reached the server (and failed) at 10.02
    assert w.zombie_sessions() == []
    w.run_until(10.05)  # the failure is back at the phone: nobody holds the session now
    assert [s.session_id for s in w.zombie_sessions()] == ["phone/1"]


async def test_a_receiver_reading_state_inside_an_event_does_not_move_time(
        autojump_clock: trio.abc.Clock) -> None:
    # A receiver that reads a device inside an event must not run the world ahead to
    # trio's time in the middle of that event (the rest would be stamped late).
    seen: list[tuple[float, P]] = []
    async with Simulation(world(), seed=1) as sim:
        phone = sim.add_device(device("phone"))

        def on_zap(sender: Any, notification: Any) -> None:
            seen.append((notification.time, sender.playback_state))

        from player_sim import signals
        signals.zap.connect(on_zap)
        try:
            phone.play("ch-1")
            await sim.sleep(1)
            sim.world.ssm.fail_next("heartbeat", http_status=503, ssm_code=4001)
            await trio.sleep(100)
            assert sim.now == pytest.approx(101)
        finally:
            signals.zap.disconnect(on_zap)
        [sent] = [r.t for r in sim.trace.of_kind("ssm_setup_sent", device="phone")][1:]
    assert seen == [(pytest.approx(30.08), P.SSM_SETUP)]
    assert sent == pytest.approx(30.08)


# --- rules checked on any run ------------------------------------------------------------


class _IgnoresErrors(DocumentedAppPolicy):
    def on_notification(self, player: Any, kind: str, payload: Any) -> tuple[()]:
        return ()


@pytest.mark.parametrize("policy, broken", [
    (DocumentedAppPolicy(), []),
    (_IgnoresErrors(), ["ssm.background.heartbeat-error-zap", "ssm.errors.stop-playback"]),
])
async def test_a_simulation_checks_the_rule_catalogue(
        autojump_clock: trio.abc.Clock, policy: DocumentedAppPolicy, broken: list[str]) -> None:
    async with Simulation(world(), seed=1) as sim:
        phone = sim.add_device(device("phone", policy=policy))
        phone.play("ch-1")
        await sim.sleep(10)
        sim.world.ssm.fail_next("heartbeat", http_status=503, ssm_code=4001, message="busy")
        await sim.sleep(120)
        violations = check_world(sim.world)
    assert sorted({v.rule.id for v in violations}) == broken
    assert all(v.device == "phone" for v in violations)
