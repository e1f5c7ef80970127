"""The ``player-sim`` command line: parses arguments, calls the library, sets exit codes.

Exit codes: 0 success, 1 a check failed (a scenario, a rule, a mutant), 2 bad input.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .player import mermaid_diagram

if TYPE_CHECKING:
    from .trace import Trace

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="player_sim")
def main() -> None:
    """Simulate video-player SDKs' secure playback sessions in virtual time."""


@main.command()
def diagram() -> None:
    """Print the player lifecycle as a Mermaid state diagram."""
    click.echo(mermaid_diagram(), nl=False)


# --- scenarios -------------------------------------------------------------------------

_DEFAULT_SCENARIOS = "scenarios"


def _scenario_files(paths: tuple[str, ...]) -> list[str]:
    from ._errors import ConfigError
    from .scenario import discover

    try:
        return discover(paths or (_DEFAULT_SCENARIOS,))
    except ConfigError as err:
        raise click.UsageError(str(err)) from None


def _report_invalid(errors: list[Any]) -> None:
    for error in errors:
        for problem in error.problems:
            click.echo(str(problem), err=True)
    files = len(errors)
    click.echo(f"{files} invalid scenario file{'s' if files != 1 else ''}: nothing was run",
               err=True)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--seed", type=int, default=None,
              help="World seed for every scenario (default: each file's seed:, else 0).")
@click.option("--junit-xml", "junit_path", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write a JUnit XML report.")
@click.option("--json", "json_path", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write a JSON report: summary counts and one entry per scenario.")
@click.option("--trace-dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Write each scenario's trace as DIR/NAME.jsonl.")
@click.option("--timeline", "timeline_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Draw each scenario as DIR/NAME.svg: one lane per device over virtual "
                   "time.")
@click.option("-k", "keyword", metavar="EXPR",
              help="Run only scenarios whose name, file or tags match (and / or / not).")
@click.option("-q", "--quiet", is_flag=True, help="Print only failures and the summary.")
@click.option("--no-rules", is_flag=True,
              help="Check only the files' expectations, not the rule catalogue's monitors.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="W", help="Local worker processes (results are printed in file order).")
@click.option("--executor", "address", metavar="dask://HOST:PORT",
              help="Run the scenarios on this Dask scheduler.")
def run(paths: tuple[str, ...], seed: int | None, junit_path: str | None,
        json_path: str | None, trace_dir: str | None, timeline_dir: str | None,
        keyword: str | None, quiet: bool, no_rules: bool, workers: int,
        address: str | None) -> None:
    """Run scenario files (default: ./scenarios, without scenarios/broken/).

    Exit status: 0 all passed, 1 a scenario failed, 2 invalid input.
    """
    import os
    import sys

    from ._errors import ConfigError
    from .scenario import (
        format_result,
        json_report,
        junit_xml,
        keyword_matches,
        load_many,
        run_scenario,
        summary_line,
        summary_table,
        trace_file_names,
        write_atomic,
    )

    color = _color_wanted()
    scenarios, errors = load_many(_scenario_files(paths))
    if errors:
        _report_invalid(errors)
        sys.exit(2)
    if keyword:
        try:
            scenarios = [s for s in scenarios if keyword_matches(
                keyword, (s.name, s.path, os.path.basename(s.path), *s.tags))]
        except ConfigError as err:
            raise click.UsageError(str(err)) from None
    styles = {"passed": ("PASS", "green"), "failed": ("FAIL", "red"),
              "error": ("ERROR", "red")}
    results = []
    ran: Iterable[Any]
    if workers > 1 or address is not None:
        from .fleet import open_executor, run_tasks

        tasks = [(s.path, seed, not no_rules) for s in scenarios]
        try:
            ran = run_tasks(lambda: open_executor(workers, address), _run_one, tasks)
        except ConfigError as err:
            raise click.UsageError(str(err)) from None
    else:
        ran = (run_scenario(s, seed=seed, check_rules=not no_rules) for s in scenarios)
    for scenario, result in zip(scenarios, ran, strict=True):
        results.append(result)
        word, colour = styles[result.status]
        if not quiet or not result.passed:
            click.echo(f"{click.style(word, fg=colour, bold=True) if color else word:5} "
                       f"{scenario.path}  {scenario.name}", color=color)
        if not result.passed:
            click.echo(_indent(format_result(result)) + "\n", color=color)
    if not quiet:
        click.echo("\n" + summary_table(results))
    click.echo(summary_line(results))
    try:
        if json_path:
            write_atomic(json_path, json_report(results))
        if junit_path:
            write_atomic(junit_path, junit_xml(results))
        if trace_dir:
            for result, name in zip(results, trace_file_names(results), strict=True):
                write_atomic(os.path.join(trace_dir, name), result.trace.to_jsonl())
        if timeline_dir:
            from ._timeline import render_timeline

            for result, name in zip(results, trace_file_names(results), strict=True):
                svg = render_timeline(result.trace, result.scenario.name, end=result.duration)
                write_atomic(os.path.join(timeline_dir, name[:-len(".jsonl")] + ".svg"), svg)
    except OSError as err:
        raise click.UsageError(f"can't write a report: {err}") from None
    sys.exit(0 if all(r.passed for r in results) else 1)


def _run_one(task: tuple[str, int | None, bool]) -> Any:
    """One scenario file, run (a task of ``run --workers``; runs in a worker)."""
    from .scenario import load_many, run_scenario

    path, seed, check_rules = task
    scenarios, _ = load_many([path])
    return run_scenario(scenarios[0], seed=seed, check_rules=check_rules)


def _color_wanted() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    import os
    import sys

    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else line for line in text.splitlines())


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
def validate(paths: tuple[str, ...]) -> None:
    """Check scenario files without running them (default: ./scenarios).

    Exit status: 0 all valid, 2 any invalid.
    """
    import sys

    from .scenario import load_many

    files = _scenario_files(paths)
    scenarios, errors = load_many(files)
    for scenario in scenarios:
        click.echo(f"ok    {scenario.path}")
    if errors:
        _report_invalid(errors)
        sys.exit(2)
    click.echo(f"{len(scenarios)} valid scenario file{'s' if len(scenarios) != 1 else ''}")


@main.command()
@click.option("--trace", "of_trace", is_flag=True,
              help="The schema of a trace record line instead (generated from the kinds).")
def schema(of_trace: bool) -> None:
    """Print the JSON Schema of scenario files (for editors), or of trace records."""
    if of_trace:
        import json

        from .trace import json_schema

        click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))
        return
    from .scenario import schema_json

    click.echo(schema_json(), nl=False)


@main.command()
@click.argument("trace_file", metavar="TRACE.jsonl",
                type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("-o", "--output", metavar="OUT.svg", type=click.Path(dir_okay=False),
              help="Where to write the SVG ('-' for standard output; default: the trace's "
                   "path with .svg).")
@click.option("--title", help="The drawing's title (default: the trace file's name).")
@click.option("--from", "start", metavar="DURATION", default="0s", show_default=True,
              help="Draw from this virtual time (e.g. 90s, 5m).")
@click.option("--to", "end", metavar="DURATION",
              help="Draw up to this virtual time (default: the last event).")
def timeline(trace_file: str, output: str | None, title: str | None, start: str,
             end: str | None) -> None:
    """Draw a JSONL trace as an SVG timeline: one lane per device."""
    from ._timeline import render_timeline
    from .scenario import parse_duration, write_atomic

    def seconds(option: str, text: str) -> float:
        try:
            return parse_duration(text)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint=option) from None

    source = Path(trace_file)
    trace = _read_trace(source)
    try:
        svg = render_timeline(trace, title if title is not None else source.stem,
                              start=seconds("--from", start),
                              end=None if end is None else seconds("--to", end))
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    if output == "-":
        click.echo(svg, nl=False)
        return
    target = Path(output) if output is not None else source.with_suffix(".svg")
    try:
        write_atomic(target, svg)
    except OSError as err:
        raise click.UsageError(f"can't write {target}: {err.strerror}") from None
    click.echo(f"wrote {target}", err=True)



# --- rules, trace conformance, exploration -------------------------------------------------


def _read_trace(source: Path) -> Trace:
    """A JSONL trace file, or a usage error (exit 2) naming the file and line."""
    from .trace import Trace, TraceFormatError

    try:
        return Trace.from_jsonl(source.read_text(encoding="utf-8"), source=str(source))
    except TraceFormatError as err:
        raise click.UsageError(str(err)) from None
    except UnicodeDecodeError as err:
        raise click.UsageError(f"{source}: not UTF-8 text ({err.reason} at byte "
                               f"{err.start}); a trace is JSONL text") from None


@main.command("rules")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-v", "--verbose", is_flag=True, help="Also print each rule's statement and quote.")
def rules_command(paths: tuple[str, ...], verbose: bool) -> None:
    """List the rule catalogue with how many scenarios cover each rule.

    Scenarios are read from PATHS (default: ./scenarios, without broken/).
    Exit status: 0 every rule is covered, 1 a rule is covered by no scenario,
    2 invalid scenario files.
    """
    import sys

    from .rules import CATALOGUE, rule_coverage, uncovered
    from .scenario import load_many

    scenarios, errors = load_many(_scenario_files(paths))
    if errors:
        _report_invalid(errors)
        sys.exit(2)
    try:
        coverage = rule_coverage((s.path, s.covers) for s in scenarios)
    except KeyError as err:
        raise click.UsageError(str(err.args[0])) from None
    width = max(len(rule_id) for rule_id in CATALOGUE)
    for rule_id, covering in coverage.items():
        r = CATALOGUE[rule_id]
        mark = f"{len(covering):3}" if covering else "  -"
        click.echo(f"{mark}  {rule_id:<{width}}  {r.kind:<12}  {r.where}")
        if verbose:
            click.echo(f"       {r.statement}\n       \"{r.quote}\"")
    missing = uncovered(coverage)
    click.echo(f"{len(coverage)} rules, {len(coverage) - len(missing)} covered by "
               f"{len(scenarios)} scenario file{'s' if len(scenarios) != 1 else ''}")
    if missing:
        click.echo(f"{len(missing)} rule{'s' if len(missing) != 1 else ''} covered by no "
                   f"scenario: {', '.join(missing)}")
        sys.exit(1)


@main.command()
@click.argument("trace_file", metavar="TRACE.jsonl",
                type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--rule", "rule_ids", multiple=True, metavar="ID",
              help="Check only this rule (repeatable; default: every rule).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="The SSM per-account session limit (enables ssm.setup.limit-refuses).")
@click.option("--session-timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="The SSM server's session timeout (enables ssm.session.expires).")
@click.option("--reaction-window", type=click.FloatRange(min=0), default=5.0, show_default=True,
              metavar="SECONDS", help="How long an app or SDK has to answer a trigger.")
@click.option("--heartbeat-slack", type=click.FloatRange(min=0), default=1.0, show_default=True,
              metavar="SECONDS", help="How late a heartbeat may come after its period.")
@click.option("--no-heartbeats", is_flag=True,
              help="The trace does not record heartbeats (skip the heartbeat-period rules).")
def check(trace_file: str, rule_ids: tuple[str, ...], limit: int | None,
          session_timeout: float | None, reaction_window: float, heartbeat_slack: float,
          no_heartbeats: bool) -> None:
    """Check a JSONL trace (e.g. converted from a device log) against the rules.

    Exit status: 0 no violation, 1 violations (each printed with its rule, quote,
    device, time and trace excerpt), 2 a malformed trace (file:line) or bad option.
    """
    import sys

    from .rules import CheckConfig, check_trace

    source = Path(trace_file)
    trace = _read_trace(source)
    config = CheckConfig(reaction_window=reaction_window, heartbeat_slack=heartbeat_slack,
                         max_sessions_per_account=limit, session_timeout=session_timeout,
                         heartbeats_traced=not no_heartbeats)
    try:
        violations = check_trace(trace, config, rules=rule_ids or None)
    except KeyError as err:
        raise click.UsageError(str(err.args[0])) from None
    for violation in violations:
        click.echo(violation.describe() + "\n")
    count = len(violations)
    click.echo(f"{source}: {len(trace)} records, {count} violation{'s' if count != 1 else ''}")
    sys.exit(1 if violations else 0)


@main.command()
@click.option("--exhaustive", is_flag=True,
              help="Breadth-first exploration of the lifecycle core and the small world.")
@click.option("--depth", type=click.IntRange(min=1, max=30), default=None,
              help="With --exhaustive: the longest input sequence explored in each core "
                   "(the small world goes two steps deeper).  [default: 6]")
@click.option("--examples", type=click.IntRange(min=1), default=None, metavar="N",
              help="Random search: scenarios each search round generates (shrinking comes "
                   "on top).  [default: 300]")
@click.option("--seed", type=int, default=None, metavar="S",
              help="Random search: the search's seed; the same seed finds the same "
                   "counterexamples.  [default: 0]")
@click.option("--out", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Random search: where counterexample scenario files are written.  "
                   "[default: counterexamples]")
@click.option("--rule", "rule_ids", multiple=True, metavar="ID",
              help="Random search: look only for these rules broken (repeatable; the search "
                   "stops once all are found; default: every rule).")
@click.option("--seeds", metavar="A:B", default=None,
              help="Random search: one search per seed A, A+1, ... B-1, in parallel; each rule's "
                   "counterexample is that of the lowest seed that found it.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="W", help="With --seeds: local worker processes.")
@click.option("--executor", "address", metavar="dask://HOST:PORT",
              help="With --seeds: run the searches on this Dask scheduler.")
def explore(exhaustive: bool, depth: int | None, examples: int | None, seed: int | None,
            out: str | None, rule_ids: tuple[str, ...], seeds: str | None, workers: int,
            address: str | None) -> None:
    """Search for input sequences that break a rule.

    By default, a random search with Hypothesis: whole scenarios (devices on
    shared accounts, user actions, faults, outages, waits) run with every rule
    monitored; each rule broken is shrunk to a minimal scenario and written as
    DIR/RULE-ID.yaml, which `player-sim run` replays and which fails with that rule.

    With --exhaustive: every sequence of actions and abstract answers up to
    --depth through the pure player core (under several SDK configurations),
    then the small abstract world (two devices, one account, limit one) to
    --depth + 2.
    Reports reachable states, table rows never taken, and each invariant
    violation with the shortest path to it.

    Exit status: 0 no violation, 1 violations found (counterexamples written),
    2 bad arguments.
    """
    import sys

    if not exhaustive:
        if depth is not None:
            raise click.UsageError("--depth is for --exhaustive; a random search takes "
                                   "--examples, --seed and --out")
        if seeds is not None and seed is not None:
            raise click.UsageError("--seed and --seeds exclude each other: --seeds A:B runs "
                                   "one search per seed")
        if seeds is None and (workers != 1 or address is not None):
            raise click.UsageError("--workers and --executor spread --seeds A:B over "
                                   "processes: add --seeds")
        _explore_random(examples, seed, out, rule_ids, seeds, workers, address)
        return
    if seeds is not None or workers != 1 or address is not None:
        raise click.UsageError("--seeds, --workers and --executor are for the random search, "
                               "not --exhaustive")
    given = [name for name, value in (("--examples", examples), ("--seed", seed),
                                      ("--out", out), ("--rule", rule_ids or None))
             if value is not None]
    if given:
        raise click.UsageError(f"{given[0]} is for the random search; --exhaustive takes "
                               "--depth")
    from .explore import explore_exhaustive, format_exhaustive

    depth = 6 if depth is None else depth
    report = explore_exhaustive(depth)
    click.echo(format_exhaustive(report), nl=False)
    sys.exit(1 if report.violations else 0)


def _seed_range(text: str) -> range:
    first, sep, last = text.partition(":")
    try:
        seeds = range(int(first), int(last))
    except ValueError:
        seeds = range(0)
    if not sep or not seeds:
        raise click.BadParameter(f"write A:B with A < B (seeds A to B-1), e.g. 0:64; "
                                 f"not {text!r}", param_hint="--seeds")
    return seeds


def _explore_one(task: tuple[int, int, tuple[str, ...]]) -> Any:
    """One seed's random search (a task of ``explore --seeds``; runs in a worker)."""
    from .explore import explore_random

    seed, examples, rule_ids = task
    return explore_random(examples=examples, seed=seed, rules=rule_ids or None)


def _explore_seeds(seeds: range, examples: int, rule_ids: tuple[str, ...], workers: int,
                   address: str | None) -> Any:
    """Searches for every seed, merged: the same whatever the number of workers."""
    from ._errors import ConfigError
    from .explore import SearchReport
    from .fleet import open_executor, run_tasks
    from .rules import CATALOGUE

    tasks = [(seed, examples, rule_ids) for seed in seeds]
    try:
        reports = run_tasks(lambda: open_executor(workers, address), _explore_one, tasks)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    found: dict[str, Any] = {}
    for report in reports:  # in seed order: the lowest seed's counterexample wins
        for counterexample in report.counterexamples:
            found.setdefault(counterexample.rule, counterexample)
    order = list(CATALOGUE)
    return SearchReport(examples, seeds.start, sum(r.scenarios_run for r in reports),
                        sum(r.events for r in reports),
                        tuple(sorted(found.values(), key=lambda c: order.index(c.rule))))


def _explore_random(examples: int | None, seed: int | None, out: str | None,
                    rule_ids: tuple[str, ...], seeds: str | None = None, workers: int = 1,
                    address: str | None = None) -> None:
    import sys

    from .explore import DEFAULT_EXAMPLES, explore_random, format_search, write_counterexamples
    from .rules import rule

    out = "counterexamples" if out is None else out  # click refuses a file as --out
    for rule_id in rule_ids:
        try:
            rule(rule_id)
        except KeyError as err:
            raise click.UsageError(str(err.args[0])) from None
    budget = DEFAULT_EXAMPLES if examples is None else examples
    if seeds is not None:
        seed_range = _seed_range(seeds)
        report = _explore_seeds(seed_range, budget, rule_ids, workers, address)
        click.echo(f"seeds {seed_range.start}:{seed_range.stop}, {len(seed_range)} searches")
    else:
        report = explore_random(examples=budget, seed=0 if seed is None else seed,
                                rules=rule_ids or None)
    try:
        paths = write_counterexamples(report, out)
    except OSError as err:
        raise click.UsageError(f"can't write counterexamples to {out}: {err}") from None
    click.echo(format_search(report, dict(zip(report.rules, paths, strict=True))), nl=False)
    sys.exit(1 if report.counterexamples else 0)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--examples", type=click.IntRange(min=0), default=None, metavar="N",
              help="Random-search budget per mutant (scenarios per round; 0: scenarios "
                   "only).  [default: 100]")
@click.option("--seed", type=int, default=0, show_default=True, metavar="S",
              help="The random search's seed.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="W", help="Local worker processes (one mutant per task).")
@click.option("--executor", "address", metavar="dask://HOST:PORT",
              help="Run the mutants on this Dask scheduler.")
def mutants(paths: tuple[str, ...], examples: int | None, seed: int, workers: int,
            address: str | None) -> None:
    """Run the scenarios and a random search against each bundled mutant.

    A mutant is a deliberately wrong app policy or SDK model (see the README,
    "Mutants"). It is caught when a scenario of PATHS (default: ./scenarios)
    that passes without it fails with it, or when the search finds a rule it
    breaks (checked to hold without it). Prints what caught each mutant.
    Exit status: 0 every mutant caught, 1 a mutant survived, 2 invalid input.
    """
    import sys

    from .explore import MUTANT_EXAMPLES, format_mutants, run_mutants
    from .scenario import ScenarioError

    files = _scenario_files(paths)
    budget = MUTANT_EXAMPLES if examples is None else examples
    try:
        if workers == 1 and address is None:
            results = run_mutants(scenario_paths=files, seed=seed, examples=budget)
        else:
            results = _mutants_in_parallel(files, seed, budget, workers, address)
    except ScenarioError as err:
        _report_invalid([err])
        sys.exit(2)
    click.echo(format_mutants(results), nl=False)
    sys.exit(0 if all(r.caught for r in results) else 1)


def _mutant_one(task: tuple[str, tuple[str, ...], int, int]) -> Any:
    """One mutant against the scenarios and the search (a task of ``mutants --workers``)."""
    from .explore import MUTANTS, run_mutants

    name, files, seed, examples = task
    mutant = next(m for m in MUTANTS if m.name == name)
    return run_mutants((mutant,), scenario_paths=files, seed=seed, examples=examples)[0]


def _mutants_in_parallel(files: list[str], seed: int, examples: int, workers: int,
                         address: str | None) -> list[Any]:
    """Every mutant as its own task, results in the catalogue's order."""
    from ._errors import ConfigError
    from .explore import MUTANTS
    from .fleet import open_executor, run_tasks
    from .scenario import load_many

    _, errors = load_many(files)  # refuse invalid files before starting any worker
    if errors:
        raise errors[0]
    tasks = [(m.name, tuple(files), seed, examples) for m in MUTANTS]
    try:
        return run_tasks(lambda: open_executor(workers, address), _mutant_one, tasks)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None


# --- fleets ------------------------------------------------------------------------------


@main.command()
@click.argument("fleet_file", metavar="FLEET.yaml", type=click.Path(dir_okay=False))
@click.option("--accounts", type=click.IntRange(min=1), metavar="N",
              help="How many accounts (default: the file's accounts.count).")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), metavar="H",
              help="Virtual hours to simulate (default: the file's duration).")
@click.option("--seed", type=int, metavar="S", help="The fleet's seed (default: the file's).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="W", help="Local worker processes.")
@click.option("--executor", "address", metavar="dask://HOST:PORT",
              help="Run the shards on this Dask scheduler instead (pip install "
                   "'player_sim[dask]').")
@click.option("--shards", type=click.IntRange(min=1), metavar="N",
              help="Split each fleet into N shards of whole households (default: 1 in "
                   "process, 4 per worker); the results do not depend on it.")
@click.option("--sweep", "sweeps", multiple=True, metavar="PARAM=V1,V2,...",
              help="Run one fleet per value (repeatable: every combination), e.g. "
                   "ssm.session_timeout=60s,70s,90s.")
@click.option("--out", type=click.Path(file_okay=False), default="fleet-results",
              show_default=True, metavar="DIR",
              help="Where summary.json, per_minute.csv and the charts are written.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="With --sweep: a self-contained HTML page comparing the runs.")
@click.option("--charts/--no-charts", default=True, show_default=True,
              help="Draw fleet.png and fleet.svg (needs player_sim[plot]).")
@click.option("--trace-accounts", type=click.IntRange(min=0), default=0, metavar="N",
              help="Keep the full trace of the first N accounts (DIR/trace.jsonl).")
def fleet(fleet_file: str, accounts: int | None, hours: float | None, seed: int | None,
          workers: int, address: str | None, shards: int | None, sweeps: tuple[str, ...],
          out: str, html_path: str | None, charts: bool, trace_accounts: int) -> None:
    """Simulate a fleet of accounts and devices against the backends; write its
    counters, series and charts.

    Exit status: 0 done, 2 invalid fleet file, option or executor.
    """
    import itertools
    import os
    import sys

    from ._errors import ConfigError
    from .fleet import FleetFileError, load_fleet, parse_override, run_many

    overrides: dict[str, object] = {}
    if accounts is not None:
        overrides["accounts.count"] = accounts
    if hours is not None:
        overrides["duration"] = f"{hours:g}h"
    if seed is not None:
        overrides["seed"] = seed
    try:
        swept = [parse_override(text) for text in sweeps]
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="--sweep") from None
    if html_path and not swept:
        raise click.UsageError("--html compares the runs of a sweep: add --sweep PARAM=V1,V2")
    combos = list(itertools.product(*(values for _, values in swept))) if swept else [()]
    labels, specs = [], []
    try:
        for combo in combos:
            names = {name: value for (name, _), value in zip(swept, combo, strict=True)}
            specs.append(load_fleet(fleet_file, {**overrides, **names}))
            labels.append(",".join(f"{n}={v}" for n, v in names.items()))
    except FleetFileError as err:
        for problem in err.problems:
            click.echo(str(problem), err=True)
        click.echo("invalid fleet: nothing was run", err=True)
        sys.exit(2)
    shards_total = len(specs) * (shards or (1 if workers == 1 and address is None
                                            else 4 * workers))
    try:
        with click.progressbar(length=shards_total, label="shards", file=sys.stderr,
                               show_pos=True) as bar:
            def progress(done: int, total: int) -> None:
                bar.update(1)

            results = run_many(specs, workers=workers, address=address,
                               shards_per_fleet=shards, keep_accounts=trace_accounts,
                               progress=progress)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    try:
        for label, result in zip(labels, results, strict=True):
            where = os.path.join(out, _slug(label)) if label else out
            _write_fleet(result, where, charts, trace_accounts > 0)
            click.echo(_fleet_line(label or result.spec.name, result))
        if swept:
            _write_sweep(out, html_path, [n for n, _ in swept], labels, results, charts)
    except OSError as err:
        raise click.UsageError(f"can't write the results: {err}") from None
    click.echo(f"wrote {out}", err=True)


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in "._=-" else "_" for c in label)


def _fleet_line(label: str, result: Any) -> str:
    s = result.summary()
    reasons = ", ".join(f"{k} {100 * v:.2f}%" for k, v in s["refused_fraction_by_reason"].items()
                        if v)
    return (f"{label}: {s['plays']} plays, {100 * s['refused_fraction']:.2f}% refused"
            f"{' (' + reasons + ')' if reasons else ''}; peak "
            f"{s['gauges']['active_sessions']['peak']} sessions, "
            f"{s['rates']['setups']['peak_per_second']} setups/s, "
            f"p99 {s['rates']['heartbeats']['p99_per_second']:g} heartbeats/s; "
            f"{s['expired_background']} background expiries; {result.events} events")


def _write_fleet(result: Any, where: str, charts: bool, trace: bool) -> None:
    import os

    from ._errors import ConfigError
    from .scenario import write_atomic

    os.makedirs(where, exist_ok=True)
    write_atomic(os.path.join(where, "summary.json"), result.to_json())
    write_atomic(os.path.join(where, "per_minute.csv"), result.to_csv())
    if trace:
        write_atomic(os.path.join(where, "trace.jsonl"), result.trace_jsonl())
    if charts:
        try:
            from .fleet._plot import fleet_figure, save_figure

            for suffix in ("png", "svg"):
                save_figure(fleet_figure(result), os.path.join(where, f"fleet.{suffix}"))
        except ConfigError as err:
            click.echo(f"no charts: {err}", err=True)


def _write_sweep(out: str, html_path: str | None, names: list[str], labels: list[str],
                 results: list[Any], charts: bool) -> None:
    import csv
    import io
    import os

    from ._errors import ConfigError
    from .fleet._plot import sweep_rows
    from .scenario import write_atomic

    label = "+".join(names)
    pairs = [(lab.replace(n + "=", "") if len(names) == 1 else lab, r)
             for lab, r, n in zip(labels, results, [names[0]] * len(labels), strict=True)]
    rows = sweep_rows(label, pairs)
    if charts:
        try:
            from .fleet._plot import save_figure, sweep_figure

            for suffix in ("png", "svg"):
                save_figure(sweep_figure(label, pairs), os.path.join(out, f"sweep.{suffix}"))
        except ConfigError as err:
            click.echo(f"no charts: {err}", err=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(os.path.join(out, "sweep.csv"), buffer.getvalue())
    click.echo(buffer.getvalue(), nl=False)
    if html_path:
        from .fleet._plot import sweep_html

        try:
            write_atomic(html_path, sweep_html(label, pairs))
        except ConfigError as err:
            raise click.UsageError(str(err)) from None
