"""The README's scenario example is a valid scenario that passes; its claims hold."""

from __future__ import annotations

import re
from pathlib import Path

from player_sim.scenario import format_result, load_scenario_text, run_scenario

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_scenario_files_example_loads_and_passes() -> None:
    example = re.search(r"^```yaml\n(.*?)^```$", section("Scenario files"), re.M | re.S)
    assert example is not None
    scenario = load_scenario_text(example.group(1), str(ROOT / "scenarios" / "readme.yaml"))
    assert [d.name for d in scenario.devices] == ["phone", "tablet"]
    assert scenario.devices[1].pip and not scenario.devices[0].pip
    assert scenario.world.network.link_latency == {"license": 0.1}
    result = run_scenario(scenario)
    assert result.passed, format_result(result)


def test_every_documented_step_and_metric_exists() -> None:
    from player_sim.scenario._model import ACTIONS, METRICS
    text = section("Scenario files")
    for name in (*ACTIONS, "wait", "at", "fail", "outage", "latency", "expect"):
        assert f"`{name}" in text, name
    for metric in METRICS:
        assert f"`{metric}`" in text, metric
