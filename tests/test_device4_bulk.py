"""``World.add_devices``: many devices in one call, the cyclic collector paused
meanwhile, and the caller's collector state as it was afterwards, even on error."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from player_sim import ConfigError, DeviceConfig, World, WorldConfig

SSM = "https://ssm.example/"


def _configs(n: int) -> list[DeviceConfig]:
    return [DeviceConfig(name=f"d{i}", account=f"a{i % 3}", ssm_server_url=SSM)
            for i in range(n)]


def _records(world: World) -> list[tuple[object, ...]]:
    return [(r.t, r.device, r.kind, r.app, r.playback, r.playback_id, r.data)
            for r in world.trace]


@pytest.fixture(autouse=True)
def _collector_as_found() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_same_trace_as_adding_and_playing_one_by_one() -> None:
    one_by_one = World(WorldConfig(), seed=3)
    for config in _configs(30):
        one_by_one.add_device(config).play("channel-1")
    bulk = World(WorldConfig(), seed=3)
    devices = bulk.add_devices(_configs(30), play="channel-1")
    assert [d.name for d in devices] == [f"d{i}" for i in range(30)]
    assert list(bulk.devices) == devices
    for world in (one_by_one, bulk):
        world.run_for(60)
    assert _records(bulk) == _records(one_by_one)
    assert len(_records(bulk)) > 30 * 9


def test_without_play_the_devices_are_idle_and_any_iterable_will_do() -> None:
    world = World(WorldConfig(), seed=1)
    devices = world.add_devices(iter(_configs(3)))
    assert [d.playback_state.value for d in devices] == ["idle"] * 3
    assert world.add_devices([]) == []


def test_the_collector_is_paused_meanwhile_and_enabled_again() -> None:
    gc.enable()
    seen: list[bool] = []

    def configs() -> Iterator[DeviceConfig]:
        for config in _configs(3):
            seen.append(gc.isenabled())
            yield config

    World(WorldConfig(), seed=1).add_devices(configs(), play="channel-1")
    assert seen == [False, False, False]
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # moved to the oldest generation, not left frozen


def test_what_was_built_is_in_the_oldest_generation_and_still_collected() -> None:
    gc.enable()
    gc.collect()
    world = World(WorldConfig(), seed=1)
    world.add_devices(_configs(50), play="channel-1")
    assert gc.get_count()[0] < 50  # nothing young is left to traverse
    del world  # a world and its devices are cycles: the collector must still free them
    assert gc.collect() > 50 * 5


def test_a_collector_the_caller_disabled_stays_disabled() -> None:
    gc.disable()
    World(WorldConfig(), seed=1).add_devices(_configs(3), play="channel-1")
    assert not gc.isenabled()


def test_what_the_caller_froze_stays_frozen() -> None:
    gc.enable()
    gc.freeze()
    frozen = gc.get_freeze_count()
    World(WorldConfig(), seed=1).add_devices(_configs(3), play="channel-1")
    assert gc.get_freeze_count() == frozen
    assert gc.isenabled()


def test_on_error_the_collector_is_restored_and_the_devices_before_stay() -> None:
    gc.enable()
    world = World(WorldConfig(), seed=1)
    with pytest.raises(ConfigError, match="already exists"):
        world.add_devices(_configs(2) + _configs(1), play="channel-1")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert [d.name for d in world.devices] == ["d0", "d1"]
