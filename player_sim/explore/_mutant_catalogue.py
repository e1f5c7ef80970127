"""The bundled mutants' variant classes: SDK, app and provider bugs real players ship.

Each class is written as a QA team would write its own variant: a subclass of
:class:`~player_sim.SdkModel`, :class:`~player_sim.DocumentedAppPolicy`,
:class:`~player_sim.OttSessionProvider` or :class:`~player_sim.OvpSessionProvider`
that overrides public hooks only (no underscore). :data:`~._mutants.MUTANTS`
names each with the document sentence it breaks. Every class is defined at
module level, so mutants pickle (campaigns may run them on a process pool).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._messages import SsmAnswer
from ..player import DocumentedAppPolicy, PlaybackState, PlayerView, SdkModel, SsmCall
from ..player import _events as ev
from ..providers import (
    KsCompletion,
    OttSessionProvider,
    OvpSessionProvider,
    PrimitiveResult,
)

__all__ = [
    "AsyncTeardownInSyncMode", "BlockingTeardownInAsyncMode", "FixedHeartbeatPeriod",
    "HeartbeatErrorNotNotified", "HeartbeatTimerSurvivesStop", "HeartbeatWithSetupToken",
    "HeartbeatsInBackground", "HeartbeatsStopInPip", "IgnoresHeartbeatErrors",
    "LicenseBeforeSetupAnswer", "LicenseWithoutToken", "NeverRefreshesKs",
    "NeverTearsDown", "NotifiesWithoutHttpStatus", "NotifiesWithoutSsmCode",
    "OttRefreshesAfterExpiry", "OttReusesEndedKs", "OvpNeverRenews", "OvpReusesEndedKs",
    "OvpWidgetIdWithoutUnderscore", "OvpWrongPartnerId", "ResumesDespiteError",
    "ResumesWithoutChecking", "RetriesHeartbeat", "RetriesSetupAt1007",
    "RetriesTeardown", "ReusesStaleToken", "SetupErrorNotNotified", "StatusOnlyErrors",
    "StopsOnHeartbeatErrorInPipOnly", "SyncSetupDoesNotBlock", "TeardownErrorOnlyLogged",
    "TeardownWithSetupToken", "WrongOttPartnerId", "ZapsToAnotherStream",
]


# --- SDK: tokens ---------------------------------------------------------------------------

class ReusesStaleToken(SdkModel):
    """Keeps sending the first session token: ignores heartbeat token rotation."""

    def rotates_tokens(self) -> bool:
        return False


class HeartbeatWithSetupToken(SdkModel):
    """Stores the rotated token but keeps heartbeating with the setup's one."""

    def heartbeat_token(self, current: str, setup_token: str) -> str:
        return setup_token


class TeardownWithSetupToken(SdkModel):
    """Tears the session down with the token the setup answered, not the current one."""

    def teardown_token(self, current: str, setup_token: str) -> str:
        return setup_token


class LicenseWithoutToken(SdkModel):
    """Sends the license request without the SSM session token."""

    def license_token(self, token: str | None) -> str | None:
        return None


# --- SDK: when calls are sent ---------------------------------------------------------------

class LicenseBeforeSetupAnswer(SdkModel):
    """Sends a license request as soon as the setup leaves, before its answer."""

    def license_waits_for_setup(self) -> bool:
        return False


class FixedHeartbeatPeriod(SdkModel):
    """Ignores the period the setup answers: heartbeats every 30 s, hard-coded."""

    def heartbeat_period(self, answered: float) -> float:
        return 30.0 if answered > 0 else 0.0


class HeartbeatsStopInPip(SdkModel):
    """Treats picture-in-picture like normal background: the timer sends nothing."""

    def heartbeats_in(self, app: str) -> bool:
        return app == "foreground"


class HeartbeatsInBackground(SdkModel):
    """Keeps SSM running in normal background (a background task keeps the timer)."""

    def heartbeats_in(self, app: str) -> bool:
        return True


class HeartbeatTimerSurvivesStop(SdkModel):
    """Does not cancel the heartbeat timer when the session is released: it goes on
    with the released token."""

    def cancels_heartbeat_on_stop(self) -> bool:
        return False


class NeverTearsDown(SdkModel):
    """Releases the player item but never sends the SSM teardown."""

    def sends_teardown(self) -> bool:
        return False


class AsyncTeardownInSyncMode(SdkModel):
    """Tears down asynchronously even with syncSSMSetupTeardown: the new stream's
    setup races the old teardown, and at the session limit the zap fails."""

    def teardown_blocks(self, sync_configured: bool) -> bool:
        return False


class BlockingTeardownInAsyncMode(SdkModel):
    """Blocks the main thread for every teardown, even without syncSSMSetupTeardown."""

    def teardown_blocks(self, sync_configured: bool) -> bool:
        return True


class SyncSetupDoesNotBlock(SdkModel):
    """With syncSSMSetupTeardown, sends the setup without blocking the main thread."""

    def setup_blocks(self, sync_configured: bool) -> bool:
        return False


# --- SDK: answers and errors ----------------------------------------------------------------

class StatusOnlyErrors(SdkModel):
    """Checks the HTTP status only: a 200 whose body carries an SSM error code is
    taken as success (a missing token read as empty)."""

    def read_answer(self, answer: SsmAnswer, call: SsmCall) -> SsmAnswer:
        if 200 <= answer.http_status < 300 and answer.ssm_code is not None:
            token = answer.token if answer.token is not None else ""
            return attrs.evolve(answer, ssm_code=None, token=token)
        return answer


class SetupErrorNotNotified(SdkModel):
    """Fails the playback on a setup error without posting the notification."""

    def notifies_error(self, call: SsmCall, answer: SsmAnswer) -> bool:
        return call != "setup"


class HeartbeatErrorNotNotified(SdkModel):
    """Drops the session on a heartbeat error without posting the notification."""

    def notifies_error(self, call: SsmCall, answer: SsmAnswer) -> bool:
        return call != "heartbeat"


class TeardownErrorOnlyLogged(SdkModel):
    """Only logs a teardown error: no notification."""

    def notifies_error(self, call: SsmCall, answer: SsmAnswer) -> bool:
        return call != "teardown"


class NotifiesWithoutHttpStatus(SdkModel):
    """Posts SSM errors with HTTP status 0 instead of the answer's."""

    def error_notice(self, call: SsmCall, answer: SsmAnswer) -> SsmAnswer:
        return attrs.evolve(answer, http_status=0)


class NotifiesWithoutSsmCode(SdkModel):
    """Posts SSM errors without the SSM error code the body carried."""

    def error_notice(self, call: SsmCall, answer: SsmAnswer) -> SsmAnswer:
        return attrs.evolve(answer, ssm_code=None)


class RetriesSetupAt1007(SdkModel):
    """Retries a setup refused with 1007 (too many sessions), up to three times."""

    def retries(self, call: SsmCall, answer: SsmAnswer, attempt: int) -> bool:
        return call == "setup" and answer.ssm_code == 1007 and attempt <= 3


class RetriesHeartbeat(SdkModel):
    """Sends a failed heartbeat again (twice) before giving up."""

    def retries(self, call: SsmCall, answer: SsmAnswer, attempt: int) -> bool:
        return call == "heartbeat" and attempt <= 2


class RetriesTeardown(SdkModel):
    """Sends a failed teardown again (twice) before giving up."""

    def retries(self, call: SsmCall, answer: SsmAnswer, attempt: int) -> bool:
        return call == "teardown" and attempt <= 2


# --- apps --------------------------------------------------------------------------------------

@attrs.frozen
class IgnoresHeartbeatErrors(DocumentedAppPolicy):
    """Keeps playing after ``ssm_heartbeat_error``: no stop, no zap."""

    def on_ssm_heartbeat_error(self, player: PlayerView,
                               payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        return ()


@attrs.frozen
class ResumesWithoutChecking(DocumentedAppPolicy):
    """Back from background, resumes a paused playback without checking for an SSM
    error; it handles error notifications only while a stream is playing, so an
    error that waited for it in the background goes unseen."""

    def on_notification(self, player: PlayerView, kind: str,
                        payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        if player.playback is PlaybackState.PAUSED:
            return ()
        return super().on_notification(player, kind, payload)

    def resumes(self, player: PlayerView) -> bool:
        return True


@attrs.frozen
class ResumesDespiteError(DocumentedAppPolicy):
    """Handles heartbeat errors while playing, but back from background resumes a
    paused playback whatever was notified meanwhile."""

    def on_ssm_heartbeat_error(self, player: PlayerView,
                               payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        if player.playback is PlaybackState.PAUSED:
            return ()  # "it will be handled when the user comes back"
        return super().on_ssm_heartbeat_error(player, payload)

    def resumes(self, player: PlayerView) -> bool:
        return True


@attrs.frozen
class ZapsToAnotherStream(DocumentedAppPolicy):
    """After a heartbeat error, zaps to a fallback channel instead of the same stream."""

    def zap_target(self, player: PlayerView, payload: Mapping[str, Any]) -> str | None:
        return f"{player.stream}-fallback"


@attrs.frozen
class StopsOnHeartbeatErrorInPipOnly(DocumentedAppPolicy):
    """Reacts to heartbeat errors only in picture-in-picture (its foreground handler
    was lost in a refactoring)."""

    def on_ssm_heartbeat_error(self, player: PlayerView,
                               payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        if player.app.value != "pip":
            return ()
        return super().on_ssm_heartbeat_error(player, payload)


# --- session providers --------------------------------------------------------------------------

class NeverRefreshesKs(OttSessionProvider):
    """Answers the KS it holds, expiring or expired: never refreshes, never renews."""

    def get_ks(self, completion: KsCompletion) -> None:
        ks = self.ks
        if self.has_session and ks is not None:
            completion(PrimitiveResult(ks))
            return
        super().get_ks(completion)


class OttRefreshesAfterExpiry(OttSessionProvider):
    """Refreshes the KS only once it has expired, whatever its refresh margin."""

    def get_ks(self, completion: KsCompletion) -> None:
        ks, expires_at = self.ks, self.expires_at
        if ks is not None and expires_at is not None and expires_at > self.now:
            completion(PrimitiveResult(ks))
            return
        super().get_ks(completion)


class OttReusesEndedKs(OttSessionProvider):
    """After the session ended (logout), keeps answering its last KS."""

    ended_ks: str | None = None

    def end_session(self, completion: KsCompletion | None = None) -> None:
        self.ended_ks = self.ks
        super().end_session(completion)

    def get_ks(self, completion: KsCompletion) -> None:
        if not self.has_session and self.ended_ks is not None:
            completion(PrimitiveResult(self.ended_ks))
            return
        super().get_ks(completion)


class WrongOttPartnerId(OttSessionProvider):
    """Reports another partner id than the one its KS was created for."""

    @property
    def partner_id(self) -> int:
        return super().partner_id + 1


class OvpWidgetIdWithoutUnderscore(OvpSessionProvider):
    """Starts widget sessions with the bare partner id as widget id (no ``_``)."""

    def widget_id(self, partner_id: int) -> str:
        return str(partner_id)


class OvpWrongPartnerId(OvpSessionProvider):
    """Reports another partner id than the one its KS was created for."""

    @property
    def partner_id(self) -> int:
        return super().partner_id + 1


class OvpNeverRenews(OvpSessionProvider):
    """Answers the KS it holds, even expired: never renews."""

    def get_ks(self, completion: KsCompletion) -> None:
        ks = self.ks
        if ks is not None:
            completion(PrimitiveResult(ks))
            return
        super().get_ks(completion)


class OvpReusesEndedKs(OvpSessionProvider):
    """After the session ended, keeps answering its last KS."""

    ended_ks: str | None = None

    def end_session(self, completion: KsCompletion | None = None) -> None:
        self.ended_ks = self.ks
        super().end_session(completion)

    def get_ks(self, completion: KsCompletion) -> None:
        if not self.has_session and self.ended_ks is not None:
            completion(PrimitiveResult(self.ended_ks))
            return
        super().get_ks(completion)
