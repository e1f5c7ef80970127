"""Device logs as traces: Android logcat lines of the player SDK's events.

A QA app logs the SDK's events (its notifications, the requests it sends and the
answers it reads, its state changes) under one log tag, one event per line, as a
trace record's JSON object; ``adb logcat -v threadtime`` (the default format)
wraps each line so::

    09-21 14:13:20.000  4242  4260 I PlayerSim: {"kind":"action","app":"foreground",...}
    09-21 14:13:20.250  4242  4260 I PlayerSim: {"kind":"ssm_setup_sent","data":{...}}

:func:`read_logcat` keeps the lines of that tag (other tags, ``---------
beginning of main`` banners and blank lines are skipped), takes the time from
the logcat stamp (seconds since the first event; ``t`` in the JSON, when given,
wins), the device from ``device`` (a logcat is one device's) unless the JSON names
one, and checks each record against the trace format. The result is a trace
seen from the device (plus the harness, whose records a harness may log too).
Errors name the file, line and column.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Final

from ..trace import Trace, TraceFormatError, TraceRecord, Vantage, check_record

__all__ = ["DEFAULT_TAG", "read_logcat"]

_SEEN: Final = frozenset({Vantage.DEVICE, Vantage.HARNESS})
#: The log tag read by default.
DEFAULT_TAG: Final = "PlayerSim"
_THREADTIME: Final = re.compile(
    r"^(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})\s+\d+\s+\d+\s+[VDIWEFA]\s+(.+?)\s*: (.*)$")


def read_logcat(text: str, *, source: str = "<logcat>", tag: str = DEFAULT_TAG,
                device: str = "device", year: int = 2026) -> Trace:
    """The trace in the ``tag`` lines of a logcat (threadtime format).

    Raises :class:`~player_sim.trace.TraceFormatError` naming ``source`` and the
    line for a line of that tag whose message is not a valid trace record.
    """
    records: list[TraceRecord] = []
    origin: float | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _THREADTIME.match(line)
        if match is None or match.group(7) != tag:
            continue
        month, day, hour, minute, second, millis = (int(g) for g in match.groups()[:6])
        try:
            stamp = dt.datetime(year, month, day, hour, minute, second, millis * 1000,
                                tzinfo=dt.UTC).timestamp()
        except ValueError:
            raise TraceFormatError(source, number, f"column 1: {line[:18]!r} is not a "
                                   "logcat date and time (MM-DD HH:MM:SS.mmm)") from None
        origin = stamp if origin is None else origin
        message = match.group(8)
        column = line.index(message) + 1
        try:
            item = json.loads(message)
        except ValueError as err:
            raise TraceFormatError(source, number, f"column {column}: the {tag} message is "
                                   f"not a JSON trace record ({err})") from None
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
            raise TraceFormatError(source, number, f"column {column}: the {tag} message must "
                                   'be a JSON object with a "kind"')
        when = item.get("t", round(stamp - origin, 6))
        data = item.get("data", {})
        try:
            if not isinstance(when, int | float) or not isinstance(data, dict):
                raise ValueError('"t" must be a number and "data" an object')
            record = TraceRecord(float(when), item.get("device", device), item["kind"],
                                 item.get("app"), item.get("playback"), data,
                                 item.get("playback_id"))
            if record.vantage not in _SEEN:
                raise ValueError(f"a device log holds what the device saw; {record.kind.value!r} "
                                 f"is seen from the {record.vantage.value}")
            problem = check_record(record)
            if problem is not None:
                raise ValueError(problem)
        except ValueError as err:
            raise TraceFormatError(source, number, f"column {column}: {err}") from None
        records.append(record)
    return Trace(records, vantages=_SEEN)
