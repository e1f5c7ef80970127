"""The wire dialects of WIRE.md, as pure functions: parsed and written on its examples."""

from __future__ import annotations

import base64
import json

import pytest

from player_sim._messages import SsmAnswer
from player_sim.traffic import (
    BAD_REQUEST,
    INVALID_AUTH_TOKEN,
    SSM_CALLS,
    ContentToken,
    Exchange,
    UnresolvedReference,
    WireFormatError,
    har_entry,
    har_log,
    license_body,
    mint_content_token,
    ovp_body,
    ovp_error,
    ovp_object,
    parse_kaltura_path,
    parse_kaltura_request,
    parse_license_request,
    parse_ssm_request,
    phoenix_body,
    phoenix_error,
    phoenix_object,
    read_content_token,
    read_phoenix_results,
    read_ssm_answer,
    resolve_references,
    ssm_answer_body,
    ssm_call,
)


def _epoch(t: float) -> int:
    return int(1_700_000_000 + t)


# --- SSM -----------------------------------------------------------------


@pytest.mark.parametrize(("method", "segment", "name"), [
    ("POST", "setup", "setup"), ("POST", "heartbeat", "heartbeat"),
    ("POST", "renewal-license-wv", "renewal"), ("POST", "teardown", "teardown"),
    ("PUT", "killDeviceSessions", "kill-device"), ("PUT", "killAccountSessions", "kill-account"),
])
def test_ssm_paths_of_wire_md(method: str, segment: str, name: str) -> None:
    call = ssm_call(method, segment)
    assert call is not None and call.name == name
    assert ssm_call("GET", segment) is None


def test_ssm_setup_answer_carries_both_heartbeat_spellings() -> None:
    status, body = ssm_answer_body(SSM_CALLS["setup"], SsmAnswer(200, None, "", "tok-1", 30.0))
    assert status == 200
    assert json.loads(body) == {"heartBeat": 30, "heartbeat": 30, "sessionToken": "tok-1"}
    assert read_ssm_answer(status, body) == SsmAnswer(200, None, "", "tok-1", 30.0)


def test_ssm_heartbeat_renewal_teardown_answers() -> None:
    answer = SsmAnswer(200, None, "", "tok-2", 30.0)
    assert json.loads(ssm_answer_body(SSM_CALLS["heartbeat"], answer)[1]) == {
        "sessionToken": "tok-2"}
    assert json.loads(ssm_answer_body(SSM_CALLS["renewal"], answer, license="TElD")[1]) == {
        "sessionToken": "tok-2", "license": "TElD"}
    assert ssm_answer_body(SSM_CALLS["teardown"], SsmAnswer(204)) == (204, b"")


def test_ssm_error_body_of_wire_md() -> None:
    answer = SsmAnswer(400, 1007, "USER_REACHED_MAXIMUM_SESSIONS_LIMIT")
    status, body = ssm_answer_body(SSM_CALLS["setup"], answer)
    assert (status, json.loads(body)) == (
        400, {"errorCode": 1007, "message": "USER_REACHED_MAXIMUM_SESSIONS_LIMIT"})
    assert read_ssm_answer(status, body) == answer


def test_an_srm_style_200_denial_is_an_error_for_the_reader() -> None:
    read = read_ssm_answer(200, b'{"errorCode": 1007, "message": "limit"}')
    assert not read.ok and read.ssm_code == 1007


def test_client_reads_heartbeat_or_heartBeat() -> None:
    assert read_ssm_answer(200, b'{"heartBeat": 20, "sessionToken": "t"}').heartbeat_period == 20
    assert read_ssm_answer(200, b'{"heartbeat": 15, "sessionToken": "t"}').heartbeat_period == 15


def test_ssm_request_needs_the_token_header() -> None:
    with pytest.raises(WireFormatError) as err:
        parse_ssm_request(SSM_CALLS["heartbeat"], {}, b"")
    assert (err.value.code, err.value.http_status) == (INVALID_AUTH_TOKEN, 401)
    assert "nv-authorizations" in err.value.message


@pytest.mark.parametrize("body", [b"{", b"[]", b"\xff\xfe", b'"text"'])
def test_ssm_malformed_body_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(WireFormatError) as err:
        parse_ssm_request(SSM_CALLS["setup"], {"nv-authorizations": "x"}, body)
    assert (err.value.code, err.value.http_status) == (BAD_REQUEST, 400)


def test_ssm_setup_body_may_be_empty_or_an_object() -> None:
    for body in (b"", b"{}", b'{"extra": 1}'):
        assert parse_ssm_request(SSM_CALLS["setup"], {"nv-authorizations": "jwt"},
                                 body).token == "jwt"


def test_ssm_kill_and_renewal_need_their_body_field() -> None:
    request = parse_ssm_request(SSM_CALLS["kill-device"], {"nv-authorizations": "op"},
                                b'{"device": "phone-1"}')
    assert request.argument == "phone-1"
    with pytest.raises(WireFormatError, match='"challenge"'):
        parse_ssm_request(SSM_CALLS["renewal"], {"nv-authorizations": "t"}, b"{}")


# --- content tokens -----------------------------------------------------------------


def test_content_token_round_trip_unsigned() -> None:
    token = mint_content_token("alice", "phone-1", max_sessions=2, content="channel-1")
    assert read_content_token(token) == ContentToken("alice", "phone-1", 2, "channel-1")
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["device"]["accountId"] == "alice"
    assert claims["contentRights"][0]["sessionControl"]["maxSessions"] == 2


def test_content_token_signed_needs_the_secret() -> None:
    token = mint_content_token("alice", "tv", secret="s3")
    assert read_content_token(token, secret="s3").device == "tv"
    with pytest.raises(WireFormatError, match="signed"):
        read_content_token(token, secret="other")
    with pytest.raises(WireFormatError, match="signed"):
        read_content_token(mint_content_token("alice", "tv"), secret="s3")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "e30.e30.", ])
def test_unreadable_content_tokens_are_1003(token: str) -> None:
    with pytest.raises(WireFormatError) as err:
        read_content_token(token)
    assert (err.value.code, err.value.http_status) == (INVALID_AUTH_TOKEN, 401)


# --- SSP license -----------------------------------------------------------------


def test_license_request_carries_content_and_session_tokens() -> None:
    request = parse_license_request({"nv-authorizations": "jwt,sess"},
                                    b'{"challenge": "AAEC"}')
    assert (request.content_token, request.session_token, request.challenge) == (
        "jwt", "sess", b"\x00\x01\x02")
    assert parse_license_request({"nv-authorizations": "jwt"},
                                 b'{"challenge": "AAEC"}').session_token is None


def test_license_answer_is_a_list_read_as_license_0() -> None:
    assert json.loads(license_body("TElD"))["license"][0] == "TElD"
    enforced = json.loads(license_body("TElD", session_token="s2"))
    assert enforced["sessionToken"] == "s2" and enforced["sessionDrmEnforced"] is True


@pytest.mark.parametrize("body", [b"{}", b'{"challenge": "***"}', b"nope"])
def test_license_request_without_a_base64_challenge_is_refused(body: bytes) -> None:
    with pytest.raises(WireFormatError) as err:
        parse_license_request({"nv-authorizations": "jwt,s"}, body)
    assert err.value.code == BAD_REQUEST


# --- Phoenix and OVP -----------------------------------------------------------------

_LOGIN_MULTIREQUEST = json.dumps({
    "clientTag": "playkit", "apiVersion": "5.0",
    "1": {"service": "ottUser", "action": "login", "partnerId": 3009,
          "username": "alice", "password": "secret", "udid": "dev-1"},
    "2": {"service": "session", "action": "get", "ks": "{1:result:loginSession:ks}"}}).encode()


def test_phoenix_paths() -> None:
    assert parse_kaltura_path("service/multirequest") == ("multirequest", "")
    assert parse_kaltura_path("service/ottUser/action/login") == ("ottUser", "login")
    assert parse_kaltura_path("service/ottUser") is None
    assert parse_kaltura_path("../etc/passwd") is None


def test_the_login_multirequest_of_wire_md() -> None:
    request = parse_kaltura_request("multirequest", "", _LOGIN_MULTIREQUEST)
    assert request.multi
    assert [c.name for c in request.calls] == ["ottUser/login", "session/get"]
    assert "clientTag" not in request.calls[0].params
    login = phoenix_object("ottUser/login", {"ks": "KS1", "refresh_token": "R1",
                                             "user_id": "1234"}, _epoch)
    assert login["loginSession"] == {"objectType": "KalturaLoginSession", "ks": "KS1",
                                     "refreshToken": "R1"}
    params = resolve_references(request.calls[1].params, [login])
    assert params["ks"] == "KS1"


def test_references_to_the_whole_result_and_failures() -> None:
    assert resolve_references({"ks": "{1:result}"}, ["KS9"]) == {"ks": "KS9"}
    with pytest.raises(UnresolvedReference, match="failed"):
        resolve_references({"ks": "{1:result:ks}"}, [{}], frozenset({1}))
    with pytest.raises(UnresolvedReference, match="no 'ks'"):
        resolve_references({"ks": "{1:result:ks}"}, [{"other": 1}])
    with pytest.raises(UnresolvedReference, match="before"):
        resolve_references({"ks": "{2:result}"}, ["KS"])
    assert resolve_references({"ks": "{not a ref}"}, []) == {"ks": "{not a ref}"}


@pytest.mark.parametrize("body", [b'{"1": 5}', b'{"2": {"service": "s", "action": "a"}}',
                                  b'{"1": {"service": "s"}}', b"{}"])
def test_malformed_multirequests_are_refused(body: bytes) -> None:
    with pytest.raises(WireFormatError):
        parse_kaltura_request("multirequest", "", body)


def test_phoenix_errors_are_string_codes_in_an_http_200_body() -> None:
    single = json.loads(phoenix_body([phoenix_error(500016, "KS expired")], multi=False))
    assert single["result"]["error"] == {"objectType": "KalturaAPIException",
                                         "code": "500016", "message": "KS expired"}
    multi = json.loads(phoenix_body([{"ks": "x"}, phoenix_error(1011, "no")], multi=True))
    assert read_phoenix_results(multi)[1]["error"]["code"] == "1011"


def test_phoenix_session_get_expiry_is_unix_time() -> None:
    session = phoenix_object("session/get", {"ks": "K", "expiry": 86400.0, "user_id": "0",
                                             "partner_id": 3009, "udid": "d"}, _epoch)
    assert session == {"objectType": "KalturaSession", "ks": "K", "expiry": 1_700_086_400,
                       "userId": "0", "partnerId": 3009, "udid": "d"}


def test_ovp_multirequest_answer_is_a_bare_array() -> None:
    ks = ovp_object("user/loginByLoginId", {"ks": "K"}, _epoch)
    info = ovp_object("session/get", {"ks": "K", "partner_id": 2091671, "user_id": "a@b.c",
                                      "expiry": 86400.0}, _epoch)
    body = json.loads(ovp_body([ks, info], multi=True))
    assert body == ["K", {"objectType": "KalturaSessionInfo", "ks": "K",
                          "partnerId": 2091671, "userId": "a@b.c", "expiry": 1_700_086_400}]


def test_ovp_widget_session_end_and_error_of_wire_md() -> None:
    widget = ovp_object("session/startWidgetSession", {"ks": "K", "partner_id": 2091671},
                        _epoch)
    assert widget == {"objectType": "KalturaStartWidgetSessionResponse",
                      "partnerId": 2091671, "ks": "K", "userId": 0}
    assert ovp_body([ovp_object("session/end", {}, _epoch)], multi=False) == b"null"
    assert ovp_error("INVALID_KS", "bad") == {"objectType": "KalturaAPIException",
                                              "code": "INVALID_KS", "message": "bad",
                                              "args": {}}


# --- HAR -----------------------------------------------------------------


def test_har_entry_has_the_fields_capture_tools_write() -> None:
    entry = har_entry(Exchange(1_700_000_000.25, 0.0125, "POST", "http://h/t/ssm/v1/sessions/setup",
                               [("content-type", "application/json")], "{}", 200,
                               [("content-type", "application/json")], '{"sessionToken":"t"}'))
    assert entry["startedDateTime"] == "2023-11-14T22:13:20.250Z"
    assert entry["time"] == 12.5
    assert entry["request"]["postData"]["text"] == "{}"
    assert entry["response"]["content"]["text"] == '{"sessionToken":"t"}'
    document = har_log([entry], version="1")
    assert document["log"]["version"] == "1.2" and document["log"]["entries"] == [entry]
