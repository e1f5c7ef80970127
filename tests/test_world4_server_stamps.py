"""The SSM server writes a traced heartbeat's record (``ssm_heartbeat``) by a stamp cached
per device when its host offers stamps (``World.record_stamp``): the same records as
through ``World.record``, into whatever trace the world holds now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from keeping_trace import KeepingTrace
from specialising import SPECIALISED, load_after_warming

from player_sim import DeviceConfig, SsmConfig, World, WorldConfig
from player_sim.backends import SsmServer
from player_sim.trace import Trace


def _run(world: World, swap_at: float | None = None, new_trace: Trace | None = None) -> str:
    """Three devices playing for five minutes (a trace swapped in at ``swap_at``); one is
    stopped and played again, so a device gets a new session (its stamp stays)."""
    devices = [world.add_device(DeviceConfig(name=f"d{i}", account="a",
                                             ssm_server_url="https://ssm.example/"))
               for i in range(3)]
    for device in devices:
        device.play("channel-1")
    if swap_at is not None:
        world.run_until(swap_at)
        world.trace = new_trace if new_trace is not None else Trace()
    world.run_until(150.0)
    devices[1].stop()
    world.run_for(1.0)
    devices[1].play("channel-2")
    world.run_until(300.0)
    return world.trace.to_jsonl()


def _world() -> World:
    ssm = SsmConfig(max_sessions_per_account=5, heartbeat_period=30.0)
    return World(WorldConfig(ssm=ssm, trace_heartbeats=True), seed=7)


def _by_record(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> str:
    """The trace with every server record through ``World.record`` (no stamps offered)."""
    with monkeypatch.context() as patch:
        patch.setattr(World, "record_stamp", lambda self, device, kind, names: None)
        return _run(_world(), **kwargs)


def test_stamped_heartbeat_records_are_the_records_record_writes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = _run(_world())
    assert shipped.count('"kind":"ssm_heartbeat"') >= 25
    assert shipped == _by_record(monkeypatch)


def test_the_stamps_are_made_again_for_a_trace_swapped_in(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The cached stamps are numbers of one trace: a trace swapped in mid-run gets its
    own (a stale number would stand for another record there, or for none)."""
    shipped = _run(_world(), swap_at=100.0)
    assert shipped.count('"kind":"ssm_heartbeat"') >= 15
    assert shipped == _by_record(monkeypatch, swap_at=100.0)


def test_the_server_caches_one_stamp_per_device() -> None:
    world = _world()
    calls: list[tuple[str | None, str]] = []
    stamp = world.record_stamp

    def counting(device: str | None, kind: str, names: tuple[str, ...]) -> int | None:
        calls.append((device, kind))
        return stamp(device, kind, names)

    world.record_stamp = counting  # type: ignore[method-assign]
    world.ssm._stamps_from(world)  # as a world built with it would
    _run(world)
    assert sorted(calls) == [(f"d{i}", "ssm_heartbeat") for i in range(3)]


def test_a_trace_that_takes_no_stamps_sees_every_heartbeat_record(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seeing = KeepingTrace()
    shipped = _run(_world(), swap_at=100.0, new_trace=seeing)
    assert sum(r.kind == "ssm_heartbeat" for r in seeing.seen) >= 15
    assert shipped == _by_record(monkeypatch, swap_at=100.0, new_trace=KeepingTrace())


def test_a_world_whose_record_is_overridden_gets_every_heartbeat_record() -> None:
    class Listening(World):
        heard: list[str]

        def record(self, device: str | None, kind: str, data: Mapping[str, Any]) -> None:
            self.heard = [*getattr(self, "heard", []), kind]
            super().record(device, kind, data)

    world = Listening(_world().config, seed=7)
    assert world.record_stamp("d0", "ssm_heartbeat", ("session",)) is None
    shipped = _run(world)
    assert world.heard.count("ssm_heartbeat") == shipped.count('"kind":"ssm_heartbeat"') >= 25


class _PlainHost:
    """The least a server needs of a host (no ``record_stamp``, no trace)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.records: list[str] = []
        self.tokens = 0

    def schedule_at(self, time: float, callback: Any, arg: Any) -> None:
        pass

    def record(self, device: str | None, kind: str, data: Mapping[str, Any]) -> None:
        self.records.append(kind)

    def new_token(self, prefix: str, key: str) -> str:
        self.tokens += 1
        return f"{prefix}-{key}-{self.tokens}"


def test_a_world_whose_record_is_replaced_gets_every_heartbeat_record() -> None:
    world = _world()
    heard: list[str] = []
    record = world.record

    def listening(device: str | None, kind: str, data: Mapping[str, Any]) -> None:
        heard.append(kind)
        record(device, kind, data)

    world.record = listening  # type: ignore[method-assign]
    world.ssm._stamps_from(world)  # as a world built with it would
    shipped = _run(world)
    assert heard.count("ssm_heartbeat") == shipped.count('"kind":"ssm_heartbeat"') >= 25


def test_a_host_without_stamps_gets_the_records_by_record() -> None:
    """A host that offers no ``record_stamp`` (the explorer's, a test's) is not asked."""
    host = _PlainHost()
    ssm = SsmServer(SsmConfig(), host, trace_heartbeats=True)
    token = ssm.setup("a", "d", "news", None, None).token
    assert token is not None
    host.now = 1.0
    assert isinstance(ssm.rotate("d", token), str)
    assert host.records == ["ssm_session_created", "ssm_heartbeat"]



def test_asking_a_world_for_stamps_leaves_its_attribute_loads_specialised() -> None:
    """``record_stamp`` must not make the world's ``__dict__`` an object (``vars(world)``):
    on CPython 3.11 such an object's attribute loads stop specialising for good, and a
    traced world reads ``world.now`` / ``world.trace`` at every record (14 % of a traced
    world's instructions once)."""
    world = _world()
    _run(world)  # every device heartbeats: the server asked for its stamps

    def now_of(w: World) -> float:
        return w.now

    assert load_after_warming(now_of, world) in SPECIALISED
