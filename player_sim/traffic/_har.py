"""HAR 1.2 (WIRE.md "HAR 1.2"): one entry per HTTP exchange, as capture tools write it.

:class:`Exchange` is one request and its answer; :func:`har_entry` and
:func:`har_log` build the HAR document (``log.entries[]`` with
``startedDateTime``, ``time``, ``request`` and ``response``). One Kaltura
multirequest is one entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

__all__ = ["Exchange", "har_entry", "har_log"]

_REASONS: Final = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
                   403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
                   408: "Request Timeout", 409: "Conflict", 413: "Content Too Large",
                   500: "Internal Server Error", 503: "Service Unavailable"}


@attrs.frozen
class Exchange:
    """One HTTP exchange: when it started (Unix seconds), how long it took, both sides.

    Header names are as received; bodies are text (a binary body is not expected
    on these APIs and is decoded with replacement characters).
    """

    started: float
    seconds: float
    method: str
    url: str
    request_headers: Sequence[tuple[str, str]]
    request_body: str
    status: int
    response_headers: Sequence[tuple[str, str]]
    response_body: str


def _headers(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def _content_type(pairs: Sequence[tuple[str, str]]) -> str:
    for name, value in pairs:
        if name.lower() == "content-type":
            return value
    return ""


def har_entry(exchange: Exchange) -> dict[str, Any]:
    """The HAR 1.2 entry of ``exchange``."""
    started = dt.datetime.fromtimestamp(exchange.started, dt.UTC)
    millis = round(exchange.seconds * 1000, 3)
    request: dict[str, Any] = {
        "method": exchange.method, "url": exchange.url, "httpVersion": "HTTP/1.1",
        "cookies": [], "headers": _headers(exchange.request_headers), "queryString": [],
        "headersSize": -1, "bodySize": len(exchange.request_body.encode())}
    if exchange.request_body:
        request["postData"] = {"mimeType": _content_type(exchange.request_headers),
                               "text": exchange.request_body}
    return {
        "startedDateTime": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "time": millis,
        "request": request,
        "response": {
            "status": exchange.status, "statusText": _REASONS.get(exchange.status, ""),
            "httpVersion": "HTTP/1.1", "cookies": [],
            "headers": _headers(exchange.response_headers),
            "content": {"size": len(exchange.response_body.encode()),
                        "mimeType": _content_type(exchange.response_headers),
                        "text": exchange.response_body},
            "redirectURL": "", "headersSize": -1,
            "bodySize": len(exchange.response_body.encode())},
        "cache": {},
        "timings": {"send": 0, "wait": millis, "receive": 0},
    }


def har_log(entries: Iterable[dict[str, Any]], *, version: str) -> dict[str, Any]:
    """The HAR document holding ``entries``, created by player_sim ``version``."""
    return {"log": {"version": "1.2", "creator": {"name": "player_sim", "version": version},
                    "entries": list(entries)}}
