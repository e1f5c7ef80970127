"""App policies: how the application reacts to notifications and lifecycle changes.

A policy is pure: it looks at a read-only view of the player and returns the
actions the app performs. The device shell applies them after the device's
``app_reaction_delay``. Write your own by subclassing :class:`AppPolicy`
(every hook defaults to "do nothing") or by providing the same three methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs

from .._validators import typed
from . import _events as ev
from ._states import ACTIVE_PLAYBACK_STATES, AppState, PlaybackState

__all__ = ["AppPolicy", "DocumentedAppPolicy", "PlayerView"]

P = PlaybackState

_ZAPPABLE = ACTIVE_PLAYBACK_STATES


class PlayerView(Protocol):
    """What a policy may read of a player (a :class:`~player_sim.PlayerCore` is one)."""

    @property
    def app(self) -> AppState: ...
    @property
    def playback(self) -> PlaybackState: ...
    @property
    def stream(self) -> str | None: ...
    @property
    def ssm_error(self) -> bool: ...


class AppPolicy:
    """The do-nothing app: override the hooks you need.

    Each hook returns the actions the app performs, in order.
    """

    def on_notification(self, player: PlayerView, kind: str,
                        payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        """A notification or lifecycle event ``kind`` was posted with ``payload``."""
        return ()

    def on_foreground(self, player: PlayerView) -> Sequence[ev.Action]:
        """The app came back from normal background (it was suspended)."""
        return ()

    def on_background(self, player: PlayerView) -> Sequence[ev.Action]:
        """The app went to normal background (it is now suspended)."""
        return ()


@attrs.frozen(field_transformer=typed)
class DocumentedAppPolicy(AppPolicy):
    """The app the SSM document asks for (``seeds/000_7011756516eda0b2.txt``).

    * "The player should not continue playback once any of these notifications
      are received": on a heartbeat error the app stops playback (setup and
      teardown errors already leave the player failed or stopped).
    * "If an OTVSSMHeartbeatErrorNotification is received, the application should
      stop playback and attempt to zap to the same stream": with
      ``zap_on_heartbeat_error`` (default) the stop is a zap to the same stream.
    * "When the application returns to the foreground, if no error notification
      is received, playback can resume": with ``resume_after_background``
      (default) a paused playback resumes when no SSM error was posted for it.
    """

    zap_on_heartbeat_error: bool = True
    resume_after_background: bool = True

    def on_notification(self, player: PlayerView, kind: str,
                        payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        if kind != "ssm_heartbeat_error" or player.playback not in _ZAPPABLE:
            return ()
        if self.zap_on_heartbeat_error and player.stream is not None:
            return (ev.Zap(player.stream),)
        return (ev.Stop(),)

    def on_foreground(self, player: PlayerView) -> Sequence[ev.Action]:
        if not self.resume_after_background or player.playback is not P.PAUSED:
            return ()
        if player.ssm_error:
            if self.zap_on_heartbeat_error and player.stream is not None:
                return (ev.Zap(player.stream),)
            return (ev.Stop(),)
        return (ev.Resume(),)
