"""The collector policy of long runs (player_sim._collector): the caller's collector is
left exactly as it was found, and garbage made meanwhile is still collected."""

from __future__ import annotations

import gc
import weakref

import pytest
from click.testing import CliRunner

from player_sim._collector import BATCH_YOUNG_THRESHOLD, batch_run, long_lived
from player_sim.cli import main


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_batch_run_sets_the_imports_aside_and_restores_the_collector() -> None:
    before = gc.get_threshold()
    with batch_run():
        assert gc.get_threshold() == (BATCH_YOUNG_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0  # what was alive on entry is set aside
        assert gc.isenabled()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_garbage_made_in_a_batch_run_is_collected() -> None:
    with batch_run():
        ref = weakref.ref(_Cycle())
        gc.collect()
        assert ref() is None


def test_a_batch_run_restores_the_collector_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), batch_run():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("helper", [batch_run, long_lived])
def test_a_collector_the_caller_manages_is_left_alone(helper: object) -> None:
    before = gc.get_threshold()
    gc.disable()
    try:
        with helper():  # type: ignore[operator]
            assert not gc.isenabled()
            assert gc.get_threshold() == before
            assert gc.get_freeze_count() == 0
        assert not gc.isenabled()
    finally:
        gc.enable()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with helper():  # type: ignore[operator]
            assert gc.get_threshold() == before
        assert gc.get_freeze_count() == frozen  # the caller's frozen objects stay frozen
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_player_sim_run_in_process_leaves_the_callers_collector_as_it_was() -> None:
    before = gc.get_threshold()
    result = CliRunner().invoke(main, ["run", "-q", "scenarios/android_refresh_race.scenario.yaml"])
    assert result.exit_code == 0, result.output
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
