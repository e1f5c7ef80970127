"""Copies of a checker share what neither has changed, and never see each other's changes.

The explorers carry a :class:`~player_sim.rules.TraceChecker` per explored state
(``clone_checker``, the checker's ``_fork``): monitors, device views and deadlines are
shared until one side writes them. These tests feed both sides of a copy and check
that each judges only its own records, and that what the copy-on-write relies on
(immutable deadlines, every mutable field of a device view copied, the kinds a
provider view reacts to) holds.
"""

from __future__ import annotations

import inspect
import re

import attrs
import pytest

from player_sim.explore import clone_checker, core_checker
from player_sim.explore._coremodel import DEVICE, CoreEnv, clone_core, inputs, snapshot, step
from player_sim.explore._recording import _answer_data, _payload
from player_sim.player import CoreConfig, PlayerCore
from player_sim.player import _events as ev
from player_sim.rules import TraceChecker
from player_sim.rules._base import _PROVIDER_KINDS, DeviceView, ProviderView, _Deadline
from player_sim.trace import TraceRecord


def _playing() -> tuple[PlayerCore, CoreEnv, TraceChecker]:
    """A core playing stream a under SSM, and the checker that read its records."""
    checker = core_checker(CoreConfig())
    core, env = PlayerCore(), CoreEnv()
    for wanted in ("Play('a')", "setup ok #1", "license granted #1"):
        _, event, index, used = next(c for c in inputs(core, env) if c[0] == wanted)
        env, _, findings = step(core, env, event, index, used, checker)
        assert findings == []
    return core, env, checker


def _stop(t: float) -> TraceRecord:
    return TraceRecord(t, DEVICE, "action", "foreground", "stopped",
                       {"name": "stop", "origin": "user"})


def test_the_origin_fed_after_a_copy_leaves_the_copy_unchanged() -> None:
    _, env, origin = _playing()
    copy = clone_checker(origin)
    twin = clone_checker(origin)
    # The origin stops without a teardown: its monitor opens, then misses, a deadline.
    origin.feed(_stop(env.now + 1))
    assert [v.rule.id for v in origin.finish(env.now + 10)] == ["ssm.teardown.on-stop"]
    # Neither copy saw the stop: nothing is due, nothing was counted.
    assert copy.finish(env.now + 10) == []
    assert twin.finish(env.now + 10) == []
    assert copy.violations == twin.violations == []
    assert copy.observed == twin.observed != origin.observed


def test_a_deadline_closed_in_one_copy_stays_open_in_the_other() -> None:
    _, env, origin = _playing()
    origin.feed(_stop(env.now + 1))  # opens the teardown deadline
    served, forgot = clone_checker(origin), clone_checker(origin)
    served.feed(TraceRecord(env.now + 1.1, DEVICE, "ssm_teardown_sent", "foreground",
                            "stopped", {"request_id": 9, "token": "t1", "blocking": False,
                                        "stream": "a"}, 1))
    assert served.finish(env.now + 10) == []
    assert [v.rule.id for v in forgot.finish(env.now + 10)] == ["ssm.teardown.on-stop"]
    # Every monitor either copy fed or closed a deadline of is its own; the origin's
    # monitors are untouched.
    assert all(m.checker is origin for m in origin.monitors)
    assert any(m._pending for m in origin.monitors)


def test_deadlines_are_immutable_so_copies_can_share_them() -> None:
    _, env, origin = _playing()
    origin.feed(_stop(env.now + 1))
    deadline = next(d for m in origin.monitors for d in m._pending.values())
    assert isinstance(deadline, _Deadline)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        deadline.due = 0.0  # type: ignore[misc]


def test_a_device_view_copy_owns_every_mutable_container() -> None:
    view = DeviceView("a")
    view.update(TraceRecord(0.0, "a", "device_added", None, None,
                            {"account": "acct", "ssm": True, "sync": False,
                             "variants": {}}))
    copy = view._copy()
    for name, value in vars(view).items():
        if isinstance(value, set | list | dict) and name != "variants":
            assert getattr(copy, name) == value
            assert getattr(copy, name) is not value, name  # (variants: a record's, read)
    assert copy.recent is not view.recent and copy.recent.maxlen == view.recent.maxlen
    provider = ProviderView()
    provider_copy = provider._copy()
    for name, value in vars(provider).items():
        if isinstance(value, set | list | dict):
            assert getattr(provider_copy, name) is not value, name


def test_a_shared_provider_view_is_copied_before_it_changes() -> None:
    view = DeviceView("a")
    copy = view._copy()
    assert copy.provider is view.provider  # shared: a record it ignores changes nothing
    copy.update(TraceRecord(1.0, "a", "action", "foreground", "stopped",
                            {"name": "stop", "origin": "user"}))
    assert copy.provider is view.provider
    copy.update(TraceRecord(2.0, "a", "ks_requested", "foreground", "ks_fetch", {}))
    assert copy.provider is not view.provider
    assert copy.provider.requested_generation == copy.generation
    assert view.provider.requested_generation == -1


def test_every_kind_the_provider_view_reacts_to_is_listed() -> None:
    source = inspect.getsource(ProviderView.update)
    named = set(re.findall(r'kind == "(\w+)"', source))
    for group in re.findall(r"kind in \(([^)]*)\)", source):
        named |= set(re.findall(r'"(\w+)"', group))
    assert named and named <= _PROVIDER_KINDS


def test_clone_core_copies_every_slot() -> None:
    core, _, _ = _playing()
    copy = clone_core(core)
    assert type(copy) is PlayerCore
    for name in PlayerCore.__slots__:
        if name != "_stash":  # (copied as a list, which the core mutates)
            assert getattr(copy, name) is getattr(core, name), name
    assert list(copy._stash) == list(core._stash) and type(copy._stash) is list
    copy.feed(ev.Stop())
    assert snapshot(copy) != snapshot(core)  # fed apart


def test_an_answer_payload_is_worked_out_once_and_handed_out_fresh() -> None:
    answer = ev.SetupAnswered(1, ev.SsmAnswer(200, None, "", "t1", 30.0))
    first = _answer_data(answer)
    assert first == _payload(answer) and "playback_id" not in first
    first["token"] = "changed"
    assert _answer_data(ev.SetupAnswered(1, ev.SsmAnswer(200, None, "", "t1", 30.0))) \
        == _payload(answer)
