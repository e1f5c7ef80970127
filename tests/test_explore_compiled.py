"""The compiled tables fire every trigger exactly as the ``transitions`` machines do.

The proof that :mod:`player_sim.explore._compiled` is right: breadth-first through
every state the core explorer reaches (the same inputs, the same merging of states),
under every core configuration, each input is fed to a core firing through the
machines (the reference) and to one firing through the compiled lookup; both must
return the same effects (or raise the same refusal), end in the same core, slot by
slot, and fire the same table rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from transitions import Machine

from player_sim._errors import PlayerSimError
from player_sim.explore import CORE_CONFIGS, explore_world
from player_sim.explore._compiled import compile_machine, compiled_class
from player_sim.explore._coremodel import (
    KILL,
    RELAUNCH,
    CoreEnv,
    core_checker,
    inputs,
    snapshot,
    state_key,
    step,
)
from player_sim.explore._exhaustive import _tracing, _tracing_class
from player_sim.explore._recording import clone_checker
from player_sim.player import (
    APP_MACHINE,
    APP_TRANSITIONS,
    PLAYBACK_MACHINE,
    PLAYBACK_TRANSITIONS,
    CoreConfig,
    PlayerCore,
)

#: The depth of ``player-sim explore --exhaustive``.
DEPTH = 6
REFERENCE = Path(__file__).resolve().parent / "data" / "exhaustive_reference.json"


def _feed(core: Any, event: Any) -> Any:
    """What feeding ``event`` gives: the effects, or the refusal (type and message)."""
    core.fired = []
    try:
        if event == KILL:
            return core.kill()
        if event == RELAUNCH:
            return core.relaunch()
        return core.feed(event)
    except PlayerSimError as err:
        return type(err), str(err)


def _as(cls: type[PlayerCore], core: PlayerCore) -> Any:
    """A copy of ``core`` of class ``cls`` (same slots)."""
    new: Any = PlayerCore.__new__(cls)
    for name in PlayerCore.__slots__:
        if hasattr(core, name):
            setattr(new, name, getattr(core, name))
    new._stash = list(core._stash)
    new.fired = []
    return new


def _recorded_cli_run(name: str) -> dict[str, Any]:
    """The recorded ``player-sim explore --exhaustive`` summary of core ``name``."""
    recorded = json.loads(REFERENCE.read_text(encoding="utf-8"))["cli-default-depth-6"]
    return next(c for c in recorded["core"] if c["config"] == name)  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(CORE_CONFIGS))
def test_compiled_lookup_fires_as_the_machines_on_every_reachable_state(name: str) -> None:
    config = CORE_CONFIGS[name]
    reference_cls = _tracing_class(PlayerCore)
    compiled_cls = _tracing_class(compiled_class(PlayerCore))
    root: Any = reference_cls(config)
    root.fired = []
    env, checker = CoreEnv(), core_checker(config)
    seen = {state_key(root, env, checker)}
    frontier = [(root, env, checker)]
    compared = 0
    for _ in range(DEPTH):
        following = []
        for core, env, checker in frontier:
            for label, event, index, used in inputs(core, env):
                # The same input through the machines and through the lookup.
                reference, compiled = _tracing(core), _as(compiled_cls, core)
                assert _feed(reference, event) == _feed(compiled, event), label
                assert snapshot(reference) == snapshot(compiled), label
                assert reference.fired == compiled.fired, label
                compared += 1
                # Then on, as the explorer goes (the reference core, the records judged).
                child = _tracing(core)
                child_checker = checker if label.endswith(" (refused)") \
                    else clone_checker(checker, lazy=True)
                new_env, _, _ = step(child, env, event, index, used, child_checker)
                key = state_key(child, new_env, child_checker)
                if key not in seen:
                    seen.add(key)
                    following.append((child, new_env, child_checker))
        frontier = following
    # Every state the explorer reaches, every input it feeds there.
    recorded = _recorded_cli_run(name)
    assert (len(seen), compared) == (recorded["states"], recorded["steps"])


def test_compiled_world_finds_what_the_machines_find() -> None:
    for config in (CoreConfig(), CoreConfig(sync_ssm_setup_teardown=True)):
        assert explore_world(config, 6, "w") == explore_world(config, 6, "w", compiled=False)


def test_a_core_firing_its_own_way_is_not_compiled() -> None:
    class OwnFiring(PlayerCore):
        __slots__ = ()

        def _fire(self, machine: Machine, trigger: str) -> None:
            super()._fire(machine, trigger)

    assert compiled_class(OwnFiring) is OwnFiring
    assert compiled_class(PlayerCore) is compiled_class(PlayerCore) is not PlayerCore
    core = compiled_class(PlayerCore)(CoreConfig())
    assert isinstance(core, PlayerCore) and type(core).__name__ == "CompiledPlayerCore"


def test_the_lookup_holds_every_row_of_the_tables() -> None:
    rows = sum(len(rows) for lookup in (compile_machine(PLAYBACK_MACHINE),
                                        compile_machine(APP_MACHINE))
               for rows in lookup.values())
    expected = sum(len(r["source"]) if isinstance(r["source"], list) else 1
                   for r in [*PLAYBACK_TRANSITIONS, *APP_TRANSITIONS])
    assert rows == expected


def test_machines_with_callbacks_the_lookup_does_not_run_are_refused() -> None:
    machine = Machine(model=None, states=["a", "b"], initial="a",
                      transitions=[{"trigger": "go", "source": "a", "dest": "b"}],
                      after_state_change="_log")
    with pytest.raises(ValueError, match="machine-wide callbacks"):
        compile_machine(machine)
