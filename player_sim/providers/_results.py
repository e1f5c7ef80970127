"""What providers hand back: a value or an error element, never an exception.

An expected failure (no session, a server error, no connection) completes the
request with an :class:`ErrorElement`; exceptions are for misuse only.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from .._errors import ConfigError
from ..backends import ApiAnswer

__all__ = [
    "BAD_REQUEST",
    "CONNECTION_ERROR",
    "GENERAL_ERROR",
    "LOAD_ERROR",
    "NETKIT_CODES",
    "NOT_FOUND",
    "REQUEST_CANCELLED",
    "SERVICE_ERROR",
    "SERVICE_UNAVAILABLE",
    "SESSION_ERROR",
    "ErrorElement",
    "MediaEntry",
    "MediaResult",
    "PrimitiveResult",
]

#: Network-kit error codes (DOMAIN.md): HTTP-level failures and the session error.
BAD_REQUEST: Final = 400
NOT_FOUND: Final = 404
CONNECTION_ERROR: Final = 408
SERVICE_ERROR: Final = 500
SERVICE_UNAVAILABLE: Final = 503
LOAD_ERROR: Final = 518
REQUEST_CANCELLED: Final = 520
SESSION_ERROR: Final = 601
GENERAL_ERROR: Final = 666
#: Every code the network kit knows (DOMAIN.md); a login failing with another
#: (a server's code) reaches the app as a session error, 601.
NETKIT_CODES: Final = frozenset({BAD_REQUEST, NOT_FOUND, CONNECTION_ERROR, SERVICE_ERROR,
                                 SERVICE_UNAVAILABLE, LOAD_ERROR, REQUEST_CANCELLED,
                                 SESSION_ERROR, GENERAL_ERROR})

_HTTP_NAMES: Final = {BAD_REQUEST: "BadRequestError", NOT_FOUND: "NotFound",
                      CONNECTION_ERROR: "ConnectionError", SERVICE_ERROR: "ServiceError",
                      SERVICE_UNAVAILABLE: "ServiceUnavailableError", LOAD_ERROR: "LoadError",
                      REQUEST_CANCELLED: "RequestCancelled", GENERAL_ERROR: "GeneralError"}


@attrs.frozen
class ErrorElement:
    """Why a request failed: ``code`` (a network-kit number, a Phoenix number or an
    OVP string code), ``name`` and a human ``message``."""

    code: int | str
    name: str
    message: str = ""

    @classmethod
    def session_error(cls, message: str) -> ErrorElement:
        """Code 601: the session provider could not obtain a KS."""
        return cls(SESSION_ERROR, "SessionError", f"Failed to obtain session: {message}")

    @classmethod
    def request_cancelled(cls, message: str) -> ErrorElement:
        """Code 520: the request was cancelled (a media load superseded by a new one)."""
        return cls(REQUEST_CANCELLED, "RequestCancelled", message)

    @classmethod
    def login_failed(cls, answer: ApiAnswer) -> ErrorElement:
        """What a failed login reaches the app as: a network-kit code as it is, any
        other (a server's code) as session error 601 naming it."""
        error = cls.from_answer(answer)
        if error.code in NETKIT_CODES:
            return error
        return cls.session_error(error.describe())

    @classmethod
    def from_answer(cls, answer: ApiAnswer) -> ErrorElement:
        """The error a failed backend answer carries (transport status or body code)."""
        if answer.http_status != 200:
            name = answer.name or _HTTP_NAMES.get(answer.http_status, "HttpError")
            return cls(answer.http_status, name, answer.message)
        assert answer.code is not None, "from_answer() needs a failed answer"
        return cls(answer.code, answer.name or str(answer.code), answer.message)

    def describe(self) -> str:
        return f"{self.code} {self.name}: {self.message}" if self.message else \
            f"{self.code} {self.name}"


def _one_of(instance: Any, _: attrs.Attribute[Any], __: object) -> None:
    has_value = getattr(instance, _VALUE_FIELD[type(instance)]) is not None
    if has_value == (instance.error is not None):
        raise ConfigError(f"a {type(instance).__name__} holds either a value or an error, "
                          "exactly one of them")


@attrs.frozen
class PrimitiveResult:
    """A session-token request's outcome: the KS (``value``) or an ``error``."""

    value: str | None = None
    error: ErrorElement | None = attrs.field(default=None, validator=_one_of)

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen
class MediaEntry:
    """A loaded media entry: its id and DRM data (scheme, license URL), whether the
    playback is under SSM, and the formats (sources) the backend offered."""

    id: str
    drm_scheme: str
    license_url: str
    ssm: bool = True
    formats: tuple[str, ...] = ()


@attrs.frozen
class MediaResult:
    """A media load's outcome: the ``entry`` or an ``error``."""

    entry: MediaEntry | None = None
    error: ErrorElement | None = attrs.field(default=None, validator=_one_of)

    @property
    def ok(self) -> bool:
        return self.error is None


_VALUE_FIELD: Final = {PrimitiveResult: "value", MediaResult: "entry"}
