"""How fast the served SSM answers real HTTP heartbeats over loopback.

Run ``python benchmarks/serve_bench.py`` (``--quick`` for a smaller run). For N =
100 and 1,000 devices, each with its own keep-alive connection, a separate
driver process (so client and server do not share a GIL) runs two loads against
two servers of the same stack (Starlette on Hypercorn's trio worker) in the same
run:

* ``lab``: ``player-sim serve``'s app: SSM setup, then heartbeats that rotate the
  token (every one recorded as server and wire records, a HAR entry, and judged
  live);
* ``bare``: a Starlette route answering a constant: the floor of the stack.

Loads:

a. ``closed``: every device sends its next heartbeat as soon as the last is
   answered: heartbeats per second (the capacity), and the lab / bare ratio.
   Target: the lab reaches at least 0.5x the bare endpoint's rate.
b. ``paced``: every device heartbeats once per period, spread evenly, the
   period compressed so that the offered load is 100 heartbeats per second
   whatever N (1 s for 100 devices, 10 s for 1,000; in the field 1,000 devices
   at 30 s offer 33 per second): p50 / p99 latency at that load. Target: p99
   under 50 ms at 1,000 devices.

Devices connect and set their sessions up first; the clock starts once all are
ready. ``srv cpu%`` is the server process's CPU time over the wall time of a
load (100: one core busy; well below 100 in a closed loop means the driver or
the machine, not the server, was the limit).

Bounded: each load stops after ``--requests`` heartbeats or ``--seconds``
seconds, whichever comes first. The machine may be shared: read the ratio.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import trio

#: The lab's heartbeat path (tenant "lab").
SETUP = "/lab/ssm/v1/sessions/setup"
HEARTBEAT = "/lab/ssm/v1/sessions/heartbeat"


# --- the driver (a separate process) ------------------------------------------------------------


class _Connection:
    """One device's keep-alive HTTP/1.1 connection: minimal request writer and reader."""

    def __init__(self, stream: trio.SocketStream, host: str) -> None:
        self.stream = stream
        self.host = host
        self.buffer = b""

    async def post(self, path: str, token: str) -> tuple[int, bytes]:
        request = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                   f"nv-authorizations: {token}\r\nContent-Length: 0\r\n\r\n").encode()
        await self.stream.send_all(request)
        while b"\r\n\r\n" not in self.buffer:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            rest += chunk
        self.buffer = rest[length:]
        return status, rest[:length]


async def _drive(url: str, devices: int, mode: str, requests: int, seconds: float,
                 period: float, tokens: list[str]) -> dict[str, Any]:
    host_port = url.removeprefix("http://")
    host, port = host_port.rsplit(":", 1)
    latencies: list[float] = []
    errors = 0
    sent = 0
    ready = 0
    all_ready = trio.Event()
    clock: dict[str, float] = {}

    async def device(index: int) -> None:
        nonlocal errors, sent, ready
        stream = await trio.open_tcp_stream(host, int(port))
        conn = _Connection(stream, host_port)
        status, body = await conn.post(SETUP, tokens[index])
        token = json.loads(body)["sessionToken"] if status == 200 else "none"
        ready += 1
        if ready == devices:
            clock["start"] = trio.current_time()
            all_ready.set()
        await all_ready.wait()
        deadline = clock["start"] + seconds
        next_at = clock["start"] + period * index / devices
        while sent < requests and trio.current_time() < deadline:
            if mode == "paced":
                await trio.sleep_until(next_at)
                next_at += period
            sent += 1
            before = time.perf_counter()
            status, body = await conn.post(HEARTBEAT, token)
            latencies.append(time.perf_counter() - before)
            if status != 200:
                errors += 1
                continue
            token = json.loads(body)["sessionToken"]
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        for index in range(devices):
            nursery.start_soon(device, index)
    start = clock["start"]
    elapsed = trio.current_time() - start
    ordered = sorted(latencies)
    return {"heartbeats": len(latencies), "errors": errors, "seconds": elapsed,
            "rate": len(latencies) / elapsed if elapsed else 0.0,
            "p50_ms": 1000 * statistics.median(ordered) if ordered else 0.0,
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
            if ordered else 0.0}


def _driver_main(args: argparse.Namespace) -> None:
    from player_sim.traffic import mint_content_token

    tokens = [mint_content_token(f"account-{i // 2}", f"device-{i}")
              for i in range(args.devices)]
    result = trio.run(_drive, args.drive, args.devices, args.mode, args.requests, args.seconds,
                      args.period, tokens)
    print(json.dumps(result))


# --- the servers (this process, one thread each) --------------------------------------------------


class _Served:
    """An ASGI app on Hypercorn's trio worker in a thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.url = ""
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)

    async def _main(self) -> None:
        from hypercorn.config import Config
        from hypercorn.trio import serve

        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = None
        config.errorlog = None
        config.backlog = 4096  # a thousand devices may connect at once
        config.keep_alive_timeout = 75.0  # as player-sim serve: devices idle between beats
        self._token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(lambda task_status: serve(
                self.app, config, shutdown_trigger=self._stop.wait,  # type: ignore[union-attr]
                task_status=task_status))
            self.url = binds[0]
            self._ready.set()

    def __enter__(self) -> _Served:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        assert self._token is not None and self._stop is not None
        trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join(10)


def _run_driver(url: str, devices: int, mode: str, requests: int, seconds: float,
                period: float) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--drive", url, "--devices", str(devices), "--mode", mode,
         "--requests", str(requests), "--seconds", str(seconds), "--period", str(period)],
        capture_output=True, text=True, check=False, timeout=seconds + 120)
    if out.returncode != 0:
        raise RuntimeError(f"the driver failed:\n{out.stderr}")
    return dict(json.loads(out.stdout))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller bounds")
    parser.add_argument("--drive", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--devices", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="closed", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--period", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        _driver_main(args)
        return 0

    from player_sim import SsmConfig, WorldConfig
    from player_sim.scenario import LabWorld
    from player_sim.serve import Lab, LabServer, build_bare_app

    requests, seconds = (4_000, 10.0) if args.quick else (20_000, 20.0)
    failed = False
    print(f"{'devices':>7} {'load':>6} {'stack':>5} {'heartbeats':>10} {'per s':>8} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'srv cpu%':>8}")
    for devices in (100, 1_000):
        rates: dict[str, float] = {}
        for mode in ("closed", "paced"):
            for stack in ("bare", "lab"):
                world = WorldConfig(ssm=SsmConfig(max_sessions_per_account=None))
                gc.collect()
                # The lab as player-sim serve runs it (its ticker freezing what survives);
                # the bare app on the same Hypercorn worker.
                served: Any = (_Served(build_bare_app()) if stack == "bare" else
                               LabServer(Lab(LabWorld(world, (), 0)), freeze_gc=True))
                with served:
                    cpu, wall = time.process_time(), time.perf_counter()
                    result = _run_driver(served.url, devices, mode, requests, seconds,
                                         devices / 100)
                    busy = (time.process_time() - cpu) / (time.perf_counter() - wall)
                gc.unfreeze()
                print(f"{devices:>7} {mode:>6} {stack:>5} {result['heartbeats']:>10} "
                      f"{result['rate']:>8.0f} {result['p50_ms']:>7.1f} "
                      f"{result['p99_ms']:>7.1f} {result['errors']:>6} {100 * busy:>7.0f}")
                if mode == "closed":
                    rates[stack] = result["rate"]
                if stack == "lab" and result["errors"]:
                    failed = True
                if mode == "paced" and stack == "lab" and devices == 1_000 \
                        and result["p99_ms"] >= 50:
                    print("        target missed: p99 under 50 ms at 1,000 paced devices")
                    failed = True
        ratio = rates["lab"] / rates["bare"] if rates.get("bare") else 0.0
        print(f"        {devices} devices, closed loop: lab / bare = {ratio:.2f} "
              f"(target >= 0.5)")
        failed |= ratio < 0.5
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
