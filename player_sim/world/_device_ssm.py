"""A device's SSM and license traffic: the heartbeat timer, setup, teardown, license.

The heartbeat is most of a large world's events, so this path allocates as
little as it can: one reused timer argument per playback and one small
:class:`_HeartbeatRequest` per heartbeat (see :class:`~._device_base._DeviceBase`
for why a device is split into mixins rather than objects).
"""

from __future__ import annotations

from collections.abc import Callable

from .._messages import ContentToken, SsmAnswer
from ..backends import LicenseVerdict
from ..player import _events as ev
from ..player._variants import CONTENT_TOKEN_POLL_INTERVAL, CONTENT_TOKEN_POLLS, RENEWAL_ENDPOINTS
from ._device_base import _BACKGROUND, HeartbeatTimer, _DeviceBase, new_heartbeat_timer

__all__: list[str] = []

_new_request = object.__new__  # see _HeartbeatRequest


class _SsmTraffic(_DeviceBase):
    """Carries out the core's SSM and license effects; delivers their answers."""

    __slots__ = ()  # its state is in _DeviceBase

    def _arm_heartbeat(self, effect: ev.ArmHeartbeat) -> None:
        # Heartbeats are most of a large world's events: the timer's argument is
        # immutable, so one (HeartbeatDue, launch) pair serves every period of a
        # playback instead of two new objects per heartbeat (and untraced devices
        # share it: see new_heartbeat_timer).
        timer = self._heartbeat_timer
        if timer[0].playback_id != effect.playback_id or timer[1] != self._launch:
            timer = self._heartbeat_timer = new_heartbeat_timer(
                effect.playback_id, self._launch, self._trace_heartbeats)
        self.world.schedule_after(effect.delay, self._heartbeat_due, timer)

    def _heartbeat_due(self, timer: HeartbeatTimer) -> None:
        due, launch = timer[0], timer[1]
        if self.killed or launch != self._launch:
            return
        core = self.core
        if core.app is _BACKGROUND and (self._sdk is None
                                        or not self._sdk.heartbeats_in("background")):
            self._overdue_heartbeat = due  # iOS timers stop while suspended
            return
        # The fast path (most of a large world's events): in the plain case the core
        # would answer (SendHeartbeat, ArmHeartbeat) and change nothing, so send and
        # re-arm the same timer directly, in that order. Anything else (a client
        # timeout to arm, an SDK variant, a renewal, a new period or playback) feeds
        # the core and carries its effects out as usual. The send is
        # _send_plain_heartbeat's, inlined (one call less a heartbeat), traced with the
        # timer's cached stamps (see _HeartbeatStamps) when the trace takes them.
        if timer is self._heartbeat_timer and not self._timeouts:
            playback_id = due.playback_id
            token = core.plain_heartbeat_token(playback_id)
            if token is not None:
                self._heartbeats_sent += 1
                self._requests += 1  # _next_request
                request_id = self._requests
                world = self.world
                if self._trace_heartbeats:
                    stamps, trace = timer[2], world.trace
                    if stamps.trace is not trace or stamps.app is not core.app \
                            or stamps.playback is not core.playback:
                        stamps.ready(trace, core, self.name, playback_id)  # made again
                    if stamps.sent is not None:
                        trace.write_stamped(world.now, stamps.sent, (request_id, token))
                    else:
                        self._record("heartbeat_sent", {"request_id": request_id,
                                                        "token": token}, playback_id)
                # _HeartbeatRequest(self, token, playback_id, request_id), built without
                # calling __init__ from C; sent as network.send(request) would, but for
                # the call (Network._make_senders).
                request = _new_request(_HeartbeatRequest)
                request.device, request.token, request.playback_id = self, token, playback_id
                request.request_id, request.launch, request.lost = request_id, self._launch, False
                world.network._senders["ssm"](request)
                world.schedule_after(core.heartbeat_period, self._heartbeat_due, timer)
                return
        self._run(core.feed(due))

    def _send_heartbeat(self, effect: ev.SendHeartbeat) -> None:
        if effect.renewal:  # enforced mode: a license renewal keeps the session alive
            self._heartbeats_sent += 1
            request_id = self._next_request()
            endpoint = RENEWAL_ENDPOINTS[self._variants.drm]
            self._record("heartbeat_sent", {"request_id": request_id, "token": effect.token,
                                            "renewal": endpoint}, effect.playback_id)
            self.world.network.send(_RenewalRequest(self, effect.token, effect.playback_id,
                                                    request_id, endpoint))
        else:
            request_id = self._send_plain_heartbeat(effect.playback_id, effect.token)
        if self._timeouts:
            pid, launch = effect.playback_id, self._launch
            self._arm_timeout("heartbeat", request_id, lambda answer: self._deliver(
                pid, answer, launch, request_id))

    def _send_plain_heartbeat(self, playback_id: int, token: str) -> int:
        """Send a heartbeat (not a renewal) with ``token``; returns its request id. (The
        heartbeat timer's fast path, :meth:`_heartbeat_due`, does the same inline.)"""
        self._heartbeats_sent += 1
        request_id = self._next_request()
        if self._trace_heartbeats:
            self._record("heartbeat_sent", {"request_id": request_id, "token": token},
                         playback_id)
        self.world.network.send(_HeartbeatRequest(self, token, playback_id, request_id))
        return request_id

    def _send_setup(self, effect: ev.SendSsmSetup) -> None:
        delay = self.config.content_token_delay
        if delay <= 0:
            self._setup_now(effect, self.config.content_token)
        elif self._variants.content_token_wait == "poll":
            now = self.world.now
            self.world.schedule_at(now + CONTENT_TOKEN_POLL_INTERVAL, self._poll_content_token,
                                   (effect, now, now + delay, 1, self._launch))
        else:  # sent at once, with no content token yet: the server refuses it (1003)
            self._setup_now(effect, ContentToken(empty=True))

    def _poll_content_token(self, arg: tuple[ev.SendSsmSetup, float, float, int, int]) -> None:
        """Poll ``poll`` for a late content token: every 100 ms after the SDK asked for it
        (at ``asked_at``), 50 at most (the web client)."""
        effect, asked_at, ready_at, poll, launch = arg
        core = self.core
        if self.killed or launch != self._launch or core.playback_id != effect.playback_id:
            return  # stopped, zapped away or killed meanwhile: nothing to set up
        world = self.world
        if world.now >= ready_at:
            self._record("content_token_polled", {"polls": poll, "found": True},
                         effect.playback_id)
            self._setup_now(effect, self.config.content_token)
        elif poll >= CONTENT_TOKEN_POLLS:
            self._record("content_token_polled", {"polls": poll, "found": False},
                         effect.playback_id)
            self._run(core.feed(ev.ContentTokenMissing(effect.playback_id)))
        else:
            world.schedule_at(asked_at + (poll + 1) * CONTENT_TOKEN_POLL_INTERVAL,
                              self._poll_content_token, (effect, asked_at, ready_at, poll + 1,
                                                         launch))

    def _setup_now(self, effect: ev.SendSsmSetup, content_token: ContentToken | None) -> None:
        rid = self._next_request()
        data: dict[str, object] = {"request_id": rid, "stream": effect.stream,
                                   "blocking": effect.blocking}
        if effect.in_license:
            data["in_license"] = True
        self._record("ssm_setup_sent", data, effect.playback_id)
        if effect.blocking:
            self._block_for(rid, self._variants.sync_setup_cap, None)
        self.setups_on_the_wire += (self.world.now,)
        # SSM V2: the license server sets the session up (see _SetupCall.serve).
        self._request(_SetupCall(self, rid, effect, content_token))

    def _send_teardown(self, effect: ev.SendSsmTeardown) -> None:
        rid = self._next_request()
        self._record("ssm_teardown_sent", {"request_id": rid, "token": effect.token,
                                           "blocking": effect.blocking,
                                           "stream": effect.stream}, effect.playback_id)
        if effect.blocking:
            self._block_for(rid, self._variants.sync_teardown_cap, effect.playback_id)
        self.teardowns_on_the_wire += (effect.token,)
        self._request(_TeardownCall(self, rid, effect))

    # --- lost answers and the client's timeouts ---------------------------------------------

    def _request(self, call: _SsmCall) -> None:
        """Send an SSM setup or teardown: ``call.arrived(answer)`` once the answer is
        back, or with a timeout answer if the client's timeout for its endpoint runs
        out first."""
        self.world.network.send(call)
        if self._timeouts:
            self._arm_timeout(call.endpoint, call.request_id, call.arrived)

    def _arm_timeout(self, endpoint: str, request_id: int,
                     timed_out: Callable[[SsmAnswer], None]) -> None:
        timeout = self._timeouts.get(endpoint)
        if timeout is None:
            return
        if self._awaiting is None:  # the first timeout armed (see _DeviceBase)
            self._awaiting = {}
        self._awaiting[request_id] = True
        answer = SsmAnswer(0, None, f"no answer within {timeout:g}s: the request timed out")
        self.world.schedule_at(self.world.now + timeout, self._timeout_fired,
                               (request_id, self._launch, timed_out, answer))

    def _timeout_fired(self, arg: tuple[int, int, Callable[[SsmAnswer], None], SsmAnswer]
                       ) -> None:
        request_id, launch, timed_out, answer = arg
        awaiting = self._awaiting
        if self.killed or launch != self._launch or not awaiting or not awaiting.get(request_id):
            return  # answered in time, or the app is gone
        awaiting[request_id] = False  # an answer coming later is dropped
        timed_out(answer)

    def _in_time(self, request_id: int) -> bool:
        """Whether the answer to ``request_id`` still counts (its timeout has not run out)."""
        awaiting = self._awaiting
        return True if awaiting is None else awaiting.pop(request_id, True)

    def _answer_lost(self, endpoint: str, request_id: int, launch: int) -> None:
        if launch == self._launch and not self.killed:
            self.world.record(self.name, "answer_lost", {"endpoint": f"ssm.{endpoint}",
                                                         "request_id": request_id})

    def _setup_arrived(self, answer: ev.SetupAnswered, blocking: bool, launch: int,
                       request_id: int) -> None:
        if launch == self._launch:
            self.setups_on_the_wire = self.setups_on_the_wire[1:]
        self._answered("ssm_setup_answered", answer, self._still_blocks(blocking, request_id),
                       launch, request_id)

    def _teardown_arrived(self, token: str, answer: ev.TeardownAnswered, blocking: bool,
                          launch: int, request_id: int) -> None:
        if launch == self._launch:
            wire = self.teardowns_on_the_wire
            at = wire.index(token)  # a ValueError if missing, as list.remove raised
            self.teardowns_on_the_wire = wire[:at] + wire[at + 1:]
        self._answered("ssm_teardown_answered", answer,
                       self._still_blocks(blocking, request_id), launch, request_id)

    # --- sync mode: the main thread, and the client's cap on the wait ---------------------

    def _block_for(self, request_id: int, cap: float | None, teardown_of: int | None) -> None:
        """Block the main thread until request ``request_id`` is answered, or for ``cap``
        seconds at most (variants ``sync_setup_cap`` / ``sync_teardown_cap``)."""
        self._block()
        self._blocking_requests |= {request_id}
        if cap is not None:
            world = self.world
            world.schedule_at(world.now + cap, self._cap_reached,
                              (request_id, teardown_of, self._launch))

    def _still_blocks(self, blocking: bool, request_id: int) -> bool:
        """Whether the answer to ``request_id`` frees the main thread (not if a cap did)."""
        if not blocking or request_id not in self._blocking_requests:
            return False
        self._blocking_requests -= {request_id}
        return True

    def _cap_reached(self, arg: tuple[int, int | None, int]) -> None:
        request_id, teardown_of, launch = arg
        if self.killed or launch != self._launch or request_id not in self._blocking_requests:
            return  # answered in time (or the app is gone)
        self._blocking_requests -= {request_id}
        if teardown_of is not None:  # a stop or zap waiting for this teardown goes on
            self._run(self.core.feed(ev.TeardownWaitEnded(teardown_of)))
        self._unblock(capped=True)

    def _send_license(self, effect: ev.SendLicenseRequest) -> None:
        rid = self._next_request()
        self._record("license_request_sent", {"request_id": rid, "stream": effect.stream,
                                              "ssm_token": effect.ssm_token},
                     effect.playback_id)
        self.world.network.send(_LicenseCall(self, rid, effect))


class _DeviceRequest:
    """What an SSM call and a heartbeat on the wire share: the device that sent it as
    request ``request_id`` of playback ``playback_id``, from run ``launch`` of its app,
    and whether its answer is ``lost`` on the way back (set when it is served)."""

    __slots__ = ("device", "launch", "lost", "playback_id", "request_id")
    device: _SsmTraffic
    launch: int
    lost: bool
    playback_id: int
    request_id: int

    @property
    def sender(self) -> str:
        return self.device.name


class _SsmCall(_DeviceRequest):
    """An SSM setup or teardown on the wire (a :class:`~._network.Request`), sent by run
    ``launch`` of the app as request ``request_id``: one small object per request, not
    the four closures, the list cell and the :meth:`Network.request` wrapper it took
    (every device's start sends a setup).

    ``deliver`` is the answer reaching the device: dropped if the server's answer was
    lost on the way back (``answer_lost``, drawn when served) or came after the client's
    timeout; else :meth:`arrived`, which a timeout also calls, with its own answer.
    """

    __slots__ = ("blocking", "link")
    endpoint = ""

    def __init__(self, device: _SsmTraffic, request_id: int, playback_id: int,
                 blocking: bool, link: str = "ssm") -> None:
        self.device = device
        self.request_id = request_id
        self.playback_id = playback_id
        self.blocking = blocking
        self.link = link
        self.launch = device._launch
        self.lost = False

    def serve(self) -> SsmAnswer:
        """The server's answer (at the backend); whether it is lost on the way back is
        drawn after it, as for every SSM call."""
        answer = self._serve()
        self.lost = self.device.world.ssm.answer_lost(self.endpoint)
        return answer

    def _serve(self) -> SsmAnswer:
        raise NotImplementedError

    def unavailable(self) -> SsmAnswer:
        return self.device.world.ssm.unavailable(self.device.name, self.endpoint,
                                                 request_id=self.request_id)

    def deliver(self, answer: SsmAnswer) -> None:
        device = self.device
        if self.lost:
            device._answer_lost(self.endpoint, self.request_id, self.launch)
        elif device._in_time(self.request_id):
            self.arrived(answer)

    def arrived(self, answer: SsmAnswer) -> None:
        raise NotImplementedError


class _SetupCall(_SsmCall):
    """An SSM setup; in SSM V2 (``in_license``) sent to the license server, which sets
    the session up."""

    __slots__ = ("content_token", "stream")
    endpoint = "setup"

    def __init__(self, device: _SsmTraffic, request_id: int, effect: ev.SendSsmSetup,
                 content_token: ContentToken | None) -> None:
        super().__init__(device, request_id, effect.playback_id, effect.blocking,
                         "license" if effect.in_license else "ssm")
        self.stream = effect.stream
        self.content_token = content_token

    def _serve(self) -> SsmAnswer:
        device = self.device
        cfg = device.config
        if self.link == "license":
            return device.world.license.request_with_setup(
                cfg.account, device.name, self.stream, cfg.ip, cfg.device_group,
                self.content_token)
        return device.world.ssm.setup(cfg.account, device.name, self.stream, cfg.ip,
                                      cfg.device_group, self.content_token,
                                      request_id=self.request_id)

    def arrived(self, answer: SsmAnswer) -> None:
        self.device._setup_arrived(ev.SetupAnswered(self.playback_id, answer), self.blocking,
                                   self.launch, self.request_id)


class _TeardownCall(_SsmCall):
    """An SSM teardown of the session ``token``."""

    __slots__ = ("token",)
    endpoint = "teardown"

    def __init__(self, device: _SsmTraffic, request_id: int,
                 effect: ev.SendSsmTeardown) -> None:
        super().__init__(device, request_id, effect.playback_id, effect.blocking)
        self.token = effect.token

    def _serve(self) -> SsmAnswer:
        return self.device.world.ssm.teardown(self.device.name, self.token,
                                              request_id=self.request_id)

    def arrived(self, answer: SsmAnswer) -> None:
        self.device._teardown_arrived(self.token, ev.TeardownAnswered(self.playback_id, answer),
                                      self.blocking, self.launch, self.request_id)


class _LicenseCall:
    """A license request on the wire (a :class:`~._network.Request`): one object, not
    the three closures :meth:`Network.request` would take."""

    __slots__ = ("device", "effect", "launch", "request_id")
    link = "license"

    def __init__(self, device: _SsmTraffic, request_id: int,
                 effect: ev.SendLicenseRequest) -> None:
        self.device = device
        self.request_id = request_id
        self.effect = effect
        self.launch = device._launch

    @property
    def sender(self) -> str:
        return self.device.name

    def serve(self) -> LicenseVerdict:
        effect = self.effect
        return self.device.world.license.request(self.device.name, effect.stream,
                                                 effect.ssm_token, effect.ssm_required)

    def unavailable(self) -> LicenseVerdict:
        return self.device.world.license.unavailable(self.device.name, self.effect.stream)

    def deliver(self, verdict: LicenseVerdict) -> None:
        self.device._answered("license_answered", ev.LicenseAnswered(
            self.effect.playback_id, verdict.granted, verdict.http_status, verdict.code,
            verdict.message, verdict.session_token), False, self.launch, self.request_id)


class _HeartbeatRequest(_DeviceRequest):
    """One heartbeat on the wire (a :class:`~._network.Request`).

    Heartbeats are most of a large world's traffic: one small object per heartbeat
    costs less than the three closures :meth:`Network.request` would take. (The
    heartbeat timer's fast path sets its fields itself, as ``__init__`` does: an
    ``__init__`` in Python costs a call from C per heartbeat.)
    """

    __slots__ = ("token",)
    link = "ssm"

    def __init__(self, device: _SsmTraffic, token: str, playback_id: int,
                 request_id: int) -> None:
        self.device = device
        self.token = token
        self.playback_id = playback_id
        self.request_id = request_id
        self.launch = device._launch
        self.lost = False

    def serve(self) -> SsmAnswer | str:
        """The server's answer, a success as the new token alone (``SsmServer.rotate``);
        whether it is lost is asked only while the server has answers to lose."""
        ssm = self.device.world.ssm
        answer = ssm.rotate(self.device.name, self.token, request_id=self.request_id)
        if ssm.losing:
            self.lost = ssm.answer_lost("heartbeat")
        return answer

    def unavailable(self) -> SsmAnswer:
        return self.device.world.ssm.unavailable(self.device.name, "heartbeat",
                                                 request_id=self.request_id)

    def deliver(self, answer: SsmAnswer | str) -> None:
        """The answer reaches the device: ``Device._deliver``, whose most frequent case is
        taken here (one call less a heartbeat): a plain success (the new token alone) to
        the app's same run in the foreground with no timeout armed. Traced, its record
        is written by the heartbeat timer's cached stamp (see ``_HeartbeatStamps``),
        the record ``_deliver`` writes, ``_answer_fields(ssm.success(token))``. The
        core says whether the token rotation is the plain case (``take_rotated_token``
        applies nothing when it answers ``False``); if not, the core is fed the success.
        Anything else goes to ``_deliver``, which takes it from the start."""
        device = self.device
        if self.lost:
            device._answer_lost("heartbeat", self.request_id, self.launch)
            return
        playback_id = self.playback_id
        if device._awaiting:
            if not device._in_time(self.request_id):
                return
        elif type(answer) is str and not device.killed and self.launch == device._launch:
            core = device.core
            if core.app is not _BACKGROUND:
                if not device._trace_heartbeats:
                    if core.take_rotated_token(playback_id, answer):
                        return
                else:
                    world = device.world
                    trace, timer = world.trace, device._heartbeat_timer
                    stamps, period = timer[2], world.ssm.config.heartbeat_period
                    if timer[0].playback_id == playback_id and period is not None:
                        if stamps.trace is not trace or stamps.app is not core.app \
                                or stamps.playback is not core.playback:
                            stamps.ready(trace, core, device.name, playback_id)  # made again
                        if stamps.answered is not None:
                            trace.write_stamped(world.now, stamps.answered, (
                                self.request_id, 200, None, "", answer, period))
                            if not core.take_rotated_token(playback_id, answer):
                                effects = core.feed(ev.HeartbeatAnswered(
                                    playback_id, world.ssm.success(answer)))
                                if effects:
                                    device._run(effects)
                            return
        device._deliver(playback_id, answer, self.launch, self.request_id)


class _RenewalRequest(_HeartbeatRequest):
    """An enforced-mode license renewal: a heartbeat that also renews the license, sent to
    the SSM server's Widevine endpoint or to the license URL (``endpoint``)."""

    __slots__ = ("endpoint",)

    def __init__(self, device: _SsmTraffic, token: str, playback_id: int, request_id: int,
                 endpoint: str) -> None:
        super().__init__(device, token, playback_id, request_id)
        self.endpoint = endpoint

    @property
    def link(self) -> str:  # type: ignore[override]
        return self.endpoint.partition(":")[0]

    def serve(self) -> SsmAnswer:
        ssm = self.device.world.ssm
        answer = ssm.heartbeat(self.device.name, self.token, renewal=self.endpoint,
                               request_id=self.request_id)
        self.lost = ssm.answer_lost("heartbeat")
        return answer
