"""Importing player_sim pauses the cyclic collector (``_collector.long_lived``): the
objects made at import live as long as the process, so no collection walks them while
they are made; the caller's collector is left as it was found."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import gc
{before}
collections = []
gc.callbacks.append(lambda phase, info: collections.append(info["generation"])
                    if phase == "start" else None)
thresholds, frozen, enabled = gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()
import player_sim
import player_sim.world
gc.callbacks.clear()
# (frozen objects may die meanwhile: the count never grows, and is never reset to 0)
print(len(collections), gc.get_threshold() == thresholds,
      0 < gc.get_freeze_count() <= frozen if frozen else gc.get_freeze_count() == 0,
      gc.isenabled() == enabled, gc.isenabled())
"""


def _probe(before: str = "") -> list[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(before=before)],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def test_importing_player_sim_runs_no_collection_and_restores_the_collector() -> None:
    collections, thresholds, frozen, enabled, on = _probe()
    # a few while typing and the package itself load, before the pause; 35 without it
    assert int(collections) <= 5
    assert (thresholds, frozen, enabled, on) == ("True", "True", "True", "True")


def test_a_collector_the_caller_disabled_or_froze_is_left_alone() -> None:
    assert _probe("gc.disable()")[1:] == ["True", "True", "True", "False"]
    assert _probe("gc.freeze()")[1:] == ["True", "True", "True", "True"]
