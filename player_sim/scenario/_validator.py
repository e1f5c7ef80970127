"""The loader's JSON Schema validator (jsonschema), imported only when it is needed.

The loader asks :func:`~._vouch.vouches` first: a valid file never imports
jsonschema. This validator finds and describes the errors of the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

import jsonschema

from ._schema import LOADER_SCHEMA, PAYLOAD_KEYWORD

__all__ = ["STRICT_TYPES", "VALIDATOR"]

# JSON Schema counts 500.0 as an integer; a scenario file means a whole number by one.
STRICT_TYPES: Final = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))


def _payload_rule_of_kind(validator: Any, rules: Mapping[str, Mapping[str, Any]],
                          instance: Any, schema: Any) -> Iterator[Any]:
    """The loader's keyword for the payload rules (``_schema.PAYLOAD_KEYWORD``): the
    errors of the rule of the kind each of ``signal`` and ``event`` names, as the
    published schema's ``if``/``then`` rule for that kind gives them (its ``if`` is a
    ``const``, which only a string equals)."""
    for key, by_kind in rules.items():
        kind = instance.get(key)
        if isinstance(kind, str) and kind in by_kind:
            yield from validator.descend(instance, by_kind[kind])


VALIDATOR: Final = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, validators={PAYLOAD_KEYWORD: _payload_rule_of_kind},
    type_checker=STRICT_TYPES)(LOADER_SCHEMA)
