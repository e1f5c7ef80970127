"""The player lifecycle, declared once as data.

Two orthogonal machines describe one player:

* the **app** machine: is the application in the foreground, in normal
  background (suspended by the OS: no timers, no heartbeats), in
  picture-in-picture (background, but "the SSM service works as normal"), or
  terminated (killed: no teardown is ever sent);
* the **playback** machine: idle, then the play pipeline (KS, media load, SSM
  setup, license request), playing or paused, then stopping (a synchronous
  teardown in flight), stopped, or failed.

Rules this table encodes (the quotes are from ``seeds/000_7011756516eda0b2.txt``):

* "every playback will have an SSM session": with an SSM server URL, ``play``
  and ``zap`` go through ``ssm_setup`` before ``license_request``; without one
  they go straight to ``license_request``.
* "If the request for a session token fails ... the license request will fail,
  and playback can not continue": ``ssm_setup_failed`` leads to ``failed``,
  never to ``license_request``.
* "SettingsyncSSMSetupTeardown to true blocks the main thread": a synchronous
  teardown is the ``stopping`` state; an asynchronous one leaves the player
  ``stopped`` at once while the teardown is still on the wire.
* Zap "stops the current stream and starts a new or the same one": with a
  synchronous teardown the new stream starts only after ``teardown_done``.
* Normal background suspends playback (``suspend``: playing to paused);
  "When the application returns to the foreground, if no error notification is
  received, playback can resume" (``resume``, decided by the app policy).

The tables below build the machines, draw the diagram (:mod:`._diagram`) and
drive exhaustive exploration. Nothing restates them. Conditions and callbacks
are names of :class:`~._core.PlayerCore` methods. A player core fires them
through :class:`CompiledTable`, each machine compiled once to a lookup of its
rows (the ``transitions`` machinery per trigger was a third of creating a
playing device); the ``transitions`` machines stay the reference, and a test
fires both on every row with every outcome of its conditions.
"""

from __future__ import annotations

import enum
from typing import Any, Final, NamedTuple

from transitions import Machine

__all__ = [
    "ACTIVE_PLAYBACK_STATES",
    "APP_MACHINE",
    "APP_TABLE",
    "APP_TRANSITIONS",
    "PLAYBACK_MACHINE",
    "PLAYBACK_TABLE",
    "PLAYBACK_TRANSITIONS",
    "AppState",
    "CompiledRow",
    "CompiledTable",
    "PlaybackState",
]


class AppState(enum.Enum):
    """Where the application is, as the OS sees it."""

    FOREGROUND = "foreground"
    BACKGROUND = "background"
    PIP = "pip"
    TERMINATED = "terminated"


class PlaybackState(enum.Enum):
    """Where the player is in one playback's lifecycle."""

    IDLE = "idle"
    OBTAINING_KS = "obtaining_ks"
    LOADING_MEDIA = "loading_media"
    SSM_SETUP = "ssm_setup"
    LICENSE_REQUEST = "license_request"
    PLAYING = "playing"
    PAUSED = "paused"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


P = PlaybackState
A = AppState

#: States a playback passes through before it plays.
_STARTING: Final = [P.OBTAINING_KS, P.LOADING_MEDIA, P.SSM_SETUP, P.LICENSE_REQUEST]
#: States in which a playback is under way and can be stopped or zapped away from.
_ACTIVE: Final = [*_STARTING, P.PLAYING, P.PAUSED]
#: The playback states in which a playback is under way (starting, playing or paused):
#: it can be stopped or zapped away from, and its errors concern the app.
ACTIVE_PLAYBACK_STATES: Final[frozenset[PlaybackState]] = frozenset(_ACTIVE)
#: States whose player item may hold an SSM session (set up, not yet released).
_HOLDING: Final = [P.LICENSE_REQUEST, P.PLAYING, P.PAUSED, P.STOPPED]


#: A new stream's first stage, in the order the conditions are tried.
_FIRST_STAGES: Final = ((P.OBTAINING_KS, "_has_session_provider"), (P.SSM_SETUP, "_uses_ssm"),
                        (P.LICENSE_REQUEST, None))


def _start_pipeline(trigger: str, source: list[P] | P, before: str, *,
                    may_hold_session: bool, stages: tuple[P, ...] = (
                        P.OBTAINING_KS, P.SSM_SETUP, P.LICENSE_REQUEST),
                    ) -> list[dict[str, Any]]:
    """Where a new stream's pipeline begins, first matching condition wins.

    From a state whose player item may hold an SSM session, a synchronous
    teardown of it must finish first (``stopping``). Otherwise the pipeline
    starts at the first of ``stages`` whose condition holds; the last one is
    unconditional. Only rows that can fire are written: a state reached only
    with a session provider lists just ``obtaining_ks``, and a session is held
    only once its setup was answered (``license_request`` on).
    """
    common = {"trigger": trigger, "source": source, "before": before, "after": "_enter_stage"}
    rows: list[dict[str, Any]] = []
    if may_hold_session:
        rows.append({**common, "dest": P.STOPPING, "conditions": "_teardown_blocks"})
    for dest, condition in _FIRST_STAGES:
        if dest not in stages:
            continue
        if dest is stages[-1]:
            rows.append({**common, "dest": dest})
        else:
            rows.append({**common, "dest": dest, "conditions": condition})
    return rows


def _after_media(trigger: str, source: P) -> list[dict[str, Any]]:
    common = {"trigger": trigger, "source": source, "after": "_enter_stage"}
    return [
        {**common, "dest": P.SSM_SETUP, "conditions": "_uses_ssm"},
        {**common, "dest": P.LICENSE_REQUEST},
    ]


PLAYBACK_TRANSITIONS: Final[list[dict[str, Any]]] = [
    *_start_pipeline("play", [P.IDLE, P.FAILED], "_begin_play", may_hold_session=False),
    *_start_pipeline("play", P.STOPPED, "_begin_play", may_hold_session=True),
    *_start_pipeline("zap", _HOLDING, "_begin_zap", may_hold_session=True),
    *_start_pipeline("zap", P.FAILED, "_begin_zap", may_hold_session=False),
    *_start_pipeline("zap", [P.OBTAINING_KS, P.LOADING_MEDIA], "_begin_zap",
                     may_hold_session=False, stages=(P.OBTAINING_KS,)),
    *_start_pipeline("zap", P.SSM_SETUP, "_begin_zap", may_hold_session=False,
                     stages=(P.OBTAINING_KS, P.SSM_SETUP)),
    {"trigger": "ks_obtained", "source": P.OBTAINING_KS, "dest": P.LOADING_MEDIA,
     "after": "_enter_stage"},
    {"trigger": "ks_failed", "source": P.OBTAINING_KS, "dest": P.FAILED, "after": "_enter_failed"},
    *_after_media("media_loaded", P.LOADING_MEDIA),
    {"trigger": "media_load_failed", "source": P.LOADING_MEDIA, "dest": P.FAILED,
     "after": "_enter_failed"},
    {"trigger": "ssm_setup_succeeded", "source": P.SSM_SETUP, "dest": P.LICENSE_REQUEST,
     "after": "_enter_stage"},
    {"trigger": "ssm_setup_failed", "source": P.SSM_SETUP, "dest": P.FAILED,
     "after": "_enter_failed"},
    {"trigger": "license_granted", "source": P.LICENSE_REQUEST, "dest": P.PLAYING,
     "after": "_enter_playing"},
    {"trigger": "license_denied", "source": P.LICENSE_REQUEST, "dest": P.FAILED,
     "after": "_enter_failed"},
    {"trigger": "suspend", "source": P.PLAYING, "dest": P.PAUSED},
    {"trigger": "resume", "source": P.PAUSED, "dest": P.PLAYING},
    {"trigger": "stop", "source": [P.LICENSE_REQUEST, P.PLAYING, P.PAUSED], "dest": P.STOPPING,
     "conditions": "_teardown_blocks", "before": "_begin_stop"},
    {"trigger": "stop", "source": _ACTIVE, "dest": P.STOPPED, "before": "_begin_stop",
     "after": "_enter_stopped"},
    {"trigger": "teardown_done", "source": P.STOPPING, "dest": P.OBTAINING_KS,
     "conditions": ["_has_pending_stream", "_has_session_provider"], "after": "_enter_stage"},
    # Only a player item holding an SSM session blocks in ``stopping``, so a pending
    # stream always goes through SSM setup (or the KS first): there is no row to
    # ``license_request`` here, it could never fire.
    {"trigger": "teardown_done", "source": P.STOPPING, "dest": P.SSM_SETUP,
     "conditions": ["_has_pending_stream", "_uses_ssm"], "after": "_enter_stage"},
    {"trigger": "teardown_done", "source": P.STOPPING, "dest": P.STOPPED,
     "after": "_enter_stopped"},
    # Releasing the player item is an internal transition: the state stays.
    {"trigger": "release_item", "source": [P.IDLE, P.STOPPED, P.FAILED], "dest": None,
     "after": "_release_item"},
]

APP_TRANSITIONS: Final[list[dict[str, Any]]] = [
    {"trigger": "enter_background", "source": A.FOREGROUND, "dest": A.PIP,
     "conditions": "_pip_takes_over"},
    {"trigger": "enter_background", "source": A.FOREGROUND, "dest": A.BACKGROUND,
     "after": "_suspend_app"},
    {"trigger": "enter_pip", "source": A.FOREGROUND, "dest": A.PIP},
    {"trigger": "leave_pip", "source": A.PIP, "dest": A.FOREGROUND},
    {"trigger": "close_pip", "source": A.PIP, "dest": A.BACKGROUND, "after": "_suspend_app"},
    {"trigger": "enter_foreground", "source": A.PIP, "dest": A.FOREGROUND},
    {"trigger": "enter_foreground", "source": A.BACKGROUND, "dest": A.FOREGROUND,
     "after": "_resume_app"},
    {"trigger": "kill", "source": [A.FOREGROUND, A.BACKGROUND, A.PIP], "dest": A.TERMINATED,
     "after": "_terminate"},
    {"trigger": "relaunch", "source": A.TERMINATED, "dest": A.FOREGROUND, "after": "_relaunch"},
]


def _machine(states: type[enum.Enum], initial: enum.Enum, table: list[dict[str, Any]],
             attribute: str) -> Machine:
    # model=None: one machine serves every PlayerCore (no per-player Machine,
    # no quadratic add_model); triggers are fired as MACHINE.events[name].trigger(core).
    return Machine(model=None, states=states, initial=initial, transitions=table,
                   auto_transitions=False, ignore_invalid_triggers=False,
                   model_attribute=attribute)


PLAYBACK_MACHINE: Final = _machine(PlaybackState, P.IDLE, PLAYBACK_TRANSITIONS, "playback")
APP_MACHINE: Final = _machine(AppState, A.FOREGROUND, APP_TRANSITIONS, "app")


class CompiledRow(NamedTuple):
    """One row of a compiled table: the conditions, each a method name and the value it
    must return (``False`` for an ``unless``), then the callbacks and the destination
    (``None``: an internal transition, the state stays)."""

    conditions: tuple[tuple[str, bool], ...]
    before: tuple[str, ...]
    dest: enum.Enum | None
    after: tuple[str, ...]


class CompiledTable:
    """A ``transitions`` machine compiled to a lookup: ``rows[trigger][state]`` are the
    rows that ``trigger`` tries from ``state``, in the machine's order.

    :meth:`fire` does what ``machine.events[trigger].trigger(model)`` does for the
    machines built here: the first row whose conditions all return their value runs
    its ``before`` callbacks, sets the model's state attribute to its destination,
    then runs its ``after`` callbacks; when none passes, nothing happens. Conditions
    and callbacks are looked up on the model by name at each call (a subclass's
    override counts, as with ``transitions``). Only what these tables use is
    supported; compiling a machine with anything else (callable callbacks, prepare,
    machine-wide or state callbacks, queued events) raises :class:`TypeError`, so a
    new table feature cannot be silently skipped.
    """

    __slots__ = ("attribute", "machine", "rows")

    def __init__(self, machine: Machine) -> None:
        _check_compilable(machine)
        self.machine = machine
        self.attribute: str = machine.model_attribute
        self.rows: dict[str, dict[enum.Enum, tuple[CompiledRow, ...]]] = {
            trigger: {_state(machine, source): tuple(
                CompiledRow(tuple((_named(c.func), bool(c.target)) for c in t.conditions),
                            tuple(_named(f) for f in t.before),
                            _state(machine, t.dest) if t.dest else None,
                            tuple(_named(f) for f in t.after))
                for t in transitions) for source, transitions in event.transitions.items()}
            for trigger, event in machine.events.items()}

    def can(self, state: enum.Enum, trigger: str) -> bool:
        """Whether ``trigger`` has rows from ``state`` (else the machine refuses it)."""
        return state in self.rows[trigger]

    def fire(self, model: Any, trigger: str) -> bool:
        """Fire ``trigger`` on ``model`` (its state is refused unless :meth:`can`);
        returns whether a row passed its conditions."""
        for row in self.rows[trigger][getattr(model, self.attribute)]:
            if all(getattr(model, name)() == value for name, value in row.conditions):
                for name in row.before:
                    getattr(model, name)()
                if row.dest is not None:
                    setattr(model, self.attribute, row.dest)
                for name in row.after:
                    getattr(model, name)()
                return True
        return False


def _state(machine: Machine, name: str) -> enum.Enum:
    """The enum member of ``machine``'s state ``name`` (the tables' states are enums)."""
    value = machine.states[name].value
    if not isinstance(value, enum.Enum):
        raise TypeError(f"a compiled table's states are enum members, not {value!r}")
    return value


def _named(func: object) -> str:
    if not isinstance(func, str):
        raise TypeError(f"a compiled table names its callbacks, not {func!r}")
    return func


def _check_compilable(machine: Machine) -> None:
    """What :class:`CompiledTable` does not do must not be in ``machine``."""
    extras = {"prepare_event": machine.prepare_event,
              "before_state_change": machine.before_state_change,
              "after_state_change": machine.after_state_change,
              "finalize_event": machine.finalize_event, "on_exception": machine.on_exception,
              "on_final": machine.on_final,
              "prepare": [f for e in machine.events.values()
                          for ts in e.transitions.values() for t in ts for f in t.prepare],
              "on_enter/on_exit": [f for st in machine.states.values()
                                   for f in (*st.on_enter, *st.on_exit)]}
    used = [name for name, value in extras.items() if value]
    if used or machine.send_event or machine.has_queue:
        raise TypeError(f"can't compile machine: it uses {used or 'send_event/queued'}")


#: The two machines as the core fires them (see CompiledTable).
PLAYBACK_TABLE: Final = CompiledTable(PLAYBACK_MACHINE)
APP_TABLE: Final = CompiledTable(APP_MACHINE)
