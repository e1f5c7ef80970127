"""The trace format: declared kinds, a versioned JSONL form, and malformed lines named."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from player_sim import DeviceConfig, SsmConfig, Trace, TraceFormatError, TraceRecord, World
from player_sim import WorldConfig as Config
from player_sim.scenario import discover, load_scenario, run_scenario
from player_sim.trace import VERSION, Kind, Vantage, check_record, json_schema

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
HEADER = '{"format":"player_sim.trace","vantages":["device","harness","server"],"version":2}'


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
    assert text.splitlines()[0] == HEADER
    again = Trace.from_jsonl(text)
    assert again.to_jsonl() == text
    assert again.vantages == trace.vantages
    assert len(again) == len(trace) > 30
    assert list(again) == [TraceRecord(round(r.t, 6), r.device, r.kind, r.app, r.playback,
                                       dict(r.data), r.playback_id) for r in trace]


def test_record_json_form() -> None:
    record = TraceRecord(10.059999999999999, "phone", "playback_started", "foreground",
                         "playing", {"stream": "news"}, 3)
    assert record.kind is Kind.PLAYBACK_STARTED
    assert record.to_json() == (
        '{"app":"foreground","data":{"stream":"news"},"device":"phone",'
        '"kind":"playback_started","playback":"playing","playback_id":3,"t":10.06}')
    harness = TraceRecord(1.5, None, "outage_planned", data={"link": "ssm", "start": 1,
                                                              "end": 2})
    assert harness.vantage is Vantage.HARNESS
    assert harness.to_json() == (
        '{"app":null,"data":{"end":2,"link":"ssm","start":1},"device":null,'
        '"kind":"outage_planned","playback":null,"playback_id":null,"t":1.5}')


def test_producers_cannot_write_an_undeclared_kind_or_field() -> None:
    with pytest.raises(ValueError, match=r"no trace kind 'playback_starte'; did you mean "
                                         r"'playback_started'\?"):
        TraceRecord(0, "phone", "playback_starte")
    with pytest.raises(ValueError, match=r"trace kind 'heartbeat_sent' has no field 'tokn'; "
                                         r"it declares renewal, request_id, token"):
        TraceRecord(0, "phone", "heartbeat_sent", data={"tokn": "x"})


def test_every_kind_is_declared_with_a_vantage_meaning_and_typed_fields() -> None:
    assert len(Kind) > 50
    for kind in Kind:
        assert kind.meaning and kind.vantage in Vantage
        assert kind.required <= kind.names
        for field in kind.fields:
            assert field.meaning and field.types
    # Records that are stamped with device states are device records.
    assert all(k.vantage is Vantage.DEVICE for k in Kind if k.states)


def test_every_bundled_scenario_writes_only_declared_complete_records() -> None:
    schema = json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    checked = 0
    kinds_seen: set[Kind] = set()
    for path in discover([str(SCENARIOS)]):
        trace = run_scenario(load_scenario(path)).trace
        for line, record in enumerate(trace, start=2):
            assert check_record(record) is None, (path, line, check_record(record))
            if record.kind.vantage is Vantage.DEVICE and record.device is not None \
                    and record.kind.states:
                assert record.playback_id is not None, (path, line, record)
            kinds_seen.add(record.kind)
            checked += 1
        for line in trace.to_jsonl().splitlines()[1:200]:
            validator.validate(json.loads(line))
    assert checked > 2000
    assert len(kinds_seen) > 40


@pytest.mark.parametrize("line", [
    '{"t": 1, "kind": "action", "data": {"name": "play"}}',               # origin missing
    '{"t": 1, "kind": "action", "data": {"name": 3, "origin": "user"}}',  # wrong type
    '{"t": 1, "kind": "action", "data": {"name": "play", "origin": "user", "x": 1}}',
    '{"t": 1, "kind": "acton"}',
    '{"t": 1, "kind": "action", "playback_id": "1", "data": {"name": "a", "origin": "user"}}',
])
def test_schema_and_parser_reject_the_same_lines(line: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(line), json_schema())
    with pytest.raises(TraceFormatError, match=r"^x\.jsonl:2: "):
        Trace.from_jsonl(HEADER + "\n" + line, source="x.jsonl")


def test_blank_lines_are_skipped_but_counted() -> None:
    good = '{"t":1,"kind":"heartbeat_overdue"}'
    text = f"\n{HEADER}\n{good}\n   \n{good}\n"
    assert [r.kind for r in Trace.from_jsonl(text)] == ["heartbeat_overdue"] * 2
    with pytest.raises(TraceFormatError) as info:
        Trace.from_jsonl(text + "\n{oops\n", source="run.jsonl")
    assert info.value.line == 7


@pytest.mark.parametrize(("line", "message"), [
    ("{oops", "not JSON: Expecting property name enclosed in double quotes at column 2"),
    ("[1, 2]", "expected a JSON object per line"),
    ('{"kind":"zap"}', "missing required key 't'"),
    ('{"t":1}', "missing required key 'kind'"),
    ('{"t":"1","kind":"zap"}', "'t' has the wrong type (str)"),
    ('{"t":true,"kind":"zap"}', "'t' has the wrong type (bool)"),
    ('{"t":NaN,"kind":"zap"}', "'t' must be a finite number of seconds from the start "
                               "(>= 0), not nan"),
    ('{"t":-1,"kind":"zap"}', "'t' must be a finite number of seconds from the start "
                              "(>= 0), not -1"),
    ('{"t":0.1,"kind":"app_relaunched"}', "'t' goes back in time (0.1 after 0.5); records are "
                                          "in time order"),
    ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
    ('{"t":' + "9" * 5000 + ',"kind":"zap"}', "not a JSON value player_sim reads: Exceeds the "
                                               "limit (4300 digits) for integer string "
                                               "conversion: value has 5000 digits"),
    ("{" + " " * (1 << 20) + "}", "line of 1,048,578 characters; a trace line is at most "
                                  "1,048,576"),
    ('{"t":1,"kind":"zap","data":[]}', "'data' has the wrong type (list)"),
    ('{"t":1,"kind":"zap","device":3}', "'device' has the wrong type (int)"),
    ('{"t":1,"kind":"zap","when":3}', "unknown key 'when'; expected app, data, device, kind, "
                                       "playback, playback_id, t"),
    ('{"t":1,"kind":"zapp"}', "no trace kind 'zapp'; did you mean 'zap'? "
                               "(player_sim.trace.Kind lists them)"),
    ('{"t":1,"kind":"zap","data":{"stream":"b","same_stream":false}}',
     "'zap' needs field 'stream_from' (the stream zapped from)"),
    ('{"t":1,"kind":"zap","data":{"stream":1,"stream_from":null,"same_stream":false}}',
     "'data.stream' has the wrong type: 'zap' field 'stream' must be string, not 1"),
])
def test_malformed_line_names_the_file_and_line(line: str, message: str) -> None:
    text = (f'{HEADER}\n{{"t":0,"kind":"heartbeat_overdue"}}\n'
            f'{{"t":0.5,"kind":"heartbeat_overdue"}}\n{line}\n')
    with pytest.raises(TraceFormatError) as info:
        Trace.from_jsonl(text, source="traces/run.jsonl")
    assert (info.value.source, info.value.line) == ("traces/run.jsonl", 4)
    assert str(info.value) == f"traces/run.jsonl:4: {message}"


@pytest.mark.parametrize(("first", "message"), [
    ('{"t":0,"kind":"heartbeat_overdue"}', "no header line: this looks like a version-1 trace "
                                           "(player_sim 0.1); version 2 is read"),
    ('{"format":"player_sim.trace","version":1,"vantages":["device"]}',
     "trace format version 1 is not read; this is player_sim's version 2"),
    ('{"format":"player_sim.trace","version":2,"vantages":["phone"]}',
     "'vantages' must be a non-empty list of device, server, wire, harness, not ['phone']"),
    ('{"format":"player_sim.trace","version":2,"vantages":[]}', "'vantages' must be"),
    ("[]", "expected the header line, such as"),
    ("", "empty trace: expected the header line"),
])
def test_the_header_names_format_version_and_vantages(first: str, message: str) -> None:
    with pytest.raises(TraceFormatError) as info:
        Trace.from_jsonl(first + "\n", source="old.jsonl")
    assert str(info.value).startswith(f"old.jsonl:1: {message}")
    assert VERSION == 2


def test_a_device_log_is_the_device_vantage_of_a_trace() -> None:
    trace = busy_trace()
    log = trace.seen_from(Vantage.DEVICE)
    assert log.vantages == {Vantage.DEVICE}
    assert 0 < len(log) < len(trace)
    assert all(r.kind.vantage is Vantage.DEVICE for r in log)
    again = Trace.from_jsonl(log.to_jsonl())
    assert again.vantages == {Vantage.DEVICE} and len(again) == len(log)


def test_of_kind_filters_by_kind_and_device() -> None:
    trace = busy_trace()
    assert [(r.device, r.data["stream"]) for r in trace.of_kind("playback_started")] == [
        ("phone", "news"), ("phone", "sport")]
    assert trace.of_kind("playback_started", device="tv") == []
    assert [r.device for r in trace.of_kind("ssm_setup_error", "device_added")] == [
        "phone", "tv", "tv"]
    assert trace.of_kind("no_such_kind") == []


def test_every_signal_is_a_declared_device_kind_and_scenarios_name_every_kind() -> None:
    from player_sim import signals
    from player_sim.scenario._model import TRACE_EVENTS

    for name in signals.ALL_SIGNALS:
        assert Kind(name).vantage is Vantage.DEVICE and Kind(name).states
    assert set(TRACE_EVENTS) | set(signals.ALL_SIGNALS) == {k.value for k in Kind}


def test_player_sim_schema_trace_prints_the_generated_schema() -> None:
    from click.testing import CliRunner

    from player_sim.cli import main

    result = CliRunner().invoke(main, ["schema", "--trace"])
    assert result.exit_code == 0
    assert json.loads(result.output) == json_schema()
    kinds = json.loads(result.output)["properties"]["kind"]["enum"]
    assert kinds == [k.value for k in Kind]
