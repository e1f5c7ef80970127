"""A trace that keeps every record in its own ``append``, as a fleet's does: such a
trace takes no stamps (``Trace.stamp`` answers ``None``), so the fast paths must give
it every record through ``write``/``append``."""

from __future__ import annotations

from player_sim.trace import Trace, TraceRecord


class KeepingTrace(Trace):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[TraceRecord] = []

    def append(self, record: TraceRecord) -> None:
        self.seen.append(record)
        super().append(record)
