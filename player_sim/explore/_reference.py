"""The player core firing through the ``transitions`` machines: the explorers' reference.

:class:`~player_sim.PlayerCore` fires its triggers through the tables compiled to a
lookup (:class:`~player_sim.player._states.CompiledTable`). :class:`MachineCore`
is the same core firing them, and deciding which it accepts, through the
``transitions`` machines the tables build, as the core did before: explored as
``core_type``, it is the peer the compiled lookup is measured against
(``benchmarks/exhaustive_bench.py``) and the reference it is proved against, on
every state the explorer reaches (``tests/test_explore_machine_reference.py``).
"""

from __future__ import annotations

from typing import Any

from transitions import Machine

from ..player import PlayerCore

__all__ = ["MachineCore"]


class MachineCore(PlayerCore):
    """A :class:`~player_sim.PlayerCore` whose triggers go through
    ``machine.events[trigger].trigger(core)`` (no state of its own)."""

    __slots__ = ()

    @staticmethod
    def _can(machine: Machine, state: Any, trigger: str) -> bool:
        return state.name in machine.events[trigger].transitions

    def _fire(self, machine: Machine, trigger: str) -> None:
        refusal = self._trigger_refusal(machine, trigger)
        if refusal is not None:
            raise refusal
        machine.events[trigger].trigger(self)
