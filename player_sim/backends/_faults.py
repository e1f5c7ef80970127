"""Forced errors: "fail the next N calls of this endpoint with this answer"."""

from __future__ import annotations

from collections import deque

import attrs

from .._errors import ConfigError

__all__ = ["Fault", "ForcedFaults"]


@attrs.frozen
class Fault:
    """The answer a forced error gives: HTTP status, backend error code, message."""

    http_status: int
    code: int | None = None
    message: str = ""


@attrs.define
class _Pending:
    fault: Fault
    remaining: int


class ForcedFaults:
    """Per-endpoint queues of forced errors, consumed one call at a time, in order."""

    __slots__ = ("_endpoints", "_queues")

    def __init__(self, endpoints: tuple[str, ...]) -> None:
        self._endpoints = endpoints
        self._queues: dict[str, deque[_Pending]] = {name: deque() for name in endpoints}

    def fail_next(self, endpoint: str, count: int, fault: Fault) -> None:
        """Answer the next ``count`` calls of ``endpoint`` with ``fault``."""
        if endpoint not in self._queues:
            raise ConfigError(f"no endpoint {endpoint!r}; expected one of "
                              f"{', '.join(self._endpoints)}")
        if count < 1:
            raise ConfigError(f"a forced error needs a count of at least 1, not {count}")
        self._queues[endpoint].append(_Pending(fault, count))

    def take(self, endpoint: str) -> Fault | None:
        """The fault for this call of ``endpoint``, or ``None`` to answer normally."""
        queue = self._queues[endpoint]
        if not queue:
            return None
        head = queue[0]
        head.remaining -= 1
        if head.remaining == 0:
            queue.popleft()
        return head.fault

    def copy(self) -> ForcedFaults:
        """An independent copy: the same faults pending, consumed apart from this one's."""
        new = ForcedFaults(self._endpoints)
        for name, queue in self._queues.items():
            new._queues[name] = deque(_Pending(p.fault, p.remaining) for p in queue)
        return new
