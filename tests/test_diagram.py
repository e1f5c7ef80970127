"""``player-sim diagram``: a Mermaid state diagram drawn from the transition tables.

Whether Mermaid renders it was checked by hand once (mermaid 11 in headless
Chromium); these tests pin what the renderer is given.
"""

from __future__ import annotations

import re
from typing import Any

from click.testing import CliRunner

from player_sim import AppState, PlaybackState, mermaid_diagram
from player_sim.cli import main
from player_sim.player import APP_TRANSITIONS, PLAYBACK_TRANSITIONS

EDGE = re.compile(r"^ {8}(app|playback)_(\w+) --> (?:app|playback)_(\w+): (.+)$")


def run_diagram() -> str:
    result = CliRunner().invoke(main, ["diagram"])
    assert result.exit_code == 0, result.output
    return result.output


def table_edges(machine: str, table: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    edges = set()
    for row in table:
        sources = row["source"] if isinstance(row["source"], list) else [row["source"]]
        for source in sources:
            dest = row["dest"] if row["dest"] is not None else source
            edges.add((machine, source.value, dest.value, row["trigger"]))
    return edges


def diagram_edges(text: str) -> set[tuple[str, str, str, str]]:
    edges = set()
    for line in text.splitlines():
        match = EDGE.match(line)
        if match:
            machine, source, dest, labels = match.groups()
            for label in labels.split(" / "):
                edges.add((machine, source, dest, label.split(" [")[0]))
    return edges


def test_cli_prints_a_state_diagram() -> None:
    text = run_diagram()
    assert text.startswith("stateDiagram-v2\n")
    assert text == mermaid_diagram()
    assert run_diagram() == text  # deterministic


def test_every_state_of_both_machines_is_drawn() -> None:
    text = run_diagram()
    for machine, states in (("app", AppState), ("playback", PlaybackState)):
        for state in states:
            assert f'state "{state.value}" as {machine}_{state.value}\n' in text
    assert "[*] --> app_foreground\n" in text
    assert "[*] --> playback_idle\n" in text


def test_every_row_of_the_tables_is_an_edge_and_nothing_else() -> None:
    text = run_diagram()
    expected = table_edges("app", APP_TRANSITIONS) | table_edges("playback", PLAYBACK_TRANSITIONS)
    assert diagram_edges(text) == expected
    triggers = {row["trigger"] for row in [*APP_TRANSITIONS, *PLAYBACK_TRANSITIONS]}
    assert {edge[3] for edge in diagram_edges(text)} == triggers


def test_conditions_are_shown_on_their_edges() -> None:
    text = run_diagram()
    assert ("playback_playing --> playback_stopping: zap [teardown blocks] / "
            "stop [teardown blocks]\n") in text
    assert "app_foreground --> app_pip: enter_background [pip takes over] / enter_pip\n" in text


def test_every_line_is_mermaid_state_syntax() -> None:
    allowed = re.compile(
        r"^(stateDiagram-v2|    state \w+ \{|    \}|        \[\*\] --> \w+"
        r'|        state "[a-z_]+" as \w+|        \w+ --> \w+: [a-z_ ,\[\]/]+)$')
    bad = [line for line in run_diagram().splitlines() if not allowed.match(line)]
    assert bad == []
