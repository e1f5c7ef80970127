"""What goes into the player core, and what comes out of it.

Inputs are *actions* (what the user or the app asks for) and *answers* (what
the network brought back, or a timer that fired). Outputs are *effects*: the
requests to send, the timers to arm and the notifications to post. All are
small frozen values; the core never performs an effect itself.
"""

from __future__ import annotations

from typing import Any

import attrs

from .._messages import SsmAnswer  # shared with the backends; public here

__all__ = [
    "Action",
    "Answer",
    "ArmHeartbeat",
    "ClosePip",
    "ContentTokenMissing",
    "Effect",
    "EndSession",
    "EnterBackground",
    "EnterForeground",
    "EnterPip",
    "FetchKs",
    "HeartbeatAnswered",
    "HeartbeatDue",
    "Input",
    "KsAnswered",
    "LeavePip",
    "LicenseAnswered",
    "LoadMedia",
    "Login",
    "Logout",
    "MediaAnswered",
    "Notify",
    "Play",
    "ReleaseItem",
    "Resume",
    "SendHeartbeat",
    "SendLicenseRequest",
    "SendSsmSetup",
    "SendSsmTeardown",
    "SetupAnswered",
    "SsmAnswer",
    "Stop",
    "TeardownAnswered",
    "Zap",
]


# --- actions: what a user or the app asks the player to do -----------------


@attrs.frozen
class Play:
    """Start ``stream`` (from idle, stopped or failed)."""

    stream: str


@attrs.frozen
class Stop:
    """Stop the current playback; the SDK tears its SSM session down."""


@attrs.frozen
class Zap:
    """Stop the current stream and start ``stream`` (which may be the same one)."""

    stream: str


@attrs.frozen
class Resume:
    """Resume a playback paused by a normal background."""


@attrs.frozen
class ReleaseItem:
    """De-initialise the player item: the SDK releases (tears down) its SSM session."""


@attrs.frozen
class EnterBackground:
    """The app goes to the background (PiP takes over when enabled and playing)."""


@attrs.frozen
class EnterForeground:
    """The app returns to the foreground."""


@attrs.frozen
class EnterPip:
    """The user starts picture-in-picture."""


@attrs.frozen
class LeavePip:
    """The user restores the app from picture-in-picture to the foreground."""


@attrs.frozen
class ClosePip:
    """The PiP window is closed while the app is in the background: it is suspended."""


@attrs.frozen
class Login:
    """Start a session on the device's session provider (user when ``username`` is set)."""

    username: str | None = None
    password: str | None = None


@attrs.frozen
class Logout:
    """End the session provider's session (an alias of ``end_session``)."""


@attrs.frozen
class EndSession:
    """End the session provider's session."""


Action = (Play | Stop | Zap | Resume | ReleaseItem | EnterBackground | EnterForeground
          | EnterPip | LeavePip | ClosePip | Login | Logout | EndSession)


# --- answers: what came back from the network, or a timer ------------------


@attrs.frozen
class SetupAnswered:
    playback_id: int
    answer: SsmAnswer


@attrs.frozen
class HeartbeatAnswered:
    playback_id: int
    answer: SsmAnswer


@attrs.frozen
class TeardownAnswered:
    playback_id: int
    answer: SsmAnswer


@attrs.frozen
class LicenseAnswered:
    """The license server answered. ``session_token``: the session token a license answer
    carries in enforced mode (WIRE.md: "a ``sessionToken`` in a license answer means
    enforced mode"), the one the keep-alive renewals must use; ``None`` otherwise."""

    playback_id: int
    granted: bool
    http_status: int
    code: int | None = None
    message: str = ""
    session_token: str | None = None


@attrs.frozen
class KsAnswered:
    """The session provider answered a token request (``ks`` or an error)."""

    playback_id: int
    ks: str | None
    error_code: int | None = None
    message: str = ""


@attrs.frozen
class MediaAnswered:
    """The media provider finished a load: DRM data, or an error."""

    playback_id: int
    ok: bool
    drm_scheme: str | None = None
    license_url: str | None = None
    ssm: bool = True
    error_code: int | None = None
    message: str = ""


@attrs.frozen
class HeartbeatDue:
    """The heartbeat timer of playback ``playback_id`` fired."""

    playback_id: int


@attrs.frozen
class TeardownWaitEnded:
    """The client's cap on a blocking teardown ran out before its answer came: the
    main thread goes on without it (the request goes on too; DOMAIN.md, iOS)."""

    playback_id: int


@attrs.frozen
class ContentTokenMissing:
    """The client polled for playback ``playback_id``'s content token and gave up
    (variant ``content_token_wait: poll``): the setup is never sent."""

    playback_id: int


Answer = (SetupAnswered | HeartbeatAnswered | TeardownAnswered | LicenseAnswered | KsAnswered
          | MediaAnswered | HeartbeatDue | TeardownWaitEnded | ContentTokenMissing)
Input = Action | Answer


# --- effects: what the shell must do ---------------------------------------


@attrs.frozen
class SendSsmSetup:
    """Ask the SSM server for a session token; ``blocking`` holds the main thread.
    ``in_license`` (SSM V2): the setup travels inside the license request, whose
    answer grants the license too."""

    playback_id: int
    stream: str
    blocking: bool
    in_license: bool = False


@attrs.frozen
class SendLicenseRequest:
    """Ask the license server for a license, carrying the SSM token (or ``None``)."""

    playback_id: int
    stream: str
    ssm_token: str | None
    ssm_required: bool


@attrs.frozen
class SendHeartbeat:
    """Keep the session alive with ``token``: a heartbeat, or in enforced mode
    (``renewal``) a license renewal, which rotates the token the same way."""

    playback_id: int
    token: str
    renewal: bool = False


@attrs.frozen
class SendSsmTeardown:
    """Release an SSM session; ``blocking`` holds the main thread until the answer.
    ``stream`` is the stream whose session it is (not the one a zap goes to)."""

    playback_id: int
    token: str
    blocking: bool
    stream: str | None = None


@attrs.frozen
class ArmHeartbeat:
    """Fire :class:`HeartbeatDue` for ``playback_id`` after ``delay`` seconds."""

    playback_id: int
    delay: float


@attrs.frozen
class FetchKs:
    """Ask the session provider for a KS for playback ``playback_id``."""

    playback_id: int


@attrs.frozen
class LoadMedia:
    """Ask the media provider to load ``stream`` (it obtained ``ks`` already)."""

    playback_id: int
    stream: str
    ks: str


@attrs.frozen
class Notify:
    """Post a notification or lifecycle event: ``kind`` is a signal name.

    ``fields`` holds the payload as sorted ``(name, value)`` pairs.
    """

    kind: str
    fields: tuple[tuple[str, Any], ...] = ()

    def payload(self) -> dict[str, Any]:
        return dict(self.fields)


Effect = (SendSsmSetup | SendLicenseRequest | SendHeartbeat | SendSsmTeardown | ArmHeartbeat
          | FetchKs | LoadMedia | Notify)
