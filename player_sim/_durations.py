"""Durations as files write them: ``"300ms"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"``, ``"1h30m"``.

Declared once, at the bottom of the package, for every file format that reads
them (scenario files, fleet files, command-line options).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["DURATION_PATTERN", "format_duration", "parse_duration"]

_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
#: The JSON Schema pattern of a duration string: one or more number-unit parts.
DURATION_PATTERN: Final = r"^(\d+(\.\d+)?(ms|s|m|h|d))+$"
_DURATION: Final = re.compile(DURATION_PATTERN)
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str) -> float:
    """Seconds in ``"300ms"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"`` or a sum of such
    parts, largest first (``"1h30m"``, ``"2m30s"``).

    Raises ``ValueError`` stating the accepted form otherwise.
    """
    ok = isinstance(text, str) and _DURATION.match(text) is not None
    parts = _PART.findall(text) if ok else []
    order = [list(_UNITS).index(unit) for _, unit in parts]
    if not ok or order != sorted(set(order), reverse=True):
        raise ValueError(f"bad duration {text!r}: write a number followed by a unit "
                         "(ms, s, m, h or d), e.g. 300ms, 30s, 5m, 2h, 1d, 1h30m")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


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
