"""Calls folded out of the plain heartbeat: the server's lost answers and forced faults
are asked only when some are planned (``SsmServer.losing``, a fault queued), and a
device sends on a fixed-latency link by the network's bound sender; anything else
(planned losses, faults, added latency, a network that overrides ``send``) still goes
the general way."""

from __future__ import annotations

from typing import Any

from player_sim import DeviceConfig, SsmConfig, World, WorldConfig
from player_sim.backends import SsmServer
from player_sim.world._network import Network, Request


def _playing(devices: int = 2, **world: Any) -> World:
    w = World(WorldConfig(ssm=SsmConfig(heartbeat_period=30.0), **world), seed=11)
    for i in range(devices):
        w.add_device(DeviceConfig(name=f"d{i}", account="a",
                                  ssm_server_url="https://ssm.example/")).play("channel-1")
    return w


def _kinds(world: World, kind: str) -> list[dict[str, Any]]:
    return [dict(r.data) for r in world.trace if r.kind == kind]


def test_losing_says_whether_an_answer_is_still_to_be_lost() -> None:
    ssm = _playing(0).ssm
    assert not ssm.losing
    ssm.lose_next("heartbeat", 2)
    ssm.lose_next("teardown")
    assert ssm.losing
    assert ssm.answer_lost("heartbeat") and ssm.losing
    assert ssm.answer_lost("heartbeat") and ssm.losing  # the teardown's is still planned
    assert not ssm.answer_lost("heartbeat")
    copy = ssm.copy(_playing(0))
    assert ssm.answer_lost("teardown") and not ssm.losing
    assert copy.losing, "a copy keeps the losses still planned"


def test_planned_heartbeat_losses_are_lost_on_the_fast_path() -> None:
    world = _playing(1)
    world.run_for(40.0)
    world.ssm.lose_next("heartbeat", 2)
    world.run_for(100.0)
    lost = _kinds(world, "answer_lost")
    assert [r["endpoint"] for r in lost] == ["ssm.heartbeat"] * 2
    assert not world.ssm.losing


def test_a_forced_heartbeat_fault_is_answered_on_the_fast_path() -> None:
    world = _playing(1)
    world.run_for(40.0)
    world.ssm.fail_next("heartbeat", http_status=500, ssm_code=1000, message="boom")
    world.run_for(31.0)
    refused = _kinds(world, "ssm_heartbeat_refused")
    assert [(r["http_status"], r["forced"]) for r in refused] == [(500, True)]


def test_added_latency_takes_the_heartbeats_off_the_bound_sender() -> None:
    """Heartbeats sent after ``add_latency`` arrive that much later (the bound sender of
    a fixed link would not know), and the server's records show it."""
    plain, slowed = _playing(1), _playing(1)
    slowed.add_latency("ssm", 2.0, 100.0)
    for world in (plain, slowed):
        world.run_for(200.0)

    def times(world: World) -> list[float]:
        return [r.t for r in world.trace if r.kind == "heartbeat_answered"]

    early, late = times(plain), times(slowed)
    assert len(early) == len(late) >= 6
    assert all(b - a == 0 for a, b in zip(early, late, strict=True) if a < 100.0)
    assert all(abs(b - a - 4.0) < 1e-9 for a, b in zip(early, late, strict=True) if a > 110.0)


def test_a_network_that_overrides_send_or_arrive_sees_every_heartbeat() -> None:
    class Counting(Network):
        __slots__ = ("arrived", "sent")

        def __init__(self, *args: Any) -> None:
            self.sent = self.arrived = 0
            super().__init__(*args)

        def send(self, request: Request) -> None:
            self.sent += request.link == "ssm"
            super().send(request)

        def _arrive(self, request: Request) -> None:
            self.arrived += request.link == "ssm"
            super()._arrive(request)

    class Arriving(Counting):
        __slots__ = ()
        send = Network.send

    for cls in (Counting, Arriving):
        world = _playing(0)
        network = world.network = cls(world.config.network, world)
        world.add_device(DeviceConfig(name="d", account="a",
                                      ssm_server_url="https://ssm.example/")).play("channel-1")
        world.run_for(300.0)
        served = world.ssm.active_sessions()[0].heartbeats
        assert served >= 9
        assert network.arrived == served + 1  # and the setup
        assert network.sent == (served + 1 if cls is Counting else 0)


def test_the_server_copies_lose_and_fault_state() -> None:
    server = SsmServer(SsmConfig(), _playing(0))
    server.fail_next("heartbeat", http_status=500)
    copy = server.copy(_playing(0))
    assert copy.faults.take("heartbeat") is not None
