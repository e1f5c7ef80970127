"""The loader's quick check (``_vouch``) vouches for a file only when jsonschema finds
no error in it; where it answers, it answers as jsonschema does."""

from __future__ import annotations

import copy
import glob
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from player_sim.scenario._schema import LOADER_SCHEMA
from player_sim.scenario._validator import VALIDATOR
from player_sim.scenario._vouch import (
    _CannotTell,
    _loader_check,
    _never,
    _Unsupported,
    compile_schema,
    vouches,
)
from player_sim.scenario._yaml import compose_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = sorted({*glob.glob(os.path.join(ROOT, "scenarios", "**", "*.yaml"), recursive=True),
                *glob.glob(os.path.join(ROOT, "player_sim", "starter", "**", "*.yaml"),
                           recursive=True),
                *glob.glob(os.path.join(ROOT, "examples", "*.yaml"))})
DOCS = [doc.data for doc in (compose_file(path) for path in FILES)
        if isinstance(doc.data, dict)]
VALID = [data for data in DOCS if not any(VALIDATOR.iter_errors(data))]


def _verdict(data: Any) -> bool | None:
    try:
        return _loader_check()(data)
    except _CannotTell:
        return None


def _valid(data: Any) -> bool:
    return not any(VALIDATOR.iter_errors(data))


def test_the_loader_schema_compiles() -> None:
    assert _loader_check() is not _never
    assert compile_schema(LOADER_SCHEMA) is not _never


def test_every_bundled_scenario_is_vouched_for() -> None:
    bundled = [path for path in FILES if path.endswith(".scenario.yaml")
               and f"{os.sep}broken{os.sep}" not in path]
    assert len(bundled) >= 80
    for path in bundled:
        assert vouches(compose_file(path).data), path


def test_the_verdict_is_jsonschemas_on_every_file() -> None:
    assert len(VALID) < len(DOCS)  # the broken ones are there too
    for data in DOCS:
        verdict = _verdict(data)
        assert verdict is None or verdict == _valid(data)


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*path, index))
    return found


def _words(data: Any) -> set[str]:
    if isinstance(data, dict):
        return {w for k, v in data.items() for w in ({str(k)} | _words(v))}
    if isinstance(data, list):
        return {w for v in data for w in _words(v)}
    return {data} if isinstance(data, str) else set()


WORDS = sorted(set().union(*(_words(d) for d in DOCS)) | {"", "0s", "-1s", "30", "x" * 80})
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.sampled_from(
    [0.0, 0.5, -1.5, 500.0, 1e300]), st.sampled_from(WORDS), st.text(max_size=5))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)), max_leaves=6)


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """A bundled file with a few of its values replaced, removed or added to."""
    data = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        if not path:
            continue
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(VALUES)
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(WORDS))] = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_the_verdict_is_jsonschemas_on_mutated_files(data: Any) -> None:
    verdict = _verdict(data)
    assert verdict is None or verdict == _valid(data)
    assert vouches(data) == (verdict is True)


def test_the_checks_follow_the_loaders_validator() -> None:
    integer = compile_schema({"type": "integer", "minimum": 1})
    assert integer(3) and not integer(0)
    assert not integer(500.0) and not integer(True)  # the loader's strict integer
    words = compile_schema({"enum": ["a", "b"]})
    assert words("a") and not words("c") and not words(1) and not words(None)
    with pytest.raises(_CannotTell):  # a value plain YAML never gives: jsonschema decides
        words(object())
    with pytest.raises(_Unsupported):
        compile_schema({"$ref": "#/$defs/x"})


def test_a_value_yaml_never_gives_is_left_to_jsonschema() -> None:
    data = copy.deepcopy(VALID[0])
    data["steps"] = [{"wait": "1s"}, {"press": object()}]
    assert not vouches(data)
