"""Every action a device can be asked to do, declared once.

An action's ``name`` is its verb everywhere: the step of a scenario file
(``- enter_background: phone``) and the ``name`` of the trace's ``action``
record are the same word. For an action the player core takes as input, the
name, the arguments and the one-line meaning come from its event class in
:mod:`._events` (``EnterBackground`` -> ``enter_background``, its attrs fields,
the first line of its docstring); ``kill`` and ``relaunch`` are done to the
app by the OS and have no event class.

The scenario schema and loader, the runner, the scenario strategies and the
README's step table derive from :data:`ACTIONS`; a new event class in
:data:`._events.Action` without an entry here fails ``tests/test_vocabulary.py``.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from typing import Any, Final

import attrs

from . import _events as ev
from ._values import Value

__all__ = ["ACTIONS", "ACTION_NAMES", "ActionArg", "ActionSpec", "action_name", "action_spec"]


@attrs.frozen(repr=False)
class ActionArg(Value):
    """An argument an action takes besides the device: ``name``, its Python ``type``,
    and whether a step must give it."""

    name: str
    type: type
    required: bool


@attrs.frozen(repr=False)
class ActionSpec(Value):
    """One action: its verb, its event class (``None``: done by the OS, not fed to the
    player core), its arguments, its meaning, and who can do it.

    ``user``: a person can do it (generated scenarios draw it); ``app``: an app policy
    may do it in reaction to a notification; ``session``: it acts on the device's
    session provider (the device needs one).
    """

    name: str
    event: type[ev.Action] | None
    args: tuple[ActionArg, ...]
    meaning: str
    user: bool = True
    app: bool = False
    session: bool = False

    def build(self, args: Mapping[str, Any]) -> ev.Action:
        """The event for this action with ``args`` (a missing optional one is ``None``)."""
        assert self.event is not None, f"{self.name} is not a player input"
        kwargs: dict[str, Any] = {a.name: args.get(a.name) for a in self.args}
        return self.event(**kwargs)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _meaning(doc: str | None) -> str:
    """The first sentence-line of a docstring, without reST roles and literals."""
    line = (doc or "").strip().splitlines()[0]
    return re.sub(r":\w+:`~?\.?(?:\w+\.)*(\w+)`", r"\1", line).replace("``", "`")


def _player(event: type[ev.Action], *, user: bool = True, app: bool = False,
            session: bool = False) -> ActionSpec:
    hints = typing.get_type_hints(event)
    args = tuple(ActionArg(f.name, str if hints[f.name] in (str, str | None) else object,
                           f.default is attrs.NOTHING)
                 for f in attrs.fields(event))
    return ActionSpec(_snake(event.__name__), event, args, _meaning(event.__doc__),
                      user=user, app=app, session=session)


#: Every action, in the order generated scenarios consider them.
ACTIONS: Final[tuple[ActionSpec, ...]] = (
    _player(ev.Play),
    _player(ev.Zap, app=True),
    _player(ev.Stop, app=True),
    _player(ev.Resume, app=True),
    _player(ev.ReleaseItem),
    _player(ev.EnterBackground),
    _player(ev.EnterForeground),
    _player(ev.EnterPip),
    _player(ev.LeavePip),
    _player(ev.ClosePip),
    ActionSpec("kill", None, (), "The OS kills the app: nothing is sent; its SSM session "
                                 "becomes a zombie."),
    ActionSpec("relaunch", None, (), "Start the killed app again: a new player, idle in "
                                     "the foreground."),
    _player(ev.Login, session=True),
    _player(ev.Logout, session=True),
    _player(ev.EndSession, user=False, session=True),
)

_BY_NAME: Final = {spec.name: spec for spec in ACTIONS}
_BY_EVENT: Final = {spec.event: spec for spec in ACTIONS if spec.event is not None}
#: The verbs, in table order.
ACTION_NAMES: Final = tuple(_BY_NAME)


def action_spec(name: str) -> ActionSpec:
    """The spec of the action called ``name`` (a ``KeyError`` if there is none)."""
    return _BY_NAME[name]


def action_name(action: ev.Action) -> str:
    """The verb of ``action``, as scenario files and ``action`` trace records write it."""
    return _BY_EVENT[type(action)].name
