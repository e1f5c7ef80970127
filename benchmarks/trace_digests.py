"""Digests of reference traces: the guard of "same traces, byte for byte" for speed work.

``python benchmarks/trace_digests.py`` prints a SHA-256 per reference run;
``--check`` compares them with ``tests/data/trace_digests.json`` (exit 1 on any
difference, naming the runs); ``--write`` records them there. The test suite runs
``--check`` (``tests/test_trace_digests.py``), so a change that means to alter a
trace says so by rewriting the file in the same commit.

The reference runs:

* every bundled scenario, ``broken/`` included, under its own seed and seed 7
  (the trace ``player-sim run --trace-dir`` writes);
* a small fleet world through ``World.run_until``: 60 SSM devices over three
  accounts whose session limit is lower than their devices, heartbeats traced and
  not traced, with kills (zombie sessions expiring), stops, zaps, relaunches and
  a heartbeat outage, for two virtual hours.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from player_sim import DeviceConfig, InvalidTransition, SsmConfig, World, WorldConfig

REPO = Path(__file__).resolve().parent.parent
RECORDED = REPO / "tests" / "data" / "trace_digests.json"
SEEDS = (None, 7)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def scenario_digests() -> dict[str, str]:
    """``scenario:NAME@SEED`` -> digest of the trace ``player-sim run`` writes."""
    digests = {}
    for seed in SEEDS:
        with tempfile.TemporaryDirectory() as out:
            command = [sys.executable, "-m", "player_sim", "run", "-q", "--trace-dir", out,
                       "scenarios", "scenarios/broken"]
            if seed is not None:
                command += ["--seed", str(seed)]
            subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False,
                           timeout=600)
            traces = sorted(Path(out).glob("*.jsonl"))
            if not traces:
                raise SystemExit("player-sim run wrote no traces")
            for trace in traces:
                digests[f"scenario:{trace.stem}@{seed if seed is not None else 'file'}"] = \
                    _sha(trace.read_text())
    return digests


def fleet_trace(*, trace_heartbeats: bool) -> str:
    """The small fleet's trace as JSON lines."""
    ssm = SsmConfig(max_sessions_per_account=18, heartbeat_period=30.0, session_timeout=120.0)
    world = World(WorldConfig(ssm=ssm, trace_heartbeats=trace_heartbeats), seed=3)
    devices = []
    for index in range(60):
        devices.append(world.add_device(DeviceConfig(
            name=f"d{index}", account=f"a{index % 3}", ssm_server_url="https://ssm.example/")))
        world.run_for(0.25)
    for device in devices:
        device.play(f"channel-{int(device.name[1:]) % 4}")
        world.run_for(0.5)
    world.outage("ssm", world.now + 600.0, world.now + 700.0)
    for minute in range(120):
        world.run_for(60.0)
        victim = devices[(minute * 7) % len(devices)]
        with contextlib.suppress(InvalidTransition):  # whatever state the victim is in
            match minute % 6:
                case 0:
                    victim.kill()
                case 1:  # the device killed a minute ago
                    devices[((minute - 1) * 7) % len(devices)].relaunch()
                case 2:
                    victim.stop()
                case 3:
                    victim.play("channel-9")
                case 4:
                    victim.zap("channel-2")
                case _:
                    pass
    world.run_for(600.0)
    return world.trace.to_jsonl()


def all_digests() -> dict[str, str]:
    digests = scenario_digests()
    for traced in (True, False):
        digests[f"fleet:heartbeats-{'traced' if traced else 'untraced'}"] = _sha(
            fleet_trace(trace_heartbeats=traced))
    return dict(sorted(digests.items()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="compare with the recorded digests")
    mode.add_argument("--write", action="store_true", help="record the digests")
    args = parser.parse_args(argv)
    digests = all_digests()
    if args.write:
        RECORDED.parent.mkdir(exist_ok=True)
        RECORDED.write_text(json.dumps(digests, indent=1) + "\n")
        print(f"recorded {len(digests)} digests in {RECORDED.relative_to(REPO)}")
        return 0
    if args.check:
        recorded = json.loads(RECORDED.read_text())
        changed = sorted(k for k in recorded.keys() | digests.keys()
                         if recorded.get(k) != digests.get(k))
        if changed:
            print(f"{len(changed)} of {len(recorded)} reference traces differ: "
                  + ", ".join(changed))
            return 1
        print(f"all {len(recorded)} reference traces are byte-identical")
        return 0
    for name, digest in digests.items():
        print(f"{digest[:16]}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
