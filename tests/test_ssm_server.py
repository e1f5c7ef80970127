"""The SSM server alone, on a tiny fake host: tokens, rotation, expiry, limits, faults."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from player_sim import ConfigError, SsmConfig, SsmErrorCode
from player_sim.backends import SsmServer


class FakeHost:
    """The least a backend needs: a clock, a timer queue, a record list, tokens."""

    def __init__(self) -> None:
        self.now = 0.0
        self.records: list[tuple[float, str | None, str, dict[str, Any]]] = []
        self._queue: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self._seq = itertools.count()
        self._tokens = itertools.count(1)

    def schedule_at(self, time: float, callback: Callable[[Any], None], arg: Any) -> None:
        heapq.heappush(self._queue, (time, next(self._seq), callback, arg))

    def record(self, device: str | None, kind: str, data: Mapping[str, Any]) -> None:
        self.records.append((self.now, device, kind, dict(data)))

    def new_token(self, prefix: str, key: str) -> str:
        return f"{prefix}-{next(self._tokens)}"

    def run_until(self, time: float) -> None:
        while self._queue and self._queue[0][0] <= time:
            self.now, _, callback, arg = heapq.heappop(self._queue)
            callback(arg)
        self.now = time

    def kinds(self, *wanted: str) -> list[tuple[float, str]]:
        return [(t, k) for t, _, k, _ in self.records if k in wanted]


def server(**config: Any) -> tuple[SsmServer, FakeHost]:
    host = FakeHost()
    return SsmServer(SsmConfig(**config), host), host


def setup(ssm: SsmServer, device: str = "phone", account: str = "alice", *,
          ip: str | None = None, group: str | None = None) -> Any:
    return ssm.setup(account, device, "news", ip, group)


# --- setup, heartbeat, teardown --------------------------------------------------------------


def test_setup_answers_a_token_and_the_heartbeat_period() -> None:
    ssm, host = server(heartbeat_period=45.0)
    answer = setup(ssm)
    assert (answer.http_status, answer.ssm_code, answer.token, answer.heartbeat_period) == (
        200, None, "ssm-1", 45.0)
    assert answer.ok
    [session] = ssm.active_sessions("alice")
    assert (session.session_id, session.device, session.token, session.expires_at) == (
        "phone/1", "phone", "ssm-1", 2 * 45.0 + 10.0)
    assert host.records[-1] == (0.0, "phone", "ssm_session_created",
                                {"session": "phone/1", "account": "alice", "stream": "news",
                                 "active": 1, "limit": 2})


def test_every_heartbeat_rotates_the_token_and_the_old_one_is_stale() -> None:
    ssm, host = server()
    first = setup(ssm).token
    host.run_until(30)
    second = ssm.heartbeat("phone", first)
    assert (second.http_status, second.heartbeat_period) == (200, 30.0)
    assert second.token not in (None, first)
    assert not ssm.is_current(first) and ssm.is_current(second.token)
    stale = ssm.heartbeat("phone", first)
    assert (stale.http_status, stale.ssm_code, stale.message) == (
        401, 1006, "stale token: a heartbeat already rotated it")
    assert not stale.ok
    third = ssm.heartbeat("phone", second.token)
    assert third.ok and third.token not in (first, second.token)
    [session] = ssm.active_sessions()
    assert (session.heartbeats, session.previous_token, session.token) == (
        2, second.token, third.token)


def test_heartbeat_pushes_the_expiry_back() -> None:
    ssm, host = server()  # timeout 2 * 30 + 10 = 70 s
    token = setup(ssm).token
    host.run_until(50)
    token = ssm.heartbeat("phone", token).token
    host.run_until(119.9)  # 70 s after the heartbeat at 50 is 120
    assert len(ssm.active_sessions()) == 1
    host.run_until(120)
    assert ssm.active_sessions() == []
    assert host.kinds("ssm_session_expired") == [(120.0, "ssm_session_expired")]
    late = ssm.heartbeat("phone", token)
    assert (late.ssm_code, late.message) == (1006, "invalid token: its session expired")


def test_an_expired_session_is_refused_even_before_the_sweep() -> None:
    ssm, host = server(session_timeout=5.0)
    token = setup(ssm).token
    host.now = 5.0  # the time moved on, the expiry timer has not run yet
    assert ssm.active_sessions() == []
    assert not ssm.is_current(token)
    assert ssm.heartbeat("phone", token).message == "invalid token: its session expired"


def test_teardown_answers_204_and_frees_the_slot() -> None:
    ssm, host = server(max_sessions_per_account=1)
    token = setup(ssm).token
    assert setup(ssm, "tv").ssm_code == 1007
    answer = ssm.teardown("phone", token)
    assert (answer.http_status, answer.ssm_code, answer.ok) == (204, None, True)
    assert ssm.active_sessions() == []
    assert host.records[-1][2:] == ("ssm_session_ended",
                                    {"session": "phone/1", "account": "alice", "active": 0})
    assert setup(ssm, "tv").ok
    again = ssm.teardown("phone", token)
    assert (again.http_status, again.ssm_code, again.message) == (
        401, 1006, "invalid token: its session was torn down")


def test_unknown_token_is_invalid() -> None:
    ssm, _ = server()
    answer = ssm.heartbeat("phone", "made-up")
    assert (answer.http_status, answer.ssm_code, answer.message) == (
        401, 1006, "invalid token: no session has it")


def test_disabled_session_management_refuses_setups() -> None:
    ssm, _ = server(enabled=False)
    answer = setup(ssm)
    assert (answer.http_status, answer.ssm_code, answer.token) == (403, 1008, None)
    assert ssm.active_sessions() == []


def test_unavailable_answers_503_with_4001() -> None:
    ssm, host = server()
    answer = ssm.unavailable("phone", "heartbeat")
    assert (answer.http_status, answer.ssm_code, answer.message) == (
        503, 4001, "SSM not available")
    assert host.records[-1][2] == "ssm_heartbeat_refused"


# --- limits -------------------------------------------------------------------------------------


def test_account_limit_refuses_the_new_session_by_default() -> None:
    ssm, host = server(max_sessions_per_account=2)
    assert setup(ssm, "a").ok and setup(ssm, "b").ok
    refused = setup(ssm, "c")
    assert (refused.http_status, refused.ssm_code, refused.token, refused.message) == (
        400, SsmErrorCode.MAX_SESSIONS_EXCEEDED, None,
        "max active sessions exceeded for account 'alice' (limit 2)")
    assert setup(ssm, "d", account="bob").ok  # another account has its own slots
    assert [s.device for s in ssm.active_sessions()] == ["a", "b", "d"]
    assert host.records[-2][2:] == ("ssm_setup_refused", {
        "http_status": 400, "ssm_code": 1007,
        "message": "max active sessions exceeded for account 'alice' (limit 2)"})


def test_per_account_override_and_no_limit() -> None:
    ssm, _ = server(max_sessions_per_account=None, account_limits={"kid": 1})
    assert all(setup(ssm, f"d{i}").ok for i in range(20))
    assert setup(ssm, "k1", account="kid").ok
    assert setup(ssm, "k2", account="kid").message == (
        "max active sessions exceeded for account 'kid' (limit 1)")


def test_evict_oldest_ends_the_oldest_sessions() -> None:
    ssm, host = server(max_sessions_per_account=2, limit_policy="evict-oldest")
    tokens = [setup(ssm, name).token for name in ("a", "b")]
    host.run_until(1)
    assert setup(ssm, "c").ok
    assert [s.device for s in ssm.active_sessions()] == ["b", "c"]
    assert host.kinds("ssm_session_evicted") == [(1.0, "ssm_session_evicted")]
    assert ssm.heartbeat("a", tokens[0]).message == (
        "invalid token: its session was evicted by a newer session")
    assert ssm.heartbeat("b", tokens[1]).ok


def test_ip_and_device_group_limits() -> None:
    ssm, _ = server(max_sessions_per_account=10, max_sessions_per_ip=2,
                    max_sessions_per_device_group=1)
    assert setup(ssm, "a", ip="1.1.1.1", group="tv").ok
    assert setup(ssm, "b", ip="1.1.1.1", group="tv").message == (
        "max active sessions exceeded for device group 'tv' (limit 1)")
    assert setup(ssm, "c", account="bob", ip="1.1.1.1").ok
    assert setup(ssm, "d", account="carol", ip="1.1.1.1").message == (
        "max active sessions exceeded for IP 1.1.1.1 (limit 2)")
    assert setup(ssm, "e", account="carol", ip="2.2.2.2").ok


def test_max_ips_per_account() -> None:
    ssm, _ = server(max_sessions_per_account=10, max_ips_per_account=2)
    assert setup(ssm, "a", ip="1.1.1.1").ok
    assert setup(ssm, "b", ip="2.2.2.2").ok
    assert setup(ssm, "c", ip="1.1.1.1").ok  # a known IP is fine
    refused = setup(ssm, "d", ip="3.3.3.3")
    assert (refused.ssm_code, refused.message) == (
        1007, "max IPs exceeded for account 'alice' (limit 2)")


# --- forced faults and status variants ---------------------------------------------------------


def test_fail_next_forces_count_errors_in_order_then_answers_normally() -> None:
    ssm, host = server()
    ssm.fail_next("setup", 2, http_status=500, message="first")
    ssm.fail_next("setup", http_status=409, ssm_code=1018, message="second")
    answers = [setup(ssm, f"d{i}") for i in range(4)]
    assert [(a.http_status, a.ssm_code, a.message) for a in answers] == [
        (500, None, "first"), (500, None, "first"), (409, 1018, "second"), (200, None, "")]
    forced = [data for _, _, kind, data in host.records if kind == "ssm_setup_refused"]
    assert [d.get("forced") for d in forced] == [True, True, True]
    assert len(ssm.active_sessions()) == 1


def test_fail_next_only_touches_its_endpoint() -> None:
    ssm, _ = server()
    token = setup(ssm).token
    ssm.fail_next("teardown", http_status=500)
    assert ssm.heartbeat("phone", token).ok
    assert not ssm.teardown("phone", "anything").ok


@pytest.mark.parametrize(("endpoint", "count", "message"), [
    ("license", 1, "no endpoint 'license'; expected one of setup, heartbeat, teardown"),
    ("setup", 0, "a forced error needs a count of at least 1, not 0"),
])
def test_fail_next_refuses_bad_arguments(endpoint: str, count: int, message: str) -> None:
    ssm, _ = server()
    with pytest.raises(ConfigError) as info:
        ssm.fail_next(endpoint, count, http_status=500)
    assert str(info.value) == message


def test_legacy_status_200_puts_the_denial_in_the_body() -> None:
    ssm, _ = server(max_sessions_per_account=1, legacy_status_200=True)
    setup(ssm, "a")
    refused = setup(ssm, "b")
    assert (refused.http_status, refused.ssm_code) == (200, 1007)
    assert not refused.ok  # the body decides, not the status
    ssm.fail_next("heartbeat", http_status=502)  # no code in the body: the status stays
    assert ssm.heartbeat("a", "x").http_status == 502


def test_error_http_status_can_be_remapped() -> None:
    ssm, _ = server(max_sessions_per_account=1, error_http_status={1007: 429})
    setup(ssm, "a")
    assert setup(ssm, "b").http_status == 429
    assert ssm.heartbeat("a", "nope").http_status == 401  # unmapped codes keep the default


@pytest.mark.parametrize(("options", "message"), [
    ({"heartbeat_period": 0}, "heartbeat_period must be positive, not 0"),
    ({"max_sessions_per_account": -1},
     "max_sessions_per_account must be a whole number of at least 1 (or None: no limit), "
     "not -1"),
    ({"grace_period": -1.0}, "grace_period can't be negative, not -1.0"),
    ({"limit_policy": "lottery"},
     "limit_policy must be 'refuse-new' or 'evict-oldest', not 'lottery'"),
])
def test_bad_config_is_refused_where_it_enters(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        SsmConfig(**options)
    assert str(info.value) == message


def test_session_timeout_default_and_override() -> None:
    assert SsmConfig().effective_session_timeout == 70.0
    assert SsmConfig(heartbeat_period=600, grace_period=60).effective_session_timeout == 1260.0
    assert SsmConfig(session_timeout=15).effective_session_timeout == 15


def test_evict_oldest_evicts_nobody_when_the_setup_is_refused_anyway() -> None:
    ssm, host = server(max_sessions_per_account=2, max_ips_per_account=1,
                       limit_policy="evict-oldest")
    assert setup(ssm, "a", ip="1.1.1.1").ok and setup(ssm, "b", ip="1.1.1.1").ok
    refused = setup(ssm, "c", ip="2.2.2.2")
    assert refused.message == "max IPs exceeded for account 'alice' (limit 1)"
    assert [s.device for s in ssm.active_sessions()] == ["a", "b"]
    assert host.kinds("ssm_session_evicted") == []


def test_account_limits_are_checked_where_they_enter() -> None:
    with pytest.raises(ConfigError) as info:
        SsmConfig(account_limits={"alice": 2, "bob": 0})
    assert str(info.value) == "account_limits['bob'] must be a positive number of sessions, not 0"


def test_evict_oldest_may_free_an_ip_for_the_new_session() -> None:
    ssm, _ = server(max_sessions_per_account=1, max_ips_per_account=1,
                    limit_policy="evict-oldest")
    assert setup(ssm, "a", ip="1.1.1.1").ok
    assert setup(ssm, "b", ip="2.2.2.2").ok  # a is evicted, so only b's IP remains
    assert [s.device for s in ssm.active_sessions()] == ["b"]


# --- channel groups and the code list (issue 9) ----------------------------------------------


def test_a_channel_group_limit_counts_only_that_groups_streams() -> None:
    ssm, _ = server(max_sessions_per_channel_group=1,
                    channel_groups={"sport-1": "sports", "sport-2": "sports"})
    assert ssm.setup("alice", "phone", "sport-1", None, None).ok
    refused = ssm.setup("alice", "tablet", "sport-2", None, None)
    assert (refused.http_status, refused.ssm_code) == (400, 1007)
    assert "channel group 'sports'" in refused.message
    assert ssm.setup("alice", "tablet", "news", None, None).ok   # in no group
    assert ssm.setup("bob", "laptop", "sport-2", None, None).ok  # another account


def test_the_code_list_is_wire_md_s_and_the_readme_shows_it() -> None:
    from pathlib import Path

    from player_sim.backends import DEFAULT_HTTP_STATUS, SSM_ERROR_CODES, ssm_codes_markdown

    wire = [1000, 1001, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1011, 1012, 1013, 1017,
            1018, 3001, 3004, 4000, 4001]
    assert [c.code for c in SSM_ERROR_CODES] == wire
    assert DEFAULT_HTTP_STATUS[1007] == 400  # Nagra's client test fixture
    assert set(SsmErrorCode) <= set(DEFAULT_HTTP_STATUS)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert ssm_codes_markdown() in readme


def test_bad_channel_groups_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"channel_groups\['x'\] must name a channel group"):
        SsmConfig(channel_groups={"x": ""})


def test_the_content_token_s_claims_name_the_account_and_the_limit() -> None:
    from player_sim import ContentToken

    ssm, host = server(max_sessions_per_account=5)
    token = ContentToken(account_id="family-7", max_sessions=1)
    assert ssm.setup("alice", "phone", "news", None, None, token).ok
    assert host.records[-1][2:] == ("ssm_session_created", {
        "session": "phone/1", "account": "family-7", "stream": "news", "active": 1,
        "limit": 1})
    refused = ssm.setup("alice", "tablet", "news", None, None, token)
    assert refused.ssm_code == 1007 and "'family-7' (limit 1)" in refused.message
    assert ssm.setup("alice", "laptop", "news", None, None).ok  # no claims: alice, limit 5
    empty = ssm.setup("alice", "kid", "news", None, None, ContentToken(empty=True))
    assert (empty.http_status, empty.ssm_code) == (401, 1003)
