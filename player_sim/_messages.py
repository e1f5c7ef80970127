"""What crosses the simulated wire between the player and the backends.

A value here is shared by both sides: the SSM server answers one, the player
core reads it. It lives below both (ARCHITECTURE.md, principle 9), so a backend
never imports the player and the player never imports a backend. Each value is
public where its users meet it: :class:`SsmAnswer` as
``player_sim.events.SsmAnswer``.
"""

from __future__ import annotations

import attrs

from ._validators import typed

__all__ = ["ContentToken", "SsmAnswer"]


@attrs.frozen
class SsmAnswer:
    """An SSM server's answer: HTTP status plus the body's fields.

    The body decides success, not the status: the older SRM session API answered 200 with
    the error in the body (DOMAIN.md), so ``ok`` requires no ``ssm_code``.
    """

    http_status: int
    ssm_code: int | None = None
    message: str = ""
    token: str | None = None
    heartbeat_period: float | None = None

    @property
    def ok(self) -> bool:
        return self.ssm_code is None and 200 <= self.http_status < 300


@attrs.frozen(field_transformer=typed)
class ContentToken:
    """The content token (an SSP ContentAuthZ JWT) a setup carries in
    ``nv-authorizations`` (WIRE.md), reduced to what the SSM server reads of it.

    ``account_id`` is the claim ``device.accountId``: the account the session
    counts against (``None``: the device's configured account). ``max_sessions`` is
    ``contentRights[].sessionControl.maxSessions``: the account's limit (``None``:
    the server's configuration). ``empty``: the token is empty, and the setup fails
    with 1003 (invalid auth token).
    """

    account_id: str | None = None
    max_sessions: int | None = None
    empty: bool = False
