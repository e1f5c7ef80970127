"""The SDK seam (SdkModel), the bundled mutants, and ``player-sim mutants``."""

from __future__ import annotations

import attrs
import pytest

from player_sim import ConfigError, CoreConfig, DeviceConfig, PlayerCore, SdkModel
from player_sim.player import events as ev

# --- the SdkModel seam of the core ----------------------------------------------------------


def _playing(core: PlayerCore) -> None:
    core.feed(ev.Play("ch-1"))
    core.feed(ev.SetupAnswered(1, ev.SsmAnswer(200, token="t1", heartbeat_period=30.0)))
    core.feed(ev.LicenseAnswered(1, True, 200))


def test_the_default_sdk_model_is_the_documented_core() -> None:
    plain, modelled = PlayerCore(), PlayerCore(CoreConfig(sdk=SdkModel()))
    script = [ev.Play("ch-1"), ev.SetupAnswered(1, ev.SsmAnswer(200, token="t1",
                                                                   heartbeat_period=30.0)),
              ev.LicenseAnswered(1, True, 200), ev.HeartbeatDue(1),
              ev.HeartbeatAnswered(1, ev.SsmAnswer(200, token="t2")), ev.HeartbeatDue(1),
              ev.Zap("ch-2"), ev.SetupAnswered(2, ev.SsmAnswer(200, 1007, "limit")),
              ev.TeardownAnswered(1, ev.SsmAnswer(204)), ev.Play("ch-3"),
              ev.SetupAnswered(3, ev.SsmAnswer(200, token="t3", heartbeat_period=30.0)),
              ev.Stop()]
    for step in script:
        assert plain.feed(step) == modelled.feed(step)


def test_each_hook_changes_what_the_core_does() -> None:
    class Variant(SdkModel):
        def read_answer(self, answer: ev.SsmAnswer) -> ev.SsmAnswer:
            return attrs.evolve(answer, ssm_code=None)  # reads the status only

        def rotates_tokens(self) -> bool:
            return False

        def license_token(self, token: str | None) -> str | None:
            return None

        def sends_teardown(self) -> bool:
            return False

    core = PlayerCore(CoreConfig(sdk=Variant()))
    core.feed(ev.Play("ch-1"))
    effects = core.feed(ev.SetupAnswered(1, ev.SsmAnswer(200, token="t1",
                                                         heartbeat_period=30.0)))
    (license_request,) = [e for e in effects if isinstance(e, ev.SendLicenseRequest)]
    assert license_request.ssm_token is None
    core.feed(ev.LicenseAnswered(1, True, 200))
    core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(200, token="t2")))
    (sent, _) = core.feed(ev.HeartbeatDue(1))
    assert isinstance(sent, ev.SendHeartbeat) and sent.token == "t1"  # not rotated
    # a 200 whose body says 1006 is read as success: no notification
    assert core.feed(ev.HeartbeatAnswered(1, ev.SsmAnswer(200, 1006, "stale", "t3"))) == ()
    effects = core.feed(ev.Stop())
    assert not [e for e in effects if isinstance(e, ev.SendSsmTeardown)]


def test_teardown_blocks_hook_turns_a_sync_teardown_async() -> None:
    class AsyncTeardown(SdkModel):
        def teardown_blocks(self, sync_configured: bool) -> bool:
            return False

    sync = CoreConfig(sync_ssm_setup_teardown=True)
    for config, blocking in ((sync, True), (attrs.evolve(sync, sdk=AsyncTeardown()), False)):
        core = PlayerCore(config)
        _playing(core)
        effects = core.feed(ev.Zap("ch-2"))
        teardowns = [e for e in effects if isinstance(e, ev.SendSsmTeardown)]
        setups = [e for e in effects if isinstance(e, ev.SendSsmSetup)]
        assert [t.blocking for t in teardowns] == [blocking]
        assert bool(setups) is not blocking  # async: the new setup leaves at once


def test_device_config_refuses_something_else_as_sdk() -> None:
    with pytest.raises(ConfigError, match="sdk must be an SdkModel"):
        DeviceConfig(name="phone", account="alice", sdk="ios-3.2")  # type: ignore[arg-type]
