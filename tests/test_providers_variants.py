"""Provider variants (DOMAIN.md, "Kaltura session providers"): the one declaration of how
the Android and iOS clients differ, the network kit, and recovering a saved session."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from player_sim import ConfigError, NetworkConfig, World, WorldConfig
from player_sim.backends import ApiAnswer, KsStatus, OttConfig
from player_sim.providers import (
    CONNECTION_ERROR,
    HTTP_RETRY_DELAYS,
    NETKIT_CODES,
    SESSION_ERROR,
    VARIANT_NAMES,
    ErrorElement,
    OttSessionProvider,
    OvpSessionProvider,
    PrimitiveResult,
    ProviderVariants,
    RefreshPolicy,
)
from player_sim.providers._netkit import send
from player_sim.scenario import ScenarioError, load_scenario_text

OTT_URL = "https://phoenix.example/api_v3/"


def kinds(world: World, kind: str) -> list[dict[str, Any]]:
    return [dict(r.data, t=r.t) for r in world.trace if r.kind == kind]


def test_the_named_variants_state_what_domain_md_says() -> None:
    android, ios, documented = (ProviderVariants.named(n) for n in ("android", "ios",
                                                                   "documented"))
    assert VARIANT_NAMES == ("documented", "android", "ios")
    assert android.refresh_policy.delta(1000) == pytest.approx(120)   # 12 %
    assert ios.refresh_policy.delta(1000) == 0                       # margin 0
    assert (android.concurrent_refresh, ios.concurrent_refresh,
            documented.concurrent_refresh) == ("overwrite-slot", "each-sends", "queue")
    assert (android.failed_refresh, ios.failed_refresh) == ("keep", "clear")
    assert android.http_retry_delays == HTTP_RETRY_DELAYS == (1.0, 2.0, 4.0, 8.0)
    assert (android.connect_timeout, android.read_timeout) == (10.0, 20.0)
    assert (ios.ovp_renew_window, ios.ovp_session_end) == (None, False)
    assert (android.ovp_renew_window, android.ovp_session_end) == (600.0, True)
    assert documented.http_retry_delays == () and documented.read_timeout is None


def test_variants_refuse_what_is_not_one_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="variants are documented, android, ios"):
        ProviderVariants.named("web")
    with pytest.raises(ConfigError, match="concurrent_refresh"):
        ProviderVariants("x", RefreshPolicy.android(), "race", "keep")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="none negative"):
        ProviderVariants("x", RefreshPolicy.android(), "queue", "keep", http_retry_delays=(-1,))
    with pytest.raises(ConfigError, match="no provider variant"):
        OttSessionProvider(OTT_URL, 1, variant="windows")


def test_a_refresh_policy_overrides_the_variants_margin() -> None:
    provider = OttSessionProvider(OTT_URL, 1, variant="ios", refresh_policy="android")
    assert provider.variants.concurrent_refresh == "each-sends"
    assert provider.refresh_policy == RefreshPolicy.android()


def test_the_variant_reaches_the_trace() -> None:
    world = World(WorldConfig(ott=OttConfig(users={"alice": "pw"})))
    provider = OttSessionProvider(OTT_URL, 3009, variant="android")
    provider.attach(world, "phone")
    provider.start_session("alice", "pw")
    world.run_for(1)
    assert kinds(world, "session_started")[0]["variant"] == "android"


# --- the network kit ---------------------------------------------------------------------------


def _sent(world: World, variant: ProviderVariants,
          answers: list[ApiAnswer]) -> tuple[list[tuple[float, ApiAnswer]], list[int]]:
    """Send one call whose serve() answers from ``answers`` in turn."""
    provider = OttSessionProvider(OTT_URL, 1)
    provider.attach(world, "phone")
    got: list[tuple[float, ApiAnswer]] = []
    served: list[int] = []

    def serve() -> ApiAnswer:
        served.append(1)
        return answers[min(len(served), len(answers)) - 1]

    send(provider.binding, variant, "ott", "ottUser/login", serve,
         lambda answer: got.append((world.now, answer)))
    world.run_for(120)
    return got, served


def test_http_errors_are_retried_4_times_after_1_2_4_8_seconds() -> None:
    world = World()
    got, served = _sent(world, ProviderVariants.android(), [ApiAnswer(503)])
    assert len(served) == 5 and len(got) == 1 and got[0][1].http_status == 503
    retries = kinds(world, "request_retried")
    assert [r["delay"] for r in retries] == [1.0, 2.0, 4.0, 8.0]
    assert [r["attempt"] for r in retries] == [1, 2, 3, 4]
    # each attempt is a 40 ms round trip: 5 of them plus 15 s of waiting
    assert got[0][0] == pytest.approx(5 * 0.04 + 15)


def test_a_retry_that_succeeds_delivers_its_answer_once() -> None:
    world = World()
    ok = ApiAnswer(value={"ks": "k"})
    got, served = _sent(world, ProviderVariants.android(), [ApiAnswer(500), ok])
    assert [a for _, a in got] == [ok] and len(served) == 2


def test_an_error_in_a_200_body_is_not_retried() -> None:
    world = World()
    got, served = _sent(world, ProviderVariants.android(),
                        [ApiAnswer(200, code=1011, name="WRONG_PASSWORD")])
    assert len(served) == 1 and got[0][1].code == 1011
    assert kinds(world, "request_retried") == []


def test_the_documented_client_does_not_retry() -> None:
    world = World()
    got, served = _sent(world, ProviderVariants.documented(), [ApiAnswer(503)])
    assert len(served) == 1 and got[0][0] == pytest.approx(0.04)


def test_an_answer_slower_than_the_read_timeout_fails_with_408_at_20_s() -> None:
    world = World(WorldConfig(network=NetworkConfig(link_latency={"ott": 15.0})))
    no_retry = ProviderVariants("slow", RefreshPolicy.android(), "queue", "keep",
                                read_timeout=20.0)
    got, _ = _sent(world, no_retry, [ApiAnswer(value={"ks": "k"})])
    assert len(got) == 1  # the late answer (at 30 s) is dropped
    when, answer = got[0]
    assert when == pytest.approx(20.0) and answer.http_status == CONNECTION_ERROR
    assert kinds(world, "request_timed_out")[0]["after"] == 20.0


def test_an_unreachable_backend_fails_after_the_connect_timeout() -> None:
    world = World()
    world.outage("ott", 0.0, 5.0)
    once = ProviderVariants("c", RefreshPolicy.android(), "queue", "keep", connect_timeout=10.0)
    got, _ = _sent(world, once, [ApiAnswer(value={})])
    assert got[0][0] == pytest.approx(10.0) and got[0][1].http_status == CONNECTION_ERROR


def test_the_network_kit_codes() -> None:
    assert {400, 404, 408, 500, 503, 518, 520, 601, 666} == NETKIT_CODES
    assert ErrorElement.request_cancelled("superseded").code == 520


# --- session persistence --------------------------------------------------------------------


def test_a_relaunched_app_recovers_its_saved_session_and_refreshes_it_at_once() -> None:
    # DOMAIN: "Sessions can be persisted and recovered after an app relaunch
    # (`recoverSession` with KS, refresh token and udid, refreshed at once)."
    world = World(WorldConfig(ott=OttConfig(users={"alice": "pw"})))
    first = OttSessionProvider(OTT_URL, 3009)
    first.attach(world, "phone")
    first.start_session("alice", "pw", "phone")
    world.run_for(1)
    saved = first.saved_session()
    assert saved is not None and saved.udid == "phone"
    first.forget()  # the app was killed
    again = OttSessionProvider(OTT_URL, 3009)
    again.attach(world, "phone")
    done: list[PrimitiveResult] = []
    again.recover_session(saved, done.append)
    world.run_for(1)
    assert done[0].ok and done[0].value != saved.ks and again.ks == done[0].value
    assert again.user_id not in (None, "", "0") and again.is_anonymous is False
    assert [r["via"] for r in kinds(world, "ks_issued")] == ["ottUser/login",
                                                             "ottUser/refreshSession"]
    assert kinds(world, "session_recovered")[0]["ks"] == saved.ks
    assert kinds(world, "session_started")[-1]["recovered"] is True
    assert world.ott.ks_status(done[0].value) is KsStatus.VALID


def test_recovering_a_spent_session_fails_with_601() -> None:
    world = World(WorldConfig(ott=OttConfig(users={"alice": "pw"})))
    provider = OttSessionProvider(OTT_URL, 3009)
    provider.attach(world, "phone")
    provider.start_session("alice", "pw", "phone")
    world.run_for(1)
    saved = provider.saved_session()
    assert saved is not None
    provider.recover_session(saved)  # spends the refresh token
    world.run_for(1)
    done: list[PrimitiveResult] = []
    provider.recover_session(saved, done.append)
    world.run_for(1)
    assert done[0].error is not None and done[0].error.code == SESSION_ERROR


# --- scenario files -----------------------------------------------------------------------------


def _load(provider: str) -> Any:
    return load_scenario_text(f"""
name: variant
devices:
  phone:
    account: alice
    session_provider: {provider}
steps: []
""", "<test>")


def test_scenario_files_pick_a_variant_by_name() -> None:
    scenario = _load("{backend: ott, partner_id: 1, variant: ios}")
    provider, _ = scenario.providers["phone"].build()
    assert isinstance(provider, OttSessionProvider)
    assert provider.variants == ProviderVariants.ios()
    ovp = _load("{backend: ovp, partner_id: 1, variant: ios}").providers["phone"].build()[0]
    assert isinstance(ovp, OvpSessionProvider) and ovp.renew_window is None


def test_scenario_files_refuse_an_unknown_variant_and_an_ott_url_without_api_path() -> None:
    with pytest.raises(ScenarioError, match="variant"):
        _load("{backend: ott, partner_id: 1, variant: web}")
    with pytest.raises(ScenarioError, match="API path"):
        _load('{backend: ott, partner_id: 1, base_url: "https://phoenix.example/"}')


def test_a_clearing_variant_tells_every_waiter_why_the_refresh_failed() -> None:
    world = World(WorldConfig(ott=OttConfig(users={"alice": "pw"})))
    variant = ProviderVariants("queue-and-clear", RefreshPolicy.android(), "queue", "clear")
    provider = OttSessionProvider(OTT_URL, 3009, variant=variant)
    provider.attach(world, "phone")
    provider.start_session("alice", "pw")
    world.run_for(1)
    assert provider.expires_at is not None
    world.run_until(provider.expires_at - 60)
    world.ott.fail_next("ottUser/refreshSession", code=500016, message="nope")
    answers: list[PrimitiveResult] = []
    provider.get_ks(answers.append)
    provider.get_ks(answers.append)
    world.run_for(1)
    assert len(answers) == 2 and not provider.has_session
    assert all(a.error is not None and "nope" in a.error.message for a in answers)


def test_every_named_variant_keeps_the_session_active_during_its_logout() -> None:
    # the Android source clears the session in the logout's completion only
    assert {ProviderVariants.named(n).during_logout for n in VARIANT_NAMES} == {"active"}
    with pytest.raises(ConfigError, match="during_logout"):
        attrs.evolve(ProviderVariants.documented(), during_logout="never")
