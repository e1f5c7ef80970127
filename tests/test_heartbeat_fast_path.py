"""The heartbeat's fast paths, the world's lanes and the server's expiry sweep change
no trace byte.

A device takes a fast path for a plain heartbeat (``PlayerCore.plain_heartbeat_token``,
``PlayerCore.take_rotated_token``) and, traced, writes its records by cached stamp
(``Trace.stamp``, ``Trace.write_stamped``); the world keeps events of a recurring
delay in FIFO lanes (``World.schedule_after``); and an SSM server can end expired
sessions with one sweep (``SsmServer(expiry_sweep=True)``) rather than a check per
session. Each run here is a fleet doing everything that leaves the plain case (kills
and zombie expiry, stops, zaps, relaunches, an outage, suspension,
picture-in-picture, client timeouts, lost and forced-failed heartbeats, SDK profiles
that keep heartbeating after an error), run four ways: as shipped, with the general
path only (``_plain_heartbeats`` off, and every answer through ``Device._deliver``),
with every event in the one heap (``schedule_after`` as ``schedule_at``), and with the
expiry sweep; the traces must be
identical, and so must the world's event counts but the sweep's.
"""

from __future__ import annotations

import contextlib
import functools
import random
from collections.abc import Callable
from typing import Any

import pytest
from keeping_trace import KeepingTrace

from player_sim import (
    DeviceConfig,
    InvalidTransition,
    PlayerCore,
    SsmConfig,
    World,
    WorldConfig,
)
from player_sim._messages import SsmAnswer
from player_sim.backends import SsmServer
from player_sim.trace import Trace
from player_sim.world import _world
from player_sim.world._device_ssm import _HeartbeatRequest


def _fleet_trace(*, trace_heartbeats: bool, session_timeout: float | None,
                 counts: list[int] | None = None) -> str:
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
    if counts is not None:
        counts.append(world.events_processed)
    return world.trace.to_jsonl()


@pytest.mark.parametrize("session_timeout", [None, 120.0])  # 120 s: expiry meets heartbeats
@pytest.mark.parametrize("trace_heartbeats", [True, False])
def test_the_fast_path_and_the_sweep_give_the_general_paths_trace(
        monkeypatch: pytest.MonkeyPatch, trace_heartbeats: bool,
        session_timeout: float | None) -> None:
    counts: list[int] = []
    run = functools.partial(_fleet_trace, trace_heartbeats=trace_heartbeats,
                            session_timeout=session_timeout, counts=counts)
    shipped = run()
    assert '"ssm_session_expired"' in shipped and '"heartbeat_answered"' in shipped
    with monkeypatch.context() as patch:
        def general(self: _HeartbeatRequest, answer: SsmAnswer | str) -> None:
            device = self.device  # the answer's general path only, as before its fast path
            if self.lost:
                device._answer_lost("heartbeat", self.request_id, self.launch)
            elif not device._awaiting or device._in_time(self.request_id):
                device._deliver(self.playback_id, answer, self.launch, self.request_id)

        patch.setattr(PlayerCore, "_plain_heartbeats", False)
        patch.setattr(_HeartbeatRequest, "deliver", general)
        assert run() == shipped, "the general path's trace differs from the fast path's"
    with monkeypatch.context() as patch:
        def one_heap(self: World, delay: float, callback: Callable[[Any], None],
                     arg: Any) -> None:
            self.schedule_at(self.now + delay, callback, arg)

        patch.setattr(World, "schedule_after", one_heap)
        assert run() == shipped, "the world's lanes give another trace than one heap"
    assert counts[0] == counts[1] == counts[2], "the world's event counts differ"
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


def test_lanes_run_events_in_the_order_of_one_heap() -> None:
    """Events of recurring delays (lanes) and one-off events interleave as one heap of
    (time, sequence) would run them, ties included, and are counted the same."""
    world = World(seed=0)
    rng = random.Random(4)
    ran: list[int] = []
    expected: list[tuple[float, int]] = []
    delays = (0.0, 0.02, 0.5, 30.0)

    def fire(number: int) -> None:
        ran.append(number)
        for _ in range(rng.choice((0, 1, 1, 2))):  # schedule more from inside events
            schedule()

    def schedule() -> None:
        number = len(expected)
        if len(expected) >= 3000:
            return
        if rng.random() < 0.6:
            delay = rng.choice(delays)
            expected.append((world.now + delay, number))
            world.schedule_after(delay, fire, number)
        else:  # on a lane's time now and then: ties between the two heaps
            at = world.now + rng.choice((rng.choice(delays), rng.random() * 40))
            expected.append((at, number))
            world.schedule_at(at, fire, number)

    for _ in range(50):
        schedule()
    while world.next_event_time() is not None:
        world.run_for(rng.choice((0.0, 0.01, 1.0, 7.5)))
    assert ran == [number for _, number in sorted(expected)]
    assert world.events_processed == len(expected)


def test_stamped_writes_are_the_records_write_gives() -> None:
    by_write, stamped = Trace(), Trace()
    fields = ("device-1", "heartbeat_sent", "foreground", "playing", 3)
    stamp = stamped.stamp(*fields, ("request_id", "token"))
    assert stamp is not None
    for number in range(5):
        by_write.write(float(number), *fields[:4], {"request_id": number, "token": "x"}, 3)
        stamped.write_stamped(float(number), stamp, (number, "x"))
    assert stamped.to_jsonl() == by_write.to_jsonl()
    assert list(stamped) == list(by_write)
    with pytest.raises(ValueError, match="no field"):  # checked as write checks it
        stamped.stamp(*fields, ("request_id", "colour"))
    assert KeepingTrace().stamp(*fields, ("request_id", "token")) is None
    assert stamped.stamp(*fields[:4], True, ("request_id", "token")) is None


def test_a_trace_that_keeps_records_its_own_way_sees_every_heartbeat() -> None:
    """A trace swapped in mid-run whose ``append`` sees each record (a fleet's) gets the
    traced heartbeats' records through it, as the general path writes them."""
    def run(swap: bool) -> list[str]:
        world = World(WorldConfig(ssm=SsmConfig(heartbeat_period=30.0)), seed=2)
        world.add_device(DeviceConfig(name="d", account="a",
                                      ssm_server_url="https://ssm.example/")).play("channel-1")
        world.run_for(100.0)
        keeping, before = KeepingTrace(), len(world.trace)
        if swap:
            world.trace = keeping
        world.run_for(100.0)
        return [record.to_json() for record in (keeping.seen if swap
                                                else world.trace[before:])]

    with_swap = run(True)
    assert [r for r in with_swap if '"heartbeat_answered"' in r]
    assert with_swap == run(False)


def test_a_new_trace_mid_run_gets_the_records_the_general_path_writes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The cached stamps belong to one trace: a plain trace swapped in mid-run (and the
    app sent to picture-in-picture, which changes the stamps' app state) gets the same
    records as with the fast paths off."""
    def run() -> str:
        world = World(WorldConfig(ssm=SsmConfig(heartbeat_period=30.0)), seed=3)
        device = world.add_device(DeviceConfig(name="d", account="a", pip=True,
                                               ssm_server_url="https://ssm.example/"))
        device.play("channel-1")
        world.run_for(95.0)
        world.trace = Trace()
        world.run_for(65.0)
        device.enter_background()
        world.run_for(65.0)
        return world.trace.to_jsonl()

    shipped = run()
    assert shipped.count('"heartbeat_answered"') >= 4
    with monkeypatch.context() as patch:
        def general(self: _HeartbeatRequest, answer: SsmAnswer | str) -> None:
            self.device._deliver(self.playback_id, answer, self.launch, self.request_id)

        patch.setattr(PlayerCore, "_plain_heartbeats", False)
        patch.setattr(_HeartbeatRequest, "deliver", general)
        assert run() == shipped
