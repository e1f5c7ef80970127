"""Rule coverage: which scenario runs really judged which rules.

A rule counts as covered by a scenario only when, in that scenario's run, its
monitor met the situation the rule judges (``Monitor.observed``; the counts
are :attr:`Verdict.observed <player_sim.rules.Verdict.observed>`), not because
the scenario's ``covers:`` names it. A ``covers:`` label whose rule was not
observed in that scenario's run is a false claim, reported by
:func:`false_labels`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ._catalogue import CATALOGUE

__all__ = ["false_labels", "rule_coverage", "uncovered"]


def rule_coverage(runs: Iterable[tuple[str, Mapping[str, int]]]) -> dict[str, list[str]]:
    """Every catalogue rule -> the scenarios (by name, sorted) whose run observed it.

    ``runs`` yields ``(scenario name, observed counts)`` pairs, the counts as a
    :class:`~player_sim.rules.Verdict` gives them; a rule counts for a scenario
    when its count there is above zero.
    """
    coverage: dict[str, set[str]] = {rule_id: set() for rule_id in CATALOGUE}
    for name, observed in runs:
        for rule_id, count in observed.items():
            if count > 0 and rule_id in coverage:
                coverage[rule_id].add(name)
    return {rule_id: sorted(names) for rule_id, names in coverage.items()}


def uncovered(coverage: Mapping[str, list[str]]) -> list[str]:
    """The rules no scenario run observed, in catalogue order."""
    return [rule_id for rule_id, names in coverage.items() if not names]


def false_labels(name: str, covers: Iterable[str],
                 observed: Mapping[str, int]) -> list[str]:
    """The ids a scenario lists under ``covers:`` that its run did not observe.

    An id that is not in the catalogue raises ``KeyError`` naming the scenario.
    """
    out = []
    for rule_id in covers:
        if rule_id not in CATALOGUE:
            raise KeyError(f"{name}: covers unknown rule {rule_id!r} "
                           "('player-sim rules' lists them)")
        if observed.get(rule_id, 0) == 0:
            out.append(rule_id)
    return out
