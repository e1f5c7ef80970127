"""How player_sim asks the cyclic garbage collector to stay out of long runs.

Two moments of a run spend much of their CPU in the collector without freeing
anything: building many objects that live as long as the run (a fleet's devices),
and a batch command's run over objects made at import. Both helpers leave the
caller's collector exactly as they found it, even on error; a collector the caller
disabled, or objects the caller froze (``gc.get_freeze_count()``), are left alone.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["BATCH_YOUNG_THRESHOLD", "batch_run", "long_lived"]

#: Allocations between two young collections during :func:`batch_run` (the
#: interpreter's default is 700): a scenario suite makes a few hundred collections
#: instead of about 150 per 84 files, each still bounded in what it traverses.
BATCH_YOUNG_THRESHOLD = 20_000


@contextlib.contextmanager
def long_lived() -> Iterator[None]:
    """Build long-lived objects: the collector paused meanwhile, and what is alive at
    the end moved to its oldest generation at no cost (``gc.freeze()`` then
    ``gc.unfreeze()``), still collected once garbage by the next full collection."""
    if not gc.isenabled():  # the caller manages the collector: leave it alone
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():  # (unfreezing would thaw what the caller froze)
            gc.freeze()
            gc.unfreeze()
        gc.enable()


@contextlib.contextmanager
def batch_run(young: int = BATCH_YOUNG_THRESHOLD) -> Iterator[None]:
    """Run a batch command (``player-sim run``): what is alive on entry (the modules
    and their objects, garbage never) is set aside, so no collection traverses it, and
    a young collection comes every ``young`` allocations. Garbage made during the run is
    still collected; on exit the objects set aside rejoin the oldest generation and the
    thresholds are the caller's again."""
    if not gc.isenabled() or gc.get_freeze_count():
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
