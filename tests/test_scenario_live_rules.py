"""A scenario run judges the rules with a checker fed as the run reads the trace; its
verdict is the one judging the finished trace gives (the general path)."""

from __future__ import annotations

import glob
import os
from typing import Any

import pytest

from player_sim import Trace, TraceRecord
from player_sim.scenario import _runner, load_scenario, run_scenario

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = sorted(glob.glob(os.path.join(ROOT, "scenarios", "**", "*.scenario.yaml"),
                         recursive=True))


def _outcome(path: str, seed: int | None) -> tuple[Any, ...]:
    result = run_scenario(load_scenario(path), seed=seed)
    return (result.status, result.failures, result.observed, result.checks,
            result.trace.to_jsonl())


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
def test_the_live_checker_gives_the_verdict_of_the_finished_trace(
        path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    live = [_outcome(path, seed) for seed in (None, 7)]
    monkeypatch.setattr(_runner, "TraceChecker", lambda *args, **kwargs: None)
    assert [_outcome(path, seed) for seed in (None, 7)] == live


def test_the_bundled_suite_has_broken_rules_to_compare() -> None:
    broken = [path for path in FILES if any(
        f.kind == "rule" for f in run_scenario(load_scenario(path)).failures)]
    assert broken


def test_a_run_of_records_is_what_indexing_gives() -> None:
    trace = Trace()
    for i in range(40):
        trace.write(float(i), f"d{i % 3}", "heartbeat_sent" if i % 2 else "app_killed",
                    "foreground", "playing", {"request_id": i} if i % 2 else {}, i % 5)
        if i % 7 == 0:
            trace.append(TraceRecord(float(i), "x", "app_killed", data={}, playback_id=None))
    every = [trace[i] for i in range(len(trace))]
    assert list(trace) == every
    for start in range(-3, len(trace) + 3, 4):
        for stop in (None, 0, 5, len(trace) - 1, len(trace) + 2):
            for step in (None, 1, 2, -1):
                assert trace[start:stop:step] == every[start:stop:step]
    fresh = Trace(every)
    assert fresh[10:] == every[10:]  # before any index was asked
