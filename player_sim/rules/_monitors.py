"""The SSM monitors: each SSM rule of the catalogue, checked over a trace as it grows.

(``provider.ks.completes`` is here too; the other session-provider rules are in
:mod:`._provider_monitors`.) Both are built on :mod:`._base` and run by the
:class:`~player_sim.rules.TraceChecker` of :mod:`._checker`.

Monitors read only the trace (see the README's "Trace format"), so a trace
converted from a real device's log is checked the same way as a simulated
one. A monitor whose record kinds never appear stays silent: a trace without
server records is not checked against server rules.

Time windows: a *within-after* rule's response is due ``reaction_window``
seconds after its trigger (heartbeats: one period plus ``heartbeat_slack``).
While a device is suspended (normal background) its clock for device-side
deadlines stops, as the OS stops its timers: a deadline that falls due then is
due again ``window`` seconds after the device is back. Extra latency a
scenario plans (``latency_planned`` records) widens the windows opened near it.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from ..backends import SsmErrorCode
from ..player._states import PlaybackState
from ..player._variants import platform_fields
from ..trace import TraceRecord, Vantage
from ._base import _EPS, ACTIVE, Checking, DeviceView, Monitor, _Deadline, _ok

__all__ = ["MONITORS"]


# --- SSM setup and license -------------------------------------------------------------


class _BeforeLicense(Monitor):
    rule_id = "ssm.setup.before-license"
    kinds = frozenset({"license_request_sent"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None or not dev.under_ssm:
            return
        self.observed()
        if dev.setup_ok_generation != dev.generation:
            self.violate(line, rec, "license request sent before a successful SSM setup of "
                                    "this playback")


class _EveryPlayback(Monitor):
    rule_id = "ssm.setup.every-playback"
    kinds = frozenset({"playback_started"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None or not dev.under_ssm:
            return
        self.observed()
        if dev.setup_sent_generation != dev.generation:
            self.violate(line, rec, "playback started without an SSM setup for it")


class _NoSsmNoTraffic(Monitor):
    rule_id = "ssm.no-ssm-no-traffic"
    kinds = frozenset({"ssm_setup_sent", "heartbeat_sent", "ssm_teardown_sent",
                       "license_request_sent"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None or dev.ssm is not False:
            return
        if rec.kind == "license_request_sent":
            self.observed()  # a playback without SSM: none of its traffic may be SSM's
        else:
            self.violate(line, rec, f"{rec.kind} from a device configured without an SSM "
                                    "server URL")


class _CarriesToken(Monitor):
    rule_id = "ssm.license.carries-token"
    kinds = frozenset({"license_request_sent"})
    reads = frozenset({"ssm_token"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None or not dev.under_ssm or dev.setup_ok_generation != dev.generation:
            return
        self.observed()
        token = rec.data.get("ssm_token")
        if token is None:
            self.violate(line, rec, "license request carries no SSM session token")
        elif token != dev.setup_token:
            self.violate(line, rec, f"license request carries token {token!r}, not the "
                                    f"session token {dev.setup_token!r} the setup answered")


class _LimitRefuses(Monitor):
    rule_id = "ssm.setup.limit-refuses"
    kinds = frozenset({"ssm_session_created", "ssm_setup_refused"})
    reads = frozenset({"account", "active", "ssm_code", "limit"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if rec.kind == "ssm_setup_refused":
            if rec.data.get("ssm_code") == SsmErrorCode.MAX_SESSIONS_EXCEEDED:
                self.observed()  # a setup refused at a limit (account, IP, group ...)
            return
        account, active = rec.data.get("account"), rec.data.get("active")
        if not isinstance(account, str) or not isinstance(active, int):
            return
        told = rec.data.get("limit")  # the limit the server says it applied, if it says
        limit = told if isinstance(told, int) else self.config.limit_of(account)
        if limit is not None and active >= limit:
            self.observed()  # the account reached its limit: the next setup must fail
        if limit is not None and active > limit:
            self.violate(line, rec, f"account {account!r} has {active} live SSM sessions, "
                                    f"over its limit of {limit}")


class _FailureStops(Monitor):
    rule_id = "ssm.setup.failure-stops"
    kinds = frozenset({"ssm_setup_error", "license_request_sent", "playback_started"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._failed: dict[str, int] = {}

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind == "ssm_setup_error":
            self.observed()
            self._failed[dev.name] = dev.generation
        elif self._failed.get(dev.name) == dev.generation:
            self.violate(line, rec, f"{rec.kind} after the SSM setup of this playback failed")


class _NoSelfLimit(Monitor):
    rule_id = "ssm.zap.no-self-limit"
    kinds = frozenset({"ssm_setup_refused", "ssm_setup_sent", "ssm_teardown_sent"})
    reads = frozenset({"ssm_code"})
    also_needs = frozenset({Vantage.DEVICE})  # its own teardowns on the wire

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._torn_down: dict[str, int] = {}  # device -> generation of its last teardown

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind in ("ssm_setup_sent", "ssm_teardown_sent"):
            if rec.kind == "ssm_teardown_sent":
                self._torn_down[dev.name] = dev.generation
            if dev.setup_sent_generation == dev.generation == self._torn_down.get(dev.name):
                self.observed()  # one playback both tore a session down and set one up
            return
        if rec.data.get("ssm_code") == SsmErrorCode.MAX_SESSIONS_EXCEEDED \
                and dev.teardowns_on_wire:
            self.violate(line, rec, "setup refused at the session limit while this device's "
                                    "own teardown had not reached the server yet")


# --- heartbeats --------------------------------------------------------------------------


class _KeepsSession(Monitor):
    """Heartbeats are due while the player item holds its session: a stop (unless the
    device keeps its item on stop), a zap or a release ends the item, and with it the
    heartbeats, whether or not the SDK tore the session down (that is
    ``ssm.teardown.on-stop``'s to judge)."""

    rule_id = "ssm.heartbeat.keeps-session"
    kinds = frozenset({"ssm_setup_answered", "heartbeat_sent", "ssm_teardown_sent",
                       "ssm_heartbeat_error", "app_relaunched", "license_answered", "action"})
    reads = frozenset({"granted", "name"})
    in_pip = False

    def active(self) -> bool:
        return self.config.heartbeats_traced

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind == "action":
            name = rec.data.get("name")
            if name in ("zap", "release_item") or (
                    name == "stop" and dev.name not in self.config.keeps_item_on_stop):
                self.fulfil(dev.name)  # the player item is gone: no more heartbeats due
            return
        if dev.held and dev.period > 0 and _starts_heartbeats(rec, dev, rec.data.get("granted")):
            if (rec.app == "pip") is self.in_pip:
                self.observed()
            self.expect(dev.name, dev.name, dev.period + self.config.heartbeat_slack, line, rec,
                        f"no heartbeat within {dev.period:g}s (+{self.config.heartbeat_slack:g}s)"
                        " while holding an SSM session", wake_window=self.config.heartbeat_slack)
        elif not dev.held:
            self.fulfil(dev.name)

    def expired(self, deadline: _Deadline, dev: DeviceView | None) -> bool:
        if dev is not None and _leaves_sessions(dev) and dev.playback in _NOT_PLAYING:
            return False  # (V2) the SDK left the session at the stop: it expires unrenewed
        in_pip = dev is not None and dev.app == "pip"
        return in_pip == self.in_pip


#: Playback states in which no playback is under way.
_NOT_PLAYING: Final = frozenset({"idle", "stopped", "failed"})


def _starts_heartbeats(rec: TraceRecord, dev: DeviceView, granted: object) -> bool:
    """Whether ``rec`` (re)starts the heartbeat period of the session ``dev`` holds: a
    heartbeat, or the answer the client's ``heartbeat_start`` variant starts the timer at
    (``granted``: a license answer's field of that name), for the playback holding the
    session: a late setup answer for a playback zapped away from starts nothing (the
    player tears its session down)."""
    if rec.kind == "heartbeat_sent":
        return True
    if rec.playback_id not in (None, dev.held_playback_id):
        return False
    after_license = dev.variants.get("heartbeat_start") == "after-license-answer" \
        and not _leaves_sessions(dev)  # (V2: the setup answer is the license answer)
    if rec.kind == "license_answered":
        return after_license and granted is True
    return rec.kind == "ssm_setup_answered" and not after_license


class _FirstHeartbeat(Monitor):
    """The first heartbeat of a session waits one period after the answer that starts
    the timer (variant ``heartbeat_start``): not sooner."""

    rule_id = "ssm.heartbeat.first-after-period"
    kinds = frozenset({"ssm_setup_answered", "license_answered", "heartbeat_sent"})
    reads = frozenset({"granted"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._anchor: dict[str, float] = {}  # device -> when its heartbeat timer started

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind != "heartbeat_sent":
            if dev.held and dev.period > 0 and _starts_heartbeats(rec, dev,
                                                                   rec.data.get("granted")):
                self._anchor[dev.name] = rec.t
            return
        start = self._anchor.pop(dev.name, None)
        if start is None:
            return
        self.observed()
        if rec.t < start + dev.period - _EPS:
            self.violate(line, rec, f"first heartbeat {rec.t - start:g}s after the answer "
                                    f"that starts the timer, before the {dev.period:g}s period")


class _PipRunsNormally(_KeepsSession):
    rule_id = "ssm.pip.runs-normally"
    in_pip = True


class _TokenRotation(Monitor):
    """A token a successful heartbeat answer rotated out is never sent again.

    A heartbeat sent before the previous answer came back (a slow link) reuses its
    token: once that answer rotates the token out, the other heartbeat is stale at
    the server and the session is lost. That race is what this rule reports, as
    DOMAIN.md asks: at the answer if the other heartbeat left before it, at the
    heartbeat otherwise. A token no answer rotated out (its heartbeat failed) may be
    sent again: a client that keeps heartbeating after an error re-sends it.
    """

    rule_id = "ssm.heartbeat.token-rotation"
    kinds = frozenset({"heartbeat_sent", "heartbeat_answered"})
    reads = frozenset({"token", "request_id", "http_status", "ssm_code"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._in_flight: dict[tuple[str, Any], str] = {}  # (device, request id) -> token
        self._uses: dict[str, dict[str, int]] = {}       # device -> token -> heartbeats
        self._rotated: dict[str, set[str]] = {}          # device -> tokens rotated out

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        uses = self._uses.setdefault(dev.name, {})
        rotated = self._rotated.setdefault(dev.name, set())
        if rec.kind == "heartbeat_sent":
            token = rec.data.get("token")
            if not isinstance(token, str):
                return
            if uses:
                self.observed()  # a heartbeat after another: it must carry a live token
            if token in rotated:
                self.violate(line, rec, f"heartbeat reuses token {token!r}, which an earlier "
                                        "heartbeat's answer rotated out: it is stale at the "
                                        "server")
            uses[token] = uses.get(token, 0) + 1
            self._in_flight[(dev.name, rec.data.get("request_id"))] = token
            return
        sent = self._in_flight.pop((dev.name, rec.data.get("request_id")), None)
        if sent is None:
            return
        if not _ok(rec.data):  # a failed use rotated nothing: the token may be sent again
            uses[sent] = max(0, uses.get(sent, 0) - 1)
            return
        rotated.add(sent)
        if uses.get(sent, 0) > 1:
            self.violate(line, rec, f"this answer rotated token {sent!r} out, yet another "
                                    "heartbeat had already left with it: one of the two is "
                                    "stale at the server")


class _BackgroundSuspends(Monitor):
    rule_id = "ssm.background.suspends"
    kinds = frozenset({"heartbeat_sent", "state_changed"})
    reads = frozenset({"app"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if rec.kind == "state_changed":
            if rec.data.get("app") == "background" and dev is not None and dev.held:
                self.observed()  # suspended while holding a session: heartbeats must stop
            return
        if rec.app == "background":
            self.violate(line, rec, "heartbeat sent while the app is suspended in normal "
                                    "background")


class _SessionExpires(Monitor):
    rule_id = "ssm.session.expires"
    kinds = frozenset({"ssm_session_created", "ssm_heartbeat", "ssm_session_ended",
                       "ssm_session_evicted", "ssm_session_expired", "ssm_session_killed"})
    reads = frozenset({"session"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._last: dict[Any, float] = {}

    def active(self) -> bool:
        return self.config.session_timeout is not None

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        timeout = self.config.session_timeout
        session = rec.data.get("session")
        if timeout is None or session is None:
            return
        if rec.kind in ("ssm_session_created", "ssm_heartbeat"):
            self._last[session] = rec.t
            self.expect(
                session, None, timeout + _EPS, line, rec,
                f"session {session} had no heartbeat for {timeout:g}s but did not expire")
            return
        self.fulfil(session)
        if rec.kind == "ssm_session_expired":
            self.observed()
        last = self._last.pop(session, None)
        if rec.kind == "ssm_session_expired" and last is not None and rec.t < last + timeout - _EPS:
            self.violate(line, rec, f"session {session} expired {rec.t - last:g}s after its last "
                                    f"heartbeat, before the {timeout:g}s timeout")


# --- teardown ------------------------------------------------------------------------------


def _leaves_sessions(dev: DeviceView) -> bool:
    """An SSM V2 client: stop, zap and failure leave the session for the app to tear down
    (DOMAIN.md: "stopping does not tear the session down")."""
    return dev.variants.get("ssm_version") == "v2"


class _ExpectRelease(Monitor):
    """Shared: an action (or state) that must release the held session."""

    trigger_actions: ClassVar[frozenset[str]] = frozenset()
    what: ClassVar[str] = ""

    def triggers(self, rec: TraceRecord, dev: DeviceView) -> bool:
        return rec.kind == "action" and rec.data.get("name") in self.trigger_actions

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if dev.held_before and not dev.held:
            self.fulfil(dev.name)
        triggered = self.triggers(rec, dev)
        if dev.held and triggered:
            self.observed()
            self.expect(dev.name, dev.name, self.config.reaction_window, line, rec,
                        f"{self.what} sent no SSM teardown of the session it held")


class _TeardownOnStop(_ExpectRelease):
    rule_id = "ssm.teardown.on-stop"
    kinds = frozenset({"action", "ssm_teardown_sent", "ssm_heartbeat_error"})
    reads = frozenset({"name"})
    trigger_actions = frozenset({"stop"})
    what = "stop"

    def triggers(self, rec: TraceRecord, dev: DeviceView) -> bool:
        return super().triggers(rec, dev) and dev.name not in self.config.keeps_item_on_stop \
            and not _leaves_sessions(dev)


class _TeardownOnItemRelease(_ExpectRelease):
    rule_id = "ssm.teardown.on-item-release"
    kinds = frozenset({"action", "ssm_teardown_sent", "ssm_heartbeat_error", "state_changed"})
    reads = frozenset({"name", "playback", "playback_from"})
    trigger_actions = frozenset({"release_item"})
    what = "releasing the player item"

    def triggers(self, rec: TraceRecord, dev: DeviceView) -> bool:
        if rec.kind == "state_changed":
            failed = (rec.data.get("playback") == "failed"
                      and rec.data.get("playback_from") != "failed")
            if failed and dev.setup_ok_generation == dev.generation \
                    and not _leaves_sessions(dev):
                self.observed()  # a failed playback that had set a session up releases it
            return failed
        return super().triggers(rec, dev)


class _ZapReplaces(Monitor):
    """A zap from a playback holding a session tears it down at once and sets up the new
    stream's session. The setup may have to wait, on what the SDK cannot hurry: in sync
    mode its teardown's answer (``stopping``), with a session provider the new stream's
    KS and media entry (``obtaining_ks``, ``loading_media``: before the entry the SDK
    cannot tell whether the stream is under SSM). It is due within the reaction window of
    the zap, or of the record that shows the player done waiting, however long the wait
    (a backend outage, retries, a slow link); whether the wait ends at all is for
    ``ssm.sync.capped-wait`` and ``provider.ks.completes`` to judge."""

    rule_id = "ssm.zap.replaces-session"
    kinds = frozenset({"action", "ssm_teardown_sent", "ssm_setup_sent", "ssm_heartbeat_error",
                       "state_changed", "media_answered", "app_killed"})
    reads = frozenset({"name", "ok"})

    waits_before_deadline = True

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        #: device -> (when it zapped, what it waits in) while its setup waits
        self._waiting: dict[str, tuple[float, str]] = {}

    def awaits(self) -> bool:
        return bool(self._pending or self._waiting)

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if dev.held_before and not dev.held:
            self.fulfil((dev.name, "teardown"))
        if rec.kind == "ssm_setup_sent" or not dev.under_ssm or rec.kind == "app_killed" \
                or rec.playback in ("failed", "stopped", "idle") \
                or (rec.kind == "action" and rec.data.get("name") in ("play", "zap", "stop")):
            # Set up; or the new stream failed (KS, media) or is not under SSM; or the user
            # moved on (another zap, a stop) before it could be set up: no setup due.
            self.fulfil((dev.name, "setup"))
            self._waiting.pop(dev.name, None)
        elif dev.name in self._waiting:
            zapped, state = self._waiting[dev.name]
            # (A media entry loaded under SSM ends the wait, whatever state the record shows.)
            loaded = rec.kind == "media_answered" and rec.data.get("ok") is True
            if loaded or (rec.playback is not None and rec.playback not in _SETUP_WAITS):
                del self._waiting[dev.name]
                waited = _SETUP_WAITS[PlaybackState.LOADING_MEDIA.value if loaded else state]
                self.expect((dev.name, "setup"), dev.name, self.config.reaction_window, line,
                            rec, f"zap at {zapped:g}s sent no SSM setup for the new stream "
                                 f"once done waiting for {waited}")
            elif rec.playback in _SETUP_WAITS:
                self._waiting[dev.name] = (zapped, str(rec.playback))
        if rec.kind == "action" and rec.data.get("name") == "zap" and dev.held:
            self.observed()
            window = self.config.reaction_window
            if not _leaves_sessions(dev):
                self.expect((dev.name, "teardown"), dev.name, window, line, rec,
                            "zap sent no teardown of the session the old stream held")
            if rec.playback in _SETUP_WAITS:
                self._waiting[dev.name] = (rec.t, str(rec.playback))
            else:
                self.expect((dev.name, "setup"), dev.name, window, line, rec,
                            "zap sent no SSM setup for the new stream")


#: Playback states in which a zap's setup waits, and on what.
_SETUP_WAITS: Final[Mapping[str, str]] = {
    PlaybackState.STOPPING.value: "its teardown's answer (sync)",
    PlaybackState.OBTAINING_KS.value: "its KS",
    PlaybackState.LOADING_MEDIA.value: "its media entry",
}


class _Answers204(Monitor):
    rule_id = "ssm.teardown.answers-204"
    kinds = frozenset({"ssm_teardown_answered"})
    reads = frozenset({"http_status", "ssm_code"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if not _ok(rec.data):
            return
        self.observed()
        if rec.data.get("http_status") != 204:
            self.violate(line, rec, f"successful teardown answered HTTP "
                                    f"{rec.data.get('http_status')}, not 204")


class _KillNoTeardown(Monitor):
    rule_id = "ssm.kill.no-teardown"
    kinds = frozenset({"ssm_setup_sent", "heartbeat_sent", "ssm_teardown_sent",
                       "license_request_sent", "action", "ssm_session_ended", "app_killed"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._in_flight: dict[str, int] = {}  # teardowns already sent when the app was killed

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None or not dev.killed:
            return
        if rec.kind == "app_killed":
            self.observed()
            self._in_flight[dev.name] = dev.teardowns_on_wire
            return
        if rec.kind == "ssm_session_ended" and self._in_flight.get(dev.name, 0) > 0:
            self._in_flight[dev.name] -= 1  # sent before the kill, it arrived after it
            return
        what = ("its session was torn down" if rec.kind == "ssm_session_ended"
                else f"it did {rec.kind}")
        self.violate(line, rec, f"the app was killed, yet {what}")


# --- sync mode -------------------------------------------------------------------------------


class _SyncBlocks(Monitor):
    rule_id = "ssm.sync.blocks-main-thread"
    kinds = frozenset({"ssm_setup_sent", "ssm_teardown_sent", "action"})
    reads = frozenset({"blocking", "name"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None or dev.sync is None:
            return
        blocking = rec.data.get("blocking")
        if rec.kind == "ssm_setup_sent":
            self.observed()  # every setup blocks exactly when sync mode is on
        if rec.kind == "ssm_setup_sent" and blocking is not dev.sync:
            mode = "on" if dev.sync else "off"
            self.violate(line, rec, f"SSM setup sent with blocking={blocking} while "
                                    f"syncSSMSetupTeardown is {mode}")
        elif rec.kind == "ssm_teardown_sent" and blocking and not dev.sync:
            self.violate(line, rec, "SSM teardown blocked the main thread while "
                                    "syncSSMSetupTeardown is off")
        elif rec.kind == "action" and dev.blocked:
            self.violate(line, rec, f"action {rec.data.get('name')!r} ran while a synchronous "
                                    "SSM request blocked the main thread")


class _SyncCapped(Monitor):
    """A blocking request of a client with a cap frees the main thread within the cap
    (the ``main_thread_blocked`` record closes the blocked period)."""

    rule_id = "ssm.sync.capped-wait"
    kinds = frozenset({"ssm_setup_sent", "ssm_teardown_sent", "main_thread_blocked",
                       "app_killed"})
    reads = frozenset({"blocking"})
    _CAPS: ClassVar[dict[str, str]] = {"ssm_setup_sent": "sync_setup_cap",
                                       "ssm_teardown_sent": "sync_teardown_cap"}

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind == "main_thread_blocked":
            self.fulfil(dev.name)
            return
        if rec.kind == "app_killed":
            self.cancel_device(dev.name)
            return
        cap = dev.variants.get(self._CAPS[rec.kind])
        if rec.data.get("blocking") is not True or not isinstance(cap, int | float):
            return
        self.observed()
        what = "setup" if rec.kind == "ssm_setup_sent" else "teardown"
        self.expect(dev.name, dev.name, cap + _EPS, line, rec,
                    f"a blocking {what} held the main thread past the client's {cap:g}s cap")


# --- error notifications ------------------------------------------------------------------------


class _Notified(Monitor):
    """A failed SSM answer must post its notification to the device."""

    answer_kind: ClassVar[str]
    error_kind: ClassVar[str]
    body_only: ClassVar[bool] = False

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind == self.error_kind:
            self.fulfil(dev.name)
        elif rec.kind == self.answer_kind and self.applies(rec, dev) and not _ok(rec.data):
            status = rec.data.get("http_status")
            if self.body_only and not (isinstance(status, int) and 200 <= status < 300):
                return
            self.observed()
            self.expect(dev.name, dev.name, self.config.reaction_window, line, rec,
                        f"{self.answer_kind} failed (HTTP {status}, SSM code "
                        f"{rec.data.get('ssm_code')}) but no {self.error_kind} was posted")
        elif not dev.held and self.answer_kind == "heartbeat_answered":
            self.fulfil(dev.name)  # the session was released meanwhile: the answer is dropped

    def applies(self, rec: TraceRecord, dev: DeviceView) -> bool:
        return True


class _SetupNotified(_Notified):
    rule_id = "ssm.errors.setup-notified"
    kinds = frozenset({"ssm_setup_answered", "ssm_setup_error"})
    reads = frozenset({"http_status", "ssm_code"})
    answer_kind = "ssm_setup_answered"
    error_kind = "ssm_setup_error"

    def applies(self, rec: TraceRecord, dev: DeviceView) -> bool:
        return dev.setup_current


class _TeardownNotified(_Notified):
    rule_id = "ssm.errors.teardown-notified"
    kinds = frozenset({"ssm_teardown_answered", "ssm_teardown_error"})
    reads = frozenset({"http_status", "ssm_code"})
    answer_kind = "ssm_teardown_answered"
    error_kind = "ssm_teardown_error"


class _HeartbeatNotified(_Notified):
    rule_id = "ssm.errors.heartbeat-notified"
    kinds = frozenset({"heartbeat_answered", "ssm_heartbeat_error", "ssm_teardown_sent",
                       "app_relaunched"})
    reads = frozenset({"http_status", "ssm_code", "request_id"})
    answer_kind = "heartbeat_answered"
    error_kind = "ssm_heartbeat_error"

    def applies(self, rec: TraceRecord, dev: DeviceView) -> bool:
        # An answer to a heartbeat of an older player item is dropped by the player; one
        # to a heartbeat a keep-heartbeating client sent with its stale token is not.
        return (dev.held and rec.playback_id in (None, dev.held_playback_id)) \
            or rec.data.get("request_id") in dev.stale_requests


class _BodyDecides(Monitor):
    """A 200 carrying an SSM error code is a failure: each kind must be notified."""

    rule_id = "ssm.errors.body-decides"
    kinds = frozenset({"ssm_setup_answered", "ssm_teardown_answered", "heartbeat_answered",
                       "ssm_setup_error", "ssm_teardown_error", "ssm_heartbeat_error",
                       "ssm_teardown_sent", "app_relaunched"})
    reads = frozenset({"http_status", "ssm_code"})
    _PAIRS: ClassVar[dict[str, str]] = {"ssm_setup_answered": "ssm_setup_error",
                                        "ssm_teardown_answered": "ssm_teardown_error",
                                        "heartbeat_answered": "ssm_heartbeat_error"}

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind in self._PAIRS.values():
            self.fulfil((dev.name, rec.kind))
            return
        if not dev.held:
            self.fulfil((dev.name, "ssm_heartbeat_error"))
        error = self._PAIRS.get(rec.kind)
        status = rec.data.get("http_status")
        if (error is None or rec.data.get("ssm_code") is None
                or not (isinstance(status, int) and 200 <= status < 300)):
            return
        if rec.kind == "ssm_setup_answered" and not dev.setup_current:
            return
        if rec.kind == "heartbeat_answered" and not (
                dev.held and rec.playback_id in (None, dev.held_playback_id)):
            return
        self.observed()
        self.expect((dev.name, error), dev.name, self.config.reaction_window, line, rec,
                    f"HTTP {status} with SSM code {rec.data.get('ssm_code')} in the body was "
                    f"taken as success: no {error} was posted")


class _CarryCodes(Monitor):
    """An error notification carries the HTTP status, SSM code and message the server
    answered, equal to them, not merely present.

    The server's answer is its own record (``ssm_*_refused``, server vantage): the one
    of the request (``request_id``) whose failed answer the device received just before
    the notification. Without it (a device-only trace; a timeout, an outage the device
    saw, a refusal recorded without a request id) the notification must equal the failed
    answer the device received. For a device whose variant ``error_numbering`` names a
    platform, it also carries the numbers that platform's app sees
    (:func:`~player_sim.player.platform_fields`)."""

    rule_id = "ssm.errors.carry-codes"
    kinds = frozenset({"ssm_setup_error", "ssm_teardown_error", "ssm_heartbeat_error",
                       "ssm_setup_answered", "ssm_teardown_answered", "heartbeat_answered",
                       "ssm_setup_refused", "ssm_heartbeat_refused", "ssm_teardown_refused"})
    optional_kinds = frozenset({"ssm_setup_refused", "ssm_heartbeat_refused",
                                "ssm_teardown_refused"})
    reads = frozenset({"http_status", "ssm_code", "message", "error_code", "error", "errorCode",
                       "code", "request_id"})
    _ANSWERS: ClassVar[dict[str, str]] = {"ssm_setup_error": "ssm_setup_answered",
                                          "ssm_teardown_error": "ssm_teardown_answered",
                                          "ssm_heartbeat_error": "heartbeat_answered"}
    _REFUSALS: ClassVar[dict[str, str]] = {"ssm_setup_refused": "ssm_setup_answered",
                                           "ssm_teardown_refused": "ssm_teardown_answered",
                                           "ssm_heartbeat_refused": "heartbeat_answered"}
    _FIELDS: ClassVar[tuple[str, ...]] = ("http_status", "ssm_code", "message")

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._failed: dict[tuple[str | None, str], TraceRecord] = {}
        # (device, answer kind, request id) -> the server's refusal of that request
        self._refused: dict[tuple[str | None, str, Any], TraceRecord] = {}

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        data = rec.data
        refused = self._REFUSALS.get(rec.kind)
        if refused is not None:
            if data.get("request_id") is not None:
                self._refused[(rec.device, refused, data["request_id"])] = rec
            return
        answer_kind = self._ANSWERS.get(rec.kind)
        if answer_kind is None:  # an answer: remember the last failed one of its kind
            server = self._refused.pop((rec.device, rec.kind, data.get("request_id")), None)
            if not _ok(data):
                self._failed[(rec.device, rec.kind)] = server if server is not None else rec
            return
        self.observed()
        missing = [k for k in self._FIELDS if k not in data]
        if missing:
            self.violate(line, rec, f"{rec.kind} lacks {', '.join(missing)}")
            return
        if not isinstance(data["http_status"], int) or not isinstance(data["message"], str):
            self.violate(line, rec, f"{rec.kind} has a non-integer http_status or a non-string "
                                    "message")
            return
        numbering = dev.variants.get("error_numbering") if dev is not None else None
        if isinstance(numbering, str):
            want = platform_fields(numbering, rec.kind, data["http_status"], data["ssm_code"],
                                   data["message"])
            told_platform = {"error_code": data.get("error_code"), "error": data.get("error"),
                             "errorCode": data.get("errorCode"), "code": data.get("code")}
            wrong = sorted(k for k, v in want.items() if told_platform[k] != v)
            if wrong:
                self.violate(line, rec, f"{rec.kind} of a {numbering} client carries "
                                        f"{wrong[0]}={told_platform[wrong[0]]!r}, not "
                                        f"{want[wrong[0]]!r}")
        answer = self._failed.pop((rec.device, answer_kind), None)
        if answer is None:
            return
        who = "the server answered" if answer.kind in self._REFUSALS else \
            "the answer the device received says"
        for name in self._FIELDS:
            if data[name] != answer.data.get(name):
                self.violate(line, rec, f"{rec.kind} carries {name} {data[name]!r}; "
                                        f"{who} {answer.data.get(name)!r}")
                return


class _StopPlayback(Monitor):
    rule_id = "ssm.errors.stop-playback"
    kinds = frozenset({"ssm_setup_error", "ssm_heartbeat_error", "action", "state_changed",
                       "app_killed"})
    reads = frozenset({"name"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._errored: dict[str, int] = {}

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        errored = self._errored.get(dev.name)
        if rec.kind in ("ssm_setup_error", "ssm_heartbeat_error"):
            if rec.playback in ACTIVE:
                self.observed()
                self._errored[dev.name] = dev.generation
                self.expect(dev.name, dev.name, self.config.reaction_window, line, rec,
                            f"playback continued after {rec.kind}: not stopped, zapped away "
                            "from or failed")
            return
        if errored is None:
            return
        if errored != dev.generation or rec.playback not in ACTIVE or dev.killed:
            self.fulfil(dev.name)
            del self._errored[dev.name]
        elif rec.kind == "action" and rec.data.get("name") == "resume":
            self.violate(line, rec, "playback resumed after an SSM error notification")


# --- background -------------------------------------------------------------------------------


class _ResumeIfNoError(Monitor):
    rule_id = "ssm.background.resume-if-no-error"
    kinds = frozenset({"action", "state_changed"})
    reads = frozenset({"name", "app_from", "app", "playback"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        data = rec.data
        if rec.kind == "state_changed":
            if data.get("app_from") == "background" and data.get("app") == "foreground" \
                    and data.get("playback") == "paused":
                self.observed()  # back from background: resume only if no error came
            return
        if data.get("name") != "resume":
            return
        self.observed()
        if dev.ssm_error:
            self.violate(line, rec, "playback resumed although an SSM error notification was "
                                    "posted for it")


class _HeartbeatErrorZap(Monitor):
    rule_id = "ssm.background.heartbeat-error-zap"
    kinds = frozenset({"ssm_heartbeat_error", "action"})
    reads = frozenset({"stream", "name"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind == "ssm_heartbeat_error":
            stream = rec.data.get("stream")
            if rec.playback in ACTIVE and stream is not None:
                self.observed()
                self.expect((dev.name, stream), dev.name, self.config.reaction_window, line, rec,
                            f"no zap to the same stream {stream!r} after ssm_heartbeat_error")
        elif rec.data.get("name") == "zap":
            self.fulfil((dev.name, rec.data.get("stream")))


# --- session providers -------------------------------------------------------------------


class _KsCompletes(Monitor):
    """Every ``ks_requested`` of a device is answered by one ``ks_answered``, in order,
    within :attr:`window` seconds (the Android refresh race drops one for ever)."""

    rule_id = "provider.ks.completes"
    kinds = frozenset({"ks_requested", "ks_answered", "app_killed", "app_relaunched"})
    #: Seconds a token request may take: refreshes and slow links included.
    window: ClassVar[float] = 300.0

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._open: dict[str, deque[int]] = {}
        self._seq = itertools.count()

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        waiting = self._open.setdefault(dev.name, deque())
        if rec.kind in ("app_killed", "app_relaunched"):
            waiting.clear()  # a killed app's requests die with it
        elif rec.kind == "ks_requested":
            self.observed()
            key = next(self._seq)
            waiting.append(key)
            self.expect((dev.name, key), dev.name, max(self.window, self.config.reaction_window),
                        line, rec, "a session-token request was never completed: its "
                        "completion was dropped")
        elif waiting:
            self.fulfil((dev.name, waiting.popleft()))
        else:
            self.violate(line, rec, "a session-token completion came with no request "
                                    "waiting: a request was completed twice")


# --- stopping ----------------------------------------------------------------------------------


class _StopCompletes(Monitor):
    """``stopping`` is the wait for a blocking teardown, and nothing else.

    A player that enters ``stopping`` with no blocking request on the wire (the
    main thread is free) has nothing that will end it; one still ``stopping``
    once its main thread is freed (``main_thread_blocked``: the teardown was
    answered) missed its way out. Either must leave within the reaction window;
    a stop must leave to ``stopped``.
    """

    rule_id = "ssm.stop.completes"
    kinds = frozenset({"action", "state_changed", "main_thread_blocked", "app_killed"})
    reads = frozenset({"name", "playback", "playback_from"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._last_action: dict[str, str] = {}

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        data, window = rec.data, self.config.reaction_window
        if rec.kind == "action":
            if data.get("name") in ("play", "zap", "stop"):
                self._last_action[dev.name] = str(data.get("name"))
        elif rec.kind == "app_killed":
            self._last_action.pop(dev.name, None)  # a kill ends the stop (its wait is cancelled)
        elif rec.kind == "main_thread_blocked":
            if rec.playback == "stopping":
                self.observed()
                self.expect(dev.name, dev.name, window, line, rec,
                            "still stopping after its blocking teardown was answered")
        elif data.get("playback_from") == "stopping" and data.get("playback") != "stopping":
            self.observed()
            self.fulfil(dev.name)
            if self._last_action.get(dev.name) == "stop" and data.get("playback") != "stopped":
                self.violate(line, rec, f"a stop ended in {data.get('playback')!r}, not "
                                        "'stopped': the stopped playback started again")
        elif data.get("playback") == "stopping" and data.get("playback_from") != "stopping" \
                and not dev.blocked:
            self.expect(dev.name, dev.name, window, line, rec,
                        "stopping with no blocking SSM teardown on the wire: nothing ends it")


# --- rules the small world's explorer used to state on its own ----------------------------------


class _OneTimer(Monitor):
    """Heartbeats of one playback come a period apart; two closer than the period (less
    ``heartbeat_slack``) mean two timers run for the same player item. Playback ids
    start again after a relaunch, so a relaunch forgets the device's last heartbeats."""

    rule_id = "ssm.heartbeat.one-timer"
    kinds = frozenset({"heartbeat_sent", "app_relaunched"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._last: dict[tuple[str, int | None], float] = {}

    def active(self) -> bool:
        return self.config.heartbeats_traced

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind == "app_relaunched":
            self._last = {k: t for k, t in self._last.items() if k[0] != dev.name}
            return
        key = (dev.name, rec.playback_id)
        last = self._last.get(key)
        self._last[key] = rec.t
        if last is None or dev.period <= 0:
            return
        self.observed()  # a heartbeat after another of the same playback: a period apart
        least = dev.period - self.config.heartbeat_slack
        if rec.t - last < least - _EPS:
            self.violate(line, rec, f"two heartbeats of playback #{rec.playback_id} "
                                    f"{rec.t - last:g}s apart, less than the {dev.period:g}s "
                                    "period: two heartbeat timers run for one player item")


class _EndsSession(Monitor):
    """A teardown refused as invalid while the device's own session lives on.

    The monitor counts, per device, the live sessions the server created for it
    (server records), leaving out zombies: those alive when the app was killed
    and those its setups still on the wire then created. When a teardown of a
    running device is refused with ``INVALID_TOKEN`` (not a planned fault) and
    the device has more live sessions than its player can still account for
    (the one it holds, one per session created whose setup answer has not
    reached it, one per other teardown on the wire), the teardown missed its session: a heartbeat
    on the wire rotated the token it carried (the stale-token teardown race),
    and the session holds its slot, held by nobody, until it expires.
    """

    rule_id = "ssm.teardown.ends-session"
    kinds = frozenset({"ssm_setup_sent", "ssm_setup_answered", "ssm_session_created",
                       "ssm_setup_refused", "ssm_session_ended", "ssm_session_expired",
                       "ssm_session_evicted", "ssm_session_killed", "ssm_teardown_refused",
                       "app_killed"})
    reads = frozenset({"session", "ssm_code", "forced", "token"})
    also_needs = frozenset({Vantage.DEVICE})  # what the player holds, whether it was killed

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._live: dict[Any, bool] = {}       # live session id -> it is a zombie
        self._owner: dict[Any, str] = {}       # live session id -> its device
        self._setups: dict[str, int] = {}      # setups on the wire, per device
        self._dead: dict[str, int] = {}        # of those, sent before a kill
        self._awaited: dict[str, int] = {}     # sessions created, their answer not yet read

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        name, kind = dev.name, rec.kind
        if kind == "ssm_setup_sent":
            self._setups[name] = self._setups.get(name, 0) + 1
        elif kind == "ssm_setup_answered":
            if rec.data.get("token") is not None:
                self._awaited[name] = max(0, self._awaited.get(name, 0) - 1)
        elif kind in ("ssm_session_created", "ssm_setup_refused"):
            self._setups[name] = max(0, self._setups.get(name, 0) - 1)
            dead = self._dead.get(name, 0)
            if dead:
                self._dead[name] = dead - 1
            session = rec.data.get("session")
            if kind == "ssm_session_created" and session is not None:
                zombie = bool(dead) or dev.killed
                self._live[session] = zombie
                self._owner[session] = name
                if not zombie:
                    self._awaited[name] = self._awaited.get(name, 0) + 1
        elif kind == "app_killed":
            self._dead[name] = self._setups.get(name, 0)
            self._awaited[name] = 0  # their answers reach nobody
            for session, owner in self._owner.items():
                if owner == name:
                    self._live[session] = True
        elif kind == "ssm_teardown_refused":
            if rec.data.get("forced") or rec.data.get("ssm_code") != SsmErrorCode.INVALID_TOKEN:
                return
            self.observed()  # a teardown that found no session for its token
            if dev.killed:
                return
            live = [s for s, zombie in self._live.items()
                    if not zombie and self._owner.get(s) == name]
            accounted = int(dev.held) + self._awaited.get(name, 0) + dev.teardowns_on_wire
            if len(live) > accounted:
                self.violate(line, rec, f"teardown refused as invalid while session "
                                        f"{live[0]} of this device lives on, held by no "
                                        "player: a heartbeat on the wire rotated the token "
                                        "the teardown carried")
        else:  # the session ended
            session = rec.data.get("session")
            self._live.pop(session, None)
            self._owner.pop(session, None)


# --- variants and the operator -------------------------------------------------------------


class _NamesStream(Monitor):
    """A teardown error names the stream of the playback whose session it ended: the
    stream its setup was sent for (``ssm_setup_sent`` of the same ``playback_id``)."""

    rule_id = "ssm.errors.names-stream"
    kinds = frozenset({"ssm_setup_sent", "ssm_teardown_answered", "ssm_teardown_error"})
    reads = frozenset({"stream", "http_status", "ssm_code"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._streams: dict[tuple[str, int | None], Any] = {}  # (device, playback) -> stream
        self._failed: dict[str, Any] = {}  # device -> stream of its last failed teardown

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind == "ssm_setup_sent":
            self._streams[(dev.name, rec.playback_id)] = rec.data.get("stream")
        elif rec.kind == "ssm_teardown_answered":
            stream = self._streams.pop((dev.name, rec.playback_id), None)
            if not _ok(rec.data) and stream is not None:
                self._failed[dev.name] = stream
        else:
            want = self._failed.pop(dev.name, None)
            if want is None:
                return
            self.observed()
            told = rec.data.get("stream")
            if told != want:
                self.violate(line, rec, f"ssm_teardown_error names stream {told!r}; the "
                                        f"session that failed to end was {want!r}'s")


class _LateSetupTornDown(Monitor):
    """A setup answered after its playback was stopped or zapped away from created a
    session nobody plays: the device must tear it down when the answer arrives."""

    rule_id = "ssm.setup.late-answer-torn-down"
    kinds = frozenset({"ssm_setup_answered", "ssm_teardown_sent", "app_killed"})
    reads = frozenset({"token", "http_status", "ssm_code"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        token = rec.data.get("token")
        if rec.kind == "app_killed":
            self.cancel_device(dev.name)  # a killed app sends nothing (ssm.kill.no-teardown)
        elif rec.kind == "ssm_teardown_sent":
            self.fulfil((dev.name, token))
        elif _ok(rec.data) and isinstance(token, str) and not dev.setup_current:
            self.observed()
            self.expect((dev.name, token), dev.name, self.config.reaction_window, line, rec,
                        "a setup answered after its playback was stopped or zapped away from "
                        "created a session no teardown ends: it leaks until it expires")


class _OperatorKill(Monitor):
    rule_id = "ssm.kill.operator-heartbeat-fails"
    kinds = frozenset({"ssm_session_killed", "ssm_heartbeat"})
    reads = frozenset({"session"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._killed: set[Any] = set()

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        session = rec.data.get("session")
        if rec.kind == "ssm_session_killed":
            self.observed()
            self._killed.add(session)
        elif session in self._killed:
            self.violate(line, rec, f"session {session} was killed by the operator, yet a "
                                    "heartbeat of it succeeded")


# --- failures are not retried ------------------------------------------------------------


class _SetupNoRetry(Monitor):
    """After a failed setup of the current playback, no setup until a new play or zap
    (each starts a new generation, :class:`DeviceView`)."""

    rule_id = "ssm.setup.no-retry"
    kinds = frozenset({"ssm_setup_answered", "ssm_setup_sent"})
    reads = frozenset({"http_status", "ssm_code"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._failed: dict[str, int] = {}  # device -> generation whose setup failed

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind == "ssm_setup_answered":
            if dev.setup_current and not _ok(rec.data):
                self.observed()  # a failed setup: the SDK must not send it again
                self._failed[dev.name] = dev.generation
        elif self._failed.get(dev.name) == dev.generation:
            self.violate(line, rec, "SSM setup sent again for a playback whose setup failed "
                                    "(setup failures are \"no retry\")")


class _HeartbeatNoRetry(Monitor):
    """A failed heartbeat of a playback is followed by none (variant
    ``after_heartbeat_error``: ``stop-heartbeating``) or by the next one a period
    later (``keep-heartbeating``), never by an early retry."""

    rule_id = "ssm.heartbeat.no-retry"
    kinds = frozenset({"heartbeat_sent", "heartbeat_answered", "app_relaunched"})
    reads = frozenset({"request_id", "http_status", "ssm_code"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._sent: dict[tuple[str, Any], tuple[float, int | None]] = {}  # request -> t, pid
        self._failed: dict[tuple[str, int | None], float] = {}  # playback -> failed one's t

    def active(self) -> bool:
        return self.config.heartbeats_traced

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        if rec.kind == "app_relaunched":  # playback ids start again
            self._failed = {k: t for k, t in self._failed.items() if k[0] != dev.name}
            return
        request = (dev.name, rec.data.get("request_id"))
        if rec.kind == "heartbeat_answered":
            sent = self._sent.pop(request, None)
            if sent is not None and not _ok(rec.data):
                self.observed()  # a failed heartbeat: no retry
                self._failed[(dev.name, sent[1])] = sent[0]
            return
        self._sent[request] = (rec.t, rec.playback_id)
        failed_at = self._failed.get((dev.name, rec.playback_id))
        if failed_at is None:
            return
        if dev.variants.get("after_heartbeat_error") != "keep-heartbeating":
            self.violate(line, rec, "heartbeat sent again after a failed one of this playback "
                                    "(renewal failures are \"no retry\")")
        elif rec.t - failed_at < dev.period - self.config.heartbeat_slack - _EPS:
            self.violate(line, rec, f"heartbeat retried {rec.t - failed_at:g}s after a failed "
                                    f"one, before the {dev.period:g}s period")


class _TeardownNoRetry(Monitor):
    """A token whose teardown failed is not torn down again."""

    rule_id = "ssm.teardown.no-retry"
    kinds = frozenset({"ssm_teardown_sent", "ssm_teardown_answered"})
    reads = frozenset({"request_id", "token", "http_status", "ssm_code"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self._sent: dict[tuple[str, Any], Any] = {}   # (device, request id) -> token
        self._failed: set[tuple[str, Any]] = set()    # (device, token) whose teardown failed

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        if dev is None:
            return
        request = (dev.name, rec.data.get("request_id"))
        if rec.kind == "ssm_teardown_answered":
            token = self._sent.pop(request, None)
            if token is not None and not _ok(rec.data):
                self.observed()  # a failed teardown: not sent again
                self._failed.add((dev.name, token))
            return
        token = rec.data.get("token")
        self._sent[request] = token
        if (dev.name, token) in self._failed:
            self.violate(line, rec, f"teardown of token {token!r} sent again after it failed "
                                    "(teardown failures are \"no retry\")")


#: Every SSM monitor class (the providers' are in :mod:`._provider_monitors`).
MONITORS: Final[tuple[type[Monitor], ...]] = (
    _BeforeLicense, _EveryPlayback, _NoSsmNoTraffic, _CarriesToken, _LimitRefuses,
    _FailureStops, _KeepsSession, _TeardownOnStop, _TeardownOnItemRelease, _SyncBlocks,
    _SetupNotified, _TeardownNotified, _HeartbeatNotified, _CarryCodes, _StopPlayback,
    _BackgroundSuspends, _ResumeIfNoError, _HeartbeatErrorZap, _PipRunsNormally,
    _TokenRotation, _SessionExpires, _Answers204, _BodyDecides, _ZapReplaces, _NoSelfLimit,
    _KillNoTeardown, _KsCompletes, _StopCompletes, _OneTimer, _EndsSession, _NamesStream,
    _LateSetupTornDown, _OperatorKill, _SyncCapped, _FirstHeartbeat, _SetupNoRetry,
    _HeartbeatNoRetry, _TeardownNoRetry,
)
