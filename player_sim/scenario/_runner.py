"""Run a loaded scenario on a synchronous :class:`~player_sim.World` and judge it.

Steps run in order at the virtual time they name (only ``wait`` and ``at``
move time). Expectations and invariants are monitors: after every instant at
which something happened, each open monitor looks at the new trace records and
at the world's state, so an ``always`` invariant that breaks for a moment at
3 min 12 s is caught at that moment, not only at the end. A scenario ends when
its last step ran and every window an expectation opened has closed.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Final, Literal

import attrs

from .._errors import PlayerSimError, RunBudgetExceeded
from .._limits import DEFAULT_MAX_EVENTS
from ..player._values import Value
from ..rules import CheckConfig, TraceChecker, judge_world
from ..trace import Trace, TraceRecord
from ..world import Device, DeviceConfig, World
from ._model import (
    Action,
    At,
    Condition,
    Expect,
    FailNext,
    Invariant,
    Latency,
    Location,
    LoseAnswers,
    OperatorKill,
    Outage,
    Scenario,
    SignalMatch,
    Wait,
    format_duration,
)

__all__ = ["Failure", "ScenarioResult", "format_time", "run_scenario"]

_EPS: Final = 1e-9
_INF: Final = math.inf
_BEFORE: Final = 10  # trace records shown up to a failing moment
_AFTER: Final = 3  # and after it

OPERATORS: Final[Mapping[str, Callable[[float, float], bool]]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, ">": lambda a, b: a > b,
}

Status = Literal["passed", "failed", "error"]


def format_time(t: float) -> str:
    """A virtual time as reports show it: ``t=930.04s`` (microsecond precision)."""
    return f"t={round(t, 6):g}s"


@attrs.frozen(repr=False)
class Failure(Value):
    """One expectation, invariant or step that did not hold.

    ``location`` and ``text`` say what was written where; ``message`` says what
    happened instead; ``time`` is the virtual moment it was decided; ``excerpt``
    holds the trace records around that moment. ``kind`` is ``"expect"``,
    ``"always"``, ``"never"``, ``"step"`` (a step the player refused) or
    ``"rule"`` (a rule of the catalogue broken, or one listed under
    ``violates:`` that was not); for a rule, ``text`` is its id.
    """

    kind: Literal["expect", "always", "never", "step", "rule"]
    location: Location
    text: str
    message: str
    time: float
    excerpt: tuple[TraceRecord, ...] = ()


@attrs.frozen(repr=False)
class ScenarioResult(Value):
    """The outcome of one run: ``status`` is ``"passed"`` (nothing failed),
    ``"failed"`` (an expectation or invariant failed) or ``"error"`` (a step could
    not be performed). ``duration`` is the virtual seconds the run covered
    (no wall clock: results are deterministic). ``trace`` is the whole trace."""

    scenario: Scenario
    seed: int
    status: Status
    failures: tuple[Failure, ...]
    trace: Trace = attrs.field(eq=False)
    duration: float
    events: int
    checks: int
    #: Per rule judged, how often its monitor met the situation the rule judges (empty
    #: when rules were not checked): what rule coverage counts.
    observed: Mapping[str, int] = attrs.field(factory=dict, eq=False)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def name(self) -> str:
        return self.scenario.name


def run_scenario(scenario: Scenario, *, seed: int | None = None,
                 configure_device: Callable[[DeviceConfig], DeviceConfig] | None = None,
                 check_rules: bool = True, max_events: int | None = None,
                 around_world: Callable[[World], AbstractContextManager[object]] | None = None
                 ) -> ScenarioResult:
    """Run ``scenario`` in virtual time and return its :class:`ScenarioResult`.

    ``seed``: the world's seed (default: the file's ``seed:``, else 0). The same
    scenario and seed always give the same result and byte-identical trace.
    ``configure_device`` may replace each device's configuration before it is
    added (e.g. to plug in another app policy); it is how a harness runs the
    bundled scenarios against its own variant.

    With ``check_rules`` (default) every rule of the catalogue is monitored over
    the run too (:class:`~player_sim.rules.TraceChecker`): a rule broken that the
    file does not list under ``violates:`` is a failure, and so is a listed rule
    that was never broken.

    ``max_events`` is the run budget in world events (default: the file's
    ``max_events:``, else ``DEFAULT_MAX_EVENTS``); a run that needs more ends with
    status ``"error"`` and a failure saying so, at the step it was running.

    ``around_world`` is a context the whole run happens in, given the new world
    before any device joins it: e.g. :func:`player_sim.serve.served_devices`, with
    which the devices reach the SSM and license backends over real HTTP.
    """
    if seed is None:
        seed = scenario.seed if scenario.seed is not None else 0
    if max_events is None:
        max_events = scenario.max_events or DEFAULT_MAX_EVENTS
    run = _Run(scenario, seed, configure_device, check_rules=check_rules,
               max_events=max_events)
    if around_world is None:
        return run.run()
    with around_world(run.world):
        return run.run()


# --- monitors -------------------------------------------------------------------

@attrs.define(eq=False, repr=False)
class _Monitor(Value):
    kind: Literal["expect", "always", "never"]
    location: Location
    text: str
    mode: str  # occurs, absent, now, at, within, for, always, never
    start: float
    end: float
    signal: SignalMatch | None
    condition: Condition | None
    done: bool = False
    seen: list[TraceRecord] = attrs.field(factory=list)  # same kind, not matching


class _Run:
    def __init__(self, scenario: Scenario, seed: int,
                 configure: Callable[[DeviceConfig], DeviceConfig] | None, *,
                 check_rules: bool = False, max_events: int | None = None) -> None:
        self.check_rules = check_rules
        self.scenario = scenario
        self.seed = seed
        self.world = World(scenario.world, seed=seed, max_events=max_events)
        self.configure = configure
        self.failures: list[Failure] = []
        self.signal_monitors: list[_Monitor] = []
        self.closed = False  # a monitor was decided since the last prune()
        self.condition_monitors: list[_Monitor] = []
        self.checkpoints: list[float] = []
        self.cursor = 0
        #: The records observe() read last, trace indexes ``batch_start`` to ``cursor``:
        #: an expectation added in the same instant scans them without rebuilding them.
        self.batch: list[TraceRecord] = []
        self.batch_start = 0
        self.checks = 0
        self.step_error = False
        self.observed: dict[str, int] = {}
        #: (virtual time, location) of each step that drives the world (actions, faults,
        #: kills), in order: a rule failure points at the last one before the violation.
        self.drives: list[tuple[float, Location]] = []
        self.where = scenario.location  # the step being run
        #: With ``check_rules``: the catalogue's monitors, fed each record as
        #: :meth:`observe` reads it (see :meth:`rule_failures`).
        self.checker: TraceChecker | None = None

    # --- driving ------------------------------------------------------------------

    def run(self) -> ScenarioResult:
        world = self.world
        providers = self.scenario.providers
        for config in self.scenario.devices:
            spec = providers.get(config.name)
            if spec is not None:
                provider, media = spec.build()  # fresh: a provider serves one world
                config = attrs.evolve(config, session_provider=provider, media=media)
            world.add_device(self.configure(config) if self.configure else config)
        if self.check_rules:
            self.checker = TraceChecker(CheckConfig.for_world(world),
                                        vantages=world.trace.vantages)
        for invariant in self.scenario.invariants:
            self.add_invariant(invariant)
        self.observe(0.0, settled=True)
        try:
            self.steps()
            budget_left = True
        except RunBudgetExceeded as err:  # the trace stops short: judge no rule on it
            self.step_error, budget_left = True, False
            self.failures.append(Failure("step", self.where, "the run budget", str(err),
                                         world.now))
        if self.check_rules and budget_left:
            self.failures.extend(self.rule_failures())
        failures = sorted(self.failures, key=lambda f: (f.time, f.location))
        trace = world.trace
        failures = [attrs.evolve(f, excerpt=_excerpt(trace, f.time)) for f in failures]
        status: Status = "passed"
        if failures:
            status = "error" if self.step_error else "failed"
        return ScenarioResult(self.scenario, self.seed, status, tuple(failures), trace,
                              world.now, world.events_processed, self.checks, self.observed)

    def steps(self) -> None:
        """Every step, then the end of the last expectation (may run out of budget)."""
        world = self.world
        for step in self.scenario.steps:
            self.where = step.location
            kind = type(step)
            if kind not in (Wait, At, Expect):
                self.drives.append((world.now, step.location))
            if kind is Wait:
                assert isinstance(step, Wait)
                self.advance_to(world.now + step.seconds)
            elif kind is At:
                assert isinstance(step, At)
                self.advance_to(max(world.now, step.time))
            elif kind is Action:
                assert isinstance(step, Action)
                self.act(step)
            elif kind is Expect:
                assert isinstance(step, Expect)
                self.add_expect(step)
            elif kind is OperatorKill:
                assert isinstance(step, OperatorKill)
                self.operator_kill(step)
            elif kind is LoseAnswers:
                assert isinstance(step, LoseAnswers)
                self.world.ssm.lose_next(step.endpoint.partition(".")[2], step.count)
                self.world.record(None, "answer_loss_planned",
                                  {"endpoint": step.endpoint, "count": step.count})
            else:
                assert isinstance(step, FailNext | Outage | Latency)
                self.fault(step)
        ends = [m.end for m in (*self.signal_monitors, *self.condition_monitors)
                if m.kind == "expect" and not m.done]
        self.where = self.scenario.location
        self.advance_to(max([world.now, *ends]))
        self.close_all()

    def advance_to(self, t: float) -> None:
        world = self.world
        if not self.condition_monitors:
            world.run_until(t)
            self.observe(t, settled=True)
            return
        checkpoints = self.checkpoints
        while checkpoints and checkpoints[0] < world.now:
            heapq.heappop(checkpoints)  # left over from a stretch run without conditions
        while True:
            next_event = world.next_event_time()
            x = _INF if next_event is None else next_event
            if checkpoints and checkpoints[0] < x:
                x = checkpoints[0]
            if x > t:
                break
            world.run_until(x)
            while checkpoints and checkpoints[0] <= x:
                heapq.heappop(checkpoints)
            self.observe(x, settled=True)
            if not self.condition_monitors:
                break
        if world.now < t:
            world.run_until(t)
        self.observe(t, settled=True)

    def act(self, step: Action) -> None:
        device = self.world.device(step.device)
        try:
            _perform(device, step)
        except PlayerSimError as err:
            self.step_error = True
            self.failures.append(Failure("step", step.location, step.describe(),
                                         f"the player refused this step: {err}",
                                         self.world.now))
        self.observe(self.world.now, settled=False)
        if self.condition_monitors:  # judge states once this instant's events have run
            heapq.heappush(self.checkpoints, self.world.now)

    def operator_kill(self, step: OperatorKill) -> None:
        ssm = self.world.ssm
        self.world.catch_up()
        if step.device is not None:
            ssm.kill_device_sessions(step.device)
        elif step.account is not None:
            ssm.kill_account_sessions(step.account)
        self.observe(self.world.now, settled=False)

    def fault(self, step: FailNext | Outage | Latency) -> None:
        world = self.world
        if isinstance(step, FailNext):
            backend, _, endpoint = step.endpoint.partition(".")
            if backend == "license":
                world.license.fail_next(step.count, http_status=step.http_status,
                                        code=_int(step.code), message=step.message)
            elif backend == "ott":
                world.ott.fail_next(endpoint, step.count, http_status=step.http_status,
                                    code=_int(step.code), message=step.message)
            elif backend == "ovp":
                world.ovp.fail_next(endpoint, step.count, http_status=step.http_status,
                                    code=None if step.code is None else str(step.code),
                                    message=step.message)
            else:
                world.ssm.fail_next(endpoint, step.count, http_status=step.http_status,
                                    ssm_code=_int(step.code), message=step.message)
            world.record(None, "fault_planned", {
                "endpoint": step.endpoint, "count": step.count,
                "http_status": step.http_status, "code": step.code, "message": step.message})
        elif isinstance(step, Outage):
            world.outage(step.link, step.start, step.end)
        else:
            world.add_latency(step.link, step.extra, step.start, step.end)
            world.record(None, "latency_planned", {
                "link": step.link, "extra": step.extra, "start": step.start,
                "end": step.end if step.end != _INF else None})

    # --- monitors ------------------------------------------------------------------

    def add_expect(self, expect: Expect) -> None:
        monitor = _Monitor("expect", expect.location, expect.text, expect.mode, expect.start,
                           expect.end, expect.signal, expect.condition)
        self.add(monitor)

    def add_invariant(self, invariant: Invariant) -> None:
        self.add(_Monitor(invariant.kind, invariant.location, invariant.text, invariant.kind,
                          0.0, _INF, invariant.signal, invariant.condition))

    def add(self, monitor: _Monitor) -> None:
        now = self.world.now
        if monitor.signal is not None:
            self.signal_monitors.append(monitor)
            # records of this instant already seen count too; newer ones come in observe()
            trace, batch, start = self.world.trace, self.batch, self.batch_start
            first, since = self.cursor, monitor.start - _EPS
            while first > start and batch[first - 1 - start].t >= since:
                first -= 1
            if first > start or first == 0 or trace[first - 1].t < since:
                self.scan(monitor, batch[first - start:])
            else:  # back before the last batch (rare): read the trace itself
                while first > 0 and trace[first - 1].t >= since:
                    first -= 1
                self.scan(monitor, trace[first:self.cursor])
        else:
            self.condition_monitors.append(monitor)
            # checked after every instant; these make sure its bounds are instants
            if monitor.end != _INF:
                heapq.heappush(self.checkpoints, monitor.end)
            if monitor.start != monitor.end:
                heapq.heappush(self.checkpoints, monitor.start)
            assert monitor.condition is not None
            if monitor.mode == "now" or (monitor.mode == "within"
                                         and self.holds(monitor.condition)):
                self.check_condition(monitor, now)
        self.prune()

    def observe(self, now: float, *, settled: bool) -> None:
        """Look at what happened up to ``now``. ``settled``: every event due at or
        before ``now`` has run, so windows ending at ``now`` may be closed."""
        trace = self.world.trace
        if self.cursor < len(trace):
            new = trace[self.cursor:]
            self.batch, self.batch_start = new, self.cursor
            self.cursor = len(trace)
            if self.checker is not None:
                feed = self.checker.feed
                for record in new:
                    feed(record)
            for monitor in self.signal_monitors:
                if not monitor.done:
                    self.scan(monitor, new)
        if settled:
            for monitor in self.signal_monitors:
                if not monitor.done:
                    self.expire_signal(monitor, now)
            for monitor in self.condition_monitors:
                if not monitor.done:
                    self.check_condition(monitor, now)
        self.prune()

    def close(self, monitor: _Monitor) -> None:
        """``monitor`` is decided: the next :meth:`prune` drops it."""
        monitor.done = True
        self.closed = True

    def prune(self) -> None:
        if not self.closed:  # (called after every instant; a monitor rarely closes)
            return
        self.closed = False
        self.signal_monitors = [m for m in self.signal_monitors if not m.done]
        self.condition_monitors = [m for m in self.condition_monitors if not m.done]

    def scan(self, monitor: _Monitor, records: Sequence[TraceRecord]) -> None:
        match = monitor.signal
        assert match is not None
        for record in records:
            if monitor.done:
                return
            if record.kind != match.kind or (match.device is not None
                                             and record.device != match.device):
                continue
            if record.t < monitor.start - _EPS or record.t > monitor.end + _EPS:
                monitor.seen.append(record)
                continue
            if not _payload_matches(record.data, match.payload):
                monitor.seen.append(record)
                continue
            self.checks += 1
            if monitor.mode == "occurs":
                self.close(monitor)
            else:  # absent, never
                who = f" by {record.device}" if record.device else ""
                self.fail(monitor, record.t, f"{match.describe()} was posted{who} at "
                          f"{format_time(record.t)}" + _data_text(record))

    def expire_signal(self, monitor: _Monitor, now: float) -> None:
        if monitor.done or now < monitor.end - _EPS:
            return
        if monitor.mode == "absent":
            self.close(monitor)
            self.checks += 1
        elif monitor.mode == "occurs":
            self.fail(monitor, monitor.end, self.missing_message(monitor))

    def missing_message(self, monitor: _Monitor) -> str:
        match = monitor.signal
        assert match is not None
        window = f"between {format_time(monitor.start)} and {format_time(monitor.end)}"
        message = f"expected {match.describe()} {window}; none was posted"
        inside = [r for r in monitor.seen
                  if monitor.start - _EPS <= r.t <= monitor.end + _EPS]
        if inside:
            got = ", ".join(f"{k}={inside[0].data.get(k)!r}" for k in sorted(match.payload))
            return (f"{message} with that payload ({len(inside)} {match.kind} in the window "
                    f"had {got})")
        trace = self.world.trace
        later = [r for r in trace.of_kind(match.kind, device=match.device)
                 if r.t > monitor.end + _EPS and _payload_matches(r.data, match.payload)]
        if later:
            return f"{message} (the first came later, at {format_time(later[0].t)})"
        earlier = [r for r in trace.of_kind(match.kind, device=match.device)
                   if r.t < monitor.start - _EPS and _payload_matches(r.data, match.payload)]
        if earlier:
            return f"{message} (the last one came earlier, at {format_time(earlier[-1].t)})"
        return message

    def check_condition(self, monitor: _Monitor, now: float) -> None:
        if monitor.done or now < monitor.start - _EPS:
            return
        condition = monitor.condition
        assert condition is not None
        holds = self.holds(condition)
        self.checks += 1
        mode = monitor.mode
        if mode in ("now", "at"):
            self.close(monitor)
            if not holds:
                self.fail(monitor, now, f"expected {condition.describe()} at "
                          f"{format_time(now)}; {self.actual(condition)}")
        elif mode == "within":
            if holds:
                self.close(monitor)
            elif now >= monitor.end - _EPS:
                self.fail(monitor, monitor.end, f"expected {condition.describe()} at some "
                          f"moment between {format_time(monitor.start)} and "
                          f"{format_time(monitor.end)}; it never was, and at the end "
                          f"{self.actual(condition)}")
        elif mode == "for":
            if not holds:
                self.fail(monitor, now, f"expected {condition.describe()} throughout "
                          f"{format_time(monitor.start)} to {format_time(monitor.end)}; at "
                          f"{format_time(now)} {self.actual(condition)}")
            elif now >= monitor.end - _EPS:
                self.close(monitor)
        elif mode == "always":
            if not holds:
                self.fail(monitor, now, f"always {condition.describe()} broke at "
                          f"{format_time(now)}: {self.actual(condition)}")
        elif holds:  # never
            self.fail(monitor, now, f"never {condition.describe()} happened at "
                      f"{format_time(now)}: {self.actual(condition)}")

    def close_all(self) -> None:
        now = self.world.now
        for monitor in [*self.signal_monitors, *self.condition_monitors]:
            if monitor.done or monitor.kind != "expect":
                continue
            if monitor.signal is not None:
                self.expire_signal(monitor, now)
            else:
                self.check_condition(monitor, now)

    def fail(self, monitor: _Monitor, time: float, message: str) -> None:
        self.close(monitor)
        self.failures.append(Failure(monitor.kind, monitor.location, monitor.text, message,
                                     time))

    def driving_step(self, t: float) -> Location:
        """The last step that drove the world at or before ``t`` (the file's first line
        when none did): where a reader looks for the cause of a rule broken at ``t``."""
        location = self.scenario.location
        for when, where in self.drives:
            if when > t + 1e-9:
                break
            location = where
        return location

    def rule_failures(self) -> list[Failure]:
        """The catalogue's monitors over the whole trace, against ``violates:``.

        The verdict is :func:`~player_sim.rules.judge_world`'s. The live checker
        already read the records :meth:`observe` read (so each record is rebuilt
        from the trace once); it reads the rest and gives the verdict, unless the
        world's checker configuration changed since the devices were added, when
        the whole trace is judged anew.
        """
        world = self.world
        allowed = self.scenario.violates
        broken: dict[str, list[Any]] = {}
        checker = self.checker
        if checker is not None and checker.config == CheckConfig.for_world(world):
            checker.catch_up(world.trace)
            checker.finish(world.now)
            verdict = checker.verdict()
        else:
            verdict = judge_world(world)
        self.observed = dict(verdict.observed)
        for violation in verdict.violations:
            broken.setdefault(violation.rule.id, []).append(violation)
        out = []
        for rule_id, violations in broken.items():
            if rule_id in allowed:
                continue
            first = violations[0]
            more = f" ({len(violations) - 1} more)" if len(violations) > 1 else ""
            who = f" on {first.device}" if first.device is not None else ""
            out.append(Failure(
                "rule", self.driving_step(first.t), rule_id,
                f"rule {rule_id} broken at {format_time(first.t)}{who}: {first.message}{more}."
                f" The rule: {first.rule.statement} ({first.rule.where}). If this scenario "
                f"breaks it on purpose, list it under 'violates:'", first.t))
        for rule_id, location in allowed.items():
            if rule_id not in broken:
                out.append(Failure(
                    "rule", location, rule_id,
                    f"rule {rule_id} is listed under 'violates:' but the run never broke it",
                    world.now))
        return out

    # --- the world's state ---------------------------------------------------------------

    def holds(self, condition: Condition) -> bool:
        if condition.metric is not None:
            return OPERATORS[condition.comparator](self.metric(condition), condition.value)
        device = self.world.device(condition.device or "")
        core = device.core
        return ((condition.app is None or core.app.value == condition.app)
                and (condition.playback is None or core.playback.value == condition.playback)
                and (condition.stream is None or core.stream == condition.stream))

    def metric(self, condition: Condition) -> float:
        world = self.world
        name, subject = condition.metric, condition.subject
        if name == "active_sessions":
            return len(world.ssm.active_sessions(subject))
        if name == "zombies":
            return len(world.zombie_sessions(subject))
        devices = [world.device(subject)] if subject is not None else list(world.devices)
        if name == "heartbeats_sent":
            return sum(d.heartbeats_sent for d in devices)
        return sum(d.blocked_time for d in devices)

    def actual(self, condition: Condition) -> str:
        if condition.metric is not None:
            value = self.metric(condition)
            shown = format_duration(value) if condition.metric == "blocked_time" else \
                f"{value:g}"
            return f"it was {shown}"
        core = self.world.device(condition.device or "").core
        return (f"{condition.device} was: app {core.app.value}, playback "
                f"{core.playback.value}, stream {core.stream}")


def _perform(device: Device, step: Action) -> None:
    spec = step.spec
    if spec.event is None:  # done to the app by the OS: kill, relaunch
        method: Callable[[], None] = getattr(device, spec.name)
        method()
    else:
        device.perform(spec.build(step.args))


def _int(code: int | str | None) -> int | None:
    return code if isinstance(code, int) else None


def _payload_matches(data: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    for key, want in payload.items():
        if key not in data:
            return False
        got = data[key]
        if isinstance(want, bool) or isinstance(got, bool):
            if want is not got:
                return False
        elif got != want:
            return False
    return True


def _data_text(record: TraceRecord) -> str:
    if not record.data:
        return ""
    return " (" + ", ".join(f"{k}={v!r}" for k, v in sorted(record.data.items())) + ")"


def _excerpt(trace: Trace, time: float) -> tuple[TraceRecord, ...]:
    """The records up to ``time`` (the last few) and the few right after it."""
    records = list(trace)
    lo, hi = 0, len(records)
    while lo < hi:  # first record after time
        mid = (lo + hi) // 2
        if records[mid].t <= time + _EPS:
            lo = mid + 1
        else:
            hi = mid
    return tuple(records[max(0, lo - _BEFORE): lo + _AFTER])
