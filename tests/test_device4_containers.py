"""A device's rarely used containers cost nothing until used (issue 17, round 4).

The client's awaited timeouts start as ``None`` and the deferred answers and the
setups and teardowns on the wire as the shared empty tuple, each replaced on
change; these tests pin that an idle playing device holds none of its own, that
they fill and empty as before (the traces are pinned by the reference digests),
and that the zombie check still sees a setup or a teardown on the wire.
"""

from __future__ import annotations

from player_sim import DeviceConfig, World, WorldConfig

SSM = "https://ssm.example/"


def test_an_idle_playing_device_holds_no_container_of_its_own() -> None:
    world = World(WorldConfig(), seed=1)
    device = world.add_device(DeviceConfig(name="d0", account="a", ssm_server_url=SSM))
    device.play("channel-1")
    assert device.setups_on_the_wire == (world.now,)  # the setup left, not answered yet
    world.run_for(10)
    assert device.core.playback.value == "playing"
    empty: tuple[object, ...] = ()
    assert device.setups_on_the_wire is empty
    assert device.teardowns_on_the_wire is empty
    assert device._deferred is empty
    assert device._awaiting is None


def test_a_teardown_on_the_wire_is_held_until_answered_and_keeps_a_session_settling() -> None:
    world = World(WorldConfig(), seed=1)
    device = world.add_device(DeviceConfig(name="d0", account="a", ssm_server_url=SSM))
    device.play("channel-1")
    world.run_for(10)
    token = device.core.ssm_token
    device.stop()
    assert device.teardowns_on_the_wire == (token,)
    assert world.zombie_sessions() == []  # its teardown is on the wire: settling
    world.run_for(10)
    assert device.teardowns_on_the_wire == ()


def test_a_kill_empties_what_was_on_the_wire() -> None:
    world = World(WorldConfig(), seed=1)
    device = world.add_device(DeviceConfig(name="d0", account="a", ssm_server_url=SSM))
    device.play("channel-1")
    device.kill()
    assert device.setups_on_the_wire == ()
    assert device.teardowns_on_the_wire == ()
    assert device._deferred == ()


def test_answers_arriving_in_the_background_are_deferred_then_delivered() -> None:
    world = World(WorldConfig(), seed=1)
    device = world.add_device(DeviceConfig(name="d0", account="a", ssm_server_url=SSM))
    device.play("channel-1")
    device.enter_background()  # suspended before the setup's answer comes back
    world.run_for(10)
    assert len(device._deferred) == 1
    assert type(device._deferred) is tuple
    device.enter_foreground()
    assert device._deferred == ()
    world.run_for(10)
    assert device.core.playback.value == "playing"


def test_the_awaited_timeouts_appear_with_the_first_timeout_armed() -> None:
    world = World(WorldConfig(), seed=1)
    device = world.add_device(DeviceConfig(name="d0", account="a", ssm_server_url=SSM,
                                           request_timeouts={"setup": 5.0}))
    assert device._awaiting is None
    device.play("channel-1")
    assert device._awaiting == {1: True}
    world.run_for(10)
    assert device._awaiting == {}  # answered in time
    assert device.core.playback.value == "playing"
