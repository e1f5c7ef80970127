"""The core explorer feeds a state's refused actions to one spare copy of its core.

``explore_core`` checks the contract :data:`REFUSED_INPUT_UNCHANGED` of each refused
action on a spare copy snapshotted once per state (:func:`refusal_kept`), and takes the
step again on a fresh copy only when the contract breaks. These tests pin that this
finds exactly what a copy per refused action finds (the breadth-first loop as it was,
kept here as the oracle), for the core and for cores that break the contract.
"""

from __future__ import annotations

from typing import Any

import pytest

from player_sim.explore import REFUSED_INPUT_UNCHANGED, CoreExploration, ShortestPath, TableRow
from player_sim.explore._coremodel import (
    CoreEnv,
    core_checker,
    inputs,
    keyed_by_slots,
    refusal_kept,
    snapshot,
    state_key,
    step,
)
from player_sim.explore._exhaustive import _path, _tracing, _tracing_class, explore_core
from player_sim.explore._recording import clone_checker
from player_sim.player import CoreConfig, PlayerCore
from player_sim.player import _events as ev


def _one_copy_per_input(config: CoreConfig, depth: int, name: str,
                        core_type: type[PlayerCore]) -> CoreExploration:
    """The breadth-first search as ``explore_core`` ran it before the spare copy (main
    at 1c725e7), a fresh core copy for every input, refused ones too; but with a fresh
    checker copy for every input too (main shared the parent's checker with a refused
    input's child, which the parent's last input then fed: the bug
    :func:`test_a_refusal_that_changed_the_core_keeps_its_own_checker` pins)."""
    root: Any = _tracing_class(core_type)(config)
    root.fired = []
    env, checker = CoreEnv(), core_checker(config)
    key = state_key(root, env, checker)
    parents: dict[Any, Any] = {key: None}
    frontier = [(root, env, checker, key)]
    reached = {("app", root.app.value), ("playback", root.playback.value)}
    rows: set[Any] = set()
    found: dict[str, ShortestPath] = {}
    steps = 0
    refusals_return = keyed_by_slots(core_type, config)
    for _ in range(depth):
        following = []
        for core, env, checker, key in frontier:
            for label, event, index, used in inputs(core, env):
                child = _tracing(core)
                refused = label.endswith(" (refused)")
                child_checker = clone_checker(checker)
                new_env, _, findings = step(child, env, event, index, used, child_checker,
                                            accepted=not refused)
                steps += 1
                if refused and refusals_return and not findings:
                    continue
                rows.update(child.fired)
                reached.add(("app", child.app.value))
                reached.add(("playback", child.playback.value))
                for finding in findings:
                    found.setdefault(finding.rule_id, ShortestPath(
                        finding.rule_id, finding.message, (*_path(parents, key), label),
                        f"core/{name}"))
                child_key = state_key(child, new_env, child_checker)
                if child_key not in parents:
                    parents[child_key] = (key, label)
                    following.append((child, new_env, child_checker, child_key))
        frontier = following
    contract = found.pop(REFUSED_INPUT_UNCHANGED, None)
    return CoreExploration(name, depth, len(parents), steps, frozenset(reached),
                           frozenset(TableRow(*r) for r in rows), tuple(found.values()),
                           () if contract is None else (contract,))


class LeakyRefusal(PlayerCore):
    """Writes ``ks`` before refusing a play: the contract breaks, the core raises."""

    __slots__ = ()

    def feed(self, event: ev.Input) -> tuple[ev.Effect, ...]:
        if isinstance(event, ev.Play) and not self.can(event):
            self.ks = "leaked"
        return super().feed(event)


class SilentRefusal(PlayerCore):
    """Takes a refused stop without raising (and without changing)."""

    __slots__ = ()

    def feed(self, event: ev.Input) -> tuple[ev.Effect, ...]:
        if isinstance(event, ev.Stop) and not self.can(event):
            return ()
        return super().feed(event)


def test_a_kept_refusal_leaves_the_spare_as_it_was() -> None:
    core: Any = _tracing(_tracing_class(PlayerCore)(CoreConfig()))
    core.feed(ev.Play("a"))
    assert not core.can(ev.Play("a"))
    before = snapshot(core)
    assert refusal_kept(core, ev.Play("a"), before)
    assert refusal_kept(core, ev.Resume(), before)
    assert snapshot(core) == before


def test_a_broken_refusal_is_told_apart() -> None:
    leaky: Any = _tracing(_tracing_class(LeakyRefusal)(CoreConfig()))
    leaky.feed(ev.Play("a"))
    assert not refusal_kept(leaky, ev.Play("a"), snapshot(leaky))  # changed, raised
    silent: Any = _tracing(_tracing_class(SilentRefusal)(CoreConfig()))
    assert not silent.can(ev.Stop())
    assert not refusal_kept(silent, ev.Stop(), snapshot(silent))  # did not raise


@pytest.mark.parametrize("core_type", [PlayerCore, LeakyRefusal, SilentRefusal])
@pytest.mark.parametrize("config", [CoreConfig(), CoreConfig(sync_ssm_setup_teardown=True)],
                         ids=["default", "sync"])
def test_the_spare_copy_finds_what_a_copy_per_input_finds(core_type: type[PlayerCore],
                                                          config: CoreConfig) -> None:
    fast = explore_core(config, 4, "c", core_type=core_type)
    assert fast == _one_copy_per_input(config, 4, "c", core_type)
    if core_type is not PlayerCore:  # the broken contract, with its shortest path
        (path,) = fast.contract
        assert path.rule_id == REFUSED_INPUT_UNCHANGED
        if core_type is LeakyRefusal:
            assert len(path.steps) == 2 and path.steps[-1] == "Play('a') (refused)"
            assert "ks" in path.message
        else:
            assert path.steps == ("Stop() (refused)",)
            assert "accepted although can() refused it" in path.message


def test_a_refusal_that_changed_the_core_keeps_its_own_checker() -> None:
    # A refused play that leaks ``ks`` leads to a state of its own. Its checker must be
    # the parent's as it was then, not as the parent's last input (a kill) left it:
    # else the leaked state's monitors judge it as if it had been killed, and report
    # violations no input sequence makes.
    for config in (CoreConfig(), CoreConfig(sync_ssm_setup_teardown=True)):
        found = explore_core(config, 5, "c", core_type=LeakyRefusal)
        assert found.violations == ()
        assert found == _one_copy_per_input(config, 5, "c", LeakyRefusal)


def test_a_plain_core_adds_nothing_to_the_state_key_and_a_variant_does() -> None:
    class Plain(PlayerCore):
        __slots__ = ()

    class Counting(PlayerCore):
        __slots__ = ("refusals",)

    plain: Any = Plain(CoreConfig())
    counting: Any = Counting(CoreConfig())
    counting.refusals = 3
    assert state_key(plain, CoreEnv()) == state_key(PlayerCore(CoreConfig()), CoreEnv())
    assert state_key(counting, CoreEnv()) != state_key(plain, CoreEnv())
    assert ("refusals", 3) in state_key(counting, CoreEnv())[12]


def test_a_dropped_checker_copy_is_freed_without_the_collector() -> None:
    import gc
    import weakref

    from player_sim.explore._recording import drop_checker
    from player_sim.trace import TraceRecord

    origin = core_checker(CoreConfig())
    record = TraceRecord(1.0, "a", "action", "foreground", "idle",
                         {"name": "play", "origin": "user", "stream": "a"}, 1)
    gc.disable()
    try:
        kept, dropped = clone_checker(origin), clone_checker(origin)
        for copy in (kept, dropped):
            copy.feed(record)  # (each forks the monitors reading an action: a cycle)
        alive, gone = weakref.ref(kept), weakref.ref(dropped)
        drop_checker(dropped)
        del kept, dropped, copy
        assert gone() is None  # freed by reference counting alone
        assert alive() is not None  # (the cycle a copy's monitors make, undropped)
    finally:
        gc.enable()
    assert origin.feed(record) == []  # the origin's monitors are untouched


def test_the_core_explorer_leaves_the_collector_as_it_found_it() -> None:
    import gc

    assert gc.isenabled()
    explore_core(CoreConfig(), 2, "c")
    assert gc.isenabled()
    gc.disable()
    try:
        explore_core(CoreConfig(), 2, "c")
        assert not gc.isenabled()  # a caller that manages the collector is left alone
    finally:
        gc.enable()
