"""The pure player core, fed inputs by hand: no trio, no world, no time."""

from __future__ import annotations

import copy
import itertools
from collections import deque
from typing import Any

import pytest
from conftest import notifies, playing_core, without_notifies

from player_sim import (
    AppState,
    ConfigError,
    CoreConfig,
    DocumentedAppPolicy,
    InvalidTransition,
    PlaybackState,
    PlayerCore,
    events,
)
from player_sim.player import APP_TRANSITIONS, PLAYBACK_MACHINE, PLAYBACK_TRANSITIONS

ev = events
P = PlaybackState
A = AppState

SYNC = CoreConfig(sync_ssm_setup_teardown=True)


# --- play with and without SSM ---------------------------------------------------


def test_play_with_ssm_sets_up_before_the_license_request() -> None:
    core = PlayerCore(CoreConfig(uses_ssm=True))
    effects = core.feed(ev.Play("ch-1"))
    assert without_notifies(effects) == [ev.SendSsmSetup(1, "ch-1", blocking=False)]
    assert core.playback is P.SSM_SETUP
    [changed] = notifies(effects, "state_changed")
    assert changed.payload() == {"app_from": "foreground", "app": "foreground",
                                 "playback_from": "idle", "playback": "ssm_setup"}

    effects = core.feed(ev.SetupAnswered(1, ev.SsmAnswer(200, None, "", "tok-A", 45.0)))
    assert without_notifies(effects) == [
        ev.ArmHeartbeat(1, 45.0),
        ev.SendLicenseRequest(1, "ch-1", ssm_token="tok-A", ssm_required=True),
    ]
    assert core.playback is P.LICENSE_REQUEST
    assert core.ssm_token == "tok-A"
    assert core.heartbeat_period == 45.0

    effects = core.feed(ev.LicenseAnswered(1, True, 200))
    assert core.playback is P.PLAYING
    assert [n.payload() for n in notifies(effects, "playback_started")] == [{"stream": "ch-1"}]


def test_play_without_ssm_sends_no_ssm_traffic_at_all() -> None:
    core = PlayerCore(CoreConfig(uses_ssm=False))
    effects = core.feed(ev.Play("ch-1"))
    assert without_notifies(effects) == [
        ev.SendLicenseRequest(1, "ch-1", ssm_token=None, ssm_required=False)]
    assert core.playback is P.LICENSE_REQUEST
    everything = list(effects)
    everything += core.feed(ev.LicenseAnswered(1, True, 200))
    everything += core.feed(ev.HeartbeatDue(1))
    everything += core.feed(ev.Zap("ch-2"))
    everything += core.feed(ev.LicenseAnswered(2, True, 200))
    everything += core.feed(ev.Stop())
    ssm_kinds = (ev.SendSsmSetup, ev.SendSsmTeardown, ev.SendHeartbeat, ev.ArmHeartbeat)
    assert [e for e in everything if isinstance(e, ssm_kinds)] == []
    assert core.playback is P.STOPPED


def test_setup_refused_notifies_and_fails_without_a_license_request() -> None:
    core = PlayerCore()
    core.feed(ev.Play("ch-1"))
    refused = ev.SsmAnswer(403, 1007, "max active sessions exceeded")
    effects = core.feed(ev.SetupAnswered(1, refused))
    [error] = notifies(effects, "ssm_setup_error")
    assert error.payload() == {"stream": "ch-1", "http_status": 403, "ssm_code": 1007,
                               "message": "max active sessions exceeded"}
    assert core.playback is P.FAILED
    assert core.ssm_error
    assert not [e for e in effects if isinstance(e, ev.SendLicenseRequest | ev.ArmHeartbeat)]
    # Nothing the wire brings later makes it ask for a license.
    assert core.feed(ev.LicenseAnswered(1, True, 200)) == ()
    assert core.playback is P.FAILED


def test_legacy_200_with_an_error_body_is_a_setup_error() -> None:
    core = PlayerCore()
    core.feed(ev.Play("ch-1"))
    effects = core.feed(ev.SetupAnswered(1, ev.SsmAnswer(200, 1007, "denied", token="tok-x")))
    assert [n.payload()["http_status"] for n in notifies(effects, "ssm_setup_error")] == [200]
    assert core.playback is P.FAILED
    assert core.ssm_token is None


# --- heartbeats ------------------------------------------------------------------


def test_heartbeat_uses_the_token_the_last_answer_rotated_in() -> None:
    core = playing_core(token="tok-1", period=30.0)
    assert core.feed(ev.HeartbeatDue(1)) == (ev.SendHeartbeat(1, "tok-1"), ev.ArmHeartbeat(1, 30.0))
    assert core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(200, None, "", "tok-2", 30.0))) == ()
    assert core.ssm_token == "tok-2"
    assert core.feed(ev.HeartbeatDue(1)) == (ev.SendHeartbeat(1, "tok-2"), ev.ArmHeartbeat(1, 30.0))
    core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(200, None, "", "tok-3", 30.0)))
    # The teardown carries the newest token too.
    assert without_notifies(core.feed(ev.Stop())) == [ev.SendSsmTeardown(1, "tok-3", False,
            stream="ch-1")]


def test_heartbeat_error_notifies_and_stops_the_heartbeats() -> None:
    core = playing_core()
    core.feed(ev.HeartbeatDue(1))
    effects = core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(401, 1006, "stale token")))
    assert [n.payload() for n in notifies(effects)] == [
        {"stream": "ch-1", "http_status": 401, "ssm_code": 1006, "message": "stale token"}]
    assert notifies(effects)[0].kind == "ssm_heartbeat_error"
    assert core.ssm_error
    assert core.ssm_token is None
    assert core.feed(ev.HeartbeatDue(1)) == ()
    # The session is lost: a stop has nothing to tear down.
    assert without_notifies(core.feed(ev.Stop())) == []


def test_answers_for_an_old_player_item_are_ignored() -> None:
    core = playing_core()
    core.feed(ev.Zap("ch-2"))
    core.feed(ev.SetupAnswered(2, ev.SsmAnswer(200, None, "", "tok-new", 30.0)))
    # The old item's heartbeat answer and timer do nothing to the new item.
    assert core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(401, 1006, "gone"))) == ()
    assert core.feed(ev.HeartbeatDue(1)) == ()
    assert core.ssm_token == "tok-new"
    assert not core.ssm_error


# --- stop and teardown --------------------------------------------------------------


def test_sync_stop_blocks_in_stopping_until_the_teardown_answer() -> None:
    core = playing_core(SYNC)
    effects = core.feed(ev.Stop())
    assert without_notifies(effects) == [ev.SendSsmTeardown(1, "tok-1", blocking=True,
            stream="ch-1")]
    assert [n.payload() for n in notifies(effects, "playback_stopped")] == [
        {"stream": "ch-1", "reason": "stop"}]
    assert core.playback is P.STOPPING
    with pytest.raises(InvalidTransition):
        core.feed(ev.Play("ch-2"))
    effects = core.feed(ev.TeardownAnswered(1, ev.SsmAnswer(204)))
    assert core.playback is P.STOPPED
    assert without_notifies(effects) == []


def test_async_stop_is_stopped_at_once() -> None:
    core = playing_core()
    effects = core.feed(ev.Stop())
    assert without_notifies(effects) == [ev.SendSsmTeardown(1, "tok-1", blocking=False,
            stream="ch-1")]
    assert core.playback is P.STOPPED
    assert core.feed(ev.TeardownAnswered(1, ev.SsmAnswer(204))) == ()
    assert core.playback is P.STOPPED


@pytest.mark.parametrize("config", [CoreConfig(), SYNC], ids=["async", "sync"])
def test_teardown_error_is_notified(config: CoreConfig) -> None:
    core = playing_core(config)
    core.feed(ev.Stop())
    effects = core.feed(ev.TeardownAnswered(1, ev.SsmAnswer(503, 4001, "SSM not available")))
    [error] = notifies(effects, "ssm_teardown_error")
    assert error.payload() == {"stream": "ch-1", "http_status": 503, "ssm_code": 4001,
                               "message": "SSM not available"}
    assert core.playback is P.STOPPED


def test_stop_without_release_keeps_the_session_until_release_item() -> None:
    core = playing_core(CoreConfig(release_item_on_stop=False))
    assert without_notifies(core.feed(ev.Stop())) == []
    assert core.playback is P.STOPPED
    # The player item still holds its session: heartbeats go on.
    assert core.feed(ev.HeartbeatDue(1)) == (ev.SendHeartbeat(1, "tok-1"), ev.ArmHeartbeat(1, 30.0))
    assert core.feed(ev.ReleaseItem()) == (ev.SendSsmTeardown(1, "tok-1", blocking=False,
            stream="ch-1"),)
    assert core.playback is P.STOPPED
    assert core.feed(ev.HeartbeatDue(1)) == ()


# --- zap -------------------------------------------------------------------------------


def test_async_zap_setup_first_sends_the_new_setup_before_the_old_teardown() -> None:
    core = playing_core(CoreConfig(async_zap_order="setup-first"))
    effects = core.feed(ev.Zap("ch-2"))
    assert without_notifies(effects) == [ev.SendSsmSetup(2, "ch-2", blocking=False),
                                         ev.SendSsmTeardown(1, "tok-1", blocking=False,
                                                 stream="ch-1")]
    assert [n.payload() for n in notifies(effects, "zap")] == [
        {"stream_from": "ch-1", "stream": "ch-2", "same_stream": False}]
    assert [n.payload() for n in notifies(effects, "playback_stopped")] == [
        {"stream": "ch-1", "reason": "zap"}]
    assert core.playback is P.SSM_SETUP
    assert core.stream == "ch-2"
    # The old session's teardown is sent once, not again at the next stage.
    effects = core.feed(ev.SetupAnswered(2, ev.SsmAnswer(200, None, "", "tok-2", 30.0)))
    assert without_notifies(effects) == [
        ev.ArmHeartbeat(2, 30.0), ev.SendLicenseRequest(2, "ch-2", "tok-2", ssm_required=True)]


def test_async_zap_teardown_first_sends_the_old_teardown_first() -> None:
    core = playing_core(CoreConfig(async_zap_order="teardown-first"))
    effects = core.feed(ev.Zap("ch-1"))
    assert without_notifies(effects) == [ev.SendSsmTeardown(1, "tok-1", blocking=False,
            stream="ch-1"),
                                         ev.SendSsmSetup(2, "ch-1", blocking=False)]
    assert notifies(effects, "zap")[0].payload()["same_stream"] is True


def test_sync_zap_waits_in_stopping_for_the_teardown() -> None:
    core = playing_core(SYNC)
    effects = core.feed(ev.Zap("ch-2"))
    assert without_notifies(effects) == [ev.SendSsmTeardown(1, "tok-1", blocking=True,
            stream="ch-1")]
    assert core.playback is P.STOPPING
    effects = core.feed(ev.TeardownAnswered(1, ev.SsmAnswer(204)))
    assert without_notifies(effects) == [ev.SendSsmSetup(2, "ch-2", blocking=True)]
    assert core.playback is P.SSM_SETUP


def test_sync_zap_goes_on_even_when_the_teardown_fails() -> None:
    core = playing_core(SYNC)
    core.feed(ev.Zap("ch-2"))
    effects = core.feed(ev.TeardownAnswered(1, ev.SsmAnswer(401, 1006, "invalid token")))
    assert [n.kind for n in notifies(effects) if n.kind != "state_changed"] == [
        "ssm_teardown_error"]
    assert without_notifies(effects) == [ev.SendSsmSetup(2, "ch-2", blocking=True)]


def test_invalid_transition_names_the_state_and_the_trigger() -> None:
    core = PlayerCore()
    with pytest.raises(InvalidTransition) as info:
        core.feed(ev.Resume())
    assert (info.value.machine, info.value.state, info.value.trigger) == (
        "playback", "idle", "resume")
    assert "resume" in str(info.value) and "idle" in str(info.value)
    with pytest.raises(InvalidTransition) as info:
        core.feed(ev.LeavePip())
    assert (info.value.machine, info.value.state, info.value.trigger) == (
        "app", "foreground", "leave_pip")
    # A refused action leaves the core as it was.
    assert (core.app, core.playback, core.playback_id) == (A.FOREGROUND, P.IDLE, 0)


def test_terminated_app_refuses_every_action() -> None:
    core = playing_core()
    assert core.kill() == (ev.Notify("state_changed", (
        ("app", "terminated"), ("app_from", "foreground"),
        ("playback", "playing"), ("playback_from", "playing"))),)
    for action in (ev.Play("x"), ev.Stop(), ev.Zap("x"), ev.EnterForeground()):
        assert not core.can(action)
        with pytest.raises(InvalidTransition) as info:
            core.feed(action)
        assert info.value.state == "terminated"
    # A killed app sends nothing, not even its heartbeats.
    assert core.feed(ev.HeartbeatDue(1)) == ()
    core.relaunch()
    assert (core.app, core.playback, core.ssm_token) == (A.FOREGROUND, P.IDLE, None)


def test_late_setup_answer_after_stop_is_torn_down() -> None:
    core = PlayerCore()
    core.feed(ev.Play("ch-1"))
    assert without_notifies(core.feed(ev.Stop())) == []  # no token yet, nothing to tear down
    assert core.playback is P.STOPPED
    effects = core.feed(ev.SetupAnswered(1, ev.SsmAnswer(200, None, "", "late-tok", 30.0)))
    assert effects == (ev.SendSsmTeardown(1, "late-tok", blocking=False, stream="ch-1"),)
    assert core.ssm_token is None
    assert core.playback is P.STOPPED


def test_late_refused_setup_after_zap_is_ignored() -> None:
    core = PlayerCore()
    core.feed(ev.Play("ch-1"))
    core.feed(ev.Zap("ch-2"))
    assert core.feed(ev.SetupAnswered(1, ev.SsmAnswer(403, 1007, "limit"))) == ()
    assert core.playback is P.SSM_SETUP
    assert not core.ssm_error


# --- app visibility -----------------------------------------------------------------


def test_normal_background_suspends_playback() -> None:
    core = playing_core()
    effects = core.feed(ev.EnterBackground())
    assert (core.app, core.playback) == (A.BACKGROUND, P.PAUSED)
    assert [n.payload() for n in notifies(effects, "state_changed")] == [
        {"app_from": "foreground", "app": "background",
         "playback_from": "playing", "playback": "paused"}]
    core.feed(ev.EnterForeground())
    assert (core.app, core.playback) == (A.FOREGROUND, P.PAUSED)  # resuming is the app's call
    core.feed(ev.Resume())
    assert core.playback is P.PLAYING


def test_background_with_pip_enabled_enters_pip_and_keeps_playing() -> None:
    core = playing_core(CoreConfig(pip_enabled=True))
    core.feed(ev.EnterBackground())
    assert (core.app, core.playback) == (A.PIP, P.PLAYING)
    assert core.feed(ev.HeartbeatDue(1)) == (ev.SendHeartbeat(1, "tok-1"), ev.ArmHeartbeat(1, 30.0))
    core.feed(ev.ClosePip())
    assert (core.app, core.playback) == (A.BACKGROUND, P.PAUSED)


def test_pip_enabled_but_not_playing_is_a_normal_background() -> None:
    core = PlayerCore(CoreConfig(pip_enabled=True))
    core.feed(ev.EnterBackground())
    assert (core.app, core.playback) == (A.BACKGROUND, P.IDLE)


def test_enter_pip_without_pip_enabled_is_a_config_error() -> None:
    core = playing_core()
    assert not core.can(ev.EnterPip())
    with pytest.raises(ConfigError, match="picture-in-picture is not enabled"):
        core.feed(ev.EnterPip())


def test_bad_zap_order_is_refused_where_it_enters() -> None:
    with pytest.raises(ConfigError, match="'setup-first' or 'teardown-first'"):
        CoreConfig(async_zap_order="whenever")  # type: ignore[arg-type]


# --- the documented app policy ----------------------------------------------------------


def test_policy_zaps_to_the_same_stream_on_a_heartbeat_error() -> None:
    core = playing_core(stream="news")
    policy = DocumentedAppPolicy()
    assert policy.on_notification(core, "ssm_heartbeat_error", {}) == (ev.Zap("news"),)
    assert DocumentedAppPolicy(zap_on_heartbeat_error=False).on_notification(
        core, "ssm_heartbeat_error", {}) == (ev.Stop(),)
    # Other notifications, and players with nothing to stop, get no reaction.
    assert policy.on_notification(core, "ssm_teardown_error", {}) == ()
    assert policy.on_notification(PlayerCore(), "ssm_heartbeat_error", {}) == ()


def test_policy_resumes_after_background_only_without_an_error() -> None:
    core = playing_core(stream="news")
    core.feed(ev.EnterBackground())
    policy = DocumentedAppPolicy()
    assert policy.on_foreground(core) == (ev.Resume(),)
    assert DocumentedAppPolicy(resume_after_background=False).on_foreground(core) == ()
    core.feed(ev.EnterForeground())
    core.feed(ev.HeartbeatDue(1))
    core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(401, 1006, "expired")))
    assert core.ssm_error
    assert policy.on_foreground(core) == (ev.Zap("news"),)
    assert DocumentedAppPolicy(zap_on_heartbeat_error=False).on_foreground(core) == (ev.Stop(),)
    assert policy.on_foreground(PlayerCore()) == ()


# --- every row of the tables can fire --------------------------------------------------


def _rows(table: list[dict[str, Any]]) -> list[tuple[set[str], str, str | None]]:
    """(sources, trigger, dest) for every row of a table; ``None`` dest stays on the source."""
    rows = []
    for row in table:
        sources = row["source"] if isinstance(row["source"], list) else [row["source"]]
        dest = row["dest"].value if row["dest"] is not None else None
        rows.append(({s.value for s in sources}, row["trigger"], dest))
    return rows


def _fires(row: tuple[set[str], str, str | None], moves: set[tuple[str, str, str]]) -> bool:
    sources, trigger, dest = row
    return any(s in sources and t == trigger and d == (dest or s) for s, t, d in moves)


class _RecordingCore(PlayerCore):
    """A core that records every trigger it fires, with the states around it."""

    fired: set[tuple[str, str, str, str]]

    def _fire(self, machine: Any, trigger: str) -> None:
        which = "playback" if machine is PLAYBACK_MACHINE else "app"
        before = getattr(self, which)
        super()._fire(machine, trigger)
        self.fired.add((which, before.value, trigger, getattr(self, which).value))


def _inputs(core: PlayerCore) -> list[Any]:
    """Every input worth trying on ``core``: actions, and answers for its requests."""
    pid, item = core.playback_id, core.item_playback_id
    teardown = core._teardown_playback_id
    ok = ev.SsmAnswer(200, None, "", f"t{pid}", 30.0)
    bad = ev.SsmAnswer(403, 1007, "no")
    return [
        ev.Play("a"), ev.Zap("b"), ev.Stop(), ev.Resume(), ev.ReleaseItem(),
        ev.EnterBackground(), ev.EnterForeground(), ev.EnterPip(), ev.LeavePip(), ev.ClosePip(),
        "kill", "relaunch",
        ev.KsAnswered(pid, "ks"), ev.KsAnswered(pid, None, 601, "no"),
        ev.MediaAnswered(pid, True, ssm=True), ev.MediaAnswered(pid, True, ssm=False),
        ev.MediaAnswered(pid, False, error_code=404),
        ev.SetupAnswered(pid, ok), ev.SetupAnswered(pid, bad),
        ev.LicenseAnswered(pid, True, 200), ev.LicenseAnswered(pid, False, 403),
        ev.TeardownAnswered(teardown, ev.SsmAnswer(204)),
        ev.HeartbeatDue(item), ev.HeartbeatAnswered(item, bad),
    ]


def _key(core: PlayerCore) -> tuple[Any, ...]:
    return (core.app, core.playback, core.ssm_token is not None, core.ssm_error,
            core._start_after_teardown, core.media_ssm, core.playback_id == core.item_playback_id)


def _walk(config: CoreConfig, fired: set[tuple[str, str, str, str]]) -> None:
    start = _RecordingCore(config)
    start.fired = fired
    seen = {_key(start)}
    queue = deque([start])
    while queue:
        core = queue.popleft()
        for item in _inputs(core):
            nxt = copy.copy(core)  # its only mutable parts are the lists below
            nxt._stash = list(core._stash)
            nxt._effects = []
            try:
                if item == "kill":
                    nxt.kill()
                elif item == "relaunch":
                    nxt.relaunch()
                else:
                    nxt.feed(item)
            except (InvalidTransition, ConfigError):
                continue
            if _key(nxt) not in seen:
                seen.add(_key(nxt))
                queue.append(nxt)


def test_every_row_of_both_tables_can_fire() -> None:
    fired: set[tuple[str, str, str, str]] = set()
    for flags in itertools.product([False, True], repeat=5):
        for order in ("setup-first", "teardown-first"):
            uses_ssm, sync, pip, release, provider = flags
            _walk(CoreConfig(uses_ssm=uses_ssm, sync_ssm_setup_teardown=sync, pip_enabled=pip,
                             async_zap_order=order, release_item_on_stop=release,
                             has_session_provider=provider), fired)
    for which, table in (("playback", PLAYBACK_TRANSITIONS), ("app", APP_TRANSITIONS)):
        moves = {(s, t, d) for w, s, t, d in fired if w == which}
        dead = [row for row in _rows(table) if not _fires(row, moves)]
        assert dead == [], f"{which} rows that can never fire"
        unlisted = [m for m in moves if not any(_fires(row, {m}) for row in _rows(table))]
        assert unlisted == [], f"{which} moves that no row allows"
    assert {d for w, _, _, d in fired if w == "playback"} == {s.value for s in P}
    assert {d for w, _, _, d in fired if w == "app"} == {s.value for s in A}
    assert {t for _, _, t, _ in fired} == {
        row["trigger"] for row in [*PLAYBACK_TRANSITIONS, *APP_TRANSITIONS]}
