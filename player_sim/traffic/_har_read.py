"""Reading HAR 1.2 captures (WIRE.md "HAR 1.2"): untrusted input, real exporters' shapes.

:func:`read_har` turns the bytes of a ``.har`` file into :class:`CapturedEntry`
values, one per ``log.entries[]`` item, in time order. What exporters differ in is
absorbed here: header name casing (names are lower-cased), ``content.text`` in
base64 (``encoding: "base64"``) or gzip / deflate compressed, a missing
``postData`` (an empty body), entries not in time order (sorted, stably, by
``startedDateTime``), HAR 1.1 files.

A HAR is untrusted: the file is size-capped before parsing, each body
is size-capped, and anything malformed raises :class:`HarError` naming the entry
(its 0-based index in ``log.entries``), what was expected and what to do. No
exception of another type escapes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import zlib
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

from .._errors import PlayerSimError

__all__ = ["MAX_BODY_BYTES", "MAX_HAR_BYTES", "CapturedEntry", "HarError", "read_har"]

#: The largest HAR file read by default (bytes): a capture of hours of many devices.
MAX_HAR_BYTES: Final = 1 << 30
#: The largest body of one entry read by default (bytes, decoded).
MAX_BODY_BYTES: Final = 4 << 20
_VERSIONS: Final = ("1.2", "1.1")


class HarError(PlayerSimError):
    """A HAR file that can't be read: ``entry`` is the 0-based index of the entry at
    fault (``None``: the document itself)."""

    def __init__(self, source: str, message: str, *, entry: int | None = None) -> None:
        where = source if entry is None else f"{source}: entry {entry}"
        super().__init__(f"{where}: {message}")
        self.source = source
        self.entry = entry
        self.message = message


@attrs.frozen
class CapturedEntry:
    """One HTTP exchange of a capture, as the wire dialects read it.

    ``index`` is the entry's 0-based position in ``log.entries`` (reports point at
    it); ``started`` is Unix seconds, ``seconds`` the exchange's duration;
    header names are lower case (a repeated header keeps its first value);
    bodies are bytes, decoded from base64 and decompressed.
    """

    index: int
    started: float
    seconds: float
    method: str
    url: str
    request_headers: Mapping[str, str]
    request_body: bytes
    status: int
    response_headers: Mapping[str, str]
    response_body: bytes

    @property
    def path(self) -> str:
        """The URL's path, without query and fragment."""
        return urlsplit(self.url).path or "/"

    @property
    def ended(self) -> float:
        """When the answer had arrived (Unix seconds)."""
        return self.started + self.seconds


def read_har(data: bytes, *, source: str = "<har>", max_bytes: int = MAX_HAR_BYTES,
             max_body: int = MAX_BODY_BYTES) -> list[CapturedEntry]:
    """The entries of a HAR document, sorted by start time (ties: file order).

    Raises :class:`HarError` for a file over ``max_bytes``, malformed JSON, a
    version other than 1.2 or 1.1, a missing or mistyped field, a body that is
    not valid base64 or compressed data, or a body over ``max_body``.
    """
    if len(data) > max_bytes:
        raise HarError(source, f"the file is {len(data):,} bytes, over the cap of "
                               f"{max_bytes:,}; split the capture or raise --max-size")
    try:
        document = json.loads(data)
    except json.JSONDecodeError as err:
        raise HarError(source, f"line {err.lineno} column {err.colno}: not JSON ({err.msg}); "
                               "export the capture again as HAR") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise HarError(source, "not UTF-8 JSON text; export the capture again as HAR") from None
    log = document.get("log") if isinstance(document, dict) else None
    if not isinstance(log, dict):
        raise HarError(source, 'a HAR document is an object with a "log" object')
    version = log.get("version", "1.2")
    if version not in _VERSIONS:
        raise HarError(source, f"log.version is {version!r}: player_sim reads HAR 1.2 "
                               "(and 1.1)")
    raw_entries = log.get("entries")
    if not isinstance(raw_entries, list):
        raise HarError(source, 'log.entries must be a list of entries')
    entries = [_entry(source, index, raw, max_body) for index, raw in enumerate(raw_entries)]
    entries.sort(key=lambda e: (e.started, e.index))
    return entries


def _need(source: str, index: int, holder: Any, key: str, kind: type | tuple[type, ...],
          where: str) -> Any:
    value = holder.get(key) if isinstance(holder, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(
            k.__name__ for k in kind)
        found = "missing" if value is None else f"a {type(value).__name__}"
        raise HarError(source, f"{where}{key} must be a {expected}, not {found}", entry=index)
    return value


def _started(source: str, index: int, text: str) -> float:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HarError(source, f"startedDateTime {text[:40]!r} is not an ISO 8601 date and "
                               "time", entry=index) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _headers(source: str, index: int, raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise HarError(source, f"{where}headers must be a list", entry=index)
    out: dict[str, str] = {}
    for item in raw:
        name = item.get("name") if isinstance(item, dict) else None
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(name, str) or not isinstance(value, str):
            raise HarError(source, f'{where}headers holds {{"name": ..., "value": ...}} '
                                   "strings", entry=index)
        out.setdefault(name.lower(), value)
    return out


def _body(source: str, index: int, holder: Any, headers: Mapping[str, str], max_body: int,
          where: str) -> bytes:
    if not isinstance(holder, dict):
        return b""
    text = holder.get("text")
    if text is None:
        return b""
    if not isinstance(text, str):
        raise HarError(source, f"{where}text must be a string", entry=index)
    if len(text) > 2 * max_body:
        raise HarError(source, f"{where}text is {len(text):,} characters, over the body cap "
                               f"of {max_body:,} bytes (--max-body)", entry=index)
    if holder.get("encoding") == "base64":
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise HarError(source, f'{where}text is marked "encoding": "base64" but is not '
                                   "base64", entry=index) from None
    else:
        raw = text.encode("utf-8", "surrogatepass")
    raw = _decompress(source, index, raw, headers, max_body, where)
    if len(raw) > max_body:
        raise HarError(source, f"{where}body is {len(raw):,} bytes, over the cap of "
                               f"{max_body:,} (--max-body)", entry=index)
    return raw


def _decompress(source: str, index: int, raw: bytes, headers: Mapping[str, str],
                max_body: int, where: str) -> bytes:
    """Gzip or deflate bytes (some exporters keep the body as it crossed the wire)."""
    encoding = headers.get("content-encoding", "").strip().lower()
    gzip_magic = raw[:2] == b"\x1f\x8b"
    if not gzip_magic and encoding != "deflate":
        return raw
    try:
        decoder = zlib.decompressobj(47 if gzip_magic else zlib.MAX_WBITS)
        out = decoder.decompress(raw, max_body + 1)
    except zlib.error:
        if encoding == "deflate":
            return raw  # an exporter that stored the decoded text anyway
        raise HarError(source, f"{where}body starts like gzip but does not decompress",
                       entry=index) from None
    if len(out) > max_body:
        raise HarError(source, f"{where}body decompresses to over the cap of {max_body:,} "
                               "bytes (--max-body)", entry=index)
    return out


def _entry(source: str, index: int, raw: Any, max_body: int) -> CapturedEntry:
    if not isinstance(raw, dict):
        raise HarError(source, "an entry must be an object", entry=index)
    started = _started(source, index, _need(source, index, raw, "startedDateTime", str, ""))
    millis = raw.get("time", 0)
    if not isinstance(millis, int | float) or isinstance(millis, bool) or millis < 0:
        millis = 0  # some exporters write -1 or nothing for an exchange cut short
    request = _need(source, index, raw, "request", dict, "")
    response = _need(source, index, raw, "response", dict, "")
    method = _need(source, index, request, "method", str, "request.")
    url = _need(source, index, request, "url", str, "request.")
    status = _need(source, index, response, "status", int, "response.")
    request_headers = _headers(source, index, request.get("headers"), "request.")
    response_headers = _headers(source, index, response.get("headers"), "response.")
    request_body = _body(source, index, request.get("postData"), request_headers, max_body,
                         "request.postData.")
    response_body = _body(source, index, response.get("content"), response_headers, max_body,
                          "response.content.")
    return CapturedEntry(index, started, float(millis) / 1000.0, method.upper(), url,
                         request_headers, request_body, status, response_headers,
                         response_body)
