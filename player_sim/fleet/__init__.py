"""Fleet capacity simulation: a population of accounts and devices against the
backends, split into shards of whole households, run on one executor seam
(in-process, a local process pool, or a Dask cluster), merged into counters.

Read a fleet file with :func:`load_fleet`, run it with :func:`run_fleet`; the
:class:`FleetResult` gives the summary, per-minute series, JSON, CSV and a
fingerprint that does not depend on how the run was split.
"""

from ._executor import InlineExecutor, open_executor, run_tasks
from ._load import SWEEPABLE, fleet_from_text, load_fleet, parse_override
from ._results import FleetResult, ShardResult, percentile
from ._runner import ShardTask, plan_shards, run_fleet, run_many, run_shard
from ._spec import FleetSpec
from ._yaml import FleetFileError, Location, Problem

__all__ = [
    "SWEEPABLE",
    "FleetFileError",
    "FleetResult",
    "FleetSpec",
    "InlineExecutor",
    "Location",
    "Problem",
    "ShardResult",
    "ShardTask",
    "fleet_from_text",
    "load_fleet",
    "open_executor",
    "parse_override",
    "percentile",
    "plan_shards",
    "run_fleet",
    "run_many",
    "run_shard",
    "run_tasks",
]
