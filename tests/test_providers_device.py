"""Session providers in a device's play pipeline: KS, media load, SSM setup, license, playing."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import SignalLog

from player_sim import (
    ConfigError,
    DeviceConfig,
    PlaybackState,
    Simulation,
    World,
    WorldConfig,
)
from player_sim.backends import ApiAnswer, OttAsset, OttConfig, OvpConfig, OvpEntry
from player_sim.providers import (
    SESSION_ERROR,
    BackendHost,
    BackendPort,
    ErrorElement,
    KsCompletion,
    OttSessionProvider,
    OvpMediaProvider,
    OvpSessionProvider,
    PhoenixMediaProvider,
    PrimitiveResult,
    SessionActions,
    SessionProvider,
)

DAY = 86400.0
SSM_URL = "https://ssm.example/"
OTT_URL = "https://phoenix.example/api_v3/"
OVP_URL = "https://cdnapisec.kaltura.com/"


class FixedKs:
    """A self-implemented session provider, as in the document's example."""

    def __init__(self, ks: str | None, error: ErrorElement | None = None,
                 base_url: str = OVP_URL) -> None:
        self.ks, self.error, self.base_url, self.partner_id = ks, error, base_url, 2215841
        self.requests = 0

    def get_ks(self, completion: Any) -> None:
        self.requests += 1
        completion(PrimitiveResult(self.ks) if self.error is None
                   else PrimitiveResult(error=self.error))


def world_config(**ott: Any) -> WorldConfig:
    ovp = ott.pop("ovp", {})
    return WorldConfig(ott=OttConfig(users={"alice": "pw"}, **ott),
                       ovp=OvpConfig(users={"bob": "secret"}, **ovp))


def ott_device(name: str = "phone", *, media: Any = None, **provider: Any) -> DeviceConfig:
    return DeviceConfig(name=name, account="alice", ssm_server_url=SSM_URL,
                        session_provider=OttSessionProvider(OTT_URL, 3009, **provider),
                        media=media if media is not None else PhoenixMediaProvider())


def device_kinds(world: World, device: str, *wanted: str) -> list[str]:
    return [r.kind for r in world.trace if r.device == device and r.kind in wanted]


PIPELINE = ("ks_requested", "ks_answered", "media_load_started", "media_answered",
            "ssm_setup_sent", "ssm_setup_answered", "license_request_sent", "license_answered",
            "playback_started")


async def test_self_implemented_provider_drives_a_playback(autojump_clock: Any) -> None:
    # "You can create your own SessionProvider implementation or use the provided SDK
    # implementations."
    async with Simulation(world_config(ovp={"entries": {"1_abc": OvpEntry("fairplay")}}),
                          seed=3) as sim:
        own = FixedKs(sim.world.ovp.mint_ks(2215841))
        phone = sim.add_device(DeviceConfig(name="phone", account="alice",
                                            ssm_server_url=SSM_URL, session_provider=own,
                                            media=OvpMediaProvider()))
        phone.play("1_abc")
        await sim.sleep(5)
        assert phone.playback_state is PlaybackState.PLAYING
        assert device_kinds(sim.world, "phone", *PIPELINE) == list(PIPELINE)
        answered = sim.trace.of_kind("ks_answered", device="phone")[0]
        assert answered.data["ks"] == own.ks
        media = sim.trace.of_kind("media_answered", device="phone")[0]
        assert media.data["drm_scheme"] == "fairplay"
        assert [r.data["valid"] for r in sim.trace.of_kind("ks_used")] == [True]
        # one token request per playback (today it asked twice and traced once), traced
        assert own.requests == 1
        assert len(sim.trace.of_kind("ks_requested", device="phone")) == 1


async def test_ott_login_then_play_goes_through_ks_and_media_load(
        autojump_clock: Any, signal_log: SignalLog) -> None:
    async with Simulation(world_config()) as sim:
        phone = sim.add_device(ott_device())
        phone.login("alice", "pw")
        await sim.sleep(1)
        phone.play("asset-1")
        await sim.sleep(5)
        assert phone.playback_state is PlaybackState.PLAYING
        assert device_kinds(sim.world, "phone", *PIPELINE) == list(PIPELINE)
        states = [n.payload["playback"] for n in signal_log.of("state_changed", "phone")]
        assert states[:5] == ["obtaining_ks", "loading_media", "ssm_setup", "license_request",
                              "playing"]
        login = sim.trace.of_kind("action", device="phone")[0]
        assert login.data == {"name": "login", "origin": "user", "username": "alice"}


def test_play_without_a_session_fails_at_the_ks_stage_without_a_media_call(
        signal_log: SignalLog) -> None:
    world = World(world_config())
    phone = world.add_device(ott_device())
    phone.play("asset-1")
    world.run_for(5)
    assert phone.playback_state is PlaybackState.FAILED
    [error] = signal_log.of("ks_error", "phone")
    assert error.payload["code"] == SESSION_ERROR
    assert "Failed to obtain session" in error.payload["message"]
    assert device_kinds(world, "phone", "media_load_started", "ssm_setup_sent") == []
    assert world.trace.of_kind("ks_used") == []


def test_self_implemented_provider_error_fails_the_playback(signal_log: SignalLog) -> None:
    world = World(world_config())
    own = FixedKs(None, ErrorElement(408, "ConnectionError", "offline"))
    phone = world.add_device(DeviceConfig(name="phone", account="alice", session_provider=own,
                                          media=OvpMediaProvider()))
    phone.play("1_abc")
    world.run_for(1)
    assert phone.playback_state is PlaybackState.FAILED
    assert signal_log.of("ks_error")[0].payload["code"] == 408
    assert own.requests == 1


def test_media_load_error_fails_before_ssm_setup(signal_log: SignalLog) -> None:
    world = World(world_config(assets={"premium": OttAsset(entitled_users=frozenset({"x"}))}))
    phone = world.add_device(ott_device())
    phone.login()
    world.run_for(1)
    phone.play("premium")
    world.run_for(5)
    assert phone.playback_state is PlaybackState.FAILED
    [error] = signal_log.of("media_load_error", "phone")
    assert error.payload["code"] == "3032"
    assert device_kinds(world, "phone", "ssm_setup_sent", "license_request_sent") == []
    assert world.active_sessions() == []


def test_ovp_string_codes_reach_the_signal_as_the_backend_wrote_them(
        signal_log: SignalLog) -> None:
    world = World(world_config(ovp={"default_entry": None}))
    phone = world.add_device(DeviceConfig(
        name="phone", account="bob", session_provider=OvpSessionProvider(OVP_URL, 2215841),
        media=OvpMediaProvider()))
    phone.login()
    world.run_for(1)
    phone.play("0_missing")
    world.run_for(1)
    [error] = signal_log.of("media_load_error", "phone")
    assert error.payload["code"] == "ENTRY_ID_NOT_FOUND"
    assert not error.payload["message"].startswith("ENTRY_ID_NOT_FOUND")


def test_entry_not_under_ssm_skips_the_ssm_setup() -> None:
    world = World(world_config(assets={"free": OttAsset(ssm=False)}))
    phone = world.add_device(ott_device())
    phone.login()
    world.run_for(1)
    phone.play("free")
    world.run_for(5)
    assert phone.playback_state is PlaybackState.PLAYING
    assert device_kinds(world, "phone", "ssm_setup_sent") == []
    [request] = world.trace.of_kind("license_request_sent", device="phone")
    assert request.data["ssm_token"] is None
    assert world.active_sessions() == []


def test_logout_keeps_the_current_playback_and_fails_the_next_zap(
        signal_log: SignalLog) -> None:
    world = World(world_config())
    phone = world.add_device(ott_device())
    phone.login("alice", "pw")
    world.run_for(1)
    phone.play("asset-1")
    world.run_for(5)
    phone.logout()
    world.run_for(1)
    [answered] = world.trace.of_kind("session_answered", device="phone")[1:]
    assert answered.data == {"action": "logout", "ok": True}
    assert world.trace.of_kind("ks_revoked")
    assert phone.playback_state is PlaybackState.PLAYING
    phone.zap("asset-2")
    world.run_for(5)
    assert phone.playback_state is PlaybackState.FAILED
    assert "ended" in signal_log.of("ks_error", "phone")[0].payload["message"]
    phone.login("alice", "pw")  # a new session should be started
    world.run_for(1)
    phone.play("asset-2")
    world.run_for(5)
    assert phone.playback_state is PlaybackState.PLAYING


def test_end_session_of_an_anonymous_device_makes_no_server_call() -> None:
    world = World(world_config())
    phone = world.add_device(ott_device())
    phone.login()
    world.run_for(1)
    before = world.events_processed
    phone.end_session()
    world.run_for(1)
    assert world.events_processed == before + 1  # only the device's own answer event
    [ended] = world.trace.of_kind("session_ended", device="phone")
    assert ended.data["server_call"] is False


def test_session_actions_need_a_provider_with_session_actions() -> None:
    world = World(world_config())
    plain = world.add_device(DeviceConfig(name="plain", account="alice"))
    with pytest.raises(ConfigError, match="no session provider"):
        plain.login()
    own = world.add_device(DeviceConfig(name="own", account="alice",
                                        session_provider=FixedKs("ks"),
                                        media=OvpMediaProvider()))
    with pytest.raises(ConfigError, match="self-implemented session provider"):
        own.logout()


class OwnOttLogin:
    """A user's own session provider with session actions: it logs in on the OTT
    backend through the world's backend port, as a built-in one does."""

    base_url, partner_id = OTT_URL, 3009

    def __init__(self) -> None:
        self.ks: str | None = None
        self.port: BackendPort | None = None
        self.device: str | None = None
        self.forgotten = 0

    def attach(self, world: BackendHost, device: str | None = None) -> None:
        self.port, self.device = world.backend_port, device

    def login(self, username: str | None, password: str | None,
              completion: KsCompletion | None = None) -> None:
        port, device = self.port, self.device
        assert port is not None

        def answered(answer: ApiAnswer) -> None:
            if answer.ok:
                self.ks = answer.value["ks"]
                result = PrimitiveResult(self.ks)
            else:
                result = PrimitiveResult(error=ErrorElement.from_answer(answer))
            if completion is not None:
                completion(result)

        if username is None:
            port.call("ott", device, "ottUser/anonymousLogin",
                      lambda: port.ott.anonymous_login(device, self.partner_id, device),
                      answered, None)
        else:
            port.call("ott", device, "ottUser/login",
                      lambda: port.ott.login(device, self.partner_id, username, password or "",
                                             device), answered, None)

    def end_session(self, completion: KsCompletion | None = None) -> None:
        ks, self.ks = self.ks, None
        if completion is not None:
            completion(PrimitiveResult(ks) if ks is not None else PrimitiveResult(
                error=ErrorElement.session_error("no session to end")))

    def forget(self) -> None:
        self.ks = None
        self.forgotten += 1

    def get_ks(self, completion: KsCompletion) -> None:
        completion(PrimitiveResult(self.ks) if self.ks is not None else PrimitiveResult(
            error=ErrorElement.session_error("no session was started")))


def test_a_self_implemented_provider_with_session_actions_logs_in_and_plays() -> None:
    own = OwnOttLogin()
    assert isinstance(own, SessionActions)
    assert isinstance(own, SessionProvider)
    world = World(world_config(), seed=5)
    phone = world.add_device(DeviceConfig(name="phone", account="alice", ssm_server_url=SSM_URL,
                                          session_provider=own, media=PhoenixMediaProvider()))
    assert own.port is world.backend_port and own.device == "phone"
    phone.login("alice", "pw")
    world.run_for(1)
    [answered] = world.trace.of_kind("session_answered", device="phone")
    assert answered.data == {"action": "login", "ok": True}
    assert own.ks is not None
    phone.play("asset-1")
    world.run_for(5)
    assert phone.playback_state is PlaybackState.PLAYING
    assert device_kinds(world, "phone", *PIPELINE) == list(PIPELINE)
    assert world.trace.of_kind("ks_answered", device="phone")[0].data["ks"] == own.ks
    # the media load carried the user's KS to the backend, and the backend took it
    assert [r.data["valid"] for r in world.trace.of_kind("ks_used")] == [True]
    phone.kill()
    assert own.forgotten == 1 and own.ks is None
    phone.relaunch()
    phone.logout()
    world.run_for(1)
    assert world.trace.of_kind("session_answered", device="phone")[-1].data["ok"] is False


def test_device_config_checks_the_provider_configuration() -> None:
    with pytest.raises(ConfigError, match="go together"):
        DeviceConfig(name="p", account="a", session_provider=FixedKs("ks"))
    with pytest.raises(ConfigError, match="go together"):
        DeviceConfig(name="p", account="a", media=OvpMediaProvider())
    with pytest.raises(ConfigError, match="PhoenixMediaProvider or an OvpMediaProvider"):
        DeviceConfig(name="p", account="a", session_provider=FixedKs("ks"),
                     media=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not a session provider"):
        DeviceConfig(name="p", account="a", session_provider=object(),  # type: ignore[arg-type]
                     media=OvpMediaProvider())
    url = "https://cdnapisec.kaltura.com/api_v3/service"
    with pytest.raises(ConfigError) as info:
        DeviceConfig(name="p", account="a", session_provider=FixedKs("ks", base_url=url),
                     media=OvpMediaProvider())
    assert repr(url) in str(info.value) and "host only" in str(info.value)


def test_one_provider_can_not_serve_two_devices() -> None:
    world = World(world_config())
    config = ott_device()
    world.add_device(config)
    with pytest.raises(ConfigError, match="one device only"):
        world.add_device(DeviceConfig(name="tablet", account="alice",
                                      session_provider=config.session_provider,
                                      media=PhoenixMediaProvider()))


def test_a_device_without_providers_plays_directly() -> None:
    world = World(world_config())
    phone = world.add_device(DeviceConfig(name="phone", account="alice", ssm_server_url=SSM_URL))
    assert not phone.core.config.has_session_provider
    phone.play("ch-1")
    world.run_for(5)
    assert phone.playback_state is PlaybackState.PLAYING
    assert device_kinds(world, "phone", "ks_requested", "media_load_started") == []


@pytest.mark.parametrize("variant", ["documented", "android"])
def test_zapping_during_a_refresh_on_android_drops_the_earlier_callback(variant: str) -> None:
    # DOMAIN: "A second token request while a refresh is in flight OVERWRITES the slot: the
    # EARLIER request's callback is never called, the later one gets the result." The zap
    # plays; the play's token request never completes.
    world = World(world_config())
    phone = world.add_device(ott_device(variant=variant))
    phone.login("alice", "pw")
    world.run_for(1)
    provider = phone.session_provider
    assert isinstance(provider, OttSessionProvider) and provider.expires_at is not None
    world.run_until(provider.expires_at - 60)
    phone.play("asset-1")  # the KS needs a refresh: in flight
    phone.zap("asset-2")  # a second token request while it is
    world.run_for(60)
    assert phone.playback_state is PlaybackState.PLAYING and phone.stream == "asset-2"
    assert len(world.trace.of_kind("ks_requested", device="phone")) >= 2
    answered = world.trace.of_kind("ks_answered", device="phone")
    requested = world.trace.of_kind("ks_requested", device="phone")
    assert len(requested) - len(answered) == (1 if variant == "android" else 0)


def test_zapping_after_expiry_on_ios_logs_the_user_out() -> None:
    # DOMAIN: iOS "concurrent requests past the margin each send a refresh; with a rotating
    # refresh token the second fails and clears the session (the user is logged out)."
    world = World(world_config())
    phone = world.add_device(ott_device(variant="ios"))
    phone.login("alice", "pw")
    world.run_for(1)
    provider = phone.session_provider
    assert isinstance(provider, OttSessionProvider) and provider.expires_at is not None
    world.run_until(provider.expires_at + 60)
    phone.play("asset-1")
    phone.zap("asset-2")
    world.run_for(60)
    assert not provider.has_session
    assert len(world.trace.of_kind("ks_refresh_sent", device="phone")) == 2
    assert phone.playback_state is PlaybackState.FAILED
    assert world.trace.of_kind("ks_error", device="phone")


async def test_a_week_of_daily_refreshes_keeps_every_ks_valid(autojump_clock: Any) -> None:
    async with Simulation(world_config(), seed=11) as sim:
        phone = sim.add_device(ott_device(refresh_policy="android"))
        phone.login("alice", "pw")
        await sim.sleep(1)
        phone.play("asset-0")
        for hour in range(1, 7 * 24):
            await sim.sleep(3600)
            phone.zap(f"asset-{hour % 5}")
        await sim.sleep(10)
        assert phone.playback_state is PlaybackState.PLAYING
        # a 24 h KS refreshed lazily, at the first zap with at most 12 % (2.88 h) left
        refreshed = sim.trace.of_kind("ks_refreshed", device="phone")
        assert len(refreshed) == 7
        assert all(1.8 * 3600 < r.data["time_left"] <= 0.12 * DAY for r in refreshed)
        assert sim.trace.of_kind("ks_renewed") == []
        used = sim.trace.of_kind("ks_used")
        assert len(used) > 7 * 24 and all(r.data["valid"] for r in used)
        assert sim.trace.of_kind("ks_error") == []


def test_same_seed_same_trace() -> None:
    def run() -> str:
        world = World(world_config(), seed=5)
        phone = world.add_device(ott_device())
        phone.login("alice", "pw")
        world.run_for(1)
        for i in range(4):
            phone.zap(f"a-{i}") if i else phone.play("a-0")
            world.run_for(DAY / 2)
        phone.logout()
        world.run_for(1)
        return world.trace.to_jsonl()

    assert run() == run()


async def test_ks_answers_wait_while_the_app_is_suspended(autojump_clock: Any) -> None:
    # An answer reaching a suspended (normal background) app is handled in the foreground.
    async with Simulation(world_config(), seed=1) as sim:
        sim.world.add_latency("ott", 5.0)
        phone = sim.add_device(ott_device())
        phone.login()
        await sim.sleep(30)
        phone.play("asset-1")
        phone.enter_background()
        await sim.sleep(60)
        assert phone.playback_state is PlaybackState.OBTAINING_KS  # the answer waits
        phone.enter_foreground()
        await sim.wait_until(lambda: phone.playback_state is PlaybackState.PLAYING, timeout=60)


def test_a_killed_app_loses_its_session_but_not_its_ks(signal_log: SignalLog) -> None:
    world = World(world_config())
    phone = world.add_device(ott_device())
    phone.login("alice", "pw")
    world.run_for(1)
    provider = phone.session_provider
    assert isinstance(provider, OttSessionProvider)
    ks = provider.ks
    phone.kill()
    phone.relaunch()
    phone.play("asset-1")
    world.run_for(1)
    assert phone.playback_state is PlaybackState.FAILED
    assert "no session was started" in signal_log.of("ks_error")[0].payload["message"]
    assert world.ott.session_get(None, str(ks)).ok  # nobody logged it out
    assert [r.data["ks"] for r in world.trace.of_kind("session_forgotten")] == [ks]
    phone.login("alice", "pw")
    world.run_for(1)
    phone.play("asset-1")
    world.run_for(5)
    assert phone.playback_state is PlaybackState.PLAYING


def test_the_partner_id_is_the_one_that_created_the_session_token() -> None:
    # "PartnerId - The partner that was used to create the session token."
    world = World(world_config())
    ott = OttSessionProvider(OTT_URL, 3009)
    ovp = OvpSessionProvider(OVP_URL, 2215841)
    ott.attach(world, "a")
    ovp.attach(world, "b")
    ott.start_session("alice", "pw")
    ovp.start_session("bob", "secret")
    world.run_for(1)
    ott_record, ovp_record = world.ott.ledger.get(ott.ks), world.ovp.ledger.get(ovp.ks)
    assert ott_record is not None and ott_record.partner_id == ott.partner_id == 3009
    assert ovp_record is not None and ovp_record.partner_id == ovp.partner_id == 2215841
