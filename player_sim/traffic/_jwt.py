"""Content tokens: the SSP ContentAuthZ JWT that carries a device's identity.

In the real system "the account and the limit travel inside the content token"
(DOMAIN.md): ``device.accountId`` names the account and
``contentRights[].sessionControl.maxSessions`` the limit. A lab token is
unsigned (``alg: none``) or signed with a local secret (``HS256``)::

    {"typ": "ContentAuthZ", "ver": "1.0",
     "device": {"accountId": "alice", "deviceId": "phone-1"},
     "contentRights": [{"contentId": "channel-1", "sessionControl": {"maxSessions": 2}}]}

A token the lab can't read is refused with SSM's 1003 (invalid auth token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Final

import attrs

from ._common import WireFormatError

__all__ = ["INVALID_AUTH_TOKEN", "ContentToken", "mint_content_token", "read_content_token"]

#: The SSM code for a content token the server can't accept.
INVALID_AUTH_TOKEN: Final = 1003


@attrs.frozen
class ContentToken:
    """What a content token says: account, device, the account's limit, the content."""

    account: str
    device: str
    max_sessions: int | None = None
    content: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(signing_input: str, secret: str) -> str:
    return _b64(hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest())


def mint_content_token(account: str, device: str, *, max_sessions: int | None = None,
                       content: str | None = None, secret: str | None = None) -> str:
    """A content token for ``device`` of ``account``: unsigned, or HS256 with ``secret``."""
    header = {"alg": "HS256" if secret else "none", "typ": "JWT"}
    right: dict[str, Any] = {}
    if content is not None:
        right["contentId"] = content
    if max_sessions is not None:
        right["sessionControl"] = {"maxSessions": max_sessions}
    claims = {"typ": "ContentAuthZ", "ver": "1.0",
              "device": {"accountId": account, "deviceId": device},
              "contentRights": [right] if right else []}
    signing_input = (f"{_b64(json.dumps(header, separators=(',', ':')).encode())}."
                     f"{_b64(json.dumps(claims, separators=(',', ':')).encode())}")
    return f"{signing_input}.{_sign(signing_input, secret) if secret else ''}"


def _refuse(message: str) -> WireFormatError:
    return WireFormatError(message, code=INVALID_AUTH_TOKEN, http_status=401)


def read_content_token(token: str, *, secret: str | None = None) -> ContentToken:
    """The identity in ``token``; with ``secret``, only an HS256 token signed with it.

    Raises :class:`WireFormatError` (SSM code 1003, HTTP 401) for anything else.
    """
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise _refuse("the content token is not a JWT (header.claims.signature): "
                      "mint one with `player-sim token`")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise _refuse("the content token's header or claims are not base64url JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _refuse("the content token's header and claims must be JSON objects")
    if secret is not None:
        expected = _sign(f"{parts[0]}.{parts[1]}", secret)
        if header.get("alg") != "HS256" or not hmac.compare_digest(parts[2], expected):
            raise _refuse("the content token is not signed with this lab's secret (HS256)")
    device = claims.get("device")
    if not isinstance(device, dict):
        raise _refuse("the content token has no device claim: it needs "
                      "device.accountId and device.deviceId")
    account, name = device.get("accountId"), device.get("deviceId")
    if not isinstance(account, str) or not account or not isinstance(name, str) or not name:
        raise _refuse("the content token's device claim needs non-empty accountId and deviceId")
    max_sessions: int | None = None
    content: str | None = None
    rights = claims.get("contentRights")
    if isinstance(rights, list) and rights and isinstance(rights[0], dict):
        raw_content = rights[0].get("contentId")
        content = raw_content if isinstance(raw_content, str) else None
        control = rights[0].get("sessionControl")
        if isinstance(control, dict):
            limit = control.get("maxSessions")
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                if limit is not None:
                    raise _refuse("contentRights[0].sessionControl.maxSessions must be a "
                                  f"positive whole number, not {limit!r}")
            else:
                max_sessions = limit
    return ContentToken(account, name, max_sessions, content)
