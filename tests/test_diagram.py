"""``player-sim diagram``: Mermaid state diagrams drawn from the transition tables.

The drawings are checked against the tables' meaning: for every trigger, source
state and every truth assignment of the conditions, following the drawn edges
(through a choice, the one edge whose guard holds) reaches the state the machine
would, and nothing else. The README shows the same text (a test keeps them in sync).
Whether Mermaid renders them was checked by hand (mermaid 11 in headless Chromium).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from player_sim import AppState, PlaybackState, mermaid_diagram, mermaid_diagrams
from player_sim.cli import main
from player_sim.player import APP_TRANSITIONS, CONCERNS, PLAYBACK_TRANSITIONS

EDGE = re.compile(r"^ {8}(\w+) --> (\w+): (.+)$")
CHOICE = re.compile(r"^ {8}state (\w+) <<choice>>$")
README = Path(__file__).resolve().parent.parent / "README.md"
MACHINES = {"app": APP_TRANSITIONS, "playback": PLAYBACK_TRANSITIONS}


def run_diagram(*args: str) -> str:
    result = CliRunner().invoke(main, ["diagram", *args])
    assert result.exit_code == 0, result.output
    return result.output


def names(conditions: Any) -> tuple[str, ...]:
    listed = [conditions] if isinstance(conditions, str) else list(conditions or ())
    return tuple(c.strip("_").replace("_", " ") for c in listed)


def table_moves(table: list[dict[str, Any]], triggers: set[str] | None = None
                ) -> dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]]:
    """(trigger, source) -> rows in the order the machine tries them."""
    moves: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
    for row in table:
        if triggers is not None and row["trigger"] not in triggers:
            continue
        sources = row["source"] if isinstance(row["source"], list) else [row["source"]]
        for source in sources:
            dest = row["dest"] if row["dest"] is not None else source
            moves.setdefault((row["trigger"], source.value), []).append(
                (dest.value, names(row.get("conditions"))))
    return moves


def machine_goes(rows: list[tuple[str, tuple[str, ...]]], holds: dict[str, bool]) -> str | None:
    return next((dest for dest, conditions in rows if all(holds[c] for c in conditions)), None)


NEGATIONS = {"no session provider": "has session provider", "no ssm": "uses ssm",
             "no pending stream": "has pending stream"}


def guard_holds(guard: str, holds: dict[str, bool]) -> bool:
    for literal in guard.split(", "):
        compound = re.fullmatch(r"not \((.+)\)", literal)
        if compound:
            if all(holds[c] for c in compound.group(1).split(" and ")):
                return False
        elif literal in NEGATIONS:
            if holds[NEGATIONS[literal]]:
                return False
        elif not holds[literal]:
            return False
    return True


def parse(text: str, machine: str) -> tuple[dict[str, list[tuple[str, str]]], set[str]]:
    """Edges out of each node of ``machine`` (label, target) and the choice nodes."""
    edges: dict[str, list[tuple[str, str]]] = {}
    choices = set()
    for line in text.splitlines():
        if (match := CHOICE.match(line)) and match.group(1).startswith(machine + "_"):
            choices.add(match.group(1))
        if (match := EDGE.match(line)) and match.group(1).startswith(machine + "_"):
            source, dest, labels = match.groups()
            for label in labels.split(" / "):
                edges.setdefault(source, []).append((label, dest))
    return edges, choices


def diagram_goes(edges: dict[str, list[tuple[str, str]]], choices: set[str], machine: str,
                 source: str, trigger: str, holds: dict[str, bool]) -> str | None:
    node = next((d for label, d in edges.get(f"{machine}_{source}", []) if label == trigger),
                None)
    while node in choices:
        out = edges[node]
        guarded = [(label[1:-1], d) for label, d in out]
        assert all(label.startswith("[") and label.endswith("]") for label, _ in out), out
        taken = [d for g, d in guarded if g != "otherwise" and guard_holds(g, holds)]
        otherwise = [d for g, d in guarded if g == "otherwise"]
        assert len(otherwise) <= 1 and len(taken) <= 1, (node, holds)
        node = taken[0] if taken else (otherwise[0] if otherwise else None)
    return None if node is None else node.removeprefix(f"{machine}_")


def check_same_meaning(text: str, machine: str, table: list[dict[str, Any]],
                       triggers: set[str] | None = None) -> None:
    edges, choices = parse(text, machine)
    conditions = sorted({c for row in table for c in names(row.get("conditions"))})
    moves = table_moves(table, triggers)
    for (trigger, source), rows in moves.items():
        for values in itertools.product((False, True), repeat=len(conditions)):
            holds = dict(zip(conditions, values, strict=True))
            assert diagram_goes(edges, choices, machine, source, trigger, holds) == \
                machine_goes(rows, holds), (trigger, source, holds)
    # Nothing drawn that the tables do not have: every trigger edge leaves a state that
    # has that trigger, and every label out of a state is a bare trigger (no guard).
    for node, out in edges.items():
        if node in choices:
            continue
        for label, _ in out:
            assert (label, node.removeprefix(f"{machine}_")) in moves, (node, label)


def test_the_overview_means_what_the_tables_mean() -> None:
    text = run_diagram()
    assert text == mermaid_diagram() == run_diagram("overview")
    for machine, table in MACHINES.items():
        check_same_meaning(text, machine, table)


@pytest.mark.parametrize("name", list(CONCERNS))
def test_each_concern_means_what_its_rows_mean(name: str) -> None:
    text = run_diagram(name)
    assert text == mermaid_diagrams()[name]
    check_same_meaning(text, "playback", PLAYBACK_TRANSITIONS, set(CONCERNS[name]))
    check_same_meaning(run_diagram("app"), "app", APP_TRANSITIONS)


def test_every_playback_trigger_has_exactly_one_concern() -> None:
    triggers = [t for ts in CONCERNS.values() for t in ts]
    assert sorted(triggers) == sorted({row["trigger"] for row in PLAYBACK_TRANSITIONS})


def test_compact_no_fallback_reads_as_unconditional() -> None:
    text = mermaid_diagram()
    for machine, table in MACHINES.items():
        edges, choices = parse(text, machine)
        for node, out in edges.items():
            if node in choices:
                continue  # guarded, checked above
            # An edge from a state is one trigger that always goes there: no trigger of
            # this source has a second row, or the edge would hide a condition.
            for label, dest in out:
                rows = table_moves(table)[(label, node.removeprefix(f"{machine}_"))]
                if dest in choices:  # a decision: its guards are on the choice's edges
                    assert len(rows) > 1 or rows[0][1], (node, label)
                else:
                    assert len(rows) == 1 and rows[0][1] == (), (node, label)
        # One edge per pair of nodes, one choice per distinct decision.
        pairs = [(m.group(1), m.group(2)) for line in text.splitlines()
                 if (m := EDGE.match(line)) and m.group(1).startswith(machine)]
        assert len(pairs) == len(set(pairs))
    playback_edges = sum(1 for line in text.splitlines()
                         if (m := EDGE.match(line)) and m.group(1).startswith("playback"))
    rows = sum(len(r) for r in table_moves(PLAYBACK_TRANSITIONS).values())
    assert playback_edges < 0.75 * rows


def test_every_state_is_drawn_with_its_initial_state() -> None:
    text = run_diagram()
    for machine, states in (("app", AppState), ("playback", PlaybackState)):
        for state in states:
            assert f'state "{state.value}" as {machine}_{state.value}\n' in text
    assert "[*] --> app_foreground\n" in text
    assert "[*] --> playback_idle\n" in text


def test_every_line_is_mermaid_state_syntax() -> None:
    allowed = re.compile(
        r"^(stateDiagram-v2|    state \w+ \{|    \}|        \[\*\] --> \w+"
        r'|        state "[a-z_]+" as \w+|        state \w+ <<choice>>'
        r"|        \w+ --> \w+: [a-z_ ,\[\]/()]+)$")
    for text in mermaid_diagrams().values():
        bad = [line for line in text.splitlines() if not allowed.match(line)]
        assert bad == []


def test_the_readme_shows_every_diagram_as_generated() -> None:
    blocks = re.findall(r"```mermaid\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks == list(mermaid_diagrams().values()), (
        "README.md's mermaid blocks differ from 'player-sim diagram NAME' for "
        f"{list(mermaid_diagrams())}: paste the generated text")


def test_an_unknown_diagram_exits_2() -> None:
    result = CliRunner().invoke(main, ["diagram", "nope"])
    assert result.exit_code == 2 and "overview" in result.output
