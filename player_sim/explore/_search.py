"""Random exploration: Hypothesis searches whole scenarios for broken rules.

:func:`explore_random` draws scenarios from :func:`~._strategies.scenario_dicts`,
runs each with :func:`~player_sim.scenario.run_scenario` (which monitors every
rule of the catalogue over the trace) and treats each rule broken as a
distinct bug: Hypothesis keeps looking after the first one, shrinks each
to a minimal scenario, and every minimal scenario becomes a
:class:`Counterexample`, a scenario file that ``player-sim run`` replays and
that fails with the same rule.

The search is deterministic: the same ``examples``, ``seed`` and code give the
same counterexamples, byte for byte. It never reads or writes Hypothesis'
example database.
"""

from __future__ import annotations

import contextlib
import os
import textwrap
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, Final

import attrs
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.internal.conjecture import engine as _hypothesis_engine

from ..rules import CATALOGUE
from ..scenario import Failure, ScenarioError, load_scenario_text, run_scenario, write_atomic
from ..world import DeviceConfig
from ._features import GROUPS, features
from ._strategies import EXPLORE_SPACE, Space, scenario_dicts, scenario_yaml

__all__ = ["DEFAULT_EXAMPLES", "Counterexample", "DrawStatistics", "SearchReport",
           "draw_statistics", "explore_random", "format_search", "format_statistics",
           "replay_rules", "write_counterexamples"]

#: Scenarios one search tries (shrinking comes on top).
DEFAULT_EXAMPLES: Final = 300


class RuleBroken(Exception):
    """A generated scenario broke a rule. One subclass per rule id, so Hypothesis
    tells the rules apart and shrinks each to its own minimal scenario."""


_BY_RULE: dict[str, type[RuleBroken]] = {}


def _exception_for(rule_id: str) -> type[RuleBroken]:
    cls = _BY_RULE.get(rule_id)
    if cls is None:
        cls = _BY_RULE[rule_id] = type(f"Broke[{rule_id}]", (RuleBroken,), {})
    return cls


class _StepRefused(Exception):
    """The strategy drew a step the player refused: a bug in the strategy."""


@attrs.frozen
class Counterexample:
    """A minimal scenario that breaks ``rule``: ``data`` is the scenario as the
    loader's plain data; ``message`` is what the run reported; ``text`` is the
    file to write (a comment header, then the scenario)."""

    rule: str
    message: str
    data: Mapping[str, Any]
    text: str

    @property
    def file_name(self) -> str:
        """``RULE-ID.scenario.yaml``: one file per rule broken (a folder of them runs with
        ``player-sim run DIR``)."""
        return f"{self.rule}.scenario.yaml"


@attrs.frozen
class SearchReport:
    """What a search did: how many scenarios it ran (generation and shrinking),
    the simulated events they processed, and the counterexamples found, in rule
    catalogue order."""

    examples: int
    seed: int
    scenarios_run: int
    events: int
    counterexamples: tuple[Counterexample, ...]

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(c.rule for c in self.counterexamples)


def _header(rule_id: str, message: str, command: str) -> str:
    rule = CATALOGUE[rule_id]
    lines = [f"Counterexample found by `{command}`.",
             f"It breaks rule {rule_id} ({rule.where}):",
             *textwrap.wrap(rule.statement, 86, initial_indent="  ", subsequent_indent="  "),
             "What happened:",
             *textwrap.wrap(message.split(" The rule: ")[0], 86, initial_indent="  ",
                            subsequent_indent="  "),
             "Replay: `player-sim run THIS_FILE` fails with the same rule. Once the SDK or",
             "app is fixed, keep the file as a regression scenario."]
    return "\n".join(lines)


def explore_random(*, examples: int = DEFAULT_EXAMPLES, seed: int = 0,
                   space: Space = EXPLORE_SPACE, rules: Collection[str] | None = None,
                   configure_device: Callable[[DeviceConfig], DeviceConfig] | None = None,
                   ) -> SearchReport:
    """Search generated scenarios of ``space`` for broken rules.

    The search goes in rounds of ``examples`` generated scenarios: Hypothesis
    stops generating soon after its first bug, so each round ignores the rules
    found before, until a round finds nothing new. ``rules`` limits the search
    to those rule ids (others broken are ignored; the search stops once all are
    found). ``configure_device`` replaces each device's configuration before it
    is added (as in :func:`~player_sim.scenario.run_scenario`): how a mutant
    app policy or SDK variant is searched.

    Each counterexample is Hypothesis' shrunk scenario, then minimised further
    by dropping steps and devices one at a time while the same rule still
    breaks. Raises ``ValueError`` for ``examples`` below 1 or an unknown rule id.
    """
    if examples < 1:
        raise ValueError(f"examples must be at least 1, not {examples}")
    targets = frozenset(CATALOGUE if rules is None else rules)
    unknown = sorted(targets - set(CATALOGUE))
    if unknown:
        raise ValueError(f"no rule {unknown[0]!r} in the catalogue ('player-sim rules' "
                         "lists them)")
    command = f"player-sim explore --examples {examples} --seed {seed}" + "".join(
        f" --rule {r}" for r in (sorted(targets) if rules is not None else ())) + (
        f" --profile {space.profile}" if space.profile is not None else "")
    last: dict[str, tuple[dict[str, Any], Failure]] = {}
    counts = [0, 0]
    for round_number in range(len(targets)):
        new = _search_round(examples, f"{seed}:{round_number}", space, configure_device,
                            targets - set(last), counts)
        if not new:
            break
        last.update(new)
        if targets <= set(last):
            break
    found = []
    for rule_id in CATALOGUE:
        if rule_id not in last:
            continue
        data, failure = _minimise(rule_id, *last[rule_id], configure_device, counts)
        named = {"name": f"counterexample: {rule_id}", **{k: v for k, v in data.items()
                                                          if k != "name"}}
        text = scenario_yaml(named, _header(rule_id, failure.message, command))
        found.append(Counterexample(rule_id, failure.message, named, text))
    return SearchReport(examples, seed, counts[0], counts[1], tuple(found))


def _breaks(data: Mapping[str, Any], rule_id: str,
            configure_device: Callable[[DeviceConfig], DeviceConfig] | None,
            counts: list[int]) -> Failure | None:
    """The failure of ``rule_id`` when ``data`` runs cleanly otherwise, else ``None``."""
    try:
        scenario = load_scenario_text(scenario_yaml(data), "<explored>")
    except ScenarioError:
        return None  # e.g. a step names a device that was dropped
    result = run_scenario(scenario, configure_device=configure_device)
    counts[0] += 1
    counts[1] += result.events
    if any(f.kind == "step" for f in result.failures):
        return None
    return next((f for f in result.failures if f.kind == "rule" and f.text == rule_id), None)


def _minimise(rule_id: str, data: dict[str, Any], failure: Failure,
              configure_device: Callable[[DeviceConfig], DeviceConfig] | None,
              counts: list[int]) -> tuple[dict[str, Any], Failure]:
    """Drop devices (with their steps), then steps, one at a time, while ``rule_id``
    still breaks; shorten waits the same way. Deterministic: a fixed order of tries."""
    def attempt(candidate: dict[str, Any]) -> bool:
        nonlocal data, failure
        found = _breaks(candidate, rule_id, configure_device, counts)
        if found is not None:
            data, failure = candidate, found
        return found is not None

    for name in list(data["devices"])[::-1]:
        if len(data["devices"]) > 1 and name in data["devices"]:
            attempt({**data, "devices": {k: v for k, v in data["devices"].items() if k != name},
                     "steps": [s for s in data["steps"] if _device_of(s) != name]})
    index = len(data["steps"]) - 2  # the last step is the closing wait
    while index >= 0:
        steps = data["steps"]
        attempt({**data, "steps": steps[:index] + steps[index + 1:]})
        index = min(index, len(data["steps"]) - 1) - 1
    return data, failure


def _device_of(step: Mapping[str, Any]) -> str | None:
    (_, value), = step.items()
    if isinstance(value, str):
        return value if not value[:1].isdigit() else None  # a wait is "5s", never a name
    return value.get("device") if isinstance(value, dict) else None


@contextlib.contextmanager
def _shrinking_by_count() -> Iterator[None]:
    """Shrink until Hypothesis' own count of shrinks runs out, never by the clock.

    Hypothesis stops shrinking once it has spent five minutes of wall time on one
    failure (``MAX_SHRINKING_SECONDS``, a module constant it leaves patchable for
    this), so on a loaded machine a search would write a less shrunk counterexample
    than on an idle one: the same seed, another file. The search stays bounded by its
    examples and by Hypothesis' limit of 500 successful shrinks per failure.
    """
    saved = _hypothesis_engine.MAX_SHRINKING_SECONDS
    _hypothesis_engine.MAX_SHRINKING_SECONDS = 10**9
    try:
        yield
    finally:
        _hypothesis_engine.MAX_SHRINKING_SECONDS = saved


def _search_round(examples: int, seed: str, space: Space,
                  configure_device: Callable[[DeviceConfig], DeviceConfig] | None,
                  wanted: frozenset[str], counts: list[int],
                  ) -> dict[str, tuple[dict[str, Any], Failure]]:
    """One Hypothesis run; the last (minimal) failing scenario of each new rule."""
    last: dict[str, tuple[dict[str, Any], Failure]] = {}

    @hypothesis_seed(seed)
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              phases=(Phase.generate, Phase.shrink), report_multiple_bugs=True,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(scenario_dicts(space, configure_device))
    def search(data: dict[str, Any]) -> None:
        scenario = load_scenario_text(scenario_yaml(data), "<explored>")
        result = run_scenario(scenario, configure_device=configure_device)
        counts[0] += 1
        counts[1] += result.events
        refused = [f for f in result.failures if f.kind == "step"]
        if refused:
            raise _StepRefused(refused[0].message)
        broken = [f for f in result.failures if f.kind == "rule" and f.text in wanted]
        if broken:
            # a rule this round has not seen yet goes first: one scenario can show two
            # hazards (an iOS double refresh that also races a zap), and the one already
            # found would hide the other
            first = next((f for f in broken if f.text not in last), broken[0])
            last[first.text] = (data, first)
            raise _exception_for(first.text)(first.message)

    errors: list[BaseException] = []
    try:
        with _shrinking_by_count():
            search()
    except BaseExceptionGroup as group:
        errors = list(group.exceptions)
    except Exception as single:  # sorted out below
        errors = [single]
    for error in errors:
        if not isinstance(error, RuleBroken):
            raise error  # a bug in the strategy or the simulator, not a rule broken
    return last


def replay_rules(text: str, path: str = "<counterexample>") -> list[str]:
    """The rules a scenario file's run reports broken (what ``player-sim run`` shows)."""
    result = run_scenario(load_scenario_text(text, path))
    return [f.text for f in result.failures if f.kind == "rule"]


def write_counterexamples(report: SearchReport, out: str | os.PathLike[str]) -> list[str]:
    """Write each counterexample as ``out/RULE-ID.scenario.yaml``; return the paths written."""
    paths = []
    for counterexample in report.counterexamples:
        path = os.path.join(os.fspath(out), counterexample.file_name)
        write_atomic(path, counterexample.text)
        paths.append(path)
    return paths


def format_search(report: SearchReport, paths: Mapping[str, str] | None = None) -> str:
    """A short report: the budget, then one line per rule broken (and its file)."""
    lines = [f"explored {report.scenarios_run} scenarios ({report.examples} examples, seed "
             f"{report.seed}; shrinking included), {report.events} simulated events"]
    if not report.counterexamples:
        lines.append("no rule was broken")
    for c in report.counterexamples:
        where = f" -> {paths[c.rule]}" if paths and c.rule in paths else ""
        lines.append(f"BROKEN {c.rule}{where}")
        lines.append(f"    {c.message.split(' The rule: ')[0]}")
    return "\n".join(lines) + "\n"


# --- what the search draws -----------------------------------------------------------

@attrs.frozen
class DrawStatistics:
    """How often each feature came up in ``examples`` generated scenarios (seed
    ``seed``), with the simulated events of their runs; ``counts`` in :data:`GROUPS`
    order, then by label."""

    examples: int
    seed: int
    events: int
    counts: tuple[tuple[str, int], ...]

    def share(self, label: str) -> float:
        """The fraction of the scenarios that had ``label`` (0 when never)."""
        return dict(self.counts).get(label, 0) / self.examples if self.examples else 0.0


def _order(label: str) -> tuple[int, str]:
    group = label.split(":", 1)[0]
    return (GROUPS.index(group) if group in GROUPS else len(GROUPS), label)


def draw_statistics(space: Any, *, examples: int = 300, seed: int = 0,
                    configure_device: Callable[[Any], Any] | None = None) -> DrawStatistics:
    """Draw ``examples`` scenarios of ``space`` as the search does (same seed, same
    draws: Hypothesis' generation phase only), run each, and count its
    :func:`features`. Raises ``ValueError`` for ``examples`` below 1."""
    if examples < 1:
        raise ValueError(f"examples must be at least 1, not {examples}")
    counts: Counter[str] = Counter()
    totals = [0, 0]

    @hypothesis_seed(seed)
    @settings(max_examples=examples, database=None, deadline=None, phases=(Phase.generate,),
              suppress_health_check=list(HealthCheck))
    @given(scenario_dicts(space, configure_device))
    def draw(data: dict[str, Any]) -> None:
        result = run_scenario(load_scenario_text(scenario_yaml(data), "<generated>"),
                              configure_device=configure_device, check_rules=False)
        counts.update(features(data, result.trace))
        totals[0] += 1
        totals[1] += result.events

    draw()
    return DrawStatistics(totals[0], seed, totals[1],
                          tuple(sorted(counts.items(), key=lambda item: _order(item[0]))))


def format_statistics(stats: DrawStatistics, title: str = "") -> str:
    """A Markdown table: each feature, in how many scenarios, and the share."""
    lines = [title] if title else []
    lines += [f"{stats.examples} scenarios drawn (seed {stats.seed}), {stats.events} "
              "simulated events", "", "| feature | scenarios | share |", "|---|---:|---:|"]
    for label, count in stats.counts:
        lines.append(f"| {label} | {count} | {100 * count / stats.examples:.0f} % |")
    return "\n".join(lines) + "\n"
