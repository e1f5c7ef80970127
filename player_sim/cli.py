"""The ``player-sim`` command line: parses arguments, calls the library, sets exit codes.

Exit codes: 0 success, 1 a check failed (a scenario, a rule, a mutant), 2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from .player import PROFILES, mermaid_diagram

if TYPE_CHECKING:
    from .player import Profile
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
def run(paths: tuple[str, ...], seed: int | None, junit_path: str | None,
        json_path: str | None, trace_dir: str | None, timeline_dir: str | None,
        keyword: str | None, quiet: bool, no_rules: bool) -> None:
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
    for scenario in scenarios:
        result = run_scenario(scenario, seed=seed, check_rules=not no_rules)
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
    """List the rule catalogue with how many scenario runs really judged each rule.

    Each scenario in PATHS (default: ./scenarios, without broken/) is run; a
    rule counts as covered by a scenario only when its monitor met the situation
    the rule judges in that run, not because ``covers:`` names it. Exit status:
    0 every rule is covered and every ``covers:`` label is true, 1 otherwise,
    2 invalid scenario files.
    """
    import sys

    from .rules import CATALOGUE, false_labels, rule_coverage, uncovered
    from .scenario import load_many, run_scenario

    scenarios, errors = load_many(_scenario_files(paths))
    if errors:
        _report_invalid(errors)
        sys.exit(2)
    runs = [(s.path, run_scenario(s).observed) for s in scenarios]
    try:
        false = [(s.path, rule_id) for s, (_, observed) in zip(scenarios, runs, strict=True)
                 for rule_id in false_labels(s.path, s.covers, observed)]
    except KeyError as err:
        raise click.UsageError(str(err.args[0])) from None
    coverage = rule_coverage(runs)
    width = max(len(rule_id) for rule_id in CATALOGUE)
    for rule_id, covering in coverage.items():
        r = CATALOGUE[rule_id]
        mark = f"{len(covering):3}" if covering else "  -"
        click.echo(f"{mark}  {rule_id:<{width}}  {r.kind:<12}  {r.where}")
        if verbose:
            click.echo(f"       {r.statement}\n       \"{r.quote}\"")
    missing = uncovered(coverage)
    click.echo(f"{len(coverage)} rules, {len(coverage) - len(missing)} judged by the runs of "
               f"{len(scenarios)} scenario file{'s' if len(scenarios) != 1 else ''}")
    if missing:
        click.echo(f"{len(missing)} rule{'s' if len(missing) != 1 else ''} judged by no "
                   f"scenario run: {', '.join(missing)}")
    for path, rule_id in false:
        click.echo(f"{path}: covers {rule_id}, but its run never met the situation that rule "
                   "judges; make the scenario reach it, or drop the label")
    if missing or false:
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

    Only the rules the trace's vantages can show are judged (a device log has no
    server records); the others are listed as not judged, with what they need.
    Exit status: 0 no violation, 1 violations (each printed with its rule, quote,
    device, time and trace excerpt), 2 a malformed trace (file:line) or bad option.
    """
    import sys

    from .rules import CheckConfig, judge_trace

    source = Path(trace_file)
    trace = _read_trace(source)
    config = CheckConfig(reaction_window=reaction_window, heartbeat_slack=heartbeat_slack,
                         max_sessions_per_account=limit, session_timeout=session_timeout,
                         heartbeats_traced=not no_heartbeats)
    try:
        verdict = judge_trace(trace, config, rules=rule_ids or None)
    except KeyError as err:
        raise click.UsageError(str(err.args[0])) from None
    for violation in verdict.violations:
        click.echo(violation.describe() + "\n")
    seen = ", ".join(sorted(v.value for v in trace.vantages))
    for rule_id, missing in verdict.not_judged.items():
        needs = " and ".join(sorted(v.value for v in missing))
        click.echo(f"NOT JUDGED {rule_id}: needs {needs} records; this trace is seen from "
                   f"{seen}")
    count = len(verdict.violations)
    click.echo(f"{source}: {len(trace)} records, {len(verdict.judged)} rules judged, "
               f"{len(verdict.not_judged)} not judged, {count} violation"
               f"{'s' if count != 1 else ''}")
    sys.exit(1 if count else 0)


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
@click.option("--profile", type=click.Choice(PROFILES), default=None,
              help="Random search: give every generated device this platform profile "
                   "(written into the counterexamples).  [default: documented]")
def explore(exhaustive: bool, depth: int | None, examples: int | None, seed: int | None,
            out: str | None, rule_ids: tuple[str, ...], profile: str | None) -> None:
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
        _explore_random(examples, seed, out, rule_ids, profile)
        return
    given = [name for name, value in (("--examples", examples), ("--seed", seed),
                                      ("--out", out), ("--rule", rule_ids or None),
                                      ("--profile", profile))
             if value is not None]
    if given:
        raise click.UsageError(f"{given[0]} is for the random search; --exhaustive takes "
                               "--depth")
    from .explore import explore_exhaustive, format_exhaustive

    depth = 6 if depth is None else depth
    report = explore_exhaustive(depth)
    click.echo(format_exhaustive(report), nl=False)
    sys.exit(1 if report.violations else 0)


def _explore_random(examples: int | None, seed: int | None, out: str | None,
                    rule_ids: tuple[str, ...], profile: str | None) -> None:
    import sys

    import attrs

    from .explore import DEFAULT_EXAMPLES, explore_random, format_search, write_counterexamples
    from .explore._strategies import EXPLORE_SPACE
    from .rules import rule

    out = "counterexamples" if out is None else out  # click refuses a file as --out
    for rule_id in rule_ids:
        try:
            rule(rule_id)
        except KeyError as err:
            raise click.UsageError(str(err.args[0])) from None
    report = explore_random(examples=DEFAULT_EXAMPLES if examples is None else examples,
                            seed=0 if seed is None else seed, rules=rule_ids or None,
                            space=attrs.evolve(EXPLORE_SPACE,
                                               profile=cast("Profile | None", profile)))
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
def mutants(paths: tuple[str, ...], examples: int | None, seed: int) -> None:
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
    try:
        results = run_mutants(scenario_paths=files, seed=seed,
                              examples=MUTANT_EXAMPLES if examples is None else examples)
    except ScenarioError as err:
        _report_invalid([err])
        sys.exit(2)
    click.echo(format_mutants(results), nl=False)
    sys.exit(0 if all(r.caught for r in results) else 1)
