"""Fuzzing in CI: a bounded number of structure-aware hostile inputs of each kind.

Each case (see tests/fuzzing.py) runs through ``player_sim.cli.main`` in a worker
process with a 2 GiB address-space cap and a 60 s timeout, and must end as a
valid run, a verdict or a clean error: exit 0, 1 or 2, no traceback, no hang, no
memory blowup, no value from outside its folder echoed. The examples are the
same on every run (derandomized); ``PLAYER_SIM_FUZZ_EXAMPLES=N`` draws N of each
kind instead, and ``benchmarks/fuzz_long.py`` runs the long, counted campaign.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import fuzzing
import pytest
from hypothesis import HealthCheck, given, settings

EXAMPLES = int(os.environ.get("PLAYER_SIM_FUZZ_EXAMPLES", "0"))


def _settings(default: int) -> settings:
    return settings(max_examples=EXAMPLES or default, deadline=None, database=None,
                    derandomize=True, phases=["generate"],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def harness() -> Iterator[fuzzing.Harness]:
    running = fuzzing.Harness(timeout=60.0)
    yield running
    running.close()


def _assert_clean(harness: fuzzing.Harness, case: fuzzing.Case) -> None:
    outcome = harness.run(case)
    assert outcome.kind not in fuzzing.DEFECTS, (
        f"{outcome.kind} on `player-sim {' '.join(case.args)[:300]}` ({case.label}):\n"
        f"{outcome.detail[-3000:]}")


@_settings(30)
@given(case=fuzzing.scenario_cases())
def test_hostile_scenario_files(harness: fuzzing.Harness, case: fuzzing.Case) -> None:
    _assert_clean(harness, case)


@_settings(40)
@given(case=fuzzing.trace_cases())
def test_hostile_traces(harness: fuzzing.Harness, case: fuzzing.Case) -> None:
    _assert_clean(harness, case)


@_settings(40)
@given(case=fuzzing.cli_cases())
def test_hostile_command_lines(harness: fuzzing.Harness, case: fuzzing.Case) -> None:
    _assert_clean(harness, case)


def test_the_harness_sees_each_kind_of_defect() -> None:
    """The judge is not blind: a traceback, a stray exit code, a MemoryError and an
    echoed secret are each reported as a defect."""
    ok = {"code": 2, "out": "", "err": "x.yaml:1:1: bad", "traceback": "", "memory": False}
    assert fuzzing.judge(ok).kind == "clean-error"
    assert fuzzing.judge({**ok, "code": None, "traceback": "Traceback..."}).kind == "crash"
    assert fuzzing.judge({**ok, "err": "Traceback (most recent call last):"}).kind == "crash"
    assert fuzzing.judge({**ok, "code": 3}).kind == "crash"
    assert fuzzing.judge({**ok, "memory": True}).kind == "memory"
    assert fuzzing.judge({**ok, "err": f"value {fuzzing.SECRET}"}).kind == "leak"


def test_the_harness_catches_a_hang_and_a_blowup() -> None:
    """Run real misbehaving code in the worker: it must come back as hang and memory."""
    harness = fuzzing.Harness(timeout=60.0, memory=1 << 30)
    warm_up = fuzzing.Case({}, ("schema",), "warm up")  # start a worker, untimed in effect
    try:
        assert harness.run(warm_up).kind == "valid"
        blowup = fuzzing.Case({}, ("--blow-up-for-test",), "blowup")
        assert harness.run(blowup).kind == "memory"
        assert harness.run(warm_up).kind == "valid"  # a fresh worker after the blowup
        harness.timeout = 2.0
        assert harness.run(fuzzing.Case({}, ("--hang-for-test",), "hang")).kind == "hang"
    finally:
        harness.close()

