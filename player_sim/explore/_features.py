"""What a generated scenario reached: the features of its file and of its run.

:func:`features` names, for one scenario (the loader's plain data) and the
trace of its run, every feature of the space it touched: the kind of each
device (direct, OTT, OVP; anonymous or user session), provider variant and
refresh policy, platform profile, the forced errors by endpoint and code,
outages, latency and jitter, and situations only the run shows (a KS
refreshed or renewed, a provider session ended, a heartbeat error while in
picture-in-picture or in the background, a zap at the session limit, a KS
used near its expiry). Each feature is a label ``"group: value"``.

The strategy reports each label with Hypothesis' ``event()`` (shown by
``pytest --hypothesis-show-statistics``);
:func:`~._search.draw_statistics` counts them over a run of the strategy alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..trace import Trace

__all__ = ["GROUPS", "features"]

#: The feature groups, in the order the statistics table lists them.
GROUPS: Final = ("devices", "device", "session", "provider", "refresh policy", "profile",
                 "sdk", "accounts", "limit", "server", "network", "action", "fault",
                 "outage", "lose", "operator kill", "reached")

#: A KS handed out with less than this share of its validity left is "near expiry".
NEAR_EXPIRY: Final = 0.25
#: How soon after coming back from the background a heartbeat error counts as its (s).
_RETURN: Final = 60.0
#: App states in which a heartbeat error is rare enough to be its own feature.
_OFF_SCREEN: Final = ("pip", "background")


def _device_features(name: str, device: Mapping[str, Any]) -> Iterable[str]:
    provider = device.get("session_provider")
    if provider is None:
        yield "device: direct (no session provider)"
    else:
        backend = provider["backend"]
        yield f"device: {backend}"
        yield f"provider: {backend} {provider.get('variant', 'documented')}"
        if "refresh_policy" in provider:
            yield f"refresh policy: {provider['refresh_policy']}"
        if provider.get("persist_session"):
            yield "provider: ott persist_session"
    yield f"profile: {device.get('profile', 'documented')}"
    if device.get("sync_setup_teardown"):
        yield "sdk: sync setup/teardown"
    else:
        yield f"sdk: async, {device.get('zap_order', 'setup-first')}"
    if device.get("pip"):
        yield "sdk: pip enabled"
    if "timeouts" in device:
        yield "sdk: request timeouts"


def _step_features(step: Mapping[str, Any]) -> Iterable[str]:
    (kind, value), = step.items()
    if kind == "fail":
        code = value.get("ssm_code", value.get("code"))
        yield f"fault: {value['endpoint']}"
        yield f"fault: {value['endpoint']} {value['http_status']}" + (
            f"/{code}" if code is not None else "")
    elif kind == "outage":
        yield f"outage: {value['backend']}"
    elif kind == "latency":
        yield f"network: extra latency on {value['link']}"
    elif kind == "lose":
        yield f"lose: {value['endpoint']}"
    elif kind == "operator_kill":
        yield f"operator kill: {'device' if 'device' in value else 'account'}"
    elif kind == "login":
        yield "session: user login" if isinstance(value, dict) and "username" in value \
            else "session: anonymous login"
    elif kind in ("wait", "at"):
        return
    else:
        yield f"action: {kind}"


def _run_features(data: Mapping[str, Any], trace: Trace) -> Iterable[str]:
    accounts = {name: d["account"] for name, d in data["devices"].items()}
    ssm = data["world"]["ssm"]
    limits = {name: a.get("max_sessions", ssm["max_sessions_per_account"])
              for name, a in data.get("accounts", {}).items()}
    active: dict[str, int] = {}
    issued: dict[str, tuple[float, float]] = {}
    returned: dict[str, float] = {}  # device -> when it last came back from the background
    for record in trace:
        kind = record.kind.value
        if kind in ("ssm_session_created", "ssm_session_ended", "ssm_session_expired",
                    "ssm_session_evicted", "ssm_session_killed"):
            active[record.data["account"]] = record.data["active"]
            if kind != "ssm_session_created":
                yield f"reached: SSM session {kind.removeprefix('ssm_session_')}"
        elif kind in ("ks_refreshed", "ks_renewed", "session_cleared", "session_recovered",
                      "ks_refresh_failed", "session_start_failed", "ks_error",
                      "media_load_error", "license_error", "ssm_setup_error",
                      "ssm_teardown_error", "request_retried", "app_killed"):
            yield f"reached: {kind}"
        elif kind == "session_ended":
            yield "reached: provider session ended" + (
                " (anonymous)" if record.data["anonymous"] else " (user)")
        elif kind == "playback_started":
            yield "reached: playing"
        elif kind == "state_changed":
            if record.data["app"] in _OFF_SCREEN \
                    and record.data["playback"] in ("playing", "paused"):
                yield f"reached: {record.data['playback']} in {record.data['app']}"
            if record.data["app_from"] == "background" and record.data["app"] == "foreground":
                returned[record.device or ""] = record.t
        elif kind == "ssm_heartbeat_error":
            yield "reached: ssm_heartbeat_error"
            if record.app in _OFF_SCREEN:
                yield f"reached: ssm_heartbeat_error in {record.app}"
            elif record.t - returned.get(record.device or "", -_RETURN) < _RETURN:
                yield "reached: ssm_heartbeat_error back from the background"
        elif kind == "ssm_setup_refused" and record.data["ssm_code"] == 1007:
            yield "reached: setup refused at the limit (1007)"
        elif kind == "zap" and record.device is not None:
            yield "action: zap to the same stream" if record.data["same_stream"] \
                else "action: zap to another stream"
            account = accounts.get(record.device)
            limit = limits.get(account or "", ssm["max_sessions_per_account"])
            if account is not None and limit is not None and active.get(account, 0) >= limit:
                yield "reached: zap at the session limit"
        elif kind == "ks_used" and record.data["status"] == "expired":
            yield "reached: expired KS sent"
        elif kind == "ks_issued":
            issued[record.data["ks"]] = (record.t, float(record.data["expires_at"]))
        elif kind == "ks_answered" and record.data["ks"] in issued:
            start, expiry = issued[record.data["ks"]]
            if expiry - record.t < NEAR_EXPIRY * (expiry - start):
                yield "reached: KS near expiry handed out"


def features(data: Mapping[str, Any], trace: Trace | None = None) -> tuple[str, ...]:
    """Every feature ``data`` (a generated scenario) has, and those its run's ``trace``
    reached, each once, sorted: labels ``"group: value"`` (see :data:`GROUPS`)."""
    found: set[str] = set()
    devices = data["devices"]
    found.add(f"devices: {len(devices)}")
    for name, device in devices.items():
        found.update(_device_features(name, device))
    used = [d["account"] for d in devices.values()]
    found.add("accounts: one account" if len(set(used)) == 1 else "accounts: several")
    if len(used) != len(set(used)):
        found.add("accounts: devices sharing an account")
    ssm = data["world"]["ssm"]
    found.add(f"limit: {ssm['max_sessions_per_account']} per account")
    for account in data.get("accounts", {}).values():
        found.add(f"limit: account's own {account['max_sessions']}")
    if ssm.get("legacy_status_200"):
        found.add("server: legacy status 200")
    if ssm.get("limit_policy") == "evict-oldest":
        found.add("server: evict-oldest")
    network = data["world"].get("network", {})
    if "jitter" in network:
        found.add("network: jitter")
    for link in network.get("links", {}):
        found.add(f"network: slow {link} link")
    for step in data["steps"]:
        found.update(_step_features(step))
    if trace is not None:
        found.update(_run_features(data, trace))
    return tuple(sorted(found))
