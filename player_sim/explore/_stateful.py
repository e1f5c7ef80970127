"""A Hypothesis ``RuleBasedStateMachine`` over the pure player core (no trio, no world).

Two rules: ``act`` performs one of the actions the core accepts now
(:meth:`PlayerCore.can <player_sim.PlayerCore.can>`; none while a synchronous
request blocks the main thread), or kills the app (relaunches it once
killed); ``answer`` gives one of the abstract answers of :mod:`._coremodel` to
an open request. (One ``act`` rule choosing among the accepted actions, rather
than one rule per action with a precondition each, keeps Hypothesis from
testing a dozen preconditions per step: it doubles the steps per second, and a
kill is one choice among the actions instead of a third of all steps.) A
failure's message lists the inputs fed, in order.

Each step's records (the ones a device would write, :mod:`._recording`) go
to the catalogue's monitors (:func:`~._coremodel.step`): after every step no
rule may be broken, plus two checks here: a stale item's heartbeat timer, if
it fires, sends nothing; and the two machines stay in their tables' states.
A third rule, ``refuse``, feeds an action the core refuses now: it must leave
the core unchanged (:data:`~._coremodel.REFUSED_INPUT_UNCHANGED`); those
findings fail the machine only when ``check_contract`` is set.

Use it as a test case (``PlayerCoreMachine.TestCase``) or build one for
another configuration or core (an SDK variant, a mutant) with
:func:`core_machine`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ..player import AppState, CoreConfig, PlaybackState, PlayerCore
from ..player import _events as ev
from ._coremodel import (
    ACTIONS,
    KILL,
    REFUSED_INPUT_UNCHANGED,
    RELAUNCH,
    CoreEnv,
    Finding,
    clone_core,
    core_checker,
    inputs,
    step,
)

__all__ = ["PlayerCoreMachine", "core_machine"]


class PlayerCoreMachine(RuleBasedStateMachine):
    """Drives one :class:`~player_sim.PlayerCore` with actions and abstract answers."""

    config: ClassVar[CoreConfig] = CoreConfig()
    core_type: ClassVar[type[PlayerCore]] = PlayerCore
    #: Whether a refused input that changes the core fails the machine.
    check_contract: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.core = self.core_type(self.config)
        self.env = CoreEnv()
        self.checker = core_checker(self.config)
        self.contract: list[Finding] = []
        self.findings: list[Finding] = []
        self.steps = 0
        self.history: list[str] = []
        self._valid: list[tuple[str, Any]] | None = None
        self._quiet_timers: set[tuple[int, int, str | None]] = set()

    def _apply(self, label: str, event: Any, index: int, used: int) -> None:
        self.env, _, found = step(self.core, self.env, event, index, used, self.checker)
        self._valid = None
        self.steps += 1
        self.history.append(label)
        for finding in found:
            (self.contract if finding.rule_id == REFUSED_INPUT_UNCHANGED
             else self.findings).append(finding)

    def _answers(self) -> list[tuple[str, Any, int, int]]:
        return [choice for choice in inputs(self.core, self.env) if choice[2] >= 0]

    def _actions(self) -> list[tuple[str, Any]]:
        """The actions accepted now, with a kill (or the relaunch), computed once per step."""
        if self._valid is None:
            if self.core.app is AppState.TERMINATED:
                self._valid = [("relaunch", RELAUNCH)]
            elif any(r.blocking for r in self.env.requests):
                self._valid = [("kill", KILL)]  # the main thread is blocked: actions wait
            else:
                self._valid = [(_label(a), a) for a in ACTIONS if self.core.can(a)]
                self._valid.append(("kill", KILL))
        return self._valid

    @rule(choice=st.integers(min_value=0, max_value=255))
    def act(self, choice: int) -> None:
        """Perform one of the actions accepted now, kill the app, or relaunch it."""
        actions = self._actions()
        label, action = actions[choice % len(actions)]
        self._apply(label, action, -1, 0)

    @rule(choice=st.integers(min_value=0, max_value=255))
    def refuse(self, choice: int) -> None:
        """Try an action the core refuses now (if any): it must change nothing."""
        if self.core.app is not AppState.TERMINATED and any(r.blocking
                                                            for r in self.env.requests):
            return  # the shell queues actions while the main thread is blocked
        refused = [a for a in ACTIONS if not self.core.can(a)]
        if refused:
            action = refused[choice % len(refused)]
            self._apply(f"{_label(action)} (refused)", action, -1, 0)

    @precondition(lambda self: bool(self.env.requests)
                  and self.core.app not in (AppState.BACKGROUND, AppState.TERMINATED))
    @rule(choice=st.integers(min_value=0, max_value=255))
    def answer(self, choice: int) -> None:
        """Answer one open request (which one, and how, is ``choice``)."""
        answers = self._answers()
        label, event, index, used = answers[choice % len(answers)]
        self._apply(label, event, index, used)

    @invariant()
    def invariants_hold(self) -> None:
        """No rule broken, a stale timer's silence, the tables' states."""
        failed = [*self.findings, *(self.contract if self.check_contract else ())]
        if failed:
            steps = "\n".join(f"  {n}. {s}" for n, s in enumerate(self.history, 1))
            lines = "\n".join(f"{f.rule_id}: {f.message}" for f in failed)
            raise AssertionError(f"{lines}\nafter:\n{steps}")
        assert isinstance(self.core.app, AppState)
        assert isinstance(self.core.playback, PlaybackState)
        for request in self.env.requests:
            if request.kind != "timer" or request.playback_id == self.core.item_playback_id:
                continue
            seen = (request.playback_id, self.core.item_playback_id, self.core.ssm_token)
            if seen in self._quiet_timers:
                continue
            self._quiet_timers.add(seen)
            effects = clone_core(self.core).feed(ev.HeartbeatDue(request.playback_id))
            sent = [e for e in effects if isinstance(e, ev.SendHeartbeat | ev.ArmHeartbeat)]
            assert not sent, (f"the timer of stale item #{request.playback_id} fired "
                              f"{sent} (current item #{self.core.item_playback_id})")


def _label(action: ev.Action) -> str:
    values = ", ".join(repr(v) for v in attrs.astuple(action, recurse=False))
    return f"{type(action).__name__}({values})"


def core_machine(config: CoreConfig, core_type: type[PlayerCore] = PlayerCore,
                 name: str = "CoreMachine", *,
                 check_contract: bool = False) -> type[PlayerCoreMachine]:
    """A :class:`PlayerCoreMachine` for another SDK configuration or core class
    (``check_contract``: refused inputs that change the core fail it too)."""
    return type(name, (PlayerCoreMachine,), {"config": config, "core_type": core_type,
                                             "check_contract": check_contract})
