"""The records a :class:`~player_sim.world.Device` writes, made from a core's inputs and effects.

The explorers drive bare :class:`~player_sim.PlayerCore` objects, not devices,
yet they judge with the catalogue's monitors, which read only trace records.
This module is where their records are made, and the only place: it mirrors
``Device`` in ``world/_device*.py`` record for record (kinds, payloads, and
which ``app`` / ``playback`` states stamp them):

* an action: ``action`` (``name``, ``origin``, the action's fields), stamped
  with the states *after* the core took it, then one record per effect;
* an answer (setup, heartbeat, teardown, license, KS, media): its
  ``*_answered`` record with the answer's fields lifted to the top and the id
  of the request it answers, stamped with the states *before* the core reads
  it and the playback of its request, then the effects, then
  ``main_thread_blocked`` when it ends a synchronous request; a timer firing
  writes nothing of its own;
* effects: ``ssm_setup_sent``, ``ssm_teardown_sent``, ``heartbeat_sent``,
  ``license_request_sent`` (each with a new request id, per device, and its
  request's playback), ``ks_requested``, ``media_load_started``, and each
  notification (``state_changed``, ``ssm_*_error`` ...) under its own kind;
  arming a timer writes nothing;
* a kill: ``main_thread_blocked`` if a synchronous request was open, then
  ``app_killed``, then the effects; a relaunch: ``app_relaunched``, then the
  effects;
* ``device_added``, a world record (no states), opens every device's trace.

``tests/test_explore_recording.py`` runs the same inputs through a real
``World`` and compares, so the two cannot drift apart silently.

:func:`clone_checker` copies a :class:`~player_sim.rules.TraceChecker`
mid-trace, so that breadth-first search carries one per explored state.
"""

from __future__ import annotations

import heapq
import weakref
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from ..player import CoreConfig, PlayerCore
from ..player import _events as ev
from ..player._actions import action_name
from ..rules import Monitor, TraceChecker, Violation
from ..trace import TraceRecord
from ..world._device_base import _flatten

__all__ = ["ANSWER_KINDS", "Recorder", "action_name", "clone_checker", "feed_lazily",
           "finish_lazily"]

#: The device record written when each kind of answer arrives (timers write none:
#: ``Device._heartbeat_due``).
ANSWER_KINDS: Final[Mapping[type, str]] = {
    ev.SetupAnswered: "ssm_setup_answered",
    ev.HeartbeatAnswered: "heartbeat_answered",
    ev.TeardownAnswered: "ssm_teardown_answered",
    ev.LicenseAnswered: "license_answered",
    ev.KsAnswered: "ks_answered",
    ev.MediaAnswered: "media_answered",
}


def _answer_data(answer: ev.Answer) -> dict[str, Any]:
    """An answer's fields as its record's payload: the nested SSM answer lifted up."""
    data = attrs.asdict(answer)
    data.pop("playback_id", None)
    return _flatten(data)


class Recorder:
    """Writes, into ``records``, what a device called ``name`` would write to its trace.

    Each method appends the records of one thing happening at virtual time
    ``t``; ``core`` is the device's core at the moment the device records
    (see the module's docstring for which moment that is).
    """

    __slots__ = ("name", "next_request", "records", "request_ids")

    def __init__(self, name: str, next_request: int = 1) -> None:
        self.name = name
        self.records: list[TraceRecord] = []
        #: The id the next request gets, and the ids given, in the order of the effects.
        self.next_request = next_request
        self.request_ids: list[int] = []

    def take(self) -> list[TraceRecord]:
        """The records written since the last ``take``."""
        out, self.records = self.records, []
        return out

    def _device(self, t: float, core: PlayerCore, kind: str, data: Mapping[str, Any],
                playback_id: int | None = None) -> None:
        self.records.append(TraceRecord(t, self.name, kind, core.app.value, core.playback.value,
                                        data, core.playback_id if playback_id is None
                                        else playback_id))

    def _request(self, t: float, core: PlayerCore, kind: str, data: dict[str, Any],
                 playback_id: int) -> None:
        """A request leaves: a new request id (``Device._next_request``)."""
        request_id = self.next_request
        self.next_request += 1
        self.request_ids.append(request_id)
        self._device(t, core, kind, {"request_id": request_id, **data}, playback_id)

    def world(self, t: float, kind: str, data: Mapping[str, Any]) -> None:
        """A world or server record about this device (no device states)."""
        self.records.append(TraceRecord(t, self.name, kind, None, None, data))

    def added(self, t: float, config: CoreConfig, account: str) -> None:
        """``World.add_device``."""
        self.world(t, "device_added", {"account": account, "ssm": config.uses_ssm,
                                       "sync": config.sync_ssm_setup_teardown,
                                       "variants": config.variants.as_dict()})

    def action(self, t: float, core: PlayerCore, action: ev.Action,
               effects: Iterable[ev.Effect], origin: str = "user") -> None:
        """``Device._do``: the core took ``action`` (``core`` is already past it)."""
        data: dict[str, Any] = {"name": action_name(action), "origin": origin}
        data.update(attrs.asdict(action))
        self._device(t, core, "action", data)
        self.effects(t, core, effects)

    def answer(self, t: float, core: PlayerCore, answer: ev.Answer,
               request_id: int | None = None) -> None:
        """``Device._answered`` / ``Device._deliver``: the answer's own record, before the
        core reads it, with the id of the request it answers (if it answers one)."""
        kind = ANSWER_KINDS.get(type(answer))
        if kind is None:
            return
        data = _answer_data(answer)
        if request_id is not None:
            data = {"request_id": request_id, **data}
        self._device(t, core, kind, data, getattr(answer, "playback_id", None))

    def unblocked(self, t: float, core: PlayerCore, seconds: float) -> None:
        """``Device._close_blocked_period``: the main thread is free again."""
        self._device(t, core, "main_thread_blocked", {"seconds": round(seconds, 6)})

    def killed(self, t: float, core: PlayerCore, effects: Iterable[ev.Effect],
               blocked_for: float | None) -> None:
        """``Device.kill`` (``blocked_for``: seconds a synchronous request had blocked)."""
        if blocked_for is not None:
            self.unblocked(t, core, blocked_for)
        self._device(t, core, "app_killed", {"stream": core.stream})
        self.effects(t, core, effects)

    def relaunched(self, t: float, core: PlayerCore, effects: Iterable[ev.Effect]) -> None:
        """``Device.relaunch``."""
        self._device(t, core, "app_relaunched", {})
        self.effects(t, core, effects)

    def effects(self, t: float, core: PlayerCore, effects: Iterable[ev.Effect]) -> None:
        """``Device._run``: the record each effect's carrying out writes."""
        for effect in effects:
            if isinstance(effect, ev.Notify):
                self._device(t, core, effect.kind, effect.payload())
            elif isinstance(effect, ev.SendSsmSetup):
                self._request(t, core, "ssm_setup_sent", {"stream": effect.stream,
                                                          "blocking": effect.blocking},
                              effect.playback_id)
            elif isinstance(effect, ev.SendSsmTeardown):
                self._request(t, core, "ssm_teardown_sent", {"token": effect.token,
                                                             "blocking": effect.blocking,
                                                             "stream": effect.stream},
                              effect.playback_id)
            elif isinstance(effect, ev.SendHeartbeat):
                self._request(t, core, "heartbeat_sent", {"token": effect.token},
                              effect.playback_id)
            elif isinstance(effect, ev.SendLicenseRequest):
                self._request(t, core, "license_request_sent",
                              {"stream": effect.stream, "ssm_token": effect.ssm_token},
                              effect.playback_id)
            elif isinstance(effect, ev.FetchKs):
                self._device(t, core, "ks_requested", {})
            elif isinstance(effect, ev.LoadMedia):
                self._device(t, core, "media_load_started", {"stream": effect.stream})


# --- carrying a checker per explored state -------------------------------------------------

#: Types whose values a checker only reads (frozen attrs classes are added as met).
_SHARED: set[type] = {str, int, float, bool, type(None), frozenset, TraceRecord}


def clone_checker(checker: TraceChecker, *, lazy: bool = False) -> TraceChecker:
    """An independent copy of ``checker`` mid-trace: feeding one never changes the other.

    The checker's own objects (monitors, device views, deadlines: everything
    defined in :mod:`player_sim.rules`) and their containers are copied;
    values they only read (records, rules, the configuration, numbers and
    strings, counters) are shared. Anything else raises ``TypeError`` rather
    than be shared by mistake. The index of monitors by record kind is
    rebuilt, not copied. Far cheaper than ``copy.deepcopy``, which also copies
    every rule and record.

    With ``lazy``, a monitor waiting for nothing (no open expectation) is not
    copied but shared with ``checker`` until the copy is fed a record of a kind
    it reads, and so is each device's view until the copy is fed a record of
    that device; cancelled expectations are dropped. Feed a lazy copy only
    through :func:`feed_lazily` and close it only with :func:`finish_lazily`,
    and never feed ``checker`` again (the small world feeds only copies of a
    stored state's checker).
    """
    memo: dict[int, Any] = {}
    new = TraceChecker.__new__(TraceChecker)
    memo[id(checker)] = new
    shared = _SHARED
    # The monitors first, by a fast path: most hold nothing but what every monitor
    # holds (its rule, checker and configuration, shared, and a ``_pending`` dict).
    monitors = []
    copied = []
    for monitor in checker.monitors:
        if lazy and not monitor._pending:
            monitors.append(monitor)  # shared until fed (feed_lazily)
            continue
        monitors.append(_copy_monitor(monitor, new, memo))
        copied.append(monitor)
    state = dict(vars(checker))
    del state["monitors"]
    by_kind = state.pop("_by_kind")
    if lazy:
        state["_heap"] = [entry for entry in state["_heap"] if not entry[2].cancelled]
        heapq.heapify(state["_heap"])
        new._devices = dict(state.pop("_devices"))  # the views themselves shared
        _OWNED_VIEWS[new] = set()
    for k, v in state.items():
        if type(v) not in shared:
            state[k] = _clone(v, memo)
    new.__dict__.update(state)
    new.monitors = monitors
    if not lazy:
        new._by_kind = {kind: [memo[id(m)] for m in watching]
                        for kind, watching in by_kind.items()}
        return new
    # The index's lists are shared too, but those of the monitors just copied.
    new._by_kind = dict(by_kind)
    _reindex(new, copied, memo)
    return new


def _reindex(checker: TraceChecker, replaced: list[Monitor], copies: Mapping[int, Any]) -> None:
    """Point ``checker``'s index of monitors by kind at the ``copies`` (by the id of the
    monitor each replaces) of the ``replaced`` monitors: new lists, as they may be shared."""
    by_kind = checker._by_kind
    fresh: dict[str, list[Monitor]] = {}
    for monitor in replaced:
        copied = copies[id(monitor)]
        for kind in monitor.kinds:
            watching = fresh.get(kind)
            if watching is None:
                shared = by_kind.get(kind)
                if shared is None:
                    continue
                watching = fresh[kind] = by_kind[kind] = list(shared)
            watching[watching.index(monitor)] = copied  # (monitors compare by identity)


def _copy_monitor(monitor: Monitor, checker: TraceChecker, memo: dict[int, Any]) -> Monitor:
    copied = object.__new__(type(monitor))
    memo[id(monitor)] = copied
    fields = monitor.__dict__.copy()
    del fields["checker"]
    for key, value in fields.items():
        if type(value) not in _SHARED:
            empty = not value and type(value) in _EMPTY
            fields[key] = type(value)() if empty else _clone(value, memo)
    fields["checker"] = checker
    copied.__dict__ = fields
    return copied


#: The device views each lazy copy owns (by id): the others are shared with its origin.
_OWNED_VIEWS: weakref.WeakKeyDictionary[TraceChecker, set[int]] = weakref.WeakKeyDictionary()


def feed_lazily(checker: TraceChecker, record: TraceRecord) -> list[Violation]:
    """``checker.feed(record)`` for a lazy copy (:func:`clone_checker`): first, each
    monitor that reads ``record``'s kind and the view of ``record``'s device (and of
    any suspended device, whose deadlines time may move) get their own copies."""
    shared = [m for m in checker._by_kind.get(record.kind, ()) if m.checker is not checker]
    if shared:
        _own(checker, shared)
    _own_views(checker, record.device)
    return checker.feed(record)


def finish_lazily(checker: TraceChecker, end: float | None = None) -> list[Violation]:
    """``checker.finish(end)`` for a lazy copy (see :func:`feed_lazily`)."""
    _own_views(checker, None)
    return checker.finish(end)


def _own_views(checker: TraceChecker, device: str | None) -> None:
    owned = _OWNED_VIEWS.get(checker)
    if owned is None:
        return  # not a lazy copy: it owns everything
    for name, view in checker._devices.items():
        if id(view) not in owned and (name == device or view.app == "background"):
            copied = _clone(view, {})
            checker._devices[name] = copied
            owned.add(id(copied))


def _own(checker: TraceChecker, shared: list[Monitor]) -> None:
    """Replace each monitor of ``shared`` by a copy of its own, everywhere ``checker``
    has it (monitors compare by identity)."""
    copies = {id(m): _copy_monitor(m, checker, {id(m.checker): checker}) for m in shared}
    monitors = checker.monitors  # (the lazy copy's own list)
    for monitor in shared:
        monitors[monitors.index(monitor)] = copies[id(monitor)]
    _reindex(checker, shared, copies)


#: Containers a monitor may hold empty, copied by a call of their type.
_EMPTY: Final = frozenset({dict, list, set})

#: How each class met inside a checker is copied: "share", "attrs" (slotted fields) or "dict".
_PLANS: dict[type, str] = {}


def _plan(cls: type) -> str:
    plan = _PLANS.get(cls)
    if plan is None:
        if (attrs.has(cls) and getattr(cls.__setattr__, "__name__", "") == "_frozen_setattrs") \
                or cls.__module__ in ("itertools", "enum"):
            plan = "share"  # immutable values: rules, the configuration; counters hand out keys
            _SHARED.add(cls)
        elif cls.__module__.startswith("player_sim.rules"):
            plan = "dict" if "__dict__" in dir(cls) and not attrs.has(cls) else "attrs"
        else:
            raise TypeError(f"clone_checker can't tell whether a {cls.__module__}."
                            f"{cls.__qualname__} inside the checker is safe to share; "
                            "teach explore/_recording.py")
        _PLANS[cls] = plan
    return plan


def _clone(obj: Any, memo: dict[int, Any]) -> Any:
    cls = type(obj)
    if cls in _SHARED:
        return obj
    found = memo.get(id(obj))
    if found is not None:
        return found
    shared = _SHARED
    if cls is dict:
        new_dict: dict[Any, Any] = {}
        memo[id(obj)] = new_dict
        for key, value in obj.items():  # (most are empty: a monitor waiting for nothing)
            new_dict[key] = value if type(value) in shared else _clone(value, memo)
        return new_dict
    if cls is list or cls is deque:
        new_seq: Any = [] if cls is list else deque(maxlen=obj.maxlen)
        memo[id(obj)] = new_seq
        # (A deque of ``(line, record)`` pairs, the most met, shared pair by pair.)
        new_seq.extend([v if type(v) in shared or (
            type(v) is tuple and len(v) == 2 and type(v[0]) in shared
            and type(v[1]) in shared) else _clone(v, memo) for v in obj])
        return new_seq
    if cls is tuple:
        if _immutable(obj):
            return obj  # (line, record) pairs: immutable, shared
        return tuple([v if type(v) in shared else _clone(v, memo) for v in obj])
    if cls is Counter:
        new_counter: Counter[Any] = Counter(obj)  # of counts: numbers
        memo[id(obj)] = new_counter
        return new_counter
    if cls is set:
        new_set = set(obj)  # of keys: hashable values
        memo[id(obj)] = new_set
        return new_set
    plan = _plan(cls)
    if plan == "share":
        return obj
    new = object.__new__(cls)
    memo[id(obj)] = new
    if plan == "dict":
        state = obj.__dict__.copy()
        for k, v in state.items():
            kind = type(v)
            if kind in shared:
                continue
            if (kind is set or kind is dict or kind is list) and not v:
                # An empty container (most are): a new one, the same for each holder.
                found = memo.get(id(v))
                if found is None:
                    found = memo[id(v)] = kind()
                state[k] = found
            else:
                # An object met already (a monitor's checker): no call needed.
                state[k] = memo.get(id(v)) or _clone(v, memo)
        new.__dict__ = state
    else:
        names = _FIELDS.get(cls)
        if names is None:
            names = _FIELDS[cls] = tuple(f.name for f in attrs.fields(cls))
        for name in names:
            value = getattr(obj, name)
            object.__setattr__(new, name, value if type(value) in shared
                               else _clone(value, memo))
    return new


def _immutable(values: tuple[Any, ...]) -> bool:
    """Whether a tuple holds only values shared as they are (a ``(line, record)`` pair)."""
    shared = _SHARED
    return all(type(value) in shared for value in values)


#: The field names of each attrs class met inside a checker.
_FIELDS: dict[type, tuple[str, ...]] = {}
