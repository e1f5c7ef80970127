"""Each rule's monitor fails on a realistic wrong trace, not only a hand-made one.

:data:`BREAKERS` is the table: for every rule of the catalogue, a wrong variant of
the kind a real player ships (an SDK, a player core, an app, a session provider),
plugged into a run of the simulator through the interfaces main offers today, and
the scenario it runs. The test runs the scenario twice: as documented it passes,
and with the variant exactly that rule is reported broken (plus, where one wrong
act necessarily breaks two documented sentences, the ``also`` rules it names).

Where no realistic client can break a rule (the server, the OS or the world is
what it judges), the simulated backend or device shell is broken instead and the
entry says so (``broken="backend"`` / ``"device shell"``).

A core variant is plugged in by replacing the ``PlayerCore`` the device shell builds
(``monkeypatch``): ``DeviceConfig`` cannot take a core variant on main yet (issue 11,
part 1, is adding that seam).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from player_sim import DeviceConfig, PlayerCore, SdkModel
from player_sim.backends import SsmServer
from player_sim.explore._mutant_catalogue import (
    AsyncTeardownInSyncMode,
    LicenseWithoutToken,
    NeverRefreshesKs,
    NeverTearsDown,
    ResumesWithoutChecking,
    ReusesStaleToken,
    StatusOnlyErrors,
)
from player_sim.player import DocumentedAppPolicy, PlayerView, _core
from player_sim.player import events as ev
from player_sim.providers import (
    KsCompletion,
    OttSessionProvider,
    OvpSessionProvider,
    PrimitiveResult,
    SessionProvider,
)
from player_sim.providers._netkit import send
from player_sim.rules import CATALOGUE
from player_sim.scenario import Scenario, load_scenario, load_scenario_text, run_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


# --- wrong player cores (what an SDK's SSM client gets wrong) ---------------------------------


class _CoreVariant(PlayerCore):
    """Routes answers and timers to this class's own handlers.

    ``PlayerCore.feed`` dispatches through tables of ``PlayerCore``'s functions, so a
    subclass's override of ``_on_setup_answered`` and the like is silently ignored on
    main (reported to the lead: the SDK seam should dispatch on ``self``)."""

    def feed(self, event: ev.Input) -> tuple[ev.Effect, ...]:
        kind = type(event)
        if kind in _core._ACTION_TRIGGERS or kind not in {*_core._HANDLERS,
                                                         *_core._HEARTBEAT_HANDLERS}:
            return super().feed(event)
        if self._sdk is not None and kind in _core._SSM_ANSWERS:
            answered: Any = event
            event = attrs.evolve(answered, answer=self._sdk.read_answer(answered.answer))
        beat = _core._HEARTBEAT_HANDLERS.get(kind)
        if beat is not None:
            return getattr(self, beat.__name__)(event)  # type: ignore[no-any-return]
        app, playback = self.app, self.playback
        self._effects = []
        getattr(self, _core._HANDLERS[kind].__name__)(event)
        return self._effects_since(app, playback)


class _LicenseBeforeSetupAnswer(_CoreVariant):
    """Sends the license request with the setup, not after its answer."""

    def _enter_stage(self) -> None:
        super()._enter_stage()
        if self.playback.value == "ssm_setup":
            self._emit(ev.SendLicenseRequest(self.playback_id, self.stream or "", None,
                                             ssm_required=True))


class _SkipsSetupAfterFirst(_CoreVariant):
    """Sets up an SSM session for the first playback only: later ones license directly."""

    def _uses_ssm(self) -> bool:
        return super()._uses_ssm() and self.playback_id <= 1


class _AlwaysSsm(_CoreVariant):
    """Talks to SSM even when no SSM server URL was configured."""

    def _uses_ssm(self) -> bool:
        return self.media_ssm


class _ContinuesAfterSetupError(_CoreVariant):
    """Notifies a failed setup, then goes on to the license request anyway."""

    def _on_setup_answered(self, event: ev.SetupAnswered) -> None:
        if event.playback_id == self.playback_id and self.playback.value == "ssm_setup" \
                and not event.answer.ok:
            self._notify_ssm_error("ssm_setup_error", event.answer)
            self._fire(_core.PLAYBACK_MACHINE, "ssm_setup_succeeded")
            return
        super()._on_setup_answered(event)


class _TimerNotRearmed(_CoreVariant):
    """Sends the first heartbeat and forgets to re-arm its timer."""

    def _on_heartbeat_due(self, event: ev.HeartbeatDue) -> tuple[ev.Effect, ...]:
        return tuple(e for e in super()._on_heartbeat_due(event)
                     if not isinstance(e, ev.ArmHeartbeat))


class _NoHeartbeatsInPip(_CoreVariant):
    """Stops sending heartbeats in picture-in-picture (the timer keeps ticking)."""

    def _on_heartbeat_due(self, event: ev.HeartbeatDue) -> tuple[ev.Effect, ...]:
        effects = super()._on_heartbeat_due(event)
        if self.app.value == "pip":
            return tuple(e for e in effects if not isinstance(e, ev.SendHeartbeat))
        return effects


class _SecondTimerAtLicense(_CoreVariant):
    """Arms a second heartbeat timer when the license is granted."""

    def _on_license_answered(self, event: ev.LicenseAnswered) -> None:
        super()._on_license_answered(event)
        if event.granted and self.ssm_token is not None and self.heartbeat_period > 0:
            self._emit(ev.ArmHeartbeat(event.playback_id, self.heartbeat_period + 5.0))


class _EarlyFirstHeartbeat(_CoreVariant):
    """Sends its first heartbeat one second after the setup answer."""

    def _on_setup_answered(self, event: ev.SetupAnswered) -> None:
        super()._on_setup_answered(event)
        self._effects = [ev.ArmHeartbeat(e.playback_id, 1.0)
                         if isinstance(e, ev.ArmHeartbeat) else e for e in self._effects]


class _TeardownWithSetupToken(_CoreVariant):
    """Tears down with the token the setup answered, not the last rotated one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_tokens: dict[int, str] = {}

    def _on_setup_answered(self, event: ev.SetupAnswered) -> None:
        if event.answer.ok and event.answer.token is not None:
            self.setup_tokens.setdefault(event.playback_id, event.answer.token)
        super()._on_setup_answered(event)

    def _send_teardown(self, teardown: ev.SendSsmTeardown) -> None:
        token = self.setup_tokens.get(teardown.playback_id, teardown.token)
        super()._send_teardown(attrs.evolve(teardown, token=token))


class _SetupErrorNotNotified(_CoreVariant):
    """Fails the playback on a setup error without posting the notification."""

    def _notify_ssm_error(self, kind: str, answer: ev.SsmAnswer) -> None:
        return None


class _TeardownErrorOnlyLogged(_CoreVariant):
    """Logs a failed teardown instead of posting ssm_teardown_error."""

    def _on_teardown_answered(self, event: ev.TeardownAnswered) -> None:
        super()._on_teardown_answered(event)
        self._effects = [e for e in self._effects
                         if not (isinstance(e, ev.Notify) and e.kind == "ssm_teardown_error")]


class _HeartbeatErrorNotNotified(_CoreVariant):
    """Keeps heartbeating after a failed heartbeat and tells the app nothing."""

    def _on_heartbeat_answered(self, event: ev.HeartbeatAnswered) -> tuple[ev.Effect, ...]:
        return tuple(e for e in super()._on_heartbeat_answered(event)
                     if not (isinstance(e, ev.Notify) and e.kind == "ssm_heartbeat_error"))


class _TeardownErrorNamesCurrentStream(_CoreVariant):
    """A teardown error names the stream now playing, not the one whose session failed."""

    def _ssm_error_notice(self, kind: str, answer: ev.SsmAnswer, stream: str | None
                          ) -> ev.Notify:
        return super()._ssm_error_notice(kind, answer, self.stream)


class _StuckStopping(_CoreVariant):
    """Never leaves stopping once its blocking teardown is answered."""

    def _on_teardown_answered(self, event: ev.TeardownAnswered) -> None:
        if self.playback.value == "stopping":
            return
        super()._on_teardown_answered(event)


class _RetriesRefusedSetup(_CoreVariant):
    """Sends a refused setup once more before giving up (1007 at the limit)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retried: set[int] = set()

    def _on_setup_answered(self, event: ev.SetupAnswered) -> None:
        if not event.answer.ok and event.playback_id == self.playback_id \
                and self.playback.value == "ssm_setup" and event.playback_id not in self.retried:
            self.retried.add(event.playback_id)
            self._emit(ev.SendSsmSetup(event.playback_id, self.stream or "",
                                       blocking=self.config.sync_ssm_setup_teardown))
            return
        super()._on_setup_answered(event)


class _RetriesFailedHeartbeat(_CoreVariant):
    """Sends a failed heartbeat once more at once, then reports the error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retried: set[int] = set()

    def _on_heartbeat_answered(self, event: ev.HeartbeatAnswered) -> tuple[ev.Effect, ...]:
        token = self.ssm_token
        if not event.answer.ok and token is not None \
                and event.playback_id == self.item_playback_id \
                and event.playback_id not in self.retried:
            self.retried.add(event.playback_id)
            return (ev.SendHeartbeat(event.playback_id, token),)
        return super()._on_heartbeat_answered(event)


class _RetriesFailedTeardown(_CoreVariant):
    """Sends a failed teardown once more."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens: dict[int, ev.SendSsmTeardown] = {}
        self.retried: set[int] = set()

    def _send_teardown(self, teardown: ev.SendSsmTeardown) -> None:
        self.tokens[teardown.playback_id] = teardown
        super()._send_teardown(teardown)

    def _on_teardown_answered(self, event: ev.TeardownAnswered) -> None:
        super()._on_teardown_answered(event)
        sent = self.tokens.get(event.playback_id)
        if not event.answer.ok and sent is not None and event.playback_id not in self.retried:
            self.retried.add(event.playback_id)
            self._send_teardown(attrs.evolve(sent, blocking=False))


class _LoadsWithoutKs(_CoreVariant):
    """When the session provider gives no KS, loads the media with an empty one."""

    def _on_ks_answered(self, event: ev.KsAnswered) -> None:
        if event.ks is None and event.playback_id == self.playback_id \
                and self.playback.value == "obtaining_ks":
            self.ks = ""
            self._fire(_core.PLAYBACK_MACHINE, "ks_obtained")
            return
        super()._on_ks_answered(event)


# --- wrong SDK models and apps ----------------------------------------------------------------


class _GenericErrorMessage(SdkModel):
    """Replaces the server's error message with a generic one in its notifications."""

    def read_answer(self, answer: ev.SsmAnswer, call: str = "") -> ev.SsmAnswer:
        return answer if answer.ok else attrs.evolve(answer, message="SSM error")


class _AlwaysBlockingTeardown(SdkModel):
    """Blocks the main thread for every teardown, sync mode or not."""

    def teardown_blocks(self, sync_configured: bool) -> bool:
        return True


@attrs.frozen
class _ZapsToFallbackChannel(DocumentedAppPolicy):
    """On a heartbeat error, zaps to a fallback channel instead of the same stream."""

    def on_notification(self, player: PlayerView, kind: str,
                        payload: Any) -> Sequence[ev.Action]:
        if kind == "ssm_heartbeat_error" and player.stream is not None:
            return (ev.Zap("fallback-channel"),)
        return ()


# --- wrong session providers ------------------------------------------------------------------


class _LateRefreshOtt(OttSessionProvider):
    """Computes its refresh delta as 1 % of the validity (and says so in the trace)."""

    def _set(self, answer: Any, udid: str | None) -> Any:
        session = super()._set(answer, udid)
        self._session = attrs.evolve(session, refresh_delta=session.refresh_delta / 12)
        return self._session


class _EarlyRefreshOtt(OttSessionProvider):
    """Computes its refresh delta as half the validity."""

    def _set(self, answer: Any, udid: str | None) -> Any:
        session = super()._set(answer, udid)
        self._session = attrs.evolve(session, refresh_delta=session.refresh_delta * 4)
        return self._session


class _WrongPartnerIdOtt(OttSessionProvider):
    """partnerId() reports another partner than the one it logs in with."""

    @property
    def partner_id(self) -> int:
        return super().partner_id + 1


class _NoUnderscoreWidgetOvp(OvpSessionProvider):
    """Asks for a widget session with the partner id alone, without the "_"."""

    def _widget_session(self, partner_id: int, deliver: Callable[[Any], None]) -> None:
        b = self.binding
        send(b, self.variants, "ovp", "session/startWidgetSession",
             lambda: b.ovp.start_widget_session(b.device, str(partner_id)), deliver)


class _DropsCompletionWithoutSession(OttSessionProvider):
    """A token request with no session never calls its completion back."""

    def get_ks(self, completion: KsCompletion) -> None:
        if not self.has_session:
            return
        super().get_ks(completion)


class _NeverRenewsOvp(OvpSessionProvider):
    """Answers the KS it holds, even once it has expired."""

    def get_ks(self, completion: KsCompletion) -> None:
        ks = self.ks
        if self.has_session and ks is not None:
            completion(PrimitiveResult(ks))
            return
        super().get_ks(completion)


class _RelogsInAfterEnd(OttSessionProvider):
    """After its session ended, a token request logs in anonymously on its own."""

    def get_ks(self, completion: KsCompletion) -> None:
        if not self.has_session:
            self.start_anonymous_session()
        super().get_ks(completion)


class _LogoutWithoutCall(OttSessionProvider):
    """Ends a user session by clearing it locally: no ottUser/logout call."""

    def end_session(self, completion: KsCompletion | None = None) -> None:
        session = self._session
        if session is None or session.anonymous:
            super().end_session(completion)
            return
        self._clear("the session was ended; start a new session")
        self.binding.record("session_ended", {"backend": "ott", "anonymous": False,
                                              "ks": session.ks, "server_call": False,
                                              "cleared": True})
        if completion is not None:
            completion(PrimitiveResult(session.ks))


class _SessionEndSkippedOvp(OvpSessionProvider):
    """Ends a user OVP session by clearing it locally: no session/end call."""

    def end_session(self, completion: KsCompletion | None = None) -> None:
        session = self._session
        if session is None or session.anonymous:
            super().end_session(completion)
            return
        self._clear("the session was ended; start a new session")
        self.binding.record("session_ended", {"backend": "ovp", "anonymous": False,
                                              "ks": session.ks, "server_call": False,
                                              "cleared": True})
        if completion is not None:
            completion(PrimitiveResult(session.ks))


class _LogsOutAnonymous(OttSessionProvider):
    """Ends an anonymous session as a user one: ottUser/logout revokes its KS."""

    def end_session(self, completion: KsCompletion | None = None) -> None:
        session = self._session
        if session is None or not session.anonymous:
            super().end_session(completion)
            return
        b, ks = self.binding, session.ks

        def answered(answer: Any) -> None:
            self._clear("the session was ended; start a new session")
            b.record("session_ended", {"backend": "ott", "anonymous": True, "ks": ks,
                                       "server_call": True, "ok": answer.ok, "cleared": True})
            if completion is not None:
                completion(PrimitiveResult(ks))

        send(b, self.variants, "ott", "ottUser/logout",
             lambda: b.ott.logout(b.device, ks, session.udid), answered, ks=ks)


class _AnswersEndedKs(OttSessionProvider):
    """After logout, a token request is answered with the ended session's KS."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_ks: str | None = None

    def get_ks(self, completion: KsCompletion) -> None:
        if self._session is not None:
            self.last_ks = self._session.ks
        elif self.last_ks is not None:
            completion(PrimitiveResult(self.last_ks))
            return
        super().get_ks(completion)


class _KeepsSessionAfterEndOvp(OvpSessionProvider):
    """Calls session/end but keeps the session (and its login) for later renewals."""

    def end_session(self, completion: KsCompletion | None = None) -> None:
        session = self._session
        super().end_session(completion)
        self._session = session


class _DoubledApiPathOvp(OvpSessionProvider):
    """Keeps its base URL with the api_v3/ path, which the SDK appends again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._base_url = self._base_url + "api_v3/"


class _PassesRefreshErrorThrough(OttSessionProvider):
    """A refused refresh reaches the app with the backend's code, not session error 601."""

    def _refresh_failed(self, cause: Any, old: Any, own: KsCompletion | None) -> None:
        self.binding.record("ks_refresh_failed", {"backend": "ott", "code": cause.code,
                                                  "message": cause.message, "cleared": False})
        self._answer(PrimitiveResult(error=cause), own)


def _provider(cls: type[OttSessionProvider] | type[OvpSessionProvider]
              ) -> Callable[[DeviceConfig], DeviceConfig]:
    """Each device's built-in provider of ``cls``'s backend rebuilt as ``cls`` (same base
    URL, partner id and client variant)."""
    family = OttSessionProvider if issubclass(cls, OttSessionProvider) else OvpSessionProvider

    def configure(config: DeviceConfig) -> DeviceConfig:
        old: SessionProvider | None = config.session_provider
        if not isinstance(old, family):
            return config
        kwargs: dict[str, Any] = {"variant": old.variants} if hasattr(old, "variants") else {}
        new = cls(old.base_url, old.partner_id, **kwargs)
        return attrs.evolve(config, session_provider=new)

    return configure


def _each_sends_refresh(config: DeviceConfig) -> DeviceConfig:
    """The OTT provider of ``config`` with iOS's concurrency: each request refreshes."""
    old = config.session_provider
    assert isinstance(old, OttSessionProvider)
    variants = attrs.evolve(old.variants, concurrent_refresh="each-sends")
    return attrs.evolve(config, session_provider=OttSessionProvider(
        old.base_url, old.partner_id, variant=variants))


def _sdk(sdk: SdkModel) -> Callable[[DeviceConfig], DeviceConfig]:
    return lambda config: attrs.evolve(config, sdk=sdk)


def _policy(cls: type[DocumentedAppPolicy]) -> Callable[[DeviceConfig], DeviceConfig]:
    def configure(config: DeviceConfig) -> DeviceConfig:
        if not isinstance(config.policy, DocumentedAppPolicy):
            return config
        return attrs.evolve(config, policy=cls(**attrs.asdict(config.policy)))

    return configure


def _config(**changes: Any) -> Callable[[DeviceConfig], DeviceConfig]:
    return lambda config: attrs.evolve(config, **changes)


# --- broken backends and device shells (no realistic client breaks these) ---------------------


def _never_refuses(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(SsmServer, "_check_limits", lambda self, *a, **k: None)


def _never_expires(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(SsmServer, "_check_expiry", lambda self, session: None)


def _teardown_answers_200(mp: pytest.MonkeyPatch) -> None:
    real = SsmServer.teardown

    def teardown(self: SsmServer, device: str, token: str, **kw: Any) -> ev.SsmAnswer:
        answer = real(self, device, token, **kw)
        return attrs.evolve(answer, http_status=200) if answer.http_status == 204 else answer

    mp.setattr(SsmServer, "teardown", teardown)


def _kill_keeps_session(mp: pytest.MonkeyPatch) -> None:
    def kill(self: SsmServer, sessions: list[Any]) -> int:
        for session in sessions:
            self._host.record(session.device, "ssm_session_killed",
                              {"session": session.session_id, "account": session.account,
                               "active": len(self.active_sessions(session.account))})
        return len(sessions)

    mp.setattr(SsmServer, "_kill", kill)


def _heartbeats_in_background(mp: pytest.MonkeyPatch) -> None:
    from player_sim.world import _device_ssm

    def due(self: Any, timer: Any) -> None:
        if not self.killed and timer[1] == self._launch:
            self._run(self.core.feed(timer[0]))

    mp.setattr(_device_ssm._SsmTraffic, "_heartbeat_due", due)


def _cap_ignored(mp: pytest.MonkeyPatch) -> None:
    from player_sim.world import _device_ssm

    real = _device_ssm._SsmTraffic._block_for
    mp.setattr(_device_ssm._SsmTraffic, "_block_for",
               lambda self, rid, cap, of: real(self, rid, None, of))


def _killed_app_tears_down(mp: pytest.MonkeyPatch) -> None:
    from player_sim.world import _device

    real = _device.Device.kill

    def kill(self: Any) -> None:
        token = self.core.ssm_token
        real(self)
        if token is not None:
            self.world.ssm.teardown(self.name, token)

    mp.setattr(_device.Device, "kill", kill)


def _issued_via(backend: str, wrong: dict[str, str]) -> Callable[[pytest.MonkeyPatch], None]:
    """The backend's ledger records KSs of ``wrong``'s calls as issued by another call."""

    def patch(mp: pytest.MonkeyPatch) -> None:
        from player_sim.backends import _ks

        real = _ks.KsLedger.issue

        def issue(self: Any, device: str | None, *, via: str, **kw: Any) -> Any:
            if self._backend == backend:
                via = wrong.get(via, via)
            return real(self, device, via=via, **kw)

        mp.setattr(_ks.KsLedger, "issue", issue)

    return patch


def _short_ovp_user_ks(mp: pytest.MonkeyPatch) -> None:
    from player_sim.backends import _ks

    real = _ks.KsLedger.issue

    def issue(self: Any, device: str | None, *, via: str, validity: float, **kw: Any) -> Any:
        if via == "user/loginByLoginId":
            validity = 3600.0
        return real(self, device, via=via, validity=validity, **kw)

    mp.setattr(_ks.KsLedger, "issue", issue)


def _refresh_changes_partner(mp: pytest.MonkeyPatch) -> None:
    from player_sim.backends import _ks

    real = _ks.KsLedger.issue

    def issue(self: Any, device: str | None, *, via: str, partner_id: int, **kw: Any) -> Any:
        if via == "ottUser/refreshSession":
            partner_id += 1
        return real(self, device, via=via, partner_id=partner_id, **kw)

    mp.setattr(_ks.KsLedger, "issue", issue)


# --- the table --------------------------------------------------------------------------------

_TWO_REQUESTS_PAST_EXPIRY = """
name: A play and a zap at the same instant, the KS expired
include: _kaltura.yaml
world:
  ott: {ks_validity: 1h}
devices:
  tablet:
    account: alice
    session_provider: {backend: ott, partner_id: 3009}
steps:
  - login: {device: tablet, username: alice, password: secret}
  - at: 1h1m
  - play: {device: tablet, stream: asset-1}
  - zap: {device: tablet, stream: asset-2}
  - wait: 1m
"""

_OVP_END_THEN_PLAY_A_DAY_LATER = """
name: An OVP user session ended; a play a day later
include: _kaltura.yaml
devices:
  laptop:
    account: bob
    session_provider: {backend: ovp, partner_id: 2215841}
steps:
  - login: {device: laptop, username: bob@example.com, password: secret}
  - wait: 1m
  - end_session: laptop
  - wait: 25h
  - play: {device: laptop, stream: 1_lecture}
  - wait: 1m
"""

_PLAY_STOP_PLAY = """
name: Play, stop, play again
include: _world.yaml
devices:
  phone: {account: alice}
steps:
  - play: {device: phone, stream: channel-1}
  - wait: 40s
  - stop: phone
  - wait: 10s
  - play: {device: phone, stream: channel-2}
  - wait: 40s
"""


@attrs.frozen
class Breaker:
    """A wrong variant that breaks one rule in a run of ``scenario``.

    ``configure`` changes each device's configuration (SDK model, app policy, session
    provider); ``core`` replaces the player core; ``patch`` breaks the simulated
    backend or device shell (``broken`` says which, for rules no client can break).
    ``edits`` are text replacements that make a bundled scenario the run needed
    (e.g. a longer wait); ``text`` a scenario of its own instead; ``also`` the rules
    the same wrong act necessarily breaks too.
    """

    variant: str
    scenario: str
    configure: Callable[[DeviceConfig], DeviceConfig] | None = None
    core: type[PlayerCore] | None = None
    patch: Callable[[pytest.MonkeyPatch], None] | None = None
    broken: str = "client"
    also: frozenset[str] = frozenset()
    edits: tuple[tuple[str, str], ...] = ()
    text: str | None = None

    def load(self) -> Scenario:
        if self.text is not None:
            return load_scenario_text(self.text, str(SCENARIOS / "_breaker.yaml"))
        path = SCENARIOS / self.scenario
        if not self.edits:
            return load_scenario(path)
        text = path.read_text(encoding="utf-8")
        for old, new in self.edits:
            assert old in text, f"{self.scenario} no longer has {old!r}"
            text = text.replace(old, new)
        return load_scenario_text(text, str(path))


BREAKERS: dict[str, Breaker] = {
    # --- SSM: the SDK's client ---------------------------------------------------------------
    "ssm.setup.before-license": Breaker(
        "core: sends the license request with the setup, before its answer",
        "setup_before_license.scenario.yaml", core=_LicenseBeforeSetupAnswer),
    "ssm.setup.every-playback": Breaker(
        "core: sets up SSM for the first playback only", "", text=_PLAY_STOP_PLAY,
        core=_SkipsSetupAfterFirst, also=frozenset({"ssm.setup.before-license"})),
    "ssm.no-ssm-no-traffic": Breaker(
        "core: talks to SSM though no SSM server URL was configured",
        "no_ssm_no_traffic.scenario.yaml", core=_AlwaysSsm),
    "ssm.license.carries-token": Breaker(
        "SDK: the license request carries no session token", "setup_before_license.scenario.yaml",
        configure=_sdk(LicenseWithoutToken())),
    "ssm.setup.failure-stops": Breaker(
        "core: goes on to the license after a failed setup",
        "limit_refuses_third_device.scenario.yaml",
        core=_ContinuesAfterSetupError, also=frozenset({"ssm.setup.before-license"})),
    "ssm.heartbeat.keeps-session": Breaker(
        "core: the heartbeat timer is not re-armed", "heartbeat_keeps_session.scenario.yaml",
        core=_TimerNotRearmed),
    "ssm.teardown.on-stop": Breaker(
        "SDK: never sends the teardown", "teardown_on_stop.scenario.yaml",
        configure=_sdk(NeverTearsDown())),
    "ssm.teardown.on-item-release": Breaker(
        "SDK: never sends the teardown", "release_item.scenario.yaml",
        configure=_sdk(NeverTearsDown())),
    "ssm.stop.completes": Breaker(
        "core: stays in stopping after its blocking teardown is answered",
        "sync_mode_freezes_ui.scenario.yaml", core=_StuckStopping,
        edits=(("  - wait: 10s", "  - wait: 40s"),)),
    "ssm.sync.blocks-main-thread": Breaker(
        "SDK: every teardown blocks the main thread, sync mode or not",
        "async_mode_never_blocks.scenario.yaml", configure=_sdk(_AlwaysBlockingTeardown())),
    "ssm.errors.setup-notified": Breaker(
        "core: fails on a setup error without posting it",
        "limit_refuses_third_device.scenario.yaml",
        core=_SetupErrorNotNotified),
    "ssm.errors.teardown-notified": Breaker(
        "core: a failed teardown is only logged", "teardown_error_notified.scenario.yaml",
        core=_TeardownErrorOnlyLogged),
    "ssm.errors.heartbeat-notified": Breaker(
        "core: an iOS client that tells the app nothing of a failed heartbeat",
        "heartbeat_error_zap.scenario.yaml", core=_HeartbeatErrorNotNotified,
        configure=_config(profile="ios")),
    "ssm.errors.carry-codes": Breaker(
        "SDK: notifications carry a generic message, not the server's",
        "teardown_error_notified.scenario.yaml", configure=_sdk(_GenericErrorMessage())),
    "ssm.errors.stop-playback": Breaker(
        "app: reacts to the heartbeat error after 20 s", "heartbeat_error_zap.scenario.yaml",
        configure=_config(app_reaction_delay=20.0),
        also=frozenset({"ssm.background.heartbeat-error-zap"})),
    "ssm.background.resume-if-no-error": Breaker(
        "app: resumes after background without checking for an SSM error",
        "background_error_waiting.scenario.yaml", configure=_policy(ResumesWithoutChecking),
        also=frozenset({"ssm.errors.stop-playback"})),  # resuming IS continuing
    "ssm.background.heartbeat-error-zap": Breaker(
        "app: zaps to a fallback channel, not the same stream", "heartbeat_error_zap.scenario.yaml",
        configure=_policy(_ZapsToFallbackChannel)),
    "ssm.pip.runs-normally": Breaker(
        "core: no heartbeats in picture-in-picture", "pip_runs_normally.scenario.yaml",
        core=_NoHeartbeatsInPip),
    "ssm.heartbeat.token-rotation": Breaker(
        "SDK: keeps the first session token", "heartbeat_keeps_session.scenario.yaml",
        configure=_sdk(ReusesStaleToken())),
    "ssm.errors.body-decides": Breaker(
        # Taking each denial for success, it notifies none and licenses without a session.
        "SDK: checks the HTTP status only", "legacy_200_denial.scenario.yaml",
        configure=_sdk(StatusOnlyErrors()),
        also=frozenset({"ssm.errors.setup-notified", "ssm.errors.teardown-notified",
                        "ssm.setup.before-license"})),
    "ssm.zap.replaces-session": Breaker(
        "SDK: never sends the teardown", "teardown_error_names_old_stream.scenario.yaml",
        configure=_sdk(NeverTearsDown()), edits=(("  - wait: 5s", "  - wait: 30s"),)),
    "ssm.zap.no-self-limit": Breaker(
        "SDK: tears down asynchronously in sync mode", "sync_zap_at_limit.scenario.yaml",
        configure=_sdk(AsyncTeardownInSyncMode())),
    "ssm.errors.names-stream": Breaker(
        "core: a teardown error names the stream now playing",
        "teardown_error_names_old_stream.scenario.yaml", core=_TeardownErrorNamesCurrentStream),
    "ssm.setup.late-answer-torn-down": Breaker(
        "variant: the iOS plugin skips the teardown of a late setup answer",
        "stop_during_setup_web_tears_down.scenario.yaml",
        configure=_config(variants={"stop_during_setup": "skip-teardown"})),
    "ssm.heartbeat.first-after-period": Breaker(
        "core: the first heartbeat goes one second after the setup answer",
        "heartbeat_keeps_session.scenario.yaml", core=_EarlyFirstHeartbeat),
    "ssm.heartbeat.one-timer": Breaker(
        "core: arms a second heartbeat timer at the license answer",
        "heartbeat_keeps_session.scenario.yaml", core=_SecondTimerAtLicense),
    "ssm.teardown.ends-session": Breaker(
        "core: tears down with the setup's token, not the last rotated one",
        "teardown_on_stop.scenario.yaml", core=_TeardownWithSetupToken),
    "ssm.setup.no-retry": Breaker(
        "core: sends a setup refused with 1007 once more",
        "limit_refuses_third_device.scenario.yaml",
        core=_RetriesRefusedSetup),
    "ssm.heartbeat.no-retry": Breaker(
        "core: sends a failed heartbeat once more at once",
        "operator_kill_documented.scenario.yaml",
        core=_RetriesFailedHeartbeat, also=frozenset({"ssm.heartbeat.one-timer"})),
    "ssm.teardown.no-retry": Breaker(
        "core: sends a failed teardown once more", "teardown_error_notified.scenario.yaml",
        core=_RetriesFailedTeardown),
    "ssm.sync.capped-wait": Breaker(
        "device shell: the iOS cap on the synchronous wait is ignored",
        "sync_cap_ios.scenario.yaml",
        patch=_cap_ignored, broken="device shell"),
    # --- SSM: the server, the OS, the world ---------------------------------------------------
    "ssm.setup.limit-refuses": Breaker(
        "backend: the SSM server never refuses at the limit",
        "limit_refuses_third_device.scenario.yaml",
        patch=_never_refuses, broken="backend"),
    "ssm.session.expires": Breaker(
        "backend: sessions never expire", "session_timeout_default.scenario.yaml",
        patch=_never_expires, broken="backend"),
    "ssm.teardown.answers-204": Breaker(
        "backend: a successful teardown answers 200", "teardown_on_stop.scenario.yaml",
        patch=_teardown_answers_200, broken="backend"),
    "ssm.kill.operator-heartbeat-fails": Breaker(
        "backend: an operator kill leaves the session alive",
        "operator_kill_documented.scenario.yaml",
        patch=_kill_keeps_session, broken="backend"),
    "ssm.background.suspends": Breaker(
        # Its answers still wait for the foreground: each heartbeat reuses a rotated token.
        "device shell: timers run in normal background",
        "background_long_loses_session.scenario.yaml",
        patch=_heartbeats_in_background, broken="device shell",
        also=frozenset({"ssm.heartbeat.token-rotation"})),
    "ssm.kill.no-teardown": Breaker(
        "device shell: a killed app still tears its session down",
        "zombie_after_kill.scenario.yaml",
        patch=_killed_app_tears_down, broken="device shell"),
    # --- session providers ------------------------------------------------------------------------
    "provider.ks.completes": Breaker(
        "provider: a token request with no session is never called back",
        "ks_failure_no_media_call.scenario.yaml",
        configure=_provider(_DropsCompletionWithoutSession),
        edits=(("  - wait: 1m", "  - wait: 6m"),)),  # past the 300 s a request may take
    "provider.ott.refresh-before-expiry": Breaker(
        "provider: computes its refresh delta as 1 % of the validity",
        "ott_refresh_android.scenario.yaml", configure=_provider(_LateRefreshOtt)),
    "provider.ott.refresh-margin": Breaker(
        "provider: computes its refresh delta as half the validity",
        "ott_refresh_android.scenario.yaml", configure=_provider(_EarlyRefreshOtt)),
    "provider.ott.renew-after-expiry": Breaker(
        "provider: never refreshes or renews", "ott_renew_after_expiry.scenario.yaml",
        configure=_provider(NeverRefreshesKs)),
    "provider.ovp.renew-after-expiry": Breaker(
        "provider: answers the OVP KS it holds once expired", "ovp_widget_session.scenario.yaml",
        configure=_provider(_NeverRenewsOvp)),
    "provider.partner-id.configured": Breaker(
        "provider: partnerId() reports another partner", "ott_user_login_play.scenario.yaml",
        configure=_provider(_WrongPartnerIdOtt)),
    "provider.ovp.widget-id": Breaker(
        "provider: the widget id lacks the \"_\"", "ovp_widget_session.scenario.yaml",
        configure=_provider(_NoUnderscoreWidgetOvp)),
    "provider.ended.no-reuse": Breaker(
        "provider: after logout a token request logs in anonymously on its own",
        "ott_logout_ends_session.scenario.yaml", configure=_provider(_RelogsInAfterEnd)),
    "provider.ott.logout-ends": Breaker(
        "provider: ends a user session locally, without ottUser/logout",
        "ott_logout_ends_session.scenario.yaml", configure=_provider(_LogoutWithoutCall)),
    "provider.ovp.session-end": Breaker(
        "provider: ends a user OVP session locally, without session/end",
        "ovp_user_login_end.scenario.yaml", configure=_provider(_SessionEndSkippedOvp)),
    "provider.anonymous.cannot-end": Breaker(
        "provider: ends an anonymous session with ottUser/logout",
        "ott_anonymous_end_keeps_ks.scenario.yaml", configure=_provider(_LogsOutAnonymous)),
    "provider.ended.requests-fail": Breaker(
        # The ended KS is handed out (no session: not ready) and the media load sends it.
        "provider: after logout, answers the ended session's KS",
        "ott_logout_ends_session.scenario.yaml", configure=_provider(_AnswersEndedKs),
        edits=(("  - wait: 1d", "  - wait: 1m"),),
        also=frozenset({"provider.ready-after-start", "provider.ended.no-reuse"})),
    "provider.ready-after-start": Breaker(
        "provider: after logout, answers the ended session's KS",
        "ott_logout_ends_session.scenario.yaml", configure=_provider(_AnswersEndedKs),
        edits=(("  - wait: 1d", "  - wait: 1m"),),
        also=frozenset({"provider.ended.requests-fail", "provider.ended.no-reuse"})),
    "provider.ended.cannot-renew": Breaker(
        # The renewed KS is answered while no session is started: not ready either.
        "provider: keeps its OVP user session after session/end and renews it later", "",
        text=_OVP_END_THEN_PLAY_A_DAY_LATER, configure=_provider(_KeepsSessionAfterEndOvp),
        also=frozenset({"provider.ready-after-start"})),
    "provider.base-url.host-only": Breaker(
        "provider: its OVP base URL carries the api_v3/ path", "base_url_api_path.scenario.yaml",
        configure=_provider(_DoubledApiPathOvp)),
    "provider.media.uses-session-provider": Breaker(
        "core: loads the media with an empty KS when the session provider fails",
        "ks_failure_no_media_call.scenario.yaml", core=_LoadsWithoutKs),
    "provider.ott.one-refresh": Breaker(
        "provider: each concurrent token request past expiry sends its own refresh",
        "", text=_TWO_REQUESTS_PAST_EXPIRY, configure=_each_sends_refresh),
    "provider.ott.refresh-error-601": Breaker(
        "provider: a refused refresh reaches the app with the backend's code",
        "ott_failed_refresh_android_keeps.scenario.yaml",
        configure=_provider(_PassesRefreshErrorThrough)),
    "provider.ks.partner-id": Breaker(
        "backend: a refresh issues the KS for another partner", "ott_refresh_android.scenario.yaml",
        patch=_refresh_changes_partner, broken="backend",
        also=frozenset({"provider.partner-id.configured"})),
    "provider.ott.anonymous-login": Breaker(
        "backend: anonymous KSs are recorded as issued by ottUser/login",
        "ott_anonymous_end_keeps_ks.scenario.yaml", broken="backend",
        patch=_issued_via("ott", {"ottUser/anonymousLogin": "ottUser/login"})),
    "provider.ott.user-login": Breaker(
        "backend: user KSs are recorded as issued by ottUser/anonymousLogin",
        "ott_user_login_play.scenario.yaml", broken="backend",
        patch=_issued_via("ott", {"ottUser/login": "ottUser/anonymousLogin"})),
    "provider.ovp.widget-session": Breaker(
        "backend: widget KSs are recorded as issued by user/loginByLoginId",
        "ovp_widget_session.scenario.yaml", broken="backend",
        patch=_issued_via("ovp", {"session/startWidgetSession": "user/loginByLoginId"})),
    "provider.ovp.user-login": Breaker(
        "backend: user KSs are recorded as issued by session/startWidgetSession",
        "ovp_user_login_end.scenario.yaml", broken="backend",
        patch=_issued_via("ovp", {"user/loginByLoginId": "session/startWidgetSession"})),
    "provider.ovp.valid-24h": Breaker(
        "backend: OVP user KSs are valid for one hour", "ovp_user_login_end.scenario.yaml",
        patch=_short_ovp_user_ks, broken="backend"),
}

def _broken_rules(breaker: Breaker, mp: pytest.MonkeyPatch, *, wrong: bool) -> set[str]:
    if wrong:
        if breaker.core is not None:
            from player_sim.world import _device_base

            mp.setattr(_device_base, "PlayerCore", breaker.core)
        if breaker.patch is not None:
            breaker.patch(mp)
    result = run_scenario(breaker.load(),
                          configure_device=breaker.configure if wrong else None)
    if not wrong:
        assert result.passed, [f.message for f in result.failures]
    return {f.text for f in result.failures if f.kind == "rule"}


def test_every_rule_of_the_catalogue_has_a_realistic_breaker() -> None:
    missing = sorted(set(CATALOGUE) - set(BREAKERS))
    assert not missing, f"give these rules a realistic wrong variant in BREAKERS: {missing}"
    assert set(BREAKERS) <= set(CATALOGUE)
    for rule_id, breaker in BREAKERS.items():
        assert rule_id not in breaker.also and breaker.also <= set(CATALOGUE)
        assert (breaker.patch is None) == (breaker.broken == "client"), rule_id


@pytest.mark.parametrize("rule_id", sorted(BREAKERS))
def test_the_wrong_variant_breaks_exactly_its_rule(rule_id: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    breaker = BREAKERS[rule_id]
    assert _broken_rules(breaker, monkeypatch, wrong=False) == set()
    assert _broken_rules(breaker, monkeypatch, wrong=True) == {rule_id, *breaker.also}
