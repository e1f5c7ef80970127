"""One ``__repr__`` for many frozen attrs classes, so that defining them costs less.

For every class, attrs writes a ``__repr__`` (with its guard against recursion) into
the class's generated source and compiles it: about a third of the cost of defining a
small frozen class, and ``import player_sim`` defines dozens. A class written
``@attrs.frozen(repr=False)`` over :class:`Value` is the same attrs class (its fields,
``attrs.fields``, ``attrs.evolve``, equality, hashing, ``__init__``), and its repr is
the text attrs would write: ``Name(field=value!r, ...)`` over the fields attrs would
show (a field's ``repr=False`` leaves it out, a callable ``repr`` formats it), ``...``
for an instance met again while it is being shown.

It lives here, in the lowest layer whose classes use it (the events, the action
table); the scenario model above uses it too.
"""

from __future__ import annotations

import threading
from typing import Any

import attrs

__all__ = ["Value"]

#: The ids of the instances being shown, per thread (a recursive repr shows ``...``).
_SHOWING = threading.local()


class Value:
    """A base for frozen attrs classes declared with ``repr=False``: attrs' repr, shared."""

    __slots__ = ()

    def __repr__(self) -> str:
        showing: set[int] | None = getattr(_SHOWING, "ids", None)
        if showing is None:
            showing = _SHOWING.ids = set()
        me = id(self)
        if me in showing:
            return "..."
        showing.add(me)
        try:
            parts = []
            field: Any
            for field in self.__attrs_attrs__:  # type: ignore[attr-defined]
                shown = field.repr
                if shown is False:
                    continue
                # (as attrs: a field outside __init__ may be unset)
                value = getattr(self, field.name) if field.init else \
                    getattr(self, field.name, attrs.NOTHING)
                parts.append(f"{field.name}={value!r}" if shown is True or shown is repr
                             else f"{field.name}={shown(value)}")
            return f"{self.__class__.__qualname__.rsplit('>.', 1)[-1]}({', '.join(parts)})"
        finally:
            showing.discard(me)
