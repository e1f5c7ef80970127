"""The ``player-sim`` command line: parses arguments, calls the library, sets exit codes.

Exit codes: 0 success, 1 a check failed (a scenario, a rule, a mutant), 2 bad input,
5 no scenario selected (as pytest: running nothing is never a green run).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, cast

import click

from ._limits import MAX_EXPLORE_DEPTH
from .player import CONCERNS, PROFILES, mermaid_diagrams

if TYPE_CHECKING:
    from .player import Profile
    from .trace import Trace

__all__ = ["DURATION", "duration", "main"]


def duration(ctx: click.Context, param: click.Parameter, value: Any) -> float | None:
    """The one duration type of the command line (a click ``callback`` for every option
    that takes a span of time): ``300ms``, ``30s``, ``5m``, ``2h``, ``1d``, ``1h30m``
    (as in scenario files) or a bare number of seconds (``70``). Returns seconds (a
    ``float``, ``None`` when the option is absent); negative spans are refused."""
    from ._durations import parse_duration

    if value is None:
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parse_duration(text)
        except ValueError as err:
            raise click.BadParameter(f"{err}; a bare number means seconds") from None
    if not seconds >= 0:
        raise click.BadParameter(f"{text!r} is negative; a duration is 0 or more")
    return seconds


#: The options' metavar for :func:`duration`.
DURATION: Final = "DURATION"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="player_sim")
def main() -> None:
    """Simulate video-player SDKs' secure playback sessions in virtual time."""


@main.command()
@click.argument("name", default="overview",
                type=click.Choice(["overview", "app", *CONCERNS]))
def diagram(name: str) -> None:
    """Print the player lifecycle as a Mermaid state diagram: the overview (default),
    the app machine, or one concern of the playback machine (start, pipeline, stop)."""
    click.echo(mermaid_diagrams()[name], nl=False)


# --- scenarios -------------------------------------------------------------------------

_DEFAULT_SCENARIOS = "scenarios"
#: Exit status when nothing was selected: pytest's ``NO_TESTS_COLLECTED``.
NOTHING_SELECTED = 5


def _no_collection_at_exit() -> None:
    """Have the interpreter skip its last full collection when this process exits
    (registered once per process): a batch ends with its results still alive, tens of
    thousands of objects, and that collection would walk them all to find no garbage
    worth the walk (the memory goes back to the system at exit anyway). ``atexit``
    handlers registered earlier, and ``weakref.finalize`` callbacks, still run."""
    import atexit
    import gc

    if not _EXIT_FREEZE:
        atexit.register(gc.freeze)  # frozen objects are left out of every collection
        _EXIT_FREEZE.append(True)


#: Whether :func:`_no_collection_at_exit` registered its handler in this process.
_EXIT_FREEZE: list[bool] = []


def _nothing(why: str) -> None:
    """Exit 5 with a sentence saying why nothing was selected and what to do."""
    import sys

    click.echo(f"no scenario selected: {why}", err=True)
    sys.exit(NOTHING_SELECTED)


def _scenario_files(paths: tuple[str, ...]) -> list[str]:
    """The scenario files of ``paths`` (default ``./scenarios``); exit 2 for a missing
    path, 5 when they hold no scenario file."""
    from ._errors import ConfigError
    from .scenario import discover

    try:
        files = discover(paths or (_DEFAULT_SCENARIOS,))
    except ConfigError as err:
        hint = ("; player-sim init writes a starter project with example scenarios"
                if not paths else "")
        raise click.UsageError(f"{err}{hint}") from None
    if not files:
        where = ", ".join(paths or (_DEFAULT_SCENARIOS,))
        _nothing(f"{where} holds no NAME.scenario.yaml file (a folder yields only files "
                 "named so, never broken/ unless named; name any other file to run it)")
    return files


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
                   "time, failures marked.")
@click.option("--html", "html_path", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write a self-contained HTML report: verdicts, failures with their "
                   "scenario lines and trace, and each run's timeline.")
@click.option("-k", "keyword", metavar="EXPR",
              help="Run only scenarios whose name, file, tags or covered rule ids match "
                   "(and / or / not), as pytest -k.")
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
        html_path: str | None, keyword: str | None, quiet: bool, no_rules: bool, workers: int,
        address: str | None, max_events: int | None) -> None:
    """Run scenario files (default: ./scenarios, without scenarios/broken/).

    A folder yields its NAME.scenario.yaml files; a file named here always runs.
    Exit status: 0 all passed, 1 a scenario failed, 2 invalid input, 5 nothing
    selected.
    """
    import os
    import sys

    from ._collector import batch_run

    # a batch: the collector keeps off the objects made at import (restored at the end),
    # and collects the young rarely while the scenario modules are imported too
    click.get_current_context().with_resource(batch_run())
    _no_collection_at_exit()
    from ._errors import ConfigError
    from .scenario import (
        format_result,
        json_report,
        junit_xml,
        keyword_matches,
        load_many,
        run_scenario,
        selection_words,
        summary_line,
        summary_table,
        trace_file_names,
        write_atomic,
    )

    color = _color_wanted()
    _check_outputs(files={"--json": json_path, "--junit-xml": junit_path, "--html": html_path},
                   folders={"--trace-dir": trace_dir, "--timeline": timeline_dir})
    scenarios, errors = load_many(_scenario_files(paths))
    if errors:
        _report_invalid(errors)
        sys.exit(2)
    if keyword:
        try:
            scenarios = [s for s in scenarios if keyword_matches(
                keyword, selection_words(s.name, s.path, s.tags, s.covers))]
        except ConfigError as err:
            raise click.UsageError(str(err)) from None
        if not scenarios:
            _nothing(f"-k {keyword!r} matches none of the scenarios' names, files, tags "
                     "or rule ids")
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
            width = _terminal_width()
            report = format_result(result, width=None if width is None else width - 4)
            click.echo(_indent(report) + "\n", color=color)
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
            from .scenario import result_timeline  # drawing only: not every run

            target = timeline_dir
            for result, name in zip(results, trace_file_names(results), strict=True):
                write_atomic(os.path.join(timeline_dir, name[:-len(".jsonl")] + ".svg"),
                             result_timeline(result))
        if html_path:
            from .scenario import html_report  # drawing only: not every run

            target = html_path
            write_atomic(html_path, html_report(results))
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
    """Colour on a terminal; never when NO_COLOR is set to a non-empty value
    (https://no-color.org); always, even piped, when FORCE_COLOR is set to a non-empty
    value (https://force-color.org) and NO_COLOR is not."""
    import os
    import sys

    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("FORCE_COLOR", ""):
        return True
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def _terminal_width() -> int | None:
    """The terminal's width when standard output is one (trace lines are wrapped to it),
    else ``None`` (logs and pipes get whole lines)."""
    import shutil
    import sys

    isatty = getattr(sys.stdout, "isatty", None)
    if not (isatty and isatty()):
        return None
    return max(60, shutil.get_terminal_size().columns)


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
@click.option("--report", "of_report", is_flag=True,
              help="The schema of the JSON report (player-sim run --json) instead.")
def schema(of_trace: bool, of_report: bool) -> None:
    """Print the JSON Schema of scenario files (for editors), of trace records, or of
    the JSON report."""
    if of_trace and of_report:
        raise click.UsageError("--trace and --report exclude each other: one schema at a time")
    if of_report:
        import json

        from .scenario import REPORT_SCHEMA

        click.echo(json.dumps(REPORT_SCHEMA, indent=2, sort_keys=True))
        return
    if of_trace:
        import json

        from .trace import json_schema

        click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))
        return
    from .scenario import schema_json

    click.echo(schema_json(), nl=False)


@main.command()
@click.argument("trace_file", metavar="TRACE.jsonl|CAPTURE.har",
                type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("-o", "--output", metavar="OUT.svg", type=click.Path(dir_okay=False),
              help="Where to write the SVG ('-' for standard output; default: the trace's "
                   "path with .svg).")
@click.option("--title", help="The drawing's title (default: the trace file's name).")
@click.option("--from", "start", callback=duration, metavar=DURATION, default="0s",
              show_default=True, help="Draw from this virtual time (e.g. 90s, 5m).")
@click.option("--to", "end", callback=duration, metavar=DURATION,
              help="Draw up to this virtual time (default: the last event).")
@click.option("--around", callback=duration, metavar=DURATION,
              help="Zoom on the records around this virtual time (instead of --from/--to).")
@click.option("--check", is_flag=True,
              help="Judge the trace with the rule catalogue (as 'check' does, default "
                   "options) and mark every violation.")
@click.option("--show-secrets", is_flag=True,
              help="HAR: show session tokens and KSs whole in tooltips (default: shortened).")
def timeline(trace_file: str, output: str | None, title: str | None, start: float,
             end: float | None, around: float | None, check: bool, show_secrets: bool) -> None:
    """Draw a JSONL trace, or a HAR capture, as an SVG timeline: a lane per device and per
    account."""
    from ._timeline import FailureMark, render_timeline, window_around

    if Path(trace_file).suffix.lower() == ".har":
        _har_timeline(Path(trace_file), output, title, show_secrets)
        return

    source = Path(trace_file)
    trace = _read_trace(source)
    marks = []
    if check:
        from .rules import judge_trace

        marks = [FailureMark(v.t, f"rule {v.rule.id}", f"{source}:{v.line}", v.message)
                 for v in judge_trace(trace).violations]
    try:
        if around is not None:
            if start != 0 or end is not None:
                raise click.UsageError("--around chooses the window: leave out --from and --to")
            window: tuple[float, float | None] = window_around(trace, around)
        else:
            window = (start, end)
        svg = render_timeline(trace, title if title is not None else source.stem,
                              start=window[0], end=window[1], failures=marks)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    _write_svg(svg, output, source)



def _write_svg(svg: str, output: str | None, source: Path) -> None:
    """A drawing to ``output`` ('-': standard output; default: ``source`` with .svg)."""
    from .scenario import write_atomic

    if output == "-":
        click.echo(svg, nl=False)
        return
    target = Path(output) if output is not None else source.with_suffix(".svg")
    try:
        write_atomic(target, svg)
    except OSError as err:
        raise click.UsageError(f"can't write {target}: {err.strerror}") from None
    click.echo(f"wrote {target}", err=True)


def _har_timeline(source: Path, output: str | None, title: str | None,
                  show_secrets: bool) -> None:
    """``player-sim timeline CAPTURE.har``: the capture's lanes, calls and verdicts."""
    from .capture import judge_capture, read_capture, render_capture
    from .traffic import HarError

    try:
        capture = read_capture(source)
    except HarError as err:
        raise click.UsageError(str(err)) from None
    report = judge_capture(capture, source=str(source), show_secrets=show_secrets)
    svg = render_capture(capture, report, title if title is not None else source.stem,
                         show_secrets=show_secrets)
    _write_svg(svg, output, source)


# --- rules, trace conformance, exploration -------------------------------------------------


def _bad_input(message: str) -> NoReturn:
    """A problem with an input file (not with the command line): the message alone on
    standard error, exit 2, no usage text."""
    import sys

    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _read_trace(source: Path) -> Trace:
    """A JSONL trace file (or an Android ``.logcat`` of the SDK's events), or exit 2 with
    the problem naming the file and line."""
    from .trace import Trace, TraceFormatError

    try:
        if source.suffix.lower() == ".logcat":  # an Android logcat of the SDK's events
            from .capture import read_logcat

            return read_logcat(source.read_text(encoding="utf-8"), source=str(source),
                               device=source.stem)
        return Trace.from_jsonl(source.read_text(encoding="utf-8"), source=str(source))
    except TraceFormatError as err:
        _bad_input(str(err))
    except UnicodeDecodeError as err:
        _bad_input(f"{source}: not UTF-8 text ({err.reason} at byte {err.start}); a trace "
                   "is JSONL text")


@main.command("rules")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-v", "--verbose", is_flag=True, help="Also print each rule's statement and quote.")
@click.option("--show", "show_id", metavar="ID",
              help="Print one rule: its statement, kind, quote and source (what the cited "
                   "document is), then exit.")
def rules_command(paths: tuple[str, ...], verbose: bool, show_id: str | None) -> None:
    """List the rule catalogue with how many scenario runs really judged each rule.

    Each scenario in PATHS (default: ./scenarios, without broken/) is run; a
    rule counts as covered by a scenario only when its monitor met the situation
    the rule judges in that run, not because ``covers:`` names it. Without PATHS
    and without a ./scenarios folder, the catalogue is listed unmeasured. Exit
    status: 0 every rule is covered and every ``covers:`` label is true, 1
    otherwise, 2 invalid scenario files or an unknown rule id.
    """
    import os
    import sys

    from .rules import CATALOGUE, false_labels, rule, rule_coverage, uncovered
    from .scenario import load_many, run_scenario

    if show_id is not None:
        try:
            click.echo(_describe_rule(rule(show_id)))
        except KeyError as err:
            raise click.UsageError(str(err.args[0])) from None
        return
    width = max(len(rule_id) for rule_id in CATALOGUE)
    if not paths and not os.path.isdir(_DEFAULT_SCENARIOS):
        for rule_id, r in CATALOGUE.items():
            click.echo(f"  ?  {rule_id:<{width}}  {r.kind:<12}  {r.where}")
            if verbose:
                click.echo(f"       {r.statement}\n       \"{r.quote}\"")
        click.echo(f"{len(CATALOGUE)} rules; coverage not measured: no ./{_DEFAULT_SCENARIOS} "
                   "folder here (name scenario files or folders to measure it; player-sim "
                   "rules --show ID prints one rule and its source)")
        return
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


def _describe_rule(r: Any) -> str:
    """One rule for a reader: id, kind, statement, quote, and what its source is."""
    from .rules import describe_source

    option = f"\noption:    {r.option}" if r.option else ""
    return (f"{r.id}  ({r.kind})\n"
            f"statement: {r.statement}\n"
            f"quote:     \"{r.quote}\"\n"
            f"source:    {r.where}: {describe_source(r.where)}{option}")


# --- a place to start ------------------------------------------------------------------


@main.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def init_command(directory: str, force: bool) -> None:
    """Write a starter project into DIRECTORY (default: here).

    Example scenarios and a world fragment (scenarios/), the scenario JSON Schema
    (player_sim.schema.json) and its editor mapping (.vscode/settings.json), a
    pytest.ini that sets trio_mode, and a harness test (tests/). Then
    `player-sim run` and `pytest` (with pip install 'player_sim[pytest]') both
    pass there. Exit status: 0 written, 2 a file exists (nothing is written;
    --force overwrites).
    """
    from .scenario import write_atomic

    files = _starter_files()
    root = Path(directory)
    existing = [name for name in files if (root / name).exists()]
    if existing and not force:
        raise click.UsageError(f"{', '.join(str(root / n) for n in existing)} already "
                               "exist; nothing was written (add --force to overwrite)")
    try:
        for name, text in files.items():
            write_atomic(root / name, text)
    except OSError as err:
        raise click.UsageError(f"can't write the starter project: {err}") from None
    for name in files:
        click.echo(f"wrote {root / name}")
    where = "" if directory == "." else f"cd {directory} && "
    click.echo(f"next: {where}player-sim run    (and, with pip install 'player_sim[pytest]': "
               "pytest)")


def _starter_files() -> dict[str, str]:
    """The starter project, by relative path: the package's ``starter`` data plus the
    scenario schema generated now (so it matches the installed loader)."""
    from importlib.resources import files

    from .scenario import schema_json

    top = files("player_sim").joinpath("starter")
    out: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif not child.name.endswith((".pyc",)):
                name = child.name.removesuffix(".template")
                out[f"{prefix}{name}"] = child.read_text(encoding="utf-8")

    walk(top, "")
    out["player_sim.schema.json"] = schema_json()
    return dict(sorted(out.items()))


@main.command()
@click.argument("trace_file", metavar="TRACE.jsonl|CAPTURE.har",
                type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--rule", "rule_ids", multiple=True, metavar="ID",
              help="Check only this rule (repeatable; default: every rule).")
@click.option("--json", "json_path", metavar="FILE", type=click.Path(dir_okay=False),
              help="HAR: write a JSON report (summary counts, one entry per rule).")
@click.option("--junit-xml", "junit_path", metavar="FILE", type=click.Path(dir_okay=False),
              help="HAR: write a JUnit XML report (one test case per rule).")
@click.option("--device-header", metavar="NAME",
              help="HAR: a request header naming the device (else content token claims, "
                   "session tokens, udid and KSs tell devices apart).")
@click.option("--max-size", type=click.IntRange(min=1), default=None, metavar="BYTES",
              help="HAR: the largest file read (default 1 GiB).")
@click.option("--show-secrets", is_flag=True,
              help="HAR: print session tokens and KSs whole (default: shortened).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="The SSM per-account session limit (enables ssm.setup.limit-refuses).")
@click.option("--session-timeout", callback=duration, metavar=DURATION,
              help="The SSM server's session timeout, e.g. 70s (enables ssm.session.expires).")
@click.option("--reaction-window", callback=duration, default="5s", show_default=True,
              metavar=DURATION, help="How long an app or SDK has to answer a trigger.")
@click.option("--heartbeat-slack", callback=duration, default="1s", show_default=True,
              metavar=DURATION, help="How late a heartbeat may come after its period.")
@click.option("--no-heartbeats", is_flag=True,
              help="The trace does not record heartbeats (skip the heartbeat-period rules).")
def check(trace_file: str, rule_ids: tuple[str, ...], json_path: str | None,
          junit_path: str | None, device_header: str | None, max_size: int | None,
          show_secrets: bool, limit: int | None, session_timeout: float | None,
          reaction_window: float, heartbeat_slack: float, no_heartbeats: bool) -> None:
    """Check a JSONL trace (e.g. converted from a device log) or a HAR capture against
    the rules.

    Only the rules the trace's vantages can show are judged (a device log has no
    server records, a HAR capture only the wire); the others are listed as not
    judged, with what they need. A HAR's verdicts point at its entries (index and
    time); tokens are shown shortened. Exit status: 0 no violation, 1 violations
    (each printed with its rule and where), 2 a malformed trace (file:line) or HAR
    (file: entry), or a bad option.
    """
    import sys

    from .rules import CheckConfig, judge_trace

    if session_timeout is not None and session_timeout <= 0:
        raise click.BadParameter("a session timeout is more than 0, e.g. 70s",
                                 param_hint="--session-timeout")
    source = Path(trace_file)
    config = CheckConfig(reaction_window=reaction_window, heartbeat_slack=heartbeat_slack,
                         max_sessions_per_account=limit, session_timeout=session_timeout,
                         heartbeats_traced=not no_heartbeats)
    if source.suffix.lower() == ".har":
        _check_har(source, config, rule_ids, json_path, junit_path, device_header, max_size,
                   show_secrets)
        return
    trace = _read_trace(source)
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


def _write_served_reports(lab: Any, source: str, json_path: str | None,
                          junit_path: str | None) -> None:
    """A served session's verdict in the reports ``check`` writes for a capture: the
    rules its server and wire records show, each PASS, FAIL or NOT JUDGED."""
    from .capture import Capture, judge_capture

    devices = tuple(sorted({r.device for r in lab.trace if r.device}))
    capture = Capture(lab.trace, (), float(lab.epoch(0)), 0, 0, devices)
    _write_reports(judge_capture(capture, lab.check_config, source=source), json_path,
                   junit_path)


def _write_reports(report: Any, json_path: str | None, junit_path: str | None) -> None:
    """A capture report (``CaptureReport``) as JSON and JUnit XML, where asked."""
    from .scenario import write_atomic

    for path, text in ((json_path, report.to_json), (junit_path, report.junit_xml)):
        if path:
            try:
                write_atomic(path, text())
            except OSError as err:
                raise click.UsageError(f"can't write {path}: {err.strerror}") from None


def _check_har(source: Path, config: Any, rule_ids: tuple[str, ...], json_path: str | None,
               junit_path: str | None, device_header: str | None,
               max_size: int | None, show_secrets: bool) -> None:
    """``player-sim check CAPTURE.har``: judge a capture, report, exit 0 / 1 / 2."""
    import sys

    from .capture import judge_capture, read_capture
    from .traffic import MAX_HAR_BYTES, HarError

    try:
        capture = read_capture(source, device_header=device_header,
                               max_bytes=max_size or MAX_HAR_BYTES)
        report = judge_capture(capture, config, rules=rule_ids or None, source=str(source),
                               show_secrets=show_secrets)
    except HarError as err:
        raise click.UsageError(str(err)) from None
    except KeyError as err:
        raise click.UsageError(str(err.args[0])) from None
    click.echo(report.text(), nl=False)
    _write_reports(report, json_path, junit_path)
    sys.exit(1 if report.failed else 0)


@main.command("proxy-addon")
def proxy_addon() -> None:
    """Print the path of the mitmproxy addon (mitmdump -s "$(player-sim proxy-addon)")."""
    from .capture import ADDON_PATH

    click.echo(str(ADDON_PATH))


@main.command()
@click.option("--faults", "faults", metavar="FILE", type=click.Path(exists=True, dir_okay=False),
              help="A fault file (see the README's \"Live proxy\").")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Where the proxy listens (loopback unless told otherwise).")
@click.option("--port", type=click.IntRange(min=1, max=65535), default=8080,
              show_default=True)
@click.option("--out", default="player_sim_capture", show_default=True, metavar="PREFIX",
              help="Writes PREFIX.har, PREFIX.trace.jsonl and PREFIX.txt when stopped.")
def proxy(faults: str | None, host: str, port: int, out: str) -> None:
    """Run mitmdump with the player_sim addon: judge live, record, inject faults."""
    import os
    import shutil
    import sys

    from .capture import ADDON_PATH
    from .capture._faults import FaultFileError, load_fault_file

    if faults:
        try:
            load_fault_file(Path(faults).read_text(encoding="utf-8"), faults)
        except (FaultFileError, OSError, UnicodeDecodeError) as err:
            raise click.UsageError(str(err)) from None
    mitmdump = shutil.which("mitmdump")
    if mitmdump is None:
        raise click.UsageError("mitmdump not found: pip install 'player_sim[proxy]' "
                               "(in an environment of its own: see the README)")
    argv = [mitmdump, "--listen-host", host, "--listen-port", str(port), "-s",
            str(ADDON_PATH), "--set", f"player_sim_out={out}"]
    if faults:
        argv += ["--set", f"player_sim_faults={os.path.abspath(faults)}"]
    sys.stdout.flush()
    os.execv(mitmdump, argv)


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
              help="Look only for these rules broken (repeatable; default: every rule). "
                   "The random search stops once all are found; the exhaustive explorer "
                   "feeds only their monitors.")
@click.option("--seeds", metavar="A:B", default=None,
              help="Random search: one search per seed A, A+1, ... B-1, in parallel; each rule's "
                   "counterexample is that of the lowest seed that found it.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="W", help="With --seeds: local worker processes.")
@click.option("--executor", "address", metavar="dask://HOST:PORT",
              help="With --seeds: run the searches on this Dask scheduler.")
@click.option("--profile", type=click.Choice(PROFILES), default=None,
              help="Random search: give every generated device this platform profile "
                   "(written into the counterexamples).  [default: drawn per device]")
@click.option("--sdk", "sdk_ref", metavar="MODULE:NAME", default=None,
              help="Explore your own SdkModel subclass (imports MODULE: runs its code); "
                   "written into the counterexamples as sdk:.")
@click.option("--app", "app_ref", metavar="MODULE:NAME", default=None,
              help="Random search: your own AppPolicy subclass for every documented app "
                   "(imports MODULE).")
@click.option("--stats", is_flag=True,
              help="Draw --examples scenarios as the search does, run them, and print how "
                   "often each feature came up (a Markdown table); search nothing.")
@click.option("--space", "space_name", type=click.Choice(("explore", "documented")),
              default=None, help="Random search: the space drawn from: explore (everything) "
                                 "or documented (DOCUMENTED_SPACE).  [default: explore]")
def explore(exhaustive: bool, depth: int | None, examples: int | None, seed: int | None,
            out: str | None, rule_ids: tuple[str, ...], seeds: str | None, workers: int,
            address: str | None, profile: str | None, sdk_ref: str | None = None,
            app_ref: str | None = None, stats: bool = False,
            space_name: str | None = None) -> None:
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

    --sdk MODULE:NAME (and, for the random search, --app MODULE:NAME) explore a
    variant of your own instead of the documented SDK and app (README: Bring
    your own SDK).

    Exit status: 0 no violation, 1 violations found (counterexamples written),
    2 bad arguments.
    """
    import sys

    _need_explore_extra()
    if stats:
        if exhaustive or seeds is not None or rule_ids or out is not None:
            raise click.UsageError("--stats draws scenarios and counts their features; it "
                                   "takes --examples, --seed, --space and --profile only")
        _explore_stats(examples, seed, space_name, profile)
        return
    if exhaustive and app_ref is not None:
        raise click.UsageError("--app is for the random search: the exhaustive explorer "
                               "drives the player core, which has no app")
    variant = _variant_from_options(sdk_ref, app_ref)
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
        _explore_random(examples, seed, out, rule_ids, seeds, workers, address, profile,
                        variant, space_name)
        return
    if seeds is not None or workers != 1 or address is not None:
        raise click.UsageError("--seeds, --workers and --executor are for the random search, "
                               "not --exhaustive")
    given = [name for name, value in (("--examples", examples), ("--seed", seed),
                                      ("--out", out),
                                      ("--profile", profile), ("--space", space_name))
             if value is not None]
    if given:
        raise click.UsageError(f"{given[0]} is for the random search; --exhaustive takes "
                               "--depth, --rule and --sdk")
    from .explore import explore_exhaustive, format_exhaustive
    from .explore._exhaustive import selected_rules

    depth = 6 if depth is None else depth
    try:
        rules = selected_rules(rule_ids or None)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    try:
        report = explore_exhaustive(depth, sdk=None if variant is None else variant[0].sdk,
                                    rules=rules)
    except Exception as err:  # the variant's own code raised
        click.echo(f"error: the variant {sdk_ref} raised {type(err).__name__}: {err}",
                   err=True)
        sys.exit(2)
    click.echo(format_exhaustive(report), nl=False)
    sys.exit(1 if report.violations else 0)


def _need_explore_extra() -> None:
    """A usage error naming the extra when Hypothesis (the search's engine) is missing."""
    try:
        import hypothesis  # noqa: F401
    except ImportError as err:
        raise click.UsageError("searching needs the explore extra: pip install "
                               f"'player_sim[explore]' (Hypothesis) ({err})") from None


def _space(space_name: str | None, profile: str | None) -> Any:
    """The space ``--space`` names, with ``--profile`` given to every device."""
    import attrs

    from .explore import DOCUMENTED_SPACE, EXPLORE_SPACE

    space = DOCUMENTED_SPACE if space_name == "documented" else EXPLORE_SPACE
    return attrs.evolve(space, profile=cast("Profile | None", profile))


def _explore_stats(examples: int | None, seed: int | None, space_name: str | None,
                   profile: str | None) -> None:
    from .explore import DEFAULT_EXAMPLES, draw_statistics, format_statistics

    name = space_name or "explore"
    stats = draw_statistics(_space(space_name, profile),
                            examples=DEFAULT_EXAMPLES if examples is None else examples,
                            seed=0 if seed is None else seed)
    click.echo(format_statistics(stats, f"What `player-sim explore --stats --space {name}` "
                                        "draws:"), nl=False)


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


def _explore_one(task: tuple[int, int, tuple[str, ...], str | None, Any, str | None]) -> Any:
    """One seed's random search (a task of ``explore --seeds``; runs in a worker, which
    receives the variant pickled: its module must import there too)."""
    from .explore import explore_random

    seed, examples, rule_ids, profile, mutant, space_name = task
    return explore_random(examples=examples, seed=seed, rules=rule_ids or None,
                          space=_space(space_name, profile),
                          configure_device=None if mutant is None else mutant.apply)


def _explore_seeds(seeds: range, examples: int, rule_ids: tuple[str, ...], workers: int,
                   address: str | None, profile: str | None = None,
                   mutant: Any = None, space_name: str | None = None) -> Any:
    """Searches for every seed, merged: the same whatever the number of workers."""
    from ._errors import ConfigError
    from .explore import SearchReport
    from .fleet import open_executor, run_tasks
    from .rules import CATALOGUE

    tasks = [(seed, examples, rule_ids, profile, mutant, space_name) for seed in seeds]
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


def _variant_from_options(sdk_ref: str | None, app_ref: str | None
                          ) -> tuple[Any, dict[str, str]] | None:
    """A Mutant plugging in ``--sdk`` / ``--app`` and the scenario keys naming them, or
    ``None`` (no variant). Bad references are usage errors (exit 2)."""
    if sdk_ref is None and app_ref is None:
        return None
    from ._errors import ConfigError
    from .explore import Mutant
    from .player import AppPolicy
    from .world import resolve_class, resolve_sdk

    try:
        sdk = None if sdk_ref is None else resolve_sdk(sdk_ref)
        policy = None if app_ref is None else resolve_class(app_ref, AppPolicy, "an app policy")
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="--sdk" if sdk_ref and (
            app_ref is None or sdk_ref in str(err)) else "--app") from None
    keys = {k: v for k, v in (("sdk", sdk_ref), ("app", app_ref)) if v is not None}
    return Mutant("variant", "", sdk=sdk, policy=policy), keys


def _with_variant(counterexample: Any, keys: dict[str, str]) -> Any:
    """``counterexample`` with the variant named in each device, so that the file
    replays against it (``sdk: MODULE:NAME``, ``app: {policy: MODULE:NAME}``)."""
    import copy

    import attrs

    from .explore import scenario_yaml

    data = copy.deepcopy(dict(counterexample.data))
    for device in data.get("devices", {}).values():
        if "sdk" in keys:
            device["sdk"] = keys["sdk"]
        if "app" in keys:
            app = device.get("app")
            if not isinstance(app, dict):
                device["app"] = {"policy": keys["app"]}
            elif app.get("policy", "documented") == "documented":
                device["app"] = {"policy": keys["app"], **{k: v for k, v in app.items()
                                                           if k != "policy"}}
    header = "\n".join(line[2:] for line in counterexample.text.splitlines()
                       if line.startswith("# "))
    return attrs.evolve(counterexample, data=data, text=scenario_yaml(data, header))


def _explore_random(examples: int | None, seed: int | None, out: str | None,
                    rule_ids: tuple[str, ...], seeds: str | None = None, workers: int = 1,
                    address: str | None = None, profile: str | None = None,
                    variant: tuple[Any, dict[str, str]] | None = None,
                    space_name: str | None = None) -> None:
    import sys

    import attrs

    from .explore import DEFAULT_EXAMPLES, explore_random, format_search, write_counterexamples
    from .rules import rule

    out = "counterexamples" if out is None else out  # click refuses a file as --out
    for rule_id in rule_ids:
        try:
            rule(rule_id)
        except KeyError as err:
            raise click.UsageError(str(err.args[0])) from None
    budget = DEFAULT_EXAMPLES if examples is None else examples
    space = _space(space_name, profile)
    if seeds is not None:
        seed_range = _seed_range(seeds)
        report = _explore_seeds(seed_range, budget, rule_ids, workers, address, profile,
                                None if variant is None else variant[0], space_name)
        if variant is not None:
            report = attrs.evolve(report, counterexamples=tuple(
                _with_variant(c, variant[1]) for c in report.counterexamples))
        click.echo(f"seeds {seed_range.start}:{seed_range.stop}, {len(seed_range)} searches")
    elif variant is not None:
        mutant, keys = variant
        try:
            report = explore_random(examples=budget, seed=0 if seed is None else seed,
                                    rules=rule_ids or None, space=space,
                                    configure_device=mutant.apply)
        except Exception as err:  # the variant's own code raised
            click.echo(f"error: the variant raised {type(err).__name__}: {err}", err=True)
            sys.exit(2)
        report = attrs.evolve(report, counterexamples=tuple(
            _with_variant(c, keys) for c in report.counterexamples))
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
@click.option("--mutant", "references", multiple=True, metavar="MODULE:NAME",
              help="Run this mutant instead of the bundled ones: a Mutant object, or an "
                   "SdkModel, AppPolicy or session provider subclass (imports MODULE: runs "
                   "its code; repeatable).")
@click.option("--only", "names", multiple=True, metavar="NAME",
              help="Run only this bundled mutant (repeatable).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the results as JSON: per mutant its verdict, seam, rule and "
                   "document sentence, the scenarios and searched rules that caught it.")
def mutants(paths: tuple[str, ...], examples: int | None, seed: int, workers: int,
            address: str | None, references: tuple[str, ...] = (),
            names: tuple[str, ...] = (), as_json: bool = False) -> None:
    """Run the scenarios and a random search against each mutant.

    A mutant is a deliberately wrong app policy, SDK model or session provider
    (see the README, "Mutants"). It is caught when a scenario of PATHS (default:
    ./scenarios) that passes without it fails with it, or when the search finds a
    rule it breaks (checked to hold without it). Prints what caught each mutant
    (--json: as JSON). A mutant whose own code raises is reported as ERROR; the
    others still run. Exit status: 0 every mutant caught, 1 a mutant survived or
    failed, 2 invalid input.
    """
    import json
    import sys

    _need_explore_extra()
    from ._errors import ConfigError
    from .explore import (
        MUTANT_EXAMPLES,
        MUTANTS,
        format_mutants,
        mutant_from_reference,
        mutants_json,
        run_mutants,
    )
    from .scenario import ScenarioError

    files = _scenario_files(paths)
    budget = MUTANT_EXAMPLES if examples is None else examples
    chosen = list(MUTANTS)
    if names:
        known = {m.name: m for m in MUTANTS}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise click.BadParameter(f"no bundled mutant {unknown[0]!r}; 'player-sim mutants "
                                     "--json --examples 0' lists them", param_hint="--only")
        chosen = [known[n] for n in names]
    if references:
        try:
            chosen = [*(chosen if names else []),
                      *(mutant_from_reference(r) for r in references)]
        except ConfigError as err:
            raise click.BadParameter(str(err), param_hint="--mutant") from None
    try:
        if workers == 1 and address is None:
            results = run_mutants(chosen, scenario_paths=files, seed=seed, examples=budget)
        else:
            results = _mutants_in_parallel(chosen, files, seed, budget, workers, address)
    except ScenarioError as err:
        _report_invalid([err])
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(mutants_json(results), indent=2))
    else:
        click.echo(format_mutants(results), nl=False)
    sys.exit(0 if all(r.caught for r in results) else 1)


def _mutant_one(task: tuple[Any, tuple[str, ...], int, int]) -> Any:
    """One mutant against the scenarios and the search (a task of ``mutants --workers``;
    the mutant itself is pickled to the worker)."""
    from .explore import run_mutants

    mutant, files, seed, examples = task
    return run_mutants((mutant,), scenario_paths=files, seed=seed, examples=examples)[0]


def _mutants_in_parallel(chosen: list[Any], files: list[str], seed: int, examples: int,
                         workers: int, address: str | None) -> list[Any]:
    """Every mutant as its own task, results in the given order."""
    from ._errors import ConfigError
    from .fleet import open_executor, run_tasks
    from .scenario import load_many

    _, errors = load_many(files)  # refuse invalid files before starting any worker
    if errors:
        raise errors[0]
    tasks = [(m, tuple(files), seed, examples) for m in chosen]
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
@click.option("--certfile", type=click.Path(dir_okay=False), metavar="PEM",
              help="Serve HTTPS with this certificate chain (with --keyfile).")
@click.option("--keyfile", type=click.Path(dir_okay=False), metavar="PEM",
              help="The private key of --certfile.")
@click.option("--local-ca", type=click.Path(file_okay=False), metavar="DIR",
              help="Serve HTTPS with a certificate from a local test CA made in DIR "
                   "(trust DIR/ca.pem on the test device).")
@click.option("--json", "json_path", metavar="FILE", type=click.Path(dir_okay=False),
              help="On exit, also write the verdict rule by rule as JSON (as 'check' does).")
@click.option("--junit-xml", "junit_path", metavar="FILE", type=click.Path(dir_okay=False),
              help="On exit, also write the verdict as JUnit XML: a test case per rule.")
def serve_command(lab_file: str, host: str, port: int, control_token: str | None,
                  secret: str | None, prefix: str | None, max_body: int,
                  certfile: str | None, keyfile: str | None, local_ca: str | None,
                  json_path: str | None, junit_path: str | None) -> None:
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
    tls = None
    if (certfile is None) != (keyfile is None):
        raise click.UsageError("HTTPS needs both --certfile and --keyfile")
    if certfile is not None and local_ca is not None:
        raise click.UsageError("give either --certfile/--keyfile or --local-ca, not both")
    if certfile is not None and keyfile is not None:
        tls = serve.Tls(Path(certfile), Path(keyfile))
        try:
            tls.check()
        except ConfigError as err:
            raise click.UsageError(str(err)) from None
    elif local_ca is not None:
        tls = serve.local_ca(local_ca, [host])
        click.echo(f"local test CA: trust {tls.ca} on the test device (never elsewhere)")

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
                freeze_gc=True, tls=tls, task_status=task_status))
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
    if json_path or junit_path:
        _write_served_reports(lab, lab_file, json_path, junit_path)
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
@click.option("--lost", is_flag=True,
              help="Handle the calls, but never answer: the response is lost.")
@click.option("--reset", is_flag=True,
              help="Reset the connection before the backend sees the calls.")
@click.pass_context
def ctl_fail_next(ctx: click.Context, endpoint: str, device: str | None, code: str | None,
                  count: int, http_status: int | None, message: str, malformed: bool,
                  lost: bool, reset: bool) -> None:
    """Fail the next calls of ENDPOINT (setup, heartbeat, renewal, teardown, license,
    ott:SERVICE/ACTION, ovp:SERVICE/ACTION)."""
    _ctl_call(ctx, lambda c: c.fail_next(endpoint, code=_code(code), device=device, count=count,
                                         http_status=http_status, message=message,
                                         malformed=malformed, lost=lost, reset=reset))


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
