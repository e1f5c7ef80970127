"""Durations as files write them: ``"300ms"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"``, ``"1h30m"``.

Declared once, at the bottom of the package, for every file format that reads
them (scenario files, fleet files, command-line options).
"""

from __future__ import annotations

import math
import re
from typing import Final

from ._limits import MAX_DURATION, MIN_DURATION

__all__ = ["DURATION_PATTERN", "duration_problem", "format_duration", "parse_duration"]

_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
#: The JSON Schema pattern of a duration string: one or more number-unit parts.
DURATION_PATTERN: Final = r"^(\d+(\.\d+)?(ms|s|m|h|d))+$"
_DURATION: Final = re.compile(DURATION_PATTERN)
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str) -> float:
    """Seconds in ``"300ms"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"`` or a sum of such
    parts, largest first (``"1h30m"``, ``"2m30s"``).

    Raises ``ValueError`` stating the accepted form otherwise, and for a duration
    outside the bounds of :func:`check_duration`.
    """
    ok = isinstance(text, str) and _DURATION.match(text) is not None
    parts = _PART.findall(text) if ok else []
    order = [list(_UNITS).index(unit) for _, unit in parts]
    if not ok or order != sorted(set(order), reverse=True):
        raise ValueError(f"bad duration {text!r}: write a number followed by a unit "
                         "(ms, s, m, h or d), e.g. 300ms, 30s, 5m, 2h, 1d, 1h30m")
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    problem = duration_problem(seconds)
    if problem is not None:
        raise ValueError(f"duration {text[:40]!r}{'...' if len(text) > 40 else ''} {problem}")
    return seconds


def duration_problem(seconds: float) -> str | None:
    """Why ``seconds`` is not an allowed duration (``None`` if it is): durations are
    finite, and 0 or between 1ms and 366d (see :mod:`player_sim._limits`)."""
    if not math.isfinite(seconds):
        return "is not a finite number of seconds"
    if seconds < 0:
        return "is negative"
    if seconds > MAX_DURATION:
        return "is longer than 366d, the longest duration player_sim accepts"
    if 0 < seconds < MIN_DURATION:
        return "is shorter than 1ms, the shortest duration other than 0"
    return None


def format_duration(seconds: float) -> str:
    """The shortest exact duration string for ``seconds`` (``90.0`` -> ``"90s"``)."""
    for unit in ("d", "h", "m", "s"):
        value = seconds / _UNITS[unit]
        if value >= 1 and value == int(value):
            return f"{int(value)}{unit}"
    millis = seconds * 1000
    if millis == int(millis):
        return f"{int(millis)}ms"
    return f"{round(seconds, 6)}s"
