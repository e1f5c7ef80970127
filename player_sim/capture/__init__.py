"""Captured traffic judged by the rules: HAR files, device logs, the live proxy.

:func:`read_capture` reads a HAR 1.2 file (untrusted: size caps, clean
:class:`~player_sim.traffic.HarError` with the entry index) into a
:class:`Capture`, a wire-vantage :class:`~player_sim.Trace` read through the
same wire dialects as ``player-sim serve`` (:mod:`player_sim.traffic`);
:func:`judge_capture` judges it on the rules the wire can show and lists the
others as not judged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from ..traffic import MAX_BODY_BYTES, MAX_HAR_BYTES, HarError, read_har
from ._draw import render_capture
from ._from_trace import har_of_trace
from ._logs import DEFAULT_TAG, read_logcat
from ._report import CaptureReport, RuleLine, judge_capture, redact_text
from ._wire import CAPTURE_VANTAGES, UNKNOWN_DEVICE, Capture, capture_trace

#: The mitmproxy addon (``mitmdump -s``); it imports mitmproxy, this package does not.
ADDON_PATH: Final = Path(__file__).with_name("mitm_addon.py")

__all__ = [
    "ADDON_PATH",
    "CAPTURE_VANTAGES",
    "DEFAULT_TAG",
    "UNKNOWN_DEVICE",
    "Capture",
    "CaptureReport",
    "RuleLine",
    "capture_trace",
    "har_of_trace",
    "judge_capture",
    "read_capture",
    "read_logcat",
    "redact_text",
    "render_capture",
]


def read_capture(path: str | Path, *, device_header: str | None = None,
                 max_bytes: int = MAX_HAR_BYTES, max_body: int = MAX_BODY_BYTES) -> Capture:
    """The capture in the HAR file at ``path``.

    Raises :class:`~player_sim.traffic.HarError` for a file that can't be read
    (naming the file and, where one is at fault, the entry).
    """
    source = str(path)
    try:
        size = Path(path).stat().st_size
        if size > max_bytes:
            raise HarError(source, f"the file is {size:,} bytes, over the cap of "
                                   f"{max_bytes:,}; split the capture or raise --max-size")
        data = Path(path).read_bytes()
    except OSError as err:
        raise HarError(source, f"can't read it: {err.strerror}") from None
    entries = read_har(data, source=source, max_bytes=max_bytes, max_body=max_body)
    return capture_trace(entries, device_header=device_header)
