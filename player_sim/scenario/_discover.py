"""Finding scenario files, and selecting them with a ``-k`` expression."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from typing import Final

from .._errors import ConfigError
from .._limits import MAX_KEYWORD_DEPTH

__all__ = ["BROKEN_DIR", "discover", "keyword_matches"]

#: Folder of scenarios that fail on purpose: skipped unless named explicitly.
BROKEN_DIR: Final = "broken"
_SUFFIXES: Final = (".yaml", ".yml")


def discover(paths: Sequence[str]) -> list[str]:
    """The scenario files named by ``paths`` (files or folders), sorted per folder.

    A folder yields its ``*.yaml`` / ``*.yml`` files, recursively, except files
    whose name starts with ``_`` (include fragments) and folders called
    ``broken`` (scenarios that fail on purpose) unless that folder is named
    itself. A file named explicitly is always taken. A path that does not exist
    raises :class:`~player_sim.ConfigError`.
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
        out.extend(os.path.join(root, f) for f in sorted(files)
                   if f.endswith(_SUFFIXES) and not f.startswith("_"))
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
