"""Aggregates instead of traces: what a fleet run keeps of its world.

:class:`CountingTrace` takes the world's trace's place: each record it is given
is counted into a bucket of its second and then dropped (unless its device's
account is in the sample kept whole). :class:`CountingNetwork` counts requests
reaching each backend. Both keep a few integer arrays whatever the fleet's size.

Why a refused setup (1007) was refused is decided when it is refused, from the
account's live sessions:

* ``zombie``: one of them is held by no running player (a killed app, a lost
  teardown): the slot would be free if the SDK had torn it down;
* ``zap_race``: none is a zombie but one is being torn down (its teardown is on
  the wire, with its current or its previous token), as in an asynchronous zap
  whose setup overtakes the old session's teardown;
* ``limit``: every session is held by a running player: a legitimate refusal;
* ``ip_limit``: the per-IP limit, not the account's, refused it.

Other refusals are named by their SSM code (``4001`` during an outage).
Session providers (``providers`` in a fleet file): a login is a
``session_started`` not carried over from before the run (a user or anonymous
login, a widget session); a KS refresh is a ``ks_refreshed`` or ``ks_renewed``
(OTT ``refreshSession``, OVP renewals), counted per second, per minute by
backend and per platform; failed logins and refreshes, and plays that got no
KS (``ks_error``) or no media entry (``media_load_error``), per minute.

An expired session is a ``background`` expiry if its device's app is suspended
in the background (a false expiry: the viewer comes back to a dead session),
else a ``zombie`` expiry.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping
from typing import Any, Final

from ..player import AppState
from ..trace import Kind, Trace, TraceRecord
from ..world import NetworkConfig, World
from ..world._network import Network, Request

__all__ = ["PER_MINUTE", "PER_SECOND", "REFUSAL_REASONS", "CountingNetwork", "CountingTrace"]

#: Counters kept per second of virtual time (their rates and peaks are the capacity numbers).
PER_SECOND: Final = ("setups", "refusals", "teardowns", "heartbeats", "ssm_requests",
                     "license_requests", "expiries", "plays", "logins", "ks_refreshes",
                     "ott_requests", "ovp_requests")
#: The session-provider series per minute, by backend (``logins_ott`` ...).
PROVIDER_MINUTE: Final = ("logins_ott", "logins_ovp", "ks_refreshes_ott", "ks_refreshes_ovp",
                          "login_failures", "refresh_failures", "ks_errors",
                          "media_load_errors")
#: Why a setup was refused (plus the SSM code of any other refusal, e.g. ``refused_4001``).
REFUSAL_REASONS: Final = ("limit", "zombie", "zap_race", "ip_limit")
#: Counters and gauges kept per minute.
PER_MINUTE: Final = (*(f"refused_{r}" for r in REFUSAL_REASONS), "refused_other",
                     "expired_background", "expired_zombie", "evictions", "kills",
                     "relaunches", "playbacks_started", "active_sessions", "zombie_sessions",
                     "viewing", *PROVIDER_MINUTE)
#: Totals per platform.
PER_PLATFORM: Final = ("plays", "refusals", "playbacks_started", "expired_background",
                       "logins", "ks_refreshes")


class Buckets:
    """The counters of one world (or the merged counters of many)."""

    __slots__ = ("minute", "platform", "second")

    def __init__(self, seconds: int, platforms: int) -> None:
        minutes = seconds // 60 + 1
        self.second = {name: array("q", bytes(8 * (seconds + 1))) for name in PER_SECOND}
        self.minute = {name: array("q", bytes(8 * minutes)) for name in PER_MINUTE}
        self.platform = {name: array("q", bytes(8 * platforms)) for name in PER_PLATFORM}


class CountingTrace(Trace):
    """A trace that counts records into :class:`Buckets` and keeps only a sample.

    ``owner(device)`` gives a device's ``(account index, platform index, on_refused)``;
    records of accounts below ``keep_accounts`` are kept whole.
    """

    __slots__ = ("_handlers", "_owner", "active", "buckets", "keep_accounts", "world")

    def __init__(self, world: World, buckets: Buckets,
                 owner: Callable[[str], tuple[int, int, Callable[[], None]]],
                 keep_accounts: int) -> None:
        super().__init__()
        self.world = world
        self.buckets = buckets
        self._owner = owner
        self.keep_accounts = keep_accounts
        self.active = 0
        s, m, p = buckets.second, buckets.minute, buckets.platform
        plays, setups, refusals = s["plays"], s["setups"], s["refusals"]
        teardowns, expiries = s["teardowns"], s["expiries"]
        started = m["playbacks_started"]

        def created(r: TraceRecord, second: int, platform: int) -> None:
            setups[second] += 1
            self.active += 1

        def refused(r: TraceRecord, second: int, platform: int) -> None:
            setups[second] += 1
            refusals[second] += 1
            p["refusals"][platform] += 1
            m[f"refused_{self._why_refused(r)}"][second // 60] += 1
            assert r.device is not None
            self._owner(r.device)[2]()

        def ended(r: TraceRecord, second: int, platform: int) -> None:
            teardowns[second] += 1
            self.active -= 1

        def expired(r: TraceRecord, second: int, platform: int) -> None:
            expiries[second] += 1
            self.active -= 1
            assert r.device is not None
            device = self.world.device(r.device)
            if not device.killed and device.core.app is AppState.BACKGROUND:
                m["expired_background"][second // 60] += 1
                p["expired_background"][platform] += 1
            else:
                m["expired_zombie"][second // 60] += 1

        def evicted(r: TraceRecord, second: int, platform: int) -> None:
            m["evictions"][second // 60] += 1
            self.active -= 1

        def teardown_refused(r: TraceRecord, second: int, platform: int) -> None:
            teardowns[second] += 1

        def setup_sent(r: TraceRecord, second: int, platform: int) -> None:
            plays[second] += 1
            p["plays"][platform] += 1

        def playback_started(r: TraceRecord, second: int, platform: int) -> None:
            started[second // 60] += 1
            p["playbacks_started"][platform] += 1

        logins, refreshes = s["logins"], s["ks_refreshes"]

        def session_started(r: TraceRecord, second: int, platform: int) -> None:
            if r.data.get("prior"):
                return  # started before the run: nothing was sent
            logins[second] += 1
            m[f"logins_{r.data['backend']}"][second // 60] += 1
            p["logins"][platform] += 1

        def refreshed(r: TraceRecord, second: int, platform: int) -> None:
            refreshes[second] += 1
            m[f"ks_refreshes_{r.data['backend']}"][second // 60] += 1
            p["ks_refreshes"][platform] += 1

        def minute_counter(name: str) -> Callable[[TraceRecord, int, int], None]:
            series = m[name]

            def count(r: TraceRecord, second: int, platform: int) -> None:
                series[second // 60] += 1
            return count

        by_name: Mapping[str, Callable[[TraceRecord, int, int], None]] = {
            "ssm_session_created": created, "ssm_setup_refused": refused,
            "ssm_session_ended": ended, "ssm_teardown_refused": teardown_refused,
            "ssm_session_expired": expired, "ssm_session_evicted": evicted,
            "ssm_setup_sent": setup_sent, "playback_started": playback_started,
            "app_killed": minute_counter("kills"), "app_relaunched": minute_counter("relaunches"),
            "session_started": session_started, "ks_refreshed": refreshed,
            "ks_renewed": refreshed, "session_start_failed": minute_counter("login_failures"),
            "ks_refresh_failed": minute_counter("refresh_failures"),
            "ks_error": minute_counter("ks_errors"),
            "media_load_error": minute_counter("media_load_errors"),
        }
        # Keyed by the Kind member itself: reading ``.value`` off an Enum costs more.
        self._handlers: Mapping[Kind, Callable[[TraceRecord, int, int], None]] = {
            kind: by_name[kind.value] for kind in Kind if kind.value in by_name}

    def append(self, record: TraceRecord) -> None:
        device = record.device
        if device is None:
            return
        handler = self._handlers.get(record.kind)
        account = -1
        if handler is not None or self.keep_accounts:
            account, platform, _ = self._owner(device)
            if handler is not None:
                handler(record, int(record.t), platform)
        if account < self.keep_accounts and account >= 0:
            self._records.append(record)

    def _why_refused(self, record: TraceRecord) -> str:
        code = record.data.get("ssm_code")
        if code != 1007:
            return "other"
        if str(record.data.get("message", "")).startswith("max active sessions exceeded for IP"):
            return "ip_limit"
        world = self.world
        assert record.device is not None
        account = world.device(record.device).config.account
        racing = False
        for session in world.ssm.active_sessions(account):
            wire = world.device(session.device).teardowns_on_the_wire
            if session.token in wire or session.previous_token in wire:
                racing = True
            elif session in world.zombie_sessions(account):
                return "zombie"
        return "zap_race" if racing else "limit"


class CountingNetwork(Network):
    """The world's network, counting the requests that reach each backend per second."""

    __slots__ = ("_counts",)

    def __init__(self, config: NetworkConfig, world: World, buckets: Buckets) -> None:
        super().__init__(config, world)
        self._counts: dict[str, Any] = {"ssm": buckets.second["ssm_requests"],
                                        "license": buckets.second["license_requests"],
                                        "ott": buckets.second["ott_requests"],
                                        "ovp": buckets.second["ovp_requests"]}

    def _arrive(self, request: Request) -> None:
        counts = self._counts.get(request.link)
        if counts is not None:
            counts[int(self._world.now)] += 1
        super()._arrive(request)
