"""Whether CPython specialised an attribute load, for tests that an object was not left
with a ``__dict__`` whose loads never specialise (on CPython 3.11: a dict made an object
from the attributes kept inline, by ``vars(obj)`` or ``obj.__dict__``, or a copy of one)."""

from __future__ import annotations

import dis
from collections.abc import Callable
from typing import Any

import pytest

#: The forms a specialised load of an instance attribute takes.
SPECIALISED = ("LOAD_ATTR_INSTANCE_VALUE", "LOAD_ATTR_WITH_HINT")


def load_after_warming(read: Callable[[Any], Any], obj: Any) -> str:
    """The opcode the attribute load in ``read`` (a function returning one attribute of
    its argument) became after a thousand calls with ``obj``. Skips the test on an
    interpreter that specialises no such load (not CPython 3.11+, or with it off)."""
    if _warmed(_read_plain, _Plain()) not in SPECIALISED:
        pytest.skip("this interpreter does not specialise attribute loads")
    return _warmed(read, obj)


def _warmed(read: Callable[[Any], Any], obj: Any) -> str:
    for _ in range(1000):
        read(obj)
    return next(i.opname for i in dis.get_instructions(read, adaptive=True)
                if i.opname.startswith("LOAD_ATTR"))


class _Plain:
    def __init__(self) -> None:
        self.value = 1


def _read_plain(obj: _Plain) -> int:
    return obj.value
