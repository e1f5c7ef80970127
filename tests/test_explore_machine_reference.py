"""The core explored as it is fires every trigger exactly as the ``transitions`` machines do.

:class:`~player_sim.PlayerCore` fires through the compiled tables;
:class:`~player_sim.explore._reference.MachineCore` is the same core firing through
the machines (the reference, and the peer of ``benchmarks/exhaustive_bench.py``).
Breadth-first through every state the core explorer reaches at the CLI's depth (the
same inputs, the same merging of states), under every core configuration, each input
is fed to both: they must return the same effects (or raise the same refusal), end in
the same core, slot by slot, and fire the same table rows. Explored whole, core and
small world, both find the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from player_sim._errors import PlayerSimError
from player_sim.explore import CORE_CONFIGS, explore_core, explore_world
from player_sim.explore._coremodel import (
    KILL,
    RELAUNCH,
    CoreEnv,
    core_checker,
    inputs,
    keyed_by_slots,
    snapshot,
    state_key,
    step,
)
from player_sim.explore._exhaustive import _tracing, _tracing_class
from player_sim.explore._recording import clone_checker
from player_sim.explore._reference import MachineCore
from player_sim.player import CoreConfig, PlayerCore, SdkModel

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
def test_the_core_fires_as_the_machines_on_every_reachable_state(name: str) -> None:
    config = CORE_CONFIGS[name]
    machine_cls = _tracing_class(MachineCore)
    root: Any = _tracing_class(PlayerCore)(config)
    root.fired = []
    env, checker = CoreEnv(), core_checker(config)
    seen = {state_key(root, env, checker)}
    frontier = [(root, env, checker)]
    compared = 0
    for _ in range(DEPTH):
        following = []
        for core, env, checker in frontier:
            for label, event, index, used in inputs(core, env):
                # The same input through the compiled tables and through the machines.
                compiled, machines = _tracing(core), _as(machine_cls, core)
                assert _feed(compiled, event) == _feed(machines, event), label
                assert snapshot(compiled) == snapshot(machines), label
                assert compiled.fired == machines.fired, label
                compared += 1
                # Then on, as the explorer goes (every step keyed, refused ones too).
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


def test_explored_whole_the_reference_core_finds_the_same() -> None:
    for config in (CoreConfig(), CoreConfig(sync_ssm_setup_teardown=True)):
        assert explore_core(config, 5, "c") == explore_core(config, 5, "c",
                                                             core_type=MachineCore)
        assert explore_world(config, 6, "w") == explore_world(config, 6, "w",
                                                              core_type=MachineCore)


def test_refusals_skip_the_state_key_only_for_cores_keyed_by_their_slots() -> None:
    class Counting(PlayerCore):
        __slots__ = ("refusals",)

    class WithDict(PlayerCore):
        pass

    assert keyed_by_slots(PlayerCore, CoreConfig())
    assert keyed_by_slots(MachineCore, CoreConfig())
    assert not keyed_by_slots(Counting, CoreConfig())
    assert not keyed_by_slots(WithDict, CoreConfig())
    assert not keyed_by_slots(PlayerCore, CoreConfig(sdk=SdkModel()))  # its state is keyed
