"""Safe YAML to plain data, remembering where every key and value was written.

Only ``yaml.SafeLoader`` is used: no Python objects can be built from a file.
The file is composed into nodes (which carry line/column marks), ``include:``
files are merged at node level (so each value keeps the mark of the file it
came from), then nodes become plain data plus two maps from a path (a tuple of
keys and indexes) to the :class:`~._model.Location` of its value and of its key.
"""

from __future__ import annotations

import functools
import io
import math
import os
import stat
from collections.abc import Hashable
from typing import Any, Final

import attrs
import yaml

from .._limits import (
    INCLUDE_ROOT_ENV,
    MAX_FILE_BYTES,
    MAX_INCLUDES,
    MAX_INTEGER,
    MAX_NESTING,
    MAX_VALUES,
    PROJECT_MARKERS,
)
from ..player._values import Value
from ._model import Location, Problem

__all__ = ["Document", "compose_file", "compose_node", "include_root", "read_text"]

Path = tuple[Hashable, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STANDARD_TAGS: Final = frozenset(f"tag:yaml.org,2002:{name}" for name in (
    "str", "int", "float", "bool", "null", "seq", "map", "timestamp", "merge"))
_TIMESTAMP_TAG: Final = "tag:yaml.org,2002:timestamp"
_TAG_WORDS: Final = {"int": "a whole number", "float": "a number", "bool": "true or false",
                     "null": "null"}
_INCLUDABLE = ("world", "accounts", "devices")


@attrs.define(repr=False)
class Document(Value):
    """A composed file: its data, the marks of values and keys, the problems found.

    ``values`` and ``keys`` hold, by path, the YAML mark where each value and key
    starts (its file's ``name``, 0-based ``line`` and ``column``): a file has
    thousands and a valid one asks for few, so :meth:`where` and :meth:`key_where`
    make the :class:`~._model.Location` when asked.
    """

    data: Any
    values: dict[Path, Any]
    keys: dict[Path, Any]
    problems: list[Problem]
    root: Location

    def where(self, path: Path) -> Location:
        """The location of the value at ``path``, or of its nearest ancestor."""
        path = tuple(path)
        while path:
            mark = self.values.get(path)
            if mark is not None:
                return _at(mark)
            path = path[:-1]
        return self.root

    def key_where(self, path: Path) -> Location:
        """The location of the key naming ``path`` (or of its value if none)."""
        found = self.keys.get(tuple(path))
        return _at(found) if found is not None else self.where(path)


def _location(mark: Any, file: str) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _at(mark: Any) -> Location:
    """The location a mark of a composed node points to (in the file it names)."""
    return Location(mark.name, mark.line + 1, mark.column + 1)


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


def _syntax_hint(text: str, mark: Any, problem: str) -> str:
    """A sentence on the usual cause of a YAML syntax error at ``mark``, or ''."""
    lines = text.splitlines()
    line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    indent = line[:len(line) - len(line.lstrip(" \t"))]
    if "\t" in indent or (mark is not None and line[mark.column:mark.column + 1] == "\t"):
        return "; YAML indents with spaces, never tabs: replace the tab with spaces"
    if "mapping values are not allowed" in problem:
        return ("; a value holding ': ' must be quoted, e.g. name: 'Zap: two devices', or "
                "the line is indented deeper than the key before it")
    if any(word in problem for word in ("expected key", "expected <block end>",
                                         "expected ':'", "expected '-'")):
        return ("; check the indentation: the keys of one mapping, and the '- ' items of "
                "one list, start in the same column (use spaces)")
    return ""


def _compose(text: str, file: str, problems: list[Problem]) -> Any:
    loader = _loader(text, file)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = _location(mark, file) if mark is not None else Location(file, 1, 1)
        what = err.problem or "not valid YAML"
        problems.append(Problem(where, f"this is not valid YAML: {what}"
                                       + (f" ({err.context})" if err.context else "")
                                       + _syntax_hint(text, mark, what)))
        return None
    except yaml.YAMLError as err:
        problems.append(Problem(Location(file, 1, 1), f"this is not valid YAML: {err}"))
        return None
    except RecursionError:
        problems.append(Problem(_deepest(text, file), _TOO_DEEP))
        return None
    finally:
        loader.dispose()
    if node is not None and not _measure(node, file, problems):
        return None
    return node


def compose_node(text: str, file: str, problems: list[Problem]) -> Any:
    """The YAML node tree of ``text`` (named ``file``), bounded as every user file is
    (nesting, aliases expanded, syntax errors with a hint), or ``None`` with the
    problems appended: the composition every loader of user YAML shares."""
    return _compose(text, file, problems)


_TOO_DEEP: Final = (f"mappings and lists are nested more than {MAX_NESTING} levels deep here "
                    "(or an alias refers to a node that holds it): a scenario needs a few")


def _deepest(text: str, file: str) -> Location:
    """Where nesting first goes deeper than allowed, found from the parser's events
    (which, unlike composing, does not recurse)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_FAST_LOADER or yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    return _location(event.start_mark, file)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return Location(file, 1, 1)


def _measure(root: Any, file: str, problems: list[Problem]) -> bool:
    """Refuse a node tree nested too deeply or too large once aliases are expanded
    (a recursive alias, an alias bomb); walks without recursion."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_NESTING:
            problems.append(Problem(_location(node.start_mark, file), _TOO_DEEP))
            return False
        if count > MAX_VALUES:
            problems.append(Problem(_location(node.start_mark, file),
                                    f"this file holds more than {MAX_VALUES:,} values once its "
                                    "aliases (*name) are expanded: write it without "
                                    "aliases of aliases"))
            return False
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
    return True


def include_root(path: str) -> str:
    """The folder ``path``'s includes must stay inside: ``$PLAYER_SIM_INCLUDE_ROOT`` if
    set; else the nearest folder at or above ``path``'s holding a project marker
    (``pyproject.toml``, ``.git``, ...); else the current folder if ``path`` is in it;
    else ``path``'s own folder."""
    configured = os.environ.get(INCLUDE_ROOT_ENV)
    if configured:
        return os.path.realpath(configured)
    start = os.path.dirname(os.path.realpath(path))
    folder = start
    while True:
        if any(os.path.exists(os.path.join(folder, m)) for m in PROJECT_MARKERS):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    here = os.path.realpath(os.getcwd())
    return here if _inside(here, start) else start


def _inside(root: str, path: str) -> bool:
    return os.path.commonpath([root, path]) == root


def read_text(path: str) -> str:
    """The UTF-8 text of the regular file at ``path``, of at most ``MAX_FILE_BYTES``.

    Raises ``ValueError`` with the reason it can't be read (never its content).
    """
    if "\0" in path:
        raise ValueError("a file name can't hold a NUL character")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # before opening: a FIFO would block
            raise ValueError("it is not a regular file")
        with open(path, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ValueError("it is not a regular file")
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ValueError(err.strerror or "it can't be read") from None
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"it is larger than {MAX_FILE_BYTES:,} bytes, the largest read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"it must be UTF-8 text (byte {err.start} is not)") from None


def compose_file(path: str, text: str | None = None) -> Document:
    """Compose ``path`` (or ``text`` named ``path``) with its includes into a Document.

    Includes must resolve inside :func:`include_root`; each file is read once, and
    at most ``MAX_INCLUDES`` includes are followed.
    """
    problems: list[Problem] = []
    root = Location(path, 1, 1)
    if text is None:
        try:
            text = read_text(path)
        except ValueError as err:
            problems.append(Problem(root, f"can't read the scenario file: {err}"))
            return Document(None, {}, {}, problems, root)
    node = _compose(text, path, problems)
    if node is not None:
        includes = _Includes(include_root(path))
        try:
            node = includes.resolve(node, path, problems, (os.path.abspath(path),))
        except RecursionError:  # merging nodes that hold each other
            problems.append(Problem(root, _TOO_DEEP))
            node = None
    doc = Document(None, {}, {}, problems, root)
    if node is None:
        if not problems:
            problems.append(Problem(root, "the file is empty: a scenario needs at least "
                                          "name, devices and steps"))
        return doc
    try:
        doc.data = _Builder(doc, _loader("", path, fast=False)).build(node, ())
    except _TooLarge as err:
        problems.append(Problem(err.where, err.message))
    return doc


# --- includes -----------------------------------------------------------------------

class _Includes:
    """Follows ``include:`` inside one root folder: each file read once, fan-out capped."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.texts: dict[str, str | ValueError] = {}
        self.followed = 0

    def read(self, target: str) -> str:
        """The text of ``target``, read once; raises ``ValueError`` with the reason not."""
        if "\0" in target:
            raise ValueError("a file name can't hold a NUL character")
        real = os.path.realpath(target)
        if not _inside(self.root, real):
            raise ValueError(f"it is outside {self.root}, the folder includes stay inside "
                             f"(set {INCLUDE_ROOT_ENV} to widen it)")
        found = self.texts.get(real)
        if found is None:
            try:
                found = read_text(real)
            except ValueError as err:
                found = err
            self.texts[real] = found
        if isinstance(found, ValueError):
            raise found
        return found

    def resolve(self, node: Any, path: str, problems: list[Problem],
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
            if isinstance(value, yaml.MappingNode):
                problems.append(Problem(_location(value.start_mark, path),
                                        "include names a file or a list of files, e.g. "
                                        "include: _world.yaml, not a mapping"))
                continue
            items = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for item in items:
                where = _location(item.start_mark, path)
                if not isinstance(item, yaml.ScalarNode) or not item.value \
                        or item.tag != "tag:yaml.org,2002:str":
                    problems.append(Problem(where, "each include is a file name, e.g. "
                                                   "_world.yaml"))
                    continue
                self.followed += 1
                if self.followed > MAX_INCLUDES:
                    problems.append(Problem(where, f"more than {MAX_INCLUDES} includes in one "
                                                   "scenario (counting a file each time it is "
                                                   "included): include each fragment once"))
                    return None
                target = os.path.normpath(os.path.join(os.path.dirname(path), item.value))
                if os.path.abspath(target) in chain:
                    problems.append(Problem(where, f"include {item.value!r} includes itself "
                                                   "(directly or through another file)"))
                    continue
                try:
                    text = self.read(target)
                except ValueError as err:
                    problems.append(Problem(where, f"can't include {item.value[:60]!r}: {err} "
                                                   f"(paths are relative to {path})"))
                    continue
                included, found = _compose_include(text, target)
                problems.extend(found)
                if included is None:
                    continue
                included = self.resolve(included, target, problems,
                                        (*chain, os.path.abspath(target)))
                if included is None:
                    return None
                if not isinstance(included, yaml.MappingNode):
                    problems.append(Problem(where, f"included file {item.value!r} must be a "
                                                   "mapping with world, accounts or devices"))
                    continue
                for key, _ in included.value:
                    if isinstance(key, yaml.ScalarNode) and key.value not in _INCLUDABLE:
                        problems.append(Problem(_location(key.start_mark, target),
                                                f"an included file may only hold "
                                                f"{', '.join(_INCLUDABLE)}, not "
                                                f"{key.value[:40]!r}"))
                included = _with_pairs(included, [
                    (k, v) for k, v in included.value
                    if isinstance(k, yaml.ScalarNode) and k.value in _INCLUDABLE])
                base = included if base is None else _merge(base, included)
        node = _with_pairs(node, kept)
        return node if base is None else _merge(base, node)


@functools.lru_cache(maxsize=32)
def _compose_include(text: str, file: str) -> tuple[Any, tuple[Problem, ...]]:
    """:func:`_compose` of an included file, and its problems: the same for every
    scenario that includes it (a suite includes a few fragments many times), so
    composed once. Node trees are never changed once composed (see :func:`_with_pairs`),
    so sharing one is safe."""
    problems: list[Problem] = []
    node = _compose(text, file, problems)
    return node, tuple(problems)


def _with_pairs(node: Any, pairs: list[tuple[Any, Any]]) -> Any:
    """A copy of mapping ``node`` holding ``pairs`` (composed nodes are shared, never
    changed)."""
    return yaml.MappingNode(node.tag, pairs, node.start_mark, node.end_mark,
                            flow_style=node.flow_style)


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

class _TooLarge(Exception):
    def __init__(self, where: Location, message: str) -> None:
        self.where = where
        self.message = message


class _Builder:
    def __init__(self, doc: Document, loader: Any) -> None:
        self.doc = doc
        self.loader = loader
        self.count = 0

    def build(self, node: Any, path: Path) -> Any:
        mark = self.doc.values[path] = node.start_mark
        self.count += 1
        if self.count > MAX_VALUES or len(path) > MAX_NESTING:  # after merging includes
            raise _TooLarge(_at(mark), _TOO_DEEP if len(path) > MAX_NESTING else
                            f"this scenario holds more than {MAX_VALUES:,} values with its "
                            "includes and aliases expanded")
        if node.tag not in _STANDARD_TAGS:
            self.doc.problems.append(Problem(_at(mark), f"the tag {node.tag[:60]!r} is not "
                                                        "allowed: scenario files are plain "
                                                        "YAML, loaded safely (no objects, no "
                                                        "custom tags)"))
            return None
        if isinstance(node, yaml.ScalarNode):
            value, problem = self.scalar(node)
            if problem is not None:
                self.doc.problems.append(Problem(_at(mark), problem))
            return value
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._mapping(node, path)

    def scalar(self, node: Any) -> tuple[Any, str | None]:
        """The value of a scalar node by the tag the safe resolver gave it, and the
        problem with it (``None`` if none); no sentence repeats the value."""
        tag = node.tag
        if tag == "tag:yaml.org,2002:str" or tag == _TIMESTAMP_TAG:
            return node.value, None  # a date is text to a scenario
        kind = tag.rsplit(":", 1)[-1]
        if kind == "int" and len(node.value.lstrip("+-0_")) > 40:
            return None, "a number larger than 10^18 in absolute value: no setting needs one"
        try:
            value = self.loader.yaml_constructors[tag](self.loader, node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError):
            return None, f"can't read this value as {_TAG_WORDS.get(kind, kind)}"
        if isinstance(value, bool):
            return value, None
        if isinstance(value, int) and abs(value) > MAX_INTEGER:
            return None, "a number larger than 10^18 in absolute value: no setting needs one"
        if isinstance(value, float) and not math.isfinite(value):
            return None, "numbers must be finite (not .inf or .nan)"
        return value, None

    def _mapping(self, node: Any, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        explicit: dict[str, Any] = {}  # the mark of each key written here
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
            mark = key.start_mark
            if not isinstance(key, yaml.ScalarNode) or key.tag != "tag:yaml.org,2002:str":
                shown = key.value if isinstance(key, yaml.ScalarNode) else "a list or mapping"
                self.doc.problems.append(Problem(_at(mark), "keys must be plain words "
                                                            f"(found {str(shown)[:40]!r})"))
                continue
            name = key.value
            if name in explicit:
                first = _at(explicit[name])
                self.doc.problems.append(Problem(
                    _at(mark), f"duplicate key {name[:40]!r} (first written at line "
                               f"{first.line}): a key may appear once in a mapping; remove "
                               "one"))
                continue
            explicit[name] = mark
            self.doc.keys[(*path, name)] = mark
            out[name] = self.build(value, (*path, name))
        for key, value in merged:
            name = key.value
            if isinstance(key, yaml.ScalarNode) and isinstance(name, str) and name not in out:
                self.doc.keys[(*path, name)] = key.start_mark
                out[name] = self.build(value, (*path, name))
        return out
