"""The Phoenix (Kaltura OTT) dialect: answers as a real Phoenix server writes them.

Every answer is HTTP 200, errors included (a transport failure aside), with
string codes: ``{"executionTime": ..., "result": <object>}`` for one call,
``"result": [...]`` for a multirequest; an error is
``{"error": {"objectType": "KalturaAPIException", "code": "500016", ...}}`` in
the result's place, in a single call and in a multirequest alike.

:func:`phoenix_object` turns a backend's answer value into the Kaltura object
of its call; ``epoch`` converts the backend's seconds into Unix time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ._common import dump_json

__all__ = ["DRM_SCHEME_NAMES", "phoenix_body", "phoenix_error", "phoenix_object",
           "read_phoenix_results"]

#: Phoenix's DRM scheme names, by the simulator's.
DRM_SCHEME_NAMES: Final[Mapping[str, str]] = {
    "widevine": "WIDEVINE_CENC", "playready": "PLAYREADY_CENC", "fairplay": "FAIRPLAY"}


def phoenix_error(code: int | str | None, message: str) -> dict[str, Any]:
    """The error object standing where a call's result would be."""
    return {"error": {"objectType": "KalturaAPIException",
                      "code": "" if code is None else str(code), "message": message}}


def _login_session(value: Mapping[str, Any]) -> dict[str, Any]:
    session: dict[str, Any] = {"objectType": "KalturaLoginSession", "ks": value["ks"]}
    if value.get("refresh_token") is not None:
        session["refreshToken"] = value["refresh_token"]
    return session


def _playback_context(value: Mapping[str, Any]) -> dict[str, Any]:
    drm = [{"objectType": "KalturaDrmPlaybackPluginData",
            "scheme": DRM_SCHEME_NAMES.get(value["drm_scheme"], value["drm_scheme"]),
            "licenseURL": value["license_url"]}]
    return {"objectType": "KalturaPlaybackContext",
            "sources": [{"objectType": "KalturaPlaybackSource", "type": fmt, "format": fmt,
                         "assetId": value["asset_id"], "drm": drm}
                        for fmt in value.get("formats", ())],
            "actions": [], "messages": []}


_OBJECTS: Final[Mapping[str, Callable[[Mapping[str, Any], Callable[[float], int]], Any]]] = {
    "ottUser/login": lambda v, _: {
        "objectType": "KalturaLoginResponse",
        "user": {"objectType": "KalturaOTTUser", "id": v.get("user_id", "")},
        "loginSession": _login_session(v)},
    "ottUser/anonymousLogin": lambda v, _: _login_session(v),
    "ottUser/refreshSession": lambda v, _: _login_session(v),
    "ottUser/logout": lambda v, _: True,
    "session/get": lambda v, epoch: {
        "objectType": "KalturaSession", "ks": v["ks"], "expiry": epoch(v["expiry"]),
        "userId": v["user_id"], "partnerId": v["partner_id"], "udid": v.get("udid")},
    "asset/getPlaybackContext": lambda v, _: _playback_context(v),
}


def phoenix_object(call: str, value: Mapping[str, Any], epoch: Callable[[float], int]) -> Any:
    """The Kaltura object answering ``call`` (``service/action``) with ``value``."""
    return _OBJECTS[call](value, epoch)


def phoenix_body(results: Sequence[Any], *, multi: bool, execution_time: float = 0.0) -> bytes:
    """The HTTP 200 body: one result, or a multirequest's list of results."""
    result = list(results) if multi else results[0]
    return dump_json({"executionTime": round(execution_time, 3), "result": result})


def read_phoenix_results(body: Any) -> list[Any]:
    """The results of a parsed Phoenix answer, a single call's as a list of one."""
    result = body.get("result") if isinstance(body, dict) else None
    return list(result) if isinstance(result, list) else [result]
