"""Frozen value classes defined cheaply: one shared ``__repr__`` (``player._values.Value``)
that writes what attrs would, and events of one shape sharing one attrs class."""

from __future__ import annotations

import copy
import inspect
import pickle
from typing import Any

import attrs
import pytest

from player_sim.player import _actions
from player_sim.player import events as ev
from player_sim.player._values import Value
from player_sim.scenario import _loader, _model, _runner, _yaml

MODULES = [ev, _actions, _model, _runner, _loader, _yaml]
VALUE_CLASSES = sorted({cls for module in MODULES for cls in vars(module).values()
                        if inspect.isclass(cls) and issubclass(cls, Value) and cls is not Value
                        and attrs.has(cls)}, key=lambda c: (c.__module__, c.__qualname__))
SAMPLES: list[Any] = ["it's", 7, 2.5, None, True, ("a", 1), ["x", {"k": ev.Stop()}],
                      ev.Play("channel-1")]


def _twin(cls: type) -> type:
    """``cls``'s fields in a class whose ``__repr__`` attrs writes itself."""
    return attrs.make_class(cls.__name__, {
        a.name: attrs.field(repr=a.repr, init=a.init) for a in attrs.fields(cls)},
        frozen=False)


def _filled(cls: type, offset: int) -> Any:
    """An instance of ``cls`` with sample values (validators bypassed: repr alone)."""
    value = object.__new__(cls)
    for i, field in enumerate(attrs.fields(cls)):
        object.__setattr__(value, field.name, SAMPLES[(i + offset) % len(SAMPLES)])
    return value


def test_there_are_value_classes_to_compare() -> None:
    names = {c.__name__ for c in VALUE_CLASSES}
    assert {"Notify", "SendHeartbeat", "Scenario", "Expect", "ScenarioResult", "Failure",
            "ActionSpec", "Document", "LabWorld", "_Monitor"} <= names


@pytest.mark.parametrize("cls", VALUE_CLASSES, ids=lambda c: c.__qualname__)
def test_the_shared_repr_is_the_one_attrs_writes(cls: type) -> None:
    assert "__repr__" not in cls.__dict__  # (else the class pays for its own again)
    twin = _twin(cls)
    for offset in range(len(SAMPLES)):
        assert repr(_filled(cls, offset)) == repr(_filled(twin, offset))


def test_a_field_left_out_or_shown_its_own_way_and_an_unset_one() -> None:
    @attrs.define(repr=False)
    class Shown(Value):
        a: int
        hidden: str = attrs.field(repr=False, default="secret")
        custom: int = attrs.field(repr=lambda v: f"<{v}>", default=3)
        later: int = attrs.field(init=False)

    @attrs.define
    class Reference:
        a: int
        hidden: str = attrs.field(repr=False, default="secret")
        custom: int = attrs.field(repr=lambda v: f"<{v}>", default=3)
        later: int = attrs.field(init=False)

    assert repr(Shown(1)) == repr(Reference(1)).replace("Reference", "Shown")
    assert "NOTHING" in repr(Shown(1)) and "secret" not in repr(Shown(1))
    shown, reference = Shown(2), Reference(2)
    shown.later, reference.later = 5, 5
    assert repr(shown) == repr(reference).replace("Reference", "Shown")


def test_an_instance_met_again_while_shown_is_three_dots() -> None:
    monitor = _filled(_runner._Monitor, 0)
    twin = _filled(_twin(_runner._Monitor), 0)
    monitor.seen, twin.seen = [monitor], [twin]
    assert repr(monitor) == repr(twin)
    assert "seen=[...]" in repr(monitor)
    assert repr(monitor) == repr(monitor)  # the guard is left clean


# --- events: one attrs class per shape ---------------------------------------------

#: Each event's fields (the public contract, unchanged by sharing a shape).
FIELDS: dict[type, tuple[str, ...]] = {
    **{cls: () for cls in (ev.Stop, ev.Resume, ev.ReleaseItem, ev.EnterBackground,
                           ev.EnterForeground, ev.EnterPip, ev.LeavePip, ev.ClosePip,
                           ev.Logout, ev.EndSession)},
    ev.Play: ("stream",), ev.Zap: ("stream",),
    ev.Login: ("username", "password"),
    **{cls: ("playback_id", "answer") for cls in (ev.SetupAnswered, ev.HeartbeatAnswered,
                                                  ev.TeardownAnswered)},
    **{cls: ("playback_id",) for cls in (ev.HeartbeatDue, ev.TeardownWaitEnded,
                                         ev.ContentTokenMissing, ev.FetchKs)},
}


@pytest.mark.parametrize("cls", list(FIELDS), ids=lambda c: c.__name__)
def test_an_event_of_a_shared_shape_is_its_own_value(cls: type) -> None:
    names = FIELDS[cls]
    assert attrs.has(cls) and tuple(a.name for a in attrs.fields(cls)) == names
    args = [f"v{i}" for i in range(len(names))]
    one, same = cls(*args), cls(*args)
    assert one == same and hash(one) == hash(same) and one is not same
    assert repr(one) == f"{cls.__name__}(" + ", ".join(
        f"{n}={a!r}" for n, a in zip(names, args, strict=True)) + ")"
    assert type(attrs.evolve(one)) is cls and attrs.evolve(one) == one
    assert pickle.loads(pickle.dumps(one)) == one and copy.deepcopy(one) == one
    assert not hasattr(one, "__dict__")  # slotted, as before
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        one.anything = 1  # type: ignore[attr-defined]
    for other in FIELDS:
        if other is not cls and FIELDS[other] == names:
            assert other(*args) != one  # same fields, another event


def test_events_of_one_shape_share_one_attrs_class() -> None:
    events = [v for v in vars(ev).values() if inspect.isclass(v) and v.__module__ == ev.__name__]
    own = [c.__name__ for c in events if "__attrs_attrs__" in c.__dict__]
    assert len(events) == 34 and len(own) == 15  # 30 public events on 4 shapes, 11 their own
