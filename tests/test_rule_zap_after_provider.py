"""``ssm.zap.replaces-session`` on a device with a session provider.

The random search (``player-sim explore --seed 7``) reported the documented SDK: a
device on an OVP provider zaps while the OVP backend is down, so the new stream's media
entry loads only after retries, 37 s later, and the setup follows at once. The monitor
wanted the setup within the reaction window of the zap, which no SDK can do: it does not
know before the media entry whether the new stream is under SSM. The setup is due once
the entry is loaded under SSM; an SDK that never sends it then is still reported. Seeds
1 to 16 found the sync cousin: there the zap first waits, blocked, for its teardown's
answer (``stopping``), then for the KS and the entry.
"""

from __future__ import annotations

from player_sim.rules import CheckConfig, TraceChecker, check_trace
from player_sim.scenario import load_scenario_text, run_scenario

RULE = "ssm.zap.replaces-session"
SCENARIO = """
name: zap while the provider's backend is down
world:
  ssm: {max_sessions_per_account: 1, heartbeat_period: 30s, grace_period: 10s}
  network: {latency: 20ms}
  ovp: {users: {alice: secret}, widget_session_validity: 12m, user_session_validity: 12m}
devices:
  tv: {account: alice, session_provider: {backend: ovp, partner_id: 3009, variant: android,
                                         assumed_validity: 12m}}
steps:
  - login: {device: tv, username: alice, password: secret}
  - wait: 1s
  - play: {device: tv, stream: asset-1}
  - wait: 1s
  - outage: {backend: ovp, for: 30s}
  - zap: {device: tv, stream: asset-1}
  - wait: 6m
"""


#: Found by ``player-sim explore --seeds 1:17``: sync mode, an OTT provider.
SYNC = """
name: sync zap while the provider's backend is down
world:
  ssm: {max_sessions_per_account: 1, heartbeat_period: 30s, grace_period: 10s}
  network: {latency: 20ms}
  ott: {users: {alice: secret}, ks_validity: 1m5s, anonymous_ks_validity: 1m5s}
devices:
  phone: {account: alice, sync_setup_teardown: true,
          session_provider: {backend: ott, partner_id: 3009, variant: android}}
steps:
  - login: {device: phone, username: alice, password: secret}
  - wait: 1s
  - play: {device: phone, stream: asset-1}
  - wait: 1s
  - outage: {backend: ott, for: 30s}
  - zap: {device: phone, stream: asset-1}
  - wait: 6m
"""


def _run(text: str = SCENARIO):  # the documented SDK, its records
    result = run_scenario(load_scenario_text(text, "zap.scenario.yaml"))
    return result, list(result.trace)


def test_a_sync_zap_waits_for_its_teardown_then_its_provider() -> None:
    result, records = _run(SYNC)
    assert result.passed, result.failures
    zap = next(r for r in records if r.kind == "action" and r.data["name"] == "zap")
    assert zap.playback == "stopping"  # (the premise: the sync teardown goes first)
    setup = next(r.t for r in records if r.kind == "ssm_setup_sent" and r.t > zap.t)
    assert setup - zap.t > 30


def test_a_zap_whose_media_entry_loads_late_sets_up_when_it_loads() -> None:
    result, records = _run()
    assert result.passed, result.failures
    zap = next(r.t for r in records if r.kind == "action" and r.data["name"] == "zap")
    loaded = [r.t for r in records if r.kind == "media_answered" and r.t > zap]
    setups = [r.t for r in records if r.kind == "ssm_setup_sent" and r.t > zap]
    assert loaded and setups == loaded[:1]  # (the premise: the setup waited for the entry)
    assert setups[0] - zap > 30


def test_an_sdk_that_never_sets_up_after_the_late_entry_is_reported() -> None:
    _, records = _run()
    zap = next(r.t for r in records if r.kind == "action" and r.data["name"] == "zap")
    # The same device, but no setup after the zap (nor what follows from one).
    lost = [r for r in records if not (r.t > zap and r.device == "tv" and r.kind in (
        "ssm_setup_sent", "ssm_setup_answered", "license_request_sent", "license_answered",
        "heartbeat_sent", "heartbeat_answered"))]
    found = check_trace(lost, CheckConfig(), rules=[RULE])
    assert [(v.rule.id, v.message) for v in found] == [
        (RULE, f"zap at {zap:g}s sent no SSM setup for the new stream once done waiting "
               "for its media entry")]
    assert found[0].t > zap + 30  # (due from the entry, not from the zap)


def test_a_zap_waiting_on_its_provider_is_awaiting_in_the_state_key() -> None:
    """The explorers merge states by what the monitors await: a zap whose setup waits
    (no deadline open yet) must tell its state apart from one with nothing to wait for."""
    _, records = _run()
    checker = TraceChecker(CheckConfig(), rules=[RULE])
    zap = next(r for r in records if r.kind == "action" and r.data["name"] == "zap")
    torn = next(r for r in records if r.kind == "ssm_teardown_sent" and r.t >= zap.t)
    loaded = next(r for r in records if r.kind == "media_answered" and r.t > zap.t)
    first, last = records.index(torn), records.index(loaded)
    between = []
    for n, record in enumerate(records):
        checker.feed(record)
        if first <= n < last:
            between.append(checker._awaiting())
    assert between and set(between) == {(RULE,)}  # no deadline open: the wait itself
    assert checker._awaiting() == ()  # the setup was sent
