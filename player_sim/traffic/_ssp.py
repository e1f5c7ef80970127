"""The SSP license dialect (WIRE.md "SSP license"), Widevine flavour.

``POST /<TENANT>/wvls/contentlicenseservice/v1/licenses`` with
``nv-authorizations: <content token>,<session token>`` and
``{"challenge": "<base64>"}``; the answer is ``{"license": ["<base64>"]}``, with
``sessionToken`` in enforced mode. Errors use the SSM error body.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._common import WireFormatError, dump_json, load_json_object
from ._jwt import INVALID_AUTH_TOKEN
from ._ssm import BAD_REQUEST, ssm_error_body

__all__ = ["LICENSE_PATH", "LicenseRequest", "license_body", "license_error_body",
           "make_license", "parse_license_request"]

#: The path of the Widevine license service, after ``/<TENANT>``.
LICENSE_PATH: Final = "wvls/contentlicenseservice/v1/licenses"


@attrs.frozen
class LicenseRequest:
    """A well-formed license request: both tokens of the header and the challenge."""

    content_token: str
    session_token: str | None
    challenge: bytes


def parse_license_request(headers: Mapping[str, str], body: bytes) -> LicenseRequest:
    """Check a license request (``headers`` with lower-case names).

    Raises :class:`WireFormatError`: 1003 (401) without a content token, 1000
    (400) without a base64 challenge.
    """
    raw = headers.get("nv-authorizations", "")
    content, _, session = (part.strip() for part in raw.partition(","))
    if not content:
        raise WireFormatError("a license request needs nv-authorizations: "
                              "<content token>,<session token>", code=INVALID_AUTH_TOKEN,
                              http_status=401)
    try:
        data = load_json_object(body)
    except WireFormatError as err:
        raise WireFormatError(err.message, code=BAD_REQUEST) from None
    challenge = data.get("challenge")
    if not isinstance(challenge, str) or not challenge:
        raise WireFormatError('a license request needs {"challenge": "<base64>"}',
                              code=BAD_REQUEST)
    try:
        decoded = base64.b64decode(challenge, validate=True)
    except (binascii.Error, ValueError):
        raise WireFormatError("the challenge must be base64", code=BAD_REQUEST) from None
    return LicenseRequest(content, session or None, decoded)


def make_license(content: str, challenge: bytes) -> str:
    """A lab license for ``content`` (base64): deterministic, and no real key inside."""
    return base64.b64encode(b"player_sim-license:" + content.encode() + b":"
                            + challenge[:16]).decode("ascii")


def license_body(license: str, *, session_token: str | None = None) -> bytes:
    """A granted license; a ``session_token`` makes it an enforced-mode answer."""
    body: dict[str, Any] = {"license": [license]}
    if session_token is not None:
        body["sessionToken"] = session_token
        body["sessionDrmEnforced"] = True
    return dump_json(body)


def license_error_body(code: int | None, message: str) -> bytes:
    """A denied license: the SSM error body."""
    return ssm_error_body(code, message)
