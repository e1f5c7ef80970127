"""Every signal player_sim sends, in one private blinker Namespace.

Signals are named after the SDK's notifications. Each is sent with the
:class:`~player_sim.Device` that posted it as *sender* and one keyword argument,
``notification``: a frozen :class:`~player_sim.Notification` with the virtual
``time``, the ``device`` name, the ``kind`` (the signal's name) and the
``payload`` listed below. Receivers run synchronously, inside the simulation
step that posted the notification: they must not block. To consume signals
from trio code, use :meth:`~player_sim.Simulation.listen`, which forwards into
a memory channel.

SSM error notifications (``userInfo`` of the iOS SDK): payload ``stream`` (the
stream whose request failed), ``http_status``, ``ssm_code`` (``None`` when the body
had none) and ``message``; by the device's variant ``error_numbering`` also what
the platform's app sees (:func:`~player_sim.player.platform_fields`): iOS
``error``, ``errorCode``, ``code``, or ``error_code`` (Android, web).

* ``ssm_setup_error``: OTVSSMSetupErrorNotification.
* ``ssm_teardown_error``: OTVSSMTeardownErrorNotification.
* ``ssm_heartbeat_error``: OTVSSMHeartbeatErrorNotification.

Other failures of the play pipeline (payload ``stream``, ``code``, ``message``,
plus ``http_status`` for the license):

* ``license_error``: the license server denied the license request.
* ``ks_error``: the session provider could not obtain a KS (``code`` 601 for a
  session error: no session, an ended one, a failed refresh).
* ``content_token_error``: the SDK polled for the stream's content token and gave
  up (variant ``content_token_wait: poll``; payload ``stream``, ``error_code``
  5022, ``message``): no setup was sent.
* ``media_load_error``: the media provider could not load the media entry
  (``code`` is the backend's: 500016, 3032, 4001 ...).

For these two, ``code`` is a number; an OVP backend's string code (e.g.
``INVALID_KS``) leaves ``code`` ``None`` and starts the ``message`` instead.

* ``concurrency_limitation``: the player's concurrency event (DOMAIN.md): a
  Phoenix ``bookmark/add`` hit was answered 4001 (payload ``stream``, ``code``,
  ``message``). What the app does about it is its own business.

Lifecycle:

* ``state_changed``: payload ``app_from``, ``app``, ``playback_from``, ``playback``.
* ``playback_started``: payload ``stream``; the license was granted.
* ``playback_stopped``: payload ``stream``, ``reason`` (``"stop"`` or ``"zap"``).
* ``zap``: payload ``stream_from``, ``stream``, ``same_stream``.
"""

from __future__ import annotations

from typing import Final

from blinker import Namespace, Signal

__all__ = [
    "ALL_SIGNALS",
    "SSM_ERROR_SIGNALS",
    "concurrency_limitation",
    "content_token_error",
    "ks_error",
    "license_error",
    "media_load_error",
    "playback_started",
    "playback_stopped",
    "signal",
    "ssm_heartbeat_error",
    "ssm_setup_error",
    "ssm_teardown_error",
    "state_changed",
    "zap",
]

_namespace: Final = Namespace()

ssm_setup_error: Final = _namespace.signal("ssm_setup_error", doc="SSM setup failed.")
ssm_teardown_error: Final = _namespace.signal("ssm_teardown_error", doc="SSM teardown failed.")
ssm_heartbeat_error: Final = _namespace.signal("ssm_heartbeat_error",
                                               doc="An SSM heartbeat failed.")
license_error: Final = _namespace.signal("license_error", doc="The license was denied.")
ks_error: Final = _namespace.signal("ks_error", doc="No KS could be obtained.")
media_load_error: Final = _namespace.signal("media_load_error", doc="The media load failed.")
content_token_error: Final = _namespace.signal(
    "content_token_error", doc="No content token came in time: the setup was not sent.")
state_changed: Final = _namespace.signal("state_changed", doc="The player's state changed.")
playback_started: Final = _namespace.signal("playback_started", doc="Playback started.")
playback_stopped: Final = _namespace.signal("playback_stopped", doc="Playback stopped.")
zap: Final = _namespace.signal("zap", doc="The app zapped to a stream.")
concurrency_limitation: Final = _namespace.signal(
    "concurrency_limitation", doc="A Phoenix bookmark hit was refused: too many devices play.")

#: The three notifications of the SSM document.
SSM_ERROR_SIGNALS: Final = ("ssm_setup_error", "ssm_teardown_error", "ssm_heartbeat_error")
#: Every signal's name, in a stable order.
ALL_SIGNALS: Final = (*SSM_ERROR_SIGNALS, "license_error", "ks_error", "media_load_error",
                      "content_token_error", "state_changed", "playback_started",
                      "playback_stopped", "zap", "concurrency_limitation")


def signal(name: str) -> Signal:
    """The signal called ``name``; ``KeyError`` names the known ones if there is none."""
    if name not in ALL_SIGNALS:
        raise KeyError(f"no signal {name!r}; known signals: {', '.join(ALL_SIGNALS)}")
    return _namespace[name]
