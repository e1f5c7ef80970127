"""A media load superseded by a new one is cancelled: its call is retried no more.

``player-sim explore --seeds 17:33`` reported ``provider.ended.no-reuse`` on the
documented Android provider: a play during an OTT outage, then a zap 29 s later whose
new load succeeded and superseded the first (which completed with 520); the network kit
still retried the first load's call, with the old KS, after the user's logout had ended
that session. In netkit a cancelled request is not retried: the simulator's kit now asks
whether the load was cancelled before each retry.
"""

from __future__ import annotations

from player_sim.scenario import load_scenario_text, run_scenario

SCENARIO = """
name: a superseded media load stops retrying
world:
  ssm: {max_sessions_per_account: 1, heartbeat_period: 30s, grace_period: 10s}
  network: {latency: 20ms}
  ott: {users: {alice: secret}, ks_validity: 1m5s, anonymous_ks_validity: 1m5s}
devices:
  phone: {account: alice, session_provider: {backend: ott, partner_id: 3009, variant: android}}
steps:
  - login: {device: phone, username: alice, password: secret}
  - wait: 30s
  - outage: {backend: ott, for: 30s}
  - logout: phone
  - wait: 1s
  - play: {device: phone, stream: asset-1}
  - wait: 29.121s
  - zap: {device: phone, stream: asset-1}
  - wait: 6m
"""
CONTEXT = "multirequest:asset/getPlaybackContext,asset/get"


def test_the_superseded_load_is_not_retried_after_its_cancel() -> None:
    result = run_scenario(load_scenario_text(SCENARIO, "cancel.scenario.yaml"))
    assert result.passed, result.failures
    records = list(result.trace)
    [superseded] = [r for r in records if r.kind == "media_answered"
                    and r.data["error_code"] == 520]
    first = next(r.data["ks"] for r in records if r.kind == "ks_answered")
    # (The premise: the first load was still retrying through the outage.)
    assert any(r.kind == "request_retried" and r.data["endpoint"] == CONTEXT
               and r.t < superseded.t for r in records)
    after = [r for r in records if r.t > superseded.t and r.data.get("endpoint") == CONTEXT
             and (r.kind == "request_retried" or r.data.get("ks") == first)]
    assert after == []
