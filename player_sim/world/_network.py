"""Simulated network links: latency per link, extra latency windows, outages.

A request leaves the device now, reaches its backend one latency later (where
the backend handles it, or answers "unavailable" during an outage) and its
answer reaches the device one latency after that. Latency is read at the moment
each message leaves.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .._errors import ConfigError
from ._config import LINKS, NetworkConfig

__all__ = ["Network", "NetworkHost", "Request"]


class NetworkHost(Protocol):
    """What a network uses of its world (a :class:`~player_sim.World` is one): the
    clock, the event queue, the seeded randomness (jitter) and the trace."""

    @property
    def now(self) -> float: ...

    @property
    def rng(self) -> random.Random: ...

    def schedule_at(self, time: float, callback: Callable[[Any], None], arg: Any) -> None: ...

    def record(self, device: str | None, kind: str, data: Mapping[str, Any]) -> None: ...


class Request(Protocol):
    """A message to a backend: ``serve()`` runs at the backend when it arrives on
    ``link`` (``unavailable()`` during an outage), ``deliver(answer)`` back at the sender.

    The world's most frequent message, the heartbeat, is one small object of this
    shape rather than three closures (see ``Device._send_heartbeat``).
    """

    @property
    def link(self) -> str: ...
    def serve(self) -> Any: ...
    def unavailable(self) -> Any: ...
    def deliver(self, answer: Any) -> None: ...


class _Callbacks:
    """A :class:`Request` made of three callables."""

    __slots__ = ("deliver", "link", "serve", "unavailable")

    def __init__(self, link: str, serve: Callable[[], Any], unavailable: Callable[[], Any],
                 deliver: Callable[[Any], None]) -> None:
        self.link = link
        self.serve = serve
        self.unavailable = unavailable
        self.deliver = deliver


class Network:
    __slots__ = ("_base", "_config", "_extra", "_fixed", "_outages", "_world")

    def __init__(self, config: NetworkConfig, world: NetworkHost) -> None:
        self._config = config
        self._world = world
        self._base = {link: config.latency_of(link) for link in LINKS}
        self._outages: dict[str, list[tuple[float, float]]] = {link: [] for link in LINKS}
        self._extra: dict[str, list[tuple[float, float, float]]] = {link: [] for link in LINKS}
        # The latency of each link that has neither extra-latency windows nor jitter.
        self._fixed = {} if config.jitter else dict(self._base)

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

    def is_down(self, link: str, now: float) -> bool:
        return any(start <= now < end for start, end in self._outages[link])

    def latency(self, link: str, now: float) -> float:
        fixed = self._fixed.get(link)
        if fixed is not None:  # no windows, no jitter: every heartbeat asks, keep it short
            return fixed
        latency = self._base[link]
        for start, end, extra in self._extra[link]:
            if start <= now < end:
                latency += extra
        if self._config.jitter:
            latency += self._world.rng.random() * self._config.jitter
        return latency

    def request(self, link: str, serve: Callable[[], Any], unavailable: Callable[[], Any],
                deliver: Callable[[Any], None]) -> None:
        """Send a request on ``link``: ``serve()`` runs at the backend on arrival (or
        ``unavailable()`` during an outage) and ``deliver(answer)`` at the device."""
        self.send(_Callbacks(link, serve, unavailable, deliver))

    def send(self, request: Request) -> None:
        """Send ``request`` on its link, as :meth:`request` does with three callables."""
        world = self._world
        world.schedule_at(world.now + self.latency(request.link, world.now), self._arrive,
                          request)

    def _arrive(self, request: Request) -> None:
        link = request.link
        now = self._world.now
        if self._outages[link] and self.is_down(link, now):
            answer = request.unavailable()
        else:
            answer = request.serve()
        self._world.schedule_at(now + self.latency(link, now), request.deliver, answer)

    @staticmethod
    def _check(link: str, start: float, end: float) -> None:
        if link not in LINKS:
            raise ConfigError(f"no link {link!r}; links are {', '.join(LINKS)}")
        if not 0 <= start < end:
            raise ConfigError(f"a window needs 0 <= start < end, not [{start}, {end})")
