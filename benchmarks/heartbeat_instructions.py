"""Instructions per heartbeat of the world's hot path, counted by callgrind.

Run ``python benchmarks/heartbeat_instructions.py [--traced] [--compressed]
[--devices N] [--seconds S]`` (needs ``valgrind``; ``--compressed``: the world's
trace a ``CompressedTrace``). It runs the same playing fleet as
``world_bench.playing_world`` (N devices, default 500) twice under
``valgrind --tool=callgrind``: once stopping right after the fleet plays, once
running S more virtual seconds (default 1,200: 40 heartbeats a device). The
difference of the two totals over the heartbeats sent meanwhile is what a
heartbeat costs, in instructions: a count that does not move with the machine's
load, where CPU seconds do (it does not see cache misses). ``PYTHONHASHSEED`` is
fixed at 0 for both runs, so dict layouts, hence counts, repeat.

Compare two checkouts by running the script with each on ``PYTHONPATH``. No
target: the figure explains the world's rates, it is not one.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _child(devices: int, traced: bool, compressed: bool, seconds: float) -> None:
    sys.path.insert(0, str(HERE))
    import gc

    from world_bench import _heartbeats, playing_world

    world = playing_world(devices, traced, compressed)
    gc.collect()
    before = _heartbeats(world)
    world.run_until(world.now + seconds)
    print(f"heartbeats {_heartbeats(world) - before}")


def _count(devices: int, traced: bool, compressed: bool, seconds: float) -> tuple[int, int]:
    """(instructions, heartbeats) of one run under callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out",
             sys.executable, __file__, "--child", "--devices", str(devices),
             "--seconds", str(seconds)] + (["--traced"] if traced else [])
            + (["--compressed"] if compressed else []),
            capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"})
    total = re.search(r"Collected : (\d+)", out.stderr)
    beats = re.search(r"heartbeats (\d+)", out.stdout)
    if total is None or beats is None:
        raise SystemExit(f"callgrind gave no count:\n{out.stderr[-2000:]}")
    return int(total.group(1)), int(beats.group(1))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traced", action="store_true", help="heartbeats traced")
    parser.add_argument("--compressed", action="store_true",
                        help="the trace compressed (WorldConfig(compress_trace=True))")
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=1200.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.devices, args.traced, args.compressed, args.seconds)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: this benchmark counts instructions with it",
              file=sys.stderr)
        return 2
    start, _ = _count(args.devices, args.traced, args.compressed, 0.0)
    total, beats = _count(args.devices, args.traced, args.compressed, args.seconds)
    how = ("traced" if args.traced else "untraced") + (", compressed" if args.compressed else "")
    print(f"{args.devices:,} devices, {args.seconds:,.0f} virtual s, {how}: "
          f"{beats:,} heartbeats, {(total - start) / beats:,.0f} instructions per heartbeat")
    return 0


if __name__ == "__main__":
    sys.exit(main())
