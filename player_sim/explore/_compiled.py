"""The lifecycle tables compiled to a lookup: the explorers' way of firing a trigger.

:class:`~player_sim.PlayerCore` fires its triggers through the ``transitions``
machines that :mod:`player_sim.player._states` builds from
:data:`~player_sim.player.PLAYBACK_TRANSITIONS` and
:data:`~player_sim.player.APP_TRANSITIONS`: an event object, an ``EventData``,
partials, a callback resolver, for every trigger. The explorers fire millions
of them, so they read the same machines once, here, into plain lookups
(:func:`compile_machine`), and fire through :func:`compiled_class`: a subclass
of the core whose ``_fire`` takes the rows of ``(trigger, state)`` in the
machine's order and runs the first whose conditions all hold, exactly as the
machine does (its ``before`` callbacks, the state change unless the row is
internal, its ``after`` callbacks). A trigger the current state does not take
is refused as the core refuses it (:meth:`PlayerCore._trigger_refusal`).

The compilation reads the machines, not the table dicts, so it cannot drift
from what ``transitions`` runs; it refuses a machine that uses anything it does
not compile (machine-wide or state callbacks, ``prepare``, queued or
event-sending machines). A core class that fires its own way (overrides
``_fire``) is not compiled: :func:`compiled_class` returns it unchanged, and it
fires through the machines.

``tests/test_explore_compiled.py`` is the proof: on every state the core
explorer reaches in every configuration, every input gives the same effects,
the same core and the same table rows through the lookup as through the
machines (the reference, which stays the library's own path).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, Final

from transitions import Machine

from ..player import APP_MACHINE, PLAYBACK_MACHINE, PlayerCore

__all__ = ["Row", "compile_machine", "compiled_class"]

#: One compiled row: its conditions (method names, each with the value it must return),
#: its destination (``None``: an internal transition, the state stays), its ``before``
#: and ``after`` callbacks (method names), in the machine's order.
Row = tuple[tuple[tuple[str, bool], ...], enum.Enum | None, tuple[str, ...], tuple[str, ...]]


def compile_machine(machine: Machine) -> dict[tuple[str, enum.Enum], tuple[Row, ...]]:
    """``machine``'s transitions as ``{(trigger, source state): rows in order}``.

    Raises ``ValueError`` for a machine using what this lookup does not run:
    machine-wide callbacks, state enter/exit callbacks, ``prepare`` callbacks,
    callables instead of method names, a queue or ``send_event``.
    """
    if machine.has_queue or machine.send_event or any(
            (machine.before_state_change, machine.after_state_change, machine.prepare_event,
             machine.finalize_event, machine.on_exception, machine.on_final)):
        raise ValueError(f"{machine.name or 'the machine'} uses machine-wide callbacks or a "
                         "queue, which compile_machine does not run")
    states: dict[str, enum.Enum] = {}
    for name, state in machine.states.items():
        if state.on_enter or state.on_exit or state.final or not isinstance(state.value,
                                                                            enum.Enum):
            raise ValueError(f"state {name} has callbacks or is no enum member, which "
                             "compile_machine does not run")
        states[name] = state.value
    lookup: dict[tuple[str, enum.Enum], tuple[Row, ...]] = {}
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            if any(t.prepare for t in transitions):
                raise ValueError(f"{trigger} from {source}: prepare callbacks, which "
                                 "compile_machine does not run")
            lookup[trigger, states[source]] = tuple(
                (tuple(zip(_names(c.func for c in t.conditions),
                           (c.target for c in t.conditions), strict=True)),
                 None if t.dest is None else states[t.dest],
                 _names(t.before), _names(t.after))
                for t in transitions)
    return lookup


def _names(callbacks: Iterable[object]) -> tuple[str, ...]:
    """Callback names (a callable instead of a name is not compiled)."""
    names: list[str] = []
    for name in callbacks:
        if not isinstance(name, str):
            raise ValueError(f"the callback {name!r} is not a method name, which "
                             "compile_machine does not run")
        names.append(name)
    return tuple(names)


#: Each machine's lookup, and the core attribute its state lives in.
_COMPILED: Final[Mapping[Machine, tuple[dict[tuple[str, enum.Enum], tuple[Row, ...]], str]]] = {
    PLAYBACK_MACHINE: (compile_machine(PLAYBACK_MACHINE), "playback"),
    APP_MACHINE: (compile_machine(APP_MACHINE), "app"),
}


def _fire(self: Any, machine: Machine, trigger: str) -> None:
    """``PlayerCore._fire`` through the compiled lookup (see the module's docstring)."""
    lookup, attribute = _COMPILED[machine]
    rows = lookup.get((trigger, getattr(self, attribute)))
    if rows is None:
        refusal = self._trigger_refusal(machine, trigger)
        raise refusal if refusal is not None else AssertionError(
            f"compiled tables disagree with the machine on {trigger}")
    for conditions, dest, before, after in rows:
        for name, target in conditions:
            if getattr(self, name)() != target:
                break
        else:
            for name in before:
                getattr(self, name)()
            if dest is not None:
                setattr(self, attribute, dest)
            for name in after:
                getattr(self, name)()
            return


_CLASSES: dict[type[PlayerCore], type[PlayerCore]] = {}


def compiled_class(base: type[PlayerCore]) -> type[PlayerCore]:
    """``base`` firing its triggers through the compiled lookup (cached per class).

    ``base`` itself when it overrides ``_fire`` (it fires its own way: the
    machines stay its reference).
    """
    found = _CLASSES.get(base)
    if found is None:
        if base._fire is not PlayerCore._fire:
            found = base
        else:
            found = type(f"Compiled{base.__name__}", (base,),
                         {"__slots__": (), "_fire": _fire, "__module__": base.__module__,
                          "__doc__": base.__doc__})
        _CLASSES[base] = found
    return found
