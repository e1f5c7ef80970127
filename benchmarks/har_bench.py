"""How fast a HAR capture is judged, and how much memory it takes.

Run ``python benchmarks/har_bench.py`` (``--entries N``, default 100,000;
``--quick`` for 10,000). A capture is generated in the player_sim HAR shape
(:func:`player_sim.traffic.har_entry`): 1,000 devices, each a setup, a license
request, heartbeats every 30 s with the token rotating, a teardown, played one
after another in overlapping waves, until N entries. Then, in the same run:

a. the peer: plain ``json.load`` of the file (the floor of any HAR reader);
b. player_sim: :func:`player_sim.capture.read_capture` (read, decode, records
   through the wire dialects) and :func:`player_sim.capture.judge_capture` (every
   rule the wire can show): HAR entries judged per second, and the ratio to (a).

Peak memory of each (``tracemalloc``, a second pass so the timing is not slowed
by it) is reported in MiB. Exit status 1 if the generated good capture fails a rule.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from player_sim.capture import judge_capture, read_capture
from player_sim.traffic import Exchange, har_entry, har_log, mint_content_token

_EPOCH = 1_790_000_000.0


def _exchanges(count: int, devices: int = 1000) -> Iterator[Exchange]:
    """A good capture of ``count`` entries: sessions of ``devices`` devices, by wave."""
    made = 0
    wave = 0
    while made < count:
        for d in range(devices):
            if made >= count:
                return
            name = f"dev-{d}"
            start = _EPOCH + wave * 400.0 + d * 0.25
            content = mint_content_token(f"acct-{d // 2}", name, content=f"ch-{wave}")
            token = f"tok-{name}-{wave}-0"
            steps: list[tuple[float, str, str, str, int, str]] = [
                (0.0, "ssm/v1/sessions/setup", content, "{}", 200,
                 json.dumps({"heartBeat": 30, "heartbeat": 30, "sessionToken": token})),
                (0.3, "wvls/contentlicenseservice/v1/licenses", f"{content},{token}",
                 '{"challenge":"Q0g="}', 200, '{"license":["TA=="]}')]
            for n in range(1, 9):
                new = f"tok-{name}-{wave}-{n}"
                steps.append((30.0 * n, "ssm/v1/sessions/heartbeat", token, "", 200,
                              json.dumps({"sessionToken": new})))
                token = new
            steps.append((30.0 * 8 + 5, "ssm/v1/sessions/teardown", token, "", 204, ""))
            for at, path, auth, body, status, answer in steps:
                if made >= count:
                    return
                made += 1
                yield Exchange(start + at, 0.02, "POST", f"https://ssm.example/t/{path}",
                               [("nv-authorizations", auth)], body, status,
                               [("content-type", "application/json")] if answer else [],
                               answer)
        wave += 1


def _write(path: Path, count: int) -> None:
    entries = sorted((har_entry(e) for e in _exchanges(count)),
                     key=lambda e: e["startedDateTime"])
    path.write_text(json.dumps(har_log(entries, version="bench")), encoding="utf-8")


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _peak(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / (1 << 20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 entries")
    args = parser.parse_args()
    count = 10_000 if args.quick else args.entries
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "capture.har"
        _write(path, count)
        size = path.stat().st_size / (1 << 20)

        def peer() -> Any:
            with path.open("rb") as f:
                return json.load(f)

        def ours() -> Any:
            capture = read_capture(path)
            return capture, judge_capture(capture, source=str(path))

        peer_s, _ = _timed(peer)
        ours_s, (capture, report) = _timed(ours)
        peer_mib, ours_mib = _peak(peer), _peak(ours)
    print(f"capture: {count:,} entries, {size:.1f} MiB, {len(capture.devices):,} devices, "
          f"{len(capture.trace):,} records")
    print(f"a. json.load (peer):        {peer_s:7.2f} s  {count / peer_s:>11,.0f} entries/s  "
          f"peak {peer_mib:7.1f} MiB")
    print(f"b. read + judge (player_sim): {ours_s:5.2f} s  {count / ours_s:>11,.0f} entries/s  "
          f"peak {ours_mib:7.1f} MiB")
    print(f"   ratio: {ours_s / peer_s:.1f}x the peer's time, {ours_mib / peer_mib:.1f}x its "
          "peak memory")
    if report.failed:
        print(report.text(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
