"""The :class:`Device`: one device's public API, composed of its parts.

The parts are mixins, one module per concern (see :mod:`._device_base` for the
list and why mixins): what a user reads and does is here, with the table of
which part carries out each effect the player core returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .._errors import InvalidTransition, PlayerSimError
from ..player import AppState, PlaybackState
from ..player import _events as ev
from ..player._actions import action_name as _action_name
from ._config import DeviceConfig
from ._device_app import _AppReactions
from ._device_base import DeviceHost, as_dict
from ._device_providers import _ProviderGlue
from ._device_ssm import _SsmTraffic

__all__ = ["Device"]


class Device(_SsmTraffic, _ProviderGlue, _AppReactions):
    """One device in a world: the player core, its SDK, its app, its network links.

    Actions (``play``, ``stop`` ...) happen at the world's ``now``. While a
    synchronous SSM setup or teardown blocks the main thread, actions wait and
    run when it is free (``blocked_time`` sums the blocked seconds); one the
    player refuses by then is recorded as ``action_dropped``. While the
    app is suspended (normal background) its timers and incoming answers wait
    for the foreground.
    """

    __slots__ = ()  # every attribute is a slot of _DeviceBase

    def __init__(self, world: DeviceHost, config: DeviceConfig) -> None:
        super().__init__(world, config)
        if config.session_provider is not None:  # most devices have none
            self._attach_provider()

    # --- what a harness reads ----------------------------------------------------------

    @property
    def app_state(self) -> AppState:
        self.world.catch_up()
        return self.core.app

    @property
    def playback_state(self) -> PlaybackState:
        self.world.catch_up()
        return self.core.playback

    @property
    def stream(self) -> str | None:
        self.world.catch_up()
        return self.core.stream

    @property
    def main_thread_blocked(self) -> bool:
        self.world.catch_up()
        return self._blocking > 0

    @property
    def heartbeats_sent(self) -> int:
        """How many SSM heartbeats this device has sent."""
        self.world.catch_up()
        return self._heartbeats_sent

    @property
    def blocked_time(self) -> float:
        """Seconds its main thread spent blocked by synchronous SSM setups and teardowns."""
        self.world.catch_up()
        return self._blocked_time

    def __repr__(self) -> str:
        return (f"<Device {self.name!r} app={self.core.app.value} "
                f"playback={self.core.playback.value}>")

    # --- what a user does ------------------------------------------------------------

    def play(self, stream: str) -> None:
        """Start playing ``stream``."""
        self.perform(ev.Play(stream))

    def stop(self) -> None:
        self.perform(ev.Stop())

    def zap(self, stream: str) -> None:
        """Stop the current stream and start ``stream`` (which may be the same one)."""
        self.perform(ev.Zap(stream))

    def resume(self) -> None:
        self.perform(ev.Resume())

    def release_item(self) -> None:
        self.perform(ev.ReleaseItem())

    def enter_background(self) -> None:
        self.perform(ev.EnterBackground())

    def enter_foreground(self) -> None:
        self.perform(ev.EnterForeground())

    def enter_pip(self) -> None:
        self.perform(ev.EnterPip())

    def leave_pip(self) -> None:
        self.perform(ev.LeavePip())

    def close_pip(self) -> None:
        self.perform(ev.ClosePip())

    def login(self, username: str | None = None, password: str | None = None) -> None:
        """Start a session on the device's session provider: a user session with
        ``username`` and ``password``, else an anonymous one. Answered later."""
        self.perform(ev.Login(username, password))

    def logout(self) -> None:
        """End the session provider's session (same as :meth:`end_session`)."""
        self.perform(ev.Logout())

    def end_session(self) -> None:
        """End the session provider's session: a user session is logged out at the
        backend; an anonymous one is dropped locally (its KS stays valid until expiry)."""
        self.perform(ev.EndSession())

    def perform(self, action: ev.Action, *, origin: str = "user") -> None:
        """Perform ``action`` now (or when the main thread is free).

        Raises :class:`~player_sim.InvalidTransition` if the player refuses it now.
        """
        world = self.world
        world.catch_up()
        if self.killed:
            raise InvalidTransition("app", AppState.TERMINATED.value, _action_name(action))
        if self._blocking:
            self._waiting += ((world.now, action, origin),)
            self._record("action_waits", {"name": _action_name(action), "origin": origin})
        else:
            self._do(action, origin)
        world.poke()

    def kill(self) -> None:
        """The OS kills the app: nothing is sent; its SSM session becomes a zombie."""
        self.world.catch_up()
        effects = self.core.kill()
        self.killed = True
        self._launch += 1
        self.setups_on_the_wire = ()
        self.teardowns_on_the_wire = ()
        if self._blocking:
            self._unblock_all()
        self._waiting = ()
        self._deferred = ()
        self._overdue_heartbeat = None
        self._record("app_killed", {"stream": self.core.stream})
        self._forget_session()  # the app's memory is gone; its KS is not
        self._run(effects)
        self.world.poke()

    def relaunch(self) -> None:
        """Start the killed app again: a new player, idle in the foreground."""
        self.world.catch_up()
        effects = self.core.relaunch()
        self.killed = False
        self._record("app_relaunched", {})
        self._recover_session()
        self._run(effects)
        self.world.poke()

    # --- inside -----------------------------------------------------------------------

    def _do(self, action: ev.Action, origin: str) -> None:
        if isinstance(action, _SESSION_ACTIONS):
            self._session_action(action, origin)
            return
        data: dict[str, Any] = {"name": _action_name(action), "origin": origin}
        data.update(as_dict(action))
        effects = self.core.feed(action)
        self._record("action", data)
        self._run(effects)

    def _run(self, effects: tuple[ev.Effect, ...]) -> None:
        for effect in effects:
            carry_out = _CARRY_OUT.get(type(effect))
            if carry_out is None:
                raise PlayerSimError(f"device {self.name!r} can't carry out {effect!r}")
            carry_out(self, effect)


#: The actions the session provider's glue runs (a tuple: ``isinstance`` with
#: ``A | B | C`` would build the union on every action).
_SESSION_ACTIONS: Final = (ev.Login, ev.Logout, ev.EndSession)

#: How a device carries out each kind of effect its core returns, and which part does.
_CARRY_OUT: Final[dict[type, Callable[[Device, Any], None]]] = {
    ev.ArmHeartbeat: Device._arm_heartbeat,             # _device_ssm
    ev.SendHeartbeat: Device._send_heartbeat,
    ev.SendSsmSetup: Device._send_setup,
    ev.SendSsmTeardown: Device._send_teardown,
    ev.SendLicenseRequest: Device._send_license,
    ev.Notify: Device._notify,                          # _device_app
    ev.FetchKs: Device._fetch_ks,                       # _device_providers
    ev.LoadMedia: Device._load_media,
}
