"""Exhaustive, breadth-first exploration of the player core and of a small world.

**The core.** From an idle player, every input sequence up to ``depth``:
the actions the core accepts now (``PlayerCore.can``), a kill or relaunch,
and every abstract answer to every open request (see :mod:`._coremodel`), under
each SDK configuration of :data:`CORE_CONFIGS`. States that behave alike are
merged (:func:`~._coremodel.state_key`), so breadth-first order gives the
shortest path to each violation. Coverage is measured against the same tables
that build the machines (:data:`~player_sim.player.PLAYBACK_TRANSITIONS`,
:data:`~player_sim.player.APP_TRANSITIONS`): which states were reached, which
rows fired, which never did.

**The small world.** Two player cores share one account whose SSM limit is
one, served by the real :class:`~player_sim.backends.SsmServer`; the only
abstraction is which message goes next (:mod:`._smallworld`). The catalogue's
monitors judge its records, device and server alike, so a finding there is a
violation of a catalogue rule too: at the default depth, the async-teardown
zap race at the limit (``ssm.zap.no-self-limit``, setup-first order and its
late-answer cousin) and the stale-token teardown race
(``ssm.teardown.ends-session``). Each is reported with its shortest paths
(up to :data:`SHORTEST_PATHS` per rule and message).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final, cast

import attrs

from .._collector import long_lived
from ..player import (
    APP_TRANSITIONS,
    PLAYBACK_MACHINE,
    PLAYBACK_TRANSITIONS,
    AppState,
    CoreConfig,
    PlaybackState,
    PlayerCore,
    SdkModel,
)
from ..player import _events as ev
from ..rules import CATALOGUE, TraceChecker
from ._coremodel import (
    CORE_RULES,
    REFUSED_INPUT_UNCHANGED,
    UNJUDGED,
    CoreEnv,
    clone_core,
    core_checker,
    inputs,
    keyed_by_slots,
    refusal_kept,
    snapshot,
    state_key,
    step,
)
from ._recording import clone_checker, drop_checker
from ._smallworld import (
    WORLD_RULES,
    WORLD_UNJUDGED,
    world_inputs,
    world_key,
    world_root,
    world_step,
)

__all__ = ["CORE_CONFIGS", "SHORTEST_PATHS", "WORLD_CONFIGS", "CoreExploration",
           "ExhaustiveReport", "ShortestPath", "TableRow", "WorldExploration", "explore_core",
           "explore_exhaustive", "explore_world", "format_exhaustive", "table_rows"]

P = PlaybackState
A = AppState

#: The SDK configurations the core is explored under, by name.
CORE_CONFIGS: Final[Mapping[str, CoreConfig]] = {
    "default": CoreConfig(),
    "sync": CoreConfig(sync_ssm_setup_teardown=True),
    "pip": CoreConfig(pip_enabled=True),
    "teardown-first": CoreConfig(async_zap_order="teardown-first"),
    "keep-item": CoreConfig(release_item_on_stop=False),
    "sync+keep-item": CoreConfig(sync_ssm_setup_teardown=True, release_item_on_stop=False),
    "no-ssm": CoreConfig(uses_ssm=False),
    "provider": CoreConfig(has_session_provider=True),
    "provider+sync": CoreConfig(has_session_provider=True, sync_ssm_setup_teardown=True),
}


@attrs.frozen(order=True)
class TableRow:
    """One row of a transition table, for one source state."""

    machine: str
    trigger: str
    source: str
    dest: str

    def __str__(self) -> str:
        return f"{self.machine}: {self.source} --{self.trigger}--> {self.dest}"


def table_rows() -> list[TableRow]:
    """Every (machine, trigger, source, dest) the two tables declare, sorted."""
    rows: set[TableRow] = set()
    for machine, table in (("playback", PLAYBACK_TRANSITIONS), ("app", APP_TRANSITIONS)):
        for row in table:
            sources = row["source"] if isinstance(row["source"], list) else [row["source"]]
            for source in sources:
                dest = row["dest"] if row["dest"] is not None else source
                rows.add(TableRow(machine, row["trigger"], source.value, dest.value))
    return sorted(rows)


@attrs.frozen
class ShortestPath:
    """A violation and the shortest input sequence that reaches it."""

    rule_id: str
    message: str
    steps: tuple[str, ...]
    where: str

    def describe(self) -> str:
        rule = CATALOGUE.get(self.rule_id)
        head = f"{self.rule_id} ({self.where}, {len(self.steps)} steps): {self.message}"
        quote = f"\n    rule: {rule.statement}" if rule is not None else ""
        return head + quote + "".join(f"\n    {n:>2}. {s}" for n, s in
                                       enumerate(self.steps, 1))


def _tracing_class(base: type[PlayerCore]) -> type[PlayerCore]:
    """``base`` with a ``fired`` list recording each table row it fires, as the fields
    of its :class:`TableRow` (same tables, same callbacks)."""
    cached = _TRACING.get(base)
    if cached is not None:
        return cached

    def _fire(self: Any, machine: Any, trigger: str) -> None:
        playback = machine is PLAYBACK_MACHINE
        before = self.playback if playback else self.app
        base._fire(self, machine, trigger)
        after = self.playback if playback else self.app
        # (A plain tuple, a TableRow's fields: made a TableRow once, at the end.)
        self.fired.append(("playback" if playback else "app", trigger, before._value_,
                           after._value_))

    cls = type(f"Tracing{base.__name__}", (base,), {"__slots__": ("fired",), "_fire": _fire})
    _TRACING[base] = cls
    return cls


_TRACING: dict[type[PlayerCore], type[PlayerCore]] = {}


def _tracing(core: PlayerCore) -> Any:
    new: Any = clone_core(core)
    new.fired = []
    return new


@attrs.frozen
class CoreExploration:
    """What breadth-first search of one core configuration found."""

    config: str
    depth: int
    states: int
    steps: int
    reached: frozenset[tuple[str, str]]
    rows: frozenset[TableRow]
    violations: tuple[ShortestPath, ...]
    #: Refused inputs that changed the core (:data:`REFUSED_INPUT_UNCHANGED`), each with
    #: its shortest path: the core's own contract, not a catalogue rule.
    contract: tuple[ShortestPath, ...] = ()


def _path(parents: dict[Any, tuple[Any, str] | None], key: Any) -> list[str]:
    out: list[str] = []
    link = parents[key]
    while link is not None:
        key, label = link
        out.append(label)
        link = parents[key]
    return out[::-1]


def _judged(rules: Collection[str] | None, judges: tuple[str, ...],
            unjudged: Mapping[str, str], explorer: str) -> tuple[str, ...]:
    """The rules an explorer that judges ``judges`` judges of a selection ``rules``
    (``None``: all of them), in catalogue order; a rule it cannot judge is refused
    with the reason (``unjudged``)."""
    if rules is None:
        return judges
    _known(rules)
    for rule_id in rules:
        if rule_id not in judges:
            raise ValueError(f"the {explorer} does not judge {rule_id}: "
                             f"{unjudged.get(rule_id, 'not among its rules')}")
    return tuple(r for r in judges if r in rules)


def _known(rules: Collection[str]) -> None:
    if isinstance(rules, str):
        raise TypeError(f"rules is a collection of rule ids, not the string {rules!r}")
    unknown = sorted(set(rules) - set(CATALOGUE))
    if unknown:
        raise ValueError(f"no rule {unknown[0]!r} in the catalogue ('player-sim rules' "
                         "lists them)")


def explore_core(config: CoreConfig, depth: int, name: str = "core", *,
                 core_type: type[PlayerCore] = PlayerCore,
                 rules: Collection[str] | None = None) -> CoreExploration:
    """Breadth-first search of one core configuration up to ``depth`` inputs.

    ``core_type`` is the player core to explore: a subclass of
    :class:`~player_sim.PlayerCore` (an SDK variant, or a mutant) is explored
    through the same tables and checked against the same invariants.

    ``rules``: the catalogue rules judged (default: every rule of
    :data:`~player_sim.explore.CORE_RULES`). Fewer rules, fewer monitors to feed
    and copy at each step; the same inputs and coverage, and perhaps fewer states
    (those that differed only in what an unjudged rule's monitor awaited are one).
    A rule's violations and the length of its shortest path do not depend on which
    other rules are judged (tests hold it to that). ``ValueError`` names a rule not
    in the catalogue, or one the core explorer does not judge
    (:data:`~player_sim.explore.UNJUDGED`, with the reason).
    """
    judged = _judged(rules, CORE_RULES, UNJUDGED, "core explorer")
    # The search makes objects by the million and frees them by reference counting
    # (a checker copy that leads to a state seen already is dropped, :func:`drop_checker`):
    # the cyclic collector, which would traverse them all, waits till the end.
    with long_lived():
        return _explore_core(config, depth, name, core_type, judged)


def _explore_core(config: CoreConfig, depth: int, name: str,
                  core_type: type[PlayerCore], judged: tuple[str, ...]) -> CoreExploration:
    root: Any = _tracing_class(core_type)(config)
    root.fired = []
    env = CoreEnv()
    checker = core_checker(config, judged)
    key = state_key(root, env, checker)
    parents: dict[Any, tuple[Any, str] | None] = {key: None}
    frontier: list[tuple[PlayerCore, CoreEnv, TraceChecker, Any]] = [(root, env, checker, key)]
    reached = {("app", root.app.value), ("playback", root.playback.value)}
    rows: set[tuple[str, str, str, str]] = set()  # (a TableRow's fields)
    found: dict[str, ShortestPath] = {}
    steps = 0
    # A refused action leaves every slot of the core as it was (or the step finds it did
    # not), and the env and the checker are the parent's: when the state key reads
    # nothing else of the core, the step leads back to the parent's state, seen already.
    refusals_return = keyed_by_slots(core_type, config)
    for _ in range(depth):
        following: list[tuple[PlayerCore, CoreEnv, TraceChecker, Any]] = []
        for core, env, checker, key in frontier:
            options = list(inputs(core, env))
            last = len(options) - 1
            # The refused actions of this state are fed to one spare copy of its core,
            # snapshotted once: while each raises and leaves it as it was, the spare is
            # as good as a fresh copy for the next (see :func:`refusal_kept`).
            spare: Any = None
            before: tuple[Any, ...] = ()
            for n, (label, event, index, used) in enumerate(options):
                refused = label.endswith(" (refused)")
                if refused and refusals_return:
                    if spare is None:
                        spare = _tracing(core)
                        before = snapshot(spare)
                    if refusal_kept(spare, cast(ev.Action, event), before):
                        steps += 1
                        continue  # back to the parent's state, seen already
                    spare = None  # (changed, perhaps: the step is taken again, below)
                child = _tracing(core)
                # A refused action writes no record: the parent's checker serves. The
                # last input (a kill, a relaunch or an answer: never a refused action)
                # is the parent checker's last use: it is fed in place, not copied.
                child_checker = checker if refused or n == last \
                    else clone_checker(checker, lazy=True)
                new_env, _, findings = step(child, env, event, index, used, child_checker,
                                            accepted=not refused)
                steps += 1
                if refused and refusals_return and not findings:
                    continue
                rows.update(child.fired)
                reached.add(("app", child.app._value_))
                reached.add(("playback", child.playback._value_))
                for finding in findings:
                    if finding.rule_id not in found:
                        found[finding.rule_id] = ShortestPath(finding.rule_id, finding.message,
                                                      (*_path(parents, key), label),
                                                      f"core/{name}")
                child_key = state_key(child, new_env, child_checker)
                if child_key in parents:
                    if child_checker is not checker:
                        drop_checker(child_checker)  # (a copy no one holds: freed at once)
                    continue
                parents[child_key] = (key, label)
                if refused:
                    # A refusal that changed the core leads somewhere new, with the
                    # parent's checker: a copy of it goes along, before the parent's last
                    # input feeds that checker in place.
                    child_checker = clone_checker(checker, lazy=True)
                following.append((child, new_env, child_checker, child_key))
        frontier = following
        if not frontier:
            break
    contract = found.pop(REFUSED_INPUT_UNCHANGED, None)
    return CoreExploration(name, depth, len(parents), steps, frozenset(reached),
                           frozenset(TableRow(*row) for row in rows), tuple(found.values()),
                           () if contract is None else (contract,))


# --- the small world --------------------------------------------------------------------------

#: At most this many shortest paths are reported per rule and message in the small world.
SHORTEST_PATHS: Final = 3

@attrs.frozen
class WorldExploration:
    """What breadth-first search of the small world found."""

    config: str
    depth: int
    states: int
    steps: int
    violations: tuple[ShortestPath, ...]


def explore_world(config: CoreConfig, depth: int, name: str = "world", *,
                  core_type: type[PlayerCore] = PlayerCore,
                  rules: Collection[str] | None = None) -> WorldExploration:
    """Breadth-first search of the small world (:mod:`._smallworld`: two cores of
    ``core_type`` on one account limited to one session, the real SSM server) up
    to ``depth`` inputs. Each violation of a catalogue rule is reported with the
    shortest input sequences that reach it: per rule and monitor message, every
    path of the shortest length found, up to :data:`SHORTEST_PATHS` (one race can
    have several shapes: the async zap race with the session held, or with a
    setup answer that came late).

    ``rules``: the catalogue rules judged (default: every rule of
    :data:`~player_sim.explore.WORLD_RULES`), as in :func:`explore_core`;
    ``ValueError`` names one the small world does not judge
    (:data:`~player_sim.explore.WORLD_UNJUDGED`)."""
    root = world_root(config, core_type,
                      _judged(rules, WORLD_RULES, WORLD_UNJUDGED, "small world"))
    key = world_key(root)
    parents: dict[Any, tuple[Any, str] | None] = {key: None}
    frontier = [(root, key)]
    found: dict[tuple[str, str], list[ShortestPath]] = {}
    steps = 0
    for level in range(1, depth + 1):
        following = []
        for state, key in frontier:
            options = list(world_inputs(state))
            for n, (label, what) in enumerate(options):
                # (The last input is the state's checker's last use: fed in place.)
                new, findings = world_step(state, what, last=n == len(options) - 1)
                steps += 1
                for rule_id, message in findings:
                    paths = found.setdefault((rule_id, message), [])
                    if len(paths) < SHORTEST_PATHS and (not paths or len(paths[0].steps) == level):
                        paths.append(ShortestPath(rule_id, message,
                                                  (*_path(parents, key), label),
                                                  f"world/{name}"))
                new_key = world_key(new)
                if new_key in parents:
                    continue
                parents[new_key] = (key, label)
                following.append((new, new_key))
        frontier = following
        if not frontier:
            break
    return WorldExploration(name, depth, len(parents), steps,
                            tuple(p for paths in found.values() for p in paths))


#: The SDK configurations the small world is explored under.
WORLD_CONFIGS: Final[Mapping[str, CoreConfig]] = {
    "setup-first": CoreConfig(),
    "teardown-first": CoreConfig(async_zap_order="teardown-first"),
    "sync": CoreConfig(sync_ssm_setup_teardown=True),
}


@attrs.frozen
class ExhaustiveReport:
    """Everything ``player-sim explore --exhaustive`` reports."""

    depth: int
    world_depth: int
    core: tuple[CoreExploration, ...]
    world: tuple[WorldExploration, ...]
    #: The rules judged, when a selection was asked for (``None``: every rule).
    rules: tuple[str, ...] | None = None

    @property
    def reached(self) -> frozenset[tuple[str, str]]:
        return frozenset().union(*(c.reached for c in self.core))

    @property
    def unreached(self) -> list[tuple[str, str]]:
        every = [("app", s.value) for s in AppState] + [("playback", s.value)
                                                       for s in PlaybackState]
        return [s for s in every if s not in self.reached]

    @property
    def rows_taken(self) -> frozenset[TableRow]:
        return frozenset().union(*(c.rows for c in self.core))

    @property
    def rows_never_taken(self) -> list[TableRow]:
        return [row for row in table_rows() if row not in self.rows_taken]

    @property
    def violations(self) -> list[ShortestPath]:
        return [*(p for c in self.core for p in c.violations),
                *(p for w in self.world for p in w.violations)]

    @property
    def states(self) -> int:
        return sum(c.states for c in self.core) + sum(w.states for w in self.world)

    @property
    def steps(self) -> int:
        return sum(c.steps for c in self.core) + sum(w.steps for w in self.world)


def explore_exhaustive(depth: int, *, core_configs: Mapping[str, CoreConfig] | None = None,
                       world_configs: Mapping[str, CoreConfig] | None = None,
                       world_depth: int | None = None,
                       core_type: type[PlayerCore] = PlayerCore,
                       sdk: SdkModel | None = None,
                       rules: Collection[str] | None = None) -> ExhaustiveReport:
    """Explore every core configuration to ``depth`` inputs, and the small world to
    ``world_depth`` (default ``depth + 2``: there a request reaching the server and
    its answer reaching the device are two steps).

    ``sdk`` (an :class:`~player_sim.SdkModel`) is plugged into every configuration;
    ``core_type`` is a :class:`~player_sim.PlayerCore` subclass to explore instead of
    the core. A variant's own state is copied for each branch and is part of the state
    key (:meth:`SdkModel.state <player_sim.SdkModel.state>`; a core subclass's own
    attributes), so a variant with state is neither reset nor shared between branches.

    ``rules``: judge only these catalogue rules (default: all each explorer judges).
    The cores judge those of :data:`~player_sim.explore.CORE_RULES` and the small world
    those of :data:`~player_sim.explore.WORLD_RULES`; each still explores every state,
    so coverage is reported whole. ``ValueError`` names a rule not in the catalogue,
    or one neither explorer judges, with their reasons.
    """
    if depth < 1:
        raise ValueError(f"the exploration depth must be at least 1, not {depth}")
    selection = selected_rules(rules)
    in_core = None if selection is None else [r for r in selection if r in CORE_RULES]
    in_small_world = None if selection is None else [r for r in selection if r in WORLD_RULES]
    cores = core_configs if core_configs is not None else CORE_CONFIGS
    worlds = world_configs if world_configs is not None else WORLD_CONFIGS
    if sdk is not None:
        cores = {name: attrs.evolve(cfg, sdk=sdk) for name, cfg in cores.items()}
        worlds = {name: attrs.evolve(cfg, sdk=sdk) for name, cfg in worlds.items()}
    in_world = world_depth if world_depth is not None else depth + 2
    return ExhaustiveReport(
        depth, in_world,
        tuple(explore_core(cfg, depth, name, core_type=core_type, rules=in_core)
              for name, cfg in cores.items()),
        tuple(explore_world(cfg, in_world, name, core_type=core_type, rules=in_small_world)
              for name, cfg in worlds.items()), selection)


def selected_rules(rules: Collection[str] | None) -> tuple[str, ...] | None:
    """A selection of rules for :func:`explore_exhaustive`, in catalogue order
    (``None``: every rule); ``ValueError`` names a rule not in the catalogue, or one
    neither explorer judges, with their reasons."""
    if rules is None:
        return None
    _known(rules)
    for rule_id in rules:
        if rule_id not in CORE_RULES and rule_id not in WORLD_RULES:
            core, world = UNJUDGED[rule_id], WORLD_UNJUDGED[rule_id]
            raise ValueError(f"the exhaustive explorer does not judge {rule_id}: {core}"
                             + ("" if world == core else f"; the small world: {world}"))
    return tuple(r for r in CATALOGUE if r in set(rules))


def format_exhaustive(report: ExhaustiveReport) -> str:
    """The report as text: per configuration, coverage, then each shortest violation."""
    out = [f"exhaustive exploration: cores to depth {report.depth}, "
           f"the small world to depth {report.world_depth}"]
    if report.rules is not None:
        out.append(f"judging only: {', '.join(report.rules)}")
    for c in report.core:
        out.append(f"  core/{c.config:<15} {c.states:>7} states {c.steps:>8} steps "
                   f"{len(c.violations)} violation{'s' if len(c.violations) != 1 else ''}")
    for w in report.world:
        out.append(f"  world/{w.config:<14} {w.states:>7} states {w.steps:>8} steps "
                   f"{len(w.violations)} violation{'s' if len(w.violations) != 1 else ''}")
    total_states = len(list(AppState)) + len(list(PlaybackState))
    out.append(f"states reached: {total_states - len(report.unreached)} of {total_states}")
    for machine, state in report.unreached:
        out.append(f"  never reached: {machine} {state}")
    rows = table_rows()
    out.append(f"table rows taken: {len(rows) - len(report.rows_never_taken)} of {len(rows)}")
    for row in report.rows_never_taken:
        out.append(f"  never taken: {row}")
    violations = report.violations
    out.append(f"violations: {len(violations)}")
    for path in violations:
        out.append("  " + path.describe().replace("\n", "\n  "))
    return "\n".join(out) + "\n"
