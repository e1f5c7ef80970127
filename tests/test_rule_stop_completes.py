"""ssm.stop.completes: ``stopping`` is the wait for a blocking teardown, and a stop ends stopped.

Hand-made traces first (the stuck stop the core's half-applied refusal caused,
a stop that started its stream again, and good ones), then the same bugs
reproduced in a world by the old core logic, as :class:`PlayerCore` subclasses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_core_contract import _WritesBeforeRefusing

from player_sim import DeviceConfig, PlaybackState, World
from player_sim.player import PlayerCore
from player_sim.rules import CheckConfig, check_trace, check_world
from player_sim.scenario import load_scenario, run_scenario
from player_sim.trace import TraceRecord

RULE = "ssm.stop.completes"
CFG = CheckConfig(reaction_window=5.0)
P = PlaybackState


def r(t: float, kind: str, pb: str | None = "playing", *, app: str | None = "foreground",
      **data: Any) -> TraceRecord:
    return TraceRecord(t, "phone", kind, app, pb, data)


def moved(t: float, old: str, new: str) -> TraceRecord:
    return r(t, "state_changed", new, app="foreground", app_from="foreground", playback=new,
             playback_from=old)


def playing() -> list[TraceRecord]:
    """A sync device plays c1: its setup blocks the main thread until answered."""
    return [
        r(0, "device_added", None, app=None, account="alice", ssm=True, sync=True),
        r(0, "action", "ssm_setup", name="play", origin="user", stream="c1"),
        r(0, "ssm_setup_sent", "ssm_setup", stream="c1", blocking=True),
        moved(0, "idle", "ssm_setup"),
        r(0.04, "ssm_setup_answered", "ssm_setup", http_status=200, ssm_code=None, message="",
          token="T1", heartbeat_period=30.0),
        r(0.04, "license_request_sent", "license_request", stream="c1", ssm_token="T1"),
        moved(0.04, "ssm_setup", "license_request"),
        r(0.04, "main_thread_blocked", "license_request", seconds=0.04),
        r(0.08, "playback_started", stream="c1"),
        moved(0.08, "license_request", "playing"),
    ]


def stop_sent(t: float = 5.0, *, teardown: bool = True) -> list[TraceRecord]:
    return [
        r(t, "action", "stopping", name="stop", origin="user"),
        r(t, "playback_stopped", "stopping", reason="stop", stream="c1"),
        *([r(t, "ssm_teardown_sent", "stopping", token="T1", blocking=True)] if teardown else []),
        moved(t, "playing", "stopping"),
    ]


def answered(t: float, then: str) -> list[TraceRecord]:
    """The blocking teardown is answered; the player goes to ``then`` and the thread is free."""
    return [
        r(t, "ssm_teardown_answered", "stopping", http_status=204, ssm_code=None, message=""),
        *([moved(t, "stopping", then)] if then != "stopping" else []),
        r(t, "main_thread_blocked", then, seconds=0.04),
    ]


def stuck() -> list[TraceRecord]:
    """The world reproduction: a stop entered ``stopping`` but sent no teardown."""
    return [*playing(), *stop_sent(teardown=False), r(30.04, "heartbeat_sent", "stopping",
                                                      token="T1")]


def stops() -> list[TraceRecord]:
    return [*playing(), *stop_sent(), *answered(5.04, "stopped")]


def _found(trace: list[TraceRecord], end: float = 100.0) -> list[str]:
    return [v.message for v in check_trace(trace, CFG, rules=[RULE], end=end)]


def test_a_stop_stuck_in_stopping_without_a_teardown_is_flagged() -> None:
    found = check_trace(stuck(), CFG, rules=[RULE], end=100)
    assert [v.message for v in found] == [
        "stopping with no blocking SSM teardown on the wire: nothing ends it"]
    assert found[0].t == 10.0  # the reaction window after it entered stopping
    assert _found(stuck()[:-1], end=9) == []  # not due yet


def test_still_stopping_after_the_answer_is_flagged() -> None:
    trace = [*playing(), *stop_sent(), *answered(5.04, "stopping")]
    assert _found(trace) == ["still stopping after its blocking teardown was answered"]


def test_a_stop_that_starts_its_stream_again_is_flagged() -> None:
    trace = [*playing(), *stop_sent(), *answered(5.04, "ssm_setup")]
    assert _found(trace) == ["a stop ended in 'ssm_setup', not 'stopped': the stopped "
                             "playback started again"]


def test_a_stop_that_ends_stopped_is_silent() -> None:
    assert _found(stops()) == []
    assert check_trace(stops(), CFG, end=100) == []  # and clean for every rule


def test_a_slow_teardown_is_waited_for() -> None:
    """The window runs from the answer: a teardown on a slow link is not the stop's fault."""
    assert _found([*playing(), *stop_sent(), *answered(60.0, "stopped")]) == []


def test_a_sync_zap_goes_on_to_the_next_stream() -> None:
    zap = [r(5, "action", "stopping", name="zap", origin="user", stream="c2"),
           r(5, "ssm_teardown_sent", "stopping", token="T1", blocking=True),
           moved(5, "playing", "stopping"),
           r(5.04, "ssm_teardown_answered", "stopping", http_status=204, ssm_code=None,
             message=""),
           r(5.04, "ssm_setup_sent", "ssm_setup", stream="c2", blocking=True),
           moved(5.04, "stopping", "ssm_setup")]
    assert _found([*playing(), *zap]) == []


def test_a_kill_ends_the_wait() -> None:
    killed = [*playing(), *stop_sent(teardown=False),
              r(6, "app_killed", "stopping", app="terminated", stream="c1"),
              r(7, "app_relaunched", "stopping", app="terminated"),
              r(7, "state_changed", "idle", app_from="terminated", app="foreground",
                playback_from="stopping", playback="idle")]
    assert _found(killed) == []


# --- the same bugs, made by the old core logic in a world ------------------------------------




class _StopKeepsZapWait(PlayerCore):
    """The old core: a stop kept the 'start after the teardown' of an earlier sync zap."""

    __slots__ = ()

    def _begin_stop(self) -> None:
        pending = self._start_after_teardown
        super()._begin_stop()
        self._start_after_teardown = pending


def _world(core_type: type[PlayerCore], **options: Any) -> tuple[World, Any]:
    world = World(seed=0)
    phone = world.add_device(DeviceConfig(name="phone", account="alice",
                                          ssm_server_url="https://ssm.example/",
                                          sync_ssm_setup_teardown=True, **options))
    phone.core = core_type(phone.core.config)  # the old logic, same tables
    return world, phone


def test_the_world_reproduction_is_flagged_with_the_old_core() -> None:
    world, phone = _world(_WritesBeforeRefusing, release_item_on_stop=False)
    phone.play("a")
    phone.play("b")  # waits on the blocked main thread, then is dropped as refused
    world.run_until(5.0)
    phone.stop()
    world.run_until(65.0)
    assert phone.playback_state is P.STOPPING
    assert [v.rule.id for v in check_world(world)] == [RULE]


def test_a_stop_restarting_the_zapped_stream_is_flagged_with_the_old_core() -> None:
    world, phone = _world(_StopKeepsZapWait)
    phone.play("a")
    world.run_until(1.0)
    phone.zap("b")
    world.run_until(2.0)
    phone.stop()
    world.run_until(3.0)
    assert phone.playback_state is P.PLAYING
    assert RULE in {v.rule.id for v in check_world(world)}


def test_the_fixed_core_passes_both_runs() -> None:
    world, phone = _world(PlayerCore, release_item_on_stop=False)
    phone.play("a")
    phone.play("b")
    world.run_until(5.0)
    phone.stop()
    phone.play("c")
    phone.zap("d")
    world.run_until(10.0)
    phone.stop()
    world.run_until(20.0)
    assert phone.playback_state is P.STOPPED
    assert check_world(world) == []


def test_the_covering_scenario_really_waits_in_stopping() -> None:
    """sync_mode_freezes_ui (covers: ssm.stop.completes) stops through ``stopping``: a
    3 s blocking teardown, longer than the window, then ``stopped``."""
    path = (Path(__file__).resolve().parent.parent / "scenarios"
            / "sync_mode_freezes_ui.scenario.yaml")
    result = run_scenario(load_scenario(str(path)))
    assert result.passed
    moves = [(rec.t, rec.data["playback_from"], rec.data["playback"]) for rec in result.trace
             if rec.kind == "state_changed" and rec.data["playback_from"] == "stopping"]
    assert moves == [(6.0, "stopping", "stopped")]
    assert RULE in load_scenario(str(path)).covers
