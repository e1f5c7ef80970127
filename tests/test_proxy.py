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
from player_sim.scenario import load_lab
from player_sim.serve import Lab, LabServer
from player_sim.traffic import mint_content_token

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "player_sim" / "capture" / "mitm_addon.py"


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
             "--set", f"player_sim_out={tmp_path / 'live'}"],
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
        finally:
            proc.terminate()
            output = proc.communicate(timeout=30)[0].decode()
    live = {line.split()[2] for line in output.splitlines() if "player_sim: FAIL" in line}
    assert live == {"ssm.heartbeat.first-after-period"}, output
    report = judge_capture(read_capture(tmp_path / "live.har"))
    assert {x.rule for x in report.lines if x.status == "FAIL"} == live
    har = json.loads((tmp_path / "live.har").read_text())
    statuses = [e["response"]["status"] for e in har["log"]["entries"]]
    assert statuses == [200, 200, 200, 401, 200, 200, 200, 204]
    assert (tmp_path / "live.trace.jsonl").read_text().startswith('{"format"')
