"""Running a lab: Hypercorn's trio worker, a clock ticker, and the files written at the end.

:func:`serve_lab` serves until its ``stop`` event is set, then writes
``<prefix>.trace.jsonl``, ``<prefix>.har`` and ``<prefix>.verdict.json``, each
atomically (a temporary file renamed over the target), so Ctrl-C or SIGTERM
never leaves half a file. :class:`LabServer` runs one in a background thread
(for the pytest fixture, benchmarks and tests).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import ipaddress
import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import trio

from .._errors import ConfigError
from ._app import DEFAULT_MAX_BODY, Changes, build_app
from ._lab import Lab, har_document
from ._tls import Tls

__all__ = ["LabServer", "check_bind", "har_document", "is_loopback", "serve_lab",
           "write_outputs"]

#: Longest sleep of the ticker, so expiries are recorded within this many seconds.
_TICK: Final = 0.5
#: How often (seconds) a lab with ``freeze_gc`` freezes what survived.
_FREEZE_EVERY: Final = 1.0


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as open() would have made it, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outputs(lab: Lab, prefix: Path) -> list[Path]:
    """Write the trace, the HAR and the verdict of ``lab`` next to ``prefix``; return them."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    lab.sync()
    verdict = lab.verdict()
    files = [(Path(f"{prefix}.trace.jsonl"), lab.trace.to_jsonl()),
             (Path(f"{prefix}.har"), json.dumps(har_document(lab), indent=1) + "\n"),
             (Path(f"{prefix}.verdict.json"), json.dumps(verdict, indent=1) + "\n")]
    for path, text in files:
        _write_atomic(path, text)
    return [path for path, _ in files]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, control_token: str | None) -> None:
    """Refuse a non-loopback bind without a control token (anyone on the network could
    otherwise inject faults, kill sessions and read the trace)."""
    if not is_loopback(host) and not control_token:
        raise ConfigError(f"binding {host} exposes the lab to the network: give "
                          "--control-token (the control API and operator calls then need "
                          "it), or bind 127.0.0.1")


async def _tick(lab: Lab, changes: Changes, freeze_gc: bool) -> None:
    """Keep the world on the wall clock between requests, so expiries are recorded
    (and waiters woken) even when no device calls; with ``freeze_gc``, move what
    survived into the collector's permanent generation about once a second."""
    world = lab.world
    frozen_at = trio.current_time()
    while True:
        before = len(lab.world.trace)
        lab.sync()
        if len(lab.world.trace) != before:
            changes.notify()
        if freeze_gc:
            if lab.world is not world:  # a reset: let the old world's cycles go
                world = lab.world
                gc.unfreeze()
                gc.collect()
            if trio.current_time() - frozen_at >= _FREEZE_EVERY:
                gc.freeze()
                frozen_at = trio.current_time()
        due = lab.world.next_event_time()
        wait = _TICK if due is None else min(_TICK, max(due - lab.now(), 0.0) + 0.001)
        await trio.sleep(wait)


async def serve_lab(lab: Lab, *, host: str = "127.0.0.1", port: int = 0,
                    max_body: int = DEFAULT_MAX_BODY, stop: trio.Event,
                    prefix: Path | None = None, freeze_gc: bool = False,
                    tls: Tls | None = None,
                    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve ``lab`` on ``host:port`` (0: a free port) until ``stop`` is set; over
    HTTPS with ``tls``.

    Reports the base URL (``http://host:port`` or ``https://...``) through ``task_status``; writes
    the outputs to ``prefix`` (if given) once stopped, whatever stopped it, if it
    served at all (a lab that could not bind leaves earlier outputs alone).

    ``freeze_gc`` is for a process that serves only this lab (``player-sim
    serve``): the lab keeps every record until a reset, and the collector's
    full passes over them stalled every answer for hundreds of milliseconds at
    1,000 devices; frozen each second (:func:`gc.freeze`), they are skipped.
    """
    from hypercorn.config import Config
    from hypercorn.trio import serve

    check_bind(host, lab.control_token)
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.backlog = 4096  # a thousand devices may connect at once
    config.graceful_timeout = 1.0
    config.keep_alive_timeout = 75.0
    if tls is not None:
        tls.check()
        config.certfile = str(tls.certfile)
        config.keyfile = str(tls.keyfile)
    changes = Changes()
    app = build_app(lab, max_body=max_body, changes=changes)
    served = False
    try:
        async with trio.open_nursery() as outer:
            outer.start_soon(_tick, lab, changes, freeze_gc)
            async with trio.open_nursery() as inner:
                binds = await inner.start(functools.partial(
                    serve, app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
                served = True
                task_status.started(binds[0])
            outer.cancel_scope.cancel()  # Hypercorn has closed its connections
    finally:
        if prefix is not None and served:
            write_outputs(lab, prefix)


class LabServer:
    """A lab served from a background thread: ``start()``, use ``url``, ``stop()``.

    For harnesses, tests and benchmarks; ``player-sim serve`` runs in the
    foreground instead. Also a context manager.
    """

    def __init__(self, lab: Lab, *, host: str = "127.0.0.1", port: int = 0,
                 max_body: int = DEFAULT_MAX_BODY, prefix: Path | None = None,
                 freeze_gc: bool = False, tls: Tls | None = None) -> None:
        self.lab = lab
        self._tls = tls
        self._host, self._port, self._max_body, self._prefix = host, port, max_body, prefix
        self._freeze_gc = freeze_gc
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._error: BaseException | None = None
        self.url = ""

    def start(self, timeout: float = 10.0) -> LabServer:
        """Start serving; returns once the port is bound (raises what went wrong)."""
        if self._thread is not None:
            raise ConfigError("this LabServer was started already; make a new one")
        self._thread = threading.Thread(target=self._run, name="player_sim-lab", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the lab did not start within {timeout:g}s")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        async def main() -> None:
            self._token = trio.lowlevel.current_trio_token()
            self._stop = trio.Event()
            await self._start_serving()

        try:
            trio.run(main)
        except BaseException as err:  # reported to start() or stop()
            self._error = err
        finally:
            self._ready.set()

    async def _start_serving(self) -> None:
        async with trio.open_nursery() as nursery:
            self.url = await nursery.start(self._serve)
            self._ready.set()

    async def _serve(self, task_status: trio.TaskStatus[str]) -> None:
        assert self._stop is not None
        await serve_lab(self.lab, host=self._host, port=self._port, max_body=self._max_body,
                        stop=self._stop, prefix=self._prefix, freeze_gc=self._freeze_gc,
                        tls=self._tls, task_status=task_status)

    def run_sync(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` in the server's thread (the lab is not thread-safe)."""
        if self._token is None:
            raise ConfigError("the lab server is not running")
        return trio.from_thread.run_sync(fn, trio_token=self._token)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (writing the outputs, if a prefix was given) and wait for it."""
        if self._thread is None or self._token is None or self._stop is None:
            return
        stop = self._stop
        with contextlib.suppress(trio.RunFinishedError):
            trio.from_thread.run_sync(stop.set, trio_token=self._token)
        self._thread.join(timeout)
        if self._error is not None:
            raise self._error

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
