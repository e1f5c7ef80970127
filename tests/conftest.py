"""Shared fixtures and helpers for player_sim's tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from player_sim import CoreConfig, Notification, PlayerCore, events, signals
from player_sim.player._events import Effect, Notify

#: pytester runs the pytest plugin's tests in throwaway projects (test_pytest_plugin.py).
pytest_plugins = ["pytester"]

ev = events

def notifies(effects: tuple[Effect, ...], kind: str | None = None) -> list[Notify]:
    """The Notify effects among ``effects`` (of ``kind`` only, when given)."""
    return [e for e in effects if isinstance(e, Notify) and (kind is None or e.kind == kind)]


def without_notifies(effects: tuple[Effect, ...]) -> list[Effect]:
    """The effects that are not notifications, in order."""
    return [e for e in effects if not isinstance(e, Notify)]


def playing_core(config: CoreConfig | None = None, *, stream: str = "ch-1",
                 token: str = "tok-1", period: float = 30.0) -> PlayerCore:
    """A core fed play -> setup ok -> license granted: PLAYING with ``token``."""
    core = PlayerCore(config if config is not None else CoreConfig())
    core.feed(ev.Play(stream))
    if core.config.uses_ssm:
        core.feed(ev.SetupAnswered(core.playback_id, ev.SsmAnswer(200, None, "", token, period)))
    core.feed(ev.LicenseAnswered(core.playback_id, True, 200))
    return core


class SignalLog:
    """Every notification sent on player_sim's signals while the fixture is active."""

    def __init__(self) -> None:
        self.received: list[tuple[Any, Notification]] = []

    def __call__(self, sender: Any, notification: Notification) -> None:
        self.received.append((sender, notification))

    def of(self, kind: str, device: str | None = None) -> list[Notification]:
        return [n for _, n in self.received
                if n.kind == kind and (device is None or n.device == device)]


@pytest.fixture
def signal_log() -> Iterator[SignalLog]:
    """Connect a recorder to every signal; disconnect it afterwards."""
    log = SignalLog()
    for name in signals.ALL_SIGNALS:
        signals.signal(name).connect(log)
    try:
        yield log
    finally:
        for name in signals.ALL_SIGNALS:
            signals.signal(name).disconnect(log)
