"""End to end: a wire device -> mitmdump with the player_sim addon and a fault file -> the
served lab. The faults happen, the device reacts, the live verdict and the HAR check agree.

mitmproxy 11 pins h11/h2 versions that conflict with the serve extra's Hypercorn and
httpx, so it lives in its own environment: set PLAYER_SIM_MITMDUMP to its mitmdump
(or ``.venv-proxy/bin/mitmdump``: ``pip install -e '.[proxy]'`` there).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from player_sim.capture import judge_capture, read_capture
from player_sim.capture._faults import FaultFileError, error_answer, load_fault_file
from player_sim.scenario import load_lab
from player_sim.serve import Lab, LabServer
from player_sim.traffic import mint_content_token

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "player_sim" / "capture" / "mitm_addon.py"
#: mitmproxy's own export (savehar) of the end-to-end session below, kept in the corpus.
CAPTURED = ROOT / "tests" / "data" / "har" / "proxy-faults.mitmproxy.har"


def _mitmdump() -> str | None:
    named = os.environ.get("PLAYER_SIM_MITMDUMP")
    if named:
        return named
    local = ROOT / ".venv-proxy" / "bin" / "mitmdump"
    return str(local) if local.exists() else shutil.which("mitmdump")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


FAULTS = """
faults:
  - {endpoint: setup, nth: 1, heartbeat_period: 2}
  - {endpoint: heartbeat, nth: 2, code: 1006, http_status: 401, message: INVALID_TOKEN}
  - {endpoint: license, nth: 2, delay: 600ms}
  - {endpoint: "ott:ottUser/anonymousLogin", code: 500016, message: KS expired}
"""
LAB = "world:\n  ssm: {heartbeat_period: 30s, grace_period: 10s}\n"


@pytest.mark.skipif(_mitmdump() is None, reason="mitmdump not found: set PLAYER_SIM_MITMDUMP "
                    "(mitmproxy's pins conflict with the serve extra: see the README)")
def test_device_through_the_proxy_with_faults(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text(FAULTS)
    port = _free_port()
    with LabServer(Lab(load_lab("lab.yaml", LAB))) as server:
        proc = subprocess.Popen(
            [str(_mitmdump()), "--listen-host", "127.0.0.1", "--listen-port", str(port),
             "-q", "-s", str(ADDON), "--set", f"player_sim_faults={faults}",
             "--set", f"player_sim_out={tmp_path / 'live'}",
             "--set", f"hardump={tmp_path / 'mitmproxy.har'}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            with httpx.Client(base_url=server.url, proxy=f"http://127.0.0.1:{port}",
                              timeout=20) as http:
                def ssm(call: str, token: str) -> httpx.Response:
                    return http.post(f"/t/ssm/v1/sessions/{call}",
                                     headers={"nv-authorizations": token}, content=b"{}")

                content = mint_content_token("acct", "phone-1", content="channel-1")

                def play() -> tuple[str, float]:
                    setup = ssm("setup", content).json()
                    http.post("/t/wvls/contentlicenseservice/v1/licenses",
                              headers={"nv-authorizations":
                                       f"{content},{setup['sessionToken']}"},
                              json={"challenge": "Q0g="})
                    return setup["sessionToken"], float(setup["heartbeat"])

                token, period = play()
                assert period == 2, "the fault file rewrote the heartbeat period"
                time.sleep(period)
                token = ssm("heartbeat", token).json()["sessionToken"]
                time.sleep(period)
                refused = ssm("heartbeat", token)
                assert (refused.status_code, refused.json()["errorCode"]) == (401, 1006)
                token, period = play()              # the reaction: zap back to the stream
                token = ssm("heartbeat", token).json()["sessionToken"]  # too early: on purpose
                ssm("teardown", token)
                login = http.post("/ott/api_v3/service/ottUser/action/anonymousLogin",
                                  json={"partnerId": 3009})
                assert login.status_code == 200  # Phoenix: errors in an HTTP 200 body
                assert login.json()["result"]["error"]["code"] == "500016"
        finally:
            proc.terminate()
            output = proc.communicate(timeout=30)[0].decode()
    live = {line.split()[2] for line in output.splitlines() if "player_sim: FAIL" in line}
    assert live == {"ssm.heartbeat.first-after-period"}, output
    report = judge_capture(read_capture(tmp_path / "live.har"))
    assert {x.rule for x in report.lines if x.status == "FAIL"} == live
    # mitmproxy's own HAR export of the same traffic (its savehar addon) agrees too.
    exported = judge_capture(read_capture(tmp_path / "mitmproxy.har"))
    assert {x.rule for x in exported.lines if x.status == "FAIL"} == live
    assert exported.verdict.observed == report.verdict.observed
    if os.environ.get("PLAYER_SIM_WRITE_CORPUS"):  # refresh the corpus' mitmproxy capture
        shutil.copy(tmp_path / "mitmproxy.har", CAPTURED)
    har = json.loads((tmp_path / "live.har").read_text())
    statuses = [e["response"]["status"] for e in har["log"]["entries"]]
    assert statuses == [200, 200, 200, 401, 200, 200, 200, 204, 200]
    licenses = [e for e in har["log"]["entries"] if "licenses" in e["request"]["url"]]
    assert licenses[1]["time"] >= 600 > licenses[0]["time"], "the second license was held"
    assert (tmp_path / "live.trace.jsonl").read_text().startswith('{"format"')


def test_fault_file_decisions_and_answers_in_each_backend_s_shape() -> None:
    plan = load_fault_file(FAULTS + "outages:\n  - {link: license, start: 10s, seconds: 5}\n")
    ssm = "/t/ssm/v1/sessions/heartbeat"
    first, second, third = (plan.decide("POST", ssm, b"", 0.0) for _ in range(3))
    assert first is not None and first.fault is None and error_answer(first) is None
    assert second is not None and second.fault is not None
    assert error_answer(second) == (401, b'{"errorCode":1006,"message":"INVALID_TOKEN"}')
    assert third is not None and third.fault is None
    multi = json.dumps({"1": {"service": "ottUser", "action": "anonymousLogin"},
                        "2": {"service": "session", "action": "get"}}).encode()
    decision = plan.decide("POST", "/ott/api_v3/service/multirequest", multi, 0.0)
    assert decision is not None and decision.endpoints == ("ott:ottUser/anonymousLogin",
                                                           "ott:session/get")
    answer = error_answer(decision)
    assert answer is not None and answer[0] == 200
    assert [r["error"]["code"] for r in json.loads(answer[1])["result"]] == ["500016"] * 2
    lic = "/t/wvls/contentlicenseservice/v1/licenses"
    down = plan.decide("POST", lic, b"{}", 12.0)
    assert down is not None and down.outage and error_answer(down) == (
        503, b'{"errorCode":4001,"message":"license server not available"}')
    after = plan.decide("POST", lic, b"{}", 15.0)
    assert after is not None and not after.outage
    assert plan.decide("GET", "/cdn/seg.ts", b"", 0.0) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("faults: [{endpoint: heartbeet}]", "faults[0]: endpoint must be one of setup"),
    ("faults: [{endpoint: setup, nth: 0}]", "faults[0]: nth must be a whole number from 1"),
    ("faults: [{endpoint: setup, delay: soon}]", "faults[0]: delay: bad duration 'soon'"),
    ("faults: [{endpoint: setup, colour: red}]", "faults[0]: no key 'colour'"),
    ("outages: [{link: cdn}]", "outages[0]: an outage is {link: ssm|license|ott|ovp"),
    ("faults: [", "f.yaml:1:"),
])
def test_bad_fault_files_name_the_entry(text: str, expected: str) -> None:
    with pytest.raises(FaultFileError) as caught:
        load_fault_file(text, "f.yaml")
    assert expected in str(caught.value)


def test_the_kept_mitmproxy_capture_shows_the_faults_and_the_broken_rule() -> None:
    """Judged without mitmproxy: the capture it exported of the end-to-end session."""
    capture = read_capture(CAPTURED)
    report = judge_capture(capture)
    assert {x.rule for x in report.lines if x.status == "FAIL"} == {
        "ssm.heartbeat.first-after-period"}
    refused = [r for r in capture.trace if r.data.get("code") == 1006]
    assert len(refused) == 1 and refused[0].data["call"] == "heartbeat"
    setups = [r for r in capture.trace if r.data.get("call") == "setup"]
    assert [s.data["heartbeat_period"] for s in setups] == [2, 30]  # the first rewritten
    assert refused[0].t < setups[1].t, "the device set up again after the 1006"
