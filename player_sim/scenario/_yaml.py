"""Safe YAML to plain data, remembering where every key and value was written.

Only ``yaml.SafeLoader`` is used: no Python objects can be built from a file.
The file is composed into nodes (which carry line/column marks), ``include:``
files are merged at node level (so each value keeps the mark of the file it
came from), then nodes become plain data plus two maps from a path (a tuple of
keys and indexes) to the :class:`~._model.Location` of its value and of its key.
"""

from __future__ import annotations

import io
import os
from collections.abc import Hashable
from typing import Any

import attrs
import yaml

from ._model import Location, Problem

__all__ = ["Document", "compose_file"]

Path = tuple[Hashable, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STANDARD_TAGS = tuple(f"tag:yaml.org,2002:{name}" for name in (
    "str", "int", "float", "bool", "null", "seq", "map", "timestamp", "binary", "merge"))
_INCLUDABLE = ("world", "accounts", "devices")


@attrs.define
class Document:
    """A composed file: its data, the marks of values and keys, the problems found."""

    data: Any
    values: dict[Path, Location]
    keys: dict[Path, Location]
    problems: list[Problem]
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


def _location(mark: Any, file: str) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


# libyaml's parser when PyYAML has it (about 10 times faster), else the pure-Python one;
# both are safe loaders and both give nodes with line/column marks.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


class _Named(io.StringIO):
    """Text whose ``name`` the parsers copy into every mark."""

    def __init__(self, text: str, name: str) -> None:
        super().__init__(text)
        self.name = name


def _loader(text: str, file: str, *, fast: bool = True) -> Any:
    if fast and _FAST_LOADER is not None:
        return _FAST_LOADER(_Named(text, file))
    loader = yaml.SafeLoader(text)
    loader.name = file  # marks carry the file's name
    return loader


def _compose(text: str, file: str, problems: list[Problem]) -> Any:
    loader = _loader(text, file)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = _location(mark, file) if mark is not None else Location(file, 1, 1)
        what = err.problem or "not valid YAML"
        problems.append(Problem(where, f"this is not valid YAML: {what}"
                                       + (f" ({err.context})" if err.context else "")))
        return None
    except yaml.YAMLError as err:
        problems.append(Problem(Location(file, 1, 1), f"this is not valid YAML: {err}"))
        return None
    finally:
        loader.dispose()


def compose_file(path: str, text: str | None = None) -> Document:
    """Compose ``path`` (or ``text`` named ``path``) with its includes into a Document."""
    problems: list[Problem] = []
    root = Location(path, 1, 1)
    if text is None:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as err:
            problems.append(Problem(root, f"can't read the scenario file: {err.strerror}"))
            return Document(None, {}, {}, problems, root)
        except UnicodeDecodeError:
            problems.append(Problem(root, "a scenario file must be UTF-8 text"))
            return Document(None, {}, {}, problems, root)
    node = _compose(text, path, problems)
    if node is not None:
        node = _resolve_includes(node, path, problems, (os.path.abspath(path),))
    doc = Document(None, {}, {}, problems, root)
    if node is None:
        if not problems:
            problems.append(Problem(root, "the file is empty: a scenario needs at least "
                                          "name, devices and steps"))
        return doc
    doc.data = _Builder(doc, _loader("", path, fast=False)).build(node, ())
    return doc


# --- includes -----------------------------------------------------------------------

def _resolve_includes(node: Any, path: str, problems: list[Problem],
                      chain: tuple[str, ...]) -> Any:
    if not isinstance(node, yaml.MappingNode):
        return node
    includes: list[Any] = []
    kept = []
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "include":
            includes.append(value)
        else:
            kept.append((key, value))
    if not includes:
        return node
    base: Any = None
    for value in includes:
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for item in items:
            if not isinstance(item, yaml.ScalarNode) or not item.value:
                continue  # the schema reports the wrong type
            target = os.path.normpath(os.path.join(os.path.dirname(path), item.value))
            where = _location(item.start_mark, path)
            if os.path.abspath(target) in chain:
                problems.append(Problem(where, f"include {item.value!r} includes itself "
                                               "(directly or through another file)"))
                continue
            try:
                with open(target, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as err:
                problems.append(Problem(where, f"can't include {item.value!r}: {err.strerror} "
                                               f"(paths are relative to {path})"))
                continue
            included = _compose(text, target, problems)
            if included is None:
                continue
            included = _resolve_includes(included, target, problems,
                                         (*chain, os.path.abspath(target)))
            if not isinstance(included, yaml.MappingNode):
                problems.append(Problem(where, f"included file {item.value!r} must be a "
                                               "mapping with world, accounts or devices"))
                continue
            for key, _ in included.value:
                if isinstance(key, yaml.ScalarNode) and key.value not in _INCLUDABLE:
                    problems.append(Problem(_location(key.start_mark, target),
                                            f"an included file may only hold "
                                            f"{', '.join(_INCLUDABLE)}, not {key.value!r}"))
            included.value = [(k, v) for k, v in included.value
                              if isinstance(k, yaml.ScalarNode) and k.value in _INCLUDABLE]
            base = included if base is None else _merge(base, included)
    node.value = kept
    return node if base is None else _merge(base, node)


def _merge(base: Any, over: Any) -> Any:
    """``over`` on top of ``base``: mappings merge key by key, anything else replaces."""
    if not (isinstance(base, yaml.MappingNode) and isinstance(over, yaml.MappingNode)):
        return over
    merged = list(base.value)
    index = {k.value: i for i, (k, _) in enumerate(merged) if isinstance(k, yaml.ScalarNode)}
    for key, value in over.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if name is not None and name in index:
            i = index[name]
            merged[i] = (key, _merge(merged[i][1], value))
        else:
            merged.append((key, value))
    return yaml.MappingNode(over.tag, merged, over.start_mark, over.end_mark,
                            flow_style=over.flow_style)


# --- nodes to data ------------------------------------------------------------------

class _Builder:
    def __init__(self, doc: Document, loader: Any) -> None:
        self.doc = doc
        self.loader = loader

    def build(self, node: Any, path: Path) -> Any:
        where = self.doc.values[path] = _location(node.start_mark, node.start_mark.name)
        if not node.tag.startswith(_STANDARD_TAGS):
            self.doc.problems.append(Problem(where, f"the tag {node.tag!r} is not allowed: "
                                                    "scenario files are plain YAML, loaded "
                                                    "safely (no objects, no custom tags)"))
            return None
        if isinstance(node, yaml.ScalarNode):
            try:
                return self.scalar(node)
            except yaml.YAMLError as err:
                self.doc.problems.append(Problem(self.doc.values[path],
                                                 f"can't read this value: {err}"))
                return None
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._mapping(node, path)

    def scalar(self, node: Any) -> Any:
        """The value of a scalar node, by the tag the safe resolver gave it."""
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        return self.loader.yaml_constructors[node.tag](self.loader, node)

    def _mapping(self, node: Any, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        explicit: dict[str, Location] = {}
        merged: list[tuple[Any, Any]] = []
        for key, value in node.value:
            if key.tag == _MERGE_TAG:  # "<<: *anchor" fills in keys not written here
                sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
                for source in sources:
                    if isinstance(source, yaml.MappingNode):
                        merged.extend(source.value)
                    else:
                        self.doc.problems.append(Problem(
                            _location(source.start_mark, source.start_mark.name),
                            "'<<' merges a mapping: write '<<: *anchor' with an anchor "
                            "on a mapping"))
                continue
            where = _location(key.start_mark, key.start_mark.name)
            if not isinstance(key, yaml.ScalarNode) or not isinstance(
                    self.scalar(key), str):
                self.doc.problems.append(Problem(where, "keys must be plain words "
                                                        f"(found {key.value!r})"))
                continue
            name = key.value
            if name in explicit:
                first = explicit[name]
                self.doc.problems.append(Problem(
                    where, f"duplicate key {name!r} (first written at line {first.line}): "
                           "a key may appear once in a mapping; remove one"))
                continue
            explicit[name] = where
            self.doc.keys[(*path, name)] = where
            out[name] = self.build(value, (*path, name))
        for key, value in merged:
            name = key.value
            if isinstance(key, yaml.ScalarNode) and name not in out:
                self.doc.keys[(*path, name)] = _location(key.start_mark, key.start_mark.name)
                out[name] = self.build(value, (*path, name))
        return out
