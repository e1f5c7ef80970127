"""The SDK model: a public seam for SDK variants of the SSM client.

The player core implements the documented SDK (``seeds/000_7011756516eda0b2.txt``
and DOMAIN.md). A QA team whose SDK version behaves differently, or that wants
a deliberately wrong SDK to prove its checks can fail (a *mutant*), subclasses
:class:`SdkModel`, overrides the hooks that differ and passes an instance as
``DeviceConfig(sdk=...)`` (or ``CoreConfig(sdk=...)``). Each hook's default is
the documented behaviour; the core asks the hooks only when an ``sdk`` is
given, so the default path stays as fast as before.
"""

from __future__ import annotations

from .._messages import SsmAnswer

__all__ = ["SdkModel"]


class SdkModel:
    """The documented SDK's SSM client decisions, one overridable hook each."""

    def read_answer(self, answer: SsmAnswer) -> SsmAnswer:
        """How the SDK reads an SSM answer (setup, heartbeat, teardown) before acting
        on it. Documented: as it is, the body deciding success (``answer.ok``)."""
        return answer

    def rotates_tokens(self) -> bool:
        """Whether a successful heartbeat's new token replaces the current one
        (documented: yes, "a NEW token that must be used on the next call")."""
        return True

    def license_token(self, token: str | None) -> str | None:
        """The session token the license request carries (documented: the current one)."""
        return token

    def sends_teardown(self) -> bool:
        """Whether releasing a player item sends its SSM teardown (documented: yes)."""
        return True

    def teardown_blocks(self, sync_configured: bool) -> bool:
        """Whether a teardown blocks the main thread and delays the next stream's
        setup until it is answered (documented: exactly when syncSSMSetupTeardown is on)."""
        return sync_configured
