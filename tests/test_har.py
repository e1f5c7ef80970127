"""HAR captures judged by the rules: the corpus in three exporters' shapes, bad files.

The corpus (tests/data/har/, made by tests/har_corpus.py with the served lab's
core) holds a good session and sessions that each break one wire-visible rule,
each as player_sim, browser-devtools and Charles / Proxyman export it.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from har_corpus import DIR, SESSIONS, SHAPES, SIMULATED, corpus, expected_failure
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from player_sim.capture import capture_trace, judge_capture, read_capture
from player_sim.cli import main
from player_sim.rules import CheckConfig, TraceChecker
from player_sim.trace import Vantage
from player_sim.traffic import HarError, read_har

FILES = sorted(DIR.glob("*.har"))
#: What else a session breaks, as a consequence of its fault: a license after a refused
#: setup is also a license before any setup; a stale heartbeat racing the fresh one is
#: also a second timer of that session.
ALSO = {"license-after-refusal": {"ssm.setup.before-license"},
        "stale-token": {"ssm.heartbeat.one-timer"}}


def test_the_corpus_is_what_the_generator_makes() -> None:
    made = corpus()
    generated = [p for p in FILES if not p.name.endswith(".mitmproxy.har")]  # test_proxy's
    assert sorted(made) == [p.name for p in generated], "run python tests/har_corpus.py"
    for path in generated:
        assert path.read_text(encoding="utf-8") == made[path.name], path.name


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("session", sorted([*SESSIONS, *SIMULATED]))
def test_each_session_fails_exactly_on_the_rule_it_breaks(session: str, shape: str) -> None:
    capture = read_capture(DIR / f"{session}.{shape}.har")
    report = judge_capture(capture)
    failed = {line.rule for line in report.lines if line.status == "FAIL"}
    broken = expected_failure(session)
    if broken is None and session in SIMULATED:
        assert failed == set()
    elif broken is None:
        assert failed == set()
        observed = report.verdict.observed
        for rule_id in ("ssm.setup.before-license", "ssm.license.carries-token",
                        "ssm.heartbeat.token-rotation", "ssm.heartbeat.first-after-period",
                        "ssm.teardown.answers-204", "provider.ended.requests-fail"):
            assert observed[rule_id] > 0, f"{rule_id} was never really judged"
    else:
        assert broken in failed
        assert failed <= {broken, *ALSO.get(session, ())}


def test_the_three_shapes_read_as_the_same_exchanges() -> None:
    """Exporter differences are absorbed: same wire records, other traffic counted."""
    traces = {}
    for shape in SHAPES:
        capture = read_capture(DIR / f"good.{shape}.har")
        traces[shape] = [(r.t, r.device, r.kind, {k: v for k, v in r.data.items()
                                                  if k not in ("entry", "request_id")})
                          for r in capture.trace]
        if shape == "devtools":
            assert capture.ignored > 0 and capture.redirects > 0
        else:
            assert capture.ignored == capture.redirects == 0
        assert set(capture.devices) == {"phone-1", "tablet-1"}
    assert traces["player_sim"] == traces["devtools"] == traces["charles"]


def test_verdicts_point_at_the_entry_and_its_time() -> None:
    capture = read_capture(DIR / "stale-token.player_sim.har")
    [line] = [x for x in judge_capture(capture).lines
              if x.rule == "ssm.heartbeat.token-rotation"]
    har = json.loads((DIR / "stale-token.player_sim.har").read_text())
    stale = next(i for i, e in enumerate(har["log"]["entries"])
                 if e["response"]["status"] == 401)
    assert line.violations[0]["where"] == f"entry {stale} (14:13:51.0)"
    assert "…" in line.violations[0]["message"], "tokens are shortened"


def test_rules_the_wire_cannot_show_are_not_judged_with_the_reason() -> None:
    report = judge_capture(read_capture(DIR / "good.player_sim.har"))
    unjudged = {x.rule: x.detail for x in report.lines if x.status == "NOT JUDGED"}
    assert "notifications" in unjudged["ssm.errors.heartbeat-notified"]
    assert "server log" in unjudged["ssm.setup.limit-refuses"]
    judged = {x.rule for x in report.lines if x.status != "NOT JUDGED"}
    assert judged and not judged & set(unjudged)
    assert report.verdict.judged == tuple(sorted(judged))


def test_one_monitor_per_rule_the_device_one_where_the_trace_has_the_device() -> None:
    """The wire monitors never run beside a device monitor of the same rule."""
    everything = TraceChecker(vantages=set(Vantage))
    rules = [m.rule_id for m in everything.monitors]
    assert len(rules) == len(set(rules))
    chosen = {m.rule_id: type(m).__module__ for m in everything.monitors}
    assert chosen["ssm.setup.before-license"].endswith("._monitors")
    assert everything.not_judged == {}
    wire = TraceChecker(vantages={Vantage.WIRE})
    assert type(next(m for m in wire.monitors if m.rule_id == "ssm.setup.before-license")
                ).__module__.endswith("._wire_monitors")
    assert not set(wire.not_judged) & {m.rule_id for m in wire.monitors}


def test_check_command_exit_codes_and_reports(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(main, ["check", str(DIR / "good.devtools.har"), "--json",
                                str(tmp_path / "r.json"), "--junit-xml",
                                str(tmp_path / "r.xml")])
    assert good.exit_code == 0, good.output
    assert "PASS ssm.setup.before-license" in good.output
    assert "NOT JUDGED ssm.errors.heartbeat-notified" in good.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["FAIL"] == 0 and report["summary"]["ignored"] > 0
    assert 'failures="0"' in (tmp_path / "r.xml").read_text()
    bad = runner.invoke(main, ["check", str(DIR / "zap-without-teardown.charles.har")])
    assert bad.exit_code == 1
    assert "FAIL ssm.zap.replaces-session  entry" in bad.output


def _entry(url: str, status: int = 200, body: str = "{}", **extra: Any) -> dict[str, Any]:
    return {"startedDateTime": "2026-01-01T00:00:00.000Z", "time": 5,
            "request": {"method": "POST", "url": url, "headers": []},
            "response": {"status": status, "headers": [], "content": {"text": body}}, **extra}


def _har(*entries: Any, version: str = "1.2") -> bytes:
    return json.dumps({"log": {"version": version, "entries": list(entries)}}).encode()


@pytest.mark.parametrize(("data", "expected"), [
    (b"{not json", "line 1 column 2: not JSON"),
    (b"[]", 'a "log" object'),
    (_har(version="3.0"), "log.version is '3.0'"),
    (_har(_entry("https://x/ssm/v1/sessions/setup"), {"request": {}}),
     "entry 1: startedDateTime must be a str, not missing"),
    (_har({**_entry("https://x/a"), "startedDateTime": "yesterday"}),
     "entry 0: startedDateTime 'yesterday' is not an ISO 8601"),
    (_har({**_entry("https://x/a"), "response": {"status": "200"}}),
     "entry 0: response.status must be a int, not a str"),
    (_har({**_entry("https://x/a"), "response": {"status": 200, "content": {
        "text": "%%%", "encoding": "base64"}}}), 'entry 0: response.content.text is marked'),
    (_har({**_entry("https://x/a"), "response": {"status": 200, "content": {
        "text": base64.b64encode(b"\x1f\x8bnot gzip").decode(), "encoding": "base64"}}}),
     "entry 0: response.content.body starts like gzip"),
])
def test_malformed_hars_are_refused_naming_the_entry(data: bytes, expected: str) -> None:
    with pytest.raises(HarError) as caught:
        read_har(data, source="s.har")
    assert expected in str(caught.value)


def test_size_caps_on_the_file_and_on_bodies(tmp_path: Path) -> None:
    with pytest.raises(HarError, match="over the cap of 10;"):
        read_har(_har(), max_bytes=10)
    bomb = base64.b64encode(gzip.compress(b"0" * 100_000)).decode()
    data = _har(_entry("https://x/a"), {**_entry("https://x/b"), "response": {
        "status": 200, "content": {"text": bomb, "encoding": "base64"}}})
    with pytest.raises(HarError, match=r"entry 1: response\.content\.body decompresses to over"):
        read_har(data, max_body=1000)
    path = tmp_path / "big.har"
    path.write_bytes(data)
    result = CliRunner().invoke(main, ["check", str(path), "--max-size", "100"])
    assert result.exit_code == 2 and "over the cap of 100" in result.output
    assert "Traceback" not in result.output


def test_unrelated_and_binary_traffic_is_ignored_and_counted() -> None:
    entries = read_har(_har(_entry("https://cdn/x.ts", body="\x00\x01"),
                            _entry("https://a/analytics", body="<html>")))
    capture = capture_trace(entries)
    assert (capture.ignored, len(capture.trace)) == (2, 0)


_HAR_KEYS = ["log", "version", "entries", "request", "response", "url", "method", "status",
             "startedDateTime", "content", "text", "encoding", "headers", "postData", "name",
             "value"]


def _nest(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(_HAR_KEYS), inner,
                                                          max_size=5)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8), _nest,
                    max_leaves=30))
def test_any_json_reads_or_is_refused_cleanly(document: Any) -> None:
    """Fuzz: whatever the JSON, reading and judging it ends in entries or a HarError."""
    try:
        entries = read_har(json.dumps(document).encode())
    except HarError:
        return
    judge_capture(capture_trace(entries), CheckConfig())


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.sampled_from(sorted(FILES, key=str)), st.data())
def test_corrupted_corpus_files_read_or_are_refused_cleanly(path: Path, data: Any) -> None:
    """Fuzz: a corpus file with one value replaced still reads or fails with a HarError."""
    har = json.loads(path.read_text())
    entry = data.draw(st.sampled_from(har["log"]["entries"]))
    side = data.draw(st.sampled_from(["request", "response"]))
    key = data.draw(st.sampled_from(sorted(entry[side])))
    entry[side][key] = data.draw(st.none() | st.integers() | st.text(max_size=5)
                                 | st.just([{"name": 1}]))
    try:
        judge_capture(capture_trace(read_har(json.dumps(har).encode())))
    except HarError as err:
        assert "entry" in str(err)


def test_every_bundled_scenario_that_passes_leaves_a_capture_that_passes() -> None:
    """No false alarm on the wire: the traffic of every documented run is judged clean."""
    from player_sim.capture import har_of_trace
    from player_sim.scenario import discover, load_many, run_scenario

    scenarios, errors = load_many(discover(["scenarios"]))
    assert not errors
    judged = 0
    for scenario in scenarios:
        result = run_scenario(scenario)
        if not result.passed:
            continue
        har = json.dumps(har_of_trace(result.trace)).encode()
        report = judge_capture(capture_trace(read_har(har)))
        assert not report.failed, f"{scenario.path}:\n{report.text()}"
        judged += sum(report.verdict.observed.values())
    assert judged > 100


def test_timeline_draws_a_capture_lanes_calls_verdicts_secrets_shortened(tmp_path: Path
                                                                         ) -> None:
    import xml.etree.ElementTree as ET

    source = DIR / "stale-token.charles.har"
    capture = read_capture(source)
    token = next(r.data["token"] for r in capture.trace if r.data.get("call") == "heartbeat")
    runner = CliRunner()
    for flag, whole in (([], False), (["--show-secrets"], True)):
        out = tmp_path / f"t{len(flag)}.svg"
        result = runner.invoke(main, ["timeline", str(source), "-o", str(out), *flag])
        assert result.exit_code == 0, result.output
        text = out.read_text()
        assert (token in text) is whole
        svg = ET.fromstring(text)
        groups = [g.get("class") for g in svg.iter("{http://www.w3.org/2000/svg}g")]
        assert groups.count("lane") == len(capture.devices) == 1
        assert groups.count("exchange") == len(capture.entries)
        assert groups.count("violation") == 2  # token rotation and a second timer
    assert "…" in (tmp_path / "t0.svg").read_text()


def test_check_shortens_tokens_unless_asked(tmp_path: Path) -> None:
    source = str(DIR / "stale-token.player_sim.har")
    capture = read_capture(DIR / "stale-token.player_sim.har")
    token = next(r.data["token"] for r in capture.trace if r.data.get("call") == "heartbeat")
    runner = CliRunner()
    assert token not in runner.invoke(main, ["check", source]).output
    assert token in runner.invoke(main, ["check", source, "--show-secrets"]).output


def test_a_request_that_succeeds_with_an_ended_ks_fails_the_rule(tmp_path: Path) -> None:
    """The lab refuses the ended KS; a backend that answered it would break the rule."""
    har = json.loads((DIR / "good.player_sim.har").read_text())
    last = har["log"]["entries"][-1]
    assert "session/action/get" in last["request"]["url"]
    assert "error" in json.loads(last["response"]["content"]["text"])["result"]
    last["response"]["content"]["text"] = json.dumps(
        {"executionTime": 0, "result": {"objectType": "KalturaSession", "userId": "1"}})
    path = tmp_path / "ended.har"
    path.write_text(json.dumps(har))
    [line] = [x for x in judge_capture(read_capture(path)).lines
              if x.rule == "provider.ended.requests-fail"]
    assert line.status == "FAIL" and "session/get succeeded with KS" in \
        line.violations[0]["message"]
