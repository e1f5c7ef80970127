"""The exported JSON Schema and the loader agree: on every bundled file, fragment and
broken file (both accept), and on the mistakes the issue measured (both refuse)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from player_sim.scenario import SCHEMA, ScenarioError, load_scenario, load_scenario_text

REPO = Path(__file__).resolve().parent.parent
FILES = sorted([*(REPO / "scenarios").rglob("*.yaml"),
                *(REPO / "player_sim" / "starter" / "scenarios").glob("*.yaml")])
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _errors(data: Any) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(data)]


def test_the_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(REPO)) for p in FILES])
def test_every_bundled_file_passes_the_schema_and_the_loader(path: Path) -> None:
    assert len(FILES) > 80
    assert _errors(yaml.safe_load(path.read_text(encoding="utf-8"))) == []
    if not path.name.startswith("_"):  # fragments load through the files that include them
        load_scenario(str(path))


HEAD = ("name: x\ndevices:\n  phone: {account: alice}\nsteps:\n"
        "  - play: {device: phone, stream: a}\n")


@pytest.mark.parametrize(("step", "loader_says"), [
    ("  - wait: 30s5m\n", "bad duration '30s5m'"),
    ("  - expect: {event: ssm_sesion_created, within: 5s}\n", "did you mean "
     "'ssm_session_created'"),
    ("  - expect: {signal: ssm_setup_error, payload: {ssm_cod: 1}, within: 5s}\n",
     "did you mean 'ssm_code'"),
    ("  - expect: {event: ssm_session_created, payload: {sesion: x}, within: 5s}\n",
     "did you mean 'session'"),
])
def test_the_schema_and_the_loader_both_refuse_the_measured_mistakes(step: str,
                                                                     loader_says: str) -> None:
    text = HEAD + step
    assert _errors(yaml.safe_load(text)) != []
    with pytest.raises(ScenarioError, match=loader_says):
        load_scenario_text(text, "x.yaml")


def test_a_bad_duration_reads_as_a_sentence_not_a_regex() -> None:
    assert SCHEMA["properties"]["world"]["properties"]["ssm"]["properties"][
        "heartbeat_period"]["errorMessage"].startswith("write a number followed by a unit")


def test_fragments_and_included_devices_pass_but_an_empty_scenario_does_not() -> None:
    assert _errors({"world": {"ssm": {"heartbeat_period": "30s"}}}) == []
    assert _errors({"name": "x", "include": "_world.yaml", "steps": []}) == []
    assert _errors({"name": "x", "steps": []}) != []  # no devices, no include
    assert _errors({"world": {}, "steps": []}) != []  # steps, but no name


def test_every_top_level_key_and_step_has_a_description() -> None:
    for name, sub in SCHEMA["properties"].items():
        assert sub.get("description"), name
    steps = SCHEMA["properties"]["steps"]["items"]["properties"]
    for name, sub in steps.items():
        assert sub.get("description"), f"step {name}"
    expect = steps["expect"]["properties"]
    for name in ("signal", "event", "within", "by", "at", "for", "absent_for",
                 "absent_until"):
        assert expect[name].get("description"), f"expect {name}"


def _undescribed(node: Any, path: str = "") -> list[str]:
    """Every property (at any depth, outside if/then) without a description."""
    missing = []
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            if isinstance(sub, dict) and not sub.get("description"):
                missing.append(f"{path}.{name}")
        for key, sub in node.items():
            if key not in ("if", "then"):
                missing.extend(_undescribed(sub, path if key == "properties" else
                                            f"{path}.{key}"))
    elif isinstance(node, list):
        for sub in node:
            missing.extend(_undescribed(sub, path))
    return missing


def test_every_key_at_any_depth_has_a_description() -> None:
    assert _undescribed(SCHEMA) == []
