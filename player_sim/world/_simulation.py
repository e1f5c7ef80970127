"""The trio shell: a World whose clock is trio's clock.

Inside ``async with Simulation(...) as sim``, virtual world time is
``trio.current_time()`` minus the moment the block was entered. Under
``trio.testing.MockClock`` (with ``autojump_threshold=0``, as pytest-trio's
``autojump_clock`` fixture gives), ``await trio.sleep(600)`` in any task and
``await sim.sleep(600)`` advance the same world by 600 s, instantly.

Events are not one trio task each: the world keeps every timer in its own
queue. Any use of the API (an action, a state read, ``sim.sleep``) first
brings the world up to trio's current time, so what a harness observes never
depends on scheduling. A single background task also advances the world so
that signal listeners hear about events without polling; it wakes trio at most
once per ``wake_interval`` virtual seconds, so a listener may hear an event up
to that late (the notification still carries the event's exact time). It wakes
only while some receiver is connected to one of :mod:`player_sim.signals`:
with nobody listening the world is advanced by the API alone, so a quiet
simulation costs no trio wake-ups at all (a waking trio costs about as much as
a few dozen world events; see ``benchmarks/world_bench.py``). What is reached
through ``sim.world`` directly (``sim.world.ssm.fail_next``, ``sim.world.trace``)
does not catch up: after a plain ``await trio.sleep`` touch the API first
(``sim.now``), or wait with ``sim.sleep``.

trio is imported by the methods that use it, not by this module: ``import
player_sim`` and ``player-sim run`` never run a Simulation and so never pay for
importing trio (a fifth of importing player_sim).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from .. import signals
from .._errors import ConfigError, PlayerSimError
from .._limits import MAX_DURATION
from .._validators import check_number
from ..backends import SsmSession
from ..trace import Trace
from ._config import DeviceConfig, WorldConfig
from ._device import Device
from ._device_app import Notification
from ._world import World

if TYPE_CHECKING:
    import trio

__all__ = ["Simulation"]

_SIGNALS: Final = tuple(signals.signal(name) for name in signals.ALL_SIGNALS)


class Simulation:
    """An async context manager running a :class:`World` on trio's clock."""

    def __init__(self, config: WorldConfig | None = None, *, seed: int = 0,
                 wake_interval: float = 1.0) -> None:
        check_number("wake_interval", wake_interval)
        self.world = World(config, seed=seed)
        self.wake_interval = wake_interval
        self._epoch: float | None = None
        self._nursery_manager: Any = None
        self._wake: trio.CancelScope | None = None
        self._runner_scope: trio.CancelScope | None = None
        self._closed = False

    async def __aenter__(self) -> Simulation:
        if self._epoch is not None:
            raise PlayerSimError("a Simulation can be entered only once")
        import trio

        self._epoch = trio.current_time()
        self.world._clock = self._world_time
        self.world._poke = self._rearm
        for sig in _SIGNALS:  # a new receiver may need the runner awake
            sig.receiver_connected.connect(self._receiver_connected, sender=sig, weak=False)
        self._nursery_manager = trio.open_nursery()
        nursery = await self._nursery_manager.__aenter__()
        self._runner_scope = trio.CancelScope()
        nursery.start_soon(self._runner)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> bool | None:
        assert self._runner_scope is not None
        self._runner_scope.cancel()
        try:
            result: bool | None = await self._nursery_manager.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # trio wraps what left the block; one error leaves as itself, so that
            # pytest.raises(InvalidTransition) and except clauses see it.
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise
        finally:
            self.world._clock = None
            self.world._poke = None
            self._closed = True
            for sig in _SIGNALS:
                sig.receiver_connected.disconnect(self._receiver_connected, sender=sig)
        return result

    def _open(self) -> World:
        """The world, if this simulation is running; else a clear error. Reading what
        happened (``now``, ``trace``, sessions, a device's state) works after the
        block too; adding devices and waiting do not."""
        if self._closed:
            raise PlayerSimError("this Simulation has ended (its 'async with' block was "
                                 "left): read sim.trace and sim.world, or start a new "
                                 "Simulation to run more")
        if self._epoch is None:
            raise PlayerSimError("use the Simulation inside 'async with Simulation() as sim'")
        return self.world

    # --- the world, through trio ------------------------------------------------------

    @property
    def now(self) -> float:
        """Virtual seconds since the simulation started."""
        self.world.catch_up()
        return self.world.now

    @property
    def trace(self) -> Trace:
        self.world.catch_up()
        return self.world.trace

    def add_device(self, config: DeviceConfig) -> Device:
        return self._open().add_device(config)

    def add_devices(self, configs: Iterable[DeviceConfig], *, play: str | None = None
                    ) -> list[Device]:
        """:meth:`World.add_devices` at trio's current time: a device for each of
        ``configs``, in order, each told to ``play`` as it is added if given, the
        cyclic collector paused meanwhile (the bulk path for a large fleet). The same
        world and trace as ``add_device(config)`` (then ``.play(play)``) for each."""
        return self._open().add_devices(configs, play=play)

    def device(self, name: str) -> Device:
        return self.world.device(name)

    def active_sessions(self, account: str | None = None) -> list[SsmSession]:
        return self.world.active_sessions(account)

    def zombie_sessions(self, account: str | None = None) -> list[SsmSession]:
        return self.world.zombie_sessions(account)

    async def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass (instantly under an autojump clock)."""
        if isinstance(seconds, int | float) and seconds < 0:
            raise ConfigError(f"can't sleep a negative time ({seconds!r})")
        check_number("seconds", seconds, high=MAX_DURATION)
        import trio

        self._open().catch_up()
        target = self.world.now + seconds
        await trio.sleep_until(self._trio_time(target))
        self.world.run_until(max(target, self.world.now))

    async def wait_until(self, predicate: Callable[[], bool], *, timeout: float) -> None:
        """Advance event by event until ``predicate()`` holds.

        Raises :class:`trio.TooSlowError` when ``timeout`` virtual seconds pass first.
        """
        check_number("timeout", timeout)
        import trio

        world = self._open()
        world.catch_up()
        deadline = world.now + timeout
        while not predicate():
            upcoming = world.next_event_time()
            if upcoming is None or upcoming > deadline:
                await trio.sleep_until(self._trio_time(deadline))
                world.run_until(max(deadline, world.now))
                if predicate():
                    return
                raise trio.TooSlowError(f"condition not met within {timeout} virtual seconds")
            await trio.sleep_until(self._trio_time(upcoming))
            world.run_until(max(upcoming, world.now))

    @contextmanager
    def listen(self, *kinds: str, buffer: float = math.inf
               ) -> Iterator[trio.MemoryReceiveChannel[Notification]]:
        """Forward this simulation's notifications of ``kinds`` (all when empty) into
        a trio memory channel, for as long as the ``with`` block lasts."""
        import trio

        self._open()
        names = kinds or signals.ALL_SIGNALS
        send, receive = trio.open_memory_channel[Notification](buffer)
        world = self.world

        def forward(sender: Device, notification: Notification) -> None:
            if sender.world is world:
                send.send_nowait(notification)

        connected = [(signals.signal(name), forward) for name in names]
        for sig, receiver in connected:
            sig.connect(receiver)
        try:
            yield receive
        finally:
            for sig, receiver in connected:
                sig.disconnect(receiver)
            send.close()

    # --- inside ---------------------------------------------------------------------------

    def _trio_time(self, world_time: float) -> float:
        assert self._epoch is not None, "use the Simulation inside 'async with'"
        return self._epoch + world_time

    def _world_time(self) -> float:
        import trio

        assert self._epoch is not None
        return round(trio.current_time() - self._epoch, 6)

    def _next_wake(self) -> float:
        upcoming = self.world.next_event_time()
        if upcoming is None or not any(sig.receivers for sig in _SIGNALS):
            return math.inf
        return self._trio_time(max(upcoming, self.world.now + self.wake_interval))

    def _rearm(self) -> None:
        if self._wake is not None:
            self._wake.deadline = min(self._wake.deadline, self._next_wake())

    def _receiver_connected(self, signal: Any, **_: Any) -> None:
        self._rearm()

    async def _runner(self) -> None:
        import trio

        assert self._runner_scope is not None
        with self._runner_scope:
            while True:
                self.world.catch_up()
                with trio.CancelScope(deadline=self._next_wake()) as self._wake:
                    await trio.sleep_forever()

