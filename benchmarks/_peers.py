"""The peers the world is measured against: the same heartbeat bookkeeping, by hand.

Each peer runs ``devices`` playing devices heartbeating for ``hours`` virtual hours,
with the bookkeeping the simulated SSM server does for a heartbeat and nothing else:

* a device waits its heartbeat period, the heartbeat travels one network latency to
  the server, the answer one latency back: three timer events per heartbeat;
* the server looks the session up by token in a dict, refuses it if it expired,
  rotates the token (a fresh keyed token string, re-indexed in the dict) and moves
  the session's expiry;
* each session has one expiry check scheduled at its expiry time, which re-arms
  itself when the session was extended meanwhile (what ``SsmServer`` does).

``simpy_fleet`` does it with one SimPy process per device and per expiry check;
``heapq_fleet`` with the world's own kind of queue, ``(time, sequence, callback,
argument)``. Both count heartbeats and events (timer firings and expiry checks), so
a benchmark compares the world's CPU seconds for the same device-hours with theirs.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections.abc import Callable, Generator
from typing import Any

import attrs
import simpy

HEARTBEAT_PERIOD = 30.0
LATENCY = 0.02  # NetworkConfig's default one-way latency
SESSION_TIMEOUT = 2 * HEARTBEAT_PERIOD + 10.0  # SsmConfig's default effective timeout


@attrs.frozen
class PeerRun:
    """What one peer did and how long it took (``time.process_time`` and wall)."""

    name: str
    heartbeats: int
    events: int
    cpu_seconds: float
    wall_seconds: float

    @property
    def heartbeats_per_cpu_second(self) -> float:
        return self.heartbeats / self.cpu_seconds


@attrs.define(slots=True)
class _Session:
    token: str
    expires_at: float


class _Server:
    """The SSM server's heartbeat bookkeeping: sessions by token, rotation, expiry."""

    def __init__(self, seed: int) -> None:
        self.by_token: dict[str, _Session] = {}
        self._random = random.Random(seed)
        self.expired = 0

    def token(self, device: int) -> str:
        return f"ssm-d{device}-{self._random.getrandbits(32):08x}"

    def setup(self, device: int, now: float) -> _Session:
        session = _Session(self.token(device), now + SESSION_TIMEOUT)
        self.by_token[session.token] = session
        return session

    def heartbeat(self, device: int, token: str, now: float) -> str | None:
        session = self.by_token.get(token)
        if session is None or session.expires_at <= now:
            return None
        del self.by_token[token]
        session.token = self.token(device)
        session.expires_at = now + SESSION_TIMEOUT
        self.by_token[session.token] = session
        return session.token


def simpy_fleet(devices: int, hours: float, seed: int = 1) -> PeerRun:
    """One SimPy process per device (heartbeat, server, answer) and per expiry check."""
    env = simpy.Environment()
    server = _Server(seed)
    end = hours * 3600.0
    counts = [0, 0]  # heartbeats, expiry checks

    def expiry(session: _Session) -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(session.expires_at - env.now)
            counts[1] += 1
            if session.expires_at <= env.now:
                server.expired += 1
                return

    def device(index: int) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(index * HEARTBEAT_PERIOD / devices)
        session = server.setup(index, env.now)
        env.process(expiry(session))
        token: str | None = session.token
        while token is not None:
            yield env.timeout(HEARTBEAT_PERIOD)
            counts[0] += 1
            yield env.timeout(LATENCY)
            answer = server.heartbeat(index, token, env.now)
            yield env.timeout(LATENCY)
            token = answer

    for index in range(devices):
        env.process(device(index))
    wall, cpu = time.perf_counter(), time.process_time()
    env.run(until=end)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return PeerRun("SimPy, same bookkeeping", counts[0], 3 * counts[0] + counts[1], cpu, wall)


def heapq_fleet(devices: int, hours: float, seed: int = 1) -> PeerRun:
    """The same on a bare ``heapq`` of ``(time, sequence, callback, argument)``."""
    queue: list[tuple[float, int, Callable[[Any], None], Any]] = []
    sequence = itertools.count().__next__
    push = heapq.heappush
    server = _Server(seed)
    end = hours * 3600.0
    tokens: list[str | None] = [None] * devices
    counts = [0, 0]
    now = 0.0

    def check_expiry(session: _Session) -> None:
        counts[1] += 1
        if session.expires_at > now:
            push(queue, (session.expires_at, sequence(), check_expiry, session))
        else:
            server.expired += 1

    def start(index: int) -> None:
        session = server.setup(index, now)
        push(queue, (session.expires_at, sequence(), check_expiry, session))
        tokens[index] = session.token
        push(queue, (now + HEARTBEAT_PERIOD, sequence(), send, index))

    def send(index: int) -> None:
        counts[0] += 1
        push(queue, (now + LATENCY, sequence(), arrive, index))

    def arrive(index: int) -> None:
        token = tokens[index]
        tokens[index] = None if token is None else server.heartbeat(index, token, now)
        push(queue, (now + LATENCY, sequence(), answered, index))

    def answered(index: int) -> None:
        if tokens[index] is not None:
            push(queue, (now + HEARTBEAT_PERIOD, sequence(), send, index))

    for index in range(devices):
        push(queue, (index * HEARTBEAT_PERIOD / devices, sequence(), start, index))
    pop = heapq.heappop
    wall, cpu = time.perf_counter(), time.process_time()
    while queue and queue[0][0] < end:
        now, _, callback, arg = pop(queue)
        callback(arg)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return PeerRun("bare heapq, same bookkeeping", counts[0], 3 * counts[0] + counts[1], cpu,
                   wall)


def simpy_creation(devices: int, seed: int = 1) -> tuple[float, float]:
    """CPU and wall seconds to create ``devices`` SimPy device processes and bring each
    to its first heartbeat wait with a session set up (token indexed, expiry check
    scheduled), as ``simpy_fleet`` does: the peer of creating playing devices."""
    env = simpy.Environment()
    server = _Server(seed)

    def expiry(session: _Session) -> Generator[simpy.Event, Any, None]:
        while session.expires_at > env.now:
            yield env.timeout(session.expires_at - env.now)

    def device(index: int) -> Generator[simpy.Event, Any, None]:
        session = server.setup(index, env.now)
        env.process(expiry(session))
        while True:
            yield env.timeout(HEARTBEAT_PERIOD)

    wall, cpu = time.perf_counter(), time.process_time()
    for index in range(devices):
        env.process(device(index))
    env.run(until=HEARTBEAT_PERIOD / 2)  # every device set up, waiting for its heartbeat
    return time.process_time() - cpu, time.perf_counter() - wall
