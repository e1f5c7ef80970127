"""What Phoenix (OTT) and OVP requests share: the URL, the envelope, multirequests.

A request goes to ``service/<service>/action/<action>`` (one call) or to
``service/multirequest`` with calls under ``"1"``, ``"2"``, ...; the envelope
keys (``clientTag``, ``apiVersion``, ``format``, and a multirequest's default
``ks``) are not parameters. A parameter ``"{1:result:loginSession:ks}"`` refers
to a field of an earlier call's result (``"{1:result}"``: the whole result);
:func:`resolve_references` replaces it once that result is known.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from ._common import WireFormatError, load_json_object

__all__ = ["ApiCall", "KalturaRequest", "UnresolvedReference", "parse_kaltura_path",
           "parse_kaltura_request", "resolve_references"]

#: Keys of a request body that are not call parameters.
ENVELOPE: Final = frozenset({"clientTag", "apiVersion", "format", "partnerId_"})
_PATH: Final = re.compile(r"^service/(?:(multirequest)|([A-Za-z]\w*)/action/([A-Za-z]\w*))/?$")
_REFERENCE: Final = re.compile(r"^\{(\d+):result((?::[A-Za-z0-9_]+)*)\}$")
#: At most this many calls in one multirequest.
MAX_CALLS: Final = 50


@attrs.frozen
class ApiCall:
    """One logical call: ``service/action`` and its parameters (references unresolved)."""

    service: str
    action: str
    params: Mapping[str, Any]

    @property
    def name(self) -> str:
        return f"{self.service}/{self.action}"


@attrs.frozen
class KalturaRequest:
    """A well-formed request: its calls in order, and whether it was a multirequest."""

    calls: tuple[ApiCall, ...]
    multi: bool


class UnresolvedReference(WireFormatError):
    """A ``{N:result...}`` reference to a call that failed, is later, or lacks the field."""


def parse_kaltura_path(tail: str) -> tuple[str, str] | None:
    """``(service, action)`` of a path after ``api_v3/`` (``("multirequest", "")`` for
    a multirequest), or ``None`` when it is not an API path."""
    match = _PATH.match(tail)
    if match is None:
        return None
    if match.group(1):
        return "multirequest", ""
    return match.group(2), match.group(3)


def parse_kaltura_request(service: str, action: str, body: bytes) -> KalturaRequest:
    """The calls of a request to ``service/action`` (or a multirequest) with ``body``.

    Raises :class:`WireFormatError` for a body that is not a JSON object, or a
    multirequest whose calls are not numbered ``"1"``, ``"2"``, ... objects
    with ``service`` and ``action``.
    """
    data = load_json_object(body)
    if service != "multirequest":
        params = {k: v for k, v in data.items() if k not in ENVELOPE}
        return KalturaRequest((ApiCall(service, action, params),), False)
    default_ks = data.get("ks")
    numbered = sorted((int(k), v) for k, v in data.items() if k.isdigit())
    if not numbered:
        raise WireFormatError('a multirequest needs its calls under "1", "2", ...')
    if len(numbered) > MAX_CALLS:
        raise WireFormatError(f"a multirequest holds at most {MAX_CALLS} calls, "
                              f"not {len(numbered)}")
    calls = []
    for expected, (number, item) in enumerate(numbered, start=1):
        if number != expected:
            raise WireFormatError(f'multirequest calls are numbered "1", "2", ... without '
                                  f'gaps; "{expected}" is missing')
        if not isinstance(item, dict):
            raise WireFormatError(f'multirequest call "{number}" must be an object')
        svc, act = item.get("service"), item.get("action")
        if not isinstance(svc, str) or not isinstance(act, str) or not svc or not act:
            raise WireFormatError(f'multirequest call "{number}" needs "service" and "action"')
        params = {k: v for k, v in item.items() if k not in ("service", "action")}
        if default_ks is not None and "ks" not in params:
            params["ks"] = default_ks
        calls.append(ApiCall(svc, act, params))
    return KalturaRequest(tuple(calls), True)


def _follow(value: Any, path: str, number: int) -> Any:
    for key in path.split(":")[1:]:
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        else:
            raise UnresolvedReference(f"{{{number}:result{path}}}: call {number}'s result "
                                      f"has no {key!r}")
    return value


def resolve_references(params: Mapping[str, Any], results: Sequence[Any],
                       failed: frozenset[int] = frozenset()) -> dict[str, Any]:
    """``params`` with each ``{N:result:...}`` string replaced from ``results[N-1]``.

    ``failed`` holds the 1-based numbers of calls that answered an error.
    Raises :class:`UnresolvedReference` for a reference that can't be followed.
    """
    out: dict[str, Any] = {}
    for key, value in params.items():
        match = _REFERENCE.match(value) if isinstance(value, str) else None
        if match is None:
            out[key] = value
            continue
        number = int(match.group(1))
        if number < 1 or number > len(results):
            raise UnresolvedReference(f"{value}: only calls before this one can be referred to")
        if number in failed:
            raise UnresolvedReference(f"{value}: call {number} failed")
        out[key] = _follow(results[number - 1], match.group(2), number)
    return out
