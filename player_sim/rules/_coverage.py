"""Which bundled scenarios cover which rules (their ``covers:`` lists)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ._catalogue import CATALOGUE

__all__ = ["rule_coverage", "uncovered"]


def rule_coverage(covers: Iterable[tuple[str, Iterable[str]]]) -> dict[str, list[str]]:
    """Every catalogue rule -> the scenarios (by name, sorted) that cover it.

    ``covers`` yields ``(scenario name, rule ids)`` pairs. An id that is not in
    the catalogue raises ``KeyError`` naming the scenario.
    """
    coverage: dict[str, list[str]] = {rule_id: [] for rule_id in CATALOGUE}
    for name, ids in covers:
        for rule_id in ids:
            if rule_id not in coverage:
                raise KeyError(f"{name}: covers unknown rule {rule_id!r} "
                               "('player-sim rules' lists them)")
            coverage[rule_id].append(name)
    return {rule_id: sorted(set(names)) for rule_id, names in coverage.items()}


def uncovered(coverage: Mapping[str, list[str]]) -> list[str]:
    """The rules no scenario covers, in catalogue order."""
    return [rule_id for rule_id, names in coverage.items() if not names]
