"""The ``player-sim`` command line: parses arguments, calls the library, sets exit codes.

Exit codes: 0 success, 1 a check failed (a scenario, a rule, a mutant), 2 bad input.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from ._limits import MAX_EXPLORE_DEPTH
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
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="W", help="Local worker processes (results are printed in file order).")
@click.option("--executor", "address", metavar="dask://HOST:PORT",
              help="Run the scenarios on this Dask scheduler.")
@click.option("--max-events", type=click.IntRange(min=1), default=None, metavar="N",
              help="The run budget: world events each scenario may process before it ends "
                   "with an error (default: the file's max_events:, else 1,000,000).")
def run(paths: tuple[str, ...], seed: int | None, junit_path: str | None,
        json_path: str | None, trace_dir: str | None, timeline_dir: str | None,
        keyword: str | None, quiet: bool, no_rules: bool, workers: int,
        address: str | None, max_events: int | None) -> None:
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
    _check_outputs(files={"--json": json_path, "--junit-xml": junit_path},
                   folders={"--trace-dir": trace_dir, "--timeline": timeline_dir})
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

        tasks = [(s.path, seed, not no_rules, max_events) for s in scenarios]
        try:
            ran = run_tasks(lambda: open_executor(workers, address), _run_one, tasks)
        except ConfigError as err:
            raise click.UsageError(str(err)) from None
    else:
        ran = (run_scenario(s, seed=seed, check_rules=not no_rules, max_events=max_events)
               for s in scenarios)
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
    target = ""
    try:
        if json_path:
            target = json_path
            write_atomic(json_path, json_report(results))
        if junit_path:
            target = junit_path
            write_atomic(junit_path, junit_xml(results))
        if trace_dir:
            target = trace_dir
            _write_folder(trace_dir, {name: result.trace.to_jsonl() for result, name in
                                      zip(results, trace_file_names(results), strict=True)})
        if timeline_dir:
            from ._timeline import render_timeline

            target = timeline_dir
            for result, name in zip(results, trace_file_names(results), strict=True):
                svg = render_timeline(result.trace, result.scenario.name, end=result.duration)
                write_atomic(os.path.join(timeline_dir, name[:-len(".jsonl")] + ".svg"), svg)
    except OSError as err:  # named by the target, never by a temporary file
        raise click.UsageError(f"can't write {target}: "
                               f"{err.strerror or 'an error writing it'}") from None
    sys.exit(0 if all(r.passed for r in results) else 1)


def _check_outputs(files: dict[str, str | None], folders: dict[str, str | None]) -> None:
    """Refuse, before anything runs, report paths that could not be written."""
    import os

    for option, path in [*files.items(), *folders.items()]:
        if path is None:
            continue
        if not path.strip():
            raise click.UsageError(f"{option} needs a path, not an empty one")
        is_file = option in files
        if is_file and os.path.isdir(path):
            raise click.UsageError(f"{option} {path}: is a folder; give a file name")
        if not is_file and os.path.exists(path) and not os.path.isdir(path):
            raise click.UsageError(f"{option} {path}: is a file; give a folder")
        existing = os.path.abspath(path if not is_file else os.path.dirname(
            os.path.abspath(path)))
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise click.UsageError(f"{option} {path}: can't write there ({existing} is "
                                   "not a folder)")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise click.UsageError(f"{option} {path}: can't write there ({existing} is "
                                   "not writable)")


def _write_folder(folder: str, files: dict[str, str]) -> None:
    """Replace ``folder`` by one holding exactly ``files``, all at once: written in a
    sibling folder first, so a killed run never leaves a folder mixing two runs (a
    leftover sibling of a killed run is removed by the next)."""
    import contextlib
    import glob
    import os
    import shutil
    import tempfile

    from .scenario import write_atomic

    folder = os.path.abspath(folder)
    parent, name = os.path.split(folder)
    os.makedirs(parent, exist_ok=True)
    for stale in glob.glob(os.path.join(parent, f".{glob.escape(name)}.tmp-*")):
        shutil.rmtree(stale, ignore_errors=True)
    fresh = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        for file_name, text in files.items():
            write_atomic(os.path.join(fresh, file_name), text)
        os.chmod(fresh, 0o777 & ~_umask())
        old = None
        if os.path.isdir(folder):
            old = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
            os.replace(folder, os.path.join(old, name))
        os.replace(fresh, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(fresh)
        raise


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def _run_one(task: tuple[str, int | None, bool, int | None]) -> Any:
    """One scenario file, run (a task of ``run --workers``; runs in a worker)."""
    from .scenario import load_many, run_scenario

    path, seed, check_rules, max_events = task
    scenarios, _ = load_many([path])
    return run_scenario(scenarios[0], seed=seed, check_rules=check_rules,
                        max_events=max_events)


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
@click.option("--depth", type=click.IntRange(min=1, max=MAX_EXPLORE_DEPTH), default=None,
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
@click.option("--profile", type=click.Choice(PROFILES), default=None,
              help="Random search: give every generated device this platform profile "
                   "(written into the counterexamples).  [default: documented]")
def explore(exhaustive: bool, depth: int | None, examples: int | None, seed: int | None,
            out: str | None, rule_ids: tuple[str, ...], seeds: str | None, workers: int,
            address: str | None, profile: str | None) -> None:
    """Search for input sequences that break a rule.

    By default, a random search with Hypothesis: whole scenarios (devices on
    shared accounts, user actions, faults, outages, waits) run with every rule
    monitored; each rule broken is shrunk to a minimal scenario and written as
    DIR/RULE-ID.yaml, which `player-sim run` replays and which fails with that rule.

    With --exhaustive: every sequence of actions and abstract answers up to
    --depth through the pure player core (under several SDK configurations),
    then the small world (two devices, one account, limit one, the real
    SSM server, every order of messages) to --depth + 2.
    Reports reachable states, table rows never taken, and each rule
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
        _explore_random(examples, seed, out, rule_ids, seeds, workers, address, profile)
        return
    if seeds is not None or workers != 1 or address is not None:
        raise click.UsageError("--seeds, --workers and --executor are for the random search, "
                               "not --exhaustive")
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


def _explore_one(task: tuple[int, int, tuple[str, ...], str | None]) -> Any:
    """One seed's random search (a task of ``explore --seeds``; runs in a worker)."""
    import attrs

    from .explore import explore_random
    from .explore._strategies import EXPLORE_SPACE

    seed, examples, rule_ids, profile = task
    space = attrs.evolve(EXPLORE_SPACE, profile=cast("Profile | None", profile))
    return explore_random(examples=examples, seed=seed, rules=rule_ids or None, space=space)


def _explore_seeds(seeds: range, examples: int, rule_ids: tuple[str, ...], workers: int,
                   address: str | None, profile: str | None = None) -> Any:
    """Searches for every seed, merged: the same whatever the number of workers."""
    from ._errors import ConfigError
    from .explore import SearchReport
    from .fleet import open_executor, run_tasks
    from .rules import CATALOGUE

    tasks = [(seed, examples, rule_ids, profile) for seed in seeds]
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
                    address: str | None = None, profile: str | None = None) -> None:
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
    budget = DEFAULT_EXAMPLES if examples is None else examples
    space = attrs.evolve(EXPLORE_SPACE, profile=cast("Profile | None", profile))
    if seeds is not None:
        seed_range = _seed_range(seeds)
        report = _explore_seeds(seed_range, budget, rule_ids, workers, address, profile)
        click.echo(f"seeds {seed_range.start}:{seed_range.stop}, {len(seed_range)} searches")
    else:
        report = explore_random(examples=budget, seed=0 if seed is None else seed,
                                rules=rule_ids or None, space=space)
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


# --- serving real devices ------------------------------------------------------------------

_SERVE_MISSING = ("serving needs the serve extra: pip install 'player_sim[serve]' "
                  "(Starlette, Hypercorn, httpx)")


def _serve_module() -> Any:
    """``player_sim.serve``, or a usage error naming the extra to install."""
    try:
        from . import serve
    except ImportError as err:
        raise click.UsageError(f"{_SERVE_MISSING} ({err})") from None
    return serve


@main.command("serve")
@click.argument("lab_file", metavar="LAB.yaml", type=click.Path(exists=True, dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback needs --control-token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to bind (0: a free one).")
@click.option("--control-token", envvar="PLAYER_SIM_CONTROL_TOKEN", metavar="TOKEN",
              help="Require 'Authorization: Bearer TOKEN' on the control API and TOKEN as the "
                   "operator token of kill calls (env PLAYER_SIM_CONTROL_TOKEN).")
@click.option("--secret", envvar="PLAYER_SIM_TOKEN_SECRET", metavar="SECRET",
              help="Accept only content tokens signed (HS256) with SECRET.")
@click.option("--out", "prefix", metavar="PREFIX", type=click.Path(dir_okay=False),
              help="Write PREFIX.trace.jsonl, PREFIX.har and PREFIX.verdict.json on exit "
                   "(default: the lab file's name, in the current directory).")
@click.option("--max-body", type=click.IntRange(min=1024), default=64 * 1024, show_default=True,
              metavar="BYTES", help="Refuse request bodies larger than this (413).")
def serve_command(lab_file: str, host: str, port: int, control_token: str | None,
                  secret: str | None, prefix: str | None, max_body: int) -> None:
    """Serve the SSM, license, Phoenix and OVP backends of LAB.yaml to real devices.

    LAB.yaml is a scenario's world: block and accounts: (a whole scenario file
    works too). Ctrl-C or SIGTERM stops it and writes the trace, the HAR and the
    verdict. Exit status: 0 no rule broken, 1 a rule broken, 2 bad input.
    """
    import signal
    import sys

    import trio

    from ._errors import ConfigError
    from .scenario import ScenarioError, load_lab

    serve = _serve_module()
    try:
        lab_world = load_lab(lab_file)
    except ScenarioError as err:
        for problem in err.problems:
            click.echo(str(problem), err=True)
        sys.exit(2)
    try:
        serve.check_bind(host, control_token)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    lab = serve.Lab(lab_world, secret=secret, control_token=control_token)
    out = Path(prefix) if prefix else Path(Path(lab_file).stem)

    async def main() -> None:
        stop = trio.Event()

        async def on_signal() -> None:
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    stop.set()
                    return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(on_signal)
            url = await nursery.start(lambda task_status: serve.serve_lab(
                lab, host=host, port=port, max_body=max_body, stop=stop, prefix=out,
                freeze_gc=True, task_status=task_status))
            click.echo(f"serving {lab_file} at {url}\n"
                       f"  SSM      {url}/TENANT/ssm\n"
                       f"  license  {url}/TENANT/wvls/contentlicenseservice/v1/licenses\n"
                       f"  Phoenix  {url}/ott/api_v3/\n"
                       f"  OVP      {url}/ovp/\n"
                       f"  control  {url}/_player_sim/   (Ctrl-C writes {out}.*)")
            await stop.wait()
            nursery.cancel_scope.deadline = trio.current_time() + 10.0

    try:
        trio.run(main)
    except BaseExceptionGroup as group:
        refused: BaseException | None = group.subgroup(OSError)
        if refused is None:
            raise
        while isinstance(refused, BaseExceptionGroup):
            refused = refused.exceptions[0]
        raise click.UsageError(f"can't serve on {host}:{port}: {refused}") from None
    except OSError as err:
        raise click.UsageError(f"can't serve on {host}:{port}: {err}") from None
    verdict = lab.verdict()
    click.echo(f"wrote {out}.trace.jsonl, {out}.har, {out}.verdict.json: "
               f"{len(verdict['judged'])} rules judged, {len(verdict['violations'])} "
               f"violations, {len(verdict['not_judged'])} not judged (no device vantage)")
    for violation in verdict["violations"]:
        click.echo(f"  {violation['rule']}: {violation['message']}")
    sys.exit(0 if not verdict["violations"] else 1)


@main.command("token")
@click.option("--account", required=True, help="The account (device.accountId).")
@click.option("--device", required=True, help="The device (device.deviceId).")
@click.option("--max-sessions", type=click.IntRange(min=1), default=None,
              help="The account's session limit (contentRights[0].sessionControl.maxSessions).")
@click.option("--content", default=None, help="The content id (contentRights[0].contentId).")
@click.option("--secret", envvar="PLAYER_SIM_TOKEN_SECRET", default=None,
              help="Sign with HS256 and this secret (default: unsigned).")
def token_command(account: str, device: str, max_sessions: int | None, content: str | None,
                  secret: str | None) -> None:
    """Print a content token (JWT) for a device, to put in nv-authorizations."""
    from .traffic import mint_content_token

    click.echo(mint_content_token(account, device, max_sessions=max_sessions, content=content,
                                  secret=secret))


@main.group("ctl")
@click.option("--url", envvar="PLAYER_SIM_URL", default="http://127.0.0.1:8080",
              show_default=True, help="The served lab (env PLAYER_SIM_URL).")
@click.option("--control-token", envvar="PLAYER_SIM_CONTROL_TOKEN", metavar="TOKEN",
              help="The lab's control token (env PLAYER_SIM_CONTROL_TOKEN).")
@click.pass_context
def ctl(ctx: click.Context, url: str, control_token: str | None) -> None:
    """Drive a served lab: faults, kills, clock jumps, queries, verdict."""
    serve = _serve_module()
    ctx.obj = serve.LabClient(url, control_token=control_token)
    ctx.call_on_close(ctx.obj.close)


def _ctl_call(ctx: click.Context, call: Any) -> Any:
    import json

    import httpx

    from ._errors import PlayerSimError

    try:
        result = call(ctx.obj)
    except httpx.HTTPError as err:
        raise click.ClickException(f"can't reach the lab at {ctx.obj.base_url}: {err}"
                                   ) from None
    except (PlayerSimError, TimeoutError) as err:
        raise click.ClickException(str(err)) from None
    if result is not None:
        click.echo(json.dumps(result, indent=1, default=str))
    return result


def _code(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.lstrip("-").isdigit() else value


@ctl.command("fail-next")
@click.argument("endpoint")
@click.option("--device", default=None, help="Only this device's calls.")
@click.option("--code", default=None, help="The error code (SSM/OTT: a number; OVP: text).")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--http-status", type=click.IntRange(200, 599), default=None)
@click.option("--message", default="")
@click.option("--malformed", is_flag=True,
              help="Handle the calls, but cut their answers short (no code, no status).")
@click.pass_context
def ctl_fail_next(ctx: click.Context, endpoint: str, device: str | None, code: str | None,
                  count: int, http_status: int | None, message: str, malformed: bool) -> None:
    """Fail the next calls of ENDPOINT (setup, heartbeat, renewal, teardown, license,
    ott:SERVICE/ACTION, ovp:SERVICE/ACTION)."""
    _ctl_call(ctx, lambda c: c.fail_next(endpoint, code=_code(code), device=device, count=count,
                                         http_status=http_status, message=message,
                                         malformed=malformed))


@ctl.command("latency")
@click.argument("link", type=click.Choice(["ssm", "license", "ott", "ovp"]))
@click.argument("extra")
@click.argument("duration")
@click.pass_context
def ctl_latency(ctx: click.Context, link: str, extra: str, duration: str) -> None:
    """Hold answers on LINK back EXTRA (e.g. 2s) for DURATION (e.g. 5m)."""
    _ctl_call(ctx, lambda c: c.latency(link, extra, duration))


@ctl.command("outage")
@click.argument("link", type=click.Choice(["ssm", "license", "ott", "ovp"]))
@click.argument("duration")
@click.pass_context
def ctl_outage(ctx: click.Context, link: str, duration: str) -> None:
    """Make LINK unreachable for DURATION (e.g. 30s, 5m)."""
    _ctl_call(ctx, lambda c: c.outage(link, duration))


@ctl.command("kill")
@click.option("--device", default=None)
@click.option("--account", default=None)
@click.pass_context
def ctl_kill(ctx: click.Context, device: str | None, account: str | None) -> None:
    """Kill the sessions of a device or an account (their next heartbeat fails)."""
    _ctl_call(ctx, lambda c: {"killed": c.kill(device=device, account=account)})


@ctl.command("advance")
@click.argument("duration")
@click.pass_context
def ctl_advance(ctx: click.Context, duration: str) -> None:
    """Jump the lab's clock forward by DURATION (e.g. 2h): sessions and KSs expire."""
    _ctl_call(ctx, lambda c: {"now": c.advance(duration)})


@ctl.command("sessions")
@click.option("--account", default=None)
@click.pass_context
def ctl_sessions(ctx: click.Context, account: str | None) -> None:
    """List the live SSM sessions."""
    _ctl_call(ctx, lambda c: c.sessions(account))


@ctl.command("zombies")
@click.option("--account", default=None)
@click.pass_context
def ctl_zombies(ctx: click.Context, account: str | None) -> None:
    """List the live sessions whose device stopped heartbeating."""
    _ctl_call(ctx, lambda c: c.zombies(account))


@ctl.command("wait")
@click.argument("kind")
@click.option("--device", default=None)
@click.option("--after", default=None, metavar="KIND")
@click.option("--call", default=None, help="On wire records: the call (setup, heartbeat, ...).")
@click.option("--timeout", type=click.FloatRange(min=0), default=10.0, show_default=True)
@click.pass_context
def ctl_wait(ctx: click.Context, kind: str, device: str | None, after: str | None,
             call: str | None, timeout: float) -> None:
    """Wait for a record of KIND in the live trace; print it."""
    _ctl_call(ctx, lambda c: c.wait_for(kind, device=device, after=after, call=call,
                                        timeout=timeout).record.to_json())


@ctl.command("verdict")
@click.option("--rule", "rules", multiple=True, metavar="ID")
@click.pass_context
def ctl_verdict(ctx: click.Context, rules: tuple[str, ...]) -> None:
    """Print the verdict so far; exit 1 if it did not pass."""
    import attrs

    result = _ctl_call(ctx, lambda c: attrs.asdict(c.verdict(list(rules) or None)))
    if not result["passed"]:
        ctx.exit(1)


@ctl.command("reset")
@click.pass_context
def ctl_reset(ctx: click.Context) -> None:
    """Drop every session, KS, fault, outage and record."""
    _ctl_call(ctx, lambda c: c.reset())
