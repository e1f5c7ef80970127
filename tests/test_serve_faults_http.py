"""Lost answers and connection resets over real loopback HTTP (issue 12, part 4): the
backend acts on a lost call but the device never reads an answer; a reset call never
reaches the backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("hypercorn", reason="the serve extra is not installed")

import httpx

from player_sim._errors import ConfigError
from player_sim.scenario import load_lab
from player_sim.serve import Lab, LabServer
from player_sim.traffic import mint_content_token

LAB = "world:\n  ssm: {max_sessions_per_account: 2, heartbeat_period: 30s}\n"
SETUP = "/lab/ssm/v1/sessions/setup"
CONTENT = {"nv-authorizations": mint_content_token("alice", "phone-1", content="ch-1")}


@pytest.fixture
def served() -> Iterator[tuple[Lab, httpx.Client]]:
    lab = Lab(load_lab("lab.yaml", LAB))
    with LabServer(lab) as server, httpx.Client(base_url=server.url, timeout=1.0) as client:
        yield lab, client


def test_a_lost_setup_answer_creates_the_session_but_never_answers(
        served: tuple[Lab, httpx.Client]) -> None:
    lab, client = served
    lab.fail_next("setup", lost=True)
    with pytest.raises(httpx.ReadTimeout):  # the device's own timeout runs out
        client.post(SETUP, headers=CONTENT)
    assert [s["session"] for s in lab.sessions()] == ["phone-1/1"]  # an orphan session
    [exchange] = lab.trace.of_kind("http_exchange")
    assert exchange.data["lost"] is True and exchange.data["http_status"] == 200
    assert lab.exchanges[-1].status == 0  # the HAR shows no answer
    assert client.post(SETUP, headers=CONTENT).status_code == 200  # the next one is answered


def test_a_reset_setup_never_reaches_the_backend(served: tuple[Lab, httpx.Client]) -> None:
    lab, client = served
    lab.fail_next("setup", reset=True, device="phone-1")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post(SETUP, headers=CONTENT)
    assert lab.sessions() == []
    [exchange] = lab.trace.of_kind("http_exchange")
    assert (exchange.data["reset"], exchange.data["http_status"]) == (True, 0)
    assert lab.trace.of_kind("ssm_session_created") == []
    assert client.post(SETUP, headers=CONTENT).status_code == 200


def test_a_lost_heartbeat_rotates_the_token_the_device_never_reads(
        served: tuple[Lab, httpx.Client]) -> None:
    lab, client = served
    token = client.post(SETUP, headers=CONTENT).json()["sessionToken"]
    lab.fail_next("heartbeat", lost=True)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/lab/ssm/v1/sessions/heartbeat", headers={"nv-authorizations": token})
    stale = client.post("/lab/ssm/v1/sessions/heartbeat", headers={"nv-authorizations": token})
    assert stale.json()["errorCode"] == 1006  # rotated out by the heartbeat it never read


def test_only_one_way_to_break_an_answer_at_a_time() -> None:
    lab = Lab(load_lab("lab.yaml", LAB))
    with pytest.raises(ConfigError, match="one of malformed, lost and reset"):
        lab.fail_next("setup", lost=True, reset=True)
    with pytest.raises(ConfigError, match="no code or http_status with lost"):
        lab.fail_next("setup", lost=True, code=1006)
