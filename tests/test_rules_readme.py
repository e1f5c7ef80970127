"""The README's Rules and Trace format sections say what the code does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from player_sim import DeviceConfig, World
from player_sim.rules import CATALOGUE, DOMAIN
from player_sim.trace import Trace, TraceFormatError

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match is not None, f"README has no '## {title}' section"
    return match.group(1)


def _block(title: str, language: str) -> str:
    match = re.search(rf"^```{language}\n(.*?)^```$", _section(title), re.M | re.S)
    assert match is not None
    return match.group(1)


def test_rules_example_runs() -> None:
    exec(compile(_block("Rules", "python"), "README.md", "exec"), {})


def test_rules_section_counts_match_the_catalogue() -> None:
    text = _section("Rules")
    seeds = sum(1 for r in CATALOGUE.values() if r.source != DOMAIN)
    domain = len(CATALOGUE) - seeds
    assert f"{len(CATALOGUE)} rules, {seeds} quoted" in " ".join(text.split())
    assert f"and {domain} DOMAIN.md facts" in " ".join(text.split())


SCHEMA = json.loads(_block("Trace format", "json"))


def test_real_trace_lines_satisfy_the_schema() -> None:
    world = World()
    phone = world.add_device(DeviceConfig(name="phone", account="alice",
                                          ssm_server_url="https://ssm.example/"))
    phone.play("channel-1")
    world.run_for(100)
    phone.stop()
    world.run_for(1)
    lines = world.trace.to_jsonl().splitlines()
    assert len(lines) > 10
    for line in lines:
        jsonschema.validate(json.loads(line), SCHEMA)


@pytest.mark.parametrize("line", [
    '{"kind": "action"}',
    '{"t": "soon", "kind": "action"}',
    '{"t": 1, "kind": 3}',
    '{"t": 1, "kind": "action", "device": 7}',
    '{"t": 1, "kind": "action", "data": []}',
    '{"t": 1, "kind": "action", "extra": 1}',
])
def test_schema_and_parser_reject_the_same_lines(line: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(line), SCHEMA)
    with pytest.raises(TraceFormatError, match=r"^x\.jsonl:1: "):
        Trace.from_jsonl(line, source="x.jsonl")


def test_minimal_line_is_accepted_by_both() -> None:
    line = '{"t": 0, "kind": "note"}'
    jsonschema.validate(json.loads(line), SCHEMA)
    assert Trace.from_jsonl(line)[0].kind == "note"
