"""App policies: how the application reacts to notifications and lifecycle changes.

A policy is pure: it looks at a read-only view of the player and returns the
actions the app performs. The device shell applies them after the device's
``app_reaction_delay``. Write your own by subclassing :class:`AppPolicy`
(every hook defaults to "do nothing") or by providing the same three methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

import attrs

from .._validators import typed
from . import _events as ev
from ._states import ACTIVE_PLAYBACK_STATES, AppState, PlaybackState

__all__ = ["AppPolicy", "DocumentedAppPolicy", "PlayerView"]

P = PlaybackState

_ZAPPABLE = ACTIVE_PLAYBACK_STATES
#: Each notification kind :meth:`DocumentedAppPolicy.on_notification` hands to a hook of
#: its own, and the hook; every other kind goes to ``on_other_notification``.
HOOKED_NOTIFICATIONS: Final[Mapping[str, str]] = {
    "ssm_heartbeat_error": "on_ssm_heartbeat_error",
    "ssm_setup_error": "on_ssm_setup_error",
    "ssm_teardown_error": "on_ssm_teardown_error",
    "license_error": "on_license_error",
}


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

    A variant app overrides the hook that differs, each with the documented
    behaviour as its default: :meth:`on_ssm_heartbeat_error`,
    :meth:`on_ssm_setup_error`, :meth:`on_ssm_teardown_error`,
    :meth:`on_license_error`, :meth:`on_other_notification` (every other kind),
    :meth:`zap_target` (which stream the zap after an error goes to),
    :meth:`resumes` (whether a paused playback resumes at the foreground),
    :meth:`on_foreground` and :meth:`on_background`. Subclasses must stay
    ``attrs`` classes with the same two settings (the mutants and scenario files
    pass them on): decorate them with ``@attrs.frozen`` too.
    """

    zap_on_heartbeat_error: bool = True
    resume_after_background: bool = True

    def on_notification(self, player: PlayerView, kind: str,
                        payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        """Dispatch ``kind`` to its hook (:meth:`on_ssm_heartbeat_error` ...:
        :data:`HOOKED_NOTIFICATIONS`), any other to :meth:`on_other_notification`."""
        hook = HOOKED_NOTIFICATIONS.get(kind)
        if hook is not None:
            actions: Sequence[ev.Action] = getattr(self, hook)(player, payload)
            return actions
        return self.on_other_notification(player, kind, payload)

    def on_ssm_heartbeat_error(self, player: PlayerView,
                               payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        """Documented: stop a playback under way, by a zap to :meth:`zap_target` with
        ``zap_on_heartbeat_error``, else by a stop."""
        if player.playback not in _ZAPPABLE:
            return ()
        return self._stop_or_zap(player, payload)

    def on_ssm_setup_error(self, player: PlayerView,
                           payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        """Documented: nothing (the playback has failed already)."""
        return ()

    def on_ssm_teardown_error(self, player: PlayerView,
                              payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        """Documented: nothing (the session's playback is stopped or replaced already)."""
        return ()

    def on_license_error(self, player: PlayerView,
                         payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        """Documented: nothing (the playback has failed already)."""
        return ()

    def on_other_notification(self, player: PlayerView, kind: str,
                              payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        """Every other notification or lifecycle event (documented: nothing)."""
        return ()

    def zap_target(self, player: PlayerView, payload: Mapping[str, Any]) -> str | None:
        """The stream the app zaps to after an SSM error (documented: "attempt to zap
        to the same stream"); ``None``: it stops instead."""
        return player.stream

    def resumes(self, player: PlayerView) -> bool:
        """Whether a paused playback resumes at the foreground (documented: "if no error
        notification is received, playback can resume")."""
        return not player.ssm_error

    def on_foreground(self, player: PlayerView) -> Sequence[ev.Action]:
        if not self.resume_after_background or player.playback is not P.PAUSED:
            return ()
        if not self.resumes(player):
            return self._stop_or_zap(player, {})
        return (ev.Resume(),)

    def _stop_or_zap(self, player: PlayerView,
                     payload: Mapping[str, Any]) -> Sequence[ev.Action]:
        target = self.zap_target(player, payload) if self.zap_on_heartbeat_error else None
        return (ev.Zap(target),) if target is not None else (ev.Stop(),)
