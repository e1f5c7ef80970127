"""``Simulation.add_devices``: the trio shell's bulk path is the world's, at trio's time."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
import trio

from player_sim import DeviceConfig, PlayerSimError, Simulation, WorldConfig

SSM = "https://ssm.example/"


def _configs(count: int) -> list[DeviceConfig]:
    return [DeviceConfig(name=f"d{i}", account=f"a{i // 2}", ssm_server_url=SSM)
            for i in range(count)]


def _records(sim: Simulation) -> list[tuple[object, ...]]:
    return [(r.t, r.device, r.kind, r.app, r.playback, r.playback_id, r.data)
            for r in sim.trace]


async def _one_by_one(count: int) -> list[tuple[object, ...]]:
    async with Simulation(WorldConfig(), seed=5) as sim:
        await trio.sleep(7)
        for config in _configs(count):
            sim.add_device(config).play("channel-1")
        await sim.sleep(60)
        return _records(sim)


async def test_adds_and_plays_at_trio_time_as_one_by_one_does(
        autojump_clock: trio.abc.Clock) -> None:
    expected = await _one_by_one(12)
    async with Simulation(WorldConfig(), seed=5) as sim:
        await trio.sleep(7)  # trio's clock moved: the world catches up first
        devices = sim.add_devices(_configs(12), play="channel-1")
        assert [d.name for d in devices] == [f"d{i}" for i in range(12)]
        assert all(sim.trace[i].t == 7.0 for i in range(12))
        await sim.sleep(60)
        assert [d.playback_state.value for d in devices] == ["playing"] * 12
        assert _records(sim) == expected
    assert len(expected) > 12 * 9


async def test_the_collector_is_paused_meanwhile_and_the_devices_can_idle(
        autojump_clock: trio.abc.Clock) -> None:
    gc.enable()
    seen: list[bool] = []

    def configs() -> Iterator[DeviceConfig]:
        for config in _configs(3):
            seen.append(gc.isenabled())
            yield config

    async with Simulation(WorldConfig(), seed=1) as sim:
        devices = sim.add_devices(configs())
        assert [d.playback_state.value for d in devices] == ["idle"] * 3
        assert sim.add_devices([]) == []
    assert seen == [False, False, False] and gc.isenabled()


async def test_only_inside_the_block() -> None:
    sim = Simulation(WorldConfig(), seed=1)
    with pytest.raises(PlayerSimError, match="async with"):
        sim.add_devices(_configs(1))
    async with sim:
        pass
    with pytest.raises(PlayerSimError, match="has ended"):
        sim.add_devices(_configs(1), play="channel-1")
    assert sim.world.devices == ()
