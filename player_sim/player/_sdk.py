"""The SDK model: a public seam for SDK variants of the SSM client.

The player core implements the documented SDK (``seeds/000_7011756516eda0b2.txt``
and DOMAIN.md). A QA team whose SDK version behaves differently, or that wants
a deliberately wrong SDK to prove its checks can fail (a *mutant*), subclasses
:class:`SdkModel`, overrides the hooks that differ and passes an instance as
``DeviceConfig(sdk=...)`` (or ``CoreConfig(sdk=...)``, or ``sdk: module:Name``
in a scenario file). Each hook's default is the documented behaviour; the core
asks the hooks only when an ``sdk`` is given, so the default path stays as fast
as before.

Every SSM / license decision of the client is one hook:

===========================  ==============================================================
decision                     hook
===========================  ==============================================================
reading an answer            :meth:`~SdkModel.read_answer` (told which call it answers)
tokens                       :meth:`~SdkModel.rotates_tokens`,
                             :meth:`~SdkModel.heartbeat_token`,
                             :meth:`~SdkModel.teardown_token`, :meth:`~SdkModel.license_token`
setup                        :meth:`~SdkModel.setup_blocks`,
                             :meth:`~SdkModel.license_waits_for_setup`
heartbeat (Android: renewal) :meth:`~SdkModel.heartbeat_period`, :meth:`~SdkModel.heartbeats_in`,
                             :meth:`~SdkModel.cancels_heartbeat_on_stop`
teardown                     :meth:`~SdkModel.sends_teardown`, :meth:`~SdkModel.teardown_blocks`
errors                       :meth:`~SdkModel.notifies_error`, :meth:`~SdkModel.error_notice`,
                             :meth:`~SdkModel.retries`
explorer contract            :meth:`~SdkModel.state`, :meth:`~SdkModel.copy`
===========================  ==============================================================

A model with state of its own (a counter, a remembered token) keeps it in its
attributes; the exhaustive explorer copies the model with :meth:`~SdkModel.copy`
for every branch it explores and tells states apart by :meth:`~SdkModel.state`,
so override ``state`` to return that state (hashable). A model must be picklable
(plain attributes) so that campaigns can run it on a process pool.
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Hashable
from typing import Final, Literal, get_args

from .._messages import SsmAnswer

__all__ = ["SSM_CALLS", "SdkModel", "SsmCall"]

#: The SSM calls an answer can answer (and an error can be about).
SsmCall = Literal["setup", "heartbeat", "teardown"]
SSM_CALLS: Final[tuple[SsmCall, ...]] = get_args(SsmCall)


class SdkModel:
    """The documented SDK's SSM client decisions, one overridable hook each."""

    # --- answers -------------------------------------------------------------------------

    def read_answer(self, answer: SsmAnswer, call: SsmCall) -> SsmAnswer:
        """How the SDK reads the answer to ``call`` (``"setup"``, ``"heartbeat"``,
        ``"teardown"``) before acting on it. Documented: as it is, the body deciding
        success (``answer.ok``)."""
        return answer

    # --- tokens --------------------------------------------------------------------------

    def rotates_tokens(self) -> bool:
        """Whether a successful heartbeat's new token replaces the current one
        (documented: yes, "a NEW token that must be used on the next call")."""
        return True

    def heartbeat_token(self, current: str, setup_token: str) -> str:
        """The token a heartbeat carries, given the ``current`` one and the one the
        setup answered (documented: the current one)."""
        return current

    def teardown_token(self, current: str, setup_token: str) -> str:
        """The token a teardown carries (documented: the current one, the last
        heartbeat rotated in; not ``setup_token``)."""
        return current

    def license_token(self, token: str | None) -> str | None:
        """The session token the license request carries (documented: the current one)."""
        return token

    # --- when calls are sent --------------------------------------------------------------

    def setup_blocks(self, sync_configured: bool) -> bool:
        """Whether a setup blocks the main thread (documented: exactly when
        syncSSMSetupTeardown is on)."""
        return sync_configured

    def license_waits_for_setup(self) -> bool:
        """Whether the license request waits for the setup answer (documented: yes,
        "The session token is used as part of the license request"). ``False``: a
        license request without a token leaves beside the setup (and the one with the
        token after its answer)."""
        return True

    def heartbeat_period(self, answered: float) -> float:
        """The heartbeat period used, given the one the setup ``answered`` (documented:
        that one; 0 means no heartbeat)."""
        return answered

    def heartbeats_in(self, app: str) -> bool:
        """Whether the heartbeat timer sends while the app is ``app`` (``"foreground"``,
        ``"pip"``, ``"background"``). Documented: in the foreground and in PiP ("the SSM
        service works as normal"), not in normal background (iOS suspends the app's
        timers; the overdue heartbeat leaves at the foreground). A ``False`` timer keeps
        ticking without sending."""
        return app != "background"

    def cancels_heartbeat_on_stop(self) -> bool:
        """Whether releasing the session (stop, zap, item release) cancels its heartbeat
        timer (documented: yes). ``False``: the timer goes on with the released token."""
        return True

    def sends_teardown(self) -> bool:
        """Whether releasing a player item sends its SSM teardown (documented: yes)."""
        return True

    def teardown_blocks(self, sync_configured: bool) -> bool:
        """Whether a teardown blocks the main thread and delays the next stream's
        setup until it is answered (documented: exactly when syncSSMSetupTeardown is on)."""
        return sync_configured

    # --- errors --------------------------------------------------------------------------

    def notifies_error(self, call: SsmCall, answer: SsmAnswer) -> bool:
        """Whether a failed ``call`` posts its error notification (documented: always,
        for setup, heartbeat and teardown). ``False``: the SDK only logs it."""
        return True

    def error_notice(self, call: SsmCall, answer: SsmAnswer) -> SsmAnswer:
        """The HTTP status, SSM code and message a failed ``call``'s notification
        carries (documented: the answer's own, "HTTP error codes and SSM error messages")."""
        return answer

    def retries(self, call: SsmCall, answer: SsmAnswer, attempt: int) -> bool:
        """Whether the SDK sends ``call`` again after its ``attempt``-th failure (1 for
        the first) instead of giving up and notifying. Documented: never."""
        return False

    # --- the explorer's contract -----------------------------------------------------------

    def state(self) -> Hashable:
        """This model's own state, hashable: two models with equal states behave alike
        from here on (the exhaustive explorer's state key). Default: none, ``()``."""
        return ()

    def copy(self) -> SdkModel:
        """An independent copy, for a branch of the exhaustive explorer (default: a
        shallow copy; override it if an attribute is a mutable container)."""
        return _copy.copy(self)

    def __repr__(self) -> str:
        return f"{type(self).__module__}:{type(self).__qualname__}()"
