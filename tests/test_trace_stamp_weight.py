"""A trace keeps each stamp and each device once: devices share the stamps of their
records, and a record weighs its key, its time and its values."""

from __future__ import annotations

import pickle

import pytest

from player_sim.trace import Kind, Trace, TraceRecord


def _write_fleet(trace: Trace, devices: int) -> None:
    for index in range(devices):
        name = f"device-{index}"
        trace.write(index + 0.5, name, "playback_started", "foreground", "playing",
                    {"stream": "channel-1"}, 1)
        trace.write(index + 1.0, name, Kind.PLAYBACK_STARTED, "foreground", "playing",
                    {"stream": "channel-2"}, 1)


def test_devices_share_a_stamp() -> None:
    trace = Trace()
    _write_fleet(trace, 50)
    stamps = [stamp for stamp in trace._stamps if stamp is not None]
    assert len(stamps) == 1  # fifty devices, the kind as a str or as a member: one stamp
    assert type(stamps[0][0]) is Kind
    assert trace._index == {stamps[0][:5]: 1}
    assert trace._devices == [None, *(f"device-{index}" for index in range(50))]
    assert [trace[i].device for i in range(0, 100, 2)] == trace._devices[1:]


def test_records_read_back_the_same_with_shared_stamps() -> None:
    trace = Trace()
    _write_fleet(trace, 3)
    assert list(trace)[:2] == [
        TraceRecord(0.5, "device-0", "playback_started", "foreground", "playing",
                    {"stream": "channel-1"}, 1),
        TraceRecord(1.0, "device-0", "playback_started", "foreground", "playing",
                    {"stream": "channel-2"}, 1)]
    assert Trace.from_jsonl(trace.to_jsonl()).to_jsonl() == trace.to_jsonl()
    again = pickle.loads(pickle.dumps(trace))
    assert list(again) == list(trace) and again._devices == trace._devices


def test_a_stamped_key_names_the_device_and_its_records_read_back() -> None:
    """:meth:`Trace.stamp` keys of two devices share the stamp and differ by device;
    records written with them equal those :meth:`Trace.write` keeps."""
    stamped, written = Trace(), Trace()
    fields = ("foreground", "playing", 1, ("request_id", "token"))
    keys = {name: stamped.stamp(name, "heartbeat_sent", *fields) for name in ("a", None, "b")}
    assert len(set(keys.values())) == 3 and len(stamped._stamps) == 2
    for number in range(6):
        for name, key in keys.items():
            assert key is not None
            stamped.write_stamped(float(number), key, (number, f"{name}-{number}"))
            written.write(float(number), name, "heartbeat_sent", "foreground", "playing",
                          {"request_id": number, "token": f"{name}-{number}"}, 1)
    assert list(stamped) == list(written) and stamped.to_jsonl() == written.to_jsonl()
    assert stamped.of_kind("heartbeat_sent", device="b") == [
        r for r in written if r.device == "b"]


def test_a_shape_is_checked_until_it_passes_and_each_device_is_refused_alike() -> None:
    trace = Trace()
    for name in ("a", "b"):
        with pytest.raises(ValueError, match="has no field 'bogus'"):
            trace.write(0.0, name, "playback_started", None, None, {"bogus": 1}, None)
        with pytest.raises(ValueError, match="no trace kind"):
            trace.write(0.0, name, "no_such_kind", None, None, {}, None)
    assert len(trace) == 0
    assert trace._stamps == [None] and not trace._index
