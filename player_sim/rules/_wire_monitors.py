"""The wire monitors: the rules a traffic capture can show, judged on wire records alone.

A capture (a HAR file, the live proxy, a served lab) holds ``http_exchange`` and
``api_call`` records: what crossed the network, nothing of what the app did or
the servers decided. These monitors judge, from that vantage only, the rules
whose every step is a request or an answer: a license request after a successful
setup and with its token, no license after a failed setup, token rotation, the
first heartbeat not before one period, one heartbeat timer per session, a
teardown answered 204, a zap's new setup tearing the old session down, no
success with an ended KS. A rule that needs what the app did (notifications,
stops, background) has no monitor here and is reported *not judged* on a capture.

Each is the same rule (same id) as its device-vantage monitor in
:mod:`._monitors` / :mod:`._provider_monitors`; the checker runs, per rule, the
first monitor whose vantages the trace has (device first), never both.

Sessions on the wire are token chains: a setup answer hands out a token, each
successful heartbeat or renewal answer rotates in the next. Time is when a
request left (the record's ``t``); its answer arrived ``seconds`` later.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from ..trace import TraceRecord
from ._base import Checking, DeviceView, Monitor

__all__ = ["WIRE_MONITORS"]

_KINDS: Final = frozenset({"http_exchange"})


def _ok(data: Any) -> bool:
    status = data.get("http_status")
    return data.get("code") is None and isinstance(status, int) and 200 <= status < 300


def _is(data: Any, service: str, *calls: str) -> bool:
    return bool(data.get("service") == service and data.get("call") in calls)


@attrs.define
class _Session:
    """One SSM session seen on the wire: its setup token and its newest token."""

    setup_token: str
    token: str
    period: float
    answered: float           # when the setup answer arrived
    line: int
    record: TraceRecord
    last_beat: float | None = None   # when the last heartbeat left
    last_answer: float = 0.0         # when the last successful answer arrived


class _Sessions(Monitor):
    """A shared base: each device's live SSM sessions on the wire.

    A session is found by any token of its chain (a client that re-sends an older
    token still speaks of that session); ``live`` maps a device to its live
    sessions by setup token.
    """

    kinds = _KINDS

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self.live: dict[str, dict[str, _Session]] = {}   # device -> setup token -> session
        self.chains: dict[tuple[str, str], _Session] = {}  # (device, any token) -> session
        self.failed_setup: set[str] = set()              # devices whose last setup failed
        self.uses_ssm: set[str] = set()                  # devices that sent a setup

    def _end(self, device: str, session: _Session) -> None:
        self.live.get(device, {}).pop(session.setup_token, None)

    def track(self, line: int, rec: TraceRecord) -> _Session | None:
        """Update the sessions for ``rec``; return the session it belongs to."""
        data, device = rec.data, rec.device or ""
        end = rec.t + float(data.get("seconds") or 0.0)
        if _is(data, "ssm", "setup"):
            token = data.get("token_out")
            if _ok(data) and isinstance(token, str):
                self.failed_setup.discard(device)
                period = data.get("heartbeat_period")
                session = _Session(token, token, float(period) if isinstance(
                    period, int | float) else 0.0, end, line, rec, last_answer=end)
                self.live.setdefault(device, {})[token] = session
                self.chains[(device, token)] = session
                return session
            self.failed_setup.add(device)
            return None
        if not _is(data, "ssm", "heartbeat", "renewal", "teardown"):
            return None
        token = data.get("token")
        found = self.chains.get((device, token)) if isinstance(token, str) else None
        if found is None:
            return None
        session = found
        if data.get("call") == "teardown":
            if _ok(data) or data.get("code") is not None:
                self._end(device, session)  # ended, or refused: no longer held
            return session
        token_out = data.get("token_out")
        if _ok(data) and isinstance(token_out, str):
            session.token = token_out
            session.last_answer = max(session.last_answer, end)
            self.chains[(device, token_out)] = session
        elif not _ok(data) and data.get("code") is not None:
            self._end(device, session)  # a heartbeat error: the session is lost
        return session


class _WireBeforeLicense(_Sessions):
    rule_id = "ssm.setup.before-license"
    reads = frozenset({"service", "call", "http_status", "code", "token", "token_out",
                       "heartbeat_period", "seconds"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        self.track(line, rec)
        data = rec.data
        device = rec.device or ""
        if _is(data, "ssm", "setup"):
            self.uses_ssm.add(device)
        if not _is(data, "license", "license"):
            return
        if not isinstance(data.get("token"), str) and device not in self.uses_ssm:
            return  # a device that never used SSM: not an SSM playback
        self.observed()
        if not self.live.get(device):
            self.violate(line, rec, "license request with no live SSM session set up "
                                    "before it on this device")


class _WireCarriesToken(_Sessions):
    rule_id = "ssm.license.carries-token"
    reads = _WireBeforeLicense.reads

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        self.track(line, rec)
        data = rec.data
        sessions = self.live.get(rec.device or "")
        if not _is(data, "license", "license") or not sessions:
            return
        self.observed()
        token = data.get("token")
        setup_tokens = {s.setup_token for s in sessions.values()}
        if not isinstance(token, str) or not token:
            self.violate(line, rec, "license request carries no SSM session token "
                                    "(nv-authorizations: <content token>,<session token>)")
        elif token not in setup_tokens:
            self.violate(line, rec, f"license request carries token {_short(token)}, not "
                                    "the session token the setup answered")


class _WireFailureStops(_Sessions):
    rule_id = "ssm.setup.failure-stops"
    reads = _WireBeforeLicense.reads

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        data = rec.data
        if _is(data, "ssm", "setup") and not _ok(data):
            self.observed()
        self.track(line, rec)
        device = rec.device or ""
        if _is(data, "license", "license") and device in self.failed_setup:
            self.violate(line, rec, "license request after a failed SSM setup, with no "
                                    "new setup since")


class _WireTokenRotation(_Sessions):
    rule_id = "ssm.heartbeat.token-rotation"
    reads = _WireBeforeLicense.reads

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self.rotated: dict[tuple[str, str], float] = {}  # (device, token) -> when rotated out

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        data = rec.data
        if not _is(data, "ssm", "heartbeat", "renewal"):
            return
        token = data.get("token")
        if not isinstance(token, str):
            return
        key = (rec.device or "", token)
        if self.rotated:
            self.observed()
        when = self.rotated.get(key)
        if when is not None and rec.t >= when:
            self.violate(line, rec, f"heartbeat reuses token {_short(token)}, which an "
                                    "earlier heartbeat's answer rotated out: it is stale at "
                                    "the server")
        if _ok(data) and isinstance(data.get("token_out"), str):
            self.rotated.setdefault(key, rec.t + float(data.get("seconds") or 0.0))


class _WireFirstAfterPeriod(_Sessions):
    rule_id = "ssm.heartbeat.first-after-period"
    reads = _WireBeforeLicense.reads

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        session = self.track(line, rec)
        data = rec.data
        if session is None or not _is(data, "ssm", "heartbeat", "renewal") \
                or data.get("token") != session.setup_token or session.period <= 0:
            return
        self.observed()
        early = session.answered + session.period - self.config.heartbeat_slack - rec.t
        if early > 0:
            self.violate(line, rec, f"first heartbeat {early:.1f} s before one heartbeat "
                                    f"period ({session.period:g} s) after the setup answer",
                         (session.line, session.record))


class _WireOneTimer(_Sessions):
    rule_id = "ssm.heartbeat.one-timer"
    reads = _WireBeforeLicense.reads

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        session = self.track(line, rec)
        data = rec.data
        if session is None or not _is(data, "ssm", "heartbeat", "renewal") \
                or session.period <= 0:
            return
        previous, session.last_beat = session.last_beat, rec.t
        if previous is None:
            return
        self.observed()
        gap = rec.t - previous
        if gap < session.period - self.config.heartbeat_slack:
            self.violate(line, rec, f"two heartbeats of one session {gap:.1f} s apart, "
                                    f"under the period of {session.period:g} s: two timers")


class _WireAnswers204(Monitor):
    rule_id = "ssm.teardown.answers-204"
    kinds = _KINDS
    reads = frozenset({"service", "call", "http_status", "code"})

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        data = rec.data
        if not _is(data, "ssm", "teardown") or data.get("code") is not None \
                or not 200 <= int(data.get("http_status") or 0) < 300:
            return
        self.observed()
        if data.get("http_status") != 204:
            self.violate(line, rec, f"a successful teardown answered HTTP "
                                    f"{data.get('http_status')}, not 204")


class _WireZapReplaces(_Sessions):
    """A new setup while the device's previous session is still heartbeated: that
    session must be torn down within the reaction window (a session whose heartbeats
    had stopped, a killed app's, is not expected to be)."""

    rule_id = "ssm.zap.replaces-session"
    reads = _WireBeforeLicense.reads

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        data, device = rec.data, rec.device or ""
        before = dict(self.live.get(device, {}))
        session = self.track(line, rec)
        if _is(data, "ssm", "setup") and session is not None:
            for old in before.values():
                if rec.t - old.last_answer > old.period + self.config.heartbeat_slack:
                    continue  # its heartbeats had stopped: not a playback zapped away from
                self.observed()
                self.expect(("zap", device, old.setup_token), device,
                            self.config.reaction_window, line, rec,
                            f"setup at entry {old.record.data.get('entry', old.line)} was "
                            "never torn down after the device set up a new session")
        elif session is not None and data.get("call") == "teardown":
            self.fulfil(("zap", device, session.setup_token))
        elif session is not None and not _ok(data):
            self.fulfil(("zap", device, session.setup_token))  # lost: nothing to tear down


class _WireEndedRequestsFail(Monitor):
    rule_id = "provider.ended.requests-fail"
    kinds = frozenset({"api_call"})
    reads = frozenset({"call", "ok", "ks"})
    _ENDS: Final = frozenset({"ottUser/logout", "session/end"})

    def __init__(self, checker: Checking) -> None:
        super().__init__(checker)
        self.ended: dict[str, int] = {}   # ks -> the request that ended it

    def observe(self, line: int, rec: TraceRecord, dev: DeviceView | None) -> None:
        data = rec.data
        ks = data.get("ks")
        if not isinstance(ks, str):
            return
        if data.get("call") in self._ENDS and data.get("ok"):
            self.ended.setdefault(ks, line)
            return
        if ks in self.ended:
            self.observed()
            if data.get("ok"):
                self.violate(line, rec, f"{data.get('call')} succeeded with KS {_short(ks)}, "
                                        "whose session had ended")


def _short(token: str) -> str:
    """A token as messages quote it (whole: a capture's report shortens it for display)."""
    return repr(token)


#: Every wire monitor, one per rule it judges.
WIRE_MONITORS: Final[tuple[type[Monitor], ...]] = (
    _WireBeforeLicense, _WireCarriesToken, _WireFailureStops, _WireTokenRotation,
    _WireFirstAfterPeriod, _WireOneTimer, _WireAnswers204, _WireZapReplaces,
    _WireEndedRequestsFail,
)
