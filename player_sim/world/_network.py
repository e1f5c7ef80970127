"""Simulated network links: latency per link, extra latency windows, outages.

The network model:

* A request leaves the device now, reaches its backend one latency later (where
  the backend handles it, or answers "unavailable" during an outage) and its
  answer reaches the device one latency after that. Latency is read at the
  moment each message leaves: the link's base latency, plus any planned extra
  latency whose window holds that moment, plus jitter.
* Jitter is a uniform ``[0, jitter)`` drawn from the *sending device's* own
  stream (randomness by stable key, :mod:`player_sim._keyed`): how one
  device's messages are delayed depends on the seed and that device's own
  traffic, never on what other devices send.
* **FIFO per (device, link), in each direction.** A device talks to each
  backend over one ordered connection: a message never arrives before one the
  same device sent earlier on the same link, and answers reach the device in
  the order the backend sent them. An arrival that jitter or the end of an
  extra-latency window would move ahead of an earlier message is held back to
  that message's arrival (as TCP holds a segment behind a slower one). So a
  ``teardown-first`` zap's teardown always reaches the server before its
  setup; the async-teardown zap race needs the ``setup-first`` order, which
  *sends* the setup first. Messages of different devices, or of one device on
  different links, are not ordered with each other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .._errors import ConfigError
from .._keyed import KeyedRandom
from ._config import LINKS, NetworkConfig

__all__ = ["Network", "NetworkHost", "Request"]


class NetworkHost(Protocol):
    """What a network uses of its world (a :class:`~player_sim.World` is one): the
    clock, its seed (jitter is keyed by it and the sender) and the trace."""

    @property
    def now(self) -> float: ...

    @property
    def seed(self) -> int: ...

    def schedule_at(self, time: float, callback: Callable[[Any], None], arg: Any) -> None: ...

    def schedule_after(self, delay: float, callback: Callable[[Any], None], arg: Any
                       ) -> None: ...

    def record(self, device: str | None, kind: str, data: Mapping[str, Any]) -> None: ...


class Request(Protocol):
    """A message to a backend: ``serve()`` runs at the backend when it arrives on
    ``link`` (``unavailable()`` during an outage), ``deliver(answer)`` back at the sender.

    ``sender`` is the device that sent it (``None``: no device, e.g. a session
    provider a harness drives directly); it keys the message's jitter and its
    FIFO order. The world's most frequent message, the heartbeat, is one small
    object of this shape rather than three closures (see ``Device._send_heartbeat``).
    """

    @property
    def link(self) -> str: ...
    @property
    def sender(self) -> str | None: ...
    def serve(self) -> Any: ...
    def unavailable(self) -> Any: ...
    def deliver(self, answer: Any) -> None: ...


class _Callbacks:
    """A :class:`Request` made of three callables."""

    __slots__ = ("deliver", "link", "sender", "serve", "unavailable")

    def __init__(self, link: str, sender: str | None, serve: Callable[[], Any],
                 unavailable: Callable[[], Any], deliver: Callable[[Any], None]) -> None:
        self.link = link
        self.sender = sender
        self.serve = serve
        self.unavailable = unavailable
        self.deliver = deliver


#: The jitter key of messages no device sent.
_NO_DEVICE = ""


class Network:
    """The links of one world (see the module docstring for the network model)."""

    __slots__ = ("_base", "_config", "_down", "_extra", "_fixed", "_jitter", "_outages",
                 "_schedule_after", "_schedule_at", "_senders", "_up", "_world")

    def __init__(self, config: NetworkConfig, world: NetworkHost) -> None:
        self._config = config
        self._world = world
        self._schedule_at = world.schedule_at  # twice per message: bound once
        # A fixed latency is a recurring delay: those messages wait in its lane.
        self._schedule_after = world.schedule_after
        self._base = {link: config.latency_of(link) for link in LINKS}
        self._outages: dict[str, list[tuple[float, float]]] = {link: [] for link in LINKS}
        self._extra: dict[str, list[tuple[float, float, float]]] = {link: [] for link in LINKS}
        # The latency of each link that has neither extra-latency windows nor jitter:
        # there every message takes the same time, so FIFO holds without bookkeeping.
        self._fixed = {} if config.jitter else dict(self._base)
        self._senders: dict[str, Callable[[Request], None]] = {}
        self._make_senders()
        self._jitter = KeyedRandom(world.seed, "jitter")
        # The latest arrival so far per (device, link): at the backend, at the device.
        self._up: dict[tuple[str | None, str], float] = {}
        self._down: dict[tuple[str | None, str], float] = {}

    def outage(self, link: str, start: float, end: float) -> None:
        """The backend behind ``link`` is unreachable during ``[start, end)``."""
        self._check(link, start, end)
        self._outages[link].append((start, end))
        self._world.record(None, "outage_planned", {"link": link, "start": start, "end": end})

    def add_latency(self, link: str, extra: float, start: float = 0.0,
                    end: float = float("inf")) -> None:
        """Messages leaving on ``link`` during ``[start, end)`` take ``extra`` seconds more."""
        self._check(link, start, end)
        if extra < 0:
            raise ConfigError(f"extra latency can't be negative, not {extra!r}")
        self._extra[link].append((start, end, extra))
        self._fixed.pop(link, None)
        self._make_senders()

    def is_down(self, link: str, now: float) -> bool:
        return any(start <= now < end for start, end in self._outages[link])

    def latency(self, link: str, now: float, sender: str | None = None) -> float:
        """The latency of a message ``sender`` sends on ``link`` at ``now``, before
        FIFO order (a jittered link draws from ``sender``'s stream)."""
        fixed = self._fixed.get(link)
        if fixed is not None:  # no windows, no jitter: every heartbeat asks, keep it short
            return fixed
        latency = self._base[link]
        for start, end, extra in self._extra[link]:
            if start <= now < end:
                latency += extra
        jitter = self._config.jitter
        if jitter:
            key = _NO_DEVICE if sender is None else sender
            latency += self._jitter[key].random() * jitter
        return latency

    def request(self, link: str, serve: Callable[[], Any], unavailable: Callable[[], Any],
                deliver: Callable[[Any], None], *, sender: str | None) -> None:
        """Send a request from device ``sender`` on ``link``: ``serve()`` runs at the
        backend on arrival (or ``unavailable()`` during an outage) and ``deliver(answer)``
        at the device."""
        self.send(_Callbacks(link, sender, serve, unavailable, deliver))

    def send(self, request: Request) -> None:
        """Send ``request`` on its link, as :meth:`request` does with three callables."""
        fixed = self._fixed.get(request.link)
        if fixed is not None:
            self._schedule_after(fixed, self._arrive, request)
        else:
            self._schedule_at(self._arrival(request, self._world.now, self._up), self._arrive,
                              request)

    def _make_senders(self) -> None:
        """Make ``_senders``: per link, what sends a request of that link as :meth:`send`
        does. On a fixed-latency link, ``schedule_after(latency, _arrive, request)``
        bound but for the request (``functools.partial``, in C): one call less for
        a device's heartbeat (a package-private shortcut of the world's devices).
        :meth:`send` itself if a subclass overrides it."""
        plain = type(self).send is Network.send
        self._senders = {
            link: (functools.partial(self._schedule_after, self._fixed[link], self._arrive)
                   if plain and link in self._fixed else self.send)
            for link in LINKS}

    def _arrive(self, request: Request) -> None:
        link = request.link
        now = self._world.now
        if self._outages[link] and self.is_down(link, now):
            answer = request.unavailable()
        else:
            answer = request.serve()
        fixed = self._fixed.get(link)
        if fixed is not None:
            self._schedule_after(fixed, request.deliver, answer)
        else:
            self._schedule_at(self._arrival(request, now, self._down), request.deliver, answer)

    def _arrival(self, request: Request, now: float,
                 latest: dict[tuple[str | None, str], float]) -> float:
        """When a message leaving now arrives: its latency, held back to keep FIFO order."""
        link, sender = request.link, request.sender
        arrival = now + self.latency(link, now, sender)
        lane = (sender, link)
        before = latest.get(lane)
        if before is not None and before > arrival:
            arrival = before  # ties run in the order sent: the queue's sequence
        latest[lane] = arrival
        return arrival

    @staticmethod
    def _check(link: str, start: float, end: float) -> None:
        if link not in LINKS:
            raise ConfigError(f"no link {link!r}; links are {', '.join(LINKS)}")
        if not 0 <= start < end:
            raise ConfigError(f"a window needs 0 <= start < end, not [{start}, {end})")
