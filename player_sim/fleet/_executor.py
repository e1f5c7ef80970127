"""One executor seam for every embarrassingly parallel job.

:func:`open_executor` gives a :class:`concurrent.futures.Executor`:

* ``workers=1`` and no address: the calling process (no pickling, no start-up);
* ``workers=N``: a local process pool of N processes (``spawn``: workers import
  player_sim afresh, so nothing of the parent's state leaks into a result);
* ``dask://host:port``: a Dask distributed cluster, through
  ``distributed.Client(...).get_executor()``, the same ``concurrent.futures``
  shape (the optional extra ``player_sim[dask]``).

:func:`run_tasks` runs ``fn`` over tasks and returns the results in task order.
A task whose worker died (a broken process pool, a Dask worker lost) runs again,
on a fresh pool if the pool broke; since every task is a pure function of its
arguments, a result computed twice is the same result. Errors the task itself
raises are not retried: they are bugs or bad input and are raised here.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Final, TypeVar

from .._errors import ConfigError

__all__ = ["InlineExecutor", "open_executor", "run_tasks"]

T = TypeVar("T")
R = TypeVar("R")

#: How many times a lost task is run again before the run gives up.
MAX_ATTEMPTS: Final = 3
_DASK_SCHEME: Final = "dask://"


class InlineExecutor(cf.Executor):
    """Runs each task in the calling process when it is submitted."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> cf.Future[R]:
        future: cf.Future[R] = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # handed to the caller through the future
            future.set_exception(err)
        return future


def check_address(address: str) -> str:
    """``dask://host:port`` -> ``tcp://host:port``; raises :class:`ConfigError` otherwise."""
    if not address.startswith(_DASK_SCHEME) or ":" not in address[len(_DASK_SCHEME):]:
        raise ConfigError(f"an executor address is dask://HOST:PORT (a Dask scheduler), "
                          f"not {address!r}")
    return "tcp://" + address[len(_DASK_SCHEME):]


@contextlib.contextmanager
def open_executor(workers: int = 1, address: str | None = None) -> Iterator[cf.Executor]:
    """The executor for ``workers`` local processes, or the Dask cluster at ``address``."""
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, not {workers}")
    if address is not None:
        scheduler = check_address(address)
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError("--executor dask://... needs Dask distributed: "
                              "pip install 'player_sim[dask]'") from None
        try:
            client = Client(scheduler, timeout=10,  # type: ignore[no-untyped-call]
                            set_as_default=False)
        except OSError as err:
            raise ConfigError(f"can't reach the Dask scheduler at {address}: {err}") from None
        try:
            yield client.get_executor(pure=False)  # type: ignore[no-untyped-call]
        finally:
            client.close()  # type: ignore[no-untyped-call]
        return
    if workers == 1:
        yield InlineExecutor()
        return
    pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


def _lost(err: BaseException) -> bool:
    """Whether ``err`` says the task's worker was lost (rather than the task failing)."""
    if isinstance(err, BrokenProcessPool | cf.CancelledError):
        return True
    return type(err).__name__ in ("KilledWorker", "CommClosedError", "FutureCancelledError")


def run_tasks(executor_factory: Callable[[], contextlib.AbstractContextManager[cf.Executor]],
              fn: Callable[[T], R], tasks: Sequence[T],
              progress: Callable[[int, int], None] | None = None) -> list[R]:
    """``[fn(task) for task in tasks]``, run on executors from ``executor_factory``.

    A task lost with its worker runs again (at most :data:`MAX_ATTEMPTS` times in
    all); a broken pool is replaced. ``progress(done, total)`` is called as tasks
    finish.
    """
    results: dict[int, R] = {}
    attempts = dict.fromkeys(range(len(tasks)), 0)
    while len(results) < len(tasks):
        pending = [i for i in range(len(tasks)) if i not in results]
        with executor_factory() as executor:
            futures = {}
            for i in pending:
                attempts[i] += 1
                futures[executor.submit(fn, tasks[i])] = i
            for future in cf.as_completed(futures):
                i = futures[future]
                try:
                    results[i] = future.result()
                except BaseException as err:
                    if not _lost(err):
                        raise
                    if attempts[i] >= MAX_ATTEMPTS:
                        raise RuntimeError(f"task {i} was lost {attempts[i]} times "
                                           f"(its worker died each time); giving up") from err
                    continue
                if progress is not None:
                    progress(len(results), len(tasks))
    return [results[i] for i in range(len(tasks))]
