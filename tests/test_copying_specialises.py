"""Copies of the checker's state (:mod:`player_sim.rules._copying`) get a plain,
combined ``__dict__``: on CPython 3.11 an object given a copy of a split one (what
``obj.__dict__.copy()`` gives for attributes kept inline) never specialises its
attribute loads, and the explorer copies monitors by the ten thousand."""

from __future__ import annotations

from typing import Any

from specialising import SPECIALISED, load_after_warming

from player_sim.explore import clone_checker
from player_sim.explore._coremodel import core_checker
from player_sim.player import CoreConfig


def _checker_of(obj: Any) -> Any:
    return obj.checker


def test_a_forked_monitor_specialises_its_attribute_loads() -> None:
    checker = core_checker(CoreConfig())
    forked = checker.monitors[0]._fork(checker, object())
    assert forked.checker is checker
    assert load_after_warming(_checker_of, forked) in SPECIALISED


def test_a_cloned_checker_specialises_its_attribute_loads() -> None:
    clone = clone_checker(core_checker(CoreConfig()), lazy=True)
    clone.checker = clone  # (any attribute of its own: read through the same load)
    assert load_after_warming(_checker_of, clone) in SPECIALISED
