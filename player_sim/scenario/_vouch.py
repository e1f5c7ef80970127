"""A quick yes to "does the loader's schema accept this file?", without jsonschema.

Almost every file a loader reads is valid, and for a valid file jsonschema's only
output is "no errors"; its interpreter (and importing it and ``referencing``) cost
more than composing the YAML. :func:`vouches` compiles the loader's schema once into
plain Python checks and answers whether the schema accepts a document. When it
says yes, the loader skips jsonschema; when it says no, or when it cannot tell, the
loader asks jsonschema, which finds the errors and words them exactly as before.
So a yes must never be wrong, and a no costs only the time of asking twice.

The checks follow JSON Schema 2020-12 as jsonschema 4 implements it, keyword by
keyword, for the keywords :data:`~._schema.LOADER_SCHEMA` uses (with the loader's
strict ``integer``: a whole number that is not a ``bool``, never ``500.0``), and the
loader's own :data:`~._schema.PAYLOAD_KEYWORD`. The compiled check of a schema is
exact: it is true exactly when jsonschema would report no error, so it may sit
under ``not``, ``anyOf`` and ``if``. Two things make it give up instead of guessing:

* compiling a schema with a keyword not listed here (annotations aside) gives a
  check that never vouches (the loader then always asks jsonschema);
* a value that plain YAML never produces where an equality would decide (an
  ``enum`` compared with an object of some other type) stops the check, and the
  document is not vouched for.

``tests/test_scenario_vouch.py`` compares the verdict with jsonschema's on every
bundled and broken scenario and on many mutated ones.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Final

from ._schema import LOADER_SCHEMA, PAYLOAD_KEYWORD

__all__ = ["vouches"]

Check = Callable[[Any], bool]

#: Keywords that annotate and never reject anything.
_ANNOTATIONS: Final = frozenset({"$schema", "$id", "$comment", "title", "description",
                                 "errorMessage", "examples", "default", "deprecated",
                                 "readOnly", "writeOnly", "markdownDescription"})

#: The plain types YAML data is built of: an ``enum`` of strings rejects these by type.
_PLAIN: Final = (int, float, bool, type(None), list, dict)


class _CannotTell(Exception):
    """The data holds something the checks do not decide on: ask jsonschema."""


class _Unsupported(Exception):
    """The schema uses a keyword this module does not implement."""


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


#: Each JSON type as the loader's validator tells it (``integer`` strictly).
_TYPES: Final[Mapping[str, Check]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
}


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


def compile_schema(schema: Any) -> Check:
    """A function telling whether ``schema`` accepts a value, exactly as jsonschema's
    Draft 2020-12 validator with the loader's types and keyword does.

    Raises :class:`_Unsupported` for a keyword it does not implement; the function
    it returns raises :class:`_CannotTell` for a value it does not decide on.
    """
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, dict):
        raise _Unsupported(f"schema {schema!r}")
    checks = [_keyword(name, value, schema) for name, value in schema.items()
              if name not in _ANNOTATIONS]
    checks = [check for check in checks if check is not _always]
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    return _all_of(tuple(checks))


# The checks below loop where all() over a generator would read as well: a file is a
# few thousand values, and the generator made the quick check twice as slow.

def _all_of(checks: tuple[Check, ...]) -> Check:
    def all_of(value: Any) -> bool:
        for check in checks:  # noqa: SIM110 (see above)
            if not check(value):
                return False
        return True
    return all_of


def _keyword(name: str, value: Any, schema: Mapping[str, Any]) -> Check:
    """The check of one keyword of ``schema`` (its rule is the comment beside it)."""
    if name == "type":  # any of the types
        types = [_TYPES[t] for t in ([value] if isinstance(value, str) else value)]
        if len(types) == 1:
            return types[0]
        return lambda v: any(is_type(v) for is_type in types)
    if name == "enum":
        if not all(type(choice) is str for choice in value):
            raise _Unsupported("an enum of other values than strings")
        choices = frozenset(value)

        def enum(v: Any) -> bool:  # jsonschema's equal(): a string equals only a string
            if isinstance(v, str):
                return v in choices
            if isinstance(v, _PLAIN):
                return False
            raise _CannotTell
        return enum
    if name == "pattern":  # strings only, re.search
        search = re.compile(value).search
        return lambda v: not isinstance(v, str) or search(v) is not None
    if name == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= value
    if name == "minimum":
        return lambda v: not _is_number(v) or not v < value
    if name == "maximum":
        return lambda v: not _is_number(v) or not v > value
    if name == "minProperties":
        return lambda v: not isinstance(v, dict) or len(v) >= value
    if name == "maxProperties":
        return lambda v: not isinstance(v, dict) or len(v) <= value
    if name == "required":
        needed = tuple(value)
        return lambda v: not isinstance(v, dict) or all(key in v for key in needed)
    if name == "properties":
        subs = tuple((key, compile_schema(sub)) for key, sub in value.items())

        def properties(v: Any) -> bool:
            if isinstance(v, dict):
                for key, check in subs:
                    if key in v and not check(v[key]):
                        return False
            return True
        return properties
    if name == "additionalProperties":  # the keys ``properties`` does not name
        if "patternProperties" in schema:
            raise _Unsupported("patternProperties")
        named = frozenset(schema.get("properties", {}))
        extra = compile_schema(value)
        if extra is _always:
            return _always
        def additional_properties(v: Any) -> bool:
            if isinstance(v, dict):
                for key, item in v.items():
                    if key not in named and not extra(item):
                        return False
            return True
        return additional_properties
    if name == "propertyNames":
        check_name = compile_schema(value)

        def property_names(v: Any) -> bool:
            if isinstance(v, dict):
                for key in v:
                    if not check_name(key):
                        return False
            return True
        return property_names
    if name == "items":  # 2020-12: every item (no prefixItems here)
        if "prefixItems" in schema:
            raise _Unsupported("prefixItems")
        item_check = compile_schema(value)

        def items(v: Any) -> bool:
            if isinstance(v, list):
                for item in v:
                    if not item_check(item):
                        return False
            return True
        return items
    if name == "anyOf":
        options = tuple(compile_schema(sub) for sub in value)
        return lambda v: any(option(v) for option in options)
    if name == "not":
        negated = compile_schema(value)
        return lambda v: not negated(v)
    if name == "if":
        condition = compile_schema(value)
        then = compile_schema(schema.get("then", True))
        otherwise = compile_schema(schema.get("else", True))
        return lambda v: then(v) if condition(v) else otherwise(v)
    if name in ("then", "else"):  # applied by "if" (alone, they do nothing)
        return _always
    if name == PAYLOAD_KEYWORD:
        return _payload_rule_of_kind(value)
    raise _Unsupported(f"keyword {name!r}")


def _payload_rule_of_kind(rules: Mapping[str, Mapping[str, Any]]) -> Check:
    """The loader's keyword: the rule of the kind each key names (see ``_loader``)."""
    by_key = tuple((key, {kind: compile_schema(sub) for kind, sub in by_kind.items()})
                   for key, by_kind in rules.items())

    def payload_rule_of_kind(v: Any) -> bool:
        if not isinstance(v, dict):  # jsonschema's keyword would fail on it
            raise _CannotTell
        for key, by_kind in by_key:
            kind = v.get(key)
            if isinstance(kind, str) and kind in by_kind and not by_kind[kind](v):
                return False
        return True
    return payload_rule_of_kind


@cache
def _loader_check() -> Check:
    try:
        return compile_schema(LOADER_SCHEMA)
    except _Unsupported:  # a keyword added to the schema and not here: never vouch
        return _never


def vouches(data: Any) -> bool:
    """Whether the loader's schema certainly accepts ``data`` (jsonschema would report
    no error). ``False``: it rejects it, or this quick check cannot tell."""
    try:
        return _loader_check()(data)
    except _CannotTell:
        return False
