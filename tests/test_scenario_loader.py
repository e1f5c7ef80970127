"""Invalid scenario files: each mistake gives file:line:column, a plain sentence, exit 2.

Every case goes through the command line (click's CliRunner) as a user meets it:
``player-sim validate`` and ``player-sim run`` must both exit 2, print the
problem on stderr, and never show a traceback.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from player_sim.cli import main
from player_sim.scenario import (
    SCHEMA,
    ScenarioError,
    load_scenario,
    load_scenario_text,
    parse_duration,
)

GOOD = """\
name: good
devices:
  phone: {account: alice}
steps:
  - play: {device: phone, stream: channel-1}
  - wait: 1m
"""

# (id, file text, line, the text the column points at, fragments the message must contain)
MISTAKES = [
    ("unknown-top-key", """\
        name: typo
        devcies:
          phone: {account: alice}
        steps: []
        """, 2, "devcies", ["unknown key 'devcies' in the scenario", "did you mean 'devices'?"]),
    ("unknown-step", """\
        name: typo
        devices:
          phone: {account: alice}
        steps:
          - play: {device: phone, stream: a}
          - paly: {device: phone, stream: b}
        """, 6, "paly", ["unknown step 'paly'", "did you mean 'play'?", "A step is one of"]),
    ("unknown-device-key", """\
        name: typo
        devices:
          phone: {account: alice, sync_setup_tear_down: true}
        steps: []
        """, 3, "sync_setup_tear_down", ["unknown key 'sync_setup_tear_down' in device 'phone'",
                     "did you mean 'sync_setup_teardown'?"]),
    ("wrong-type", """\
        name: types
        devices:
          phone: {account: alice}
        steps:
          - fail: {endpoint: ssm.setup, count: two, http_status: 503}
        """, 5, "two", ["count must be a whole number, not text ('two')"]),
    ("bad-duration", """\
        name: durations
        devices:
          phone: {account: alice}
        steps:
          - wait: 5 minutes
        """, 5, "5 minutes", ["bad duration '5 minutes' for wait", "300ms, 30s, 5m, 2h, 1d"]),
    ("duration-without-unit", """\
        name: durations
        world:
          ssm: {heartbeat_period: 30}
        devices:
          phone: {account: alice}
        steps: []
        """, 3, "30", ["heartbeat_period must be a duration such as 30s, not a whole number"]),
    ("undeclared-device", """\
        name: devices
        devices:
          phone: {account: alice}
        steps:
          - enter_background: phnoe
        """, 5, "phnoe", ["device 'phnoe' is not declared under devices", "did you mean 'phone'?",
                     "Declared devices: phone"]),
    ("unknown-signal", """\
        name: signals
        devices:
          phone: {account: alice}
        steps:
          - expect: {signal: ssm_heartbeat_eror, within: 30s}
        """, 5, "ssm_heartbeat_eror", ["'ssm_heartbeat_eror' is not a valid signal",
                     "did you mean 'ssm_heartbeat_error'?"]),
    ("unknown-rule-id", """\
        name: rules
        covers: [ssm.setup.limit-refuses, ssm.setup.limit-refuse]
        devices:
          phone: {account: alice}
        steps: []
        """, 2, "ssm.setup.limit-refuse]", ["unknown rule id 'ssm.setup.limit-refuse'",
                     "did you mean 'ssm.setup.limit-refuses'?"]),
    ("missing-stream", """\
        name: required
        devices:
          phone: {account: alice}
        steps:
          - wait: 1s
          - play: {device: phone}
        """, 6, "{device: phone}", ["the play step (step 2) needs 'stream'"]),
    ("bad-enum", """\
        name: enums
        world:
          ssm: {limit_policy: refuse-newest}
        devices:
          phone: {account: alice}
        steps: []
        """, 3, "refuse-newest", ["'refuse-newest' is not a valid limit_policy",
                                  "did you mean 'refuse-new'?"]),
    ("time-backwards", """\
        name: time
        devices:
          phone: {account: alice}
        steps:
          - wait: 5m
          - at: 1m
        """, 6, "1m", ["at 1m is earlier than the time this step is reached (5m)",
                    "time can't go backwards"]),
    ("two-things-in-one-step", """\
        name: steps
        devices:
          phone: {account: alice}
        steps:
          - play: {device: phone, stream: a}
            wait: 1s
        """, 5, "play", ["a step does one thing, but this one has play, wait"]),
    ("duplicate-key", """\
        name: dup
        devices:
          phone: {account: alice}
        steps: []
        steps:
          - wait: 1s
        """, 5, "steps", ["duplicate key 'steps' (first written at line 4)"]),
    ("yaml-syntax", """\
        name: syntax
        devices:
          phone: {account: alice
        steps: []
        """, 4, ": []", ["this is not valid YAML"]),
    ("signal-without-window", """\
        name: windows
        devices:
          phone: {account: alice}
        steps:
          - expect: {signal: ssm_setup_error, device: phone}
        """, 5, "{signal", ["say when signal ssm_setup_error from phone must happen",
                     "within: 30s"]),
    ("unreadable-invariant", """\
        name: invariants
        devices:
          phone: {account: alice}
        steps: []
        always:
          - active sessions of alice at most 2
        """, 6, "active sessions", ["can't read invariant", "active_sessions(alice) <= 2"]),
    ("unknown-metric", """\
        name: invariants
        devices:
          phone: {account: alice}
        steps: []
        always:
          - active_session(alice) <= 2
        """, 6, "active_session(", ["no metric is called 'active_session'",
                    "did you mean 'active_sessions'?"]),
    ("missing-include", """\
        name: includes
        include: _nowhere.yaml
        devices:
          phone: {account: alice}
        steps: []
        """, 2, "_nowhere", ["can't include '_nowhere.yaml'"]),
    ("undeclared-account", """\
        name: accounts
        accounts:
          alice: {max_sessions: 1}
        devices:
          phone: {account: alcie}
        steps: []
        """, 5, "alcie", ["account 'alcie' is not declared under accounts",
                     "did you mean 'alice'?"]),
    ("metric-without-comparison", """\
        name: metrics
        devices:
          phone: {account: alice}
        steps:
          - expect: {metric: zombies, account: alice}
        """, 5, "{metric", ["a metric expectation needs exactly one comparison", "at_most: 2"]),
    ("unsafe-yaml-tag", """\
        name: !!python/object/apply:os.system ["echo hacked"]
        devices:
          phone: {account: alice}
        steps: []
        """, 1, "!!python", ["the tag 'tag:yaml.org,2002:python/object/apply:os.system' "
                             "is not allowed", "loaded safely"]),
    ("unknown-event", """\
        name: events
        devices:
          phone: {account: alice}
        steps:
          - expect: {event: ssm_session_expierd, within: 2m}
        """, 5, "ssm_session_expierd", ["'ssm_session_expierd' is not a valid event",
                     "did you mean 'ssm_session_expired'?"]),
    ("outage-without-end", """\
        name: faults
        devices:
          phone: {account: alice}
        steps:
          - outage: {backend: ssm}
        """, 5, "{backend", ["an outage needs an end: add 'for: 2m' or 'until: 10m'"]),
    ("count-below-one", """\
        name: faults
        devices:
          phone: {account: alice}
        steps:
          - fail: {endpoint: ssm.heartbeat, count: 0, http_status: 500}
        """, 5, "0,", ["count must be at least 1, not 0"]),
    ("state-and-signal-mixed", """\
        name: mixed
        devices:
          phone: {account: alice}
        steps:
          - expect: {signal: zap, device: phone, playback: playing, within: 1s}
        """, 5, "playback:", ["about a signal or event, or about a state or metric, not both"]),
    ("always-on-a-signal", """\
        name: invariants
        devices:
          phone: {account: alice}
        steps: []
        always:
          - {signal: ssm_setup_error}
        """, 6, "{signal", ["to forbid a signal or event, list it under 'never'"]),
    ("wrong-code-key", """\
        name: faults
        devices:
          phone: {account: alice}
        steps:
          - fail: {endpoint: ssm.setup, http_status: 403, code: 1007}
        """, 5, "code: 1007", ["ssm.setup errors carry 'ssm_code', not 'code'"]),
    ("never-misspelt-signal", """\
        name: invariants
        devices:
          phone: {account: alice}
        steps: []
        never:
          - ssm_setup_eror
        """, 6, "ssm_setup_eror", ["can't read invariant 'ssm_setup_eror'",
                                   "did you mean 'ssm_setup_error'?"]),
    ("base-url-with-path", """\
        name: providers
        devices:
          phone:
            account: alice
            session_provider: {backend: ovp, partner_id: 1, base_url: "https://x.example/api_v3/"}
        steps: []
        """, 5, '"https://x.example/api_v3/"', ["invalid session provider",
                                             "must be the host only", "'https://x.example/'"]),
    ("login-without-provider", """\
        name: providers
        devices:
          phone: {account: alice}
        steps:
          - login: {device: phone, username: alice, password: pw}
        """, 5, "phone,", ["login needs a session provider, and device 'phone' has none"]),
    ("ott-option-on-ovp", """\
        name: providers
        devices:
          tv:
            account: bob
            session_provider: {backend: ovp, partner_id: 1, refresh_policy: ios}
        steps: []
        """, 5, "refresh_policy", ["'refresh_policy' is not a setting of an ovp session "
                                   "provider"]),
    ("ovp-code-is-text", """\
        name: providers
        devices:
          tv: {account: bob, session_provider: {backend: ovp, partner_id: 1}}
        steps:
          - fail: {endpoint: ovp.session/get, code: 500016}
        """, 5, "500016", ["ovp error codes are text, e.g. INVALID_KS, not 500016"]),
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "line", "anchor", "fragments"),
                         [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_each_mistake_is_reported_with_its_line_and_a_sentence(
        runner: CliRunner, tmp_path: Path, command: str, text: str, line: int,
        anchor: str, fragments: list[str]) -> None:
    path = write(tmp_path, text)
    column = textwrap.dedent(text).splitlines()[line - 1].index(anchor) + 1
    result = runner.invoke(main, [command, str(path)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback: a clean exit
    assert "Traceback" not in result.stderr + result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith(f"{path}:")]
    matching = [ln for ln in lines if all(f in ln for f in fragments)]
    assert matching, result.stderr
    assert matching[0].startswith(f"{path}:{line}:{column}: "), matching[0]
    assert "nothing was run" in result.stderr
    assert result.stdout.count("PASS") == 0


def test_at_least_fifteen_distinct_mistakes_are_covered() -> None:
    assert len({m[0] for m in MISTAKES}) >= 15


def test_scenario_error_lists_every_problem_in_file_order(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: many
        devices:
          phone: {account: alice}
        steps:
          - wait: 5 minutes
          - enter_background: tablet
          - expect: {signal: nope, within: 1s}
        """)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    error = caught.value
    assert [p.location.line for p in error.problems] == [5, 7]  # schema errors first
    assert (error.file, error.line) == (str(path), 5)
    assert str(error).splitlines()[0].startswith(f"{path}:5:11: bad duration")


def test_semantic_problems_are_all_reported_together(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: many
        devices:
          phone: {account: alice}
        steps:
          - enter_background: tablet
          - play: {device: tv, stream: a}
        """)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert [p.location.line for p in caught.value.problems] == [5, 6]
    assert "'tv' is not declared" in caught.value.problems[1].message


def test_an_included_files_problem_points_into_that_file(tmp_path: Path) -> None:
    write(tmp_path, """\
        world:
          ssm: {heartbeat_period: 30 seconds}
        """, "_shared.yaml")
    path = write(tmp_path, """\
        name: includes
        include: _shared.yaml
        devices:
          phone: {account: alice}
        steps: []
        """)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    [problem] = caught.value.problems
    assert problem.location.file.endswith("_shared.yaml")
    assert problem.location.line == 2
    assert "bad duration '30 seconds' for heartbeat_period" in problem.message


def test_include_merges_the_world_and_the_file_overrides_it(tmp_path: Path) -> None:
    write(tmp_path, """\
        world:
          ssm: {heartbeat_period: 10s, max_sessions_per_account: 3}
          network: {latency: 5ms}
        devices:
          shared: {account: bob}
        """, "_shared.yaml")
    path = write(tmp_path, """\
        name: includes
        include: _shared.yaml
        world:
          ssm: {max_sessions_per_account: 1}
        devices:
          phone: {account: alice}
        steps: []
        """)
    scenario = load_scenario(path)
    assert scenario.world.ssm.heartbeat_period == 10.0
    assert scenario.world.ssm.max_sessions_per_account == 1
    assert scenario.world.network.latency == 0.005
    assert [d.name for d in scenario.devices] == ["shared", "phone"]


def test_an_include_may_not_bring_steps(tmp_path: Path) -> None:
    write(tmp_path, "steps:\n  - wait: 1s\n", "_steps.yaml")
    path = write(tmp_path, GOOD.replace("name: good", "name: good\ninclude: _steps.yaml"))
    with pytest.raises(ScenarioError, match=r"_steps.yaml:1:1: an included file may only hold "
                                            r"world, accounts, devices, not 'steps'"):
        load_scenario(path)


def test_an_include_cycle_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "include: _b.yaml\n", "_a.yaml")
    write(tmp_path, "include: _a.yaml\n", "_b.yaml")
    path = write(tmp_path, GOOD.replace("name: good", "name: good\ninclude: _a.yaml"))
    with pytest.raises(ScenarioError, match="includes itself"):
        load_scenario(path)


def test_anchors_and_merge_keys_share_device_settings() -> None:
    scenario = load_scenario_text("""\
name: anchors
devices:
  phone: &base {account: alice, sync_setup_teardown: true, pip: true}
  tablet:
    <<: *base
    pip: false
steps: []
""")
    phone, tablet = scenario.devices
    assert (phone.sync_ssm_setup_teardown, phone.pip) == (True, True)
    assert (tablet.account, tablet.sync_ssm_setup_teardown, tablet.pip) == ("alice", True, False)


def test_the_loader_computes_absolute_windows_from_waits_and_ats() -> None:
    scenario = load_scenario_text("""\
name: windows
devices:
  phone: {account: alice}
steps:
  - wait: 90s
  - expect: {signal: zap, within: 30s}
  - at: 1h
  - expect: {device: phone, playback: idle, for: 2m}
  - expect: {event: heartbeat_sent, absent_until: 2h}
""")
    first, second, third = [s for s in scenario.steps if type(s).__name__ == "Expect"]
    assert (first.mode, first.start, first.end) == ("occurs", 90.0, 120.0)
    assert (second.mode, second.start, second.end) == ("for", 3600.0, 3720.0)
    assert (third.mode, third.start, third.end) == ("absent", 3600.0, 7200.0)


@pytest.mark.parametrize(("text", "seconds"), [("300ms", 0.3), ("30s", 30.0), ("5m", 300.0),
                                               ("2h", 7200.0), ("1d", 86400.0),
                                               ("1.5s", 1.5)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5", "5 m", "m5", "-1s", "1w", ""])
def test_bad_durations_state_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="a number followed by a unit"):
        parse_duration(text)


def test_schema_command_prints_the_schema_that_validates_files(runner: CliRunner) -> None:
    result = runner.invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema == json.loads(json.dumps(SCHEMA))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    import yaml
    assert not list(validator.iter_errors(yaml.safe_load(GOOD)))
    assert list(validator.iter_errors({"name": "x", "devices": {}, "steps": [{"paly": {}}]}))


def test_validate_accepts_good_files(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = runner.invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"ok    {path}" in result.stdout


def test_a_missing_path_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["run", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "no such scenario file or folder" in result.stderr


BUNDLED = sorted(p for p in (Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml")
                 if not p.name.startswith("_"))
NOISE = ["", "x", "5", "-1", "1h", "null", "[]", "{}", "true", '"a b"', "0s", "phone", "- ",
         ":", "&a", "*a", "<<: *a", "!!str", "1.5", "at: 1s", "{signal: zap}", "'", "\t"]


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_a_mangled_bundled_file_loads_or_gives_located_problems(data: st.DataObject) -> None:
    """Delete, repeat or replace a word of any line: never a crash, only ScenarioError."""
    path = data.draw(st.sampled_from(BUNDLED))
    lines = path.read_text(encoding="utf-8").splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    how = data.draw(st.sampled_from(["delete", "repeat", "replace"]))
    if how == "delete":
        del lines[index]
    elif how == "repeat":
        lines.insert(index, lines[data.draw(st.integers(0, len(lines) - 1))])
    else:
        words = lines[index].split(" ")
        words[data.draw(st.integers(0, len(words) - 1))] = data.draw(st.sampled_from(NOISE))
        lines[index] = " ".join(words)
    try:
        load_scenario_text("\n".join(lines) + "\n", str(path))
    except ScenarioError as err:
        for problem in err.problems:
            assert problem.location.line >= 1 and problem.location.column >= 1
            assert problem.message and "Traceback" not in problem.message
