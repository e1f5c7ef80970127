"""The heartbeat's fast path and the server's expiry sweep change no trace byte.

A device takes a fast path for a plain heartbeat (``PlayerCore.plain_heartbeat_token``,
``PlayerCore.take_rotated_token``), and an SSM server can end expired sessions with
one sweep (``SsmServer(expiry_sweep=True)``) rather than a check per session. Each run here is a
fleet doing everything that leaves the plain case (kills and zombie expiry, stops,
zaps, relaunches, an outage, suspension, picture-in-picture, client timeouts, lost
and forced-failed heartbeats, SDK profiles that keep heartbeating after an error),
run three ways: as shipped, with the general path only (``_plain_heartbeats`` off),
and with the expiry sweep; the traces must be identical.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import pytest

from player_sim import (
    DeviceConfig,
    InvalidTransition,
    PlayerCore,
    SsmConfig,
    World,
    WorldConfig,
)
from player_sim.backends import SsmServer
from player_sim.world import _world


def _fleet_trace(*, trace_heartbeats: bool, session_timeout: float | None) -> str:
    ssm = SsmConfig(max_sessions_per_account=6, heartbeat_period=30.0,
                    session_timeout=session_timeout)
    world = World(WorldConfig(ssm=ssm, trace_heartbeats=trace_heartbeats), seed=5)
    profiles = ("documented", "ios", "android", "web")
    devices = []
    for index in range(24):
        devices.append(world.add_device(DeviceConfig(
            name=f"d{index}", account=f"a{index % 3}", ssm_server_url="https://ssm.example/",
            pip=index % 4 == 1, profile=profiles[index % 4],
            request_timeouts={"heartbeat": 0.5} if index % 5 == 2 else {})))
        world.run_for(0.25)
    for device in devices:
        device.play(f"channel-{int(device.name[1:]) % 4}")
        world.run_for(0.5)
    world.outage("ssm", world.now + 300.0, world.now + 400.0)
    world.add_latency("ssm", 1.0, world.now + 900.0, world.now + 1000.0)  # past the timeout
    world.ssm.fail_next("heartbeat", 3, http_status=500, ssm_code=1000)
    world.ssm.lose_next("heartbeat", 2)
    for minute in range(50):
        world.run_for(60.0)
        victim = devices[(minute * 7) % len(devices)]
        with contextlib.suppress(InvalidTransition):  # whatever state the victim is in
            match minute % 8:
                case 0:
                    victim.kill()
                case 1:  # the device killed a minute ago
                    devices[((minute - 1) * 7) % len(devices)].relaunch()
                case 2:
                    victim.stop()
                case 3:
                    victim.play("channel-9")
                case 4:
                    victim.zap("channel-2")
                case 5:
                    victim.enter_background()  # suspended, or picture-in-picture
                case 6:  # the device sent to the background a minute ago
                    devices[((minute - 1) * 7) % len(devices)].enter_foreground()
                case _:
                    pass
    world.run_for(600.0)
    return world.trace.to_jsonl()


@pytest.mark.parametrize("session_timeout", [None, 120.0])  # 120 s: expiry meets heartbeats
@pytest.mark.parametrize("trace_heartbeats", [True, False])
def test_the_fast_path_and_the_sweep_give_the_general_paths_trace(
        monkeypatch: pytest.MonkeyPatch, trace_heartbeats: bool,
        session_timeout: float | None) -> None:
    run = functools.partial(_fleet_trace, trace_heartbeats=trace_heartbeats,
                            session_timeout=session_timeout)
    shipped = run()
    assert '"ssm_session_expired"' in shipped and '"heartbeat_answered"' in shipped
    with monkeypatch.context() as patch:
        patch.setattr(PlayerCore, "_plain_heartbeats", False)
        assert run() == shipped, "the general path's trace differs from the fast path's"
    with monkeypatch.context() as patch:
        def sweeping(*args: Any, **kwargs: Any) -> SsmServer:
            return SsmServer(*args, **{**kwargs, "expiry_sweep": True})

        patch.setattr(_world, "SsmServer", sweeping)
        assert run() == shipped, "the expiry sweep gives another trace than per-session checks"


def test_a_subclass_of_the_core_takes_the_general_path() -> None:
    class Variant(PlayerCore):
        pass

    assert PlayerCore._plain_heartbeats
    assert not Variant._plain_heartbeats
    core = Variant()
    assert core.plain_heartbeat_token(0) is None
