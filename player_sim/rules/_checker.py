"""The trace checker: runs every monitor over a trace as it grows.

:class:`TraceChecker` is fed :class:`~player_sim.TraceRecord` values one at a
time (``feed``), or the new tail of a growing :class:`~player_sim.Trace`
(``catch_up``), and returns the :class:`~player_sim.rules.Violation` values each
one revealed. ``finish`` closes the run: expectations still open whose deadline
has passed by the end time are violations; those that could still be met are
not. :func:`check_trace` does all of that for a finished trace, and
:func:`check_world` for the run of a world so far.

This module is the top of :mod:`player_sim.rules`: it knows every monitor
(:data:`~player_sim.rules.MONITORS`, :data:`~player_sim.rules.PROVIDER_MONITORS`,
:data:`~player_sim.rules.WIRE_MONITORS`);
a world knows nothing of rules (ARCHITECTURE.md, principle 9).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
from collections import Counter, deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Protocol

import attrs

from ..trace import Trace, TraceRecord, Vantage
from ._base import (
    _EPS,
    _EXCERPT,
    CheckConfig,
    DeviceView,
    Monitor,
    Violation,
    WorldFacts,
    _Deadline,
)
from ._catalogue import CATALOGUE
from ._monitors import MONITORS
from ._provider_monitors import PROVIDER_MONITORS
from ._wire_monitors import WIRE_MONITORS

__all__ = ["CheckedWorld", "TraceChecker", "Verdict", "check_trace", "check_world",
           "judge_trace", "judge_world"]

#: What a simulated world sees.
_WORLD_VANTAGES = frozenset({Vantage.DEVICE, Vantage.SERVER, Vantage.HARNESS})


@attrs.frozen
class _Plan:
    """Which monitor class judges each rule, for a list of classes and the vantages a
    trace was seen from: ``chosen`` (one class per rule, in the classes' order),
    ``not_judged`` (each rule none can judge, with the vantages it lacks) and
    ``routes`` (per record kind, the indexes in ``chosen`` of the classes reading it,
    in order)."""

    chosen: tuple[type[Monitor], ...]
    not_judged: Mapping[str, frozenset[Vantage]]
    routes: Mapping[str, tuple[int, ...]]


@functools.lru_cache(maxsize=32)
def _plan(classes: tuple[type[Monitor], ...], vantages: frozenset[Vantage]) -> _Plan:
    """The :class:`_Plan` of ``classes`` over ``vantages``: the same for every checker
    of those arguments (a scenario suite builds one checker per scenario), so it is
    worked out once."""
    seen = vantages | {Vantage.HARNESS}
    # One monitor per rule: the first whose vantages the trace has (a rule with a
    # device monitor and a wire monitor is judged by the device one where it can be).
    chosen: dict[str, type[Monitor]] = {}
    lacking: dict[str, frozenset[Vantage]] = {}
    for c in classes:
        if c.needs <= seen:
            chosen.setdefault(c.rule_id, c)
        elif c.rule_id not in lacking or len(c.needs - seen) < len(lacking[c.rule_id]):
            lacking[c.rule_id] = c.needs - seen
    routes: dict[str, list[int]] = {}
    for index, c in enumerate(chosen.values()):
        for kind in sorted(c.kinds):
            routes.setdefault(kind, []).append(index)
    return _Plan(tuple(chosen.values()),
                 {rule_id: missing for rule_id, missing in lacking.items()
                  if rule_id not in chosen},
                 {kind: tuple(indexes) for kind, indexes in routes.items()})


@functools.lru_cache(maxsize=64)
def _routes(classes: tuple[type[Monitor], ...], vantages: frozenset[Vantage],
            active: tuple[bool, ...]) -> tuple[Mapping[str, tuple[int, ...]], tuple[int, ...]]:
    """A checker's routes and its slots by rule id, given which of its plan's monitors
    are active (``active``, in ``chosen`` order; the active ones fill the slots in that
    order): per record kind, the slots of the monitors reading it, in order (only kinds
    an active monitor reads); and the slots sorted by rule id. The same for every
    checker whose monitors are active alike (a suite's scenarios share a few sets)."""
    plan = _plan(classes, vantages)
    slot_of: dict[int, int] = {}
    for index, on in enumerate(active):
        if on:
            slot_of[index] = len(slot_of)
    routes: dict[str, tuple[int, ...]] = {}
    for kind, indexes in plan.routes.items():
        watching = tuple([slot_of[i] for i in indexes if active[i]])
        if watching:
            routes[kind] = watching
    rule_of = [plan.chosen[i].rule_id for i in slot_of]
    return routes, tuple(sorted(range(len(rule_of)), key=rule_of.__getitem__))


class TraceChecker:
    """Checks records against the monitors of ``rules`` (default: every rule with one).

    Feed records in trace order with :meth:`feed` (or a growing trace with
    :meth:`catch_up`); call :meth:`finish` at the end. ``violations`` holds
    every violation found so far, in the order found.

    ``vantages`` are those the trace was seen from (default: a simulated
    world's, device, server and harness): a rule whose monitor needs another is
    not run, and ``not_judged`` maps it to the vantages it lacked. ``observed``
    counts, per rule, how often its monitor met the situation it judges.
    """

    def __init__(self, config: CheckConfig | None = None, *,
                 rules: Collection[str] | None = None,
                 monitors: Iterable[type[Monitor]] = (),
                 vantages: Collection[Vantage] = _WORLD_VANTAGES) -> None:
        self.config = config if config is not None else CheckConfig()
        classes = [*MONITORS, *PROVIDER_MONITORS, *monitors, *WIRE_MONITORS]
        if rules is not None:
            unknown = sorted(set(rules) - set(CATALOGUE))
            if unknown:
                raise KeyError(f"no rule {unknown[0]!r} in the catalogue "
                               "('player-sim rules' lists them)")
            classes = [c for c in classes if c.rule_id in rules]
        self.vantages = frozenset(vantages)
        plan = _plan(tuple(classes), self.vantages)
        self.not_judged: dict[str, frozenset[Vantage]] = dict(plan.not_judged)
        self.observed: Counter[str] = Counter()
        self._observed_mine = True
        #: Who owns what: a monitor or device view this checker may change is marked
        #: with this token (see :meth:`_fork`: copies share the rest until they write).
        self._token = object()
        built = [c(self) for c in plan.chosen]
        active = tuple([m.active() for m in built])
        self.monitors = [m for m, on in zip(built, active, strict=True) if on]
        for slot, monitor in enumerate(self.monitors):
            if monitor._slot != -1 or monitor._held_by is not None:
                raise TypeError(f"{type(monitor).__name__} sets _slot or _held_by, which "
                                "are the checker's; rename its own")
            monitor._slot = slot
            monitor._held_by = self._token
        routes, by_rule = _routes(tuple(classes), self.vantages, active)
        #: The slots in ``monitors``, by rule id (for :meth:`_awaiting`).
        self._by_rule = by_rule
        #: Per record kind, the slots in ``monitors`` of the monitors reading it, in order.
        self._routes: dict[str, tuple[int, ...]] = dict(routes)
        self._devices: dict[str, DeviceView] = {}
        self._owned_views: set[str] = set()
        self._latencies: list[tuple[float, float, float]] = []
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._seq = itertools.count()
        self._line = 0
        self._recent: deque[tuple[int, TraceRecord]] = deque(maxlen=_EXCERPT)
        self._new: list[Violation] = []
        self.violations: list[Violation] = []
        self.now = 0.0

    @property
    def rules(self) -> list[str]:
        """The ids of the rules this checker monitors."""
        return sorted({m.rule_id for m in self.monitors})

    def extra_latency(self, t: float, window: float) -> float:
        """Seconds to add to a device's window opened at ``t``: twice (there and back)
        each extra latency planned (``latency_planned`` records) near ``[t, t + window]``."""
        return sum(2 * extra for start, end, extra in self._latencies
                   if start <= t + window and end + extra >= t)

    @property
    def _by_kind(self) -> dict[str, list[Monitor]]:
        """The monitors reading each record kind, in the order they are fed."""
        monitors = self.monitors
        return {kind: [monitors[slot] for slot in slots]
                for kind, slots in self._routes.items()}

    def device(self, name: str) -> DeviceView:
        """What the trace says of device ``name`` (to read: it may be shared with a copy)."""
        view = self._devices.get(name)
        if view is None:
            view = self._devices[name] = DeviceView(name)
            self._owned_views.add(name)
        return view

    def _own_device(self, name: str) -> DeviceView:
        """The view of device ``name``, this checker's own (copied first if shared)."""
        view = self._devices.get(name)
        if view is None:
            view = self._devices[name] = DeviceView(name)
            self._owned_views.add(name)
        elif name not in self._owned_views:
            view = self._devices[name] = view._copy()
            self._owned_views.add(name)
        return view

    def _own(self, slot: int) -> Monitor:
        """The monitor at ``slot``, this checker's own (copied first if shared)."""
        monitor = self.monitors[slot]
        if monitor._held_by is not self._token:
            monitor = self.monitors[slot] = monitor._fork(self, self._token)
        return monitor

    def _fork(self) -> TraceChecker:
        """A copy of this checker mid-trace: feeding either never changes the other.

        O(monitors + devices): the monitors and device views are shared, and whichever
        of the two checkers first changes one (a record it reads, a deadline of its
        falling due) copies it then; deadlines are immutable and shared for good.
        """
        new = TraceChecker.__new__(TraceChecker)
        fields = dict(self.__dict__)  # (not .copy(): see rules/_copying)
        fields["monitors"] = list(self.monitors)
        fields["_devices"] = self._devices.copy()
        fields["_heap"] = self._heap.copy()
        fields["_recent"] = self._recent.copy()
        fields["_observed_mine"] = False
        fields["violations"] = self.violations.copy()
        fields["_latencies"] = self._latencies.copy()
        fields["not_judged"] = self.not_judged.copy()
        fields["_new"] = []
        fields["_token"] = object()
        fields["_owned_views"] = set()
        new.__dict__ = fields
        # This checker may be fed again too: from now on it owns nothing either.
        self._token = object()
        self._owned_views = set()
        self._observed_mine = False
        return new

    def _awaiting(self) -> tuple[str, ...]:
        """The ids, sorted, of the rules whose monitors await something (an open
        deadline, or a wait of their own: :meth:`Monitor.awaits`): part of the explorers'
        state keys."""
        monitors = self.monitors
        return tuple([m.rule_id for m in map(monitors.__getitem__, self._by_rule)
                      if m._pending or (m.waits_before_deadline and m.awaits())])

    def _live(self, deadline: _Deadline) -> bool:
        """Whether ``deadline`` is still open (not fulfilled, replaced nor cancelled)."""
        return self.monitors[deadline.slot]._pending.get(deadline.key) is deadline

    # --- feeding -----------------------------------------------------------------------

    def feed(self, record: TraceRecord) -> list[Violation]:
        """Check one more record; return the violations it revealed."""
        self._new = []
        self._line += 1
        line = self._line
        self._advance(record.t)
        self.now = record.t
        if record.kind == "latency_planned":
            data = record.data
            # A latency this checker can't read leaves the windows as they are.
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self._latencies.append((float(data["start"]), float(data["end"]),
                                        float(data["extra"])))
        dev = self._own_device(record.device) if record.device is not None else None
        if dev is not None:
            dev.update(record)
            if dev.suspended and record.app not in (None, "background"):
                self._wake(dev, record.t)
            if record.kind == "app_killed":
                name = dev.name
                for slot, m in enumerate(self.monitors):
                    if any(d.device == name for d in m._pending.values()):
                        self._own(slot).cancel_device(name)  # (else nothing to cancel)
                dev.suspended.clear()
        if dev is not None:
            dev.recent.append((line, record))
        self._recent.append((line, record))
        slots = self._routes.get(record.kind)
        if slots is not None:
            monitors, token = self.monitors, self._token
            for slot in slots:
                monitor = monitors[slot]
                if monitor._held_by is not token:
                    monitor = self._own(slot)
                monitor.observe(line, record, dev)
        return self._new

    def catch_up(self, trace: Trace | Sequence[TraceRecord]) -> list[Violation]:
        """Feed the records of ``trace`` not fed yet (for a trace that keeps growing)."""
        found: list[Violation] = []
        for index in range(self._line, len(trace)):
            found += self.feed(trace[index])
        return found

    def finish(self, end: float | None = None) -> list[Violation]:
        """Close the run at virtual time ``end`` (default: the last record's time).

        Expectations due before ``end`` are violations; later ones are not.
        """
        self._new = []
        end_time = self.now if end is None else max(end, self.now)
        self._advance(end_time + _EPS / 2)
        return self._new

    def verdict(self) -> Verdict:
        """The :class:`Verdict` on the records fed so far (call :meth:`finish` first):
        what :func:`judge_trace` returns for them."""
        judged = tuple(sorted({m.rule_id for m in self.monitors}))
        return Verdict(tuple(self.violations), judged, dict(sorted(self.not_judged.items())),
                       {rule_id: self.observed[rule_id] for rule_id in judged})

    # --- internals -----------------------------------------------------------------------

    def _arm(self, deadline: _Deadline) -> None:
        heapq.heappush(self._heap, (deadline.due, next(self._seq), deadline))

    def _advance(self, t: float) -> None:
        heap = self._heap
        while heap and heap[0][0] < t - 1e-9:
            due, _, deadline = heapq.heappop(heap)
            if not self._live(deadline):
                continue
            name = deadline.device
            dev = self._devices.get(name) if name is not None else None
            if dev is not None and dev.app == "background":
                self._own_device(name).suspended.append(deadline)  # type: ignore[arg-type]
                continue
            monitor = self._own(deadline.slot)
            del monitor._pending[deadline.key]
            if monitor.expired(deadline, dev):
                self._report(monitor, name, due, deadline.message, self._line,
                             deadline.trigger)

    def _wake(self, dev: DeviceView, t: float) -> None:
        """Arm again, ``wake_window`` after ``t``, each open deadline suspended while
        ``dev`` (this checker's own view) was in the background."""
        waiting, dev.suspended = dev.suspended, []
        for deadline in waiting:
            if self._live(deadline):
                heapq.heappush(self._heap, (t + deadline.wake_window, next(self._seq),
                                            deadline))

    def _observed(self, monitor: Monitor) -> None:
        if not self._observed_mine:  # (shared with a copy: copied on the first write)
            observed: Counter[str] = Counter.__new__(Counter)
            dict.update(observed, self.observed)  # (Counter.copy goes through Python code)
            self.observed = observed
            self._observed_mine = True
        self.observed[monitor.rule_id] += 1

    def _report(self, monitor: Monitor, device: str | None, t: float, message: str, line: int,
                trigger: tuple[int, TraceRecord] | None) -> None:
        source = self._devices[device].recent if device in self._devices else self._recent
        excerpt = list(source)
        if trigger is not None and trigger not in excerpt:
            excerpt.insert(0, trigger)
        violation = Violation(monitor.rule, device, t, message, line, tuple(excerpt))
        self._new.append(violation)
        self.violations.append(violation)


@attrs.frozen
class Verdict:
    """What judging a trace found.

    ``violations`` in the order found; ``judged``: the ids of the rules whose
    monitors ran; ``not_judged``: each rule the trace could not show, with the
    vantages it lacked; ``observed``: per judged rule, how often its monitor met
    the situation the rule judges (0: judged, but nothing happened to judge).
    """

    violations: tuple[Violation, ...]
    judged: tuple[str, ...]
    not_judged: Mapping[str, frozenset[Vantage]]
    observed: Mapping[str, int]


def judge_trace(trace: Trace | Iterable[TraceRecord], config: CheckConfig | None = None, *,
                rules: Collection[str] | None = None, end: float | None = None,
                vantages: Collection[Vantage] | None = None) -> Verdict:
    """Judge a finished trace on every rule it can show (or on ``rules``).

    ``vantages`` default to the trace's own (a :class:`~player_sim.Trace` says
    what it was seen from), else a simulated world's.
    """
    if vantages is None:
        vantages = trace.vantages if isinstance(trace, Trace) else _WORLD_VANTAGES
    checker = TraceChecker(config, rules=rules, vantages=vantages)
    for record in trace:
        checker.feed(record)
    checker.finish(end)
    return checker.verdict()


def check_trace(trace: Trace | Iterable[TraceRecord], config: CheckConfig | None = None, *,
                rules: Collection[str] | None = None, end: float | None = None) -> list[Violation]:
    """Every violation of the catalogue's rules (or of ``rules``) in a finished trace."""
    return list(judge_trace(trace, config, rules=rules, end=end).violations)


class CheckedWorld(WorldFacts, Protocol):
    """What :func:`check_world` reads of a world (a :class:`~player_sim.World` is one)."""

    @property
    def trace(self) -> Trace: ...

    @property
    def now(self) -> float: ...

    def catch_up(self) -> None: ...


def check_world(world: CheckedWorld, *, rules: Collection[str] | None = None) -> list[Violation]:
    """Every violation of the rule catalogue (or of ``rules``) in ``world``'s run so far.

    The same monitors a scenario run, ``player-sim check`` and the property tests
    use, configured from the world (:meth:`CheckConfig.for_world`). Under a
    :class:`~player_sim.Simulation` pass ``sim.world``: it is brought up to trio's
    current time first.
    """
    return list(judge_world(world, rules=rules).violations)


def judge_world(world: CheckedWorld, *, rules: Collection[str] | None = None) -> Verdict:
    """The :class:`Verdict` on ``world``'s run so far (see :func:`check_world`)."""
    world.catch_up()
    return judge_trace(world.trace, CheckConfig.for_world(world), rules=rules, end=world.now)
