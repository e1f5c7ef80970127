"""Exploration: exhaustive search of the player core and a small world, stateful testing."""

from ._coremodel import ACTIONS, CoreEnv, Finding, Request, clone_core, state_key, step
from ._exhaustive import (
    CORE_CONFIGS,
    WORLD_CONFIGS,
    CoreExploration,
    ExhaustiveReport,
    Path,
    TableRow,
    WorldExploration,
    explore_core,
    explore_exhaustive,
    explore_world,
    format_exhaustive,
    table_rows,
)
from ._stateful import PlayerCoreMachine, core_machine

__all__ = [
    "ACTIONS",
    "CORE_CONFIGS",
    "WORLD_CONFIGS",
    "CoreEnv",
    "CoreExploration",
    "ExhaustiveReport",
    "Finding",
    "Path",
    "PlayerCoreMachine",
    "Request",
    "TableRow",
    "WorldExploration",
    "clone_core",
    "core_machine",
    "explore_core",
    "explore_exhaustive",
    "explore_world",
    "format_exhaustive",
    "state_key",
    "step",
    "table_rows",
]
