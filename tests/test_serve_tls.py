"""HTTPS for devices that refuse plain HTTP (issue 12, part 8): a local test CA, or the
user's own certificate, over a real loopback TLS socket."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

pytest.importorskip("trustme", reason="the serve extra is not installed")

import httpx
from click.testing import CliRunner

from player_sim.cli import main
from player_sim.scenario import load_lab
from player_sim.serve import Lab, LabServer, Tls, local_ca
from player_sim.traffic import mint_content_token

LAB = "world:\n  ssm: {max_sessions_per_account: 1, heartbeat_period: 30s}\n"


def _setup(client: httpx.Client) -> httpx.Response:
    return client.post("/lab/ssm/v1/sessions/setup",
                       headers={"nv-authorizations": mint_content_token("alice", "phone-1")})


def test_a_local_ca_serves_https_that_a_client_trusting_the_ca_accepts(tmp_path: Path) -> None:
    tls = local_ca(tmp_path / "ca", ["127.0.0.1"])
    assert tls.ca is not None and tls.ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert tls.keyfile.stat().st_mode & 0o077 == 0  # the key is the owner's only
    lab = Lab(load_lab("lab.yaml", LAB))
    with LabServer(lab, tls=tls) as server:
        assert server.url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(tls.ca))
        with httpx.Client(base_url=server.url, verify=trusted) as client:
            answer = _setup(client)
        assert answer.status_code == 200 and answer.json()["sessionToken"]
        with httpx.Client(base_url=server.url) as untrusting, \
                pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            _setup(untrusting)  # a device that does not trust the local CA refuses it
    assert [r.kind for r in lab.trace.of_kind("ssm_session_created")] == \
        ["ssm_session_created"]


def test_the_users_own_certificate_and_key_serve_https(tmp_path: Path) -> None:
    made = local_ca(tmp_path / "mine", ["127.0.0.1"])  # stands in for the user's files
    tls = Tls(made.certfile, made.keyfile)
    with LabServer(Lab(load_lab("lab.yaml", LAB)), tls=tls) as server:
        trusted = ssl.create_default_context(cafile=str(made.ca))
        with httpx.Client(base_url=server.url, verify=trusted) as client:
            assert _setup(client).status_code == 200


def test_serve_refuses_half_a_tls_configuration_and_missing_files(tmp_path: Path) -> None:
    lab_file = tmp_path / "lab.yaml"
    lab_file.write_text(LAB)
    runner = CliRunner()
    half = runner.invoke(main, ["serve", str(lab_file), "--certfile", str(lab_file)])
    assert half.exit_code == 2 and "both --certfile and --keyfile" in half.output
    missing = runner.invoke(main, ["serve", str(lab_file), "--certfile", "nope.pem",
                                   "--keyfile", "nope.key"])
    assert missing.exit_code == 2 and "--certfile nope.pem: no such file" in missing.output
