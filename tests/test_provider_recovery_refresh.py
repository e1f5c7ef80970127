"""A recovered OTT session's refresh is in progress like any other.

``player-sim explore --profile web --seeds 0:8`` reported ``provider.ott.one-refresh``
on the Android provider: relaunched after a kill with ``persist_session``, the app
recovered its saved session, whose refresh went out at once; a play in the same instant
asked for a KS, found no refresh in progress and sent a second refresh of the same
refresh token, which the backend refused, failing the play. That was the simulator's
mistake, not Android's: in netkit-android a recovered session's refresh goes through the
same in-progress flag and one callback slot as any other. Now a token request meanwhile
waits for it (documented: ``queue``) or takes its slot (Android: ``overwrite-slot``);
iOS, which de-duplicates nothing, still sends its own, and that is still reported.
"""

from __future__ import annotations

import pytest

from player_sim.scenario import load_scenario_text, run_scenario

SCENARIO = """
name: play at once after a relaunch that recovers the session
world:
  ssm: {max_sessions_per_account: 1, heartbeat_period: 30s, grace_period: 10s}
  network: {latency: 20ms}
  ott: {users: {alice: secret}, ks_validity: 1m5s, anonymous_ks_validity: 1m5s}
devices:
  tablet: {account: alice, session_provider: {backend: ott, partner_id: 3009,
                                              variant: VARIANT, persist_session: true}}
steps:
  - login: {device: tablet, username: alice, password: secret}
  - wait: 1s
  - kill: tablet
  - relaunch: tablet
  - play: {device: tablet, stream: asset-1}
  - wait: 2m
"""


def _run(variant: str):
    result = run_scenario(load_scenario_text(SCENARIO.replace("VARIANT", variant),
                                             "recover.scenario.yaml"))
    return result, [r for r in result.trace if r.device == "tablet"]


@pytest.mark.parametrize("variant", ["documented", "android"])
def test_a_play_during_the_recovery_refresh_waits_for_it(variant: str) -> None:
    result, records = _run(variant)
    assert result.passed, result.failures
    kinds = [r.kind for r in records]
    assert "session_recovered" in kinds  # (the premise)
    assert kinds.count("ks_refresh_sent") == 1
    [answered] = [r for r in records if r.kind == "ks_answered"]
    [started] = [r for r in records if r.kind == "session_started" and r.data.get("recovered")]
    assert answered.data["ks"] == started.data["ks"]  # the play got the refreshed KS
    assert "playback_started" in kinds


def test_ios_sends_its_own_refresh_and_is_reported() -> None:
    result, records = _run("ios")
    assert [r.kind for r in records].count("ks_refresh_sent") == 2
    assert {(f.kind, f.text) for f in result.failures} == {("rule", "provider.ott.one-refresh")}
