"""A checker's routes (which monitors read each record kind) and its slots by rule id
are worked out once per set of active monitors and shared by the checkers alike."""

from __future__ import annotations

import itertools

import pytest

from player_sim import Vantage
from player_sim.rules import CheckConfig, TraceChecker
from player_sim.rules._checker import _routes

#: Configurations that switch monitors off (None: unknown limit, no heartbeats traced ...).
CONFIGS = [
    CheckConfig(),
    CheckConfig(max_sessions_per_account=2, session_timeout=90.0),
    CheckConfig(heartbeats_traced=False, ovp_widget_validity=None, ovp_user_validity=None),
    CheckConfig(max_sessions_per_account=1, heartbeats_traced=False),
]
VANTAGES = [None, {Vantage.DEVICE}, {Vantage.SERVER}, {Vantage.DEVICE, Vantage.SERVER}]


def _checker(config: CheckConfig, vantages: set[Vantage] | None) -> TraceChecker:
    return TraceChecker(config) if vantages is None else TraceChecker(config, vantages=vantages)


@pytest.mark.parametrize(("config", "vantages"), list(itertools.product(CONFIGS, VANTAGES)))
def test_routes_are_those_of_the_checkers_own_monitors(
        config: CheckConfig, vantages: set[Vantage] | None) -> None:
    checker = _checker(config, vantages)
    expected: dict[str, list[int]] = {}
    for slot, monitor in enumerate(checker.monitors):
        assert monitor._slot == slot
        for kind in sorted(monitor.kinds):
            expected.setdefault(kind, []).append(slot)
    assert checker._routes == {kind: tuple(slots) for kind, slots in expected.items()}
    assert [checker.monitors[slot].rule_id for slot in checker._by_rule] == \
        sorted(m.rule_id for m in checker.monitors)


def test_checkers_alike_share_the_work_and_not_the_dict() -> None:
    configs = {len(_checker(c, None).monitors) for c in CONFIGS}
    assert len(configs) > 1, "the configurations should switch different monitors off"
    first = _checker(CONFIGS[1], None)
    hits = _routes.cache_info().hits
    second = _checker(CONFIGS[1], None)
    assert _routes.cache_info().hits == hits + 1
    assert second._routes == first._routes and second._routes is not first._routes
    other = _checker(CONFIGS[2], None)
    assert other._routes != first._routes  # other monitors active: other routes
