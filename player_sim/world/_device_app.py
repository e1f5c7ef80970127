"""A device's notifications and its app: signals posted, and the app policy's reactions.

Every notification the core posts is recorded, sent on its blinker signal (see
:mod:`player_sim.signals`) as a :class:`Notification`, and shown to the app
policy, whose actions run after ``app_reaction_delay``. Coming back from
normal background wakes the suspended parts of the device first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from .. import signals
from ..player import AppState, DocumentedAppPolicy
from ..player import _events as ev
from ..player._policy import HOOKED_NOTIFICATIONS
from ._device_base import _DeviceBase

__all__ = ["Notification"]

_RESUME_KINDS: Final = frozenset({AppState.FOREGROUND.value, AppState.PIP.value})
#: Every signal by name, looked up once: ``signals.signal`` checks the name each time, and
#: every device posts four notifications as it starts to play.
_SIGNALS: Final = {name: signals.signal(name) for name in signals.ALL_SIGNALS}


#: The kinds :meth:`DocumentedAppPolicy.on_notification` hands to a hook of their own;
#: it hands every other to :meth:`~DocumentedAppPolicy.on_other_notification`.
_HOOKED_KINDS: Final = frozenset(HOOKED_NOTIFICATIONS)
#: Per app policy class, what :func:`_quiet_on_unhooked_kinds` found.
_quiet_classes: dict[type, bool] = {}


def _quiet_on_unhooked_kinds(cls: type) -> bool:
    """Whether an app of class ``cls`` answers every kind outside :data:`_HOOKED_KINDS`
    with no action, so that a device need not ask it (four times per device that
    starts to play): a :class:`DocumentedAppPolicy` (frozen, its hooks its class's)
    whose ``on_notification`` and ``on_other_notification`` are the documented ones.
    Any other app is asked every time."""
    quiet = (issubclass(cls, DocumentedAppPolicy)
             and cls.on_notification is DocumentedAppPolicy.on_notification
             and cls.on_other_notification is DocumentedAppPolicy.on_other_notification)
    _quiet_classes[cls] = quiet
    return quiet


@attrs.frozen
class Notification:
    """What a signal carries: when, which device, which kind, and the payload."""

    time: float
    device: str
    kind: str
    payload: Mapping[str, Any]


class _AppReactions(_DeviceBase):
    """Posts the core's notifications and applies what the app policy does about them."""

    __slots__ = ()  # its state is in _DeviceBase

    def _notify(self, effect: ev.Notify) -> None:
        payload = dict(effect.fields)  # effect.payload(), without the call
        kind = effect.kind
        self._record(kind, payload)
        if self._bookmarks is not None:  # (the only provider glue that listens)
            self._provider_notified(kind, payload)
        signal = _SIGNALS.get(kind) or signals.signal(kind)  # (an unknown kind: KeyError)
        if signal.receivers:  # a Notification only for someone listening
            signal.send(self, notification=Notification(self.world.now, self.name, kind,
                                                        payload))
        policy = self.policy
        quiet = _quiet_classes.get(type(policy))
        if quiet is None:
            quiet = _quiet_on_unhooked_kinds(type(policy))
        actions = () if quiet and kind not in _HOOKED_KINDS else \
            policy.on_notification(self.core, kind, payload)
        if kind == "state_changed" and payload["app"] != payload["app_from"]:
            if payload["app"] == AppState.BACKGROUND.value:
                actions = [*actions, *policy.on_background(self.core)]
            elif (payload["app_from"] == AppState.BACKGROUND.value
                  and payload["app"] in _RESUME_KINDS):
                self._wake_up()
                # The app decides once the answers that arrived while it was suspended
                # are delivered: "if no error notification is received, playback can
                # resume" (a heartbeat error waiting for it must be seen first).
                self.world.schedule_at(self.world.now, self._back_in_foreground, self._launch)
        if actions:  # most notifications ask nothing of the app
            self._react(actions)

    def _react(self, actions: Sequence[ev.Action]) -> None:
        delay = self.config.app_reaction_delay
        for action in actions:
            self.world.schedule_at(self.world.now + delay, self._app_act,
                                   (action, self._launch))

    def _back_in_foreground(self, launch: int) -> None:
        if not self.killed and launch == self._launch:
            self._react(self.policy.on_foreground(self.core))

    def _app_act(self, packed: tuple[ev.Action, int]) -> None:
        """An action the app policy chose, applied after the reaction delay."""
        action, launch = packed
        if self.killed or launch != self._launch or not self.core.can(action):
            return
        if self._blocking:
            self._waiting += ((self.world.now, action, "app"),)
            return
        self._do(action, "app")
