"""Session-provider monitors: each fails on a hand-made bad trace and passes a good one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from player_sim import DeviceConfig, OttConfig, World, WorldConfig
from player_sim.providers import (
    OttSessionProvider,
    OvpMediaProvider,
    OvpSessionProvider,
    PhoenixMediaProvider,
)
from player_sim.rules import CATALOGUE, MONITORS, PROVIDER_MONITORS, CheckConfig, check_trace
from player_sim.trace import TraceRecord

CFG = CheckConfig(reaction_window=5.0)
DELTA = 10368.0


def srv(t: float, kind: str, **data: Any) -> TraceRecord:
    """A backend record about device ``phone``."""
    return TraceRecord(t, "phone", kind, None, None, data)


def dev(t: float, kind: str, pb: str = "idle", **data: Any) -> TraceRecord:
    return TraceRecord(t, "phone", kind, "foreground", pb, data)


def issued(t: float, ks: str, via: str, *, backend: str = "ott", anonymous: bool = False,
           partner: int = 3009, valid: float = 86400.0) -> TraceRecord:
    return srv(t, "ks_issued", backend=backend, ks=ks, via=via, partner_id=partner,
               user_id="0" if anonymous else "1", anonymous=anonymous, expires_at=t + valid)


def started(t: float, ks: str, *, backend: str = "ott", anonymous: bool = False,
            partner: int = 3009, **extra: Any) -> TraceRecord:
    return srv(t, "session_started", backend=backend, ks=ks, partner_id=partner,
               anonymous=anonymous, expires_at=t + 86400.0, refresh_delta=DELTA, **extra)


def used(t: float, ks: str, endpoint: str, *, valid: bool = True,
         backend: str = "ott") -> TraceRecord:
    return srv(t, "ks_used", backend=backend, endpoint=endpoint, ks=ks,
               status="valid" if valid else "revoked", valid=valid)


def login(backend: str = "ott", anonymous: bool = False) -> list[TraceRecord]:
    via = {("ott", False): "ottUser/login", ("ott", True): "ottUser/anonymousLogin",
           ("ovp", False): "user/loginByLoginId",
           ("ovp", True): "session/startWidgetSession"}[backend, anonymous]
    return [TraceRecord(0, "phone", "device_added", None, None,
                        {"account": "alice", "ssm": False, "sync": False}),
            dev(0, "action", name="login"),
            issued(0.02, "K1", via, backend=backend, anonymous=anonymous),
            started(0.04, "K1", backend=backend, anonymous=anonymous)]


def configured(partner: int) -> TraceRecord:
    """The device joins with a session provider configured for ``partner``."""
    return TraceRecord(0, "phone", "device_added", None, None,
                       {"account": "alice", "ssm": False, "sync": False, "partner_id": partner})


def fetch(t: float, ks: str | None, *, pb: str = "obtaining_ks") -> list[TraceRecord]:
    """A play: the token request and its answer (``ks`` or an error)."""
    answer = (dev(t, "ks_answered", pb, ks=ks, error_code=None, message="") if ks is not None
              else dev(t, "ks_answered", pb, ks=None, error_code=601, message="no session"))
    return [dev(t, "action", pb, name="play", stream="a1"), dev(t, "ks_requested", pb), answer]


def load(t: float, ks: str) -> list[TraceRecord]:
    return [dev(t, "media_load_started", "loading_media", stream="a1"),
            used(t, ks, "asset/getPlaybackContext")]


def refreshed(t: float, left: float) -> list[TraceRecord]:
    return [used(t, "K1", "ottUser/refreshSession"), issued(t, "K2", "ottUser/refreshSession"),
            srv(t, "ks_refreshed", backend="ott", ks="K2", ks_from="K1", time_left=left,
                expires_at=t + 86400.0)]


def logout(t: float, ks: str = "K1") -> list[TraceRecord]:
    return [used(t, ks, "ottUser/logout"), srv(t, "ks_revoked", backend="ott", ks=ks,
                                               via="ottUser/logout"),
            srv(t, "session_ended", backend="ott", anonymous=False, ks=ks, ok=True,
                server_call=True)]


def good() -> list[TraceRecord]:
    return [*login(), *fetch(1, "K1"), *load(1, "K1"),
            dev(80000, "action", "obtaining_ks", name="zap", stream="a2"),
            dev(80000, "ks_requested", "obtaining_ks"), *refreshed(80000, 6400.0),
            dev(80000.1, "ks_answered", "obtaining_ks", ks="K2", error_code=None, message=""),
            *logout(80001, "K2"), *fetch(80002, None)]


def anonymous_good(backend: str) -> list[TraceRecord]:
    return [*login(backend, anonymous=True),
            srv(5, "session_ended", backend=backend, anonymous=True, ks="K1", ok=True,
                server_call=False), used(10, "K1", "asset/getPlaybackContext", backend=backend)]


CASES: dict[str, tuple[Callable[[], list[TraceRecord]], Callable[[], list[TraceRecord]]]] = {
    "provider.base-url.host-only": (
        # DOMAIN: the OTT base URL includes the API path; the host-only sentence is OVP's
        lambda: [*login()[:3], started(0.04, "K1", base_url="https://phoenix.example/")],
        lambda: [*login()[:3], started(0.04, "K1", base_url="https://phoenix.example/api_v3/")]),
    "provider.ks.partner-id": (
        lambda: [*login()[:3], started(0.04, "K1", partner=1)],
        good),
    "provider.ks.completes": (
        lambda: [*login(), *fetch(1, "K1")[:2], dev(1000, "action", name="x")],
        good),
    "provider.ott.anonymous-login": (
        lambda: [*login()[:3], started(0.04, "K1", anonymous=True)],
        lambda: anonymous_good("ott")),
    "provider.ott.user-login": (
        lambda: [*login("ott", anonymous=True)[:3], started(0.04, "K1")],
        good),
    "provider.ovp.widget-session": (
        lambda: [*login("ovp")[:3], started(0.04, "K1", backend="ovp", anonymous=True)],
        lambda: anonymous_good("ovp")),
    "provider.ovp.user-login": (
        lambda: [*login("ovp", anonymous=True)[:3], started(0.04, "K1", backend="ovp")],
        lambda: login("ovp")),
    "provider.ott.refresh-before-expiry": (
        lambda: [*login(), *fetch(80000, "K1")],
        good),
    "provider.ott.renew-after-expiry": (
        lambda: [*login(), *fetch(90000, "K1")],
        good),
    "provider.ovp.renew-after-expiry": (
        lambda: [*login("ovp"), *fetch(90000, "K1")],
        lambda: [*login("ovp"), *fetch(86000, "K1")]),
    "provider.ended.requests-fail": (
        lambda: [*good(), used(80002, "K2", "asset/getPlaybackContext", valid=True)],
        good),
    "provider.ended.no-reuse": (
        # Past the reaction window: not a request of the playback under way at the end.
        lambda: [*good(), used(80030, "K2", "asset/getPlaybackContext", valid=False)],
        good),
    "provider.ovp.widget-id": (
        lambda: [*login("ovp", anonymous=True)[:2],
                 srv(0.02, "ovp_error", endpoint="session/startWidgetSession", http_status=200,
                     code="INVALID_WIDGET_ID", message="widget id must be '_' followed by the "
                     "partner id, not '3009'")],
        lambda: anonymous_good("ovp")),
    "provider.ott.refresh-error-601": (
        lambda: [*login(), dev(80000, "ks_requested", "obtaining_ks"),
                 srv(80000.02, "ott_error", endpoint="ottUser/refreshSession", http_status=200,
                     code=500016, message="KS expired"),
                 dev(80000.04, "ks_answered", "obtaining_ks", ks=None, error_code=500016,
                     message="KS expired")],
        lambda: [*login(), dev(80000, "ks_requested", "obtaining_ks"),
                 srv(80000.02, "ott_error", endpoint="ottUser/refreshSession", http_status=200,
                     code=500016, message="KS expired"),
                 dev(80000.04, "ks_answered", "obtaining_ks", ks=None, error_code=601,
                     message="Failed to obtain session")]),
    "provider.partner-id.configured": (
        lambda: [configured(3009), *login()[1:2], dev(0.01, "ks_requested", partner_id=3009),
                 issued(0.02, "K1", "ottUser/login", partner=1)],
        lambda: [configured(3009), *login()[1:2], dev(0.01, "ks_requested", partner_id=3009),
                 issued(0.02, "K1", "ottUser/login", partner=3009)]),
    "provider.ended.cannot-renew": (
        lambda: [*login(), *logout(10),
                 srv(90000, "ks_renewed", backend="ott", ks="K2", ks_from="K1",
                     expired_for=3600.0)],
        good),
    "provider.ott.logout-ends": (
        lambda: [*login(), *logout(10)[1:]],
        good),
    "provider.ovp.session-end": (
        lambda: [*login("ovp"), srv(10, "session_ended", backend="ovp", anonymous=False,
                                    ks="K1", ok=True, server_call=True)],
        lambda: [*login("ovp"), used(10, "K1", "session/end", backend="ovp"),
                 srv(10, "session_ended", backend="ovp", anonymous=False, ks="K1", ok=True,
                     server_call=True)]),
    "provider.anonymous.cannot-end": (
        lambda: [*login("ott", anonymous=True), srv(5, "ks_revoked", backend="ott", ks="K1",
                                                    via="ottUser/logout")],
        lambda: anonymous_good("ott")),
    "provider.ready-after-start": (
        lambda: [*login(), *logout(10), *fetch(20, "K1")],
        lambda: [*login(), *logout(10), *fetch(20, None)]),
    "provider.media.uses-session-provider": (
        lambda: [*login(), *fetch(1, None)[:2],
                 dev(1, "ks_answered", "obtaining_ks", ks=None, error_code=601, message="x"),
                 used(1, "K1", "asset/getPlaybackContext")],
        good),
    "provider.ovp.valid-24h": (
        lambda: [*login("ovp")[:2], issued(0.02, "K1", "user/loginByLoginId", backend="ovp",
                                           valid=3600.0)],
        lambda: login("ovp")),
    "provider.ott.one-refresh": (
        lambda: [*login(), dev(90000, "ks_requested", "obtaining_ks"),
                 srv(90000, "ks_refresh_sent", backend="ott", ks_from="K1", expired=True),
                 dev(90000, "ks_requested", "obtaining_ks"),
                 srv(90000, "ks_refresh_sent", backend="ott", ks_from="K1", expired=True)],
        lambda: [*login(), dev(90000, "ks_requested", "obtaining_ks"),
                 srv(90000, "ks_refresh_sent", backend="ott", ks_from="K1", expired=True),
                 dev(90000, "ks_requested", "obtaining_ks"),
                 srv(90000.04, "ks_renewed", backend="ott", ks="K2", ks_from="K1",
                     expires_at=176400.0, expired_for=3600.0)]),
    "provider.ott.refresh-margin": (
        lambda: [*login(), dev(100, "ks_requested", "obtaining_ks"), *refreshed(100, 86300.0),
                 dev(100.1, "ks_answered", "obtaining_ks", ks="K2", error_code=None,
                     message="")],
        good),
}


def test_every_provider_rule_has_a_monitor_and_a_bad_trace() -> None:
    monitored = {m.rule_id for m in (*MONITORS, *PROVIDER_MONITORS)}
    assert monitored == set(CATALOGUE), "every catalogue rule has exactly one monitor"
    assert {r for r in monitored if r.startswith("provider.")} == set(CASES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_provider_monitor_flags_its_bad_trace(rule_id: str) -> None:
    bad, _ = CASES[rule_id]
    found = check_trace(bad(), CFG, end=100_000)
    assert rule_id in {v.rule.id for v in found}, [v.describe() for v in found]


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_provider_monitor_passes_its_good_trace(rule_id: str) -> None:
    _, ok = CASES[rule_id]
    found = [v for v in check_trace(ok(), CFG) if v.rule.id == rule_id]
    assert found == [], [v.describe() for v in found]


def test_a_login_asked_for_while_the_logout_is_on_the_wire_is_no_self_started_session(
        ) -> None:
    # Found by the random search: logout and login at the same instant; the logout's
    # session_ended is recorded after the login was asked for, before it started.
    trace = [*login(), dev(1, "action", name="logout"), used(1, "K1", "ottUser/logout"),
             dev(1, "action", name="login"), issued(1.02, "K2", "ottUser/login"),
             srv(1.04, "session_ended", backend="ott", anonymous=False, ks="K1", ok=True,
                 server_call=True), started(1.04, "K2")]
    assert [v.rule.id for v in check_trace(trace, CFG)
            if v.rule.id == "provider.ended.no-reuse"] == []
    without_login = [r for r in trace if r.data.get("name") != "login" or r.t < 1]
    assert [v.rule.id for v in check_trace(without_login, CFG)
            if v.rule.id == "provider.ended.no-reuse"] == ["provider.ended.no-reuse"]


def test_the_good_provider_trace_is_clean() -> None:
    assert check_trace(good(), CFG) == []


def _kaltura_world() -> World:
    world = World(WorldConfig(ott=OttConfig(users={"alice": "secret"})), seed=1)
    phone = world.add_device(DeviceConfig(
        name="phone", account="alice", ssm_server_url="https://ssm.example/",
        session_provider=OttSessionProvider("https://phoenix.example/api_v3/", partner_id=3009),
        media=PhoenixMediaProvider(formats=("HD",))))
    phone.login(username="alice", password="secret")
    world.run_for(1)
    phone.play("asset-1")
    world.run_for(22 * 3600)
    phone.zap("asset-2")
    world.run_for(1)
    phone.logout()
    world.run_for(1)
    phone.zap("asset-3")
    world.run_for(1)
    tv = world.add_device(DeviceConfig(
        name="tv", account="bob",
        session_provider=OvpSessionProvider("https://ovp.example/", partner_id=42),
        media=OvpMediaProvider()))
    tv.login()
    world.run_for(1)
    tv.play("e1")
    world.run_for(25 * 3600)
    tv.zap("e2")
    world.run_for(2)
    tv.end_session()
    world.run_for(60)
    return world


def test_real_provider_runs_are_clean() -> None:
    world = _kaltura_world()
    kinds = {r.kind for r in world.trace}
    assert {"ks_refreshed", "ks_renewed", "session_ended", "ks_answered"} <= kinds
    found = check_trace(world.trace, CheckConfig.for_world(world), end=world.now)
    assert found == [], "\n".join(v.describe() for v in found)


def test_logout_after_the_ks_expired_renews_then_logs_out() -> None:
    """DOMAIN: ending a user session first obtains a KS (renewing an expired one), then
    calls logout, so no refresh token stays live at the backend."""
    world = World(WorldConfig(ott=OttConfig(users={"alice": "secret"}, ks_validity=600)))
    phone = world.add_device(DeviceConfig(
        name="phone", account="alice",
        session_provider=OttSessionProvider("https://phoenix.example/api_v3/", partner_id=3009),
        media=PhoenixMediaProvider(formats=("HD",))))
    phone.login(username="alice", password="secret")
    world.run_for(1200)
    phone.logout()
    world.run_for(10)
    ended = world.trace.of_kind("session_ended")
    assert [r.data["server_call"] for r in ended] == [True]
    assert len(world.trace.of_kind("ks_renewed")) == 1
    found = check_trace(world.trace, CheckConfig.for_world(world), end=world.now)
    assert found == [], "\n".join(v.describe() for v in found)
    # ... but ending it while its KS is valid must call ottUser/logout
    bad = [*login(), srv(10, "session_ended", backend="ott", anonymous=False, ks="K1", ok=True,
                         server_call=False)]
    assert [v.rule.id for v in check_trace(bad, CFG)] == ["provider.ott.logout-ends"]
