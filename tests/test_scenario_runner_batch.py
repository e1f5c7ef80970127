"""An expectation added during a run scans the records of its instant from the batch
the runner read last (not rebuilt from the trace); a monitor decided is dropped at the
next prune. Both give the results the plain path gives: reading every record anew from
the trace, and checking every monitor at every prune."""

from __future__ import annotations

import glob
import os
from typing import Any

import pytest

from player_sim import Trace
from player_sim.scenario import _runner, load_scenario, load_scenario_text, run_scenario

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = sorted(glob.glob(os.path.join(ROOT, "scenarios", "**", "*.scenario.yaml"),
                         recursive=True))


def _outcome(path: str, seed: int | None) -> tuple[Any, ...]:
    result = run_scenario(load_scenario(path), seed=seed)
    return (result.status, result.failures, result.observed, result.checks,
            result.events, result.trace.to_jsonl())


def _plain_paths(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Forget each batch once read (so adding a monitor reads the trace), and prune
    every time; returns a list counting the monitors added."""
    added: list[int] = []
    observe, add = _runner._Run.observe, _runner._Run.add

    def forgetful_observe(self: Any, now: float, *, settled: bool) -> None:
        observe(self, now, settled=settled)
        self.batch, self.batch_start = [], self.cursor

    def counted_add(self: Any, monitor: Any) -> None:
        added.append(1)
        self.closed = True  # prune checks every monitor, as before the flag
        add(self, monitor)

    monkeypatch.setattr(_runner._Run, "observe", forgetful_observe)
    monkeypatch.setattr(_runner._Run, "add", counted_add)
    return added


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
def test_the_batch_and_the_prune_flag_change_no_result(
        path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = [_outcome(path, seed) for seed in (None, 7)]
    _plain_paths(monkeypatch)
    assert [_outcome(path, seed) for seed in (None, 7)] == fast


def test_expectations_are_added_mid_run_in_the_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    added = _plain_paths(monkeypatch)
    for path in FILES:
        run_scenario(load_scenario(path))
    assert len(added) > len(FILES)  # so the comparison above covers the batch path


def test_an_instant_read_in_two_batches_is_scanned_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two actions in one instant are read in two batches: an expectation added after
    them sees the first action's records too (read from the trace, not the batch)."""
    text = """
name: two actions in one instant
devices:
  phone: {account: alice}
steps:
  - play: {device: phone, stream: channel-1}
  - enter_background: phone
  - expect: {event: action, device: phone, payload: {name: play}, within: 0s}
  - expect: {event: action, device: phone, payload: {name: enter_background}, within: 0s}
"""
    read: list[int] = []
    slice_of = Trace.__getitem__

    def counted(self: Trace, index: Any) -> Any:
        if isinstance(index, slice) and index.start is not None and index.stop is not None:
            read.append(index.stop - index.start)  # add() reading the trace
        return slice_of(self, index)

    monkeypatch.setattr(Trace, "__getitem__", counted)
    result = run_scenario(load_scenario_text(text, "instant.scenario.yaml"))
    assert result.passed, result.failures
    assert read, "the first expectation reads back past the last batch"
