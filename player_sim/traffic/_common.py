"""What every wire dialect shares: the format error and safe JSON reading.

Parsers raise :class:`WireFormatError` for input a real backend would refuse;
the HTTP shell translates it, at one boundary, into the backend's own error
shape (an SSM 400 body, a Phoenix 200 error body, ...). ``code`` and
``http_status`` are the ones the backend would answer with.
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import PlayerSimError

__all__ = ["WireFormatError", "dump_json", "load_json", "load_json_object"]


class WireFormatError(PlayerSimError):
    """Input that breaks a wire format: ``message`` states the rule and the fix."""

    def __init__(self, message: str, *, code: int | str | None = None,
                 http_status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status


def load_json(body: bytes, *, empty: Any = None) -> Any:
    """The JSON value of ``body`` (``empty`` for an empty body).

    Raises :class:`WireFormatError` for bytes that are not UTF-8 JSON.
    """
    if not body.strip():
        return empty
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise WireFormatError(f"the body is not JSON ({err.__class__.__name__}): "
                              "send a UTF-8 JSON document") from None


def load_json_object(body: bytes) -> dict[str, Any]:
    """The JSON object of ``body`` (``{}`` for an empty body); anything else is refused."""
    value = load_json(body, empty={})
    if not isinstance(value, dict):
        raise WireFormatError(f"the body must be a JSON object, not {type(value).__name__}")
    return value


def dump_json(value: Any) -> bytes:
    """Compact JSON bytes, key order as given (the wire is read by clients, not diffed)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
