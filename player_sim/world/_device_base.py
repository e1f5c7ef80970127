"""What every part of a :class:`~player_sim.Device` shares: its state, its main thread,
its suspension, and the trace records it stamps.

A device is one class split along its concerns, one module each (small mixins
rather than separate objects: the heartbeat path runs a few million times in a
large world, and a mixin's method is as cheap to reach as the class's own):

* :mod:`._device_base`: the state, the main-thread model (synchronous SSM
  calls block it; actions wait), suspension (answers wait for the foreground)
  and trace stamping;
* :mod:`._device_ssm`: SSM and license traffic, the heartbeat timer;
* :mod:`._device_providers`: session-provider and media-provider glue;
* :mod:`._device_app`: notifications, signals and the app policy's reactions;
* :mod:`._device`: :class:`~player_sim.Device` itself, the user's API, and the
  table of which part carries out each effect of the core.

A device sees its world only through :class:`DeviceHost` (the world imports the
device, never the other way round).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, TypeAlias

import attrs

from .._errors import ConfigError, InvalidTransition
from .._messages import SsmAnswer
from ..backends import LicenseServer, SsmServer
from ..player import AppState, CoreConfig, PlaybackState, PlayerCore, SdkModel
from ..player import _events as ev
from ..player._actions import action_name as _action_name
from ..player._variants import SsmVariants
from ..providers import BackendPort
from ..providers._bookmarks import PhoenixBookmarks
from ..trace import Trace
from ._config import DeviceConfig, WorldConfig
from ._network import Network

__all__ = ["DeviceHost"]

# Read on every heartbeat: a module constant is several times cheaper than
# looking the member up on the Enum class.
_BACKGROUND: Final = AppState.BACKGROUND



class _HeartbeatStamps:
    """The trace stamps (:meth:`Trace.stamp`) of one playback's heartbeat records, a
    plain heartbeat's ``heartbeat_sent`` and its success's ``heartbeat_answered``, in
    the app and playback states and the trace they were made for.

    A traced heartbeat is most of a large traced world's records: with its stamps
    at hand, a device writes each with :meth:`Trace.write_stamped`, the same record
    :meth:`_DeviceBase._record` writes, without looking its stamp up. One per
    heartbeat timer (see :data:`HeartbeatTimer`), made again only when the trace, the
    app's or the playback's state changed since.
    """

    __slots__ = ("answered", "app", "playback", "sent", "trace")

    def __init__(self) -> None:
        self.trace: Trace | None = None
        self.app: AppState | None = None
        self.playback: PlaybackState | None = None
        self.sent: int | None = None
        self.answered: int | None = None

    def ready(self, trace: Trace, core: PlayerCore, device: str, playback_id: int) -> bool:
        """Whether :attr:`sent` and :attr:`answered` are the stamps of records ``device``
        writes now to ``trace`` for playback ``playback_id`` (made if need be); ``False``
        when ``trace`` takes its records through :meth:`Trace.write` only."""
        app, playback = core.app, core.playback
        if trace is not self.trace or app is not self.app or playback is not self.playback:
            self.trace, self.app, self.playback = trace, app, playback
            self.sent = trace.stamp(device, "heartbeat_sent", app._value_, playback._value_,
                                    playback_id, _SENT_FIELDS)
            self.answered = trace.stamp(device, "heartbeat_answered", app._value_,
                                        playback._value_, playback_id, _ANSWERED_FIELDS)
        return self.sent is not None


#: The data fields of a plain heartbeat's record, and of its success's (see
#: :func:`_answer_fields`), in the order they are written.
_SENT_FIELDS: Final = ("request_id", "token")
_ANSWERED_FIELDS: Final = ("request_id", "http_status", "ssm_code", "message", "token",
                           "heartbeat_period")

#: A heartbeat timer's argument: what fired, for which run of the app, and the trace
#: stamps of its heartbeats' records.
HeartbeatTimer: TypeAlias = tuple[ev.HeartbeatDue, int, _HeartbeatStamps]

#: The stamps of every heartbeat timer of a device whose heartbeats are not traced:
#: they are read only when they are (``_trace_heartbeats``), so one never-filled
#: instance serves them all (72 B and one tracked object less per device).
_UNTRACED_STAMPS: Final = _HeartbeatStamps()
#: The heartbeat timer argument a device starts with: no playback has id 0.
_NO_HEARTBEAT_TIMER: Final[HeartbeatTimer] = (ev.HeartbeatDue(0), 0, _UNTRACED_STAMPS)
#: The heartbeat timers of untraced devices, one per (playback id, launch), at most
#: _SHARED_TIMERS_MAX (then each is made anew, as a traced device's always is).
_shared_timers: dict[tuple[int, int], HeartbeatTimer] = {}
_SHARED_TIMERS_MAX: Final = 4096


def new_heartbeat_timer(playback_id: int, launch: int, traced: bool) -> HeartbeatTimer:
    """The heartbeat timer argument of playback ``playback_id`` of run ``launch`` of a
    device's app, whose heartbeats are ``traced`` or not.

    A traced device's has stamps of its own, filled as it writes. An untraced device's
    is immutable, so devices at the same pair share it (a fleet's devices all play
    playback 1 of launch 0: one timer, not 112 B each). A device still tells its
    current timer from a stale one by identity: it never comes back to a pair (a
    relaunch moves ``launch`` on), so its timer of another pair is another object."""
    if traced:
        return (ev.HeartbeatDue(playback_id), launch, _HeartbeatStamps())
    key = (playback_id, launch)
    timer = _shared_timers.get(key)
    if timer is None:
        timer = (ev.HeartbeatDue(playback_id), launch, _UNTRACED_STAMPS)
        if len(_shared_timers) < _SHARED_TIMERS_MAX:
            _shared_timers[key] = timer
    return timer


#: No request blocks the main thread (one shared empty frozenset: each is ~200 B).
_NO_REQUESTS: Final[frozenset[int]] = frozenset()


class DeviceHost(Protocol):
    """What a device uses of its world (a :class:`~player_sim.World` is one)."""

    @property
    def now(self) -> float: ...

    @property
    def config(self) -> WorldConfig: ...

    @property
    def trace(self) -> Trace: ...

    @property
    def network(self) -> Network: ...

    @property
    def ssm(self) -> SsmServer: ...

    @property
    def license(self) -> LicenseServer: ...

    @property
    def backend_port(self) -> BackendPort: ...

    def schedule_at(self, time: float, callback: Callable[[Any], None], arg: Any) -> None: ...

    def schedule_after(self, delay: float, callback: Callable[[Any], None], arg: Any
                       ) -> None: ...

    def record(self, device: str | None, kind: str, data: Mapping[str, Any]) -> None: ...

    def catch_up(self) -> None: ...

    def poke(self) -> None: ...


#: Devices configured alike share their core's configuration: a CoreConfig (with its
#: SsmVariants, ~340 B) is frozen, so a fleet of 100,000 devices holds a handful, not one
#: each. At most this many are kept; any more is built per device, as before.
_SHARED_CORE_CONFIGS_MAX: Final = 256
_shared_core_configs: dict[CoreConfig, CoreConfig] = {}
#: The shared CoreConfig of a plain DeviceConfig, by the fields ``core_config()`` reads
#: (:func:`_core_config_inputs`): building one to look it up cost more than the lookup.
_core_configs_by_inputs: dict[tuple[Any, ...], CoreConfig] = {}


def _core_config_inputs(config: DeviceConfig) -> tuple[Any, ...] | None:
    """What ``config.core_config()`` is built from, as a key, or ``None`` when it can't
    stand for it: a subclass (it may build it otherwise) or an SDK model (never shared)."""
    if type(config) is not DeviceConfig or config.sdk is not None:
        return None
    return (config.ssm_server_url is not None, config.sync_ssm_setup_teardown, config.pip,
            config.async_zap_order, config.release_item_on_stop, config.media is not None,
            config.profile, tuple(config.variants.items()))


def _shared_core_config(config: DeviceConfig) -> CoreConfig:
    """``config.core_config()``, or an equal one already in use. Never shared: one with
    an SDK model (equality ignores the model, and each core copies its own from it) or
    with a variant value that can't be hashed.

    A plain ``DeviceConfig`` met before (the same inputs, see
    :func:`_core_config_inputs`) finds its shared CoreConfig without building one;
    anything else builds it and looks it up by value.
    """
    inputs = _core_config_inputs(config)
    if inputs is not None:
        try:
            shared = _core_configs_by_inputs.get(inputs)
        except TypeError:  # an unhashable variant value
            inputs = None
        else:
            if shared is not None:
                return shared
    built = config.core_config()
    if built.sdk is not None:
        return built
    try:
        shared = _shared_core_configs.get(built)
    except TypeError:  # an unhashable variant value
        return built
    if shared is None:
        if len(_shared_core_configs) >= _SHARED_CORE_CONFIGS_MAX:
            return built
        shared = _shared_core_configs[built] = built
    if inputs is not None and len(_core_configs_by_inputs) < _SHARED_CORE_CONFIGS_MAX:
        _core_configs_by_inputs[inputs] = shared
    return shared


class _DeviceBase:
    """The state every part of a device reads, and the primitives they share.

    Every attribute of a device is a slot declared here (the parts and
    :class:`~player_sim.Device` declare none of their own): a large world holds
    a hundred thousand devices, and slots weigh less than an instance dict.
    What most devices never use starts empty and costs nothing: waiting actions,
    deferred answers and the setups and teardowns on the wire are each a tuple
    replaced on change (the empty one shared), the client's timeouts still
    awaited ``None`` until one is armed.
    """

    __slots__ = (
        "__weakref__",
        "_awaiting",
        "_blocked_since",
        "_blocked_time",
        "_blocking",
        "_blocking_requests",
        "_bookmarks",
        "_deferred",
        "_heartbeat_timer",
        "_heartbeats_sent",
        "_launch",
        "_loaded",
        "_media_load_cancel",
        "_overdue_heartbeat",
        "_requests",
        "_timeouts",
        "_trace_heartbeats",
        "_waiting",
        "config",
        "core",
        "killed",
        "name",
        "policy",
        "session_provider",
        "setups_on_the_wire",
        "teardowns_on_the_wire",
        "world",
    )

    def __init__(self, world: DeviceHost, config: DeviceConfig) -> None:
        self.world = world
        self.config = config
        self.name = config.name
        self.core = PlayerCore(_shared_core_config(config))
        self.policy = config.policy
        self.killed = False
        # Which run of the app this is: a kill starts a new one, and what the dead
        # process sent or armed (answers, timers, app reactions) never reaches it.
        self._launch = 0
        self._heartbeats_sent = 0
        self._requests = 0
        self._blocked_time = 0.0
        self._blocking = 0
        self._blocked_since = 0.0
        # Blocking SSM requests not yet answered nor released by the client's cap: a
        # frozenset replaced on change (sync calls are rare; the empty one is shared).
        self._blocking_requests = _NO_REQUESTS
        # The client's timeout per SSM call, and the requests it still waits for: True
        # until answered, False once timed out (a late answer is then dropped).
        # (``None`` until the first is armed: most devices have no timeouts, and an
        # empty dict is 64 B each.)
        self._timeouts = config.request_timeouts
        self._awaiting: dict[int, bool] | None = None
        # Actions waiting for the main thread, oldest first: a few at most, and most
        # devices never have one, so a tuple replaced on change (the empty one shared).
        self._waiting: tuple[tuple[float, ev.Action, str], ...] = ()
        # Answers that arrived while suspended, oldest first: a tuple too, as rare.
        self._deferred: tuple[Callable[[], None], ...] = ()
        self._overdue_heartbeat: ev.HeartbeatDue | None = None
        # The heartbeat timer's argument, reused while playback and launch stay the same
        # (immutable: every device starts with the same one, matching no playback).
        self._heartbeat_timer = _NO_HEARTBEAT_TIMER
        self._trace_heartbeats = world.config.trace_heartbeats
        # SSM round trips under way, so that a session whose answer is still on the
        # wire is not taken for a zombie: when each unanswered setup left (oldest first),
        # and the tokens of unanswered teardowns. Tuples replaced on change: a device
        # has at most one on the wire most of the time, and none once playing (an
        # empty list each was 56 B, and one more object for the collector).
        self.setups_on_the_wire: tuple[float, ...] = ()
        self.teardowns_on_the_wire: tuple[str, ...] = ()
        self.session_provider = config.session_provider
        # Session-provider glue (_device_providers): the media load in flight's cancel,
        # the Phoenix analytics plugin's bookmarks, the asset and KS of the last load.
        self._media_load_cancel: Callable[[], None] | None = None
        self._bookmarks: PhoenixBookmarks | None = None
        self._loaded: tuple[str, str] | None = None

    # Read from the config, not kept in a slot each (8 B a device apiece): a few times
    # per playback, never on a heartbeat's fast path.

    @property
    def _sdk(self) -> SdkModel | None:
        """``config.sdk``, the model the core copied its own from."""
        return self.config.sdk

    @property
    def _variants(self) -> SsmVariants:
        """The core's variants (``config.ssm_variants``, built once)."""
        return self.core.config.variants

    # --- carried out by the other parts (see _device.py) --------------------------------

    def _run(self, effects: tuple[ev.Effect, ...]) -> None:
        """Carry out the effects the core returned (:class:`~player_sim.Device`)."""
        raise NotImplementedError

    def _do(self, action: ev.Action, origin: str) -> None:
        """Apply ``action`` now (:class:`~player_sim.Device`)."""
        raise NotImplementedError

    def _heartbeat_due(self, timer: HeartbeatTimer) -> None:
        """The heartbeat timer fired (:mod:`._device_ssm`)."""
        raise NotImplementedError

    def _provider_notified(self, kind: str, payload: Mapping[str, Any]) -> None:
        """The core posted notification ``kind`` (:mod:`._device_providers`)."""
        raise NotImplementedError

    # --- the trace -------------------------------------------------------------------

    def _record(self, kind: str, data: Mapping[str, Any], playback_id: int | None = None) -> None:
        """Trace a device record, stamped with the player's states and the playback it
        belongs to (default: the current one; requests and answers name theirs)."""
        core = self.core
        world = self.world
        # ``_value_``: the state's string, read without the ``value`` property's call.
        world.trace.write(world.now, self.name, kind, core.app._value_, core.playback._value_,
                          data, core.playback_id if playback_id is None else playback_id)

    def _next_request(self) -> int:
        """A new request id: pairs a request's record with its answer's."""
        self._requests += 1
        return self._requests

    # --- answers, and suspension --------------------------------------------------------

    def _deliver(self, playback_id: int, answer: SsmAnswer | str, launch: int,
                 request_id: int) -> None:
        """A heartbeat's ``answer`` reaches the device (playback ``playback_id``, sent by
        run ``launch`` of the app as request ``request_id``): an :class:`SsmAnswer`, or
        a success as the session's new token alone (:meth:`SsmServer.rotate`). The
        general path: the network hands a heartbeat's answer to
        ``_HeartbeatRequest.deliver``, which takes the plain success itself."""
        if self.killed or launch != self._launch:
            return
        core = self.core
        if core.app is _BACKGROUND:
            self._deferred += (lambda: self._deliver(playback_id, answer, launch,
                                                     request_id),)
            return
        if isinstance(answer, str):  # (the fast path is _HeartbeatRequest.deliver's)
            answer = self.world.ssm.success(answer)
        if self._trace_heartbeats or not answer.ok:  # a failed one is always traced
            self._record("heartbeat_answered", _answer_fields(answer, request_id),
                         playback_id)
        if answer.ok and answer.token is not None \
                and core.take_rotated_token(playback_id, answer.token):
            return
        effects = core.feed(ev.HeartbeatAnswered(playback_id, answer))
        if effects:  # a heartbeat's answer usually has none
            self._run(effects)

    def _answered(self, kind: str, answer: ev.Answer, unblocks: bool, launch: int,
                  request_id: int | None = None) -> None:
        if self.killed or launch != self._launch:
            return
        if self.core.app is AppState.BACKGROUND:
            self._deferred += (
                lambda: self._answered(kind, answer, unblocks, launch, request_id),)
            return
        self._record(kind, _answered_fields(answer, request_id), answer.playback_id)
        self._run(self.core.feed(answer))
        if unblocks:
            self._unblock()

    def _wake_up(self) -> None:
        """Back from suspension: answers that arrived meanwhile, then an overdue heartbeat."""
        deferred, self._deferred = self._deferred, ()
        overdue, self._overdue_heartbeat = self._overdue_heartbeat, None
        for deliver in deferred:
            self.world.schedule_at(self.world.now, lambda f: f(), deliver)
        if overdue is not None:
            self._record("heartbeat_overdue", {})
            self.world.schedule_at(self.world.now, self._heartbeat_due,
                                   (overdue, self._launch, _HeartbeatStamps()))

    # --- the main thread --------------------------------------------------------------

    def _block(self) -> None:
        if self._blocking == 0:
            self._blocked_since = self.world.now
        self._blocking += 1

    def _unblock(self, *, capped: bool = False) -> None:
        self._blocking -= 1
        if self._blocking:
            return
        self._close_blocked_period(capped=capped)
        while self._waiting and not self._blocking and not self.killed:
            since, action, origin = self._waiting[0]
            self._waiting = self._waiting[1:]
            if origin == "app" and not self.core.can(action):
                continue
            self._record("action_delayed", {"name": _action_name(action),
                                            "waited": round(self.world.now - since, 6)})
            try:
                self._do(action, origin)
            except (InvalidTransition, ConfigError) as refused:
                # Nobody is left to raise to: the user acted while the thread was blocked.
                self._record("action_dropped", {"name": _action_name(action), "origin": origin,
                                                "reason": str(refused)})

    def _unblock_all(self) -> None:
        self._blocking = 0
        self._blocking_requests = _NO_REQUESTS
        self._close_blocked_period()

    def _close_blocked_period(self, *, capped: bool = False) -> None:
        blocked = self.world.now - self._blocked_since
        self._blocked_time += blocked
        data: dict[str, Any] = {"seconds": round(blocked, 6)}
        if capped:
            data["capped"] = True
        self._record("main_thread_blocked", data)


#: The values :func:`as_dict` copies as they are (exact types: a subclass goes to attrs).
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
#: Each attrs class's field names, in order, as :func:`as_dict` met them.
_field_names: dict[type, tuple[str, ...]] = {}


def as_dict(instance: Any) -> dict[str, Any]:
    """``attrs.asdict(instance)``, built without attrs' generic machinery when every
    field holds a str, int, float, bool, None or (recursively) such an attrs instance,
    as the actions and answers a device records do; anything else (a collection, a
    subclass of those types) is left to ``attrs.asdict`` itself. Same dict either way."""
    kind = type(instance)
    names = _field_names.get(kind)
    if names is None:
        names = _field_names[kind] = tuple(a.name for a in attrs.fields(kind))
    fields: dict[str, Any] = {}
    for name in names:
        value = getattr(instance, name)
        if type(value) in _SCALARS:
            fields[name] = value
        elif attrs.has(type(value)):
            fields[name] = as_dict(value)
        else:
            return attrs.asdict(instance)
    return fields


#: The fields of each SsmVariants met (frozen, and a fleet has a handful), as
#: :func:`variants_fields` copies them; at most _SHARED_CORE_CONFIGS_MAX.
_variants_fields: dict[SsmVariants, dict[str, Any]] = {}


def variants_fields(variants: SsmVariants) -> dict[str, Any]:
    """``as_dict(variants)``, as every ``device_added`` record carries it: a new dict
    each call, copied from the one built the first time these values were met."""
    last = _last_variants
    if last[0] is variants:  # a fleet's devices share theirs: no hash of all the fields
        return dict(last[1])
    try:
        fields = _variants_fields.get(variants)
    except TypeError:  # a variant value that can't be hashed
        return as_dict(variants)
    if fields is None:
        fields = as_dict(variants)
        if len(_variants_fields) < _SHARED_CORE_CONFIGS_MAX:
            _variants_fields[variants] = fields
    _last_variants[:] = (variants, fields)
    return dict(fields)


#: The SsmVariants :func:`variants_fields` met last (a frozen instance), and its fields.
_last_variants: list[Any] = [None, None]


def _answer_fields(answer: SsmAnswer, request_id: int) -> dict[str, Any]:
    """An SSM answer's fields for the trace, as :func:`_flatten` lifts them from
    ``attrs.asdict(answer)``: ``ssm_code`` always, ``token`` and ``heartbeat_period``
    when set. Read field by field: a traced heartbeat's answer is on the hot path, and
    ``asdict`` costs more than the record (a test holds the two equal)."""
    data: dict[str, Any] = {"request_id": request_id, "http_status": answer.http_status,
                            "ssm_code": answer.ssm_code, "message": answer.message}
    if answer.token is not None:
        data["token"] = answer.token
    if answer.heartbeat_period is not None:
        data["heartbeat_period"] = answer.heartbeat_period
    return data


def _answered_fields(answer: ev.Answer, request_id: int | None) -> dict[str, Any]:
    """The trace fields of a setup, teardown or license ``answer`` to request
    ``request_id``: ``attrs.asdict(answer)`` without its ``playback_id``, with the
    ``request_id``, :func:`_flatten` ed. Every device's start has a setup and a license
    answer, so the two usual shapes are read field by field, in the same order (a
    test holds them equal); anything else takes the general way."""
    kind = type(answer)
    if request_id is not None:
        if kind is ev.SetupAnswered or kind is ev.TeardownAnswered:
            ssm: Any = answer.answer  # type: ignore[union-attr]
            if type(ssm) is SsmAnswer:
                return _answer_fields(ssm, request_id)
        elif kind is ev.LicenseAnswered:
            lic: Any = answer
            data: dict[str, Any] = {"granted": lic.granted, "http_status": lic.http_status,
                                    "code": lic.code, "message": lic.message}
            if lic.session_token is not None:
                data["session_token"] = lic.session_token
            data["request_id"] = request_id
            return data
    data = as_dict(answer)
    del data["playback_id"]
    if request_id is not None:
        data["request_id"] = request_id
    return _flatten(data)


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    """Lift a nested answer's fields to the top level for the trace (a license answer's
    ``session_token`` only in enforced mode)."""
    if data.get("session_token", "") is None:
        del data["session_token"]
    inner = data.pop("answer", None)
    if isinstance(inner, dict):
        data.update({k: v for k, v in inner.items() if v is not None or k == "ssm_code"})
    return data
