"""The pure player core: one player and its SDK's SSM client, no I/O, no time.

``PlayerCore.feed(input)`` takes one action or answer (see :mod:`._events`),
moves the two lifecycle machines of :mod:`._states`, and returns the effects
the shell must carry out, in order. The core never sleeps, never sends and
never reads a clock; the same inputs always give the same effects.

The SSM client rules it implements (``seeds/000_7011756516eda0b2.txt``):

* setup before the license request, and "The session token is used as part of
  the license request";
* "the SDK keeps a heartbeat with the SSM server": every period given by the
  setup answer, each with the token the last answer rotated in;
* "The SDK tears down the SSM session when the playback stops", more exactly
  "the player will release the session when OTVAVPlayerItem is de-initialised":
  the session belongs to the player item, released on stop (by default), on
  replacement by a zap, or by :class:`~._events.ReleaseItem`;
* the three error notifications carry "HTTP error codes and SSM error
  messages"; a teardown error names the stream whose session it was.

Where real clients differ (DOMAIN.md), the core follows ``CoreConfig.variants``
(:mod:`._variants`): after a heartbeat error it drops the token and stops
heartbeating (``stop-heartbeating``) or keeps re-sending the stale token
(``keep-heartbeating``); a setup answered after its playback was stopped is torn
down (``teardown-when-answered``) or leaked (``skip-teardown``); the heartbeat
timer starts at the setup answer or at the license answer (``heartbeat_start``);
with ``ssm_version: v2`` the setup travels inside the license request and stop or
zap leaves the session for the app to tear down (:class:`~._events.ReleaseItem`) or
to expire; a client that polls for a late content token (``content_token_wait``)
posts ``content_token_error`` when it gives up.

Enforced mode (DOMAIN.md, WIRE.md): when the license answer carries a session
token, the player item's keep-alive becomes a license renewal
(:class:`~._events.SendHeartbeat` with ``renewal``), which rotates the token like
a heartbeat; a refused renewal is a heartbeat error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Final, Literal, cast, get_args

import attrs
from transitions import Machine

from .._errors import ConfigError, InvalidTransition
from .._validators import one_of, typed
from . import _events as ev
from ._sdk import SdkModel, SsmCall
from ._states import (
    APP_MACHINE,
    APP_TABLE,
    PLAYBACK_MACHINE,
    PLAYBACK_TABLE,
    AppState,
    CompiledTable,
    PlaybackState,
)
from ._variants import (
    CONTENT_TOKEN_ERROR_CODE,
    CONTENT_TOKEN_POLLS,
    SsmVariants,
    platform_fields,
)

__all__ = ["CoreConfig", "PlayerCore"]

P = PlaybackState
A = AppState

ZapOrder = Literal["setup-first", "teardown-first"]

# Read on every heartbeat: a module constant is several times cheaper than
# looking the member up on the Enum class.
_TERMINATED: Final = A.TERMINATED


_check_zap_order: Final = one_of(get_args(ZapOrder))


@attrs.frozen(field_transformer=typed)
class CoreConfig:
    """How one player's SDK is configured.

    * ``uses_ssm``: the license delegate was given an ``ssmServerURL`` ("every
      playback will have an SSM session"); without it there is no SSM traffic.
    * ``sync_ssm_setup_teardown``: setup and teardown block the main thread.
    * ``pip_enabled``: going to the background while playing enters PiP.
    * ``async_zap_order``: with asynchronous teardown, which request a zap sends
      first. ``"setup-first"`` (default) models iOS, where the old player item is
      de-initialised (and its session released) after the new one replaced it.
    * ``release_item_on_stop``: stopping de-initialises the player item, which
      releases the SSM session. ``False`` keeps the item (and its heartbeats)
      until :class:`~._events.ReleaseItem` or the next play.
    * ``has_session_provider``: the pipeline starts by obtaining a KS and
      loading the media entry through a media provider.
    * ``sdk``: an :class:`~._sdk.SdkModel` for an SDK that behaves otherwise than
      documented (``None``: the documented SDK).
    * ``variants``: where this client differs from the others (DOMAIN.md), one
      value per :data:`~._variants.VARIANTS` row; default: the ``documented`` profile.
    """

    uses_ssm: bool = True
    sync_ssm_setup_teardown: bool = False
    pip_enabled: bool = False
    async_zap_order: ZapOrder = attrs.field(default="setup-first", validator=_check_zap_order)
    release_item_on_stop: bool = True
    has_session_provider: bool = False
    sdk: SdkModel | None = attrs.field(default=None, eq=False)
    variants: SsmVariants = attrs.field(factory=SsmVariants.of)
    # What the core reads of ``variants`` at its branches, worked out once per config,
    # which devices configured alike share (a slot per core was 40 B a device). Not
    # arguments: ``__attrs_post_init__`` sets them from ``variants``.
    _keeps_heartbeating: bool = attrs.field(default=False, init=False, eq=False, repr=False)
    _skips_late_teardown: bool = attrs.field(default=False, init=False, eq=False, repr=False)
    _heartbeat_after_license: bool = attrs.field(default=False, init=False, eq=False,
                                                 repr=False)
    _error_numbering: str = attrs.field(default="", init=False, eq=False, repr=False)
    _v2: bool = attrs.field(default=False, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        variants, set_ = self.variants, object.__setattr__
        set_(self, "_keeps_heartbeating", variants.after_heartbeat_error == "keep-heartbeating")
        set_(self, "_skips_late_teardown", variants.stop_during_setup == "skip-teardown")
        set_(self, "_heartbeat_after_license",
             variants.heartbeat_start == "after-license-answer")
        set_(self, "_error_numbering", variants.error_numbering)
        set_(self, "_v2", variants.ssm_version == "v2")


# Actions fed as a plain trigger on one machine.
_PLAYBACK_ACTIONS: Final[dict[type, str]] = {
    ev.Stop: "stop", ev.Resume: "resume", ev.ReleaseItem: "release_item",
}
_APP_ACTIONS: Final[dict[type, str]] = {
    ev.EnterBackground: "enter_background", ev.EnterForeground: "enter_foreground",
    ev.EnterPip: "enter_pip", ev.LeavePip: "leave_pip", ev.ClosePip: "close_pip",
}
#: The heartbeat arm a core starts with (no playback has id 0): one for every core, as
#: ArmHeartbeat is frozen; at its first heartbeat a core takes its playback's.
_NO_HEARTBEAT_ARM: Final = ev.ArmHeartbeat(0, 0.0)
#: The ``state_changed`` notifications made so far, by (app, app from, playback, playback
#: from) state values: at most one per pair of states of each machine.
_STATE_CHANGED: dict[tuple[str, str, str, str], ev.Notify] = {}
#: The ``playback_started`` notifications made so far, by stream, at most
#: _SHARED_NOTICES_MAX (then each is made anew).
_PLAYBACK_STARTED: dict[str | None, ev.Notify] = {}
#: The heartbeat arms made so far, by (playback id, period), at most _SHARED_NOTICES_MAX
#: (see _heartbeat_arm).
_HEARTBEAT_ARMS: dict[tuple[int, float], ev.ArmHeartbeat] = {}
_SHARED_NOTICES_MAX: Final = 1024


def _heartbeat_arm(playback_id: int, period: float) -> ev.ArmHeartbeat:
    """``ArmHeartbeat(playback_id, period)``, one for every core (it is frozen): a
    heartbeating core keeps its arm, and a fleet's cores share a few playback ids and
    periods (56 B a device)."""
    key = (playback_id, period)
    arm = _HEARTBEAT_ARMS.get(key)
    if arm is None:
        arm = ev.ArmHeartbeat(playback_id, period)
        if len(_HEARTBEAT_ARMS) < _SHARED_NOTICES_MAX:
            _HEARTBEAT_ARMS[key] = arm
    return arm


#: What a core holds in ``_effects`` between inputs: one shared empty tuple, not an
#: empty list each (56 B a core). Typed as the list each input gathers its effects
#: in, which ``feed`` and ``_feed_trigger`` set before anything is appended.
_NO_EFFECTS: Final = cast("list[ev.Effect]", ())
#: Every action the core takes: which machine's trigger it fires. Whether it is
#: accepted is decided from this table alone, before anything is written.
_ACTION_TRIGGERS: Final[dict[type, tuple[Machine, str]]] = {
    ev.Play: (PLAYBACK_MACHINE, "play"), ev.Zap: (PLAYBACK_MACHINE, "zap"),
    **{cls: (PLAYBACK_MACHINE, trigger) for cls, trigger in _PLAYBACK_ACTIONS.items()},
    **{cls: (APP_MACHINE, trigger) for cls, trigger in _APP_ACTIONS.items()},
}


class PlayerCore:
    """One player's lifecycle and SSM client state. Feed it inputs; run its effects.

    Public read-only attributes: ``app`` and ``playback`` (the two machines'
    states), ``stream`` (the stream of the current or last playback),
    ``playback_id`` (increments with every play or zap), ``ssm_token`` (the
    current session token held by the player item, or ``None``),
    ``heartbeat_period`` and ``ssm_error`` (an SSM error notification was posted
    for the current playback).
    """

    __slots__ = (
        "_effects",
        "_enforced",
        "_heartbeat_arm",
        "_left_session",
        "_license_in_setup",
        "_pending_stream_value",
        "_retry_attempt",
        "_sdk",
        "_setup_token",
        "_stale_heartbeat",
        "_start_after_teardown",
        "_stash",
        "_streams_on_wire",
        "_teardown_playback_id",
        "_teardowns_sent",
        "app",
        "config",
        "drm_license_url",
        "heartbeat_period",
        "item_playback_id",
        "item_stream",
        "ks",
        "media_ssm",
        "playback",
        "playback_id",
        "ssm_error",
        "ssm_token",
        "stream",
    )

    def __init__(self, config: CoreConfig | None = None) -> None:
        self.config = config if config is not None else CoreConfig()
        # Each core reads its own copy: a model with state never shares it between
        # devices, runs, or the explorer's branches.
        self._sdk = None if self.config.sdk is None else self.config.sdk.copy()
        self.app = A.FOREGROUND
        self.playback = P.IDLE
        self._reset_playback_state()
        self._effects: list[ev.Effect] = _NO_EFFECTS  # a list during each input
        self._heartbeat_arm = _NO_HEARTBEAT_ARM  # see _on_heartbeat_due

    def _reset_playback_state(self) -> None:
        self.stream: str | None = None
        self.playback_id = 0
        self.ssm_token: str | None = None
        self.item_playback_id = 0
        self.item_stream: str | None = None
        self.heartbeat_period = 0.0
        self.ssm_error = False
        self.ks: str | None = None
        self.media_ssm = True
        self.drm_license_url: str | None = None
        self._start_after_teardown = False
        self._teardown_playback_id = 0
        # Effects held back to follow the next setup: rarely any, so a tuple replaced
        # on change (the empty one shared; a copied core may hold a list).
        self._stash: Sequence[ev.Effect] = ()
        self._pending_stream_value: str | None = None
        self._enforced = False  # the item's license answer carried a session token
        self._license_in_setup = False  # (V2) the setup answer granted the license too
        # (V2) the teardown of a session the SDK left at stop or zap, for the app to send.
        self._left_session: ev.SendSsmTeardown | None = None
        # The stream of each playback whose setup or teardown is on the wire (a playback
        # has at most one of them at a time), so that an answer's notification names its
        # own stream. A tuple, replaced on change: a copied core shares it safely.
        self._streams_on_wire: tuple[tuple[int, str | None], ...] = ()
        # For SDK variants only (see SdkModel): the token the setup answered, the
        # failures of the current call retried so far, a heartbeat timer left running
        # after its session was released (playback id, token), and the last teardowns
        # sent (a retry sends one again).
        self._setup_token: str | None = None
        self._retry_attempt = 0
        self._stale_heartbeat: tuple[int, str] | None = None
        self._teardowns_sent: tuple[ev.SendSsmTeardown, ...] = ()

    # --- the one entry point ------------------------------------------------

    def feed(self, event: ev.Input) -> tuple[ev.Effect, ...]:
        """Apply one input; return the effects to carry out, in order.

        Raises :class:`~player_sim.InvalidTransition` when an action is not
        accepted in the current state (:class:`~player_sim.ConfigError` for
        ``EnterPip`` without PiP); the core is then unchanged, every attribute
        of it: acceptance is decided before anything is written. Answers are
        never refused (a stale one is ignored).
        """
        kind = type(event)
        if self._sdk is not None and kind in _SSM_ANSWERS:  # an SDK variant reads it first
            answered: Any = event
            event = attrs.evolve(answered, answer=self._sdk.read_answer(
                answered.answer, _SSM_ANSWERS[kind]))
        heartbeat_handler = _HEARTBEAT_HANDLERS.get(kind)
        if heartbeat_handler is not None:
            return heartbeat_handler(self, event)  # type: ignore[no-any-return]
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise TypeError(f"the player core does not take {kind.__name__} inputs")
        if kind in _ACTION_TRIGGERS:
            refusal = self._refusal(event)
            if refusal is not None:
                raise refusal
        app, playback = self.app, self.playback
        self._effects = []
        handler(self, event)
        return self._effects_since(app, playback)

    def can(self, event: ev.Action) -> bool:
        """Whether ``event`` would be accepted now (without applying it)."""
        return type(event) in _ACTION_TRIGGERS and self._refusal(event) is None

    def _refusal(self, event: ev.Input) -> InvalidTransition | ConfigError | None:
        """Why ``event`` (an action of :data:`_ACTION_TRIGGERS`) is refused now, if it is."""
        machine, trigger = _ACTION_TRIGGERS[type(event)]
        if self.app is A.TERMINATED:
            return InvalidTransition("app", self.app.value, trigger)
        if type(event) is ev.EnterPip and not self.config.pip_enabled:
            return ConfigError("can't 'enter_pip': picture-in-picture is not enabled on this "
                               "device")
        return self._trigger_refusal(machine, trigger)

    def _trigger_refusal(self, machine: Machine, trigger: str) -> InvalidTransition | None:
        """Why ``trigger`` is refused by ``machine`` in its current state, if it is."""
        playback = machine is PLAYBACK_MACHINE
        state = self.playback if playback else self.app
        if self._can(machine, state, trigger):
            return None
        return InvalidTransition("playback" if playback else "app", state.value, trigger)

    @staticmethod
    def _can(machine: Machine, state: Any, trigger: str) -> bool:
        return _table(machine).can(state, trigger)

    # --- firing ---------------------------------------------------------------

    def _fire(self, machine: Machine, trigger: str) -> None:
        """Fire ``trigger``. Actions were checked by :meth:`feed` already; an internal
        trigger refused here is a bug of the core's handlers, not of the caller."""
        refusal = self._trigger_refusal(machine, trigger)
        if refusal is not None:
            raise refusal
        _table(machine).fire(self, trigger)

    def _notify(self, kind: str, **fields: Any) -> None:
        self._effects.append(ev.Notify(kind, tuple(sorted(fields.items()))))

    def _emit(self, effect: ev.Effect) -> None:
        self._effects.append(effect)

    # --- actions ------------------------------------------------------------

    # Each runs only once feed has accepted its action (see _refusal).

    def _on_play(self, event: ev.Play) -> None:
        self._next_stream(event.stream)
        self._fire(PLAYBACK_MACHINE, "play")

    def _on_zap(self, event: ev.Zap) -> None:
        self._notify("zap", stream_from=self.stream, stream=event.stream,
                     same_stream=event.stream == self.stream)
        self._next_stream(event.stream)
        self._fire(PLAYBACK_MACHINE, "zap")

    def _on_playback_action(self, event: ev.Action) -> None:
        self._fire(PLAYBACK_MACHINE, _PLAYBACK_ACTIONS[type(event)])

    def _on_app_action(self, event: ev.Action) -> None:
        self._fire(APP_MACHINE, _APP_ACTIONS[type(event)])

    def kill(self) -> tuple[ev.Effect, ...]:
        """The OS kills the app: no teardown is sent, the SSM session is left behind.

        Raises :class:`~player_sim.InvalidTransition` if the app is terminated
        already; the core is then unchanged.
        """
        return self._feed_trigger(APP_MACHINE, "kill")

    def relaunch(self) -> tuple[ev.Effect, ...]:
        """Start the app again after a kill: a fresh player, idle in the foreground.

        Raises :class:`~player_sim.InvalidTransition` unless the app is
        terminated; the core is then unchanged.
        """
        return self._feed_trigger(APP_MACHINE, "relaunch")

    def _feed_trigger(self, machine: Machine, trigger: str) -> tuple[ev.Effect, ...]:
        refusal = self._trigger_refusal(machine, trigger)
        if refusal is not None:
            raise refusal
        app, playback = self.app, self.playback
        self._effects = []
        self._fire(machine, trigger)
        return self._effects_since(app, playback)

    def _effects_since(self, app: AppState, playback: PlaybackState) -> tuple[ev.Effect, ...]:
        """The effects gathered, closed by ``state_changed`` if either state moved."""
        if self.app is not app or self.playback is not playback:
            # What _notify("state_changed", app_from=..., app=..., ...) builds, its fields
            # in sorted order already; ``_value_``: the states' strings, without the
            # ``value`` property's call. Every play posts three of these, so each (frozen)
            # is made once per move and shared (keyed by strings: an enum hashes slowly).
            key = (self.app._value_, app._value_, self.playback._value_, playback._value_)
            notice = _STATE_CHANGED.get(key)
            if notice is None:
                notice = _STATE_CHANGED[key] = ev.Notify("state_changed", (
                    ("app", key[0]), ("app_from", key[1]), ("playback", key[2]),
                    ("playback_from", key[3])))
            self._effects.append(notice)
        effects = tuple(self._effects)
        self._effects = _NO_EFFECTS  # a core holds no effect between inputs (a fleet has many)
        return effects

    def _next_stream(self, stream: str) -> None:
        """Prepare a new playback of ``stream``; the machine's callbacks do the rest.

        Only for an accepted play or zap: ``_begin_new_playback`` consumes the
        value in the same step, so it is ``None`` between inputs (a stale one
        would make a later stop wait for a teardown it never sends)."""
        self._pending_stream_value = stream

    # --- answers ---------------------------------------------------------------

    def _on_setup_answered(self, event: ev.SetupAnswered) -> None:
        answer = event.answer
        stream = self._answered_stream(event.playback_id)
        config = self.config
        if event.playback_id != self.playback_id or self.playback is not P.SSM_SETUP:
            # A setup answer for a playback that was stopped or zapped away from: release
            # the session it created, or it holds a slot until it expires. A client that
            # looked for a token at the stop and found none (iOS) skips it: the leak.
            if answer.ok and answer.token is not None and not config._skips_late_teardown \
                    and not config._v2:  # (V2 never tears down by itself)
                self._send_teardown(ev.SendSsmTeardown(event.playback_id, answer.token,
                                                       blocking=False, stream=stream))
            return
        if answer.ok and answer.token is not None:
            self.ssm_token = self._setup_token = answer.token
            self.item_playback_id = event.playback_id
            self.item_stream = self.stream
            self.heartbeat_period = answer.heartbeat_period or 0.0
            if self._sdk is not None:
                self._retry_attempt = 0
                self.heartbeat_period = self._sdk.heartbeat_period(self.heartbeat_period)
            self._enforced = False
            if self.heartbeat_period > 0 and (config._v2 or not config._heartbeat_after_license):
                self._emit(_heartbeat_arm(event.playback_id, self.heartbeat_period))
            if config._v2:  # the setup was the license request: its answer granted the license
                self._license_in_setup = True
                self._fire(PLAYBACK_MACHINE, "ssm_setup_succeeded")
                self._fire(PLAYBACK_MACHINE, "license_granted")
                return
            self._fire(PLAYBACK_MACHINE, "ssm_setup_succeeded")
        elif self._retried("setup", answer):
            self._streams_on_wire += ((event.playback_id, stream),)
            self._emit(ev.SendSsmSetup(event.playback_id, stream or "",
                                       blocking=self._sync_setup(), in_license=config._v2))
        else:
            self.ssm_error = True
            self._notify_ssm_error("ssm_setup_error", answer)
            self._fire(PLAYBACK_MACHINE, "ssm_setup_failed")

    def _on_license_answered(self, event: ev.LicenseAnswered) -> None:
        if event.playback_id != self.playback_id or self.playback is not P.LICENSE_REQUEST:
            return
        if event.granted:
            if event.session_token is not None and self.ssm_token is not None \
                    and self.item_playback_id == event.playback_id:
                # Enforced mode: the keep-alive is a license renewal, with this token.
                self.ssm_token = event.session_token
                self._enforced = True
            if self.config._heartbeat_after_license and self.ssm_token is not None \
                    and self.item_playback_id == event.playback_id and self.heartbeat_period > 0:
                self._emit(_heartbeat_arm(event.playback_id, self.heartbeat_period))
            self._fire(PLAYBACK_MACHINE, "license_granted")
        else:
            self._notify("license_error", stream=self.stream, http_status=event.http_status,
                         code=event.code, message=event.message)
            self._fire(PLAYBACK_MACHINE, "license_denied")

    # --- the heartbeat fast path --------------------------------------------------------
    # A large world is mostly heartbeats: a 10,000-device hour feeds 1.2 M timers and
    # 1.2 M answers. A device asks these two questions first and feeds the input only
    # when the answer is "not the plain case"; each answers exactly what feeding the
    # input would do (tests/test_heartbeat_fast_path.py runs both paths and compares
    # the traces). A subclass may feed or handle heartbeats its own way, so its
    # instances always take the general path.

    _plain_heartbeats: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._plain_heartbeats = False

    def plain_heartbeat_token(self, playback_id: int) -> str | None:
        """If the heartbeat timer of ``playback_id`` firing now is the plain case, the
        token to send: the effects of feeding :class:`~._events.HeartbeatDue` would be
        ``(SendHeartbeat(playback_id, token), ArmHeartbeat(playback_id,
        heartbeat_period))`` and would change nothing in the core. ``None``: not the
        plain case (an SDK variant, an enforced-mode renewal, no token held, another
        playback, a new period, a terminated app); feed the input instead.
        """
        token = self.ssm_token
        arm = self._heartbeat_arm
        if (token is None or not self._plain_heartbeats or self._sdk is not None or self._enforced
                or playback_id != self.item_playback_id or self.app is _TERMINATED
                or arm.playback_id != playback_id or arm.delay != self.heartbeat_period):
            return None
        return token

    def take_rotated_token(self, playback_id: int, token: str) -> bool:
        """Apply a successful heartbeat answer of playback ``playback_id`` carrying the
        next ``token`` if it is the plain case, no SDK variant to read it: the token
        rotates if that playback holds one, as feeding
        :class:`~._events.HeartbeatAnswered` would, which would return no effects.
        ``False``: nothing applied; feed the input instead.
        """
        if not self._plain_heartbeats or self._sdk is not None:
            return False
        if self.ssm_token is not None and playback_id == self.item_playback_id:
            self.ssm_token = token  # token rotation: the next call must use it
        return True

    # The two heartbeat inputs never move a machine: they return their effects
    # directly (see _HEARTBEAT_HANDLERS).

    def _on_heartbeat_due(self, event: ev.HeartbeatDue) -> tuple[ev.Effect, ...]:
        token = self.ssm_token
        if token is None or event.playback_id != self.item_playback_id or self.app is _TERMINATED:
            stale = self._stale_heartbeat  # an SDK variant's timer not cancelled on release
            if stale is None or stale[0] != event.playback_id or self.app is _TERMINATED:
                return ()
            return (ev.SendHeartbeat(stale[0], stale[1]),
                    ev.ArmHeartbeat(stale[0], self.heartbeat_period))
        # Effects are immutable: every period re-arms with the same ArmHeartbeat.
        arm = self._heartbeat_arm
        if arm.playback_id != event.playback_id or arm.delay != self.heartbeat_period:
            arm = self._heartbeat_arm = _heartbeat_arm(event.playback_id,
                                                         self.heartbeat_period)
        sdk = self._sdk
        if sdk is not None:
            if not sdk.heartbeats_in(self.app.value):
                return (arm,)  # the timer ticks on, nothing is sent
            token = sdk.heartbeat_token(token, self._setup_token or token)
        return (ev.SendHeartbeat(event.playback_id, token, self._enforced), arm)

    def _on_heartbeat_answered(self, event: ev.HeartbeatAnswered) -> tuple[ev.Effect, ...]:
        if self.ssm_token is None or event.playback_id != self.item_playback_id:
            return ()
        answer = event.answer
        if answer.ok and answer.token is not None:
            if self._sdk is None:
                self.ssm_token = answer.token  # token rotation: the next call must use it
            else:
                self._retry_attempt = 0
                if self._sdk.rotates_tokens():
                    self.ssm_token = answer.token
            return ()
        if self._retried("heartbeat", answer):
            return (ev.SendHeartbeat(event.playback_id, self.ssm_token, self._enforced),)
        self.ssm_error = True
        if not self.config._keeps_heartbeating:
            self.ssm_token = None  # the session is lost: no more heartbeats
        # else (iOS, web): the timer goes on with the same, now stale, token; the next
        # stop or zap tears down with it.
        notice = self._ssm_error_notice("ssm_heartbeat_error", answer, self.item_stream)
        return () if notice is None else (notice,)

    def _on_teardown_answered(self, event: ev.TeardownAnswered) -> None:
        stream = self._answered_stream(event.playback_id)
        if not event.answer.ok:
            if self._sdk is not None and self._retry_teardown(event):
                return
            if event.playback_id == self.playback_id:
                self.ssm_error = True
            # It names the stream whose session failed to end, not the one zapped to.
            notice = self._ssm_error_notice("ssm_teardown_error", event.answer, stream)
            if notice is not None:
                self._effects.append(notice)
        if self.playback is P.STOPPING and event.playback_id == self._teardown_playback_id:
            self._fire(PLAYBACK_MACHINE, "teardown_done")

    def _on_teardown_wait_ended(self, event: ev.TeardownWaitEnded) -> None:
        # The cap released the main thread: a stop or zap waiting for this teardown goes on;
        # its answer, when it comes, only notifies.
        if self.playback is P.STOPPING and event.playback_id == self._teardown_playback_id:
            self._fire(PLAYBACK_MACHINE, "teardown_done")

    def _on_content_token_missing(self, event: ev.ContentTokenMissing) -> None:
        if event.playback_id != self.playback_id or self.playback is not P.SSM_SETUP:
            return
        self._answered_stream(event.playback_id)
        self.ssm_error = True
        self._notify("content_token_error", stream=self.stream,
                     error_code=CONTENT_TOKEN_ERROR_CODE,
                     message=f"no content token after {CONTENT_TOKEN_POLLS} polls")
        self._fire(PLAYBACK_MACHINE, "ssm_setup_failed")

    def _on_ks_answered(self, event: ev.KsAnswered) -> None:
        if event.playback_id != self.playback_id or self.playback is not P.OBTAINING_KS:
            return
        if event.ks is not None:
            self.ks = event.ks
            self._fire(PLAYBACK_MACHINE, "ks_obtained")
        else:
            self._notify("ks_error", stream=self.stream, code=event.error_code,
                         message=event.message)
            self._fire(PLAYBACK_MACHINE, "ks_failed")

    def _on_media_answered(self, event: ev.MediaAnswered) -> None:
        if event.playback_id != self.playback_id or self.playback is not P.LOADING_MEDIA:
            return
        if event.ok:
            self.media_ssm = event.ssm
            self.drm_license_url = event.license_url
            self._fire(PLAYBACK_MACHINE, "media_loaded")
        else:
            self._notify("media_load_error", stream=self.stream, code=event.error_code,
                         message=event.message)
            self._fire(PLAYBACK_MACHINE, "media_load_failed")

    def _answered_stream(self, playback_id: int) -> str | None:
        """The stream of ``playback_id``'s request just answered (forgotten now)."""
        found: str | None = self.stream
        kept = []
        for pid, stream in self._streams_on_wire:
            if pid == playback_id:
                found = stream
            else:
                kept.append((pid, stream))
        self._streams_on_wire = tuple(kept)
        return found

    def _send_teardown(self, teardown: ev.SendSsmTeardown) -> None:
        """Emit ``teardown`` now, remembering whose stream it ends."""
        self._streams_on_wire += ((teardown.playback_id, teardown.stream),)
        if self._sdk is not None:
            self._teardowns_sent = (*self._teardowns_sent[-3:], teardown)
        self._emit(teardown)

    # --- SDK variants: retries, released sessions (see SdkModel) --------------------------

    def _retried(self, call: SsmCall, answer: ev.SsmAnswer) -> bool:
        """Whether an SDK variant sends the failed ``call`` again (counted here)."""
        if self._sdk is None:
            return False
        self._retry_attempt += 1
        if self._sdk.retries(call, answer, self._retry_attempt):
            return True
        self._retry_attempt = 0
        return False

    def _retry_teardown(self, event: ev.TeardownAnswered) -> bool:
        """Send the failed teardown of ``event`` again if the SDK variant retries it."""
        sent = [t for t in self._teardowns_sent if t.playback_id == event.playback_id]
        if not sent or not self._retried("teardown", event.answer):
            return False
        self._send_teardown(sent[-1])
        return True

    def _released(self, playback_id: int, token: str) -> str:
        """The token a released session's teardown carries; an SDK variant whose
        heartbeat timer survives the release keeps beating with ``token``."""
        sdk = self._sdk
        if sdk is None:
            return token
        if not sdk.cancels_heartbeat_on_stop() and self.heartbeat_period > 0:
            self._stale_heartbeat = (playback_id, token)
        return sdk.teardown_token(token, self._setup_token or token)

    def _sync_setup(self) -> bool:
        sync = self.config.sync_ssm_setup_teardown
        return sync if self._sdk is None else self._sdk.setup_blocks(sync)

    def _notify_ssm_error(self, kind: str, answer: ev.SsmAnswer) -> None:
        notice = self._ssm_error_notice(kind, answer, self.stream)
        if notice is not None:
            self._effects.append(notice)

    def _ssm_error_notice(self, kind: str, answer: ev.SsmAnswer, stream: str | None
                          ) -> ev.Notify | None:
        """The error notification ``kind`` of ``answer`` (``None``: an SDK variant only
        logs it)."""
        if self._sdk is not None:
            call = _ERROR_CALLS[kind]
            if not self._sdk.notifies_error(call, answer):
                return None
            answer = self._sdk.error_notice(call, answer)
        fields = {"stream": stream, "http_status": answer.http_status,
                  "ssm_code": answer.ssm_code, "message": answer.message,
                  **platform_fields(self.config._error_numbering, kind, answer.http_status,
                                    answer.ssm_code, answer.message)}
        return ev.Notify(kind, tuple(sorted(fields.items())))

    # --- conditions (named in the tables) ----------------------------------------

    def _teardown_blocks(self) -> bool:
        return self._sync_teardown() and self.ssm_token is not None and not self.config._v2 and (
            self.config.release_item_on_stop or self._pending_stream_value is not None)

    def _has_session_provider(self) -> bool:
        return self.config.has_session_provider

    # --- SDK variants (see SdkModel) ------------------------------------------------

    def _sync_teardown(self) -> bool:
        sync = self.config.sync_ssm_setup_teardown
        return sync if self._sdk is None else self._sdk.teardown_blocks(sync)

    def _sends_teardown(self) -> bool:
        return self._sdk is None or self._sdk.sends_teardown()

    def _uses_ssm(self) -> bool:
        return self.config.uses_ssm and self.media_ssm

    def _has_pending_stream(self) -> bool:
        return self._start_after_teardown

    def _pip_takes_over(self) -> bool:
        return self.config.pip_enabled and self.playback is P.PLAYING

    # --- callbacks (named in the tables) -----------------------------------------

    def _begin_play(self) -> None:
        self._begin_new_playback()

    def _begin_zap(self) -> None:
        self._stopped_notice("zap")
        self._begin_new_playback()

    def _begin_new_playback(self) -> None:
        """A new player item replaces the old one, whose SSM session is released."""
        stream = self._pending_stream_value
        self._pending_stream_value = None
        self.stream = stream
        old_playback_id = self.item_playback_id
        self.playback_id += 1
        self.ssm_error = False
        self.ks = None
        self.media_ssm = True
        self.drm_license_url = None
        self._start_after_teardown = False
        if self.ssm_token is None:
            return
        token, self.ssm_token = self.ssm_token, None
        if self.config._v2:  # a zap leaves the old session too
            self._left_session = ev.SendSsmTeardown(old_playback_id, token, blocking=False,
                                                    stream=self.item_stream)
            return
        token = self._released(old_playback_id, token)
        if not self._sends_teardown():
            return
        blocking = self._sync_teardown()
        teardown = ev.SendSsmTeardown(old_playback_id, token, blocking=blocking,
                                      stream=self.item_stream)
        if blocking:
            self._teardown_playback_id = old_playback_id
            self._start_after_teardown = True
            self._send_teardown(teardown)
        elif self.config.async_zap_order == "setup-first":
            self._streams_on_wire += ((old_playback_id, teardown.stream),)
            self._stash = (*self._stash, teardown)  # sent right after the new setup
        else:
            self._send_teardown(teardown)

    def _begin_stop(self) -> None:
        self._stopped_notice("stop")
        self._pending_stream_value = None
        # A stop starts nothing after its teardown, whatever an earlier sync zap waited for.
        self._start_after_teardown = False
        self.playback_id += 1  # answers still on the wire now belong to no playback
        if self.config.release_item_on_stop:
            self._release_session(teardown_waits=True)

    def _release_item(self) -> None:
        if self.config._v2:
            self._app_tears_down()
        else:
            self._release_session(teardown_waits=False)

    def _app_tears_down(self) -> None:
        """(V2) The app calls the SDK's teardown: of the session left at a stop or zap,
        else of the one its kept player item holds."""
        teardown, self._left_session = self._left_session, None
        if teardown is None and self.ssm_token is not None:
            token, self.ssm_token = self.ssm_token, None
            teardown = ev.SendSsmTeardown(self.item_playback_id, token, blocking=False,
                                          stream=self.item_stream)
        if teardown is not None:
            self._send_teardown(teardown)

    def _release_session(self, *, teardown_waits: bool) -> None:
        if self.ssm_token is None:
            return
        token, self.ssm_token = self.ssm_token, None
        if self.config._v2:  # stop does not tear down: the session is left for the app
            self._left_session = ev.SendSsmTeardown(self.item_playback_id, token,
                                                    blocking=False, stream=self.item_stream)
            return
        token = self._released(self.item_playback_id, token)
        if not self._sends_teardown():
            return
        blocking = self._sync_teardown()
        if blocking and teardown_waits:
            self._teardown_playback_id = self.item_playback_id
        self._send_teardown(ev.SendSsmTeardown(self.item_playback_id, token,
                                               blocking=blocking, stream=self.item_stream))

    def _stopped_notice(self, reason: str) -> None:
        if self.playback in (P.PLAYING, P.PAUSED):
            self._notify("playback_stopped", stream=self.stream, reason=reason)

    def _enter_stage(self) -> None:
        pid = self.playback_id
        state = self.playback
        stream = self.stream or ""
        if state is P.OBTAINING_KS:
            self._emit(ev.FetchKs(pid))
        elif state is P.LOADING_MEDIA:
            self._emit(ev.LoadMedia(pid, stream, self.ks or ""))
        elif state is P.SSM_SETUP:
            self._streams_on_wire += ((pid, stream),)
            if self._sdk is None:
                self._emit(ev.SendSsmSetup(pid, stream,
                                           blocking=self.config.sync_ssm_setup_teardown,
                                           in_license=self.config._v2))
            else:
                self._retry_attempt = 0
                self._emit(ev.SendSsmSetup(pid, stream, blocking=self._sync_setup(),
                                           in_license=self.config._v2))
                if not self._sdk.license_waits_for_setup() and not self.config._v2:
                    self._emit(ev.SendLicenseRequest(pid, stream, None,
                                                     ssm_required=self._uses_ssm()))
        elif state is P.LICENSE_REQUEST and self._license_in_setup:
            self._license_in_setup = False  # (V2) the license came with the setup answer
        elif state is P.LICENSE_REQUEST:
            token = self.ssm_token if self._sdk is None else \
                self._sdk.license_token(self.ssm_token)
            self._emit(ev.SendLicenseRequest(pid, stream, token, ssm_required=self._uses_ssm()))
        if self._stash:
            self._effects.extend(self._stash)
            self._stash = ()

    def _enter_playing(self) -> None:
        # _notify("playback_started", stream=...), made once per stream and shared
        # (frozen): every device that starts to play posts one.
        stream = self.stream
        notice = _PLAYBACK_STARTED.get(stream)
        if notice is None:
            notice = ev.Notify("playback_started", (("stream", stream),))
            if len(_PLAYBACK_STARTED) < _SHARED_NOTICES_MAX:
                _PLAYBACK_STARTED[stream] = notice
        self._effects.append(notice)

    def _enter_failed(self) -> None:
        # A failed playback's player item is released with its session, if any.
        self._release_session(teardown_waits=False)

    def _enter_stopped(self) -> None:
        self._start_after_teardown = False

    def _suspend_app(self) -> None:
        if self.playback is P.PLAYING:
            self._fire(PLAYBACK_MACHINE, "suspend")

    def _resume_app(self) -> None:
        pass  # resuming playback is the app policy's decision

    def _terminate(self) -> None:
        pass  # nothing is sent: the SSM session is left to expire at the server

    def _relaunch(self) -> None:
        self.playback = P.IDLE
        self._reset_playback_state()


def _table(machine: Machine) -> CompiledTable:
    """The compiled table of ``machine``, one of the two the core fires."""
    if machine is PLAYBACK_MACHINE:
        return PLAYBACK_TABLE
    if machine is APP_MACHINE:
        return APP_TABLE
    raise TypeError(f"the player core fires no machine {machine!r}")


#: The SSM answers an SdkModel reads first (SdkModel.read_answer), and the call each answers.
_SSM_ANSWERS: Final[dict[type, SsmCall]] = {
    ev.SetupAnswered: "setup", ev.HeartbeatAnswered: "heartbeat",
    ev.TeardownAnswered: "teardown"}

#: The call each SSM error notification is about.
_ERROR_CALLS: Final[dict[str, SsmCall]] = {
    "ssm_setup_error": "setup", "ssm_heartbeat_error": "heartbeat",
    "ssm_teardown_error": "teardown"}

_HANDLERS: Final[dict[type, Any]] = {
    ev.Play: PlayerCore._on_play,
    ev.Zap: PlayerCore._on_zap,
    **{cls: PlayerCore._on_playback_action for cls in _PLAYBACK_ACTIONS},
    **{cls: PlayerCore._on_app_action for cls in _APP_ACTIONS},
    ev.SetupAnswered: PlayerCore._on_setup_answered,
    ev.LicenseAnswered: PlayerCore._on_license_answered,
    ev.TeardownAnswered: PlayerCore._on_teardown_answered,
    ev.TeardownWaitEnded: PlayerCore._on_teardown_wait_ended,
    ev.KsAnswered: PlayerCore._on_ks_answered,
    ev.ContentTokenMissing: PlayerCore._on_content_token_missing,
    ev.MediaAnswered: PlayerCore._on_media_answered,
}

# Fast path: heartbeat timers and answers are nearly every input of a large world
# (a 10,000-device hour feeds 1.2 M of each) and never move a machine, so their
# handlers return their effects themselves and skip feed's state bookkeeping
# (measured by benchmarks/world_bench.py).
_HEARTBEAT_HANDLERS: Final[dict[type, Any]] = {
    ev.HeartbeatDue: PlayerCore._on_heartbeat_due,
    ev.HeartbeatAnswered: PlayerCore._on_heartbeat_answered,
}
