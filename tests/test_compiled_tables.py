"""The compiled tables fire exactly as the ``transitions`` machines they come from.

The player core fires its two machines through :class:`CompiledTable` (a lookup
of each machine's rows); the ``transitions`` machines built from the same
tables are the reference. For every trigger, from every state it is declared
in, with every outcome of the conditions its rows consult, both fire on a stub
model that records each condition asked and each callback run together with
the state at that moment: the records, the final state and the result must be
the same.
"""

from __future__ import annotations

import enum
import itertools
from typing import Any

import pytest
from transitions import Machine, MachineError

from player_sim.player._states import (
    APP_MACHINE,
    APP_TABLE,
    PLAYBACK_MACHINE,
    PLAYBACK_TABLE,
    CompiledTable,
)

PAIRS = [pytest.param(PLAYBACK_MACHINE, PLAYBACK_TABLE, id="playback"),
         pytest.param(APP_MACHINE, APP_TABLE, id="app")]


class _Stub:
    """A model whose conditions return the given outcomes and whose every condition
    and callback is logged with the model's state at the time."""

    def __init__(self, attribute: str, state: enum.Enum, outcomes: dict[str, bool]) -> None:
        self.attribute = attribute
        setattr(self, attribute, state)
        self.outcomes = outcomes
        self.log: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_"):
            raise AttributeError(name)

        def method() -> bool | None:
            self.log.append((name, getattr(self, self.attribute)))
            return self.outcomes.get(name)

        return method


def _cases(machine: Machine) -> list[tuple[str, enum.Enum, dict[str, bool]]]:
    """(trigger, source state, condition outcomes): every combination of outcomes of
    the conditions a trigger's rows consult from that state."""
    cases = []
    for trigger, event in machine.events.items():
        for source, rows in event.transitions.items():
            names = sorted({c.func for row in rows for c in row.conditions})
            for values in itertools.product((False, True), repeat=len(names)):
                cases.append((trigger, machine.states[source].value,
                              dict(zip(names, values, strict=True))))
    return cases


@pytest.mark.parametrize(("machine", "table"), PAIRS)
def test_every_row_fires_as_the_machine_does(machine: Machine, table: CompiledTable) -> None:
    cases = _cases(machine)
    assert len(cases) > len(machine.events)
    for trigger, state, outcomes in cases:
        reference = _Stub(machine.model_attribute, state, outcomes)
        compiled = _Stub(machine.model_attribute, state, outcomes)
        fired = machine.events[trigger].trigger(reference)
        assert table.fire(compiled, trigger) == fired, (trigger, state, outcomes)
        assert compiled.log == reference.log, (trigger, state, outcomes)
        assert getattr(compiled, table.attribute) is getattr(reference, table.attribute)


@pytest.mark.parametrize(("machine", "table"), PAIRS)
def test_a_trigger_is_refused_where_the_machine_refuses_it(machine: Machine,
                                                           table: CompiledTable) -> None:
    states = [state.value for state in machine.states.values()]
    for trigger, state in itertools.product(machine.events, states):
        declared = state.name in machine.events[trigger].transitions
        assert table.can(state, trigger) == declared
        if not declared:
            with pytest.raises(MachineError):
                machine.events[trigger].trigger(_Stub(machine.model_attribute, state, {}))


def test_a_machine_with_a_feature_the_compiler_lacks_is_refused() -> None:
    class Light(enum.Enum):
        OFF = "off"
        ON = "on"

    machine = Machine(model=None, states=Light, initial=Light.OFF,
                      transitions=[{"trigger": "flip", "source": Light.OFF, "dest": Light.ON}],
                      auto_transitions=False, after_state_change="_log")
    with pytest.raises(TypeError, match="after_state_change"):
        CompiledTable(machine)
