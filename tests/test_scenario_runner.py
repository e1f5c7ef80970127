"""The runner: expectations and invariants as monitors, and failures reported precisely."""

from __future__ import annotations

import attrs
import pytest

from player_sim import AppPolicy, DeviceConfig
from player_sim.scenario import (
    Failure,
    ScenarioResult,
    format_failure,
    load_scenario_text,
    run_scenario,
)

HEAD = """\
name: {name}
world:
  ssm: {{max_sessions_per_account: 2, heartbeat_period: 30s, grace_period: 10s}}
  network: {{latency: 20ms}}
devices:
  phone: {{account: alice}}
  tablet: {{account: alice}}
"""


def run(body: str, name: str = "test", **kwargs: object) -> ScenarioResult:
    scenario = load_scenario_text(HEAD.format(name=name) + body, "inline.yaml")
    return run_scenario(scenario, **kwargs)  # type: ignore[arg-type]


def only_failure(result: ScenarioResult) -> Failure:
    assert len(result.failures) == 1, [f.message for f in result.failures]
    return result.failures[0]


# --- signals ------------------------------------------------------------------------

def test_a_signal_inside_its_window_passes() -> None:
    result = run("""\
steps:
  - play: {device: phone, stream: a}
  - wait: 45s
  - fail: {endpoint: ssm.heartbeat, http_status: 500, ssm_code: 4001, message: boom}
  - expect: {signal: ssm_heartbeat_error, device: phone,
             payload: {ssm_code: 4001, message: boom}, within: 16s}
""")
    assert result.status == "passed", [f.message for f in result.failures]
    assert result.checks >= 1


def test_a_missing_signal_fails_at_the_end_of_its_window_with_the_expectation() -> None:
    result = run("""\
steps:
  - play: {device: phone, stream: a}
  - wait: 45s
  - fail: {endpoint: ssm.heartbeat, http_status: 500, ssm_code: 4001, message: boom}
  - expect: {signal: ssm_heartbeat_error, device: phone, within: 15s}
  - wait: 1m
""")
    failure = only_failure(result)
    assert result.status == "failed"
    assert failure.kind == "expect"
    assert (failure.location.file, failure.location.line) == ("inline.yaml", 12)
    assert failure.text == "{signal: ssm_heartbeat_error, device: phone, within: 15s}"
    assert failure.time == 60.0
    assert failure.message == ("expected signal ssm_heartbeat_error from phone between t=45s "
                               "and t=60s; none was posted (the first came later, at "
                               "t=60.08s)")
    # the excerpt ends around the failing moment
    assert failure.excerpt and failure.excerpt[-1].t > 60.0
    assert any(r.kind == "heartbeat_sent" and r.t == 30.04 for r in failure.excerpt)


def test_a_signal_with_the_wrong_payload_says_what_the_payload_was() -> None:
    result = run("""\
steps:
  - play: {device: phone, stream: a}
  - wait: 45s
  - fail: {endpoint: ssm.heartbeat, http_status: 500, ssm_code: 4001}
  - expect: {signal: ssm_heartbeat_error, device: phone, payload: {ssm_code: 1006},
             within: 1m}
""")
    failure = only_failure(result)
    assert "with ssm_code=1006" in failure.message
    assert "(1 ssm_heartbeat_error in the window had ssm_code=4001)" in failure.message


def test_a_signal_that_must_be_absent_fails_at_the_moment_it_is_posted() -> None:
    result = run("""\
steps:
  - play: {device: phone, stream: a}
  - wait: 10s
  - fail: {endpoint: ssm.heartbeat, http_status: 503, ssm_code: 4001}
  - expect: {signal: ssm_heartbeat_error, absent_for: 5m}
  - wait: 10m
""")
    failure = only_failure(result)
    assert failure.time == pytest.approx(30.08)
    assert failure.message.startswith("signal ssm_heartbeat_error was posted by phone at "
                                      "t=30.08s")
    assert next(r for r in failure.excerpt if r.t == failure.time).kind in (
        "heartbeat_answered", "ssm_heartbeat_error", "state_changed", "action", "zap",
        "playback_stopped", "ssm_setup_sent")


def test_window_bounds_are_inclusive() -> None:
    # playback_started for the play at t=0 comes at 0.08s (4 hops of 20 ms)
    assert run("""\
steps:
  - play: {device: phone, stream: a}
  - expect: {signal: playback_started, device: phone, within: 80ms}
""").passed
    assert not run("""\
steps:
  - play: {device: phone, stream: a}
  - expect: {signal: playback_started, device: phone, within: 79ms}
""").passed


def test_a_window_includes_what_happened_earlier_in_the_same_instant() -> None:
    result = run("""\
steps:
  - play: {device: phone, stream: a}
  - expect: {event: ssm_setup_sent, device: phone, within: 0s}
""")
    assert result.passed


def test_the_run_lasts_until_the_last_window_closes() -> None:
    result = run("""\
steps:
  - play: {device: phone, stream: a}
  - expect: {event: ssm_session_expired, absent_for: 10m}
""")
    assert result.passed
    assert result.duration == 600.0


# --- states and metrics ---------------------------------------------------------------

def test_a_state_expected_now_reports_the_actual_state() -> None:
    failure = only_failure(run("""\
steps:
  - play: {device: phone, stream: a}
  - expect: {device: phone, playing: a}
"""))
    assert failure.time == 0.0
    assert failure.message == ("expected phone: playback playing, stream a at t=0s; phone was: "
                               "app foreground, playback ssm_setup, stream a")


def test_a_state_within_passes_as_soon_as_it_holds() -> None:
    assert run("""\
steps:
  - play: {device: phone, stream: a}
  - expect: {device: phone, playing: a, within: 80ms}
""").passed
    failure = only_failure(run("""\
steps:
  - play: {device: phone, stream: a}
  - expect: {device: phone, playing: a, within: 70ms}
"""))
    assert failure.time == pytest.approx(0.07)
    assert "it never was, and at the end phone was: app foreground, playback license_request" \
        in failure.message


def test_a_state_at_an_absolute_time_is_checked_then() -> None:
    result = run("""\
steps:
  - play: {device: phone, stream: a}
  - expect: {device: phone, app: background, at: 2m}
  - wait: 1m
  - enter_background: phone
  - wait: 2m
""")
    assert result.passed
    failure = only_failure(run("""\
steps:
  - play: {device: phone, stream: a}
  - expect: {device: phone, app: background, at: 2m}
  - wait: 3m
  - enter_background: phone
"""))
    assert failure.time == 120.0


def test_for_fails_at_the_first_moment_it_stops_holding() -> None:
    failure = only_failure(run("""\
steps:
  - play: {device: phone, stream: a}
  - wait: 1s
  - expect: {metric: active_sessions, account: alice, equals: 1, for: 10m}
  - kill: phone
"""))
    # the only server contact was the setup at 0.02 s: it expires 70 s later
    assert failure.time == pytest.approx(70.02)
    assert failure.message == ("expected active_sessions(alice) == 1 throughout t=1s to t=601s; "
                               "at t=70.02s it was 0")


def test_metrics_count_heartbeats_zombies_and_blocked_time() -> None:
    scenario = load_scenario_text("""\
name: metrics
world:
  network: {links: {ssm: 1s}}
devices:
  phone: {account: alice, sync_setup_teardown: true}
  tablet: {account: alice}
steps:
  - play: {device: phone, stream: a}
  - play: {device: tablet, stream: b}
  - wait: 100s
  - expect: {metric: heartbeats_sent, device: phone, equals: 3}
  - expect: {metric: heartbeats_sent, equals: 6}
  - expect: {metric: blocked_time, device: phone, equals: 2s}
  - kill: tablet
  - expect: {metric: zombies, account: alice, equals: 1}
  - expect: {metric: active_sessions, equals: 2}
""", "metrics.yaml")
    result = run_scenario(scenario)
    assert result.passed, [f.message for f in result.failures]


# --- invariants -------------------------------------------------------------------------

def test_an_always_invariant_is_caught_at_the_moment_it_breaks_not_at_the_end() -> None:
    result = run("""\
steps:
  - play: {device: phone, stream: a}
  - play: {device: tablet, stream: b}
  - wait: 5s
  - stop: tablet
  - wait: 5s
always:
  - active_sessions(alice) <= 1
""")
    failure = only_failure(result)
    assert failure.kind == "always"
    assert failure.time == pytest.approx(0.02)  # both setups reach the server together
    assert failure.message == "always active_sessions(alice) <= 1 broke at t=0.02s: it was 2"
    assert failure.location.line == 15


def test_a_never_signal_names_who_posted_it_and_when() -> None:
    failure = only_failure(run("""\
steps:
  - fail: {endpoint: ssm.setup, http_status: 503, ssm_code: 4001, message: down}
  - play: {device: tablet, stream: b}
  - wait: 1m
never:
  - {signal: ssm_setup_error, payload: {ssm_code: 4001}}
"""))
    assert failure.kind == "never"
    assert failure.message.startswith("signal ssm_setup_error with ssm_code=4001 was posted by "
                                      "tablet at t=0.04s")


def test_never_on_a_state() -> None:
    failure = only_failure(run("""\
steps:
  - play: {device: phone, stream: a}
  - wait: 1m
  - stop: phone
  - wait: 1m
never:
  - {device: phone, playback: stopped}
"""))
    assert failure.time == 60.0


def test_a_refused_step_is_an_error_with_its_line() -> None:
    result = run("""\
steps:
  - play: {device: phone, stream: a}
  - wait: 1s
  - play: {device: phone, stream: b}
""")
    assert result.status == "error"
    failure = only_failure(result)
    assert failure.kind == "step"
    assert failure.location.line == 11
    assert failure.text == "play: {device: phone, stream: b}"
    assert "the player refused this step: can't 'play' while playback is 'playing'" \
        in failure.message


def test_format_failure_shows_the_expectation_its_line_and_the_trace(tmp_path: object) -> None:
    failure = only_failure(run("""\
steps:
  - play: {device: phone, stream: a}
  - expect: {device: phone, playing: a}
"""))
    text = format_failure(failure)
    first, *rest = text.splitlines()
    assert first == "expect at inline.yaml:10:13: {device: phone, playing: a}"
    assert "expected phone: playback playing" in text
    assert "trace around t=0s:" in text
    assert any(line.lstrip().startswith("> t=0s") and "ssm_setup_sent" in line
               for line in rest)


# --- determinism and hooks ---------------------------------------------------------------

BODY = """\
steps:
  - play: {device: phone, stream: a}
  - play: {device: tablet, stream: b}
  - wait: 5m
  - kill: phone
  - wait: 3m
  - expect: {metric: zombies, equals: 1}
"""


def test_same_scenario_and_seed_give_byte_identical_traces_and_results() -> None:
    one, two = run(BODY, seed=5), run(BODY, seed=5)
    assert one.trace.to_jsonl() == two.trace.to_jsonl()
    assert one.failures == two.failures and one.status == two.status
    other = run(BODY, seed=6)
    assert other.trace.to_jsonl() != one.trace.to_jsonl()  # tokens are seeded
    assert [r.kind for r in other.trace] == [r.kind for r in one.trace]


def test_the_files_seed_is_used_unless_one_is_given() -> None:
    scenario = load_scenario_text(HEAD.format(name="seeded") + "seed: 9\n" + BODY)
    assert run_scenario(scenario).seed == 9
    assert run_scenario(scenario, seed=1).seed == 1
    assert run_scenario(scenario).trace.to_jsonl() == run_scenario(
        scenario, seed=9).trace.to_jsonl()


def test_configure_device_plugs_in_another_app() -> None:
    body = """\
steps:
  - play: {device: phone, stream: a}
  - wait: 45s
  - fail: {endpoint: ssm.heartbeat, http_status: 503, ssm_code: 4001}
  - expect: {signal: zap, device: phone, payload: {same_stream: true}, within: 1m}
"""
    assert run(body).passed

    def passive(config: DeviceConfig) -> DeviceConfig:
        return attrs.evolve(config, policy=AppPolicy())

    failure = only_failure(run(body, configure_device=passive, check_rules=False))
    assert failure.message.startswith("expected signal zap from phone with same_stream=true")


def test_a_window_ending_now_waits_for_the_events_of_this_instant() -> None:
    scenario = load_scenario_text("""\
name: instant
world:
  network: {latency: 0s}
devices:
  phone: {account: alice}
steps:
  - play: {device: phone, stream: a}
  - expect: {event: ssm_setup_answered, device: phone, within: 0s}
  - expect: {device: phone, playing: a, at: 0s}
""")
    result = run_scenario(scenario)
    assert result.passed, [f.message for f in result.failures]
    assert result.duration == 0.0


def test_a_state_is_judged_at_the_instant_of_the_action_that_changed_it() -> None:
    failure = only_failure(run("""\
steps:
  - play: {device: phone, stream: a}
  - wait: 1m
  - enter_background: phone
  - wait: 1m
always:
  - {device: phone, app: foreground}
"""))
    assert failure.time == 60.0
    assert failure.message == ("always phone: app foreground broke at t=60s: phone was: app "
                               "background, playback paused, stream a")


# --- the rule catalogue's monitors ------------------------------------------------------

PASSIVE_ERROR = """\
  phone2: {account: bob, app: {policy: passive}}
steps:
  - play: {device: phone2, stream: a}
  - wait: 40s
  - fail: {endpoint: ssm.heartbeat, http_status: 503, ssm_code: 4001}
  - wait: 1m
"""


def test_a_rule_broken_without_violates_is_a_failure_naming_the_rule() -> None:
    result = run(PASSIVE_ERROR)
    assert result.status == "failed"
    by_rule = {f.text: f for f in result.failures}
    assert set(by_rule) == {"ssm.background.heartbeat-error-zap", "ssm.errors.stop-playback"}
    failure = by_rule["ssm.background.heartbeat-error-zap"]
    assert failure.kind == "rule"
    assert failure.message.startswith("rule ssm.background.heartbeat-error-zap broken at "
                                      "t=65.2s on phone2: no zap to the same stream 'a'")
    assert "(seeds/000_7011756516eda0b2.txt:28)" in failure.message
    assert failure.message.endswith("list it under 'violates:'")
    # It points at the step that drove the world into it (the planned heartbeat fault),
    # not at the file's first line.
    text = (HEAD.format(name="inline") + PASSIVE_ERROR).splitlines()
    fault_line = next(n for n, line in enumerate(text, 1) if line.startswith("  - fail:"))
    assert (failure.location.file, failure.location.line) == ("inline.yaml", fault_line)
    assert run(PASSIVE_ERROR, check_rules=False).passed


def test_violates_accepts_the_listed_rules_and_requires_them() -> None:
    listed = ("violates: [ssm.background.heartbeat-error-zap, ssm.errors.stop-playback]\n"
              + HEAD.format(name="hazard") + PASSIVE_ERROR)
    assert run_scenario(load_scenario_text(listed, "hazard.yaml")).passed
    never_broken = ("violates: [ssm.zap.no-self-limit]\n" + HEAD.format(name="clean")
                    + "steps:\n  - play: {device: phone, stream: a}\n  - wait: 1m\n")
    failure = only_failure(run_scenario(load_scenario_text(never_broken, "clean.yaml")))
    assert failure.kind == "rule" and failure.location.line == 1
    assert failure.message == ("rule ssm.zap.no-self-limit is listed under 'violates:' but the "
                               "run never broke it")


def test_never_takes_a_bare_signal_or_event_name() -> None:
    failure = only_failure(run("""\
steps:
  - fail: {endpoint: ssm.setup, http_status: 503, ssm_code: 4001}
  - play: {device: tablet, stream: b}
  - wait: 1m
never:
  - ssm_setup_error
  - ssm_session_expired
"""))
    assert failure.kind == "never" and failure.text == "ssm_setup_error"
    assert failure.message.startswith("signal ssm_setup_error was posted by tablet at t=0.04s")
