"""The lifecycle as Mermaid state diagrams, drawn from the transition tables.

A trigger whose destination depends on conditions (``play``: the first stage of
the pipeline is ``obtaining_ks`` with a session provider, else ``ssm_setup`` with
SSM, else ``license_request``) is drawn as one edge into a choice (a diamond),
whose edges carry the whole guard: the row's own conditions and the negation of
the conditions tried before it; the last, unconditional row reads
``[otherwise]``, never as an unconditional edge. The same list of alternatives is
one shared choice, and a list that ends with another choice's alternatives
continues into that choice, so the overview has one diamond per decision, not
one edge per row. Edges between the same two nodes are merged (``play / zap``).

:func:`mermaid_diagram` draws the overview (both machines);
:func:`mermaid_diagrams` adds one diagram per concern (:data:`CONCERNS`): the
same drawing restricted to that concern's triggers.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ._states import APP_TRANSITIONS, PLAYBACK_TRANSITIONS, AppState, PlaybackState

__all__ = ["CONCERNS", "mermaid_diagram", "mermaid_diagrams"]

#: The per-concern diagrams: a title and the playback triggers each shows (the app
#: machine is its own concern). Every playback trigger belongs to exactly one.
CONCERNS: Final[Mapping[str, tuple[str, ...]]] = {
    "start": ("play", "zap"),
    "pipeline": ("ks_obtained", "ks_failed", "media_loaded", "media_load_failed",
                 "ssm_setup_succeeded", "ssm_setup_failed", "license_granted",
                 "license_denied", "suspend", "resume"),
    "stop": ("stop", "teardown_done", "release_item"),
}

_Alternative = tuple[str, tuple[str, ...]]  # (destination state, condition names)


def _words(condition: str) -> str:
    return condition.strip("_").replace("_", " ")


def _negate(condition: str) -> str:
    """``has session provider`` -> ``no session provider``, ``uses ssm`` -> ``no ssm``,
    ``teardown blocks`` -> ``teardown does not block``; else ``not ...``."""
    words = condition.split()
    if words[0] in ("has", "uses"):
        return " ".join(["no", *words[1:]])
    if len(words) > 1 and words[1].endswith("s") and not words[1].endswith("ss"):
        return " ".join([words[0], "does not", words[1][:-1], *words[2:]])
    return f"not {condition}"


def _alternatives(table: Iterable[dict[str, Any]], triggers: Sequence[str] | None
                  ) -> dict[tuple[str, str], list[_Alternative]]:
    """Per (trigger, source), the rows in the order the machine tries them."""
    found: dict[tuple[str, str], list[_Alternative]] = {}
    for row in table:
        if triggers is not None and row["trigger"] not in triggers:
            continue
        sources = row["source"] if isinstance(row["source"], list) else [row["source"]]
        conditions = row.get("conditions") or ()
        names = tuple(_words(c) for c in ([conditions] if isinstance(conditions, str)
                                          else conditions))
        for source in sources:
            dest = row["dest"] if row["dest"] is not None else source
            alternatives = found.setdefault((row["trigger"], source.value), [])
            if (dest.value, names) not in alternatives:
                alternatives.append((dest.value, names))
    return found


def _guard(alternatives: Sequence[_Alternative], index: int) -> str | None:
    """The whole condition under which alternative ``index`` fires (None: it never can)."""
    own = alternatives[index][1]
    if not own:
        return "otherwise"
    parts = list(own)
    for _, earlier in alternatives[:index]:
        rest = [c for c in earlier if c not in own]
        if not rest:
            return None  # an earlier row with a subset of these conditions always wins
        parts.append(_negate(rest[0]) if len(rest) == 1 else f"not ({' and '.join(rest)})")
    return ", ".join(parts)


class _Graph:
    """Nodes and merged edges of one machine's diagram, in order of first mention."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.states: list[str] = []
        self.choices: dict[tuple[_Alternative, ...], str] = {}
        self.edges: dict[tuple[str, str], list[str]] = {}

    def state(self, name: str) -> str:
        if name not in self.states:
            self.states.append(name)
        return f"{self.prefix}_{name}"

    def edge(self, source: str, dest: str, label: str) -> None:
        labels = self.edges.setdefault((source, dest), [])
        if label not in labels:
            labels.append(label)

    def choice(self, alternatives: tuple[_Alternative, ...],
               known: Sequence[tuple[_Alternative, ...]]) -> str:
        """The choice node deciding between ``alternatives`` (drawn once)."""
        node = self.choices.get(alternatives)
        if node is not None:
            return node
        node = self.choices[alternatives] = f"{self.prefix}_choice{len(self.choices) + 1}"
        # Continue into another decision when the tail of this one is that decision.
        tail = next((k for k in range(1, len(alternatives) - 1)
                     if alternatives[k:] in known), None)
        for index in range(len(alternatives) if tail is None else tail):
            guard = _guard(alternatives, index)
            if guard is not None:
                self.edge(node, self.state(alternatives[index][0]), f"[{guard}]")
        if tail is not None:
            self.edge(node, self.choice(alternatives[tail:], known), "[otherwise]")
        return node


def _block(title: str, states: type[enum.Enum], initial: enum.Enum,
           table: Iterable[dict[str, Any]], triggers: Sequence[str] | None) -> list[str]:
    graph = _Graph(title)
    found = _alternatives(table, triggers)
    decisions = [tuple(a) for a in found.values() if len(a) > 1 or a[0][1]]
    if triggers is None:
        graph.state(initial.value)
    for (trigger, source), alternatives in found.items():
        node = graph.state(source)
        if len(alternatives) == 1 and not alternatives[0][1]:
            graph.edge(node, graph.state(alternatives[0][0]), trigger)
        else:
            graph.edge(node, graph.choice(tuple(alternatives), decisions), trigger)
    lines = [f"    state {title} {{"]
    if initial.value in graph.states:
        lines.append(f"        [*] --> {title}_{initial.value}")
    for member in states:
        if member.value in graph.states:
            lines.append(f'        state "{member.value}" as {title}_{member.value}')
    for node in graph.choices.values():
        lines.append(f"        state {node} <<choice>>")
    for (source, dest), labels in graph.edges.items():
        lines.append(f"        {source} --> {dest}: {' / '.join(labels)}")
    lines.append("    }")
    return lines


def mermaid_diagram() -> str:
    """The overview: a ``stateDiagram-v2`` with one composite state per lifecycle machine."""
    lines = ["stateDiagram-v2"]
    lines += _block("app", AppState, AppState.FOREGROUND, APP_TRANSITIONS, None)
    lines += _block("playback", PlaybackState, PlaybackState.IDLE, PLAYBACK_TRANSITIONS, None)
    return "\n".join(lines) + "\n"


def mermaid_diagrams() -> dict[str, str]:
    """``overview``, ``app`` and one diagram per :data:`CONCERNS` entry, by name."""
    diagrams = {"overview": mermaid_diagram(),
                "app": "\n".join(["stateDiagram-v2", *_block(
                    "app", AppState, AppState.FOREGROUND, APP_TRANSITIONS, None)]) + "\n"}
    for name, triggers in CONCERNS.items():
        diagrams[name] = "\n".join(["stateDiagram-v2", *_block(
            "playback", PlaybackState, PlaybackState.IDLE, PLAYBACK_TRANSITIONS,
            triggers)]) + "\n"
    return diagrams
