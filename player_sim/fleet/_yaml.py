"""Safe YAML to plain data, remembering the ``file:line:column`` of every value.

The fleet layer sits beside ``scenario`` (the same layer), so it does not import
the scenario loader; this is the small part of it a fleet file needs: a
``yaml.SafeLoader`` composition (no Python objects, no custom tags, no
includes) into plain data plus a map from a path (a tuple of keys and indexes)
to where its value and its key were written.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import attrs
import yaml

from .._problems import Location, Problem
from ..scenario._yaml import compose_node

__all__ = ["Document", "FleetFileError", "Location", "Problem", "compose"]

Path = tuple[Hashable, ...]


class FleetFileError(ValueError):
    """A fleet file (or an override of it) is invalid; ``problems`` in file order.

    ``str(error)`` is one ``file:line:column: sentence`` line per problem.
    """

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("a FleetFileError needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(sorted(
            problems, key=lambda p: (p.location, p.message)))
        super().__init__("\n".join(str(p) for p in self.problems))


@attrs.define
class Document:
    """A composed file: its data and the marks of its values and keys."""

    data: Any
    values: dict[Path, Location]
    keys: dict[Path, Location]
    root: Location

    def where(self, path: Path) -> Location:
        """The location of the value at ``path``, or of its nearest ancestor."""
        path = tuple(path)
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.root

    def key_where(self, path: Path) -> Location:
        """The location of the key naming ``path`` (or of its value if none)."""
        found = self.keys.get(tuple(path))
        return found if found is not None else self.where(path)


def _at(mark: Any, file: str) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def compose(text: str, file: str) -> Document:
    """Compose ``text`` (named ``file``) into a :class:`Document`.

    Raises :class:`FleetFileError` for text that is not YAML, uses a tag, or
    repeats a key.
    """
    root = Location(file, 1, 1)
    problems: list[Problem] = []
    node = compose_node(text, file, problems)  # bounded as a scenario file is (Limits)
    if problems:
        raise FleetFileError(problems)
    doc = Document(None, {}, {}, root)
    if node is None:
        raise FleetFileError([Problem(root, "the file is empty: a fleet needs at least "
                                            "accounts and viewing")])
    doc.data = _build(node, (), doc, problems, yaml.SafeLoader(""), file)
    if problems:
        raise FleetFileError(problems)
    return doc


def _build(node: Any, path: Path, doc: Document, problems: list[Problem], loader: Any,
           file: str) -> Any:
    where = doc.values[path] = _at(node.start_mark, file)
    if not node.tag.startswith("tag:yaml.org,2002:") or node.tag.endswith(":merge"):
        problems.append(Problem(where, f"the tag {node.tag!r} is not allowed: fleet files "
                                       "are plain YAML (no objects, tags or merges)"))
        return None
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        try:
            return loader.yaml_constructors[node.tag](loader, node)
        except (yaml.YAMLError, KeyError) as err:
            problems.append(Problem(where, f"can't read this value: {err}"))
            return None
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, problems, loader, file)
                for i, item in enumerate(node.value)]
    out: dict[str, Any] = {}
    for key, value in node.value:
        at = _at(key.start_mark, file)
        if not isinstance(key, yaml.ScalarNode):
            problems.append(Problem(at, "keys must be plain words or numbers"))
            continue
        name = key.value
        if name in out:
            first = doc.keys[(*path, name)]
            problems.append(Problem(at, f"duplicate key {name!r} (first written at line "
                                        f"{first.line}): write each key once"))
            continue
        doc.keys[(*path, name)] = at
        out[name] = _build(value, (*path, name), doc, problems, loader, file)
    return out
