"""Task functions the fleet tests send to worker processes (importable by name there)."""

from __future__ import annotations

import os

from player_sim.fleet import ShardResult, ShardTask, run_shard

#: Set by the test: a directory where the first attempt of each shard leaves a mark.
MARKS_ENV = "PLAYER_SIM_TEST_DIE_ONCE"


def die_once_then_run(task: ShardTask) -> ShardResult:
    """The first attempt at each shard kills its worker process; a second one runs it."""
    marks = os.environ[MARKS_ENV]
    mark = os.path.join(marks, f"shard-{task.first}")
    if not os.path.exists(mark):
        with open(mark, "w") as handle:
            handle.write("died once\n")
        os._exit(13)
    return run_shard(task)
