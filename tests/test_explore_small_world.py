"""The small world runs the real SSM server and judges with the catalogue's monitors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from player_sim.backends import SsmConfig, SsmErrorCode, SsmServer
from player_sim.explore import WORLD_CONFIGS, ExploreHost, explore_world
from player_sim.explore._smallworld import (
    SYNC_UNJUDGED,
    WORLD_RULES,
    WORLD_UNJUDGED,
    world_inputs,
    world_key,
    world_root,
    world_step,
)
from player_sim.player import CoreConfig, PlayerCore
from player_sim.player import _events as ev
from player_sim.rules import CATALOGUE, judge_trace
from player_sim.scenario import load_scenario, run_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def test_a_copied_server_runs_apart_from_the_original() -> None:
    host = ExploreHost()
    server = SsmServer(SsmConfig(max_sessions_per_account=1), host)
    first = server.setup("acct", "a", "s", None, None)
    server.fail_next("teardown", http_status=500)
    host.now = 10.0
    copy_host = ExploreHost(10.0, host.tokens)
    copy = server.copy(copy_host)
    assert copy_host.records == []  # copying records nothing
    # Its expiry check is scheduled on the new host, at the session's expiry.
    [(_, session)] = copy_host.events.values()
    assert (session.session_id, session.expires_at) == ("a/1", 70.0)
    assert session is not server.active_sessions()[0]
    rotated = copy.heartbeat("a", first.token or "")
    assert rotated.ok and copy.is_current(rotated.token)
    assert server.is_current(first.token) and not server.is_current(rotated.token)
    assert server.active_sessions()[0].expires_at == 70.0  # the original never moved
    # The pending fault was copied, and is consumed apart.
    assert copy.teardown("a", rotated.token or "").http_status == 500
    assert server.teardown("a", first.token or "").http_status == 500
    assert copy.teardown("a", rotated.token or "").http_status == 204
    assert server.setup("acct", "b", "s", None, None).ssm_code == \
        SsmErrorCode.MAX_SESSIONS_EXCEEDED  # the original still holds its slot


def test_the_host_keeps_one_expiry_per_live_session_and_refuses_other_timers() -> None:
    host = ExploreHost()
    server = SsmServer(SsmConfig(max_sessions_per_account=2), host)
    token = server.setup("acct", "a", "s", None, None).token or ""
    assert list(host.events) == ["a/1"]
    server.teardown("a", token)
    assert host.events == {}  # ended: nothing left to expire
    assert [r.kind for r in host.records] == ["ssm_session_created", "ssm_session_ended"]
    assert all(r.app is None and r.device == "a" for r in host.records)
    with pytest.raises(TypeError, match="session expiries only"):
        host.schedule_at(1.0, print, "not a session")


def test_the_small_world_judges_every_rule_but_the_apps_duties_and_providers() -> None:
    assert set(WORLD_RULES) | set(WORLD_UNJUDGED) == set(CATALOGUE)
    assert not [r for r in WORLD_UNJUDGED if r.startswith("ssm.") and "app" not in
                WORLD_UNJUDGED[r]]
    for rule_id in ("ssm.zap.no-self-limit", "ssm.setup.limit-refuses", "ssm.teardown.on-stop",
                    "ssm.session.expires", "ssm.teardown.ends-session",
                    "ssm.heartbeat.one-timer", "ssm.zap.replaces-session"):
        assert rule_id in WORLD_RULES
    sync = world_root(WORLD_CONFIGS["sync"]).checker
    assert not set(SYNC_UNJUDGED) & set(sync.rules)


def _walk(state: Any, labels: list[str]) -> tuple[Any, list[tuple[str, str]]]:
    findings: list[tuple[str, str]] = []
    for label in labels:
        inputs = dict(world_inputs(state))
        assert label in inputs, sorted(inputs)
        state, found = world_step(state, inputs[label])
        findings += found
    return state, findings


def test_the_real_server_refuses_the_racing_setup_and_its_monitor_says_why() -> None:
    state, findings = _walk(world_root(CoreConfig()), [
        "a: Play('a')", "server handles a's setup #1", "a gets SetupAnswered #1",
        "a: Zap('a')", "server handles a's setup #2"])
    assert [rule for rule, _ in findings] == ["ssm.zap.no-self-limit"]
    [refused] = [v for v in state.checker.violations]
    assert refused.excerpt[-1][1].kind == "ssm_setup_refused"
    assert refused.excerpt[-1][1].data["ssm_code"] == SsmErrorCode.MAX_SESSIONS_EXCEEDED
    assert [s.device for s in state.server.active_sessions()] == ["a"]


def test_time_only_jumps_to_the_next_timed_event_and_sessions_expire_on_time() -> None:
    state, findings = _walk(world_root(CoreConfig()), [
        "a: Play('a')", "server handles a's setup #1", "a gets SetupAnswered #1", "a: kill"])
    assert findings == [] and state.now == 4.0
    labels = [label for label, _ in world_inputs(state)]
    assert "session of a expires" in labels and "a: heartbeat timer #1 fires" not in labels
    state, findings = _walk(state, ["session of a expires"])
    assert state.now == 72.0  # created at 2 s, 70 s session timeout
    assert findings == [] and state.server.active_sessions() == []


def test_mirror_states_share_a_key() -> None:
    root = world_root(CoreConfig())
    a, _ = _walk(root, ["a: Play('a')"])
    b, _ = _walk(root, ["b: Play('a')"])
    assert world_key(a) == world_key(b) != world_key(root)


def test_a_core_that_arms_two_heartbeat_timers_breaks_one_timer() -> None:
    class TwoTimers(PlayerCore):
        __slots__ = ()

        def feed(self, event: ev.Input) -> tuple[ev.Effect, ...]:
            effects = super().feed(event)
            return (*effects, *(e for e in effects if isinstance(e, ev.ArmHeartbeat)))

    world = explore_world(CoreConfig(), 7, "two-timers", core_type=TwoTimers)
    [path] = [p for p in world.violations if p.rule_id == "ssm.heartbeat.one-timer"]
    # The second timer waits for the first one's heartbeat to come back, then fires too.
    assert path.steps == ("a: Play('a')", "server handles a's setup #1",
                          "a gets SetupAnswered #1", "a: heartbeat timer #1 fires",
                          "server handles a's heartbeat #1", "a gets HeartbeatAnswered #1",
                          "a: heartbeat timer #1 fires")


@pytest.mark.parametrize(("scenario", "rule_id", "broken"), [
    ("heartbeat_keeps_session.scenario.yaml", "ssm.heartbeat.one-timer", False),
    ("stop_during_heartbeat.scenario.yaml", "ssm.teardown.ends-session", True),
])
def test_the_bundled_scenario_covering_a_new_rule_really_observes_it(
        scenario: str, rule_id: str, broken: bool) -> None:
    loaded = load_scenario(str(SCENARIOS / scenario))
    assert rule_id in loaded.covers
    result = run_scenario(loaded)
    assert result.passed
    verdict = judge_trace(result.trace, rules=[rule_id])
    assert verdict.observed[rule_id] > 0
    assert bool(verdict.violations) is broken


def test_a_lazy_copy_shares_until_fed_and_feeding_it_changes_nothing_else() -> None:
    from player_sim.explore._recording import clone_checker, feed_lazily
    from player_sim.trace import TraceRecord

    state, _ = _walk(world_root(CoreConfig()), ["a: Play('a')"])
    origin = state.checker
    first, second = clone_checker(origin, lazy=True), clone_checker(origin, lazy=True)
    assert first.device("a") is origin.device("a")  # shared until fed
    before = (origin.device("a").teardowns_on_wire, dict(origin.observed))
    origin_readers = list(origin._by_kind["ssm_teardown_sent"])
    feed_lazily(first, TraceRecord(2.0, "a", "ssm_teardown_sent", "foreground", "ssm_setup",
                                   {"request_id": 9, "token": "t", "blocking": False}, 1))
    assert first.device("a").teardowns_on_wire == 1
    assert (origin.device("a").teardowns_on_wire, dict(origin.observed)) == before
    assert second.device("a").teardowns_on_wire == 0
    readers = first._by_kind["ssm_teardown_sent"]
    assert readers and all(m.checker is first for m in readers)
    # The origin keeps its own monitors (shared with its ancestors, never with a copy).
    assert origin._by_kind["ssm_teardown_sent"] == origin_readers
    assert not {id(m) for m in readers} & {id(m) for m in origin_readers}
