"""Finding scenario files, and selecting them with a ``-k`` expression."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from typing import Final

from .._errors import ConfigError
from .._limits import MAX_KEYWORD_DEPTH

__all__ = ["BROKEN_DIR", "SCENARIO_SUFFIXES", "discover", "is_scenario_file",
           "keyword_matches", "scenario_stem", "selection_words"]

#: Folder of scenarios that fail on purpose: skipped unless named explicitly.
BROKEN_DIR: Final = "broken"
#: The file-name convention that makes a YAML file a scenario when a folder is searched
#: (``player-sim run DIR``, pytest collection): ``NAME.scenario.yaml``. Other YAML files
#: (CI, compose, Kubernetes, include fragments such as ``_world.yaml``) are never taken
#: unless named one by one.
SCENARIO_SUFFIXES: Final = (".scenario.yaml", ".scenario.yml")


def is_scenario_file(name: str) -> bool:
    """Whether a file name follows the convention: ``NAME.scenario.yaml`` (or ``.yml``),
    ``NAME`` not empty and not starting with ``_`` (an include fragment)."""
    base = os.path.basename(name)
    return (base.endswith(SCENARIO_SUFFIXES) and not base.startswith(("_", "."))
            and scenario_stem(base) != "")


def scenario_stem(path: str) -> str:
    """A scenario file's name without its folder and without ``.scenario.yaml`` (or
    ``.scenario.yml``, ``.yaml``, ``.yml``): ``scenarios/zap.scenario.yaml`` -> ``zap``."""
    base = os.path.basename(path)
    for suffix in (*SCENARIO_SUFFIXES, ".yaml", ".yml"):
        if base.endswith(suffix):
            return base[:-len(suffix)]
    return base


def selection_words(name: str, path: str, tags: Iterable[str],
                    covers: Iterable[str]) -> tuple[str, ...]:
    """The words a ``-k`` expression matches for a scenario, the same for ``player-sim
    run`` and pytest: its name, its file (path, file name and stem), its tags and the
    rule ids it covers."""
    return (name, path, os.path.basename(path), scenario_stem(path), *tags, *covers)


def discover(paths: Sequence[str]) -> list[str]:
    """The scenario files named by ``paths`` (files or folders), sorted per folder.

    A folder yields its ``NAME.scenario.yaml`` / ``NAME.scenario.yml`` files,
    recursively, except in folders called ``broken`` (scenarios that fail on
    purpose) unless that folder, or a folder within it, is named itself. A file
    named explicitly is always taken, whatever its name. A path that does not
    exist raises :class:`~player_sim.ConfigError`. The result may be empty: the
    caller decides that running nothing is an error.
    """
    found: list[str] = []
    for path in paths:
        if os.path.isfile(path):
            found.append(path)
        elif os.path.isdir(path):
            found.extend(_walk(path))
        else:
            raise ConfigError(f"no such scenario file or folder: {path!r}")
    return list(dict.fromkeys(found))


def _walk(top: str) -> list[str]:
    out: list[str] = []
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != BROKEN_DIR and not d.startswith("."))
        out.extend(os.path.join(root, f) for f in sorted(files) if is_scenario_file(f))
    return out


_TOKEN: Final = re.compile(r"\s*(\(|\)|[^\s()]+)")


def _nesting(tokens: Sequence[str]) -> int:
    """How deep the parser recurses: open parentheses plus a run of 'not's."""
    depth = deepest = nots = 0
    for token in tokens:
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        nots = nots + 1 if token == "not" else 0
        deepest = max(deepest, depth + nots)
    return deepest


def keyword_matches(expression: str, words: Iterable[str]) -> bool:
    """Whether ``expression`` selects an item known by ``words`` (name, file, tags).

    As pytest's ``-k``: a bare word matches when it is a case-insensitive
    substring of one of ``words``; combine with ``and``, ``or``, ``not`` and
    parentheses. A malformed expression raises :class:`~player_sim.ConfigError`.
    """
    tokens = _TOKEN.findall(expression)
    if not tokens:
        return True
    if _nesting(tokens) > MAX_KEYWORD_DEPTH:
        raise ConfigError(f"-k expression nests parentheses and 'not' more than "
                          f"{MAX_KEYWORD_DEPTH} levels deep: write a flatter expression")
    haystack = [w.lower() for w in words]
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        token = peek()
        if token is None:
            raise ConfigError(f"-k {expression!r}: the expression ends too early")
        position += 1
        return token

    def parse_or() -> bool:
        value = parse_and()
        while peek() == "or":
            take()
            right = parse_and()
            value = value or right
        return value

    def parse_and() -> bool:
        value = parse_not()
        while peek() == "and":
            take()
            right = parse_not()
            value = value and right
        return value

    def parse_not() -> bool:
        if peek() == "not":
            take()
            return not parse_not()
        token = take()
        if token == "(":
            value = parse_or()
            if take() != ")":
                raise ConfigError(f"-k {expression!r}: a '(' is never closed")
            return value
        if token in (")", "and", "or"):
            raise ConfigError(f"-k {expression!r}: unexpected {token!r}; write words joined "
                              "by and / or / not")
        needle = token.lower()
        return any(needle in w for w in haystack)

    result = parse_or()
    if position != len(tokens):
        raise ConfigError(f"-k {expression!r}: unexpected {tokens[position]!r}; join words "
                          "with and / or")
    return result
