"""The README's Rules and Trace format sections say what the code does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

from player_sim.rules import CATALOGUE, DOMAIN
from player_sim.trace import Trace, json_schema, kinds_table

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


def test_the_readme_kind_table_is_generated_from_the_declarations() -> None:
    section = README.split("## Trace format", 1)[1].split("\n## ", 1)[0]
    assert kinds_table() in section, "regenerate it with player_sim.trace.kinds_table()"


def test_the_readme_trace_example_lines_parse() -> None:
    example = _block("Trace format", "jsonl")
    trace = Trace.from_jsonl(example, source="README")
    assert [r.kind for r in trace] == ["action"]
    for line in example.splitlines()[1:]:
        jsonschema.validate(json.loads(line), json_schema())
