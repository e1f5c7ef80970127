"""Every bound player_sim puts on its input and on a run, declared once.

Untrusted scenario files arrive in pull requests; each bound below keeps one
hostile or absurd input (an alias bomb, an include of ``/dev/zero``, ``wait:
1000000d``, a heartbeat every nanosecond) from hanging a run or exhausting
memory, and turns it into a clean error naming the file, line and column.
Each default is far above what a sane scenario reaches. The loaders, the
validators, the world and the command line read the values here; the README's
"Limits" table is :func:`limits_table` (a test keeps the two equal).
"""

from __future__ import annotations

from typing import Final

import attrs

__all__ = ["DEFAULT_MAX_EVENTS", "INCLUDE_ROOT_ENV", "LIMITS", "MAX_DURATION",
           "MAX_EXPLORE_DEPTH", "MAX_FILE_BYTES", "MAX_INCLUDES", "MAX_INTEGER",
           "MAX_KEYWORD_DEPTH", "MAX_NESTING", "MAX_VALUES", "MIN_DURATION",
           "PROJECT_MARKERS", "Limit", "limits_table"]

#: The largest scenario or fragment file read (bytes).
MAX_FILE_BYTES: Final = 1 << 20
#: The most ``include:`` files one scenario reads, counting a file each time it is
#: included (a fan-out of includes including each other stops here).
MAX_INCLUDES: Final = 64
#: The deepest nesting of mappings and lists in a file (a scenario uses about 6).
MAX_NESTING: Final = 64
#: The most values (keys, scalars, lists, mappings) a file holds once aliases are
#: expanded: an alias bomb stops here.
MAX_VALUES: Final = 100_000
#: The largest integer (in absolute value) a scenario file may hold.
MAX_INTEGER: Final = 10**18
#: The longest duration or period (seconds): a year and a day.
MAX_DURATION: Final = 366 * 86400.0
#: The shortest duration other than 0, and the shortest period (seconds).
MIN_DURATION: Final = 0.001
#: World events one scenario run may process before it ends with an error.
DEFAULT_MAX_EVENTS: Final = 1_000_000
#: The deepest nesting of parentheses in a ``-k`` expression.
MAX_KEYWORD_DEPTH: Final = 32
#: The deepest ``explore --exhaustive --depth``: the search grows several-fold per
#: level (the default, 6, takes minutes; 30 would never end).
MAX_EXPLORE_DEPTH: Final = 8
#: The environment variable naming the folder includes must stay inside.
INCLUDE_ROOT_ENV: Final = "PLAYER_SIM_INCLUDE_ROOT"
#: A folder holding one of these is a project: its scenarios may include any
#: file inside it.
PROJECT_MARKERS: Final = ("pyproject.toml", "setup.cfg", "setup.py", "pytest.ini",
                          "tox.ini", ".git")


@attrs.frozen
class Limit:
    """One bound: what it limits, its default, and how to change it."""

    what: str
    default: str
    change: str


#: Every bound, in the order the README lists them.
LIMITS: Final = (
    Limit("size of a scenario or fragment file", f"{MAX_FILE_BYTES:,} bytes",
          "fixed"),
    Limit("files read through `include:` by one scenario (each time a file is included)",
          f"{MAX_INCLUDES}", "fixed"),
    Limit("where an included file may be", "inside the project folder (the nearest folder "
          "above the scenario holding " + ", ".join(f"`{m}`" for m in PROJECT_MARKERS)
          + "), else the scenario's own folder; regular files only",
          f"set `{INCLUDE_ROOT_ENV}` to another folder"),
    Limit("nesting of mappings and lists in a file", f"{MAX_NESTING} levels", "fixed"),
    Limit("values in a file once aliases (`*name`) are expanded", f"{MAX_VALUES:,}",
          "fixed"),
    Limit("integers in a scenario file", "at most 10^18 in absolute value", "fixed"),
    Limit("every duration and period (`wait`, `heartbeat_period`, `ks_validity`, ...; "
          "`SsmConfig` and every other config)", "0, or 1ms to 366d; finite", "fixed"),
    Limit("world events one scenario run processes", f"{DEFAULT_MAX_EVENTS:,}",
          "`max_events:` in the scenario file, or `player-sim run --max-events N`"),
    Limit("nesting of parentheses and `not` in `-k`", f"{MAX_KEYWORD_DEPTH} levels",
          "fixed"),
    Limit("`player-sim explore --exhaustive --depth`", f"at most {MAX_EXPLORE_DEPTH} "
          "(default 6)", "fixed; `explore_exhaustive(depth)` from Python is not capped"),
)


def limits_table() -> str:
    """The README's "Limits" table (Markdown), generated from :data:`LIMITS`."""
    lines = ["| What is limited | Default | How to change it |", "|---|---|---|"]
    lines += [f"| {limit.what} | {limit.default} | {limit.change} |" for limit in LIMITS]
    return "\n".join(lines) + "\n"
