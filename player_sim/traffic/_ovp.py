"""The OVP (Kaltura) dialect: answers as a real OVP server writes them.

One call answers its object itself; a multirequest a bare JSON array (no
``result`` wrapper); an error is
``{"objectType": "KalturaAPIException", "code": "INVALID_KS", "message": ..., "args": {}}``
in the result's place, with HTTP 200. ``user/loginByLoginId`` answers the KS
string alone, ``session/end`` answers ``null``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ._common import dump_json
from ._phoenix import DRM_SCHEME_NAMES

__all__ = ["ovp_body", "ovp_error", "ovp_object"]


def ovp_error(code: int | str | None, message: str) -> dict[str, Any]:
    """The error object standing where a call's result would be."""
    return {"objectType": "KalturaAPIException", "code": "" if code is None else str(code),
            "message": message, "args": {}}


_OBJECTS: Final[Mapping[str, Callable[[Mapping[str, Any], Callable[[float], int]], Any]]] = {
    "session/startWidgetSession": lambda v, _: {
        "objectType": "KalturaStartWidgetSessionResponse", "partnerId": v["partner_id"],
        "ks": v["ks"], "userId": 0},
    "user/loginByLoginId": lambda v, _: v["ks"],
    "session/get": lambda v, epoch: {
        "objectType": "KalturaSessionInfo", "ks": v["ks"], "partnerId": v["partner_id"],
        "userId": v["user_id"], "expiry": epoch(v["expiry"])},
    "session/end": lambda v, _: None,
    "baseEntry/getPlaybackContext": lambda v, _: {
        "objectType": "KalturaPlaybackContext",
        "sources": [{"objectType": "KalturaPlaybackSource", "deliveryProfileId": 1,
                     "drm": [{"objectType": "KalturaDrmPlaybackPluginData",
                              "scheme": "drm." + DRM_SCHEME_NAMES.get(v["drm_scheme"],
                                                                       v["drm_scheme"]),
                              "licenseURL": v["license_url"]}]}],
        "actions": [], "messages": []},
}


def ovp_object(call: str, value: Mapping[str, Any], epoch: Callable[[float], int]) -> Any:
    """The Kaltura object answering ``call`` (``service/action``) with ``value``."""
    return _OBJECTS[call](value, epoch)


def ovp_body(results: Sequence[Any], *, multi: bool) -> bytes:
    """The HTTP 200 body: one result, or a multirequest's bare array."""
    return dump_json(list(results) if multi else results[0])
