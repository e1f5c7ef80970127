"""Where a mistake in an input file is, and the sentence that states it.

Shared by every loader of user files (scenario files, fleet files, lab files):
each reports ``file:line:column: sentence`` the same way.
"""

from __future__ import annotations

import attrs

__all__ = ["Location", "Problem"]


@attrs.frozen(order=True)
class Location:
    """Where something was written: ``file`` and 1-based ``line`` and ``column``."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@attrs.frozen
class Problem:
    """One mistake in an input file: where, and a sentence stating the rule and the fix."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"
