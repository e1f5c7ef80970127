"""What keeps a device light and quick to create does not change what it does.

``benchmarks/devices_bench.py`` measures the weight and the creation time; the
reference trace digests (``benchmarks/trace_digests.py --check``) prove the
traces unchanged. These tests pin the pieces: the device's slots, the shared
core configurations, the core holding no effect between inputs, and the
record fields built without ``attrs.asdict`` being the same dict.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from player_sim import DeviceConfig, World, WorldConfig
from player_sim._messages import SsmAnswer
from player_sim.player import _events as ev
from player_sim.player._sdk import SdkModel
from player_sim.world._device_base import as_dict

SSM = "https://ssm.example/"


@attrs.frozen
class _WithList:
    playback_id: int
    streams: list[str]


class _Text(str):
    pass


@pytest.mark.parametrize("instance", [
    ev.Play("channel-1"),
    ev.Zap("channel-2"),
    ev.Stop(),
    ev.Login("alice", None),
    ev.SetupAnswered(3, SsmAnswer(200, None, "", "ssm-d-1-00ff", 30.0)),
    ev.SetupAnswered(3, SsmAnswer(403, 1007, "max sessions")),
    ev.LicenseAnswered(2, True, 200),
    ev.MediaAnswered(1, True, "widevine", "https://ssp.example/license"),
    _WithList(1, ["a", "b"]),  # a collection: attrs.asdict itself (a list copy)
    ev.Play(_Text("channel-1")),  # a str subclass: attrs.asdict itself
], ids=lambda instance: type(instance).__name__)
def test_as_dict_is_attrs_asdict(instance: Any) -> None:
    fields = as_dict(instance)
    assert fields == attrs.asdict(instance)
    assert [type(v) for v in fields.values()] == \
        [type(v) for v in attrs.asdict(instance).values()]


def _world(devices: int, **device: Any) -> World:
    world = World(WorldConfig(), seed=1)
    for index in range(devices):
        world.add_device(DeviceConfig(name=f"d{index}", account=f"a{index}",
                                      ssm_server_url=SSM, **device)).play("channel-1")
    world.run_for(10)
    return world


def test_a_device_has_no_instance_dict() -> None:
    device = _world(1).devices[0]
    assert not hasattr(device, "__dict__")
    with pytest.raises(AttributeError):
        device.nickname = "x"  # type: ignore[attr-defined]


def test_devices_configured_alike_share_their_core_configuration() -> None:
    one, two = _world(2).devices
    assert one.core.config is two.core.config
    assert one._variants is one.core.config.variants


def test_a_device_with_an_sdk_model_keeps_its_own_core_configuration() -> None:
    one, two = _world(2, sdk=SdkModel()).devices
    assert one.core.config is not two.core.config
    assert one.core._sdk is not two.core._sdk


def test_an_idle_core_holds_no_effects() -> None:
    device = _world(1).devices[0]
    assert device.core._effects == ()  # the shared empty tuple, not a list of its own
