"""The lifecycle as a Mermaid state diagram, drawn from the transition tables."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from ._states import APP_TRANSITIONS, PLAYBACK_TRANSITIONS, AppState, PlaybackState

__all__ = ["mermaid_diagram"]


def _edges(table: Iterable[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(source, dest, label) per table row; internal transitions loop on their source."""
    seen: dict[tuple[str, str], list[str]] = {}
    for row in table:
        sources = row["source"] if isinstance(row["source"], list) else [row["source"]]
        for source in sources:
            dest = row["dest"] if row["dest"] is not None else source
            conditions = row.get("conditions")
            label = row["trigger"]
            if conditions:
                names = conditions if isinstance(conditions, list) else [conditions]
                label += " [" + ", ".join(n.strip("_").replace("_", " ") for n in names) + "]"
            labels = seen.setdefault((source.value, dest.value), [])
            if label not in labels:
                labels.append(label)
    return [(s, d, " / ".join(labels)) for (s, d), labels in seen.items()]


def _block(title: str, states: type[enum.Enum], initial: enum.Enum,
           table: Iterable[dict[str, Any]]) -> list[str]:
    lines = [f"    state {title} {{", f"        [*] --> {title}_{initial.value}"]
    for member in states:
        lines.append(f'        state "{member.value}" as {title}_{member.value}')
    for source, dest, label in _edges(table):
        lines.append(f"        {title}_{source} --> {title}_{dest}: {label}")
    lines.append("    }")
    return lines


def mermaid_diagram() -> str:
    """A ``stateDiagram-v2`` with one composite state per lifecycle machine."""
    lines = ["stateDiagram-v2"]
    lines += _block("app", AppState, AppState.FOREGROUND, APP_TRANSITIONS)
    lines += _block("playback", PlaybackState, PlaybackState.IDLE, PLAYBACK_TRANSITIONS)
    return "\n".join(lines) + "\n"
