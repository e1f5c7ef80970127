"""The loader checks payloads by looking their kind's rule up (``LOADER_SCHEMA``); the
published schema tries every kind's ``if``/``then`` rule. Both must give the same
errors, for every kind, key and payload, in a step and in an invariant."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from player_sim.scenario import SCHEMA
from player_sim.scenario._loader import _STRICT_TYPES, _VALIDATOR
from player_sim.scenario._schema import PAYLOAD_KEYWORD, PAYLOAD_RULES

PUBLISHED = jsonschema.validators.extend(jsonschema.Draft202012Validator,
                                         type_checker=_STRICT_TYPES)(SCHEMA)
KINDS = [(key, kind) for key, by_kind in PAYLOAD_RULES.items() for kind in by_kind]


def _errors(validator: Any, data: Any) -> list[tuple[Any, ...]]:
    return sorted((e.message, tuple(e.absolute_path), e.validator, repr(e.validator_value))
                  for e in validator.iter_errors(data))


def _scenario(match: dict[str, Any]) -> dict[str, Any]:
    return {"name": "x", "devices": {"phone": {"account": "alice"}},
            "steps": [{"expect": {**match, "within": "5s"}}],
            "always": [match], "never": [match]}


def _same(match: dict[str, Any]) -> list[tuple[Any, ...]]:
    data = _scenario(match)
    errors = _errors(PUBLISHED, data)
    assert _errors(_VALIDATOR, data) == errors
    return errors


@pytest.mark.parametrize(("key", "kind"), KINDS, ids=[f"{k}:{v}" for k, v in KINDS])
def test_the_lookup_and_the_if_then_rules_agree_for_every_kind(key: str, kind: str) -> None:
    fields = PAYLOAD_RULES[key][kind]["properties"]["payload"]["propertyNames"]["enum"]
    if fields:
        assert _same({key: kind, "payload": {fields[0]: 1}}) == []
    assert len(_same({key: kind, "payload": {"no_such_field": 1}})) == 3
    _same({key: kind, "payload": {}})
    _same({key: kind})


@pytest.mark.parametrize("match", [
    {"event": 3, "payload": {"x": 1}},
    {"event": ["ssm_session_created"], "payload": {"x": 1}},
    {"event": "no_such_event", "payload": {"x": 1}},
    {"signal": "ssm_setup_error", "event": "ks_used", "payload": {"nonsense": 1}},
    {"signal": "ssm_setup_error", "payload": "not a mapping"},
    {"event": "ks_used", "payload": None},
])
def test_the_lookup_and_the_if_then_rules_agree_on_odd_mappings(match: dict[str, Any]) -> None:
    _same(match)


def test_an_invariant_written_as_text_is_not_a_payload() -> None:
    data = {**_scenario({}), "always": ["sessions(alice) <= 1"]}
    assert _errors(_VALIDATOR, data) == _errors(PUBLISHED, data) == []


def test_the_published_schema_has_no_loader_keyword() -> None:
    assert PAYLOAD_KEYWORD not in repr(SCHEMA)
