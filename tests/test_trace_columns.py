"""A trace keeps its records in columns: what is read back is what was written."""

from __future__ import annotations

import gc
import pickle
import types
from typing import Any

import attrs
import pytest

from player_sim import DeviceConfig, SsmConfig, Trace, TraceRecord, World, WorldConfig
from player_sim._messages import SsmAnswer
from player_sim.trace import Kind, Vantage
from player_sim.world._device_base import _answer_fields, _flatten


def world_trace() -> Trace:
    """A small world's trace: device, server and harness records, kills and zaps."""
    world = World(WorldConfig(ssm=SsmConfig(max_sessions_per_account=1)), seed=3)
    url = "https://ssm.example/"
    phone = world.add_device(DeviceConfig(name="phone", account="a", ssm_server_url=url))
    tv = world.add_device(DeviceConfig(name="tv", account="a", ssm_server_url=url,
                                       sync_ssm_setup_teardown=True))
    world.outage("ssm", 200, 230)
    phone.play("news")
    world.run_for(0.5)
    tv.play("news")
    world.run_for(100)
    phone.zap("sport")
    world.run_for(100)
    phone.kill()
    world.run_for(200)
    return world.trace


def as_list(trace: Trace) -> list[TraceRecord]:
    return list(trace)


def test_records_read_back_equal_those_written_in_order_and_field_order() -> None:
    trace = world_trace()
    records = as_list(trace)
    assert len(records) == len(trace) > 40
    copy = Trace()
    for record in records:
        copy.append(record)
    assert as_list(copy) == records
    assert copy.to_jsonl() == trace.to_jsonl()
    for got, written in zip(copy, records, strict=True):
        assert list(got.data) == list(written.data)  # the fields' order too
        assert got.data is not written.data  # a fresh dict each time
    assert [trace[i] for i in range(len(trace))] == records
    assert trace[-1] == records[-1] and trace[-len(trace)] == records[0]
    assert trace[3:9] == records[3:9] and trace[::7] == records[::7]
    with pytest.raises(IndexError):
        trace[len(trace)]


def test_write_is_append_of_the_record_it_would_make() -> None:
    written, appended = Trace(), Trace()
    for record in world_trace():
        written.write(record.t, record.device, record.kind.value, record.app,
                      record.playback, dict(record.data), record.playback_id)
        appended.append(record)
    assert as_list(written) == as_list(appended)
    assert written.to_jsonl() == appended.to_jsonl()


def test_write_refuses_what_a_record_refuses_with_the_same_message() -> None:
    trace = Trace()
    for kind, data in (("playback_starte", {}), ("heartbeat_sent", {"tokn": "x"})):
        with pytest.raises(ValueError) as refused:
            TraceRecord(0.0, "phone", kind, data=data)
        with pytest.raises(ValueError) as also:
            trace.write(0.0, "phone", kind, None, None, data, None)
        assert str(also.value) == str(refused.value)
    assert len(trace) == 0


def test_records_the_columns_cannot_hold_are_kept_whole() -> None:
    odd = [TraceRecord(1, "phone", "app_relaunched", "foreground", "idle"),  # an int t
           TraceRecord(2.0, "phone", "playback_started", "foreground", "playing",
                       types.MappingProxyType({"stream": "news"}), 1),  # not a dict
           TraceRecord(3.0, "phone", "playback_started", "foreground", "playing",
                       {"stream": "news"}, True)]  # a bool playback id (True == 1)
    plain = TraceRecord(3.0, "phone", "playback_started", "foreground", "playing",
                        {"stream": "news"}, 1)
    trace = Trace([plain, *odd, plain])
    got = as_list(trace)
    assert got == [plain, *odd, plain]
    assert all(a is b for a, b in zip(got[1:4], odd, strict=True))
    assert [line.split('"t":')[1] for line in trace.to_jsonl().splitlines()[1:]] == \
        ["3.0}", "1}", "2.0}", "3.0}", "3.0}"]
    assert '"playback_id":true' in trace.to_jsonl().splitlines()[4]
    written = Trace()
    written.write(1, "phone", "app_relaunched", "foreground", "idle", {}, None)  # type: ignore[arg-type]
    assert written[0] == odd[0] and written.to_jsonl().endswith('"t":1}\n')


def test_of_kind_and_seen_from_filter_as_the_records_say() -> None:
    trace = world_trace()
    records = as_list(trace)
    for kinds, device in ((("heartbeat_sent",), None), (("heartbeat_sent", "ssm_heartbeat"),
                                                        "phone"),
                          ((Kind.SSM_SESSION_CREATED, "outage_planned"), None),
                          (("zap",), "nobody"), ((), None)):
        assert trace.of_kind(*kinds, device=device) == [
            r for r in records if r.kind in kinds and (device is None or r.device == device)]
    device_only = trace.seen_from(Vantage.DEVICE)
    assert device_only.vantages == frozenset({Vantage.DEVICE})
    assert as_list(device_only) == [r for r in records if r.vantage is Vantage.DEVICE]
    assert 0 < len(device_only) < len(trace)


def test_reading_while_writing_sees_every_record() -> None:
    trace = Trace()
    seen = []
    trace.write(0.0, None, "outage_planned", None, None,
                {"link": "ssm", "start": 1, "end": 2}, None)
    for record in trace:
        seen.append(record)
        if len(trace) < 5:
            trace.write(record.t + 1.0, None, "outage_planned", None, None,
                        {"link": "ssm", "start": 1, "end": 2}, None)
    assert [r.t for r in seen] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_a_trace_pickles_with_its_records() -> None:
    trace = world_trace()
    again = pickle.loads(pickle.dumps(trace))
    assert again.vantages == trace.vantages
    assert again.to_jsonl() == trace.to_jsonl()
    again.write(1e6, "phone", "app_relaunched", "foreground", "idle", {}, 9)
    assert len(again) == len(trace) + 1


def test_a_subclass_overriding_append_receives_written_records() -> None:
    class Counting(Trace):
        __slots__ = ("seen",)

        def __init__(self) -> None:
            super().__init__()
            self.seen: list[TraceRecord] = []

        def append(self, record: TraceRecord) -> None:
            self.seen.append(record)
            if record.kind is not Kind.HEARTBEAT_SENT:
                self._records.append(record)

    counting = Counting()
    counting.write(1.0, "phone", "heartbeat_sent", "foreground", "playing",
                   {"request_id": 1, "token": "t"}, 1)
    counting.write(2.0, "phone", "playback_started", "foreground", "playing",
                   {"stream": "news"}, 1)
    assert [r.kind for r in counting.seen] == [Kind.HEARTBEAT_SENT, Kind.PLAYBACK_STARTED]
    assert as_list(counting) == counting.seen[1:]


def _tracked() -> int:
    gc.collect()
    return len(gc.get_objects())


def test_records_held_add_nothing_the_garbage_collector_tracks() -> None:
    """What keeps a long traced run clear of full collections: a record held is no
    container the collector walks; only each new stamp (a few per device) is."""
    trace = Trace()
    data: dict[str, Any] = {"request_id": 1, "token": "ssm-phone-1"}
    trace.write(0.0, "phone", "heartbeat_sent", "foreground", "playing", data, 1)
    before = _tracked()
    for index in range(20_000):
        trace.write(float(index), "phone", "heartbeat_sent", "foreground", "playing",
                    {"request_id": index, "token": f"ssm-phone-{index}"}, 1)
    assert _tracked() - before < 10
    assert len(trace) == 20_001 and trace[-1].data["token"] == "ssm-phone-19999"


@pytest.mark.parametrize("answer", [
    SsmAnswer(200, None, "", "ssm-phone-1-0a", 30.0), SsmAnswer(200),
    SsmAnswer(403, 1007, "max active sessions exceeded"), SsmAnswer(0, None, "timeout"),
    SsmAnswer(200, None, "", None, 15.0), SsmAnswer(500, 1001, "x", "t", None)])
def test_a_heartbeat_answers_fields_are_those_asdict_gives(answer: SsmAnswer) -> None:
    assert {f.name for f in attrs.fields(SsmAnswer)} == {
        "http_status", "ssm_code", "message", "token", "heartbeat_period"}
    general = _flatten({"request_id": 7, "answer": attrs.asdict(answer)})
    fast = _answer_fields(answer, 7)
    assert list(fast.items()) == list(general.items())


def test_indexing_between_writes_finds_each_records_values() -> None:
    """Where a record's values start is noted only when the trace is indexed: a reader
    following a growing trace (as the live rule checker does) reads each record right."""
    records = list(world_trace())
    odd = TraceRecord(1, "phone", "app_relaunched", "foreground", "idle")
    records.insert(5, odd)
    trace = Trace()
    for number, record in enumerate(records, start=1):
        trace.append(record)
        if number % 3 == 0:
            assert trace[number - 1] == record and trace[-2] == records[number - 2]
    assert [trace[i] for i in range(len(trace))] == records
    assert trace[5] is odd
