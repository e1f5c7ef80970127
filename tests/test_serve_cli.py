"""``player-sim serve`` as a process: SIGTERM / Ctrl-C write the outputs; the extra is optional."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from player_sim.trace import Trace
from player_sim.traffic import mint_content_token

LAB = "accounts:\n  family: {max_sessions: 1}\n"


def _start(tmp_path: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    (tmp_path / "lab.yaml").write_text(LAB)
    process = subprocess.Popen(
        [sys.executable, "-m", "player_sim", "serve", "lab.yaml", "--port", "0", *options],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.startswith("serving lab.yaml at http://127.0.0.1:"), first
    return process, first.split(" at ", 1)[1].strip()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_writes_trace_har_and_verdict(tmp_path: Path, stop: signal.Signals) -> None:
    process, url = _start(tmp_path)
    try:
        with httpx.Client(base_url=url) as http:
            for device in ("phone-1", "tablet"):
                http.post("/t/ssm/v1/sessions/setup",
                          headers={"nv-authorizations": mint_content_token("family", device)})
    finally:
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "wrote lab.trace.jsonl, lab.har, lab.verdict.json" in out
    trace = Trace.from_jsonl((tmp_path / "lab.trace.jsonl").read_text())
    assert [r.data["http_status"] for r in trace.of_kind("http_exchange")] == [200, 400]
    har = json.loads((tmp_path / "lab.har").read_text())
    assert len(har["log"]["entries"]) == 2
    verdict = json.loads((tmp_path / "lab.verdict.json").read_text())
    # Judged twice: the first setup fills the account, the second is refused at its limit.
    assert verdict["passed"] and verdict["observed"]["ssm.setup.limit-refuses"] == 2


def test_reports_like_check_writes_them_for_a_capture(tmp_path: Path) -> None:
    process, url = _start(tmp_path, "--json", "report.json", "--junit-xml", "report.xml")
    try:
        with httpx.Client(base_url=url) as http:
            for device in ("phone-1", "tablet"):
                http.post("/t/ssm/v1/sessions/setup",
                          headers={"nv-authorizations": mint_content_token("family", device)})
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    report = json.loads((tmp_path / "report.json").read_text())
    status = {line["rule"]: line["status"] for line in report["rules"]}
    assert status["ssm.setup.limit-refuses"] == "PASS"
    assert status["ssm.errors.setup-notified"] == "NOT JUDGED"  # the device's, not on the wire
    assert report["summary"]["FAIL"] == 0
    junit = (tmp_path / "report.xml").read_text()
    assert junit.count("<testcase ") == len(report["rules"]) and "<failure" not in junit


def test_player_sim_imports_and_explains_without_the_serve_extra(tmp_path: Path) -> None:
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(textwrap.dedent("""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"starlette", "hypercorn", "httpx"}:
                    raise ImportError(f"No module named {name!r}")
                return None
        sys.meta_path.insert(0, Block())
        """))
    path = os.environ.get("PYTHONPATH", "")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{path}"}
    code = ("import player_sim, player_sim.cli, player_sim.pytest_plugin, player_sim.traffic\n"
            "try:\n    import httpx\nexcept ImportError:\n    print('ok')\n")
    ran = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=False)
    assert (ran.returncode, ran.stdout.strip()) == (0, "ok"), ran.stderr
    (tmp_path / "lab.yaml").write_text(LAB)
    cli = subprocess.run([sys.executable, "-m", "player_sim", "serve", "lab.yaml"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert cli.returncode == 2
    assert "pip install 'player_sim[serve]'" in cli.stderr


def test_a_busy_port_is_a_usage_error_and_leaves_earlier_outputs(tmp_path: Path) -> None:
    process, url = _start(tmp_path)
    port = url.rsplit(":", 1)[1]
    try:
        (tmp_path / "other.trace.jsonl").write_text("earlier\n")
        busy = subprocess.run(
            [sys.executable, "-m", "player_sim", "serve", "lab.yaml", "--port", port,
             "--out", "other"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
            check=False)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert busy.returncode == 2
    assert f"can't serve on 127.0.0.1:{port}" in busy.stderr
    assert "Traceback" not in busy.stderr
    assert (tmp_path / "other.trace.jsonl").read_text() == "earlier\n"
    assert oct((tmp_path / "lab.har").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
