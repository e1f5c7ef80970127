"""The trace: every event of a simulation, as frozen records, and its JSONL form.

One record per line, keys sorted, no spaces::

    {"app":"foreground","data":{"stream":"channel-1"},"device":"phone","kind":"playback_started","playback":"playing","t":0.16}

* ``t``: virtual seconds since the simulation started (rounded to the microsecond);
* ``device``: the device's name, or ``null`` for a world or server event;
* ``kind``: what happened (see the README's trace section for the list);
* ``app`` / ``playback``: the device's states *after* the event (``null`` for
  world events);
* ``data``: the event's payload, a JSON object.

The same simulation and seed always give byte-identical JSONL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from ._errors import PlayerSimError

__all__ = ["Trace", "TraceFormatError", "TraceRecord"]

_EMPTY: Mapping[str, Any] = {}


@attrs.frozen(slots=True)
class TraceRecord:
    """One event. ``data`` must be treated as read-only."""

    t: float
    device: str | None
    kind: str
    app: str | None = None
    playback: str | None = None
    data: Mapping[str, Any] = _EMPTY

    def to_json(self) -> str:
        return json.dumps(
            {"t": round(self.t, 6), "device": self.device, "kind": self.kind, "app": self.app,
             "playback": self.playback, "data": dict(self.data)},
            sort_keys=True, separators=(",", ":"))


class TraceFormatError(PlayerSimError):
    """A JSONL trace line is malformed; ``line`` is 1-based."""

    def __init__(self, source: str, line: int, message: str) -> None:
        self.source = source
        self.line = line
        super().__init__(f"{source}:{line}: {message}")


_FIELDS = {"t": (int, float), "device": (str, type(None)), "kind": (str,),
           "app": (str, type(None)), "playback": (str, type(None)), "data": (dict,)}


class Trace:
    """An append-only list of :class:`TraceRecord`, in virtual-time order."""

    __slots__ = ("_records",)

    def __init__(self, records: Iterable[TraceRecord] = ()) -> None:
        self._records: list[TraceRecord] = list(records)

    def append(self, record: TraceRecord) -> None:
        self._records.append(record)

    def __iter__(self) -> Iterator[TraceRecord]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index: int) -> TraceRecord:
        return self._records[index]

    def of_kind(self, *kinds: str, device: str | None = None) -> list[TraceRecord]:
        """The records of the given kinds (of one device when ``device`` is given)."""
        return [r for r in self._records
                if r.kind in kinds and (device is None or r.device == device)]

    def to_jsonl(self) -> str:
        """The whole trace as JSONL text (ends with a newline unless empty)."""
        return "".join(r.to_json() + "\n" for r in self._records)

    @classmethod
    def from_jsonl(cls, text: str, source: str = "<trace>") -> Trace:
        """Parse JSONL text; a bad line raises :class:`TraceFormatError` naming it."""
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise TraceFormatError(source, number, f"not JSON: {err.msg} at column "
                                       f"{err.colno}") from None
            if not isinstance(obj, dict):
                raise TraceFormatError(source, number, "expected a JSON object per line")
            for key, types in _FIELDS.items():
                if key not in obj and key in ("t", "kind"):
                    raise TraceFormatError(source, number, f"missing required key {key!r}")
                # bool is an int to isinstance, but never a valid value here.
                if key in obj and (not isinstance(obj[key], types) or obj[key] is True
                                   or obj[key] is False):
                    raise TraceFormatError(source, number, f"{key!r} has the wrong type "
                                           f"({type(obj[key]).__name__})")
            if not math.isfinite(obj["t"]):
                raise TraceFormatError(source, number, "'t' must be a finite number of "
                                       f"seconds, not {obj['t']!r}")
            unknown = sorted(set(obj) - set(_FIELDS))
            if unknown:
                raise TraceFormatError(source, number, f"unknown key {unknown[0]!r}; "
                                       f"expected {', '.join(sorted(_FIELDS))}")
            records.append(TraceRecord(float(obj["t"]), obj.get("device"), obj["kind"],
                                       obj.get("app"), obj.get("playback"),
                                       obj.get("data", {})))
        return cls(records)
