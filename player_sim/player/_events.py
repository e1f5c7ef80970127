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
from ._values import Value

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


# --- shapes: each defined once (defining an attrs class costs about a millisecond) --
# An event is an attrs class of its own or a plain subclass of one of these: the same
# fields, __init__, equality (only between instances of one class), hash and repr
# (its own class name), attrs.fields and attrs.evolve.


@attrs.frozen(repr=False)
class _NoArguments(Value):
    """An event that carries nothing but its class."""


@attrs.frozen(repr=False)
class _OfStream(Value):
    """An action on ``stream``."""

    stream: str


@attrs.frozen(repr=False)
class _OfPlayback(Value):
    """An event of playback ``playback_id``."""

    playback_id: int


@attrs.frozen(repr=False)
class _SsmAnswered(Value):
    """The SSM server's ``answer`` to a call of playback ``playback_id``."""

    playback_id: int
    answer: SsmAnswer


# --- actions: what a user or the app asks the player to do -----------------


class Play(_OfStream):
    """Start ``stream`` (from idle, stopped or failed)."""

    __slots__ = ()


class Stop(_NoArguments):
    """Stop the current playback; the SDK tears its SSM session down."""

    __slots__ = ()


class Zap(_OfStream):
    """Stop the current stream and start ``stream`` (which may be the same one)."""

    __slots__ = ()


class Resume(_NoArguments):
    """Resume a playback paused by a normal background."""

    __slots__ = ()


class ReleaseItem(_NoArguments):
    """De-initialise the player item: the SDK releases (tears down) its SSM session."""

    __slots__ = ()


class EnterBackground(_NoArguments):
    """The app goes to the background (PiP takes over when enabled and playing)."""

    __slots__ = ()


class EnterForeground(_NoArguments):
    """The app returns to the foreground."""

    __slots__ = ()


class EnterPip(_NoArguments):
    """The user starts picture-in-picture."""

    __slots__ = ()


class LeavePip(_NoArguments):
    """The user restores the app from picture-in-picture to the foreground."""

    __slots__ = ()


class ClosePip(_NoArguments):
    """The PiP window is closed while the app is in the background: it is suspended."""

    __slots__ = ()


@attrs.frozen(repr=False)
class Login(Value):
    """Start a session on the device's session provider (user when ``username`` is set)."""

    username: str | None = None
    password: str | None = None


class Logout(_NoArguments):
    """End the session provider's session (an alias of ``end_session``)."""

    __slots__ = ()


class EndSession(_NoArguments):
    """End the session provider's session."""

    __slots__ = ()


Action = (Play | Stop | Zap | Resume | ReleaseItem | EnterBackground | EnterForeground
          | EnterPip | LeavePip | ClosePip | Login | Logout | EndSession)


# --- answers: what came back from the network, or a timer ------------------


class SetupAnswered(_SsmAnswered):
    __slots__ = ()


class HeartbeatAnswered(_SsmAnswered):
    __slots__ = ()


class TeardownAnswered(_SsmAnswered):
    __slots__ = ()


@attrs.frozen(repr=False)
class LicenseAnswered(Value):
    """The license server answered. ``session_token``: the session token a license answer
    carries in enforced mode (WIRE.md: "a ``sessionToken`` in a license answer means
    enforced mode"), the one the keep-alive renewals must use; ``None`` otherwise."""

    playback_id: int
    granted: bool
    http_status: int
    code: int | None = None
    message: str = ""
    session_token: str | None = None


@attrs.frozen(repr=False)
class KsAnswered(Value):
    """The session provider answered a token request (``ks`` or an error)."""

    playback_id: int
    ks: str | None
    #: a network-kit number (601 ...) or the backend's code as it wrote it (Phoenix
    #: "500016", OVP "INVALID_KS")
    error_code: int | str | None = None
    message: str = ""


@attrs.frozen(repr=False)
class MediaAnswered(Value):
    """The media provider finished a load: DRM data, or an error."""

    playback_id: int
    ok: bool
    drm_scheme: str | None = None
    license_url: str | None = None
    ssm: bool = True
    #: a network-kit number (520 ...) or the backend's code as it wrote it
    error_code: int | str | None = None
    message: str = ""


class HeartbeatDue(_OfPlayback):
    """The heartbeat timer of playback ``playback_id`` fired."""

    __slots__ = ()


class TeardownWaitEnded(_OfPlayback):
    """The client's cap on a blocking teardown ran out before its answer came: the
    main thread goes on without it (the request goes on too; DOMAIN.md, iOS)."""

    __slots__ = ()


class ContentTokenMissing(_OfPlayback):
    """The client polled for playback ``playback_id``'s content token and gave up
    (variant ``content_token_wait: poll``): the setup is never sent."""

    __slots__ = ()


Answer = (SetupAnswered | HeartbeatAnswered | TeardownAnswered | LicenseAnswered | KsAnswered
          | MediaAnswered | HeartbeatDue | TeardownWaitEnded | ContentTokenMissing)
Input = Action | Answer


# --- effects: what the shell must do ---------------------------------------


@attrs.frozen(repr=False)
class SendSsmSetup(Value):
    """Ask the SSM server for a session token; ``blocking`` holds the main thread.
    ``in_license`` (SSM V2): the setup travels inside the license request, whose
    answer grants the license too."""

    playback_id: int
    stream: str
    blocking: bool
    in_license: bool = False


@attrs.frozen(repr=False)
class SendLicenseRequest(Value):
    """Ask the license server for a license, carrying the SSM token (or ``None``)."""

    playback_id: int
    stream: str
    ssm_token: str | None
    ssm_required: bool


@attrs.frozen(repr=False)
class SendHeartbeat(Value):
    """Keep the session alive with ``token``: a heartbeat, or in enforced mode
    (``renewal``) a license renewal, which rotates the token the same way."""

    playback_id: int
    token: str
    renewal: bool = False


@attrs.frozen(repr=False)
class SendSsmTeardown(Value):
    """Release an SSM session; ``blocking`` holds the main thread until the answer.
    ``stream`` is the stream whose session it is (not the one a zap goes to)."""

    playback_id: int
    token: str
    blocking: bool
    stream: str | None = None


@attrs.frozen(repr=False)
class ArmHeartbeat(Value):
    """Fire :class:`HeartbeatDue` for ``playback_id`` after ``delay`` seconds."""

    playback_id: int
    delay: float


class FetchKs(_OfPlayback):
    """Ask the session provider for a KS for playback ``playback_id``."""

    __slots__ = ()


@attrs.frozen(repr=False)
class LoadMedia(Value):
    """Ask the media provider to load ``stream`` (it obtained ``ks`` already)."""

    playback_id: int
    stream: str
    ks: str


@attrs.frozen(repr=False)
class Notify(Value):
    """Post a notification or lifecycle event: ``kind`` is a signal name.

    ``fields`` holds the payload as sorted ``(name, value)`` pairs.
    """

    kind: str
    fields: tuple[tuple[str, Any], ...] = ()

    def payload(self) -> dict[str, Any]:
        return dict(self.fields)


Effect = (SendSsmSetup | SendLicenseRequest | SendHeartbeat | SendSsmTeardown | ArmHeartbeat
          | FetchKs | LoadMedia | Notify)
