"""Copies of the checker's state (:mod:`player_sim.rules._copying`) get a plain,
combined ``__dict__``: on CPython 3.11 an object given a copy of a split one (what
``obj.__dict__.copy()`` gives for attributes kept inline) never specialises its
attribute loads, and the explorer copies monitors by the ten thousand."""

from __future__ import annotations

import dis
import sys
from typing import Any

import pytest

from player_sim.explore import clone_checker
from player_sim.explore._coremodel import core_checker
from player_sim.player import CoreConfig

pytestmark = pytest.mark.skipif(sys.implementation.name != "cpython",
                                reason="CPython's specialising")

_SPECIALISED = ("LOAD_ATTR_INSTANCE_VALUE", "LOAD_ATTR_WITH_HINT")


def _load_of_checker(obj: Any) -> str:
    """The opcode a warm load of ``obj.checker`` became."""

    def read(o: Any) -> Any:
        return o.checker

    for _ in range(1000):
        read(obj)
    return next(i.opname for i in dis.get_instructions(read, adaptive=True)
                if i.opname.startswith("LOAD_ATTR"))


def test_a_forked_monitor_specialises_its_attribute_loads() -> None:
    checker = core_checker(CoreConfig())
    monitor = checker.monitors[0]
    forked = monitor._fork(checker, object())
    assert forked.checker is checker
    assert _load_of_checker(forked) in _SPECIALISED


def test_a_cloned_checker_specialises_its_attribute_loads() -> None:
    clone = clone_checker(core_checker(CoreConfig()), lazy=True)
    clone.checker = clone  # (any attribute of its own: read through the same load)
    assert _load_of_checker(clone) in _SPECIALISED
