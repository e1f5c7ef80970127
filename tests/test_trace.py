"""The trace's JSONL form: a faithful round trip, and malformed lines named by number."""

from __future__ import annotations

import pytest

from player_sim import DeviceConfig, SsmConfig, Trace, TraceFormatError, TraceRecord, World
from player_sim import WorldConfig as Config


def busy_trace() -> Trace:
    world = World(Config(ssm=SsmConfig(max_sessions_per_account=1)), seed=5)
    url = "https://ssm.example/"
    phone = world.add_device(DeviceConfig(name="phone", account="a", ssm_server_url=url,
                                          sync_ssm_setup_teardown=True))
    tv = world.add_device(DeviceConfig(name="tv", account="a", ssm_server_url=url))
    phone.play("news")
    world.run_for(0.01)
    tv.play("news")
    world.run_for(100)
    phone.zap("sport")
    world.run_for(100)
    return world.trace


def test_jsonl_round_trip_is_byte_identical() -> None:
    trace = busy_trace()
    text = trace.to_jsonl()
    again = Trace.from_jsonl(text)
    assert again.to_jsonl() == text
    assert len(again) == len(trace) > 30
    assert list(again) == [TraceRecord(round(r.t, 6), r.device, r.kind, r.app, r.playback,
                                       dict(r.data)) for r in trace]


def test_record_json_form() -> None:
    record = TraceRecord(10.059999999999999, "phone", "playback_started", "foreground",
                         "playing", {"stream": "news"})
    assert record.to_json() == (
        '{"app":"foreground","data":{"stream":"news"},"device":"phone",'
        '"kind":"playback_started","playback":"playing","t":10.06}')
    world_event = TraceRecord(1.5, None, "outage_planned")
    assert world_event.to_json() == (
        '{"app":null,"data":{},"device":null,"kind":"outage_planned","playback":null,"t":1.5}')


def test_blank_lines_are_skipped_but_counted() -> None:
    text = '\n{"t":1,"kind":"a"}\n   \n{"t":2,"kind":"b"}\n'
    assert [r.kind for r in Trace.from_jsonl(text)] == ["a", "b"]
    with pytest.raises(TraceFormatError) as info:
        Trace.from_jsonl(text + "\n{oops\n", source="run.jsonl")
    assert info.value.line == 6


@pytest.mark.parametrize(("line", "message"), [
    ("{oops", "not JSON: Expecting property name enclosed in double quotes at column 2"),
    ("[1, 2]", "expected a JSON object per line"),
    ('{"kind":"x"}', "missing required key 't'"),
    ('{"t":1}', "missing required key 'kind'"),
    ('{"t":"1","kind":"x"}', "'t' has the wrong type (str)"),
    ('{"t":true,"kind":"x"}', "'t' has the wrong type (bool)"),
    ('{"t":NaN,"kind":"x"}', "'t' must be a finite number of seconds, not nan"),
    ('{"t":1,"kind":"x","data":[]}', "'data' has the wrong type (list)"),
    ('{"t":1,"kind":"x","device":3}', "'device' has the wrong type (int)"),
    ('{"t":1,"kind":"x","when":3}', "unknown key 'when'; expected app, data, device, kind, "
                                     "playback, t"),
])
def test_malformed_line_names_the_file_and_line(line: str, message: str) -> None:
    text = '{"t":0,"kind":"ok"}\n{"t":0.5,"kind":"ok"}\n' + line + "\n"
    with pytest.raises(TraceFormatError) as info:
        Trace.from_jsonl(text, source="traces/run.jsonl")
    assert (info.value.source, info.value.line) == ("traces/run.jsonl", 3)
    assert str(info.value) == f"traces/run.jsonl:3: {message}"


def test_of_kind_filters_by_kind_and_device() -> None:
    trace = busy_trace()
    assert [(r.device, r.data["stream"]) for r in trace.of_kind("playback_started")] == [
        ("phone", "news"), ("phone", "sport")]
    assert trace.of_kind("playback_started", device="tv") == []
    assert [r.device for r in trace.of_kind("ssm_setup_error", "device_added")] == [
        "phone", "tv", "tv"]
    assert trace.of_kind("no_such_kind") == []
