"""Exhaustive exploration: coverage from the tables, shortest paths, mutants caught."""

from __future__ import annotations

from click.testing import CliRunner

from player_sim.cli import main
from player_sim.explore import (
    CORE_CONFIGS,
    REFUSED_INPUT_UNCHANGED,
    WORLD_CONFIGS,
    TableRow,
    WorldExploration,
    explore_core,
    explore_exhaustive,
    explore_world,
    format_exhaustive,
    table_rows,
)
from player_sim.player import (
    APP_TRANSITIONS,
    PLAYBACK_TRANSITIONS,
    CoreConfig,
    PlayerCore,
)
from player_sim.player import _events as ev

#: The classic async-teardown zap race: the zap's setup overtakes the teardown of the
#: session the device held.
CLASSIC = ("a: Play('a')", "server handles a's setup #1", "a gets SetupAnswered #1",
           "a: Zap('a')", "server handles a's setup #2")


def test_table_rows_are_the_tables_expanded_per_source() -> None:
    rows = table_rows()
    expected = sum(len(r["source"]) if isinstance(r["source"], list) else 1
                   for r in [*PLAYBACK_TRANSITIONS, *APP_TRANSITIONS])
    assert len(rows) == expected
    assert TableRow("playback", "play", "idle", "ssm_setup") in rows
    assert TableRow("app", "kill", "pip", "terminated") in rows
    assert TableRow("playback", "release_item", "stopped", "stopped") in rows


def test_documented_core_keeps_every_invariant_and_plays() -> None:
    result = explore_core(CoreConfig(), 5, "default")
    assert result.violations == ()
    assert ("playback", "playing") in result.reached
    assert TableRow("playback", "license_granted", "license_request", "playing") in result.rows
    assert TableRow("app", "enter_background", "foreground", "background") in result.rows
    assert result.states > 100 and result.steps >= result.states - 1


def test_refused_inputs_are_explored_and_checked_by_snapshot() -> None:
    result = explore_core(CoreConfig(), 3, "default")
    for path in result.contract:  # today's core: a refused play changes it
        assert path.rule_id == REFUSED_INPUT_UNCHANGED
        assert path.steps == ("Play('a')", "Play('a') (refused)")
        assert "_pending_stream_value" in path.message


def test_no_refused_input_changes_the_core() -> None:
    report = explore_exhaustive(4, world_configs={})
    assert [p.describe() for c in report.core for p in c.contract] == []


def test_breadth_first_gives_the_shortest_path() -> None:
    """A core that forgets the SSM token in the license request is caught in 3 steps."""

    class NoTokenLicense(PlayerCore):
        __slots__ = ()

        def _enter_stage(self) -> None:
            super()._enter_stage()
            self._effects[:] = [ev.SendLicenseRequest(e.playback_id, e.stream, None,
                                                      e.ssm_required)
                                if isinstance(e, ev.SendLicenseRequest) else e
                                for e in self._effects]

    result = explore_core(CoreConfig(), 4, "mutant", core_type=NoTokenLicense)
    found = {p.rule_id: p for p in result.violations}
    assert found["ssm.license.carries-token"].steps == ("Play('a')", "setup ok #1")
    assert "ssm.license.carries-token" in found["ssm.license.carries-token"].describe()


def test_a_core_that_never_tears_down_is_caught() -> None:
    class NeverTearsDown(PlayerCore):
        __slots__ = ()

        def _release_session(self, *, teardown_waits: bool) -> None:
            self.ssm_token = None

    result = explore_core(CoreConfig(), 4, "mutant", core_type=NeverTearsDown)
    path = next(p for p in result.violations if p.rule_id == "ssm.teardown.on-stop")
    assert path.steps == ("Play('a')", "setup ok #1", "Stop()")


def test_a_core_that_reuses_a_stale_heartbeat_token_is_caught() -> None:
    class StaleToken(PlayerCore):
        __slots__ = ()

        def feed(self, event: ev.Input) -> tuple[ev.Effect, ...]:
            if isinstance(event, ev.HeartbeatAnswered) and event.answer.ok:
                return ()  # keeps the old token instead of the rotated one
            return super().feed(event)

    world = explore_world(CoreConfig(), 8, "stale", core_type=StaleToken)
    found = {p.rule_id: p for p in world.violations}
    assert found["ssm.heartbeat.token-rotation"].steps == (
        "a: Play('a')", "server handles a's setup #1", "a gets SetupAnswered #1",
        "a: heartbeat timer #1 fires", "server handles a's heartbeat #1",
        "a gets HeartbeatAnswered #1", "a: heartbeat timer #1 fires")


def test_the_async_teardown_zap_race_is_found_only_with_setup_first() -> None:
    def races(result: WorldExploration) -> set[tuple[str, ...]]:
        return {p.steps for p in result.violations if p.rule_id == "ssm.zap.no-self-limit"}

    racy = races(explore_world(WORLD_CONFIGS["setup-first"], 5, "setup-first"))
    # The classic race, and its cousin: the zap came before the first setup's answer,
    # whose session is torn down only after the new setup was refused.
    assert racy == {CLASSIC, ("a: Play('a')", "a: Zap('a')", "server handles a's setup #1",
                              "a gets SetupAnswered #1", "server handles a's setup #2")}
    safe = races(explore_world(WORLD_CONFIGS["teardown-first"], 6, "teardown-first"))
    assert safe and CLASSIC not in safe  # the cousin only
    assert races(explore_world(WORLD_CONFIGS["sync"], 6, "sync")) == set()


def test_the_stale_token_teardown_race_leaks_a_session() -> None:
    """Stopping or zapping while a heartbeat is in flight tears down with the token it
    rotates out: the server refuses the teardown and the session lives on."""
    result = explore_world(WORLD_CONFIGS["teardown-first"], 7, "teardown-first")
    leaks = {p.steps[3:] for p in result.violations
             if p.rule_id == "ssm.teardown.ends-session"}
    assert {("a: heartbeat timer #1 fires", action, "server handles a's heartbeat #1",
             "server handles a's teardown #1") for action in ("a: Zap('a')", "a: Stop()")} \
        <= leaks
    assert all(len(p.steps) == 7 for p in result.violations
               if p.rule_id == "ssm.teardown.ends-session")
    # The documented SDK breaks nothing else (one heartbeat timer, no leak without a
    # teardown, no limit exceeded) in the small world.
    assert {p.rule_id for p in result.violations} == {"ssm.zap.no-self-limit",
                                                      "ssm.teardown.ends-session"}


def test_report_is_deterministic_and_lists_dead_rows() -> None:
    configs = {"default": CORE_CONFIGS["default"], "sync": CORE_CONFIGS["sync"]}
    first = explore_exhaustive(3, core_configs=configs, world_configs={})
    again = explore_exhaustive(3, core_configs=configs, world_configs={})
    assert format_exhaustive(first) == format_exhaustive(again)
    text = format_exhaustive(first)
    assert "never taken: playback: obtaining_ks --ks_obtained--> loading_media" in text
    assert first.violations == []
    assert set(first.rows_never_taken) | first.rows_taken == set(table_rows())


def test_cli_explore_exhaustive_reports_and_exits_1_on_violations() -> None:
    result = CliRunner().invoke(main, ["explore", "--exhaustive", "--depth", "3"])
    assert result.exit_code == 1, result.output
    assert "states reached: 14 of 14" in result.output
    assert "ssm.zap.no-self-limit (world/setup-first, 5 steps)" in result.output


def test_cli_explore_exhaustive_refuses_bad_arguments() -> None:
    assert CliRunner().invoke(main, ["explore", "--exhaustive", "--depth", "0"]).exit_code == 2
    assert CliRunner().invoke(main, ["explore", "--depth", "3"]).exit_code == 2
