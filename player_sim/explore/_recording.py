"""The records a :class:`~player_sim.world.Device` writes, made from a core's inputs and effects.

The explorers drive bare :class:`~player_sim.PlayerCore` objects, not devices,
yet they judge with the catalogue's monitors, which read only trace records.
This module is where their records are made, and the only place: it mirrors
``Device`` in ``world/_device*.py`` record for record (kinds, payloads, and
which ``app`` / ``playback`` states stamp them):

* an action: ``action`` (``name``, ``origin``, the action's fields), stamped
  with the states *after* the core took it, then one record per effect;
* an answer (setup, heartbeat, teardown, license, KS, media): its
  ``*_answered`` record with the answer's fields lifted to the top and the id
  of the request it answers, stamped with the states *before* the core reads
  it and the playback of its request, then the effects, then
  ``main_thread_blocked`` when it ends a synchronous request; a timer firing
  writes nothing of its own;
* effects: ``ssm_setup_sent``, ``ssm_teardown_sent``, ``heartbeat_sent``,
  ``license_request_sent`` (each with a new request id, per device, and its
  request's playback), ``ks_requested``, ``media_load_started``, and each
  notification (``state_changed``, ``ssm_*_error`` ...) under its own kind;
  arming a timer writes nothing;
* a kill: ``main_thread_blocked`` if a synchronous request was open, then
  ``app_killed``, then the effects; a relaunch: ``app_relaunched``, then the
  effects;
* ``device_added``, a world record (no states), opens every device's trace.

``tests/test_explore_recording.py`` runs the same inputs through a real
``World`` and compares, so the two cannot drift apart silently.

:func:`clone_checker` copies a :class:`~player_sim.rules.TraceChecker`
mid-trace, so that breadth-first search carries one per explored state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from ..player import CoreConfig, PlayerCore
from ..player import _events as ev
from ..player._actions import action_name
from ..rules import TraceChecker, Violation
from ..trace import TraceRecord
from ..world._device_base import _flatten

__all__ = ["ANSWER_KINDS", "Recorder", "action_name", "clone_checker", "drop_checker",
           "feed_lazily", "finish_lazily"]

#: The device record written when each kind of answer arrives (timers write none:
#: ``Device._heartbeat_due``).
ANSWER_KINDS: Final[Mapping[type, str]] = {
    ev.SetupAnswered: "ssm_setup_answered",
    ev.HeartbeatAnswered: "heartbeat_answered",
    ev.TeardownAnswered: "ssm_teardown_answered",
    ev.LicenseAnswered: "license_answered",
    ev.KsAnswered: "ks_answered",
    ev.MediaAnswered: "media_answered",
}


def _answer_data(answer: ev.Answer) -> dict[str, Any]:
    """An answer's fields as its record's payload: the nested SSM answer lifted up
    (a new dict each time; answers are frozen values, so each is worked out once)."""
    try:
        items = _ANSWER_ITEMS[answer]
    except KeyError:
        if len(_ANSWER_ITEMS) >= _CACHED:
            _ANSWER_ITEMS.clear()  # (tokens and playback ids make answers many)
        items = _ANSWER_ITEMS[answer] = tuple(_payload(answer).items())
    except TypeError:  # (an answer holding a list or dict: not hashable, not cached)
        return _payload(answer)
    return dict(items)


def _payload(answer: ev.Answer) -> dict[str, Any]:
    return _flatten({k: v for k, v in attrs.asdict(answer).items() if k != "playback_id"})


#: Each answer met's payload, as items (the explorers offer a few answers, many times;
#: equal answers have equal payloads, their fields being typed values), up to ``_CACHED``.
_ANSWER_ITEMS: dict[ev.Answer, tuple[tuple[str, Any], ...]] = {}
_CACHED: Final = 4096
#: Each action met's fields (actions are frozen values: worked out once).
_ACTION_ITEMS: dict[ev.Action, tuple[tuple[str, Any], ...]] = {}


class Recorder:
    """Writes, into ``records``, what a device called ``name`` would write to its trace.

    Each method appends the records of one thing happening at virtual time
    ``t``; ``core`` is the device's core at the moment the device records
    (see the module's docstring for which moment that is).
    """

    __slots__ = ("name", "next_request", "records", "request_ids")

    def __init__(self, name: str, next_request: int = 1) -> None:
        self.name = name
        self.records: list[TraceRecord] = []
        #: The id the next request gets, and the ids given, in the order of the effects.
        self.next_request = next_request
        self.request_ids: list[int] = []

    def take(self) -> list[TraceRecord]:
        """The records written since the last ``take``."""
        out, self.records = self.records, []
        return out

    def _device(self, t: float, core: PlayerCore, kind: str, data: Mapping[str, Any],
                playback_id: int | None = None) -> None:
        # (``_value_``: the enum's value without its descriptor, for every record.)
        self.records.append(TraceRecord(t, self.name, kind, core.app._value_,
                                        core.playback._value_,
                                        data, core.playback_id if playback_id is None
                                        else playback_id))

    def _request(self, t: float, core: PlayerCore, kind: str, data: dict[str, Any],
                 playback_id: int) -> None:
        """A request leaves: a new request id (``Device._next_request``)."""
        request_id = self.next_request
        self.next_request += 1
        self.request_ids.append(request_id)
        self._device(t, core, kind, {"request_id": request_id, **data}, playback_id)

    def world(self, t: float, kind: str, data: Mapping[str, Any]) -> None:
        """A world or server record about this device (no device states)."""
        self.records.append(TraceRecord(t, self.name, kind, None, None, data))

    def added(self, t: float, config: CoreConfig, account: str) -> None:
        """``World.add_device``."""
        self.world(t, "device_added", {"account": account, "ssm": config.uses_ssm,
                                       "sync": config.sync_ssm_setup_teardown,
                                       "variants": config.variants.as_dict()})

    def action(self, t: float, core: PlayerCore, action: ev.Action,
               effects: Iterable[ev.Effect], origin: str = "user") -> None:
        """``Device._do``: the core took ``action`` (``core`` is already past it)."""
        fields = _ACTION_ITEMS.get(action) if action.__hash__ is not None else None
        if fields is None:
            fields = tuple(attrs.asdict(action).items())
            if action.__hash__ is not None:
                _ACTION_ITEMS[action] = fields
        data: dict[str, Any] = {"name": action_name(action), "origin": origin}
        data.update(fields)
        self._device(t, core, "action", data)
        self.effects(t, core, effects)

    def answer(self, t: float, core: PlayerCore, answer: ev.Answer,
               request_id: int | None = None) -> None:
        """``Device._answered`` / ``Device._deliver``: the answer's own record, before the
        core reads it, with the id of the request it answers (if it answers one)."""
        kind = ANSWER_KINDS.get(type(answer))
        if kind is None:
            return
        data = _answer_data(answer)
        if request_id is not None:
            data = {"request_id": request_id, **data}
        self._device(t, core, kind, data, getattr(answer, "playback_id", None))

    def unblocked(self, t: float, core: PlayerCore, seconds: float) -> None:
        """``Device._close_blocked_period``: the main thread is free again."""
        self._device(t, core, "main_thread_blocked", {"seconds": round(seconds, 6)})

    def killed(self, t: float, core: PlayerCore, effects: Iterable[ev.Effect],
               blocked_for: float | None) -> None:
        """``Device.kill`` (``blocked_for``: seconds a synchronous request had blocked)."""
        if blocked_for is not None:
            self.unblocked(t, core, blocked_for)
        self._device(t, core, "app_killed", {"stream": core.stream})
        self.effects(t, core, effects)

    def relaunched(self, t: float, core: PlayerCore, effects: Iterable[ev.Effect]) -> None:
        """``Device.relaunch``."""
        self._device(t, core, "app_relaunched", {})
        self.effects(t, core, effects)

    def effects(self, t: float, core: PlayerCore, effects: Iterable[ev.Effect]) -> None:
        """``Device._run``: the record each effect's carrying out writes."""
        for effect in effects:
            if isinstance(effect, ev.Notify):
                self._device(t, core, effect.kind, effect.payload())
            elif isinstance(effect, ev.SendSsmSetup):
                self._request(t, core, "ssm_setup_sent", {"stream": effect.stream,
                                                          "blocking": effect.blocking},
                              effect.playback_id)
            elif isinstance(effect, ev.SendSsmTeardown):
                self._request(t, core, "ssm_teardown_sent", {"token": effect.token,
                                                             "blocking": effect.blocking,
                                                             "stream": effect.stream},
                              effect.playback_id)
            elif isinstance(effect, ev.SendHeartbeat):
                self._request(t, core, "heartbeat_sent", {"token": effect.token},
                              effect.playback_id)
            elif isinstance(effect, ev.SendLicenseRequest):
                self._request(t, core, "license_request_sent",
                              {"stream": effect.stream, "ssm_token": effect.ssm_token},
                              effect.playback_id)
            elif isinstance(effect, ev.FetchKs):
                self._device(t, core, "ks_requested", {})
            elif isinstance(effect, ev.LoadMedia):
                self._device(t, core, "media_load_started", {"stream": effect.stream})


# --- carrying a checker per explored state -------------------------------------------------


def clone_checker(checker: TraceChecker, *, lazy: bool = False) -> TraceChecker:
    """An independent copy of ``checker`` mid-trace: feeding one never changes the other.

    O(monitors): the two share every monitor and device view until one of them
    changes it (a record it reads, a deadline of its falling due), which copies it
    first; open deadlines are immutable and shared for good (see
    :class:`~player_sim.rules.TraceChecker`'s ``_fork``). ``lazy`` is kept for
    callers of the former two-way copy: every copy is lazy now, and
    ``checker`` may be fed again too.
    """
    del lazy
    return checker._fork()


def drop_checker(checker: TraceChecker) -> None:
    """Let reference counting free ``checker``, a copy that will not be used again,
    as soon as its last reference goes: the monitors it forked refer back to it (a
    cycle only the garbage collector would find), so its list of monitors is emptied
    (the list is its own; the monitors it shares stay with the checkers holding them)."""
    checker.monitors.clear()


def feed_lazily(checker: TraceChecker, record: TraceRecord) -> list[Violation]:
    """``checker.feed(record)`` (kept for callers: a copy is fed like any checker)."""
    return checker.feed(record)


def finish_lazily(checker: TraceChecker, end: float | None = None) -> list[Violation]:
    """``checker.finish(end)`` (kept for callers: a copy is finished like any checker)."""
    return checker.finish(end)
