"""The explorers' records are the records a real World device writes for the same inputs."""

from __future__ import annotations

from typing import Any

import pytest

from player_sim import DeviceConfig, SsmConfig, World, WorldConfig
from player_sim.explore import UNJUDGED, clone_checker, core_checker
from player_sim.explore._coremodel import DEVICE, CoreEnv, inputs, step
from player_sim.explore._recording import Recorder
from player_sim.player import CoreConfig, PlayerCore
from player_sim.player import _events as ev
from player_sim.rules import CATALOGUE
from player_sim.trace import TraceRecord

_DEVICE_KINDS = {"ssm_setup_answered", "ssm_teardown_answered", "license_answered"}


def _world_trace(sync: bool, script: list[Any]) -> list[TraceRecord]:
    world = World(WorldConfig(ssm=SsmConfig(max_sessions_per_account=2)))
    device = world.add_device(DeviceConfig(name=DEVICE, account="acct",
                                           ssm_server_url="https://ssm.example/",
                                           sync_ssm_setup_teardown=sync))
    for what in script:
        if what == "run":
            world.run_for(5.0)
        elif what == "kill":
            device.kill()
        else:
            device.perform(what)
    return [r for r in world.trace if r.app is not None or r.kind == "device_added"]


def _replay(config: CoreConfig, world: list[TraceRecord]) -> list[TraceRecord]:
    """Feed a core the inputs the world's device took, recording as the explorers do."""
    core, recorder, blocked = PlayerCore(config), Recorder(DEVICE), None
    recorder.added(0.0, config, "acct")
    answers = {"ssm_setup_answered": ev.SetupAnswered, "ssm_teardown_answered":
               ev.TeardownAnswered}
    for rec in world[1:]:
        # An answer record names the playback and the request it answers.
        assert rec.playback_id is not None
        if rec.kind == "action":
            action = {"play": ev.Play, "zap": ev.Zap}.get(rec.data["name"])
            made: Any = action(rec.data["stream"]) if action else ev.Stop()
            recorder.action(rec.t, core, made, core.feed(made))
        elif rec.kind in answers:
            fields = {k: v for k, v in rec.data.items()
                      if k not in ("heartbeat_period", "request_id")}
            answer = answers[rec.kind](rec.playback_id, ev.SsmAnswer(
                heartbeat_period=rec.data.get("heartbeat_period"), **fields))
            recorder.answer(rec.t, core, answer, rec.data["request_id"])
            recorder.effects(rec.t, core, core.feed(answer))
        elif rec.kind == "license_answered":
            answer = ev.LicenseAnswered(rec.playback_id, rec.data["granted"],
                                        rec.data["http_status"], rec.data["code"],
                                        rec.data["message"])
            recorder.answer(rec.t, core, answer, rec.data["request_id"])
            recorder.effects(rec.t, core, core.feed(answer))
        elif rec.kind == "main_thread_blocked" and blocked is None:
            recorder.unblocked(rec.t, core, rec.data["seconds"])
        elif rec.kind == "app_killed":
            effects = core.kill()
            recorder.killed(rec.t, core, effects, None)
    return recorder.take()


@pytest.mark.parametrize("sync", [False, True])
def test_recorder_writes_what_a_world_device_writes(sync: bool) -> None:
    script: list[Any] = [ev.Play("a"), "run", ev.Zap("b"), "run", ev.Stop(), "run",
                         ev.Play("a"), "run", "kill"]
    if sync:  # (a stop after a synchronous zap sets the zapped-to stream up again today)
        script = [ev.Play("a"), "run", ev.Stop(), "run", ev.Play("a"), "run", "kill"]
    world = _world_trace(sync, script)
    mine = _replay(CoreConfig(sync_ssm_setup_teardown=sync), world)
    def shape(records: list[TraceRecord]) -> list[tuple[Any, ...]]:
        return [(r.t, r.device, r.kind, r.app, r.playback, r.playback_id, dict(r.data))
                for r in records]
    assert shape(mine) == shape(world)
    assert {r.kind for r in world} >= {"ssm_setup_sent", "license_request_sent",
                                        "ssm_teardown_sent", "state_changed", "app_killed"}


def test_step_judges_with_the_catalogue_monitors() -> None:
    checker = core_checker(CoreConfig())
    assert set(checker.rules) <= set(CATALOGUE) - set(UNJUDGED)
    assert "ssm.teardown.on-stop" in checker.rules
    core, env = PlayerCore(), CoreEnv()
    for wanted in ("Play('a')", "setup ok #1", "license granted #1"):
        _, event, index, used = next(c for c in inputs(core, env) if c[0] == wanted)
        env, _, findings = step(core, env, event, index, used, checker)
        assert findings == []
    copy = clone_checker(checker)
    # a core that forgets the teardown: the monitor, not the explorer, says so
    copy.feed(TraceRecord(env.now + 1, DEVICE, "action", "foreground", "stopped",
                          {"name": "stop", "origin": "user"}))
    late = copy.finish(env.now + 10)
    assert [v.rule.id for v in late] == ["ssm.teardown.on-stop"]
    assert checker.finish(env.now + 10) == []  # the original is untouched
