"""``PlayerCore.feed`` keeps its contract: a refused input leaves the core unchanged.

Every state the core reaches within a few inputs (breadth first, with the
answers of :mod:`player_sim.explore._coremodel`) is fed every action, accepted
or not, and ``kill`` / ``relaunch``. A refused one must leave every slot of the
core as it was, private ones included; an accepted one must have been
announced by ``can``. Then the world-level bug a half-applied refusal caused:
a ``play`` dropped while the main thread was blocked left a stream pending, so
the next ``stop`` waited for ever for a teardown it never sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from player_sim import DeviceConfig, InvalidTransition, PlayerSimError, World
from player_sim.explore import CORE_CONFIGS
from player_sim.explore._coremodel import (
    ACTIONS,
    KILL,
    RELAUNCH,
    CoreEnv,
    clone_core,
    inputs,
    state_key,
    step,
)
from player_sim.player import CoreConfig, PlaybackState, PlayerCore
from player_sim.player import _events as ev
from player_sim.rules import TraceChecker, check_world

P = PlaybackState
#: Every action, a second stream's play too, and the two pseudo-actions.
FED: tuple[ev.Action | str, ...] = (*ACTIONS, ev.Play("b"), KILL, RELAUNCH)
#: Deep enough to reach every playback state (see test_every_state_and_refusal_is_met).
DEPTH = 6


def _slots(cls: type) -> Iterator[str]:
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        yield from ((slots,) if isinstance(slots, str) else slots)


def snapshot(core: PlayerCore) -> dict[str, Any]:
    """Every slot of ``core`` (lists copied: ``_stash``, ``_effects``)."""
    out: dict[str, Any] = {}
    for name in _slots(type(core)):
        value = getattr(core, name, "<unset>")
        out[name] = tuple(value) if isinstance(value, list) else value
    return out


def _feed(core: PlayerCore, event: ev.Action | str) -> tuple[ev.Effect, ...]:
    if event == KILL:
        return core.kill()
    if event == RELAUNCH:
        return core.relaunch()
    assert not isinstance(event, str)
    return core.feed(event)


def reachable(config: CoreConfig, depth: int) -> Iterator[tuple[PlayerCore, list[str]]]:
    """Each distinct core state within ``depth`` inputs, with a path to it."""
    root = PlayerCore(config)
    env = CoreEnv()
    seen = {state_key(root, env)}
    frontier: list[tuple[PlayerCore, CoreEnv, list[str]]] = [(root, env, [])]
    yield root, []
    for _ in range(depth):
        following = []
        for core, env, path in frontier:
            for label, event, index, used in inputs(core, env):
                child = clone_core(core)
                new_env, _, _ = step(child, env, event, index, used, TraceChecker(rules=()))
                key = state_key(child, new_env)
                if key in seen:
                    continue
                seen.add(key)
                following.append((child, new_env, [*path, label]))
                yield child, [*path, label]
        frontier = following


def contract_breaches(config: CoreConfig, depth: int = DEPTH,
                      core_type: type[PlayerCore] = PlayerCore) -> Iterator[str]:
    """Each refused input that changed the core, or ``can`` contradicting ``feed``."""
    for core, path in reachable(config, depth):
        if type(core) is not core_type:
            core = _as(core, core_type)
        for event in FED:
            trial = clone_core(core)
            before = snapshot(trial)
            try:
                _feed(trial, event)
            except PlayerSimError as refused:
                after = snapshot(trial)
                changed = sorted(k for k in before if before[k] != after[k])
                if changed:
                    yield f"{event!r} refused ({refused}) after {path} changed {changed}"
                if not isinstance(event, str) and core.can(event):
                    yield f"{event!r} refused after {path} though can() said yes"
                continue
            if not isinstance(event, str) and not core.can(event):
                yield f"{event!r} accepted after {path} though can() said no"
            if trial._pending_stream_value is not None:
                yield f"{event!r} after {path} left a stream pending"


def _as(core: PlayerCore, core_type: type[PlayerCore]) -> PlayerCore:
    new = core_type.__new__(core_type)
    for name in _slots(PlayerCore):
        setattr(new, name, getattr(core, name))
    new._stash = list(core._stash)
    return new


@pytest.mark.parametrize("name", sorted(CORE_CONFIGS))
def test_a_refused_input_leaves_every_slot_unchanged(name: str) -> None:
    breaches = list(contract_breaches(CORE_CONFIGS[name]))
    assert breaches == [], "\n".join(breaches[:5])


def test_every_state_and_refusal_is_met() -> None:
    """The property is not vacuous: every playback state is reached, and every
    input fed is refused in some state."""
    reached: set[PlaybackState] = set()
    refused: set[str] = set()
    for config in CORE_CONFIGS.values():
        for core, _ in reachable(config, DEPTH):
            reached.add(core.playback)
            for event in FED:
                if repr(event) in refused:
                    continue
                try:
                    _feed(clone_core(core), event)
                except PlayerSimError:
                    refused.add(repr(event))
    assert reached == set(PlaybackState)
    assert refused == {repr(e) for e in FED}


class _WritesBeforeRefusing(PlayerCore):
    """The core as it was: a play remembered its stream before the machine could refuse it."""

    __slots__ = ()

    def feed(self, event: ev.Input) -> tuple[ev.Effect, ...]:
        if isinstance(event, ev.Play):
            self._pending_stream_value = event.stream
        return super().feed(event)


def test_the_property_catches_a_core_that_writes_before_refusing() -> None:
    breaches = list(contract_breaches(CORE_CONFIGS["default"], 2, _WritesBeforeRefusing))
    assert breaches
    assert "changed ['_pending_stream_value']" in breaches[0]


def test_a_refused_kill_or_relaunch_changes_nothing() -> None:
    core = PlayerCore()
    core.feed(ev.Play("a"))
    before = snapshot(core)
    with pytest.raises(InvalidTransition, match="can't 'relaunch' while app is 'foreground'"):
        core.relaunch()
    assert snapshot(core) == before
    core.kill()
    before = snapshot(core)
    with pytest.raises(InvalidTransition, match="can't 'kill' while app is 'terminated'"):
        core.kill()
    with pytest.raises(InvalidTransition, match="can't 'play' while app is 'terminated'"):
        core.feed(ev.Play("b"))
    assert snapshot(core) == before


# --- the world-level reproduction -------------------------------------------------------------


def test_a_play_dropped_while_blocked_does_not_strand_the_next_stop() -> None:
    world = World(seed=0)
    d = world.add_device(DeviceConfig(name="d", account="alice",
                                      ssm_server_url="https://ssm.example/",
                                      sync_ssm_setup_teardown=True, release_item_on_stop=False))
    d.play("a")
    d.play("b")  # waits for the blocking setup, then is refused (license_request): dropped
    world.run_until(5.0)
    assert [r.data["name"] for r in world.trace if r.kind == "action_dropped"] == ["play"]
    assert d.playback_state is P.PLAYING
    d.stop()
    world.run_until(65.0)
    assert d.playback_state is P.STOPPED
    d.play("c")  # accepted: the kept item's session is torn down first
    world.run_until(70.0)
    assert d.playback_state is P.PLAYING
    assert d.stream == "c"
    assert check_world(world) == []


def test_a_stop_after_a_sync_zap_ends_stopped() -> None:
    """A sync zap waits for its teardown to start the new stream; a later stop must not
    inherit that wait: its teardown's answer leaves the player stopped, not set up again."""
    world = World(seed=0)
    d = world.add_device(DeviceConfig(name="d", account="alice",
                                      ssm_server_url="https://ssm.example/",
                                      sync_ssm_setup_teardown=True))
    d.play("a")
    world.run_until(1.0)
    d.zap("b")
    world.run_until(2.0)
    assert (d.playback_state, d.stream) == (P.PLAYING, "b")
    d.stop()
    world.run_until(3.0)
    assert d.playback_state is P.STOPPED
    assert world.active_sessions() == []
    assert check_world(world) == []
