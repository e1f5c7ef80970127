"""A ``CompressedTrace`` seals every ``_BLOCK`` records into one compressed block: the
records read back are those written, whichever block holds them, and a sealed record
weighs a few bytes where an open one weighs a few dozen. A plain ``Trace`` never seals
one."""

from __future__ import annotations

import gc
import pickle
import tracemalloc
from typing import Any

import pytest

import player_sim.trace as trace_module
from player_sim import DeviceConfig, SsmConfig, Trace, TraceRecord, World, WorldConfig
from player_sim.trace import CompressedTrace, Vantage

_URL = "https://ssm.example/"


def _world_trace(compressed: bool) -> Trace:
    """Device, server and harness records of a few devices: setups refused for too many
    sessions, an outage, a zap, a kill, traced heartbeats."""
    world = World(WorldConfig(ssm=SsmConfig(max_sessions_per_account=2),
                              compress_trace=compressed), seed=5)
    devices = [world.add_device(DeviceConfig(name=f"device-{n}", account="a",
                                             ssm_server_url=_URL,
                                             sync_ssm_setup_teardown=n % 2 == 1))
               for n in range(3)]
    world.outage("ssm", 200, 230)
    for device in devices:
        device.play("news")
        world.run_for(0.5)
    world.run_for(300)
    devices[0].zap("sport")
    world.run_for(100)
    devices[1].kill()
    world.run_for(300)
    return world.trace


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace_module, "_BLOCK", 5)


@pytest.mark.usefixtures("small_blocks")
def test_a_sealed_trace_reads_back_what_an_open_one_does() -> None:
    open_trace = _world_trace(compressed=False)
    records = list(open_trace)
    assert not open_trace._blocks and not open_trace.compressed and len(records) > 100
    sealed = _world_trace(compressed=True)
    assert sealed.compressed and len(sealed._blocks) == len(records) // 5
    assert all(type(block) is bytes for block in sealed._blocks)
    assert len(sealed) == len(records)
    assert list(sealed) == records
    assert sealed.to_jsonl() == open_trace.to_jsonl()
    assert [sealed[i] for i in reversed(range(len(sealed)))] == records[::-1]
    assert [sealed[-i] for i in range(1, 12)] == [records[-i] for i in range(1, 12)]
    for start, stop in ((0, 5), (3, 17), (4, 6), (len(records) - 7, len(records) + 3)):
        assert sealed[start:stop] == records[start:stop]
    assert sealed[::3] == records[::3] and sealed[7:2] == []
    with pytest.raises(IndexError):
        sealed[len(records)]
    for device in ("device-0", "device-1", None):
        assert (sealed.of_kind("heartbeat_sent", "state_changed", device=device)
                == open_trace.of_kind("heartbeat_sent", "state_changed", device=device))
    seen = sealed.seen_from(Vantage.DEVICE)
    assert seen.compressed and seen.to_jsonl() == open_trace.seen_from(Vantage.DEVICE).to_jsonl()
    assert pickle.loads(pickle.dumps(sealed)).to_jsonl() == sealed.to_jsonl()


def _added(trace: Trace, device: str, variants: Any) -> None:
    trace.write(0.0, device, "device_added", None, None,
                {"account": "a", "ssm": True, "sync": False, "variants": variants}, None)


@pytest.mark.usefixtures("small_blocks")
def test_a_dict_kept_frozen_comes_back_a_new_dict_from_a_sealed_block() -> None:
    trace = CompressedTrace()
    variants = {"drm": "widevine", "retries": 3, "pip": True, "cap": None}
    for number in range(12):
        _added(trace, f"device-{number}", dict(variants))
    _added(trace, "odd", {"a": 0.5})  # not frozen: kept as written
    assert len(trace._blocks) == 2 and all(type(b) is bytes for b in trace._blocks)
    read = [record.data["variants"] for record in trace]
    assert read == [variants] * 12 + [{"a": 0.5}]
    assert all(type(value) is dict for value in read)
    assert trace[3].data["variants"] is not trace[3].data["variants"]
    trace[3].data["variants"]["drm"] = "fairplay"  # a record read is a value
    assert trace[3].data["variants"] == variants


@pytest.mark.usefixtures("small_blocks")
def test_a_block_holding_what_marshal_refuses_is_kept_as_it_is() -> None:
    class Name(str):
        pass

    name = Name("play")
    trace = CompressedTrace()
    for number in range(10):
        trace.write(float(number), "phone", "action", "foreground", "idle",
                    {"name": name if number == 7 else "play", "origin": "user",
                     "stream": "news"}, 1)
    first, second = trace._blocks
    assert type(first) is bytes and type(second) is tuple  # the second holds the Name
    assert trace[7].data["name"] is name
    assert [record.data["name"] for record in trace] == ["play"] * 10


@pytest.mark.usefixtures("small_blocks")
def test_a_record_kept_whole_is_read_back_from_its_block_as_that_object() -> None:
    trace = CompressedTrace()
    whole = TraceRecord(1, "phone", "playback_started", "foreground", "playing",
                        {"stream": "news"}, 1)  # an int t: kept whole
    for number in range(9):
        if number == 6:
            trace.append(whole)
        else:
            trace.write(float(number), "phone", "playback_started", "foreground",
                        "playing", {"stream": "news"}, 1)
    assert trace[6] is whole and list(trace)[6] is whole
    assert trace.of_kind("playback_started", device="phone")[6] is whole


@pytest.mark.usefixtures("small_blocks")
def test_a_bytes_like_value_comes_back_as_bytes_once_sealed() -> None:
    trace = CompressedTrace()
    for number in range(6):
        trace.write(float(number), "phone", "action", "foreground", "idle",
                    {"name": bytearray(b"play"), "origin": "user", "stream": "news"}, 1)
    assert [type(record.data["name"]) for record in trace] == [bytes] * 5 + [bytearray]


@pytest.mark.usefixtures("small_blocks")
def test_records_written_while_reading_across_a_seal_are_read() -> None:
    trace = CompressedTrace()
    for number in range(3):
        trace.write(float(number), "phone", "playback_started", "foreground", "playing",
                    {"stream": f"s{number}"}, 1)
    seen = []
    for record in trace:
        seen.append(record.data["stream"])
        if len(trace) < 23:
            number = len(trace)
            trace.write(float(number), "phone", "playback_started", "foreground", "playing",
                        {"stream": f"s{number}"}, 1)
    assert seen == [f"s{number}" for number in range(23)]
    assert len(trace._blocks) == 4


def test_a_sealed_record_weighs_a_few_bytes() -> None:
    """A traced fleet's heartbeat records, sealed in full blocks, hold under 20 bytes a
    record (about 60 while their block is open)."""
    gc.collect()
    tracemalloc.start()
    try:
        world = World(WorldConfig(compress_trace=True), seed=1)
        for number in range(100):
            world.add_device(DeviceConfig(name=f"device-{number}", account=f"a{number}",
                                          ssm_server_url=_URL)).play("news")
        world.run_for(30)
        gc.collect()
        before, start = tracemalloc.get_traced_memory()[0], len(world.trace)
        world.run_for(1800)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    records = len(world.trace) - start
    assert len(world.trace._blocks) >= 4 and records > 4 * trace_module._BLOCK
    assert held / records < 20


def test_a_plain_trace_keeps_every_record_open() -> None:
    trace = Trace()
    for number in range(trace_module._BLOCK + 3):
        trace.write(float(number), "phone", "playback_started", "foreground", "playing",
                    {"stream": "news"}, 1)
    assert not trace._blocks and len(trace._times) == len(trace) == trace_module._BLOCK + 3
    assert trace[-1].t == float(trace_module._BLOCK + 2)
    for number in range(3):
        _added(trace, f"device-{number}", {"drm": "widevine"})
    assert trace._frozen_at == []  # where frozen dicts are matters only to sealing


def test_a_compressed_trace_takes_stamps_and_a_subclass_writing_its_own_way_does_not() -> None:
    class Seeing(CompressedTrace):
        __slots__ = ("seen",)

        def write(self, t: float, device: str | None, kind: str, app: str | None,
                  playback: str | None, data: Any, playback_id: int | None) -> None:
            self.seen = kind
            super().write(t, device, kind, app, playback, data, playback_id)

    names = ("request_id", "token")
    stamp = CompressedTrace().stamp("phone", "heartbeat_sent", "foreground", "playing", 1, names)
    assert stamp is not None
    assert Seeing().stamp("phone", "heartbeat_sent", "foreground", "playing", 1, names) is None
