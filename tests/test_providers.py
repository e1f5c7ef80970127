"""Session providers and media providers, driven through a World (no trio needed).

Each test names the statement of ``seeds/004_0c9c6e939a18d3d9.txt`` or the
DOMAIN.md fact ("Kaltura session providers") it checks.
"""

from __future__ import annotations

from typing import Any

import pytest

from player_sim import ConfigError, NetworkConfig, World, WorldConfig
from player_sim.backends import KsStatus, OttAsset, OttConfig, OttErrorCode, OvpConfig, OvpEntry
from player_sim.backends._ott import phoenix_code
from player_sim.providers import (
    CONNECTION_ERROR,
    SESSION_ERROR,
    ErrorElement,
    MediaResult,
    OttSessionProvider,
    OvpMediaProvider,
    OvpSessionProvider,
    PhoenixMediaProvider,
    PrimitiveResult,
    RefreshPolicy,
)

DAY = 86400.0
OTT_URL = "https://phoenix.example/api_v3/"
OVP_URL = "https://cdnapisec.kaltura.com/"


class Calls:
    """A completion that remembers every call with its virtual time."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.results: list[tuple[float, Any]] = []

    def __call__(self, result: Any) -> None:
        self.results.append((self.world.now, result))

    @property
    def last(self) -> Any:
        assert self.results, "the completion was never called"
        return self.results[-1][1]


def make_world(**ott: Any) -> World:
    ovp = ott.pop("ovp", {})
    return World(WorldConfig(ott=OttConfig(users={"alice": "pw", "carol": "pw"}, **ott),
                             ovp=OvpConfig(users={"bob": "secret"}, **ovp)))


def ott_provider(world: World, device: str = "phone", **options: Any) -> OttSessionProvider:
    provider = OttSessionProvider(OTT_URL, 3009, **options)
    provider.attach(world, device)
    return provider


def ovp_provider(world: World, device: str = "phone", **options: Any) -> OvpSessionProvider:
    provider = OvpSessionProvider(OVP_URL, 2215841, **options)
    provider.attach(world, device)
    return provider


def started(world: World, provider: Any, *args: Any) -> PrimitiveResult:
    calls = Calls(world)
    if args and args[0] == "anonymous":
        if isinstance(provider, OttSessionProvider):
            provider.start_anonymous_session("udid-1", calls)
        else:
            provider.start_anonymous_session(None, calls)
    else:
        provider.start_session(*args, completion=calls)
    world.run_for(1)
    result: PrimitiveResult = calls.last
    return result


def get_ks(world: World, provider: Any, settle: float = 1.0) -> PrimitiveResult:
    calls = Calls(world)
    provider.get_ks(calls)
    world.run_for(settle)
    assert len(calls.results) == 1, f"expected one completion, got {calls.results}"
    result: PrimitiveResult = calls.last
    return result


def kinds(world: World, *wanted: str) -> list[dict[str, Any]]:
    return [dict(r.data, kind=r.kind, t=r.t) for r in world.trace if r.kind in wanted]


def endpoints_used(world: World) -> list[str]:
    return [r.data["endpoint"] for r in world.trace if r.kind == "ks_used"]


def issued_via(world: World) -> list[str]:
    return [r.data["via"] for r in world.trace if r.kind == "ks_issued"]


# --- the protocol: base URL, partner id, session token ------------------------------------


def test_ovp_base_url_with_a_path_is_rejected_quoting_the_url() -> None:
    # "The Base url should only contain the host domain name and should not include a path"
    # (DOMAIN.md: this holds for OVP; the SDK appends api_v3/)
    url = "https://cdnapisec.kaltura.com/api_v3/"
    with pytest.raises(ConfigError) as info:
        OvpSessionProvider(url, 1)
    assert repr(url) in str(info.value)
    assert "host only" in str(info.value)
    assert "'https://cdnapisec.kaltura.com/'" in str(info.value)  # the fix


@pytest.mark.parametrize("url", ["https://phoenix.example/", "https://phoenix.example/v4_2/"])
def test_ott_base_url_without_the_api_path_is_rejected_with_the_fix(url: str) -> None:
    # DOMAIN: "The OTT base URL includes the API path (`.../api_v3/`)"
    with pytest.raises(ConfigError) as info:
        OttSessionProvider(url, 1)
    assert repr(url) in str(info.value) and "API path" in str(info.value)
    assert "api_v3/" in str(info.value)


@pytest.mark.parametrize("url", ["https://phoenix.example/api_v3/",
                                 "https://host.example/v4_2/api_v3/"])
def test_ott_base_urls_with_the_api_path_are_accepted(url: str) -> None:
    assert OttSessionProvider(url, 1).base_url == url


@pytest.mark.parametrize("url", ["https://cdnapisec.kaltura.com/", "https://cdnapisec.kaltura.com",
                                 "http://10.0.0.5:8080/"])
def test_host_only_base_urls_are_accepted(url: str) -> None:
    assert OvpSessionProvider(url).base_url == url


@pytest.mark.parametrize("url", ["cdnapisec.kaltura.com", "ftp://host/", "https://host/?x=1"])
def test_base_url_that_is_not_an_http_host_is_rejected(url: str) -> None:
    with pytest.raises(ConfigError, match="base URL"):
        OttSessionProvider(url, 1)


def test_partner_id_must_be_a_non_negative_integer() -> None:
    with pytest.raises(ConfigError, match="partner_id"):
        OttSessionProvider(OTT_URL, -1)
    with pytest.raises(ConfigError, match="partner_id"):
        OvpSessionProvider(OVP_URL, "12")  # type: ignore[arg-type]


def test_a_result_holds_a_value_or_an_error_exactly() -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        PrimitiveResult()
    with pytest.raises(ConfigError, match="exactly one"):
        PrimitiveResult("ks", ErrorElement(601, "SessionError"))
    assert PrimitiveResult("ks").ok and not PrimitiveResult(error=ErrorElement(1, "x")).ok


def test_an_unattached_provider_says_how_to_attach_it() -> None:
    provider = OttSessionProvider(OTT_URL, 1)
    with pytest.raises(Exception, match="attach"):
        provider.start_anonymous_session()


def test_a_provider_serves_one_device_only() -> None:
    world = make_world()
    provider = ott_provider(world, "phone")
    with pytest.raises(ConfigError, match="one device"):
        provider.attach(world, "tablet")


# --- OTT: starting sessions -------------------------------------------------------------------


def test_ott_anonymous_session_starts_with_anonymous_login_then_session_get() -> None:
    # "The Anonymous session starts with the "ottUser/anonymousLogin" API"
    world = make_world()
    provider = ott_provider(world)
    result = started(world, provider, "anonymous")
    assert result.ok and result.value == provider.ks
    assert issued_via(world) == ["ottUser/anonymousLogin"]
    assert endpoints_used(world) == []  # session/get rides in the same multirequest
    assert provider.user_id == "0" and provider.is_anonymous
    assert provider.expires_at == pytest.approx(0.02 + DAY)  # issued on arrival at the backend
    started_rec = kinds(world, "session_started")[0]
    # one round trip: login and session/get in ONE multirequest
    assert started_rec["anonymous"] is True and started_rec["t"] == pytest.approx(0.04)


def test_ott_user_session_starts_with_login_and_is_not_anonymous() -> None:
    # "User specific session starts with the "ottUser/login" API, according to the username
    # and password."
    world = make_world()
    provider = ott_provider(world)
    result = started(world, provider, "alice", "pw", "udid-1")
    assert result.ok
    assert issued_via(world) == ["ottUser/login"]
    assert provider.user_id not in (None, "0") and provider.is_anonymous is False
    assert world.ott.ks_status(provider.ks) is KsStatus.VALID


def test_ott_login_with_a_wrong_password_fails_with_the_server_error() -> None:
    world = make_world()
    provider = ott_provider(world)
    result = started(world, provider, "alice", "nope", "udid-1")
    assert result.error is not None
    # DOMAIN: "Unknown server codes on login reach the app as session error 601."
    assert result.error.code == SESSION_ERROR
    assert str(int(OttErrorCode.WRONG_PASSWORD_OR_USERNAME)) in result.error.message
    assert not provider.has_session
    assert get_ks(world, provider).error == ErrorElement.session_error("no session was started")


def test_ott_start_during_an_outage_fails_with_a_connection_error() -> None:
    world = make_world()
    world.outage("ott", 0.0, 10.0)
    provider = ott_provider(world)
    result = started(world, provider, "anonymous")
    assert result.error is not None and result.error.code == CONNECTION_ERROR
    assert issued_via(world) == []


def test_ott_forced_fault_on_login_is_answered_as_given() -> None:
    world = make_world()
    world.ott.fail_next("ottUser/login", http_status=503, message="maintenance")
    provider = ott_provider(world)
    result = started(world, provider, "alice", "pw")
    assert result.error == ErrorElement(503, "ServiceUnavailableError", "maintenance")
    assert started(world, provider, "alice", "pw").ok  # only the next call was forced


def test_ott_forced_fault_needs_a_code_or_a_status() -> None:
    with pytest.raises(ConfigError, match="needs a code"):
        make_world().ott.fail_next("ottUser/login")
    with pytest.raises(ConfigError, match="no endpoint"):
        make_world().ott.fail_next("ottUser/nope", code=1)


# --- OTT: lazy refresh ---------------------------------------------------------------------


def test_android_policy_refreshes_at_12_percent_of_the_validity_left_when_set() -> None:
    # DOMAIN: "Android: delta = 12 % of the validity left when the session was set (a 24 h
    # KS refreshes once about 2.9 h remain)"
    world = make_world()
    provider = ott_provider(world, refresh_policy="android")
    started(world, provider, "alice", "pw")
    first, expiry = provider.ks, provider.expires_at
    assert expiry is not None
    delta = provider.refresh_delta
    assert delta == pytest.approx(0.12 * (expiry - 0.04))
    assert 2.8 * 3600 < delta < 2.9 * 3600
    world.run_until(expiry - delta - 1)
    assert get_ks(world, provider).value == first  # more than the delta left: no call
    assert issued_via(world) == ["ottUser/login"]
    world.run_until(expiry - delta + 1e-6)  # at (not a float's width above) the delta
    result = get_ks(world, provider)
    assert result.ok and result.value != first
    assert issued_via(world) == ["ottUser/login", "ottUser/refreshSession"]
    refreshed = kinds(world, "ks_refreshed")
    assert [(r["ks_from"], r["ks"]) for r in refreshed] == [(first, result.value)]
    assert refreshed[0]["time_left"] == pytest.approx(delta, abs=1e-5)
    # the refresh carried the still-valid KS, with session/get in one multirequest
    assert endpoints_used(world) == ["multirequest:ottUser/refreshSession,session/get"]
    assert kinds(world, "ks_refresh_sent")[0]["expired"] is False


def test_ios_safety_margin_is_0_by_default_so_the_ks_is_renewed_only_once_expired() -> None:
    # DOMAIN: "iOS: a safety margin that defaults to 0 today"
    world = make_world()
    provider = ott_provider(world, variant="ios")
    started(world, provider, "alice", "pw")
    first, expiry = provider.ks, provider.expires_at
    assert expiry is not None and provider.refresh_delta == 0.0
    world.run_until(expiry - 1)
    assert get_ks(world, provider).value == first  # one second left: still answered
    world.run_until(expiry)
    assert get_ks(world, provider).value != first
    assert kinds(world, "ks_refreshed") == [] and len(kinds(world, "ks_renewed")) == 1


def test_ios_safety_margin_is_configurable() -> None:
    world = make_world()
    provider = ott_provider(world, variant="ios", refresh_policy=RefreshPolicy.custom(300))
    started(world, provider, "alice", "pw")
    first, expiry = provider.ks, provider.expires_at
    assert expiry is not None and provider.refresh_delta == 300.0
    world.run_until(expiry - 301)
    assert get_ks(world, provider).value == first
    world.run_until(expiry - 300)
    assert get_ks(world, provider).value != first
    assert len(kinds(world, "ks_refreshed")) == 1


def test_custom_margin_and_named_policies() -> None:
    assert RefreshPolicy.custom(60).delta(DAY) == 60
    assert RefreshPolicy.android().delta(1000) == pytest.approx(120)
    assert RefreshPolicy.ios().delta(1000) == 0
    with pytest.raises(ConfigError, match="no refresh policy 'web'"):
        OttSessionProvider(OTT_URL, 1, refresh_policy="web")
    with pytest.raises(ConfigError, match="negative"):
        RefreshPolicy.custom(-1)
    world = make_world()
    provider = ott_provider(world, refresh_policy=RefreshPolicy.custom(3600))
    started(world, provider, "anonymous")
    assert provider.expires_at is not None
    world.run_until(provider.expires_at - 3600)
    assert get_ks(world, provider).ok
    # DOMAIN: anonymous sessions have a refresh token and refresh with refreshSession
    assert issued_via(world) == ["ottUser/anonymousLogin", "ottUser/refreshSession"]


def test_ott_renews_after_expiry_without_sending_the_expired_ks() -> None:
    # "the provider ... renews the session if it expires"; "if the token has expired and can
    # be renewed, the provider renews the token."
    world = make_world()
    provider = ott_provider(world)
    started(world, provider, "alice", "pw")
    first, expiry = provider.ks, provider.expires_at
    assert expiry is not None
    world.run_until(expiry + 3600)
    result = get_ks(world, provider)
    assert result.ok and result.value != first
    renewed = kinds(world, "ks_renewed")
    assert len(renewed) == 1 and renewed[0]["expired_for"] == pytest.approx(3600)
    assert kinds(world, "ks_refreshed") == []
    assert all(r["valid"] for r in kinds(world, "ks_used"))
    assert "ottUser/refreshSession" not in endpoints_used(world)  # refresh token alone


def test_ott_anonymous_session_renews_with_refresh_session_and_stays_anonymous() -> None:
    # DOMAIN: "Anonymous OTT sessions have a refresh token too (`anonymousLogin` returns
    # one), and are refreshed with `refreshSession` like user sessions."
    world = make_world()
    provider = ott_provider(world)
    started(world, provider, "anonymous")
    assert provider.expires_at is not None
    world.run_until(provider.expires_at + 1)
    assert get_ks(world, provider).ok
    assert issued_via(world) == ["ottUser/anonymousLogin", "ottUser/refreshSession"]
    assert len(kinds(world, "ks_renewed")) == 1
    assert provider.is_anonymous and provider.user_id == "0"
    assert kinds(world, "ks_issued")[-1]["anonymous"] is True


def test_a_failed_refresh_answers_601_failed_to_obtain_session() -> None:
    # DOMAIN: "A failed refresh reports a session error (code 601, "Failed to obtain session")"
    world = make_world()
    provider = ott_provider(world)
    started(world, provider, "alice", "pw")
    assert provider.expires_at is not None
    when = provider.expires_at - 600
    world.outage("ott", when, when + 60)
    world.run_until(when)
    error = get_ks(world, provider).error
    assert error is not None and error.code == SESSION_ERROR
    assert error.message.startswith("Failed to obtain session")
    assert "408" in error.message
    world.run_until(when + 60)
    assert get_ks(world, provider).ok  # the next request refreshes again


@pytest.mark.parametrize(("variant", "kept"), [("documented", True), ("android", True),
                                               ("ios", False)])
def test_a_failed_refresh_keeps_the_session_on_android_and_clears_it_on_ios(
        variant: str, kept: bool) -> None:
    # DOMAIN: "Android keeps the session and retries at the next request; iOS clears the
    # session."
    world = make_world()
    provider = ott_provider(world, variant=variant)
    started(world, provider, "alice", "pw")
    assert provider.expires_at is not None
    world.run_until(provider.expires_at + 1)  # past every margin, iOS's 0 included
    world.ott.fail_next("ottUser/refreshSession", code=OttErrorCode.KS_EXPIRED)
    error = get_ks(world, provider).error
    assert error is not None and error.code == SESSION_ERROR
    assert provider.has_session is kept
    assert kinds(world, "ks_refresh_failed")[0]["cleared"] is not kept
    assert len(kinds(world, "session_cleared")) == (0 if kept else 1)
    retry = get_ks(world, provider)
    assert retry.ok is kept  # Android retries at the next request; iOS has nothing left
    if not kept:
        assert retry.error is not None and "cleared" in retry.error.message


def test_renewal_fails_once_the_refresh_token_expired() -> None:
    world = make_world(refresh_token_validity=2 * DAY)
    provider = ott_provider(world)
    started(world, provider, "alice", "pw")
    world.run_until(3 * DAY)
    error = get_ks(world, provider).error
    assert error is not None and error.code == SESSION_ERROR
    assert "refresh token expired" in error.message


# --- OTT: ending sessions --------------------------------------------------------------------


def test_ott_logout_ends_a_user_session_for_good() -> None:
    # "A user session can be ended by making the session token invalid. This means that
    # additional requests using that token will fail. Once a session has ended it can't be
    # renewed, and a new session should be started. To end a session, use "ottUser/logout"."
    world = make_world()
    provider = ott_provider(world)
    started(world, provider, "alice", "pw")
    assert provider.expires_at is not None
    world.run_until(provider.expires_at - 2 * 3600)
    first = provider.ks
    second = get_ks(world, provider).value  # refreshed: the session now has two KSs
    assert first != second
    ended = Calls(world)
    provider.end_session(ended)
    world.run_for(1)
    assert ended.last.ok
    assert endpoints_used(world)[-1] == "ottUser/logout"
    assert kinds(world, "session_ended")[0]["cleared"] is True
    assert {r["ks"] for r in kinds(world, "ks_revoked")} == {first, second}
    assert world.ott.ks_status(second) is KsStatus.REVOKED
    # additional requests using that token fail
    assert world.ott.session_get(None, str(second)).code == phoenix_code(OttErrorCode.KS_EXPIRED)
    # it can't be renewed: the provider fails without a call, now and after expiry
    issued = len(issued_via(world))
    for _ in range(2):
        error = get_ks(world, provider).error
        assert error is not None and error.code == SESSION_ERROR and "ended" in error.message
        world.run_for(2 * DAY)
    assert len(issued_via(world)) == issued
    # a new session should be started
    assert started(world, provider, "alice", "pw").ok and get_ks(world, provider).ok


def test_ott_logout_clears_the_session_even_when_the_call_fails() -> None:
    world = make_world()
    provider = ott_provider(world)
    started(world, provider, "alice", "pw")
    world.outage("ott", world.now, world.now + 10)
    ks = provider.ks
    ended = Calls(world)
    provider.end_session(ended)
    world.run_for(1)
    assert ended.last.error.code == CONNECTION_ERROR
    assert not provider.has_session and get_ks(world, provider).error is not None
    assert world.ott.ks_status(ks) is KsStatus.VALID  # the server never heard of it


def test_ending_an_expired_user_session_renews_then_logs_out_so_no_token_stays_live() -> None:
    # DOMAIN: "Ending a user session first obtains a KS (which may refresh ...), then calls
    # logout and clears the session whatever the result." Today's skip left the refresh
    # token live at the backend.
    world = make_world()
    provider = ott_provider(world)
    started(world, provider, "alice", "pw")
    assert provider.expires_at is not None
    world.run_until(provider.expires_at + 60)
    ended = Calls(world)
    provider.end_session(ended)
    world.run_for(1)
    assert ended.last.ok and not provider.has_session
    assert issued_via(world) == ["ottUser/login", "ottUser/refreshSession"]
    assert endpoints_used(world)[-1] == "ottUser/logout"
    renewed = kinds(world, "ks_renewed")[0]["ks"]
    assert world.ott.ks_status(renewed) is KsStatus.REVOKED
    assert world.ott.refresh_session(None, None, "any", None).code == \
        phoenix_code(OttErrorCode.KS_EXPIRED)


def test_ending_a_user_session_whose_refresh_fails_clears_nothing() -> None:
    world = make_world()
    provider = ott_provider(world)
    started(world, provider, "alice", "pw")
    assert provider.expires_at is not None
    world.run_until(provider.expires_at + 60)
    world.outage("ott", world.now, world.now + 10)
    ended = Calls(world)
    provider.end_session(ended)
    world.run_for(1)
    assert ended.last.error.code == SESSION_ERROR
    assert provider.has_session and kinds(world, "session_ended") == []
    assert "ottUser/logout" not in endpoints_used(world)


def test_ending_with_no_session_never_calls_the_completion() -> None:
    world = make_world()
    provider = ott_provider(world)
    ended = Calls(world)
    provider.end_session(ended)
    world.run_for(10)
    assert ended.results == [] and kinds(world, "session_ended") == []


def test_ott_anonymous_end_makes_no_call_and_the_ks_stays_usable_until_expiry() -> None:
    # "An anonymous session can't be ended Until the session token (KS) expires."
    # DOMAIN: "Ending an anonymous OTT session succeeds locally with no server call"
    world = make_world()
    provider = ott_provider(world)
    started(world, provider, "anonymous")
    ks, expiry = provider.ks, provider.expires_at
    assert ks is not None and expiry is not None
    messages_before = world.events_processed
    ended = Calls(world)
    provider.end_session(ended)
    assert ended.last.ok  # at once, locally
    world.run_for(1)
    assert world.events_processed == messages_before  # no network message at all
    record = kinds(world, "session_ended")[0]
    assert record["server_call"] is False and record["cleared"] is False
    assert kinds(world, "ks_revoked") == []
    assert world.ott.session_get(None, ks).ok  # still usable
    # DOMAIN: it does NOT clear: the provider keeps serving the KS until it expires
    assert provider.has_session and get_ks(world, provider).value == ks
    world.run_until(expiry)
    assert world.ott.ks_status(ks) is KsStatus.EXPIRED


# --- OTT: the Android race -------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "first_answered"), [("documented", 1), ("android", 0)])
def test_concurrent_requests_during_a_refresh(variant: str, first_answered: int) -> None:
    # DOMAIN: "Known Android race: one callback slot and an in-progress flag. A second token
    # request while a refresh is in flight OVERWRITES the slot: the EARLIER request's
    # callback is never called, the later one gets the result."
    world = make_world()
    provider = ott_provider(world, variant=variant)
    started(world, provider, "alice", "pw")
    assert provider.expires_at is not None
    world.run_until(provider.expires_at - 60)
    first, second = Calls(world), Calls(world)
    provider.get_ks(first)
    assert provider.refreshing
    provider.get_ks(second)
    world.run_for(1)
    assert len(first.results) == first_answered
    assert len(second.results) == 1 and second.last.ok  # the later one gets the result
    assert len(kinds(world, "ks_refresh_sent")) == 1


def test_ios_concurrent_requests_each_refresh_and_the_second_logs_the_user_out() -> None:
    # DOMAIN: "iOS does not de-duplicate at all: concurrent requests past the margin each
    # send a refresh; with a rotating refresh token the second fails and clears the session
    # (the user is logged out)."
    world = make_world()
    provider = ott_provider(world, variant="ios")
    started(world, provider, "alice", "pw")
    assert provider.expires_at is not None
    world.run_until(provider.expires_at + 1)
    first, second = Calls(world), Calls(world)
    provider.get_ks(first)
    provider.get_ks(second)
    world.run_for(1)
    assert len(kinds(world, "ks_refresh_sent")) == 2
    assert first.last.ok
    assert second.last.error is not None and second.last.error.code == SESSION_ERROR
    assert "already used" in second.last.error.message
    assert not provider.has_session  # logged out
    assert kinds(world, "session_cleared")[0]["ks"] == first.last.value


# --- OVP ---------------------------------------------------------------------------------------


def test_ovp_anonymous_session_is_a_widget_session_of_the_partner() -> None:
    # "A anonymous session starts with the "session/startWidgetSession" API"
    # DOMAIN: widgetId = "_" + partnerId; the client assumes 24 h validity
    world = make_world()
    provider = ovp_provider(world)
    result = started(world, provider, "anonymous")
    assert result.ok and provider.is_anonymous
    issued = kinds(world, "ks_issued")
    assert [(r["via"], r["partner_id"]) for r in issued] == [("session/startWidgetSession",
                                                             2215841)]
    assert endpoints_used(world) == []  # no session/get: the validity is assumed
    # DOMAIN: 24 h "counted from when the request was sent" (t=0), not from the answer
    assert provider.expires_at == pytest.approx(DAY)
    assert provider.partner_id == 2215841


def test_ovp_widget_id_must_be_underscore_partner_id() -> None:
    world = make_world()
    answer = world.ovp.start_widget_session(None, "2215841")
    assert answer.code == "INVALID_WIDGET_ID"
    assert world.ovp.start_widget_session(None, "_2215841").ok


def test_ovp_user_session_starts_with_login_by_login_id() -> None:
    # "A user specific session starts with the "user/loginByLoginId" API"
    world = make_world()
    provider = ovp_provider(world)
    assert started(world, provider, "bob", "secret").ok
    assert issued_via(world) == ["user/loginByLoginId"]
    assert endpoints_used(world) == []  # session/get in the same multirequest
    assert kinds(world, "session_started")[0]["t"] == pytest.approx(0.04)  # one round trip
    assert provider.is_anonymous is False
    wrong = started(world, provider, "bob", "nope").error
    unknown = started(world, provider, "eve", "x").error
    # server codes on login reach the app as session error 601, naming the code
    assert wrong is not None and wrong.code == SESSION_ERROR
    assert "USER_WRONG_PASSWORD" in wrong.message
    assert unknown is not None and "LOGIN_DATA_NOT_FOUND" in unknown.message


@pytest.mark.parametrize("who", [("anonymous",), ("bob", "secret")])
def test_ovp_sessions_are_valid_for_24_hours_by_default(who: tuple[str, ...]) -> None:
    # "By default a session is valid for 24 hours."
    world = make_world()
    provider = ovp_provider(world)
    started(world, provider, *who)
    record = world.ovp.ledger.get(provider.ks)
    assert record is not None and record.expires_at - record.issued_at == DAY


def test_ovp_answers_at_once_and_renews_in_the_background_under_10_minutes_left() -> None:
    # DOMAIN: "With less than 10 minutes left (strictly, whole seconds) it answers with the
    # current KS and starts a background renewal on EVERY such request (no in-progress
    # guard)"
    world = make_world()
    provider = ovp_provider(world)
    started(world, provider, "bob", "secret")
    first, expiry = provider.ks, provider.expires_at
    assert expiry is not None
    world.run_until(expiry - 600.5)  # 600 whole seconds: not strictly less than 10 min
    calls = Calls(world)
    provider.get_ks(calls)
    assert calls.last.value == first and not kinds(world, "ks_refresh_sent")
    world.run_until(expiry - 599.5)  # 599.5 s: 599 whole seconds
    calls = Calls(world)
    provider.get_ks(calls)
    provider.get_ks(calls)
    assert calls.results == [(world.now, PrimitiveResult(first))] * 2  # at once, current KS
    assert provider.renewing
    assert len(kinds(world, "ks_refresh_sent")) == 2  # one renewal per request
    world.run_for(1)
    renewed = kinds(world, "ks_renewed")
    assert len(renewed) == 2 and all(r["background"] for r in renewed)
    assert provider.ks == renewed[-1]["ks"] and get_ks(world, provider).value == provider.ks


def test_ios_ovp_has_no_10_minute_window() -> None:
    world = make_world()
    provider = ovp_provider(world, variant="ios")
    started(world, provider, "bob", "secret")
    first, expiry = provider.ks, provider.expires_at
    assert expiry is not None
    world.run_until(expiry - 1)
    assert get_ks(world, provider).value == first
    world.run_for(1)
    assert kinds(world, "ks_refresh_sent") == []


def test_ovp_widget_validity_counts_from_when_the_request_was_sent() -> None:
    # DOMAIN: the 24 h are "counted from when the request was sent". Counted from the
    # answer (today), a token request in the gap between the backend's expiry and the
    # provider's got an expired KS and the playback failed.
    world = World(WorldConfig(network=NetworkConfig(link_latency={"ovp": 5.0})))
    provider = ovp_provider(world)
    provider.start_anonymous_session()
    world.run_for(11)
    record = world.ovp.ledger.get(provider.ks)
    assert record is not None and record.expires_at == pytest.approx(5 + DAY)
    assert provider.expires_at == pytest.approx(DAY)  # sent at 0
    world.run_until(DAY + 7)  # expired at the backend 2 s ago: today's gap
    calls = Calls(world)
    provider.get_ks(calls)
    world.run_for(11)
    assert calls.last.ok and world.ovp.ks_status(calls.last.value) is KsStatus.VALID
    assert calls.last.value != record.ks


def test_ovp_renews_before_answering_once_expired() -> None:
    # "Once expired, the OvpSessionProvider will try to renew the session."
    # DOMAIN: "once expired it renews before answering"
    world = make_world()
    provider = ovp_provider(world)
    started(world, provider, "anonymous")
    first, expiry = provider.ks, provider.expires_at
    assert expiry is not None
    world.run_until(expiry + 10)
    calls = Calls(world)
    provider.get_ks(calls)
    assert calls.results == []  # not before the renewal's round trip
    provider.get_ks(calls)  # DOMAIN: every request after expiry sends its own renewal
    world.run_for(1)
    assert len(calls.results) == 2
    when, result = calls.results[0]
    assert result.ok and result.value != first and when == pytest.approx(expiry + 10.04)
    assert len(kinds(world, "ks_refresh_sent")) == 2
    renewed = kinds(world, "ks_renewed")
    assert renewed[0]["background"] is False and renewed[0]["expired_for"] > 0
    assert issued_via(world) == ["session/startWidgetSession"] * 3


def test_ovp_renewal_failure_answers_601_and_clears_the_session() -> None:
    world = make_world()
    provider = ovp_provider(world)
    started(world, provider, "bob", "secret")
    assert provider.expires_at is not None
    world.run_until(provider.expires_at + 1)
    world.ovp.fail_next("user/loginByLoginId", code="LOGIN_BLOCKED", message="blocked")
    error = get_ks(world, provider).error
    assert error is not None and error.code == SESSION_ERROR and "LOGIN_BLOCKED" in error.message
    # DOMAIN: "A failed renewal clears the session."
    assert not provider.has_session and len(kinds(world, "session_cleared")) == 1


def test_ios_ovp_end_calls_no_session_end_but_clears() -> None:
    # DOMAIN: "The iOS OVP client has no ... `session/end`."
    world = make_world()
    provider = ovp_provider(world, variant="ios")
    started(world, provider, "bob", "secret")
    ks = provider.ks
    provider.end_session()
    world.run_for(1)
    assert "session/end" not in endpoints_used(world) and not provider.has_session
    assert world.ovp.ks_status(ks) is KsStatus.VALID


def test_ovp_session_end_ends_a_user_session_for_good() -> None:
    # "To end a session, use the "session/end" API."; "it can't be renewed"
    world = make_world()
    provider = ovp_provider(world)
    started(world, provider, "bob", "secret")
    ks = provider.ks
    ended = Calls(world)
    provider.end_session(ended)
    world.run_for(1)
    assert ended.last.ok and endpoints_used(world)[-1] == "session/end"
    assert world.ovp.ks_status(ks) is KsStatus.REVOKED
    assert world.ovp.session_get(None, str(ks)).code == "INVALID_KS"
    issued = len(issued_via(world))
    world.run_for(2 * DAY)
    error = get_ks(world, provider).error
    assert error is not None and "ended" in error.message
    assert len(issued_via(world)) == issued


def test_ovp_anonymous_session_cannot_be_ended_and_its_ks_stays_usable() -> None:
    # "Note: An anonymous session can't be ended. Until the session token (KS) expires the
    # token can be used."
    world = make_world()
    provider = ovp_provider(world)
    started(world, provider, "anonymous")
    ks = provider.ks
    assert ks is not None
    before = world.events_processed
    provider.end_session()
    world.run_for(1)
    assert world.events_processed == before
    entry = Calls(world)
    OvpMediaProvider("entry-1", FixedKs(ks)).attach(world, "phone").load(entry)
    world.run_for(1)
    assert entry.last.ok
    world.run_for(DAY)
    assert world.ovp.ks_status(ks) is KsStatus.EXPIRED


def test_ovp_client_assumes_24h_even_when_the_backend_gives_less() -> None:
    # DOMAIN: "the client assumes 24 h validity": with a 12 h widget session at the backend,
    # the provider hands out an expired KS, which the trace shows as an invalid use.
    world = make_world(ovp={"widget_session_validity": DAY / 2})
    provider = ovp_provider(world)
    started(world, provider, "anonymous")
    world.run_for(DAY / 2 + 60)
    ks = get_ks(world, provider).value
    loaded = Calls(world)
    OvpMediaProvider("entry-1", provider).attach(world, "phone").load(loaded)
    world.run_for(1)
    assert loaded.last.error.code == "INVALID_KS"
    use = kinds(world, "ks_used")[-1]
    assert use["ks"] == ks and use["valid"] is False and use["status"] == "expired"


# --- media providers -------------------------------------------------------------------------


class FixedKs:
    """A self-implemented session provider: always the same KS (or error)."""

    def __init__(self, ks: str | None, partner_id: int = 2215841,
                 error: ErrorElement | None = None) -> None:
        self.ks, self.error = ks, error
        self.base_url = OVP_URL
        self.partner_id = partner_id
        self.requests = 0

    def get_ks(self, completion: Any) -> None:
        self.requests += 1
        completion(PrimitiveResult(self.ks) if self.error is None
                   else PrimitiveResult(error=self.error))


def test_phoenix_media_provider_loads_drm_data_with_the_providers_ks() -> None:
    assets = {"asset-9": OttAsset(drm_scheme="playready", license_url="https://lic/pr",
                                  ssm=False, formats=("HD", "SD"))}
    world = make_world(assets=assets)
    provider = ott_provider(world)
    started(world, provider, "alice", "pw")
    loaded = Calls(world)
    PhoenixMediaProvider("asset-9", "media", ("SD", "4K"), provider).attach(
        world, "phone").load(loaded)
    world.run_for(1)
    entry = loaded.last.entry
    assert (entry.id, entry.drm_scheme, entry.license_url, entry.ssm, entry.formats) == (
        "asset-9", "playready", "https://lic/pr", False, ("SD",))
    use = kinds(world, "ks_used")[-1]
    # WIRE.md: the Phoenix load is ONE multirequest, playback context and asset/get
    assert (use["endpoint"], use["ks"], use["valid"]) == (
        "multirequest:asset/getPlaybackContext,asset/get", provider.ks, True)


def test_phoenix_load_with_an_empty_ks_logs_in_anonymously_in_the_same_multirequest() -> None:
    # WIRE.md / issue 10: "[anonymousLogin if no KS] + asset/getPlaybackContext + asset/get,
    # an empty KS allowed"
    world = make_world()
    loaded = Calls(world)
    PhoenixMediaProvider("asset-1", session_provider=FixedKs("")).attach(
        world, "phone").load(loaded)
    world.run_for(1)
    assert loaded.last.ok and loaded.last.entry.drm_scheme == "widevine"
    assert issued_via(world) == ["ottUser/anonymousLogin"]
    assert kinds(world, "ks_used") == []  # no KS left the device
    assert len(kinds(world, "ott_playback_context")) == 1


def test_the_playback_context_writes_drm_schemes_as_phoenix_does() -> None:
    world = make_world(assets={"a": OttAsset("playready")})
    provider = ott_provider(world)
    started(world, provider, "alice", "pw")
    answer = world.ott.get_playback_context(None, str(provider.ks), "a", "media", (), None)
    assert answer.value["drm"][0]["scheme"] == "PLAYREADY_CENC"


def test_media_load_fails_with_the_session_error_and_makes_no_backend_call() -> None:
    # DOMAIN: "A media provider asks its session provider for a token first; if that fails
    # the load completes with the error and makes no API call."
    world = make_world()
    provider = ott_provider(world)  # no session started
    loaded = Calls(world)
    PhoenixMediaProvider("asset-1", session_provider=provider).attach(world, "phone").load(loaded)
    assert loaded.results, "completed at once"
    result: MediaResult = loaded.last
    assert result.error is not None and result.error.code == SESSION_ERROR
    world.run_for(10)
    assert world.events_processed == 0 and len(world.trace) == 0


def test_media_load_failing_at_the_backend_reports_the_server_code() -> None:
    assets = {"premium": OttAsset(entitled_users=frozenset({"carol"}))}
    world = make_world(assets=assets, suspended_users=frozenset({"carol"}))
    alice, carol = ott_provider(world, "a"), ott_provider(world, "c")
    started(world, alice, "alice", "pw")
    started(world, carol, "carol", "pw")

    def load(provider: OttSessionProvider, asset: str) -> ErrorElement:
        calls = Calls(world)
        PhoenixMediaProvider(asset, session_provider=provider).attach(
            world, provider.binding.device).load(calls)
        world.run_for(1)
        return calls.last.error

    assert load(alice, "premium").code == phoenix_code(OttErrorCode.NOT_ENTITLED)
    assert load(carol, "premium").code == phoenix_code(OttErrorCode.USER_SUSPENDED)
    world.ott.fail_next("asset/getPlaybackContext", code=OttErrorCode.USER_NOT_ENTITLED)
    assert load(alice, "free").code == "3051"  # as Phoenix writes it


def test_ott_concurrency_is_held_by_bookmark_hits_not_by_the_ks() -> None:
    # DOMAIN: "Kaltura OTT concurrency is enforced by player heartbeats, not by the KS ...
    # The playback context can also refuse with a BLOCK action and a ConcurrencyLimitation
    # message."
    world = make_world(concurrency_limit=1, concurrency_hit_timeout=90.0)
    phone, tablet = ott_provider(world, "phone"), ott_provider(world, "tablet")
    started(world, phone, "alice", "pw", "phone")
    started(world, tablet, "alice", "pw", "tablet")

    def load(provider: OttSessionProvider) -> MediaResult:
        calls = Calls(world)
        PhoenixMediaProvider("a", session_provider=provider).attach(
            world, provider.binding.device).load(calls)
        world.run_for(1)
        result: MediaResult = calls.last
        return result

    assert load(phone).ok and load(tablet).ok  # a playback context holds nothing
    ott = world.ott
    assert ott.bookmark_add("phone", str(phone.ks), "a", "PLAY", "phone").ok
    blocked = load(tablet)
    assert blocked.error is not None and blocked.error.code == 4001
    assert blocked.error.name == "ConcurrencyLimitation"
    assert ott.bookmark_add("tablet", str(tablet.ks), "a", "HIT", "tablet").code == "4001"
    assert ott.bookmark_add("phone", str(phone.ks), "a", "STOP", "phone").ok
    assert load(tablet).ok  # a STOP frees the slot at once
    assert ott.bookmark_add("tablet", str(tablet.ks), "a", "PLAY", "tablet").ok
    assert not load(phone).ok
    world.run_for(91)  # the tablet's hits stopped (a killed app): its slot frees
    assert load(phone).ok


def test_ovp_media_provider_with_a_self_implemented_session_provider() -> None:
    # "You can create your own SessionProvider implementation"
    world = make_world(ovp={"entries": {"1_abc": OvpEntry(drm_scheme="fairplay",
                                                          license_url="https://fps/lic")},
                            "default_entry": None})
    ks = world.ovp.mint_ks(2215841)
    own = FixedKs(ks)
    loaded = Calls(world)
    OvpMediaProvider("1_abc", own).attach(world, "phone").load(loaded)
    world.run_for(1)
    assert own.requests == 1
    assert loaded.last.entry.drm_scheme == "fairplay"
    missing = Calls(world)
    OvpMediaProvider("nope", own).attach(world, "phone").load(missing)
    world.run_for(1)
    assert missing.last.error.code == "ENTRY_ID_NOT_FOUND"
    bogus = Calls(world)
    OvpMediaProvider("1_abc", FixedKs("made-up")).attach(world, "phone").load(bogus)
    world.run_for(1)
    assert bogus.last.error.code == "INVALID_KS"
    assert kinds(world, "ks_used")[-1]["status"] == "unknown"


def test_media_provider_rejects_an_object_that_is_not_a_session_provider() -> None:
    with pytest.raises(ConfigError, match="is not a session provider"):
        OvpMediaProvider("e", object())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="reference_type"):
        PhoenixMediaProvider("a", "vod")  # type: ignore[arg-type]


def test_self_implemented_provider_with_a_path_in_its_base_url_is_rejected() -> None:
    own = FixedKs("ks")
    own.base_url = "https://cdnapisec.kaltura.com/api_v3"
    with pytest.raises(ConfigError, match="host only"):
        OvpMediaProvider("e", own)


def test_providers_are_deterministic() -> None:
    def run() -> str:
        world = make_world()
        provider = ott_provider(world)
        started(world, provider, "alice", "pw")
        for _ in range(5):
            world.run_for(DAY * 0.7)
            get_ks(world, provider)
        provider.end_session()
        world.run_for(1)
        return world.trace.to_jsonl()

    assert run() == run()


def test_an_unknown_asset_without_a_default_is_not_found() -> None:
    world = make_world(default_asset=None, assets={"known": OttAsset()})
    provider = ott_provider(world)
    started(world, provider, "anonymous")
    results = []
    for asset in ("known", "unknown"):
        calls = Calls(world)
        PhoenixMediaProvider(asset, session_provider=provider).attach(world, "phone").load(calls)
        world.run_for(1)
        results.append(calls.last)
    assert results[0].ok
    assert results[1].error == ErrorElement(404, "NotFound", "no asset 'unknown'")


def test_ovp_load_is_one_multirequest_and_an_empty_ks_starts_a_widget_session() -> None:
    # WIRE.md: "The media provider's load is itself a multirequest ([startWidgetSession if
    # no KS] + baseEntry/list + baseEntry/getPlaybackContext + metadata/list)."
    world = make_world()
    loaded = Calls(world)
    OvpMediaProvider("1_abc", FixedKs("")).attach(world, "phone").load(loaded)
    world.run_for(1)
    assert loaded.last.ok
    assert issued_via(world) == ["session/startWidgetSession"]
    assert kinds(world, "ks_issued")[0]["partner_id"] == 2215841  # "_" + partnerId
    provider = ovp_provider(world)
    started(world, provider, "bob", "secret")
    again, sent = Calls(world), world.now
    OvpMediaProvider("1_abc", provider).attach(world, "phone").load(again)
    world.run_for(1)
    assert again.last.ok
    assert endpoints_used(world)[-1] == \
        "multirequest:baseEntry/list,baseEntry/getPlaybackContext,metadata/list"
    assert again.results[0][0] == pytest.approx(sent + 0.04)  # one round trip
