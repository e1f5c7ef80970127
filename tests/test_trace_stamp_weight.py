"""A trace's stamps cost one tuple each, and their field names are shared."""

from __future__ import annotations

import pytest

from player_sim.trace import Kind, Trace, TraceRecord


def _write_fleet(trace: Trace, devices: int) -> None:
    for index in range(devices):
        name = f"device-{index}"
        trace.write(index + 0.5, name, "playback_started", "foreground", "playing",
                    {"stream": "channel-1"}, 1)
        trace.write(index + 1.0, name, Kind.PLAYBACK_STARTED, "foreground", "playing",
                    {"stream": "channel-2"}, 1)


def test_a_stamp_is_one_tuple_both_kept_and_indexed() -> None:
    trace = Trace()
    _write_fleet(trace, 50)
    stamps = [stamp for stamp in trace._stamps if stamp is not None]
    assert len(stamps) == 50  # the kind as a str or as a member: one stamp
    assert all(type(stamp[1]) is Kind for stamp in stamps)
    assert {id(key) for key in trace._index} == {id(stamp) for stamp in stamps}
    assert len({id(stamp[5]) for stamp in stamps}) == 1


def test_records_read_back_the_same_with_shared_stamps() -> None:
    trace = Trace()
    _write_fleet(trace, 3)
    assert list(trace)[:2] == [
        TraceRecord(0.5, "device-0", "playback_started", "foreground", "playing",
                    {"stream": "channel-1"}, 1),
        TraceRecord(1.0, "device-0", "playback_started", "foreground", "playing",
                    {"stream": "channel-2"}, 1)]
    assert Trace.from_jsonl(trace.to_jsonl()).to_jsonl() == trace.to_jsonl()


def test_a_shape_is_checked_until_it_passes_and_each_device_is_refused_alike() -> None:
    trace = Trace()
    for name in ("a", "b"):
        with pytest.raises(ValueError, match="has no field 'bogus'"):
            trace.write(0.0, name, "playback_started", None, None, {"bogus": 1}, None)
        with pytest.raises(ValueError, match="no trace kind"):
            trace.write(0.0, name, "no_such_kind", None, None, {}, None)
    assert len(trace) == 0
    assert not trace._shapes
