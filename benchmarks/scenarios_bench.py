"""How long the whole bundled scenario suite takes, and what importing costs.

Run ``python benchmarks/scenarios_bench.py`` from the repository root (``--repeat N``
fresh processes of each kind, default 5; the median counts). In one run it measures:

a. in this process, loading and validating every scenario of the default run
   (``scenarios/``, without ``broken/``: YAML, JSON Schema, semantic checks), then
   running them all (synchronous World, expectations and the rule catalogue checked
   as by default), in CPU seconds; and, best of ``--repeat``, two parts of loading:
   composing the YAML files (with their includes and marks), and the schema check
   (the loader's quick check, beside jsonschema's validator on the same files, which
   the quick check spares a valid file: the two must agree that every file is valid);
b. the README's command end to end, ``player-sim run -q``, in fresh processes
   (interpreter start and imports included): wall and CPU seconds (the child's user
   plus system time), beside its peers run the same number of times in the same run:
   the floor any Python command line pays, interpreter start-up (``python -c pass``)
   and ``python -c "import click, yaml"`` (the command line's parser and the YAML
   reader, which ``player-sim run`` cannot do without);
c. what importing costs, for ``import player_sim`` and for what ``player-sim run``
   imports: the CPU seconds of the import in a fresh interpreter, and ``python -X
   importtime``'s self times summed by part (each third-party package, each
   subpackage of ``player_sim``) beyond interpreter start-up, largest first with
   their share. ``-X importtime`` reports wall microseconds, so on a busy machine its
   shares mean more than its totals; the median of the repeats counts.

``--baseline DIR`` also measures (b) and (c) in DIR, a checkout of another version
(an export of main: ``git archive main | tar -x -C DIR``): its ``player_sim`` and
its scenarios, interleaved with this checkout's runs, so before and after are
measured under the same load.

Fresh processes read bytecode (``__pycache__``) as an installed package does: the
benchmark compiles ``player_sim`` first (``compileall``), since an editable checkout
run with ``PYTHONDONTWRITEBYTECODE=1`` would otherwise compile every module from
source in every process. ``--cold`` also measures (b) without bytecode (each process
compiles every module it imports from source, through an empty
``PYTHONPYCACHEPREFIX``), for information.

Target: (b) under 1 s, judged by the child's CPU time because the machine is shared
(the wall time is printed beside it; the two agree on an idle machine). The exit
status is 1 when the target is missed, a bundled scenario fails, the command does
not pass, or the quick schema check does not vouch for a bundled file jsonschema
accepts.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from player_sim.scenario import discover, load_scenario, run_scenario
from player_sim.scenario._validator import VALIDATOR
from player_sim.scenario._vouch import vouches
from player_sim.scenario._yaml import compose_file

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.0  # CPU seconds of `player-sim run -q` in a fresh process
def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@attrs.define
class Fresh:
    """One command run in fresh processes: its wall and CPU seconds per run."""

    command: list[str]
    cwd: Path = ROOT
    env: dict[str, str] | None = None
    walls: list[float] = attrs.Factory(list)
    cpus: list[float] = attrs.Factory(list)
    last: subprocess.CompletedProcess[str] | None = None

    def run_once(self) -> None:
        cpu, wall = _cpu_children(), time.perf_counter()
        self.last = subprocess.run(self.command, capture_output=True, text=True, check=False,
                                   env=self.env, cwd=self.cwd)
        self.walls.append(time.perf_counter() - wall)
        self.cpus.append(_cpu_children() - cpu)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


def interleaved(runs: Sequence[Fresh], repeat: int) -> None:
    """Run each of ``runs`` ``repeat`` times, taking turns, so that the load other work
    puts on the machine falls on all of them alike."""
    for _ in range(repeat):
        for fresh in runs:
            fresh.run_once()


def import_cpu(modules: Sequence[str], repeat: int, cwd: Path = ROOT) -> float:
    """Median CPU seconds a fresh interpreter spends importing ``modules``."""
    code = (f"import time; t = time.process_time(); import {', '.join(modules)}; "
            "print(time.process_time() - t)")
    return statistics.median(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=cwd).stdout) for _ in range(repeat))


def _part(module: str) -> str:
    """What ``module``'s import time is counted under: its top-level package, or for
    player_sim its subpackage or module (``player_sim.world``)."""
    names = module.split(".")
    return ".".join(names[:2]) if names[0] == "player_sim" else names[0]


def import_parts(code: Sequence[str], repeat: int, cwd: Path = ROOT) -> dict[str, int]:
    """``-X importtime`` of ``python CODE...`` by part (:func:`_part`): the median over
    ``repeat`` runs of the self microseconds of the part's modules, summed (so each
    module counts once, wherever it was first imported from)."""
    runs: dict[str, list[int]] = defaultdict(list)
    for _ in range(repeat):
        err = subprocess.run([sys.executable, "-X", "importtime", *code], capture_output=True,
                             text=True, check=False, cwd=cwd).stderr
        parts: dict[str, int] = defaultdict(int)
        for line in err.splitlines():
            found = re.match(r"import time:\s+(\d+) \|\s+\d+ \| \s*(\S+)$", line)
            if found:
                parts[_part(found[2])] += int(found[1])
        for name, self_us in parts.items():
            runs[name].append(self_us)
    return {name: int(statistics.median(us + [0] * (repeat - len(us))))
            for name, us in runs.items()}


def show_parts(title: str, cpu: float, parts: dict[str, int], start_up: dict[str, int],
               rows: int = 14) -> None:
    """The parts beyond interpreter start-up, largest first, with their share."""
    own = {name: us - start_up.get(name, 0) for name, us in parts.items()}
    own = {name: us for name, us in own.items() if us > 0}
    total = sum(own.values())
    print(f"   {title}: {cpu * 1000:.0f} ms CPU; -X importtime {total / 1000:.0f} ms, of which")
    for name, us in sorted(own.items(), key=lambda kv: -kv[1])[:rows]:
        print(f"      {name:30} {us / 1000:7.1f} ms  {us / total:5.0%}")


def best_cpu(work: Callable[[], object], repeat: int) -> float:
    """The least CPU seconds ``work()`` took over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5,
                        help="fresh processes of each kind (median counts)")
    parser.add_argument("--cold", action="store_true",
                        help="also measure player-sim run without bytecode, for information")
    parser.add_argument("--baseline", metavar="DIR",
                        help="also run the command with player_sim from DIR (e.g. an export "
                             "of main: git archive main | tar -x -C DIR), for before/after")
    args = parser.parse_args()
    os.chdir(ROOT)
    compileall.compile_dir(ROOT / "player_sim", quiet=1)

    # a. in this process
    paths = discover(["scenarios"])
    start = time.process_time()
    scenarios = [load_scenario(p) for p in paths]
    load_cpu = time.process_time() - start
    start = time.process_time()
    results = [run_scenario(s) for s in scenarios]
    run_cpu = time.process_time() - start
    failed = [r.scenario.path for r in results if not r.passed]
    compose_cpu = best_cpu(lambda: [compose_file(p) for p in paths], args.repeat)
    datas = [compose_file(p).data for p in paths]
    vouch_cpu = best_cpu(lambda: [vouches(d) for d in datas], args.repeat)
    schema_cpu = best_cpu(lambda: [list(VALIDATOR.iter_errors(d)) for d in datas], args.repeat)
    unvouched = [p for p, d in zip(paths, datas, strict=True)
                 if not vouches(d) and not any(VALIDATOR.iter_errors(d))]
    events = sum(r.events for r in results)
    virtual = sum(r.duration for r in results)

    # b. fresh processes, the command and its peers, interleaved so load hits all alike
    python = sys.executable
    suite_command = [python, "-m", "player_sim", "run", "-q"]
    runs = {"player-sim run -q": Fresh(suite_command),
            "python -c 'import click, yaml'": Fresh([python, "-c", "import click, yaml"]),
            "python -c pass": Fresh([python, "-c", "pass"])}
    baseline = None
    if args.baseline:  # run in DIR: its player_sim comes first on sys.path, its scenarios
        baseline = Path(args.baseline).resolve()
        compileall.compile_dir(baseline / "player_sim", quiet=1)
        runs["baseline: player-sim run -q"] = Fresh(suite_command, baseline)
    if args.cold:
        empty = tempfile.mkdtemp(prefix="scenarios-bench-")
        runs["player-sim run -q, no bytecode"] = Fresh(
            suite_command, env={**os.environ, "PYTHONPYCACHEPREFIX": empty,
                            "PYTHONDONTWRITEBYTECODE": "1"})
    interleaved(list(runs.values()), args.repeat)
    suite = runs["player-sim run -q"]
    proc = suite.last
    assert proc is not None

    # c. import times, of this checkout and of the baseline's
    start_up = import_parts(["-c", "pass"], args.repeat)
    imports = {}
    for label, cwd in (("", ROOT), ("baseline: ", baseline)):
        if cwd is None:
            continue
        imports[label] = (
            (import_cpu(["player_sim"], args.repeat, cwd),
             import_parts(["-c", "import player_sim"], args.repeat, cwd)),
            (import_cpu(["player_sim.cli", "player_sim.scenario"], args.repeat, cwd),
             import_parts(["-m", "player_sim", "run", "-q"], args.repeat, cwd)))

    print(f"bundled scenarios: {len(paths)} files, {events} events, "
          f"{virtual / 3600:.1f} virtual hours; {args.repeat} fresh processes each, median")
    print(f"a. load + validate all   {load_cpu * 1000:7.1f} ms CPU")
    print(f"     composing (best)    {compose_cpu * 1000:7.1f} ms CPU")
    print(f"     schema, quick check {vouch_cpu * 1000:7.1f} ms CPU   (jsonschema, same files: "
          f"{schema_cpu * 1000:.1f} ms, {schema_cpu / vouch_cpu:.1f}x)")
    print(f"   run all, rules        {run_cpu * 1000:7.1f} ms CPU   "
          f"({events / run_cpu:,.0f} events per CPU second)")
    suite_wall, suite_cpu = suite.wall, suite.cpu
    print(f"b. fresh processes (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
          "CPUs)")
    print(f"   {'':44}    wall        CPU   CPU / floor")
    floor_cpu = runs["python -c 'import click, yaml'"].cpu
    for name, fresh in runs.items():
        print(f"   {name:44} {fresh.wall * 1000:7.0f} ms {fresh.cpu * 1000:7.0f} ms   "
              f"{fresh.cpu / floor_cpu:5.1f}x")
    if args.baseline:
        before = runs["baseline: player-sim run -q"]
        print(f"   baseline / this checkout: {before.cpu / suite_cpu:.2f}x CPU, "
              f"{before.wall / suite_wall:.2f}x wall")
    met = suite_cpu < TARGET
    print(f"   target: player-sim run -q under {TARGET:.0f} s CPU: "
          f"{'met' if met else 'MISSED'} ({suite_cpu:.2f} s CPU, {suite_wall:.2f} s wall)")
    print("c. imports: CPU seconds of the import in a fresh interpreter; -X importtime's "
          "self times (wall) by package, beyond interpreter start-up")
    for label, ((library_cpu, library), (command_cpu, command)) in imports.items():
        show_parts(f"{label}import player_sim", library_cpu, library, start_up)
        show_parts(f"{label}player-sim run -q (player_sim.cli, player_sim.scenario)",
                   command_cpu, command, start_up, rows=18)
    if failed or proc.returncode != 0:
        print(f"failing scenarios: {failed or proc.stdout + proc.stderr}")
        return 1
    if unvouched:
        print(f"the quick schema check does not vouch for valid files: {unvouched}")
        return 1
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
