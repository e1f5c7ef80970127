"""A random search's counterexamples do not depend on how busy the machine is.

Hypothesis stops shrinking a failure after five minutes of wall time; the explorer
shrinks by Hypothesis' count of shrinks instead, so the same seed writes the same
files on a loaded CI runner as on an idle laptop."""

from __future__ import annotations

import pytest
from hypothesis.internal.conjecture import engine

from player_sim.explore import explore_random

ZAP_RACE = "ssm.zap.no-self-limit"


def _texts() -> list[str]:
    report = explore_random(examples=60, seed=4, rules=[ZAP_RACE])
    assert report.counterexamples  # the race is found: there is something to shrink
    return [c.text for c in report.counterexamples]


def test_a_search_shrinks_as_far_on_a_machine_out_of_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    idle = _texts()
    monkeypatch.setattr(engine, "MAX_SHRINKING_SECONDS", 0)  # every shrink "too slow"
    assert _texts() == idle
    assert engine.MAX_SHRINKING_SECONDS == 0  # the caller's setting is given back
