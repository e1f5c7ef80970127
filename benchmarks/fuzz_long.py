"""The long fuzz campaign: many structure-aware hostile inputs, counted by outcome.

    python benchmarks/fuzz_long.py --examples 3000 --seed 1 [--out fuzz-findings]

Draws ``--examples`` cases of each kind (scenario files, traces, command lines;
see tests/fuzzing.py), runs each through ``player-sim`` in a worker with a 2 GiB
address-space cap and a 60 s timeout, and prints how many were valid runs,
failed verdicts, clean errors, crashes, hangs, memory blowups and leaks of a
value from outside the case's folder. Each defect's case is written under
``--out`` for replay. Exit status 1 if any defect was found. The bounded CI run
of the same strategies is tests/test_fuzz_input.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import fuzzing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000,
                        help="cases of each kind (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--out", default="fuzz-findings")
    parser.add_argument("--kinds", default="scenario,trace,cli")
    options = parser.parse_args()
    strategies = {"scenario": fuzzing.scenario_cases(), "trace": fuzzing.trace_cases(),
                  "cli": fuzzing.cli_cases()}
    out = Path(options.out)
    harness = fuzzing.Harness(timeout=options.timeout)
    totals: Counter[str] = Counter()
    started = time.monotonic()
    try:
        for kind in options.kinds.split(","):
            counts: Counter[str] = Counter()

            def record(case: fuzzing.Case, outcome: fuzzing.Outcome,
                       counts: Counter[str] = counts) -> None:
                counts[outcome.kind] += 1
                if outcome.kind in fuzzing.DEFECTS:
                    found = out / f"{outcome.kind}-{sum(counts.values())}-{case.label[:20]}"
                    found.mkdir(parents=True, exist_ok=True)
                    (found / "case.json").write_text(json.dumps({
                        "args": case.args, "detail": outcome.detail,
                        "files": {k: v if isinstance(v, str) else repr(v)
                                  for k, v in case.files.items() if len(v) < 100_000}},
                        indent=1))
                    print(f"{outcome.kind}: {' '.join(case.args)[:200]}\n"
                          f"  {outcome.detail[-500:]}", flush=True)

            fuzzing.campaign(strategies[kind], harness, options.examples, options.seed,
                             record)
            totals.update(counts)
            print(f"{kind}: {sum(counts.values())} inputs, {_line(counts)}", flush=True)
    finally:
        harness.close()
    elapsed = time.monotonic() - started
    print(f"total: {sum(totals.values())} inputs in {elapsed:.0f} s, {_line(totals)}")
    sys.exit(1 if any(totals[d] for d in fuzzing.DEFECTS) else 0)


def _line(counts: Counter[str]) -> str:
    names = ("valid", "failed", "clean-error", *fuzzing.DEFECTS)
    return ", ".join(f"{counts[n]} {n}" for n in names)


if __name__ == "__main__":
    main()
