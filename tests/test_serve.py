"""The served lab over REAL loopback HTTP: a client speaking the wire formats of WIRE.md.

Every test talks to a Hypercorn server on a free 127.0.0.1 port (the
``player_sim_server`` fixture) with httpx, as a device would.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from player_sim._errors import ConfigError
from player_sim.cli import main
from player_sim.scenario import LabWorld, load_lab
from player_sim.serve import Lab, LabClient, LabServer, check_bind
from player_sim.serve._client import LabError
from player_sim.trace import Trace, Vantage
from player_sim.traffic import mint_content_token

LAB = """
world:
  ssm: {heartbeat_period: 30s, grace_period: 10s, max_sessions_per_account: 2}
  ott: {users: {alice: secret}, ks_validity: 1d}
  ovp: {users: {a@b.c: pw}}
accounts:
  family: {max_sessions: 2}
  solo: {max_sessions: 1}
"""


@pytest.fixture
def player_sim_lab() -> LabWorld:
    return load_lab("lab.yaml", LAB)


@pytest.fixture
def http(player_sim_server: LabClient) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=player_sim_server.base_url, timeout=10) as client:
        yield client


def _ssm(http: httpx.Client, call: str, token: str, body: bytes = b"") -> httpx.Response:
    return http.post(f"/lab/ssm/v1/sessions/{call}", headers={"nv-authorizations": token},
                     content=body)


def _setup(http: httpx.Client, account: str, device: str, **claims: Any) -> httpx.Response:
    return _ssm(http, "setup", mint_content_token(account, device, **claims))


# --- SSM ------------------------------------------------------------------------------------


def test_setup_heartbeats_rotate_the_token_teardown_204(http: httpx.Client,
                                                         player_sim_server: LabClient) -> None:
    setup = _setup(http, "family", "phone-1", content="channel-1")
    assert setup.status_code == 200
    body = setup.json()
    assert body["heartBeat"] == body["heartbeat"] == 30
    tokens = [body["sessionToken"]]
    for _ in range(3):
        beat = _ssm(http, "heartbeat", tokens[-1])
        assert beat.status_code == 200
        tokens.append(beat.json()["sessionToken"])
    assert len(set(tokens)) == 4, "every heartbeat rotates the token"
    stale = _ssm(http, "heartbeat", tokens[0])
    assert (stale.status_code, stale.json()["errorCode"]) == (401, 1006)
    [session] = player_sim_server.sessions("family")
    assert (session["device"], session["stream"], session["heartbeats"]) == (
        "phone-1", "channel-1", 3)
    teardown = _ssm(http, "teardown", tokens[-1])
    assert (teardown.status_code, teardown.content) == (204, b"")
    assert player_sim_server.sessions() == []


def test_1007_at_the_limit_the_token_carries(http: httpx.Client) -> None:
    for device in ("phone", "tablet"):
        assert _setup(http, "family", device, max_sessions=2).status_code == 200
    third = _setup(http, "family", "tv", max_sessions=2)
    assert third.status_code == 400  # 1007 as 400, per Nagra's fixture (WIRE.md)
    assert third.json()["errorCode"] == 1007
    # The limit travels in the token: a token saying 3 lets the third in.
    assert _setup(http, "family", "tv", max_sessions=3).status_code == 200


def test_forced_1006_then_a_new_setup(http: httpx.Client, player_sim_server: LabClient) -> None:
    token = _setup(http, "family", "phone-1").json()["sessionToken"]
    player_sim_server.fail_next("heartbeat", code=1006, device="tablet")  # not this device
    player_sim_server.fail_next("heartbeat", code=1006, device="phone-1")
    refused = _ssm(http, "heartbeat", token)
    assert (refused.status_code, refused.json()) == (
        401, {"errorCode": 1006, "message": "INVALID_TOKEN"})
    found = player_sim_server.wait_for("ssm_heartbeat_refused", device="phone-1", timeout=2)
    assert found.record.data["forced"] is True
    assert _setup(http, "family", "phone-1").status_code == 200
    again = player_sim_server.wait_for("ssm_session_created", device="phone-1",
                                       after="ssm_heartbeat_refused", timeout=2)
    assert again.line > found.line
    assert again.record.data["session"] == "phone-1/2"


def test_unknown_identities_are_refused_with_1003(http: httpx.Client) -> None:
    stranger = _setup(http, "mallory", "laptop")
    assert (stranger.status_code, stranger.json()["errorCode"]) == (401, 1003)
    assert "unknown account 'mallory'" in stranger.json()["message"]
    garbage = _ssm(http, "setup", "not-a-jwt")
    assert (garbage.status_code, garbage.json()["errorCode"]) == (401, 1003)
    missing = http.post("/lab/ssm/v1/sessions/heartbeat")
    assert (missing.status_code, missing.json()["errorCode"]) == (401, 1003)


def test_a_kill_over_the_wire_fails_the_next_heartbeat(http: httpx.Client) -> None:
    token = _setup(http, "family", "phone-1").json()["sessionToken"]
    killed = http.put("/lab/ssm/v1/sessions/killDeviceSessions",
                      headers={"nv-authorizations": "operator"}, json={"device": "phone-1"})
    assert (killed.status_code, killed.json()) == (200, 1)
    beat = _ssm(http, "heartbeat", token)
    assert beat.json() == {"errorCode": 1006,
                           "message": "invalid token: its session was killed by an operator"}


def test_a_clock_jump_expires_the_session(http: httpx.Client,
                                          player_sim_server: LabClient) -> None:
    token = _setup(http, "solo", "phone-1").json()["sessionToken"]
    assert _setup(http, "solo", "tablet").json()["errorCode"] == 1007
    assert player_sim_server.advance("2h") >= 7200
    assert player_sim_server.sessions() == []
    expired = player_sim_server.wait_for("ssm_session_expired", device="phone-1", timeout=1)
    assert 70 <= expired.record.t < 71, "expired one timeout after its last heartbeat"
    beat = _ssm(http, "heartbeat", token)
    assert beat.json()["message"] == "invalid token: its session expired"
    assert _setup(http, "solo", "tablet").status_code == 200
    verdict = player_sim_server.verdict(["ssm.session.expires", "ssm.setup.limit-refuses"])
    assert verdict.passed and verdict.observed["ssm.session.expires"] == 1


def test_zombies_are_sessions_that_stopped_heartbeating(http: httpx.Client,
                                                        player_sim_server: LabClient) -> None:
    _setup(http, "family", "phone-1")
    assert player_sim_server.zombies() == []
    player_sim_server.advance(40)
    assert [z["device"] for z in player_sim_server.zombies()] == ["phone-1"]


def test_an_outage_answers_4001_until_it_ends(http: httpx.Client,
                                              player_sim_server: LabClient) -> None:
    player_sim_server.outage("ssm", "30s")
    down = _setup(http, "family", "phone-1")
    assert (down.status_code, down.json()["errorCode"]) == (503, 4001)
    player_sim_server.advance(31)
    assert _setup(http, "family", "phone-1").status_code == 200


# --- the license ------------------------------------------------------------------------------


def test_license_needs_the_live_session_token(http: httpx.Client) -> None:
    content = mint_content_token("family", "phone-1", content="channel-1")
    session = _ssm(http, "setup", content).json()["sessionToken"]
    url = "/lab/wvls/contentlicenseservice/v1/licenses"
    granted = http.post(url, headers={"nv-authorizations": f"{content},{session}"},
                        json={"challenge": "AAEC"})
    assert granted.status_code == 200 and isinstance(granted.json()["license"][0], str)
    denied = http.post(url, headers={"nv-authorizations": f"{content},stale"},
                       json={"challenge": "AAEC"})
    assert (denied.status_code, denied.json()["errorCode"]) == (403, 1006)


def test_renewal_rotates_the_token_and_carries_a_license(http: httpx.Client) -> None:
    token = _setup(http, "family", "tv").json()["sessionToken"]
    renewal = _ssm(http, "renewal-license-wv", token, b'{"challenge": "AAEC"}')
    assert renewal.status_code == 200
    assert renewal.json()["sessionToken"] != token and renewal.json()["license"]


# --- Phoenix (OTT) and OVP ---------------------------------------------------------------------


def _ott(http: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    answer = http.post(f"/ott/api_v3/service/{path}", json={"clientTag": "t", **body})
    assert answer.status_code == 200, "Phoenix answers 200, errors included"
    return answer.json()


def test_ott_login_multirequest_then_refresh(http: httpx.Client) -> None:
    login = _ott(http, "multirequest", {
        "1": {"service": "ottUser", "action": "login", "partnerId": 3009, "username": "alice",
              "password": "secret", "udid": "dev-1"},
        "2": {"service": "session", "action": "get", "ks": "{1:result:loginSession:ks}"}})
    first, session = login["result"]
    assert first["objectType"] == "KalturaLoginResponse"
    ks, refresh = first["loginSession"]["ks"], first["loginSession"]["refreshToken"]
    assert session["objectType"] == "KalturaSession" and session["ks"] == ks
    assert session["udid"] == "dev-1" and session["userId"] == first["user"]["id"]
    refreshed = _ott(http, "ottUser/action/refreshSession",
                     {"ks": ks, "refreshToken": refresh, "udid": "dev-1"})["result"]
    assert refreshed["ks"] != ks and refreshed["refreshToken"] != refresh
    reused = _ott(http, "ottUser/action/refreshSession",
                  {"ks": refreshed["ks"], "refreshToken": refresh, "udid": "dev-1"})
    assert reused["result"]["error"]["code"] == "500016"


def test_ott_wrong_password_is_an_error_in_the_multirequest_array(http: httpx.Client) -> None:
    login = _ott(http, "multirequest", {
        "1": {"service": "ottUser", "action": "login", "partnerId": 3009, "username": "alice",
              "password": "nope"},
        "2": {"service": "session", "action": "get", "ks": "{1:result:loginSession:ks}"}})
    assert [r["error"]["code"] for r in login["result"]] == ["1011",
                                                            "MISSING_MANDATORY_PARAMETER"]


def test_ks_expires_with_a_clock_jump(http: httpx.Client, player_sim_server: LabClient) -> None:
    ks = _ott(http, "ottUser/action/anonymousLogin", {"partnerId": 3009})["result"]["ks"]
    assert _ott(http, "session/action/get", {"ks": ks})["result"]["userId"] == "0"
    player_sim_server.advance("25h")
    assert _ott(http, "session/action/get", {"ks": ks})["result"]["error"] == {
        "objectType": "KalturaAPIException", "code": "500016", "message": "KS expired"}


def test_ovp_widget_session_and_bare_array_multirequest(http: httpx.Client) -> None:
    widget = http.post("/ovp/api_v3/service/session/action/startWidgetSession",
                       json={"widgetId": "_2091671", "format": 1}).json()
    assert widget["objectType"] == "KalturaStartWidgetSessionResponse"
    assert widget["partnerId"] == 2091671
    multi = http.post("/ovp/api_v3/service/multirequest", json={
        "ks": None, "format": 1,
        "1": {"service": "user", "action": "loginByLoginId", "loginId": "a@b.c",
              "password": "pw", "partnerId": 2091671},
        "2": {"service": "session", "action": "get", "ks": "{1:result}"}}).json()
    assert isinstance(multi, list) and isinstance(multi[0], str)
    assert multi[1]["objectType"] == "KalturaSessionInfo" and multi[1]["ks"] == multi[0]
    end = http.post("/ovp/api_v3/service/session/action/end", json={"ks": multi[0]})
    assert (end.status_code, end.json()) == (200, None)
    after = http.post("/ovp/api_v3/service/session/action/get", json={"ks": multi[0]}).json()
    assert (after["objectType"], after["code"]) == ("KalturaAPIException", "INVALID_KS")


def test_forced_ott_and_ovp_errors(http: httpx.Client, player_sim_server: LabClient) -> None:
    player_sim_server.fail_next("ott:ottUser/anonymousLogin", code=500016)
    player_sim_server.fail_next("ovp:session/startWidgetSession", http_status=503)
    forced = _ott(http, "ottUser/action/anonymousLogin", {"partnerId": 1})
    assert forced["result"]["error"]["code"] == "500016"
    down = http.post("/ovp/api_v3/service/session/action/startWidgetSession",
                     json={"widgetId": "_1"})
    assert down.status_code == 503 and down.json()["objectType"] == "KalturaAPIException"


# --- malformed input never answers 5xx ------------------------------------------------------

_PATHS = ["/lab/ssm/v1/sessions/setup", "/lab/ssm/v1/sessions/heartbeat",
          "/lab/ssm/v1/sessions/renewal-license-wv", "/lab/ssm/v1/sessions/teardown",
          "/lab/wvls/contentlicenseservice/v1/licenses", "/ott/api_v3/service/multirequest",
          "/ott/api_v3/service/ottUser/action/login", "/ovp/api_v3/service/multirequest",
          "/ovp/api_v3/service/session/action/startWidgetSession",
          "/ott/api_v3/service/asset/action/getPlaybackContext", "/nowhere", "/lab/ssm/x"]
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.sampled_from(["1", "2", "ks", "partnerId", "service",
                                                        "action", "challenge", "udid",
                                                        "widgetId", "device"]), inner,
                                       max_size=4), max_leaves=8)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(_PATHS),
       body=st.one_of(st.binary(max_size=64), _JSON.map(lambda v: json.dumps(v).encode())),
       token=st.sampled_from(["", "x", "a.b.c", mint_content_token("family", "p"),
                              mint_content_token("family", "p") + ",s"]),
       method=st.sampled_from(["POST", "PUT", "GET", "DELETE"]))
def test_malformed_requests_never_answer_5xx(http: httpx.Client, path: str, body: bytes,
                                             token: str, method: str) -> None:
    headers = {"nv-authorizations": token} if token else {}
    answer = http.request(method, path, content=body, headers=headers)
    assert answer.status_code < 500 or answer.json().get("errorCode") == 4001
    if answer.status_code != 204:
        answer.json()  # the backend's own (JSON) error shape, never a traceback page


def test_unknown_paths_get_404_in_the_backends_shape_and_are_recorded(
        http: httpx.Client, player_sim_server: LabClient) -> None:
    ssm = http.post("/lab/ssm/v1/sessions/nothing")
    assert ssm.status_code == 404 and "errorCode" in ssm.json()
    ott = http.post("/ott/api_v3/nothing")
    assert ott.status_code == 404 and ott.json()["result"]["error"]["objectType"] == \
        "KalturaAPIException"
    ovp = http.post("/ovp/api_v3/service/x")
    assert ovp.status_code == 404 and ovp.json()["objectType"] == "KalturaAPIException"
    trace = Trace.from_jsonl(player_sim_server.trace_jsonl())
    assert [r.data["http_status"] for r in trace.of_kind("http_exchange")] == [404, 404, 404]


def test_bodies_over_the_cap_are_refused_unread(http: httpx.Client) -> None:
    answer = http.post("/lab/ssm/v1/sessions/setup", content=b"{" * 100_000,
                       headers={"nv-authorizations": "x"})
    assert answer.status_code == 413 and answer.json()["errorCode"] == 1000


# --- recording ---------------------------------------------------------------------------------


def test_every_exchange_is_a_wire_record_and_a_har_entry(http: httpx.Client,
                                                        player_sim_server: LabClient) -> None:
    token = _setup(http, "family", "phone-1").json()["sessionToken"]
    _ssm(http, "heartbeat", token)
    _ott(http, "ottUser/action/login", {"partnerId": 1, "username": "alice",
                                        "password": "secret"})
    trace = Trace.from_jsonl(player_sim_server.trace_jsonl())
    assert trace.vantages == {Vantage.SERVER, Vantage.WIRE, Vantage.HARNESS}
    exchanges = trace.of_kind("http_exchange")
    assert [(r.data["call"], r.device) for r in exchanges] == [
        ("setup", "phone-1"), ("heartbeat", "phone-1"), ("ottUser/login", None)]
    assert exchanges[1].data["token"] == token
    har = player_sim_server.har()
    assert len(har["log"]["entries"]) == 3
    login = har["log"]["entries"][2]["request"]["postData"]["text"]
    assert "secret" not in login and '"password":"***"' in login


def test_outputs_are_written_when_the_server_stops(tmp_path: Path) -> None:
    lab = Lab(load_lab("lab.yaml", LAB))
    prefix = tmp_path / "out" / "lab"
    with LabServer(lab, prefix=prefix) as server, \
            httpx.Client(base_url=server.url) as http, LabClient(server.url) as client:
        _setup(http, "solo", "phone-1")
        client.advance("5m")
    trace = Trace.from_jsonl(Path(f"{prefix}.trace.jsonl").read_text())
    assert [r.kind for r in trace][:2] == ["ssm_session_created", "http_exchange"]
    har = json.loads(Path(f"{prefix}.har").read_text())
    assert har["log"]["version"] == "1.2" and len(har["log"]["entries"]) == 1
    verdict = json.loads(Path(f"{prefix}.verdict.json").read_text())
    assert verdict["passed"] and "ssm.session.expires" in verdict["judged"]
    assert "ssm.teardown.on-stop" in verdict["not_judged"]
    assert not [p for p in prefix.parent.iterdir() if p.name.startswith(".")], "no temp files"


# --- control API and security --------------------------------------------------------------------


def test_control_errors_state_the_rule(player_sim_server: LabClient) -> None:
    with pytest.raises(LabError, match="no endpoint 'beat'"):
        player_sim_server.fail_next("beat")
    with pytest.raises(LabError, match="only jumps forward"):
        player_sim_server.advance(-1)
    with pytest.raises(LabError, match="bad duration"):
        player_sim_server.advance("soon")
    with pytest.raises(LabError, match="no rule 'nope'"):
        player_sim_server.verdict(["nope"])
    with pytest.raises(TimeoutError, match=r"no ssm_session_created record within 0\.2s"):
        player_sim_server.wait_for("ssm_session_created", timeout=0.2)


def test_a_verdict_on_a_rule_the_wire_cannot_show_does_not_pass(
        player_sim_server: LabClient) -> None:
    verdict = player_sim_server.verdict(["ssm.background.heartbeat-error-zap"])
    assert not verdict.passed
    assert verdict.not_judged == {"ssm.background.heartbeat-error-zap": ("device",)}


def test_a_control_token_guards_the_control_api_and_operator_calls() -> None:
    lab = Lab(load_lab("lab.yaml", LAB), control_token="t0k")
    with LabServer(lab) as server, LabClient(server.url) as anyone, \
            LabClient(server.url, control_token="t0k") as operator:
        with pytest.raises(LabError, match="Bearer"):
            anyone.sessions()
        assert operator.sessions() == []
        kill = httpx.put(server.url + "/lab/ssm/v1/sessions/killAccountSessions",
                         headers={"nv-authorizations": "guess"}, json={"account": "family"})
        assert (kill.status_code, kill.json()["errorCode"]) == (401, 1003)


def test_a_non_loopback_bind_needs_a_control_token() -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    with pytest.raises(ConfigError, match="--control-token"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", "secret")
    result = CliRunner().invoke(main, ["serve", "scenarios/_world.yaml", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--control-token" in result.output


def test_the_server_binds_loopback_by_default(player_sim_server: LabClient) -> None:
    assert player_sim_server.base_url.startswith("http://127.0.0.1:")
    port = int(player_sim_server.base_url.rsplit(":", 1)[1])
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)} - {
        "127.0.0.1", "127.0.1.1", "::1"}
    for address in sorted(addresses)[:1]:
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=1):
            pass


def test_token_command_mints_what_the_lab_reads() -> None:
    result = CliRunner().invoke(main, ["token", "--account", "alice", "--device", "phone-1",
                                       "--max-sessions", "2"])
    assert result.exit_code == 0
    from player_sim.traffic import read_content_token

    identity = read_content_token(result.output.strip())
    assert (identity.account, identity.device, identity.max_sessions) == ("alice", "phone-1", 2)


def test_ctl_drives_a_running_lab(player_sim_server: LabClient, http: httpx.Client) -> None:
    url = ["ctl", "--url", player_sim_server.base_url]
    runner = CliRunner()
    assert runner.invoke(main, [*url, "fail-next", "setup", "--code", "1007"]).exit_code == 0
    assert _setup(http, "family", "p").json()["errorCode"] == 1007
    advanced = runner.invoke(main, [*url, "advance", "2h"])
    assert advanced.exit_code == 0 and json.loads(advanced.output)["now"] >= 7200
    verdict = runner.invoke(main, [*url, "verdict", "--rule", "ssm.setup.limit-refuses"])
    assert verdict.exit_code == 0, verdict.output
    bad = runner.invoke(main, [*url, "fail-next", "nope"])
    assert bad.exit_code == 1 and "no endpoint 'nope'" in bad.output


def test_reset_drops_sessions_faults_and_records(http: httpx.Client,
                                                 player_sim_server: LabClient) -> None:
    _setup(http, "family", "phone-1")
    player_sim_server.fail_next("setup", code=1007)
    player_sim_server.advance(5)
    player_sim_server.reset()
    assert player_sim_server.sessions() == []
    assert len(Trace.from_jsonl(player_sim_server.trace_jsonl())) == 0
    assert player_sim_server.har()["log"]["entries"] == []
    assert _setup(http, "family", "phone-1").status_code == 200, "the planned fault is gone"


def test_every_served_kaltura_call_is_a_fault_endpoint_and_back() -> None:
    from player_sim.backends._ott import ENDPOINTS as OTT
    from player_sim.backends._ovp import ENDPOINTS as OVP
    from player_sim.serve import FAULT_ENDPOINTS
    from player_sim.serve._lab import _OTT_CALLS, _OVP_CALLS

    assert set(_OTT_CALLS) == set(OTT) and set(_OVP_CALLS) == set(OVP)
    assert {f"ott:{e}" for e in OTT} | {f"ovp:{e}" for e in OVP} <= set(FAULT_ENDPOINTS)


def test_the_lab_core_follows_its_clock_without_sockets() -> None:
    now = [0.0]
    lab = Lab(load_lab("lab.yaml", LAB), clock=lambda: now[0], wall=lambda: 1e9 + now[0])
    token = mint_content_token("solo", "phone-1")
    first = lab.handle("POST", "/t/ssm/v1/sessions/setup", {"nv-authorizations": token}, b"")
    assert first.status == 200
    now[0] = 69.0
    assert lab.sessions() != []
    now[0] = 71.0
    assert lab.sessions() == [], "expired 70 s (2 periods + grace) after its setup"
    assert lab.world.trace.of_kind("ssm_session_expired")[0].t == pytest.approx(70.0)


def test_a_malformed_answer_hides_a_rotation_the_server_made(
        http: httpx.Client, player_sim_server: LabClient) -> None:
    token = _setup(http, "family", "phone-1").json()["sessionToken"]
    player_sim_server.fail_next("heartbeat", malformed=True, device="phone-1")
    beat = _ssm(http, "heartbeat", token)
    assert beat.status_code == 200
    with pytest.raises(ValueError):
        beat.json()
    [session] = player_sim_server.sessions()
    assert session["heartbeats"] == 1, "the server rotated the token the device can't read"
    assert _ssm(http, "heartbeat", token).json()["errorCode"] == 1006
    exchange = Trace.from_jsonl(player_sim_server.trace_jsonl()).of_kind("http_exchange")[1]
    assert exchange.data["malformed"] is True
    with pytest.raises(LabError, match="no code or http_status"):
        player_sim_server.fail_next("heartbeat", malformed=True, code=1006)


def test_latency_holds_answers_back_on_one_link(http: httpx.Client,
                                                player_sim_server: LabClient) -> None:
    import time

    player_sim_server.latency("ssm", 0.3, "1m")
    started = time.perf_counter()
    assert _setup(http, "family", "phone-1").status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    http.post("/ott/api_v3/service/session/action/get", json={"ks": "x"})
    assert time.perf_counter() - started < 0.3, "other links are not slowed"
    player_sim_server.advance("2m")
    started = time.perf_counter()
    _setup(http, "family", "tablet")
    assert time.perf_counter() - started < 0.3, "the window is over"


def test_a_call_refused_for_its_parameters_leaves_the_planned_fault_for_the_next(
        http: httpx.Client, player_sim_server: LabClient) -> None:
    player_sim_server.fail_next("ott:ottUser/anonymousLogin", code=2001, device="dev-1")
    bad = _ott(http, "ottUser/action/anonymousLogin", {"partnerId": "x", "udid": "dev-1"})
    assert bad["result"]["error"]["code"] == "MISSING_MANDATORY_PARAMETER"
    other = _ott(http, "ottUser/action/anonymousLogin", {"partnerId": 1, "udid": "dev-2"})
    assert "ks" in other["result"], "the fault is dev-1's, not the next caller's"
    forced = _ott(http, "ottUser/action/anonymousLogin", {"partnerId": 1, "udid": "dev-1"})
    assert forced["result"]["error"]["code"] == "2001"
