"""A device's SSM setups, teardowns and license requests travel as one small object
each (issue 17, round 4): ``_SetupCall``, ``_TeardownCall``, ``_LicenseCall``, sent
with ``Network.send``, instead of closures handed to ``Network.request``.

The reference trace digests pin that the traces are unchanged; these tests pin the
objects and the ways an answer can go (served, unavailable, lost, too late, V2).
"""

from __future__ import annotations

from typing import Any

import pytest

from player_sim import DeviceConfig, NetworkConfig, World, WorldConfig
from player_sim.world._device_ssm import _LicenseCall, _SetupCall, _TeardownCall
from player_sim.world._network import Network

SSM = "https://ssm.example/"


def _spied(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What devices send from now on (``Network`` has slots: its class is patched)."""
    sent: list[Any] = []
    send = Network.send

    def spy(network: Network, request: Any) -> None:
        sent.append(request)
        send(network, request)

    def closures(*_: Any, **__: Any) -> None:
        raise AssertionError("a device sent closures through Network.request")

    monkeypatch.setattr(Network, "send", spy)
    monkeypatch.setattr(Network, "request", closures)
    return sent


def test_setup_license_and_teardown_are_one_object_each(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    world = World(WorldConfig(), seed=1)
    sent = _spied(monkeypatch)
    phone = world.add_device(DeviceConfig(name="phone", account="a", ssm_server_url=SSM))
    phone.play("c1")
    world.run_for(5)
    phone.stop()
    world.run_for(5)
    calls = [type(r) for r in sent if type(r).__name__ != "_HeartbeatRequest"]
    assert calls == [_SetupCall, _LicenseCall, _TeardownCall]
    assert [(r.link, r.sender, r.request_id) for r in sent[:2]] == [
        ("ssm", "phone", 1), ("license", "phone", 2)]
    kinds = [r.kind for r in world.trace if r.device == "phone"]
    assert "ssm_setup_answered" in kinds and "license_answered" in kinds
    assert "ssm_teardown_answered" in kinds


def test_a_v2_setup_goes_to_the_license_server(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(WorldConfig(), seed=1)
    sent = _spied(monkeypatch)
    phone = world.add_device(DeviceConfig(name="phone", account="a", ssm_server_url=SSM,
                                          variants={"ssm_version": "v2"}))
    phone.play("c1")
    world.run_for(5)
    assert isinstance(sent[0], _SetupCall) and sent[0].link == "license"
    assert phone.playback_state.value == "playing"


def test_a_setup_in_an_outage_gets_the_unavailable_answer() -> None:
    world = World(WorldConfig(), seed=1)
    world.outage("ssm", 0.0, 10.0)
    phone = world.add_device(DeviceConfig(name="phone", account="a", ssm_server_url=SSM))
    phone.play("c1")
    world.run_for(5)
    answered = [r.data for r in world.trace if r.kind == "ssm_setup_answered"]
    assert [(a["http_status"], a["message"]) for a in answered] == [
        (world.ssm.unavailable("x", "setup").http_status, "SSM not available")]
    assert world.ssm.active_sessions() == []


def test_a_lost_setup_answer_is_reported_once_and_never_delivered() -> None:
    world = World(WorldConfig(), seed=1)
    world.ssm.lose_next("setup")
    phone = world.add_device(DeviceConfig(name="phone", account="a", ssm_server_url=SSM))
    phone.play("c1")
    world.run_for(5)
    kinds = [r.kind for r in world.trace if r.device == "phone"]
    assert kinds.count("answer_lost") == 1
    assert "ssm_setup_answered" not in kinds
    assert phone.setups_on_the_wire == (0.0,)  # still waiting: no timeout configured


def test_a_late_setup_answer_empties_the_awaited_timeouts() -> None:
    # the answer itself is judged in test_variants (a timed-out setup fails, its late
    # answer is dropped); here: the lazily made dict of awaited timeouts is left empty
    world = World(WorldConfig(network=NetworkConfig(link_latency={"ssm": 4.0})), seed=1)
    phone = world.add_device(DeviceConfig(name="phone", account="a", ssm_server_url=SSM,
                                          request_timeouts={"setup": 5.0}))
    phone.play("c1")
    world.run_for(6)
    assert phone._awaiting  # the timeout fired: its request is marked, not forgotten yet
    world.run_for(14)
    assert phone._awaiting == {}  # the answer at 8 s found it and was dropped
