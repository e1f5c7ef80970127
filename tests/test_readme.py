"""The README and CI cannot drift: same two commands; the README's example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from player_sim import Trace

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: The lines .ci/run may have besides the README's commands: it only prepares a fresh venv.
CI_PREAMBLE = ("set -euo pipefail", 'cd "$(dirname "$0")/.."',
               "bash .ci/install-browser", "bash .ci/install-proxy", "rm -rf .venv")


def fenced(language: str) -> list[str]:
    """The bodies of the README's fenced blocks in ``language``, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```$", README, re.M | re.S)


def test_ci_runs_exactly_the_readmes_two_commands() -> None:
    install, test = (block.strip() for block in fenced("bash")[:2])
    assert "\n" not in install and "\n" not in test, "each README block is one command"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in ci if line.strip() and not line.startswith("#")]
    assert [line for line in commands if line not in CI_PREAMBLE] == [install, test]
    # Preparation first, the two commands last, in the README's order.
    assert commands[-2:] == [install, test]


def test_readme_starts_with_the_two_commands() -> None:
    first_blocks = [m.start() for m in re.finditer(r"^```", README, re.M)]
    assert README.index("```bash") == first_blocks[0]
    assert "python -m pytest" in fenced("bash")[1]
    assert "player-sim run" in fenced("bash")[0]


def test_the_simulated_world_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    section = README.split("## The simulated world", 1)[1]
    example = re.search(r"^```python\n(.*?)^```$", section, re.M | re.S)
    assert example is not None, "the README's 'The simulated world' section has no example"
    code = example.group(1)
    assert "MockClock" in code
    exec(compile(code, "README.md:The simulated world", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    trace = Trace.from_jsonl(printed, source="README example output")
    assert printed == trace.to_jsonl() + "\n"  # print() adds one newline
    # What the comments promise: expiry in background, a failed heartbeat, a zap back.
    assert [r.kind for r in trace.of_kind("ssm_session_expired")] == ["ssm_session_expired"]
    [error] = trace.of_kind("ssm_heartbeat_error")
    assert error.data["ssm_code"] == 1006
    assert [r.data["stream"] for r in trace.of_kind("playback_started")] == [
        "channel-1", "channel-1"]
