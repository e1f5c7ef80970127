"""The README's "Session providers" example runs and does what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from player_sim import Trace, TraceRecord

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_the_session_providers_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    section = README.split("## Session providers", 1)[1]
    example = re.search(r"^```python\n(.*?)^```$", section, re.M | re.S)
    assert example is not None, "the README's 'Session providers' section has no example"
    exec(compile(example.group(1), "README.md:Session providers", "exec"),
         {"__name__": "readme"})
    lines = capsys.readouterr().out.splitlines()
    trace = Trace(TraceRecord.from_json(line, "README example output", number)
                  for number, line in enumerate(lines, start=1))
    issued = trace.of_kind("ks_issued")
    assert [r.data["via"] for r in issued] == ["ottUser/login", "ottUser/refreshSession"]
    [refreshed] = trace.of_kind("ks_refreshed")
    assert refreshed.data["time_left"] <= 0.12 * 86400
    assert {r.data["ks"] for r in trace.of_kind("ks_revoked")} == {
        r.data["ks"] for r in issued}
    used = trace.of_kind("ks_used")
    assert all(r.data["valid"] for r in used)
    assert used[-1].data["endpoint"] == "ottUser/logout"  # the last zap made no call

